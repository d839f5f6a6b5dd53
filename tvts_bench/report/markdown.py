"""Render a Leaderboard as Markdown (GitHub-flavoured tables), for papers and READMEs.

Strings from results are escaped for Markdown tables: ``|`` is written ``\\|``, ``<``, ``>``, ``&`` as
HTML entities (Markdown renderers pass raw HTML through), and ``](`` so no string becomes a link.
Control and bidi-control characters are written as ``\\xNN`` / ``\\uNNNN`` escapes: the file is also
read in terminals (``cat``), where an escape sequence in a model name would act.
"""

from __future__ import annotations

from ..text_safety import printable
from .aggregate import Agg, Cell, Column, Leaderboard
from .html import fmt, interval


def md_escape(text: object) -> str:
    s = str(text)
    for raw, esc in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "\\`"),
                     ("\r\n", " "), ("\n", " "), ("\r", " "), ("](", "]\\(")):
        s = s.replace(raw, esc)
    return printable(s)


def _value(agg: Agg | None) -> str:
    if agg is None:
        return "–"
    text = fmt(agg.value)
    if agg.has_interval:
        text += f" {interval(agg)}"
    return text


def _badges(cell: Cell, col: Column) -> str:
    out = []
    if cell.is_best and len(col.cells) > 1:
        out.append("best")
    if cell.contaminated:
        out.append(f"contaminated (trained on {md_escape(col.dataset)})")
    if cell.separation is not None and cell.separation.separable is False:
        out.append(f"not separable from {md_escape(cell.separation.against)} ({cell.separation.rule})")
    if cell.separation is not None and cell.separation.separable is None:
        out.append("untested")
    return ", ".join(out)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def render_markdown(lb: Leaderboard) -> str:
    lines = ["# tvts-bench leaderboard", "",
             f"Generated {lb.generated_at} from {lb.n_files} result file(s). Values: mean over seeds with the "
             "95 % interval in brackets. Columns marked *[built-in world]* were measured on the generated "
             "stand-in data and are not comparable with the paper; rows marked *paper (reported)* are the "
             "paper's numbers on the real datasets, shown beside real-data columns only.", ""]
    lines.append("## Summary")
    lines.append("")
    header = ["Model"] + [f"{md_escape(c.key)} ({md_escape(c.main_metric)})" for c in lb.columns]
    rows = []
    for model in lb.models:
        row = [md_escape(model)]
        for col in lb.columns:
            cell = col.cell(model)
            agg = cell.metrics.get(col.main_metric) if cell else None
            text = _value(agg)
            badges = _badges(cell, col) if cell and agg else ""
            row.append(text + (f" ({badges})" if badges else ""))
        rows.append(row)
    for paper_row, numbers in lb.paper_summary_rows():
        row = [f"*paper (reported)*: {md_escape(paper_row.label)}"]
        for col in lb.columns:
            n = numbers.get(col.key)
            row.append("" if n is None else (fmt(n.value) if n.value is not None else n.note) + f" (Table {n.table})")
        rows.append(row)
    lines += _table(header, rows)
    for col in lb.columns:
        lines += ["", f"## {md_escape(col.key)}", "",
                  f"Dataset {md_escape(col.dataset)}, protocol {md_escape(col.protocol)}, main metric "
                  f"{md_escape(col.main_metric)} ({'higher' if col.higher_is_better else 'lower'} is better)."]
        for note in col.notes:
            lines += ["", f"> {md_escape(note)}"]
        lines.append("")
        variants = col.variants
        header = (["Model", "Seeds"] + [md_escape(m) for m in col.metric_names]
                  + [f"{md_escape(col.main_metric)} ({md_escape(v)})" for v in variants] + ["Badges"])
        rows = [[md_escape(c.model), ", ".join(str(s) for s in c.seeds)]
                + [_value(c.metrics.get(m)) for m in col.metric_names]
                + [_value(c.diagnostics.get(v, {}).get(col.main_metric)) for v in variants]
                + [_badges(c, col)] for c in col.cells]
        for ref in col.paper:
            rows.append([f"*paper (reported)*: {md_escape(ref.row.label)}", ""]
                        + [("" if (n := ref.numbers.get(m)) is None else fmt(n.value) if n.value is not None
                            else n.note) for m in col.metric_names] + [""] * len(variants)
                        + [f"Table {', '.join(str(t) for t in ref.tables)}"
                           + (f"; corresponds to {', '.join(md_escape(m) for m in ref.models)}" if ref.models else "")])
        lines += _table(header, rows)
        separations = [c.separation for c in col.cells if c.separation is not None]
        if separations:
            lines.append("")
            lines += [f"- {md_escape(s.detail)}" for s in separations]
    if lb.warnings:
        lines += ["", "## Skipped files and warnings", ""] + [f"- {md_escape(w)}" for w in lb.warnings]
    return "\n".join(lines) + "\n"
