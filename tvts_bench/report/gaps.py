"""The temporal-minus-static gap: how much a model loses on classes that need time.

Sevilla-Lara et al. ("Only Time Can Tell", WACV 2021) split SSV2 and Kinetics-400 into classes that
need temporal information and classes recognised from appearance; a model that reads motion loses less
on the temporal subset. The report pairs the two subsets' columns and shows, per model, the gap on the
main metric.

Pairs: two columns of one data source, dataset, protocol and main metric whose task names differ only
in one dash-separated part, ``temporal<N>`` in one and ``static<M>`` in the other
(``k400-linear-temporal32`` / ``k400-linear-static32``; ``ssv2-linear-temporal18`` /
``ssv2-linear-static16``: the counts may differ). A model with a result in both columns gets a gap;
reference rows get none. Across datasets there is no gap: it would mix the temporal effect with the
datasets' difficulty.

The gap is temporal minus static, each the column's value (the mean over seeds). The two subsets have
different test samples, so there is no pairing to exploit, and the interval treats them as independent:

- ``independent bootstrap``: where both results have usable per-sample side files, each subset's
  per-sample outcomes (averaged over seeds, as for the paired test) are resampled on their own
  (``N_RESAMPLES`` times, whole clusters where samples come in clusters) and the percentile interval
  of statistic(temporal*) - statistic(static*) is taken. Where either side averages several draws
  (more than one seed, or low-shot training subsets), it is widened to the interval combination below
  where that is wider: the recorded intervals carry that variation, the seed-averaged per-sample
  outcomes do not.
- ``interval combination``: otherwise, the two recorded intervals combined by MOVER (Zou & Donner,
  "Construction of confidence limits about effect measures", Statistics in Medicine 2008): with
  values t, s and intervals [lt, ut], [ls, us], the gap's interval is
  [t - s - sqrt((t - lt)^2 + (us - s)^2), t - s + sqrt((ut - t)^2 + (s - ls)^2)], the usual
  difference of two independent estimates (exact for symmetric normal intervals).
- ``none``: one side has no interval; the gap is shown without one.

The subsets' chance levels differ when their class counts do (1/C): a gap between subsets of 18 and
16 classes is not corrected for that, and the report says so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..bench import stats as bench_stats
from .aggregate import Agg, Cell, Column, cell_outcomes
from .bootstrap import LEVEL, N_RESAMPLES

TEMPORAL, STATIC = "temporal", "static"
_PART = re.compile(r"(temporal|static)(\d*)")
BOOTSTRAP = "independent bootstrap"
COMBINED = "interval combination"
NONE = "none"


def _subset(task: str) -> tuple[str, str, str] | None:
    """(kind, count, the task name with that part as ``{}``) for a task with one temporal/static part."""
    parts = task.split("-")
    found = [(i, m) for i, p in enumerate(parts) if (m := _PART.fullmatch(p))]
    if len(found) != 1:
        return None
    i, m = found[0]
    return m.group(1), m.group(2), "-".join(parts[:i] + ["{}"] + parts[i + 1:])


@dataclass
class Gap:
    """One model's temporal minus static value on one pair of columns."""

    model: str
    temporal: Agg
    static: Agg
    diff: float
    low: float | None
    high: float | None
    rule: str                       # BOOTSTRAP | COMBINED | NONE
    detail: str
    notes: list[str] = field(default_factory=list)

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def separable(self) -> bool | None:
        """Whether the interval excludes zero (None: no interval)."""
        if not self.has_interval:
            return None
        return bool(self.low > 0 or self.high < 0)  # type: ignore[operator]


@dataclass
class SubsetPair:
    """A temporal column and the static column of the same dataset, protocol and data source."""

    temporal: Column
    static: Column
    gaps: list[Gap]                 # one per model with a result on both, in the leaderboard's model order

    @property
    def source(self) -> str:
        return self.temporal.source

    @property
    def builtin(self) -> bool:
        return self.temporal.builtin

    @property
    def metric(self) -> str:
        return self.temporal.main_metric

    @property
    def key(self) -> str:
        return f"{self.temporal.key} minus {self.static.key}"

    @property
    def label(self) -> str:
        """``k400-linear: temporal32 - static32`` (the shared name, then the two parts)."""
        t, s = _subset(self.temporal.task), _subset(self.static.task)
        assert t is not None and s is not None
        stem = t[2].replace("-{}", "").replace("{}-", "").replace("{}", "")
        return f"{stem}: {t[0]}{t[1]} \u2212 {s[0]}{s[1]}"

    def gap(self, model: str) -> Gap | None:
        return next((g for g in self.gaps if g.model == model), None)


def subset_columns(columns: list[Column]) -> list[tuple[Column, Column]]:
    """(temporal, static) column pairs under the module docstring's rule, in column order."""
    statics: dict[tuple, list[Column]] = {}
    for col in columns:
        found = _subset(col.task)
        if found is not None and found[0] == STATIC:
            statics.setdefault((col.source, col.dataset, col.protocol, col.main_metric, found[2]), []).append(col)
    pairs = []
    for col in columns:
        found = _subset(col.task)
        if found is not None and found[0] == TEMPORAL:
            for other in statics.get((col.source, col.dataset, col.protocol, col.main_metric, found[2]), []):
                pairs.append((col, other))
    return pairs


def _mover(t: Agg, s: Agg) -> tuple[float, float] | None:
    """The MOVER interval of ``t - s`` from the two intervals (module docstring), None without both."""
    bounds = (t.ci_low, t.ci_high, s.ci_low, s.ci_high)
    if any(b is None or not math.isfinite(b) for b in bounds) or not math.isfinite(t.value - s.value):
        return None
    lt, ut, ls, us = bounds  # type: ignore[misc]
    d = t.value - s.value
    return (d - math.hypot(t.value - lt, us - s.value), d + math.hypot(ut - t.value, s.value - ls))


def _bootstrap(t_cell: Cell, s_cell: Cell, metric: str, warnings: list[str],
               n_resamples: int = N_RESAMPLES) -> tuple[float, float, int, int] | None:
    """The percentile interval of statistic(T*) - statistic(S*), T and S resampled independently."""
    a, b = cell_outcomes(t_cell, metric, warnings), cell_outcomes(s_cell, metric, warnings)
    if a is None or b is None or not a.values or not b.values or a.statistic != b.statistic:
        return None
    statistic = bench_stats.statistic_of(a.statistic)
    dists = []
    for seed, o in enumerate((a, b)):
        keys = list(o.values)
        clusters = (np.array([o.clusters[k] for k in keys])
                    if o.clusters is not None and all(k in o.clusters for k in keys) else None)
        # different seeds: the two subsets' resamples are independent draws
        dists.append(bench_stats.bootstrap_distribution(np.array([o.values[k] for k in keys]), statistic,
                                                        n_resamples=n_resamples, seed=seed, clusters=clusters))
    d = dists[0] - dists[1]
    if not np.isfinite(d).any():
        return None
    alpha = (1.0 - LEVEL) / 2.0
    lo, hi = (float(v) for v in np.nanquantile(d, [alpha, 1.0 - alpha]))
    return lo, hi, len(a.values), len(b.values)


def _several_draws(cell: Cell) -> bool:
    """Whether the cell's value averages draws its per-sample outcomes hide: seeds, low-shot subsets."""
    if len(cell.results) > 1:
        return True
    for r in cell.results:
        params = r.record.task.card.get("params")
        if isinstance(params, dict) and (params.get("low_shot") is not None or params.get("shots") is not None):
            return True
    return False


def model_gap(t_cell: Cell, s_cell: Cell, metric: str, warnings: list[str]) -> Gap | None:
    """``t_cell`` minus ``s_cell`` on ``metric`` with its interval (rules in the module docstring)."""
    t, s = t_cell.metrics.get(metric), s_cell.metrics.get(metric)
    if t is None or s is None or not (math.isfinite(t.value) and math.isfinite(s.value)):
        return None
    diff = t.value - s.value
    mover = _mover(t, s)
    boot = _bootstrap(t_cell, s_cell, metric, warnings)
    notes = []
    if t_cell.info.weights_hash != s_cell.info.weights_hash:
        notes.append("the two results were made with different weights (weights hashes differ)")
    if t_cell.views != s_cell.views and t_cell.views.known and s_cell.views.known:
        notes.append(f"the two results used different views ({t_cell.views.short} vs {s_cell.views.short})")
    level = f"{LEVEL:.0%}"
    if boot is not None:
        lo, hi, nt, ns = boot
        detail = (f"{level} independent bootstrap of the two subsets' per-sample outcomes ({nt} and {ns} test "
                  f"samples, {N_RESAMPLES} resamples each)")
        if mover is not None and (_several_draws(t_cell) or _several_draws(s_cell)) and \
                (mover[0] < lo or mover[1] > hi):
            lo, hi = min(lo, mover[0]), max(hi, mover[1])
            detail += (", widened to the combination of the two recorded intervals (MOVER), which carry the "
                       "variation over seeds or low-shot subsets")
        # a percentile interval of a skewed statistic can miss the point estimate by a hair
        low, high, rule = min(lo, diff), max(hi, diff), BOOTSTRAP
    elif mover is not None:
        (low, high), rule = mover, COMBINED
        detail = (f"the two {level} intervals combined as independent estimates (MOVER), as no per-sample "
                  "files are usable for both")
    else:
        low = high = None
        rule, detail = NONE, "no interval: a result records none"
    return Gap(t_cell.model, t, s, diff, low, high, rule, detail, notes)


def temporal_gaps(columns: list[Column], models: list[str], warnings: list[str]) -> list[SubsetPair]:
    """Every (temporal, static) pair of columns with the gap of each model that has both results."""
    out = []
    for t_col, s_col in subset_columns(columns):
        gaps = []
        for model in models:
            t_cell, s_cell = t_col.cell(model), s_col.cell(model)
            if t_cell is not None and s_cell is not None:
                gap = model_gap(t_cell, s_cell, t_col.main_metric, warnings)
                if gap is not None:
                    gaps.append(gap)
        if gaps:
            out.append(SubsetPair(t_col, s_col, gaps))
    return out
