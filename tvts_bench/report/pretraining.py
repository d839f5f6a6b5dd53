"""Pretraining curves for the report: each run's training and validation losses and accuracies.

The report finds runs in ``<results>/../runs`` (the home folder's layout: ``results/`` and ``runs/`` side
by side) or a folder given with ``tvts-bench leaderboard --runs``. Each run's ``metrics.jsonl`` (one
object per logged step; validation rows carry ``"split": "val"``) becomes two inline SVG plots: the
losses, with the sort loss of a head that has learned nothing (ln K) drawn as a reference, and the
accuracies, with the sort's chance (1/K!). Unreadable lines are skipped with a warning naming the file
and line; a run folder without metrics is not shown. Every text reaching the SVG is escaped.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup, escape

# (metric key, label) per panel; train and validation of each are drawn, validation dashed
# (l_order / order_acc: the video-ordering pretexts vcop, merlot, merlot-like)
LOSSES = (("l_sort", "sort loss"), ("l_order", "ordering loss"), ("l_base", "contrastive loss"),
          ("recon", "reconstruction loss"))
ACCURACIES = (("sort_acc", "sort accuracy"), ("order_acc", "ordering accuracy"), ("con_acc", "contrastive accuracy"))
COLOURS = {"l_sort": "#c0392b", "l_order": "#d68910", "l_base": "#2e6da4", "recon": "#7a5195",
           "sort_acc": "#c0392b", "order_acc": "#d68910", "con_acc": "#2e6da4"}
MAX_METRICS_BYTES = 64 * 1024 * 1024      # a run logging every step for a million steps stays under this
K_TRANSCRIPTS = 4

W, H = 420, 190
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 14, 30


@dataclass
class RunCurves:
    name: str
    objective: str
    # (metric, "train" | "val") -> [(step, value)] in step order
    series: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)

    def last(self, metric: str, split: str) -> float | None:
        points = self.series.get((metric, split))
        return points[-1][1] if points else None

    @property
    def steps(self) -> int:
        return int(max((p[-1][0] for p in self.series.values() if p), default=0))


def default_runs_dir(results: Path) -> Path:
    return Path(results).parent / "runs"


def load_runs(runs_dir: Path | None) -> tuple[list[RunCurves], list[str]]:
    """Every run folder under ``runs_dir`` with a readable ``metrics.jsonl``, by name; and warnings."""
    runs: list[RunCurves] = []
    warnings: list[str] = []
    if runs_dir is None or not Path(runs_dir).is_dir():
        return runs, warnings
    for folder in sorted(p for p in Path(runs_dir).iterdir() if p.is_dir() and not p.name.startswith(".")):
        metrics = folder / "metrics.jsonl"
        if not metrics.is_file():
            continue
        if metrics.stat().st_size > MAX_METRICS_BYTES:
            warnings.append(f"{metrics}: larger than {MAX_METRICS_BYTES // 2**20} MiB, not plotted")
            continue
        run = RunCurves(folder.name, _objective(folder))
        with metrics.open(encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    step = float(row["step"])
                except (ValueError, KeyError, TypeError):
                    warnings.append(f"{metrics}:{n}: not a metrics row, skipped")
                    continue
                if not isinstance(row, dict) or not math.isfinite(step):
                    continue
                split = "val" if row.get("split") == "val" else "train"
                for key, _ in LOSSES + ACCURACIES:
                    value = row.get(key)
                    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                        run.series.setdefault((key, split), []).append((step, float(value)))
        for points in run.series.values():
            points.sort(key=lambda p: p[0])
        if run.series:
            runs.append(run)
    return runs, warnings


def _objective(folder: Path) -> str:
    try:
        cfg = json.loads((folder / "run_config.json").read_text(encoding="utf-8"))
        objective = cfg.get("objective_config", {}).get("name") or cfg.get("objective")
        return str(objective) if objective else ""
    except (OSError, ValueError, AttributeError):
        return ""


def _panel(run: RunCurves, metrics: tuple[tuple[str, str], ...], title: str,
           reference: tuple[float, str] | None) -> Markup:
    present = [(k, label) for k, label in metrics if (k, "train") in run.series or (k, "val") in run.series]
    if not present:
        return Markup("")
    points = [p for k, _ in present for s in ("train", "val") for p in run.series.get((k, s), [])]
    x_max = max(max(p[0] for p in points), 1.0)
    values = [p[1] for p in points] + ([reference[0]] if reference else [])
    y_min, y_max = min(0.0, min(values)), max(values)
    y_max = y_max if y_max > y_min else y_min + 1.0
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x_of(step: float) -> str:
        return f"{LEFT + pw * step / x_max:.1f}"

    def y_of(value: float) -> str:
        return f"{TOP + ph * (1 - (value - y_min) / (y_max - y_min)):.1f}"

    parts = [f'<svg class="curves" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
             f'aria-label="{escape(run.name)}: {escape(title)}">',
             f'<text class="tick" x="{LEFT}" y="10">{escape(title)}</text>',
             f'<line class="grid" x1="{LEFT}" y1="{TOP + ph}" x2="{LEFT + pw}" y2="{TOP + ph}"/>',
             f'<line class="grid" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + ph}"/>']
    for frac in (0.0, 0.5, 1.0):
        v = y_min + (y_max - y_min) * frac
        y = TOP + ph * (1 - frac)
        parts.append(f'<text class="tick" x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{v:.3g}</text>')
    parts.append(f'<text class="tick" x="{LEFT + pw}" y="{H - 16}" text-anchor="end">step {x_max:g}</text>')
    if reference:
        ref_y = y_of(reference[0])
        parts.append(f'<line x1="{LEFT}" y1="{ref_y}" x2="{LEFT + pw}" y2="{ref_y}" stroke="#888" '
                     f'stroke-dasharray="2,3"><title>{escape(reference[1])}</title></line>')
    legend_x = LEFT
    for key, label in present:
        colour = COLOURS[key]
        for split in ("train", "val"):
            pts = run.series.get((key, split))
            if not pts:
                continue
            dash = ' stroke-dasharray="5,3"' if split == "val" else ""
            path = " ".join(f"{x_of(s)},{y_of(v)}" for s, v in pts)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points="{path}">'
                         f'<title>{escape(label)} ({split}), last {pts[-1][1]:.4g} at step {pts[-1][0]:g}'
                         f'</title></polyline>')
            if split == "val":        # validation is logged rarely: mark each point (one alone has no line)
                parts += [f'<circle cx="{x_of(s)}" cy="{y_of(v)}" r="2.5" fill="{colour}"/>' for s, v in pts]
        parts.append(f'<text class="legend" x="{legend_x}" y="{H - 4}" fill="{colour}">{escape(label)}</text>')
        legend_x += 8 + 6 * len(label)
    parts.append("</svg>")
    return Markup("".join(parts))


def curves_svg(run: RunCurves) -> tuple[Markup, Markup]:
    """(losses, accuracies) plots of one run; solid = training, dashed = validation."""
    chance_loss = (math.log(K_TRANSCRIPTS), f"ln {K_TRANSCRIPTS}: a sort head that has learned nothing")
    chance_acc = (1 / math.factorial(K_TRANSCRIPTS), f"1/{K_TRANSCRIPTS}!: the sort's chance")
    has_sort = ("l_sort", "train") in run.series
    return (_panel(run, LOSSES, "losses", chance_loss if has_sort else None),
            _panel(run, ACCURACIES, "accuracies", chance_acc if has_sort else None))
