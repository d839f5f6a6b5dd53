"""Bootstrap confidence intervals and paired bootstrap tests over per-query / per-sample outcomes.

A metric is a *statistic* of per-query outcomes (R@K = mean of 0/1 hits, MedR = median of ranks + 1,
top-1 = mean of 0/1 correctness). Resampling queries with replacement and recomputing the statistic
gives its sampling distribution; the percentile interval is reported beside every number.

Statistics are vectorised: a statistic maps an array ``[R, N]`` (R resamples of N outcomes) to ``[R]``.
Resamples are drawn in chunks so memory stays ~ 32 MB whatever N is. Everything is seeded: the same
outcomes and seed give the same interval on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .result_schema import MetricValue

Statistic = Callable[[np.ndarray], np.ndarray]
DEFAULT_RESAMPLES = 1000
DEFAULT_LEVEL = 0.95


def mean_stat(scale: float = 1.0, offset: float = 0.0) -> Statistic:
    """scale * mean + offset along the last axis (R@K: scale 100 on 0/1 hits; MeanR: offset 1 on ranks)."""
    return lambda a: scale * np.nanmean(a, axis=-1) + offset


def median_stat(offset: float = 0.0) -> Statistic:
    return lambda a: np.median(a, axis=-1) + offset


def below_stat(k: int, scale: float = 100.0) -> Statistic:
    """R@K from 0-based ranks: scale * mean(rank < k)."""
    return lambda a: scale * np.mean(a < k, axis=-1)


# How a metric is made from its per-sample outcomes (``protocol_spec.MetricSpec.statistic``): the
# protocols compute every metric and its interval with these, and the report recomputes the same
# statistic from the side file, so both read one definition.
STATISTICS: dict[str, Statistic] = {
    "percent": mean_stat(100.0),    # outcomes in [0, 1] (a hit, a correct answer, an AP): 100 x mean
    "mean": mean_stat(),            # outcomes in the metric's own unit (MeanR: 1-based ranks)
    "median": median_stat(),        # MedR: the median of 1-based ranks
}


def statistic_of(kind: str) -> Statistic:
    try:
        return STATISTICS[kind]
    except KeyError:
        raise ValueError(f"unknown statistic {kind!r}; known: {', '.join(STATISTICS)}") from None


def _resample_indices(rng: np.random.Generator, n: int, reps: int) -> np.ndarray:
    return rng.integers(0, n, size=(reps, n))


def _chunks(n: int, total: int) -> list[int]:
    per = max(1, (4 << 20) // max(1, n))            # 4M indices (32 MB of int64) per chunk
    sizes = [per] * (total // per)
    if total % per:
        sizes.append(total % per)
    return sizes


def _cluster_members(clusters: np.ndarray) -> list[np.ndarray]:
    """Indices of each cluster's outcomes, clusters in order of first appearance."""
    _, first, inverse = np.unique(np.asarray(clusters), return_index=True, return_inverse=True)
    order = np.argsort(first)                          # cluster rank by first appearance
    members = [np.flatnonzero(inverse == c) for c in order]
    return members


def bootstrap_distribution(outcomes: np.ndarray, statistic: Statistic, *, n_resamples: int = DEFAULT_RESAMPLES,
                           seed: int = 0, clusters: np.ndarray | None = None) -> np.ndarray:
    """The statistic on ``n_resamples`` resamples (with replacement) of the outcomes (axis 0).

    With ``clusters`` (one id per outcome), whole clusters are resampled: outcomes that share an id
    (all captions of one video) are not independent, and resampling them one by one would give an
    interval that is too narrow."""
    x = np.asarray(outcomes, dtype=np.float64)
    n = x.shape[0]
    if n == 0:
        return np.full(n_resamples, np.nan)
    rng = np.random.default_rng(seed)
    if clusters is not None:
        if len(clusters) != n:
            raise ValueError(f"clusters must give one id per outcome; got {len(clusters)} for {n}")
        members = _cluster_members(clusters)
        if len(members) < n:
            picks = rng.integers(0, len(members), size=(n_resamples, len(members)))
            return np.asarray([statistic(x[np.concatenate([members[c] for c in row])][None, :])[0]
                               for row in picks])
    parts = [statistic(x[_resample_indices(rng, n, reps)]) for reps in _chunks(n, n_resamples)]
    return np.concatenate(parts)


def bootstrap_ci(outcomes: np.ndarray, statistic: Statistic = mean_stat(), *,
                 n_resamples: int = DEFAULT_RESAMPLES, level: float = DEFAULT_LEVEL,
                 seed: int = 0, clusters: np.ndarray | None = None) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(outcomes)`` at ``level`` (e.g. 0.95)."""
    dist = bootstrap_distribution(outcomes, statistic, n_resamples=n_resamples, seed=seed, clusters=clusters)
    if np.all(np.isnan(dist)):
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(dist, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def metric_value(outcomes: np.ndarray, statistic: Statistic = mean_stat(), *,
                 n_resamples: int = DEFAULT_RESAMPLES, level: float = DEFAULT_LEVEL, seed: int = 0,
                 clusters: np.ndarray | None = None) -> MetricValue:
    """The point estimate (statistic on all outcomes) with its bootstrap interval, as a MetricValue."""
    x = np.asarray(outcomes, dtype=np.float64)
    value = float(statistic(x[None, :])[0]) if x.size else float("nan")
    lo, hi = bootstrap_ci(x, statistic, n_resamples=n_resamples, level=level, seed=seed, clusters=clusters)
    # the percentile interval of a skewed statistic (a median of few ranks) can miss the point
    # estimate by a hair; widen it so that the interval always contains the reported value.
    if not np.isnan(value) and not np.isnan(lo):
        lo, hi = min(lo, value), max(hi, value)
    return MetricValue(value=value, ci_low=lo, ci_high=hi, ci_level=level, n=int(x.shape[0]))


@dataclass(frozen=True)
class PairedTest:
    """Model A minus model B on the same samples."""

    difference: float        # statistic(A) - statistic(B) on all samples
    ci_low: float            # percentile interval of the difference
    ci_high: float
    p_value: float           # two-sided bootstrap p-value for "no difference"
    level: float
    n: int

    @property
    def separable(self) -> bool:
        """True when the interval of the difference excludes 0 (the leaderboard's badge is the negation)."""
        return bool(self.ci_low > 0.0 or self.ci_high < 0.0)


def paired_bootstrap(outcomes_a: np.ndarray, outcomes_b: np.ndarray, statistic: Statistic = mean_stat(), *,
                     n_resamples: int = DEFAULT_RESAMPLES, level: float = DEFAULT_LEVEL,
                     seed: int = 0, clusters: np.ndarray | None = None) -> PairedTest:
    """Paired bootstrap of statistic(A) - statistic(B): the SAME resampled indices for both models.

    ``outcomes_a[i]`` and ``outcomes_b[i]`` must belong to the same query/sample; ``clusters`` (one id
    per sample) resamples whole clusters, as ``bootstrap_distribution`` does. The p-value is the
    two-sided share of resampled differences on the other side of 0 (doubled, capped at 1); identical
    models give difference 0, interval [0, 0], p = 1: not separable.
    """
    a = np.asarray(outcomes_a, dtype=np.float64)
    b = np.asarray(outcomes_b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired outcomes must have the same shape; got {a.shape} and {b.shape}")
    n = a.shape[0]
    diff = float(statistic(a[None, :])[0] - statistic(b[None, :])[0]) if n else float("nan")
    if n == 0:
        return PairedTest(diff, float("nan"), float("nan"), 1.0, level, 0)
    rng = np.random.default_rng(seed)
    members = _cluster_members(clusters) if clusters is not None else None
    if members is not None and len(members) < n:
        # whole clusters (all captions of a video) move together, for both models alike
        picks = rng.integers(0, len(members), size=(n_resamples, len(members)))
        d = np.empty(n_resamples)
        for r, row in enumerate(picks):
            idx = np.concatenate([members[c] for c in row])[None, :]
            d[r] = statistic(a[idx])[0] - statistic(b[idx])[0]
    else:
        parts = []
        for reps in _chunks(n, n_resamples):
            idx = _resample_indices(rng, n, reps)
            parts.append(statistic(a[idx]) - statistic(b[idx]))
        d = np.concatenate(parts)
    alpha = (1.0 - level) / 2.0
    lo, hi = (float(v) for v in np.quantile(d, [alpha, 1.0 - alpha]))
    p = float(min(1.0, 2.0 * min(np.mean(d <= 0.0), np.mean(d >= 0.0))))
    return PairedTest(diff, lo, hi, p, level, n)
