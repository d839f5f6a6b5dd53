"""What the study re-runs: the paper's ablation tables as data (variants, tables, claims, presets).

A *variant* is one pretraining recipe (a set of `tvts-bench pretrain` flags; `scratch` is no pretraining).
A *table* evaluates some variants on some tasks, beside the paper's numbers for the same rows. A *claim*
is an ordering the paper reports between two rows of a table on one task ("TVTS beats the contrastive
baseline on SSV2 fine-tuning"): the study measures the paired difference and gives a verdict.

The paper's numbers come from ``report.paper`` (one source for the leaderboard and the study).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError


@dataclass(frozen=True)
class Variant:
    name: str                       # the row label and the run / result name stem
    title: str
    objective: str | None           # `tvts-bench pretrain --objective`; None: no pretraining (scratch)
    paper_rows: dict[int, str] = field(default_factory=dict)   # table number -> report.paper row id
    flags: tuple[str, ...] = ()     # further `pretrain` flags that make the variant (an ablation)
    # the pretext's own validation accuracy decides "did not converge" (sort alone, in the paper)
    converge_metric: str | None = None

    @property
    def pretrain_args(self) -> tuple[str, ...] | None:
        """The variant's flags of `tvts-bench pretrain` (None: nothing to pretrain)."""
        return None if self.objective is None else ("--objective", self.objective, *self.flags)


VARIANTS: dict[str, Variant] = {v.name: v for v in [
    Variant("scratch", "no pretraining (random init)", None, {2: "ablation-scratch"}),
    Variant("base", "L_base only (contrastive baseline)", "base", {1: "order-baseline", 2: "ablation-base"}),
    Variant("tvts", "TVTS: L_base + L_sort (K-way)", "tvts",
            {1: "order-tvts", 2: "ablation-ours", 3: "sort-kway", 4: "tvts"}),
    Variant("sort", "L_sort only", "sort", {2: "ablation-sort"}, converge_metric="sort_acc"),
    Variant("tvts-nosg", "TVTS without stop-gradient", "tvts", {2: "ablation-ours-no-sg"},
            flags=("--no-stop-grad",)),
    Variant("pairwise", "sort head: pairwise", "tvts", {3: "sort-pairwise"}, flags=("--sort-head", "pairwise")),
    Variant("factorial", "sort head: factorial (K!-way)", "tvts", {3: "sort-factorial"},
            flags=("--sort-head", "factorial")),
    Variant("vcop", "VCOP: sort video sub-clips (+ L_base)", "vcop", {1: "order-vcop"}),
    Variant("merlot", "MERLOT: pairwise order of frames given the transcripts (+ L_base)", "merlot",
            {1: "order-merlot"}),
    Variant("merlot-like", "MERLOT-like: sort video segments given the transcripts (+ L_base)", "merlot-like",
            {1: "order-merlot-like"}),
    Variant("videomae", "VideoMAE (masked pixels)", "videomae", {4: "videomae-yttemporal"}),
    Variant("clip", "CLIP-style (frame-averaged image encoder, contrastive)", "clip", {4: "clip"}),
]}


@dataclass(frozen=True)
class Claim:
    table: int                      # the paper's table it belongs to
    better: str                     # variant expected higher on the task's metric
    worse: str
    task: str
    metric: str
    statement: str                  # the claim in words


@dataclass(frozen=True)
class StudyTable:
    number: int                     # the paper's table number
    title: str
    variants: tuple[str, ...]
    tasks: tuple[tuple[str, str], ...]      # (task, metric) columns
    claims: tuple[Claim, ...]


def _claims(table: int, pairs: tuple[tuple[str, str, str], ...], tasks: tuple[tuple[str, str], ...]
            ) -> tuple[Claim, ...]:
    return tuple(Claim(table, better, worse, task, metric, statement.format(task=task))
                 for better, worse, statement in pairs for task, metric in tasks)


_T1_TASKS = (("ucf101-linear", "top1"), ("hmdb51-linear", "top1"))
_T2_TASKS = (("ssv2-ft", "top1"), ("k400-ft", "top1"), ("ssv2-linear", "top1"), ("k400-linear", "top1"))
_T3_TASKS = (("ssv2-ft", "top1"), ("k400-ft", "top1"))
_T4_TASKS = (("ssv2-v2v", "R@1"), ("ssv2-v2v", "R@5"), ("ssv2-v2v", "R@10"), ("ssv2-linear", "top1"))

TABLES: dict[int, StudyTable] = {t.number: t for t in [
    StudyTable(1, "Ordering pretexts (linear probe, UCF101 and HMDB51)",
               ("base", "tvts", "vcop", "merlot", "merlot-like"), _T1_TASKS,
               _claims(1, (("tvts", "base", "sorting transcripts beats the contrastive baseline on {task}"),
                        ("base", "vcop", "sorting video clips (VCOP) is worse than the baseline on {task}"),
                        ("base", "merlot", "MERLOT-style frame ordering is worse than the baseline on {task}"),
                        ("base", "merlot-like", "sorting video given transcripts is worse than the baseline on {task}"),
                        ("tvts", "merlot-like", "sorting transcripts beats sorting video on {task}")), _T1_TASKS)),
    StudyTable(2, "Pretraining objectives (fine-tuning and linear probe, SSV2 and K400)",
               ("scratch", "base", "sort", "tvts-nosg", "tvts"), _T2_TASKS,
               _claims(2, (("tvts", "base", "adding L_sort to L_base helps on {task}"),
                        ("base", "scratch", "video-text pretraining beats no pretraining on {task}"),
                        ("tvts", "tvts-nosg", "the stop-gradient helps on {task}")), _T2_TASKS)),
    StudyTable(3, "Sort heads (fine-tuning, SSV2 and K400)", ("pairwise", "factorial", "tvts"), _T3_TASKS,
               _claims(3, (("tvts", "pairwise", "the K-way head beats the pairwise head on {task}"),
                        ("tvts", "factorial", "the K-way head beats the factorial head on {task}")), _T3_TASKS)),
    StudyTable(4, "Transfer to SSV2 (zero-shot video-to-video retrieval and linear probe)",
               ("tvts", "videomae", "clip", "base"), _T4_TASKS,
               _claims(4, (("tvts", "videomae", "TVTS transfers better than VideoMAE on {task}"),
                        ("tvts", "clip", "TVTS transfers better than frame-averaged CLIP on {task}")), _T4_TASKS)),
]}


@dataclass(frozen=True)
class StudyPreset:
    name: str
    world_preset: str               # built-in world used when no --data-root is given
    pretrain_preset: str            # `tvts-bench pretrain --preset`
    pretrain_steps: int | None      # None: the pretraining preset's own schedule
    seeds: tuple[int, ...]
    task_params: tuple[str, ...] = ()   # `run --task-param` overrides (e.g. shorter fine-tuning)
    description: str = ""


PRESETS: dict[str, StudyPreset] = {p.name: p for p in [
    StudyPreset("tiny", "tiny", "tiny", 6, (0,), description="the tiny world, 6-step tiny models: a smoke run (CI)"),
    StudyPreset("quick", "demo", "small", 60, (0,), description="one seed on the demo world, the demo's budget"),
    StudyPreset("full", "demo", "small", 200, (0, 1, 2), description="three seeds on the demo world, 200 steps each"),
    StudyPreset("vit-b", "demo", "vit-b", None, (0, 1, 2),
                description="the paper's ViT-B recipe (GPU; give --data-root and --text-model)"),
]}


def get_preset(name: str) -> StudyPreset:
    if name not in PRESETS:
        raise ConfigError(f"unknown study preset {name!r}", hint=f"choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def select_tables(spec: str | None) -> list[StudyTable]:
    """``"1,2"`` -> those tables; None or ``"all"`` -> every table."""
    if not spec or spec == "all":
        return list(TABLES.values())
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) not in TABLES:
            raise ConfigError(f"unknown study table {part!r}", hint=f"choose from: {', '.join(map(str, TABLES))}")
        out.append(TABLES[int(part)])
    return out


def needed_variants(tables: list[StudyTable]) -> list[str]:
    """Every variant the tables use, once, in VARIANTS order."""
    used = {v for t in tables for v in t.variants}
    return [name for name in VARIANTS if name in used]


def tasks_of(tables: list[StudyTable], variant: str) -> list[str]:
    """The tasks one variant is evaluated on (those of every table that has it), once each, in order."""
    return list(dict.fromkeys(task for t in tables if variant in t.variants for task, _ in t.tasks))
