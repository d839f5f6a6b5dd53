"""The study report: an offline HTML page in the leaderboard's style, Markdown and CSV, and DataFrames.

One section per paper table: our rows (mean over seeds with a 95 % interval) beside the paper's
numbers, the claims with the paired difference, its interval and the verdict, a plot of the effects,
the pretraining curves of each variant's runs and what each row cost. The HTML follows the
leaderboard's safety rules: Jinja2 autoescape, a Content-Security-Policy that forbids every request and
allows only the page's own stylesheet (by hash), no script.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from markupsafe import Markup

from ..report.html import TEMPLATES, _csp_hash, _environment, fmt, interval
from ..report.markdown import _table, md_escape
from .analysis import ClaimResult, StudyResult

CSV_FIELDS = ("kind", "table", "row", "task", "metric", "value", "ci_low", "ci_high", "n_seeds", "paper", "status",
              "better", "worse", "verdict", "paper_diff", "seconds")


def _seconds(row) -> float | None:
    parts = [x for x in (row.pretrain_seconds, row.eval_seconds) if x is not None]
    return sum(parts) if parts else None


def _cost(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f} min"


def _paper_text(value: float | str | None) -> str:
    if value is None:
        return "–"
    return md_escape(value) if isinstance(value, str) else fmt(value)


def _diff_text(c: ClaimResult) -> str:
    if c.test is None:
        return "–"
    return f"{c.test.diff:+.1f} [{c.test.low:+.1f}, {c.test.high:+.1f}]"


# -- tables as plain rows (shared by the three formats and the DataFrames) ---------------------------
def long_rows(study: StudyResult) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for t in study.tables:
        for r in t.rows:
            for (task, metric), agg in r.values.items():
                rows.append({"kind": "row", "table": t.table.number, "row": r.variant, "task": task, "metric": metric,
                             "value": agg.value if agg else None, "ci_low": agg.ci_low if agg else None,
                             "ci_high": agg.ci_high if agg else None, "n_seeds": agg.n_seeds if agg else 0,
                             "paper": r.paper.get((task, metric)), "status": r.status, "seconds": _seconds(r)})
        for c in t.claims:
            rows.append({"kind": "claim", "table": t.table.number, "task": c.claim.task, "metric": c.claim.metric,
                         "better": c.claim.better, "worse": c.claim.worse, "verdict": c.verdict,
                         "value": c.test.diff if c.test else None, "ci_low": c.test.low if c.test else None,
                         "ci_high": c.test.high if c.test else None, "n_seeds": c.seeds,
                         "paper_diff": c.paper_diff})
    return rows


def dataframes(study: StudyResult) -> dict[str, Any]:
    """``{"rows": DataFrame, "claims": DataFrame}`` (pandas), one line per row value / claim."""
    import pandas as pd

    rows = long_rows(study)
    frame = pd.DataFrame(rows, columns=list(CSV_FIELDS))
    return {"rows": frame[frame["kind"] == "row"].drop(columns=["kind", "better", "worse", "verdict", "paper_diff"])
            .reset_index(drop=True),
            "claims": frame[frame["kind"] == "claim"].drop(columns=["kind", "row", "paper", "status", "seconds"])
            .reset_index(drop=True)}


def render_csv(study: StudyResult) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in long_rows(study):
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_FIELDS})
    return out.getvalue()


def render_markdown(study: StudyResult) -> str:
    seeds = ", ".join(map(str, study.seeds))
    lines = [f"# Study `{md_escape(study.name)}`: the paper's ablations re-run (seeds {seeds})", ""]
    for t in study.tables:
        lines += [f"## Table {t.table.number}: {md_escape(t.table.title)}", ""]
        header = ["row"] + [f"{md_escape(task)} {md_escape(metric)} (ours / paper)" for task, metric in t.table.tasks]
        header += ["status", "cost"]
        body = []
        for r in t.rows:
            cells = [f"`{md_escape(r.variant)}`"]
            for key in t.table.tasks:
                agg = r.values.get(key)
                ours = "–" if agg is None else f"{fmt(agg.value)} {interval(agg)}".strip()
                paper = r.paper.get(key)
                cells.append(f"{ours} / {_paper_text(paper)}")
            cells += [md_escape(r.status), _cost(_seconds(r))]
            body.append(cells)
        lines += _table(header, body) + [""]
        claims = [[md_escape(c.claim.statement), f"{c.paper_diff:+.1f}" if c.paper_diff is not None else "–",
                   _diff_text(c), f"**{c.verdict}**"] for c in t.claims]
        lines += _table(["claim", "paper difference", "our difference [95 % CI]", "verdict"], claims) + [""]
    if study.warnings:
        lines += ["## Warnings", ""] + [f"- {md_escape(w)}" for w in study.warnings] + [""]
    return "\n".join(lines)


# -- HTML ---------------------------------------------------------------------------------------------
def effects_svg(claims: Sequence[ClaimResult], width: int = 560) -> Markup:
    """Each claim's difference with its interval on a shared axis through zero (the paper's effect as a
    hollow mark)."""
    measured = [c for c in claims if c.test is not None]
    if not measured:
        return Markup("")
    values = [abs(x) for c in measured for x in (c.test.low, c.test.high, c.paper_diff or 0.0)]  # type: ignore[union-attr]
    span = max(1.0, max(values)) * 1.1
    left, right, row_h = 250, width - 20, 22
    height = 30 + row_h * len(measured)

    def x(v: float) -> float:
        return left + (v + span) / (2 * span) * (right - left)

    from html import escape

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="effects" width="{width}" height="{height}" role="img" '
             f'aria-label="paired differences with 95 % intervals">',
             f'<line x1="{x(0):.1f}" y1="10" x2="{x(0):.1f}" y2="{height - 14}" class="axis"/>',
             f'<text x="{x(-span):.1f}" y="{height - 2}" class="tick">{-span:.0f}</text>',
             f'<text x="{x(0) - 3:.1f}" y="{height - 2}" class="tick">0</text>',
             f'<text x="{x(span) - 14:.1f}" y="{height - 2}" class="tick">+{span:.0f}</text>']
    for i, c in enumerate(measured):
        y = 22 + i * row_h
        test = c.test
        label = escape(f"{c.claim.better} − {c.claim.worse} · {c.claim.task} {c.claim.metric}")
        parts.append(f'<text x="4" y="{y + 4}" class="lbl">{label}</text>')
        parts.append(f'<line x1="{x(test.low):.1f}" y1="{y}" x2="{x(test.high):.1f}" y2="{y}" '  # type: ignore[union-attr]
                     f'class="ci v-{c.verdict.replace(" ", "-")}"/>')
        parts.append(f'<circle cx="{x(test.diff):.1f}" cy="{y}" r="4" class="pt v-{c.verdict.replace(" ", "-")}">'  # type: ignore[union-attr]
                     f'<title>{escape(c.detail)}</title></circle>')
        if c.paper_diff is not None and math.isfinite(c.paper_diff):
            parts.append(f'<rect x="{x(c.paper_diff) - 4:.1f}" y="{y - 4}" width="8" height="8" class="paper">'
                         f'<title>paper: {c.paper_diff:+.1f}</title></rect>')
    parts.append("</svg>")
    return Markup("".join(parts))


def render_html(study: StudyResult, runs: Sequence[Any] = (), variant_of: Mapping[str, str] | None = None) -> str:
    """The page; ``runs``: ``report.pretraining.RunCurves`` of the study's pretraining runs, drawn under
    the variant ``variant_of`` gives for the run's name (the run's own name where it gives none)."""
    from ..report.pretraining import curves_svg

    css = (TEMPLATES / "style.css").read_text(encoding="utf-8") + (TEMPLATES / "study.css").read_text(encoding="utf-8")
    csp = f"default-src 'none'; img-src data:; style-src {_csp_hash(css)}; base-uri 'none'; form-action 'none'"
    by_variant: dict[str, list] = {}
    for run in runs:
        variant = (variant_of or {}).get(run.name, run.name)
        by_variant.setdefault(variant, []).append((run, curves_svg(run)))
    template = _environment().get_template("study.html.j2")
    return template.render(study=study, css=Markup(css), csp=csp, effects=effects_svg, curves=by_variant,
                           cost=lambda r: _cost(_seconds(r)),
                           paper_text=lambda v: "–" if v is None else v if isinstance(v, str) else fmt(v))


def write_report(study: StudyResult, out: Path, runs: Sequence[Any] = (),
                 variant_of: Mapping[str, str] | None = None) -> list[Path]:
    """``out`` (HTML) and the Markdown and CSV beside it, each written atomically."""
    from ..atomic import write_text

    out = Path(out)
    paths = [out, out.with_suffix(".md"), out.with_suffix(".csv")]
    write_text(paths[0], render_html(study, runs, variant_of))
    write_text(paths[1], render_markdown(study))
    write_text(paths[2], render_csv(study))
    return paths
