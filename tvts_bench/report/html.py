"""Render a Leaderboard as one self-contained HTML file (works offline, requests nothing).

Everything is inline: CSS, JS and SVG plots. A Content-Security-Policy meta tag forbids every network
request and allows only the page's own style and script (by hash), so even a string that escaped the
escaping could not load or run anything. Strings from results and cards are escaped by Jinja2's
autoescape; the JSON copy of the data embedded in the page has ``<``, ``>`` and ``&`` written as
``\\u003c`` etc., so no ``</script>`` or ``<!--`` can appear inside it.

The summary shows one number per cell (the main metric; its interval, seeds and views in the cell's
tooltip and details panel), shaded by where it sits between the column's floor and ceiling (CSS classes
``s0``..``s10``, ``below``: the page's CSP allows no inline style attributes). Columns are grouped by
protocol under a two-level header; when the table is wider than the page, the page's script shows one
protocol group at a time (tabs) instead of letting the page scroll sideways. The "compare two models"
control reads the paired differences precomputed in Python (``Column.pairs``) from the embedded JSON.
The "Temporal minus static" section (only when results cover a temporal / static pair of subset
tasks) shows each model's gap with its interval and, in the tooltip, both values and the rule
(``gaps.py``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from . import paper as paper_numbers
from . import plots
from .aggregate import Agg, Cell, Column, Leaderboard, long_rows

if TYPE_CHECKING:
    from .gaps import Gap, SubsetPair

TEMPLATES = Path(__file__).parent / "templates"
# short enough for a one-column group (U+2011: a hyphen the line never breaks at); the title says more
PROTOCOL_LABELS = {"linear": "linear probe", "knn": "k\u2011NN", "attn": "attentive probe",
                   "v2v": "video\u2192video", "ft": "fine\u2011tuning",
                   "ret": "zero\u2011shot", "ret-ft": "fine\u2011tuned retrieval"}
PROTOCOL_TITLES = {"linear": "linear probe: a linear classifier on frozen features",
                   "knn": "k-NN: weighted nearest-neighbour vote over the train split's frozen features (no training)",
                   "attn": "attentive probe: a learned query pools the frozen encoder's tokens, then a classifier",
                   "v2v": "video-to-video retrieval: nearest neighbours on frozen features (no training)",
                   "ft": "fine-tuning: the whole encoder trained on the task",
                   "ret": "zero-shot text-to-video retrieval with the model's own text tower (no training)",
                   "ret-ft": "text-to-video retrieval after fine-tuning on the task's captions"}
SHADES = 10         # shading classes s0 (the floor) .. s10 (the ceiling)
# marks in summary cells (said once, in the caption)
TIE_MARK = "\u2248"         # cannot be separated from the column's best
UNKNOWN_MARK = "?"          # cannot tell (no intervals, no side files)
CONTAMINATED_MARK = "c"     # trained on the task's dataset


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def interval(agg: Agg | None) -> str:
    if agg is None or not agg.has_interval:
        return ""
    return f"[{fmt(agg.ci_low)}, {fmt(agg.ci_high)}]"


def sort_key(value: float | None) -> str:
    """The data-sort attribute of a table cell: a number, or empty (sorted last) when there is none."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return ""
    return repr(float(value))


def _finite(obj: Any) -> Any:
    """JSON has no NaN/Infinity: write them as null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def script_json(obj: Any) -> Markup:
    """JSON safe to place inside <script type="application/json">: no '<', '>' or '&' characters at all."""
    text = json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False, default=str)
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, esc)
    return Markup(text)


def _pretty(obj: Any) -> str:
    return json.dumps(_finite(obj), indent=2, sort_keys=True, default=str, ensure_ascii=False)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = fmt
    env.filters["interval"] = interval
    env.filters["sortkey"] = sort_key
    env.filters["pretty"] = _pretty
    env.filters["shade"] = shade
    return env


def _paper_tables() -> list[dict]:
    """The paper's numbers, table by table, one row per paper row with its (task, metric) cells."""
    out = []
    for table, numbers in paper_numbers.rows_by_table().items():
        headers: list[tuple[str, str]] = []
        rows: dict[str, dict[tuple[str, str], paper_numbers.PaperNumber]] = {}
        for n in numbers:
            if (n.task, n.metric) not in headers:
                headers.append((n.task, n.metric))
            rows.setdefault(n.row, {})[(n.task, n.metric)] = n
        out.append({"number": table, "title": paper_numbers.TABLE_TITLES.get(table, f"Table {table}"),
                    "headers": headers,
                    "rows": [(paper_numbers.ROWS[r], cells) for r, cells in rows.items()]})
    return out


def shade(position: float | None) -> str:
    """The shading class of a cell: s0 (floor) .. s10 (ceiling), ``below`` under the floor, ``noscale``."""
    if position is None or not math.isfinite(position):
        return "noscale"
    if position < 0:
        return "below"
    return f"s{round(min(position, 1.0) * SHADES)}"


def position_text(position: float | None, col: Column) -> str:
    if position is None or not math.isfinite(position):
        return col.scale.text
    where = (f"floor: {col.scale.floor_label}; ceiling: {col.scale.ceiling_label}")
    if position < 0:
        return f"below the floor ({where})"
    if position > 1:
        return f"above the ceiling ({where})"
    return f"{position:.0%} of the way from the floor to the ceiling ({where})"


def cell_title(col: Column, cell: Cell) -> str:
    """The tooltip of a summary cell: value with interval, seeds, views, verdict, place on the scale."""
    agg = cell.metrics.get(col.main_metric)
    parts = [f"{cell.model} on {col.key}"]
    if agg is not None:
        value = f"{col.main_metric} {fmt(agg.value, 2)}"
        if agg.has_interval:
            value += f" [{fmt(agg.ci_low, 2)}, {fmt(agg.ci_high, 2)}] ({agg.ci_level:.0%} interval)"
        parts.append(value)
    parts.append(cell.seeds_text)
    if cell.views.known:
        parts.append(f"views {cell.views.long}")
    if cell.is_reference:
        parts.append(f"reference row ({cell.reference_role}): not ranked")
    elif cell.is_best and len(col.cells) > 1:
        parts.append("best in this column")
    elif cell.separation is not None:
        sep = cell.separation
        verdict = {False: f"not separable from {sep.against} ({sep.rule})",
                   True: f"separable from {sep.against}, the best ({sep.rule})",
                   None: "cannot tell whether it differs from the best"}[sep.separable]
        parts.append(f"{verdict}: {sep.detail}")
    if cell.contaminated:
        parts.append(f"contaminated: trained on {col.dataset}, not a transfer result")
    parts.append(position_text(cell.position, col))
    return " \u00b7 ".join(parts)


def column_title(col: Column) -> str:
    parts = [f"{col.key}: {col.main_metric} ({'higher' if col.higher_is_better else 'lower'} is better)",
             "built-in world" if col.builtin else "real dataset"]
    views = [v for v in col.views if v.known]
    if views:
        parts.append("views " + " / ".join(v.long for v in views))
    parts.append("shading " + col.scale.text)
    return " \u00b7 ".join(parts)


def column_views(col: Column) -> str:
    """The column's test views for its header, frames x clips x crops ('8/16\u00d72\u00d73' where models
    differ); empty when no result recorded them."""
    views = [v for v in col.views if v.known]
    if not views:
        return ""
    parts = []
    for values in zip(*((v.frames, v.clips, v.crops) for v in views)):
        known = sorted({x for x in values if x is not None})
        parts.append("/".join(str(x) for x in known) if known else "?")
    return "\u00d7".join(parts)


def column_groups(lb: Leaderboard) -> list[dict]:
    """Consecutive columns of one (source, protocol): the summary's upper header row."""
    both = len({c.source for c in lb.columns}) > 1
    groups: list[dict] = []
    for col in lb.columns:
        if groups and (groups[-1]["source"], groups[-1]["protocol"]) == (col.source, col.protocol):
            groups[-1]["span"] += 1
            continue
        groups.append({"index": len(groups), "source": col.source, "protocol": col.protocol, "span": 1,
                       "label": PROTOCOL_LABELS.get(col.protocol, col.protocol),
                       "title": PROTOCOL_TITLES.get(col.protocol, col.protocol)
                       + (" \u00b7 built-in world" if col.builtin else " \u00b7 real data"),
                       "badge": ("world" if col.builtin else "real") if both else None})
    return groups


def anchors(lb: Leaderboard) -> dict[tuple[str, str], str]:
    """(column key, model or reference name) -> the id of its details panel in the task section."""
    out: dict[tuple[str, str], str] = {}
    for ci, col in enumerate(lb.columns):
        for j, cell in enumerate(col.cells):
            out[(col.key, cell.model)] = f"d-{ci}-{j}"
        for j, cell in enumerate(col.references):
            out[(col.key, cell.model)] = f"d-{ci}-r{j}"
    return out


def paper_extra(lb: Leaderboard, paper_summary: list) -> set[str]:
    """Paper rows the summary folds away (one click shows them): all but the paper's own method and the
    rows that correspond to a measured model. The per-task tables always show every row."""
    keep = {"tvts"} | {ref.row.id for col in lb.columns for ref in col.paper if ref.models}
    return {row.id for row, _ in paper_summary if row.id not in keep}


def reference_roles(lb: Leaderboard) -> dict[str, str]:
    roles: dict[str, str] = {}
    for col in lb.columns:
        for cell in col.references:
            roles.setdefault(cell.model, cell.reference_role or "diagnostic")
    return roles


def rank_sort_key(lb: Leaderboard, model: str) -> str:
    """Coverage first, then the average: a model with fewer results sorts after one with more."""
    rank = lb.ranks.get(model)
    if rank is None or rank.average is None:
        return ""
    return repr(float((rank.total - rank.covered) * 1000 + rank.average))


def gap_num(value: float | None) -> str:
    """A gap with its sign (U+2212 for minus), one decimal."""
    text = fmt(value)
    return text if text == "n/a" else ("+" + text if value > 0 else text.replace("-", "\u2212"))  # type: ignore[operator]


def gap_title(pair: "SubsetPair", gap: "Gap") -> str:
    """The tooltip of a gap cell: both values with their intervals, the gap's interval and its rule."""
    def value(task: str, agg: Agg) -> str:
        return f"{task} {fmt(agg.value, 2)}" + (f" [{fmt(agg.ci_low, 2)}, {fmt(agg.ci_high, 2)}]"
                                               if agg.has_interval else "")
    parts = [f"{gap.model}: {pair.metric} on {value(pair.temporal.task, gap.temporal)} minus "
             f"{value(pair.static.task, gap.static)} = {fmt(gap.diff, 2)}"]
    if gap.has_interval:
        parts.append(f"95% interval [{fmt(gap.low, 2)}, {fmt(gap.high, 2)}]"
                     + (" (excludes 0)" if gap.separable else " (includes 0)"))
    parts.append(gap.detail)
    parts += gap.notes
    return " \u00b7 ".join(parts)


def summary_data(lb: Leaderboard) -> dict:
    """What the compare control needs: models, columns, values and every pair's difference."""
    index = {m: i for i, m in enumerate(lb.models)}

    def num(x: float | None) -> float | None:
        return round(x, 4) if x is not None and math.isfinite(x) else None

    columns = []
    for col in lb.columns:
        values = []
        for model in lb.models:
            cell = col.cell(model)
            agg = cell.metrics.get(col.main_metric) if cell is not None else None
            values.append(None if agg is None else [num(agg.value), num(agg.ci_low), num(agg.ci_high)])
        pairs = [{"a": index[p.a], "b": index[p.b], "d": num(p.diff), "lo": num(p.low), "hi": num(p.high),
                  "rule": p.rule, "sep": p.separable}
                 for p in col.pairs.values() if p.a in index and p.b in index]
        columns.append({"key": col.key, "label": col.label, "protocol": col.protocol, "source": col.source,
                        "metric": col.main_metric, "lower": not col.higher_is_better, "values": values,
                        "pairs": pairs})
    ranks = [{"average": lb.ranks[m].average, "covered": lb.ranks[m].covered, "total": lb.ranks[m].total}
             for m in lb.models]
    return {"models": lb.models, "ranks": ranks, "references": lb.references, "columns": columns}


def render_html(lb: Leaderboard, runs: Sequence[Any] = ()) -> str:
    """The page; ``runs``: ``pretraining.RunCurves`` drawn in the "Pretraining runs" section."""
    from .pretraining import curves_svg

    css = (TEMPLATES / "style.css").read_text(encoding="utf-8")
    js = (TEMPLATES / "script.js").read_text(encoding="utf-8")
    csp = ("default-src 'none'; img-src data:; "
           f"style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "base-uri 'none'; form-action 'none'")
    charts = {col.key: (plots.bars(col), plots.temporal(col)) for col in lb.columns}
    groups = column_groups(lb)
    paper_summary = lb.paper_summary_rows()
    col_group: dict[str, int] = {}
    group_starts: set[str] = set()
    i = 0
    for g in groups:
        group_starts.add(lb.columns[i].key)
        for col in lb.columns[i:i + g["span"]]:
            col_group[col.key] = g["index"]
        i += g["span"]
    template = _environment().get_template("leaderboard.html.j2")
    return template.render(
        lb=lb, css=Markup(css), js=Markup(js), csp=csp, charts=charts,
        paper_summary=paper_summary, paper_extra=paper_extra(lb, paper_summary), paper_tables=_paper_tables(),
        data_json=script_json({"generated_at": lb.generated_at, "rows": long_rows(lb),
                               "warnings": lb.warnings, "summary": summary_data(lb)}),
        groups=groups, col_group=col_group, group_starts=group_starts, anchors=anchors(lb), roles=reference_roles(lb),
        gap_models=[m for m in lb.models if any(p.gap(m) is not None for p in lb.gaps)],
        gap_title=gap_title, gap_num=gap_num,
        cell_title=cell_title, column_title=column_title, column_views=column_views, position_text=position_text,
        rank_sort_key=rank_sort_key, marks={"tie": TIE_MARK, "unknown": UNKNOWN_MARK,
                                            "contaminated": CONTAMINATED_MARK}, shades=range(SHADES + 1),
        has_real=any(not c.builtin for c in lb.columns),
        has_builtin=any(c.builtin for c in lb.columns),
        pretraining=[(run, curves_svg(run)) for run in runs],
    )
