"""Render a Leaderboard as Markdown (GitHub-flavoured tables), for papers and READMEs.

Strings from results are escaped for Markdown tables: ``|`` is written ``\\|``, ``<``, ``>``, ``&`` as
HTML entities (Markdown renderers pass raw HTML through), and ``](`` so no string becomes a link.
Control and bidi-control characters are written as ``\\xNN`` / ``\\uNNNN`` escapes: the file is also
read in terminals (``cat``), where an escape sequence in a model name would act.

The summary has one row per model (ordered by coverage, then average rank, with an "Avg rank" column),
then the reference rows (labelled *reference (role)*, never ranked) and the paper's rows; the per-task
tables give seeds as a count with their ids ("3 seeds: 0, 1, 2") and the test views (frames x clips x
crops). A "Temporal minus static" section follows the summary when results cover a pair of
temporal / static subset tasks (``gaps.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..text_safety import printable
from .aggregate import Agg, Cell, Column, Leaderboard
from .html import CONTAMINATED_MARK, TIE_MARK, UNKNOWN_MARK, fmt, interval


if TYPE_CHECKING:
    from .gaps import Gap
    from .pretraining import RunCurves


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


def _summary_value(cell: Cell, col: Column) -> str:
    """The main metric with its interval; bold for the column's best, marks said once in the legend."""
    agg = cell.metrics.get(col.main_metric)
    if agg is None:
        return "–"
    text = fmt(agg.value)
    if cell.is_best and len(col.cells) > 1:
        text = f"**{text}**"
    if agg.has_interval:
        text += f" {interval(agg)}"
    if not cell.is_reference and cell.separation is not None:
        text += {False: f" {TIE_MARK}", None: f" {UNKNOWN_MARK}", True: ""}[cell.separation.separable]
    if cell.contaminated and not cell.is_reference:
        text += f" {CONTAMINATED_MARK}"
    return text


def _reference_label(cell_or_role: Cell | str, name: str) -> str:
    role = cell_or_role if isinstance(cell_or_role, str) else cell_or_role.reference_role
    return f"*reference ({md_escape(role)})*: {md_escape(name)}"


def render_markdown(lb: Leaderboard, runs: Sequence["RunCurves"] = ()) -> str:
    lines = ["# tvts-bench leaderboard", "",
             f"Generated {lb.generated_at} from {lb.n_files} result file(s). Values: mean over seeds with the "
             "95 % interval in brackets. Columns marked *[built-in world]* were measured on the generated "
             "stand-in data and are not comparable with the paper; rows marked *paper (reported)* are the "
             "paper's numbers on the real datasets, shown beside real-data columns only; rows marked "
             "*reference* are the world's calibration rows (chance, ceilings), never ranked.", ""]
    lines.append("## Summary")
    lines.append("")
    header = ["Model", "Avg rank"] + [f"{md_escape(c.key)} ({md_escape(c.main_metric)})" for c in lb.columns]
    rows = []
    for model in lb.models:
        rank = lb.ranks[model]
        average = fmt(rank.average) if rank.average is not None else "–"
        row = [md_escape(model), f"{average} ({rank.covered}/{rank.total})"]
        for col in lb.columns:
            cell = col.cell(model)
            row.append(_summary_value(cell, col) if cell is not None else "–")
        rows.append(row)
    roles = {c.model: c.reference_role for col in lb.columns for c in col.references}
    for name in lb.references:
        row = [_reference_label(roles[name] or "diagnostic", name), "–"]
        for col in lb.columns:
            cell = col.reference(name)
            row.append(_summary_value(cell, col) if cell is not None else "")
        rows.append(row)
    for paper_row, numbers in lb.paper_summary_rows():
        row = [f"*paper (reported)*: {md_escape(paper_row.label)}", ""]
        for col in lb.columns:
            n = numbers.get(col.key)
            row.append("" if n is None else (fmt(n.value) if n.value is not None else n.note) + f" (Table {n.table})")
        rows.append(row)
    lines += _table(header, rows)
    lines += ["", f"**Bold**: the best model in the column. {TIE_MARK}: not separable from the best (a paired "
              "bootstrap over the same test samples, 95 %; where either model has no per-sample file, overlapping "
              f"95 % intervals). {UNKNOWN_MARK}: cannot tell (no intervals). {CONTAMINATED_MARK}: contaminated "
              "(trained on the task's dataset). Avg rank: the mean of the model's ranks (1 = best, ties share) "
              f"over the tasks it has results on (of {lb.ranked_columns}); rows are ordered by coverage first, "
              "then average rank, so a missing result never lifts a model. Reference and paper rows are never "
              "ranked or best."]
    lines += _gap_section(lb)
    for col in lb.columns:
        lines += ["", f"## {md_escape(col.key)}", "",
                  f"Dataset {md_escape(col.dataset)}, protocol {md_escape(col.protocol)}, main metric "
                  f"{md_escape(col.main_metric)} ({'higher' if col.higher_is_better else 'lower'} is better). "
                  f"Shading scale: {md_escape(col.scale.text)}."]
        for note in col.notes:
            lines += ["", f"> {md_escape(note)}"]
        lines.append("")
        variants = col.variants
        header = (["Model", "Seeds", "Views"] + [md_escape(m) for m in col.metric_names]
                  + [f"{md_escape(col.main_metric)} ({md_escape(v)})" for v in variants] + ["Badges"])
        rows = [[_reference_label(c, c.model) if c.is_reference else md_escape(c.model), c.seeds_text,
                 c.views.short if c.views.known else "–"]
                + [_value(c.metrics.get(m)) for m in col.metric_names]
                + [_value(c.diagnostics.get(v, {}).get(col.main_metric)) for v in variants]
                + ["reference, not ranked" if c.is_reference else _badges(c, col)] for c in col.cells + col.references]
        for ref in col.paper:
            rows.append([f"*paper (reported)*: {md_escape(ref.row.label)}", "", ""]
                        + [("" if (n := ref.numbers.get(m)) is None else fmt(n.value) if n.value is not None
                            else n.note) for m in col.metric_names] + [""] * len(variants)
                        + [f"Table {', '.join(str(t) for t in ref.tables)}"
                           + (f"; corresponds to {', '.join(md_escape(m) for m in ref.models)}" if ref.models else "")])
        lines += _table(header, rows)
        separations = [c.separation for c in col.cells if c.separation is not None]
        if separations:
            lines.append("")
            lines += [f"- {md_escape(s.detail)}" for s in separations]
    if runs:
        lines += ["", "## Pretraining runs", "",
                  "Last logged values (train / validation); the curves are in the HTML report. Sort chance: "
                  "loss ln 4 = 1.386, accuracy 1/24 = 0.042.", ""]
        header = ["Run", "Objective", "Steps", "sort loss", "sort acc", "contrastive acc", "reconstruction"]
        lines += _table(header, [[md_escape(r.name), md_escape(r.objective or "–"), str(r.steps)]
                                 + [f"{_last(r, k, 'train')} / {_last(r, k, 'val')}"
                                    for k in ("l_sort", "sort_acc", "con_acc", "recon")] for r in runs])
    if lb.warnings:
        lines += ["", "## Skipped files and warnings", ""] + [f"- {md_escape(w)}" for w in lb.warnings]
    return "\n".join(lines) + "\n"


def _last(run: "RunCurves", metric: str, split: str) -> str:
    value = run.last(metric, split)
    return "–" if value is None else f"{value:.3f}"


def _gap_value(gap: "Gap | None") -> str:
    if gap is None:
        return "–"
    text = f"{gap.diff:+.1f}"
    if gap.has_interval:
        text += f" [{gap.low:+.1f}, {gap.high:+.1f}]"
    return text


def _gap_section(lb: Leaderboard) -> list[str]:
    """One table: a row per model, a column per (temporal, static) pair, then how each gap was made."""
    if not lb.gaps:
        return []
    lines = ["", "## Temporal minus static", "",
             "The main metric on a dataset's temporal classes minus its static classes (Sevilla-Lara et al., "
             "\"Only Time Can Tell\", WACV 2021): the less negative, the less a model loses on classes that need "
             "time. The subsets have different test samples, so the 95 % interval treats them as independent: "
             "a bootstrap of each subset's per-sample outcomes on its own, or, without per-sample files for both, "
             "the two recorded intervals combined (MOVER). Subsets with different class counts have different "
             "chance levels; the gap is not corrected for that.", ""]
    header = ["Model"] + [f"{md_escape(p.label)}{' [built-in world]' if p.builtin else ''} ({md_escape(p.metric)})"
                          for p in lb.gaps]
    models = [m for m in lb.models if any(p.gap(m) is not None for p in lb.gaps)]
    lines += _table(header, [[md_escape(m)] + [_gap_value(p.gap(m)) for p in lb.gaps] for m in models])
    lines.append("")
    for p in lb.gaps:
        for g in p.gaps:
            notes = "".join(f"; {md_escape(n)}" for n in g.notes)
            lines.append(f"- {md_escape(g.model)}, {md_escape(p.key)}: {fmt(g.temporal.value)} \u2212 "
                         f"{fmt(g.static.value)} = {g.diff:+.2f}; {md_escape(g.detail)}{notes}")
    return lines
