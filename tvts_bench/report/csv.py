"""Render a Leaderboard as a long-format CSV for scripts.

Columns: model, task, source, metric, value, ci_low, ci_high, n_seeds, then seeds, kind, role, rank,
avg_rank, tasks_ranked, tasks_total. ``source`` is ``builtin``, ``real`` or ``paper`` (the paper's
reported numbers, for real-data tasks that have results); diagnostics appear as metric
``<variant>:<metric>`` (e.g. ``shuffled:top1``). ``seeds`` lists the seed ids (``0 1 2``; ``n_seeds`` is
their count); ``kind`` is ``model``, ``reference`` (the world's calibration rows: chance, ceilings; their
``role`` is floor, ceiling or diagnostic; never ranked) or ``paper``; ``rank`` is the model's rank in the
column (on its main-metric row); ``avg_rank`` its average rank over the ``tasks_ranked`` columns it has
results on, of ``tasks_total`` (the same on every row of the model, as in the summary). Rows of
``kind`` ``gap`` give each model's temporal-minus-static gap (``report/gaps.py``): task ``<temporal
task> minus <static task>``, metric ``gap:<main metric>``, ``role`` the rule behind the interval
(``independent bootstrap``, ``interval combination`` or ``none``).

Text cells are written as spreadsheets show text: one starting with ``=``, ``+``, ``-`` or ``@`` gets a
leading ``'`` (a model named ``=HYPERLINK(...)`` must not run as a formula), numbers stay numbers, and
control characters are written as ``\\xNN`` escapes (see ``tvts_bench.text_safety``).
"""

from __future__ import annotations

import csv
import io
import math

from ..text_safety import spreadsheet_cell
from .aggregate import LONG_FIELDS, Leaderboard, long_rows


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.6g}"
    if isinstance(value, str):
        return spreadsheet_cell(value)
    return value


def render_csv(lb: Leaderboard) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(LONG_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in long_rows(lb):
        writer.writerow({k: _cell(row[k]) for k in LONG_FIELDS})
    return buf.getvalue()
