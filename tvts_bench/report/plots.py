"""Inline SVG plots for the HTML report (no plotting library, no external resources).

Every text that reaches the SVG passes through ``markupsafe.escape``; the functions return ``Markup``
so the template inserts them as-is.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from .aggregate import Agg, Column

WIDTH = 720
LABEL_W = 230
VALUE_W = 120
ROW_H = 22
BAR_H = 14
TOP = 24
VARIANT_ORDER = ("normal", "shuffled", "repeated", "reversed")


def _nice_max(x: float) -> float:
    if x <= 0 or not math.isfinite(x):
        return 1.0
    exp = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= x:
            return m * exp
    return 10 * exp


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _fmt(v: float | None) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.1f}"


def _axis(scale_max: float, plot_w: float, y_bottom: float) -> list[str]:
    """Vertical grid lines from the top of the plot to ``y_bottom``, tick labels just below it."""
    parts = []
    for i in range(5):
        v = scale_max * i / 4
        x = LABEL_W + plot_w * i / 4
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{y_bottom:.1f}"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{y_bottom + 12:.1f}" text-anchor="middle">{v:g}</text>')
    return parts


def bars(col: Column) -> Markup:
    """Horizontal bars of the main metric per model, whiskers for the interval; reference rows (world
    calibration) as pale bars labelled 'reference'; paper rows (real-data columns only) as hatched grey
    bars labelled 'paper'."""
    entries: list[tuple[str, Agg | None, float | None, str]] = []   # label, agg, paper value, css class
    for cell in col.cells:
        agg = cell.metrics.get(col.main_metric)
        if agg is not None:
            entries.append((cell.model, agg, None, "bar best" if cell.is_best else "bar"))
    for cell in col.references:      # world calibration rows (chance, ceilings): never ranked
        agg = cell.metrics.get(col.main_metric)
        if agg is not None:
            entries.append((f"reference: {cell.model}", agg, None, "bar reference"))
    for ref in col.paper:
        number = ref.numbers.get(col.main_metric)
        if number is not None and number.value is not None:
            entries.append((f"paper: {ref.row.label}", None, number.value, "bar paper"))
    if not entries:
        return Markup("")
    top_values = [a.ci_high if a.ci_high is not None else a.value for _, a, _, _ in entries if a is not None]
    top_values += [p for _, a, p, _ in entries if a is None and p is not None]
    scale_max = _nice_max(max([v for v in top_values if math.isfinite(v)] or [1.0]))
    plot_w = WIDTH - LABEL_W - VALUE_W
    height = TOP + ROW_H * len(entries) + 22
    title = f"{col.key}: {col.main_metric}" + (" (lower is better)" if not col.higher_is_better else "")
    parts = [f'<svg class="plot" role="img" width="{WIDTH}" '
             f'height="{height}" viewBox="0 0 {WIDTH} {height}">',
             f"<title>{escape(title)}</title>",
             f'<text class="ptitle" x="4" y="14">{escape(title)}</text>']
    parts += _axis(scale_max, plot_w, TOP + ROW_H * len(entries))

    def x_of(v: float) -> float:
        return LABEL_W + plot_w * max(0.0, min(v, scale_max)) / scale_max

    for i, (label, agg, paper_value, css) in enumerate(entries):
        y = TOP + i * ROW_H
        value = agg.value if agg is not None else paper_value
        parts.append(f'<text class="label" x="{LABEL_W - 6}" y="{y + BAR_H - 2}" text-anchor="end">'
                     f"<title>{escape(label)}</title>{escape(_short(label))}</text>")
        if value is None or not math.isfinite(value):
            continue
        parts.append(f'<rect class="{css}" x="{LABEL_W}" y="{y}" width="{x_of(value) - LABEL_W:.1f}" '
                     f'height="{BAR_H}"/>')
        text = _fmt(value)
        if agg is not None and agg.has_interval:
            lo, hi = x_of(agg.ci_low), x_of(agg.ci_high)  # type: ignore[arg-type]
            mid = y + BAR_H / 2
            parts.append(f'<line class="whisker" x1="{lo:.1f}" y1="{mid}" x2="{hi:.1f}" y2="{mid}"/>'
                         f'<line class="whisker" x1="{lo:.1f}" y1="{y + 2}" x2="{lo:.1f}" y2="{y + BAR_H - 2}"/>'
                         f'<line class="whisker" x1="{hi:.1f}" y1="{y + 2}" x2="{hi:.1f}" y2="{y + BAR_H - 2}"/>')
            text += f" [{_fmt(agg.ci_low)}, {_fmt(agg.ci_high)}]"
        parts.append(f'<text class="value" x="{WIDTH - VALUE_W + 4}" y="{y + BAR_H - 2}">{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def temporal(col: Column) -> Markup:
    """The temporal-sensitivity diagnostic: the main metric on normal, shuffled, repeated and reversed
    frames per model (the variants its results have). A model that uses frame order loses accuracy
    when frames are shuffled or repeated; one that uses the arrow of time also when they are reversed."""
    groups: list[tuple[str, list[tuple[str, Agg]]]] = []
    for cell in col.cells:
        series: list[tuple[str, Agg]] = []
        normal = cell.metrics.get(col.main_metric)
        if normal is not None:
            series.append(("normal", normal))
        for variant in col.variants:
            agg = cell.diagnostics.get(variant, {}).get(col.main_metric)
            if agg is not None:
                series.append((variant, agg))
        if len(series) > 1:
            groups.append((cell.model, series))
    if not groups:
        return Markup("")
    variants = [v for v in VARIANT_ORDER if any(v == name for _, s in groups for name, _ in s)]
    variants += sorted({name for _, s in groups for name, _ in s} - set(variants))
    scale_max = _nice_max(max(max((a.ci_high if a.ci_high is not None else a.value) for _, a in s)
                              for _, s in groups))
    bar_h, gap = 13, 9
    group_h = bar_h * len(variants) + gap
    plot_w = WIDTH - LABEL_W - VALUE_W
    plot_bottom = TOP + group_h * len(groups)
    height = plot_bottom + 42
    title = f"{col.key}: temporal sensitivity ({col.main_metric} on {' / '.join(variants)} frames)"
    parts = [f'<svg class="plot" role="img" width="{WIDTH}" '
             f'height="{height}" viewBox="0 0 {WIDTH} {height}">',
             f"<title>{escape(title)}</title>",
             f'<text class="ptitle" x="4" y="14">{escape(_short(title, 110))}</text>']
    parts += _axis(scale_max, plot_w, plot_bottom)
    for g, (model, series) in enumerate(groups):
        y0 = TOP + g * group_h
        parts.append(f'<text class="label" x="{LABEL_W - 6}" y="{y0 + bar_h * len(variants) / 2 + 4:.1f}" '
                     f'text-anchor="end"><title>{escape(model)}</title>{escape(_short(model))}</text>')
        for name, agg in series:
            k = variants.index(name)
            y = y0 + k * bar_h
            w = plot_w * max(0.0, min(agg.value, scale_max)) / scale_max
            parts.append(f'<rect class="v-{k % 4}" x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{bar_h - 1}">'
                         f"<title>{escape(f'{model} {name}: {_fmt(agg.value)}')}</title></rect>")
            parts.append(f'<text class="value small" x="{WIDTH - VALUE_W + 4}" y="{y + bar_h - 2}">'
                         f"{escape(name)} {escape(_fmt(agg.value))}</text>")
    ly = plot_bottom + 22
    for k, name in enumerate(variants):
        x = LABEL_W + k * 110
        parts.append(f'<rect class="v-{k % 4}" x="{x}" y="{ly}" width="10" height="10"/>'
                     f'<text class="tick" x="{x + 14}" y="{ly + 9}">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
