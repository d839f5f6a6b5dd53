"""The paper's reported numbers (TVTS, CVPR 2023, Tables 1-7; arXiv 2209.15280), as data.

These are reference rows for the leaderboard. They are numbers the authors measured on the REAL
datasets with ViT-B models pretrained at scale, so the report shows them only beside columns measured
on real data, never beside results on the built-in world.

One entry per (paper row, task, metric). Rows have a stable id (what a model card's ``paper_row``
names) and a human label that says which pretraining data the row used. Task names follow the
benchmark's ``<dataset>-<protocol>`` convention. Text-to-video retrieval numbers (Table 6) are stored
under the ``t2v_`` keys; :func:`lookup` also answers the plain ``R@1``/``MedR`` keys for retrieval
tasks, because a task card may name either as its main metric.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperRow:
    id: str          # stable key, matched against ModelInfo.paper_row
    label: str       # what the table shows, e.g. "TVTS (YT-Temporal)"
    note: str = ""   # pretraining data / weights provenance as the paper states it


@dataclass(frozen=True)
class PaperNumber:
    row: str                 # PaperRow.id
    task: str                # e.g. "ssv2-linear"
    metric: str              # e.g. "top1", "R@1", "t2v_R@1", "t2v_MedR"
    value: float | None      # None where the paper reports the run as failed
    table: int               # the paper's table number
    note: str = ""           # e.g. "failed"


ROWS: dict[str, PaperRow] = {r.id: r for r in [
    PaperRow("tvts", "TVTS (YT-Temporal)", "the paper's method, pretrained on YT-Temporal"),
    PaperRow("tvts-cc3m-webvid", "TVTS (YT-Temporal + CC3M, WebVid-2M)",
             "post-pretrained with the contrastive objective only on CC3M and WebVid-2M"),
    PaperRow("videomae-k400", "VideoMAE (K400)", "pretrained on Kinetics-400"),
    PaperRow("videomae-yttemporal", "VideoMAE (YT-Temporal)", "re-pretrained on YT-Temporal by the authors"),
    PaperRow("svt-k400", "SVT (K400)", "pretrained on Kinetics-400"),
    PaperRow("svt-yttemporal", "SVT (YT-Temporal)", "re-pretrained on YT-Temporal by the authors"),
    PaperRow("frozen", "Frozen (CC3M, WebVid-2M)", "official weights"),
    PaperRow("mcq", "MCQ (CC3M, WebVid-2M)", "official weights"),
    PaperRow("miles", "MILES (CC3M, WebVid-2M)", "official weights"),
    PaperRow("clip", "CLIP (WIT)", "image model; frame features averaged"),
    PaperRow("cvrl", "CVRL (K400)", "linear probe only"),
    PaperRow("mvit", "MViT (K400)", "linear probe only"),
    PaperRow("scvrl", "SCVRL (K400)", "linear probe only"),
    # Table 2: pretraining objectives (fine-tuning top-1).
    PaperRow("ablation-scratch", "M_scratch (ImageMAE init, no video pretraining)", "Table 2 ablation"),
    PaperRow("ablation-base", "M_base (L_base only)", "Table 2 ablation; also the Table 1/3 baseline"),
    PaperRow("ablation-sort-no-sg", "M_sort\\sg (L_sort only, no stop-gradient)", "Table 2 ablation"),
    PaperRow("ablation-sort", "M_sort (L_sort only)", "Table 2 ablation"),
    PaperRow("ablation-ours-no-sg", "M_ours\\sg (L_base + L_sort, no stop-gradient)", "Table 2 ablation"),
    PaperRow("ablation-ours", "M_ours (L_base + L_sort, full TVTS)", "Table 2 ablation"),
    # Table 3: how the sort head models the order.
    PaperRow("sort-pairwise", "Sort head: pairwise", "Table 3 ablation"),
    PaperRow("sort-factorial", "Sort head: factorial (K!-way)", "Table 3 ablation"),
    PaperRow("sort-kway", "Sort head: K-way (TVTS)", "Table 3 ablation"),
    # Table 1: ordering pretext tasks, all pretrained on YT-Temporal (linear probe).
    PaperRow("order-baseline", "Ordering: baseline (L_base only)", "Table 1"),
    PaperRow("order-tvts", "Ordering: TVTS (sort transcripts)", "Table 1"),
    PaperRow("order-vcop", "Ordering: VCOP (sort clips)", "Table 1"),
    PaperRow("order-merlot", "Ordering: MERLOT (sort frames)", "Table 1"),
    PaperRow("order-merlot-like", "Ordering: MERLOT-like", "Table 1"),
]}


def _v2v_linear(row: str, r1: float | None, r5: float | None, r10: float | None,
                linear: float) -> list[PaperNumber]:
    out = [PaperNumber(row, "ssv2-linear", "top1", linear, 4)]
    if r1 is not None:
        out += [PaperNumber(row, "ssv2-v2v", "R@1", r1, 4), PaperNumber(row, "ssv2-v2v", "R@5", r5, 4),
                PaperNumber(row, "ssv2-v2v", "R@10", r10, 4)]
    return out


def _ft(row: str, table_ssv2_k400: int, ssv2: float | None, k400: float | None,
        ucf: float | None = None, hmdb: float | None = None) -> list[PaperNumber]:
    out = []
    for task, value, table in (("ssv2-ft", ssv2, table_ssv2_k400), ("k400-ft", k400, table_ssv2_k400),
                               ("ucf101-ft", ucf, 7), ("hmdb51-ft", hmdb, 7)):
        if value is not None:
            out.append(PaperNumber(row, task, "top1", value, table))
    return out


def _ret(row: str, pairs: dict[str, tuple[float, float]]) -> list[PaperNumber]:
    out = []
    for dataset, (r1, medr) in pairs.items():
        out.append(PaperNumber(row, f"{dataset}-ret-ft", "t2v_R@1", r1, 6))
        out.append(PaperNumber(row, f"{dataset}-ret-ft", "t2v_MedR", medr, 6))
    return out


def _ablation(row: str, table: int, ssv2: float | None, k400: float | None, note: str = "") -> list[PaperNumber]:
    return [PaperNumber(row, "ssv2-ft", "top1", ssv2, table, note),
            PaperNumber(row, "k400-ft", "top1", k400, table, note)]


def _order(row: str, ucf: float, hmdb: float) -> list[PaperNumber]:
    return [PaperNumber(row, "ucf101-linear", "top1", ucf, 1), PaperNumber(row, "hmdb51-linear", "top1", hmdb, 1)]


NUMBERS: tuple[PaperNumber, ...] = tuple(
    # Table 4: SSV2 zero-shot video-to-video retrieval (R@1/5/10) and linear probe (top-1).
    _v2v_linear("tvts", 14.7, 38.4, 50.5, 31.5)
    + _v2v_linear("videomae-k400", 7.9, 18.6, 26.5, 17.9)
    + _v2v_linear("videomae-yttemporal", 7.2, 17.6, 25.6, 15.9)
    + _v2v_linear("svt-k400", 11.3, 30.7, 41.1, 18.3)
    + _v2v_linear("svt-yttemporal", 9.9, 26.2, 36.3, 18.0)
    + _v2v_linear("frozen", 10.4, 28.5, 38.7, 17.5)
    + _v2v_linear("mcq", 10.4, 28.6, 38.5, 18.0)
    + _v2v_linear("miles", 10.3, 28.4, 38.4, 18.6)
    + _v2v_linear("clip", 10.5, 28.8, 38.8, 16.4)
    + _v2v_linear("cvrl", None, None, None, 11.4)
    + _v2v_linear("mvit", None, None, None, 19.4)
    + _v2v_linear("scvrl", None, None, None, 13.8)
    # Tables 5 (SSV2, K400) and 7 (UCF-101, HMDB-51): fine-tuning top-1.
    + _ft("tvts", 5, 68.5, 78.8, 95.1, 70.5)
    + _ft("tvts-cc3m-webvid", 5, 69.1, 79.8)
    + _ft("videomae-yttemporal", 5, 67.9, 78.2, 94.2, 68.4)
    + _ft("frozen", 5, 55.1, 76.9, 91.4, 65.6)
    + _ft("mcq", 5, 51.5, 77.8, 92.9, 65.1)
    + _ft("miles", 5, 54.1, 77.4, 92.1, 66.8)
    + _ft("clip", 5, 36.3, 75.2)
    + _ft("svt-k400", 5, 59.2, 78.1, 93.7, 67.2)
    # Table 6: text-to-video retrieval after fine-tuning (R@1, MedR).
    + _ret("tvts", {"msrvtt": (34.6, 3.0), "didemo": (32.4, 3.0), "msvd": (45.9, 2.0), "lsmdc": (17.2, 17.0)})
    + _ret("frozen", {"msrvtt": (31.0, 3.0), "didemo": (31.0, 3.0), "msvd": (45.6, 2.0), "lsmdc": (15.0, 20.0)})
    # Table 2: pretraining objectives (fine-tuning top-1, SSV2 / K400).
    + _ablation("ablation-scratch", 2, 64.5, 75.4)
    + _ablation("ablation-base", 2, 67.0, 77.8)
    + _ablation("ablation-sort-no-sg", 2, None, None, "failed")
    + _ablation("ablation-sort", 2, None, None, "failed")
    + _ablation("ablation-ours-no-sg", 2, 66.2, 76.5)
    + _ablation("ablation-ours", 2, 68.5, 78.8)
    # Table 3: sort modelling (fine-tuning top-1, SSV2 / K400).
    + _ablation("sort-pairwise", 3, 67.4, 78.1)
    + _ablation("sort-factorial", 3, 67.2, 78.0)
    + _ablation("sort-kway", 3, 68.5, 78.8)
    # Table 1: ordering pretext tasks (linear probe top-1, UCF-101 / HMDB-51).
    + _order("order-baseline", 81.2, 56.5)
    + _order("order-tvts", 83.4, 58.4)
    + _order("order-vcop", 79.1, 54.2)
    + _order("order-merlot", 74.9, 49.6)
    + _order("order-merlot-like", 80.1, 55.4)
)

# Retrieval tasks report text-to-video numbers; a task card may call them "R@1" or "t2v_R@1".
_T2V_PREFIX = "t2v_"


def _metric_aliases(task: str, metric: str) -> set[str]:
    names = {metric}
    if task.endswith("-ret") or task.endswith("-ret-ft"):
        if metric.startswith(_T2V_PREFIX):
            names.add(metric[len(_T2V_PREFIX):])
        else:
            names.add(_T2V_PREFIX + metric)
    return names


def numbers_for_task(task: str) -> list[PaperNumber]:
    """Every reported number for a task (all rows, all metrics), in table order."""
    return [n for n in NUMBERS if n.task == task]


def lookup(task: str, metric: str, row: str | None = None) -> list[PaperNumber]:
    """Reported numbers for (task, metric), optionally for one row; retrieval keys match with or
    without the ``t2v_`` prefix."""
    names = _metric_aliases(task, metric)
    return [n for n in NUMBERS if n.task == task and n.metric in names and (row is None or n.row == row)]


# Free-text ``paper_row`` values that model cards use, mapped to row ids (lower case, spaces collapsed).
# Cards may also name a row id or label directly; both always work.
ALIASES = {
    "tvts vit-b (yt-temporal)": "tvts",
    "tvts": "tvts",
    "l_base only (table 2)": "ablation-base",
    "l_base only": "ablation-base",
    "videomae": "videomae-yttemporal",          # the project's VideoMAE baseline pretrains on the YT-Temporal stand-in
    "videomae vit-b (k400)": "videomae-k400",
    "clip (frame average)": "clip",
    "clip vit-b/16": "clip",
    "clip": "clip",
}


def resolve_row(name: str | None) -> PaperRow | None:
    """Match a model card's ``paper_row`` to a row: by id, label or a known alias (case and spacing
    ignored). Unknown names give None (the report then shows the card's text as is)."""
    if not name:
        return None
    if name in ROWS:
        return ROWS[name]
    norm = " ".join(name.lower().split())
    for row in ROWS.values():
        if norm in (row.id, " ".join(row.label.lower().split())):
            return row
    alias = ALIASES.get(norm)
    return ROWS[alias] if alias else None


def rows_by_table() -> dict[int, list[PaperNumber]]:
    """All numbers grouped by table number (for a standalone 'reported numbers' section)."""
    tables: dict[int, list[PaperNumber]] = {}
    for n in NUMBERS:
        tables.setdefault(n.table, []).append(n)
    return dict(sorted(tables.items()))


TABLE_TITLES = {
    1: "Table 1: ordering pretext tasks, linear probe top-1 (all pretrained on YT-Temporal)",
    2: "Table 2: pretraining objectives, fine-tuning top-1",
    3: "Table 3: sort modelling, fine-tuning top-1",
    4: "Table 4: SSV2 zero-shot video-to-video retrieval and linear probe",
    5: "Table 5: fine-tuning top-1 on SSV2 and Kinetics-400",
    6: "Table 6: text-to-video retrieval after fine-tuning (R@1, MedR)",
    7: "Table 7: fine-tuning top-1 on UCF-101 and HMDB-51",
}
