"""Render a Leaderboard as one self-contained HTML file (works offline, requests nothing).

Everything is inline: CSS, JS and SVG plots. A Content-Security-Policy meta tag forbids every network
request and allows only the page's own style and script (by hash), so even a string that escaped the
escaping could not load or run anything. Strings from results and cards are escaped by Jinja2's
autoescape; the JSON copy of the data embedded in the page has ``<``, ``>`` and ``&`` written as
``\\u003c`` etc., so no ``</script>`` or ``<!--`` can appear inside it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from . import paper as paper_numbers
from . import plots
from .aggregate import Agg, Leaderboard, long_rows

TEMPLATES = Path(__file__).parent / "templates"


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


def render_html(lb: Leaderboard) -> str:
    css = (TEMPLATES / "style.css").read_text(encoding="utf-8")
    js = (TEMPLATES / "script.js").read_text(encoding="utf-8")
    csp = ("default-src 'none'; img-src data:; "
           f"style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "base-uri 'none'; form-action 'none'")
    charts = {col.key: (plots.bars(col), plots.temporal(col)) for col in lb.columns}
    template = _environment().get_template("leaderboard.html.j2")
    return template.render(
        lb=lb, css=Markup(css), js=Markup(js), csp=csp, charts=charts,
        paper_summary=lb.paper_summary_rows(), paper_tables=_paper_tables(),
        data_json=script_json({"generated_at": lb.generated_at, "rows": long_rows(lb),
                               "warnings": lb.warnings}),
        has_real=any(not c.builtin for c in lb.columns),
        has_builtin=any(c.builtin for c in lb.columns),
    )
