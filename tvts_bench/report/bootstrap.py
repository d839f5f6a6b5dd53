"""Paired bootstrap for 'can these two models be told apart on this test set?'

Both models were scored on the same test samples, so resampling the SAMPLES (not each model's scores
independently) keeps the pairing and gives a much tighter interval on the difference than comparing two
separate intervals. The report uses this when both models have per-sample side files, and falls back
to interval overlap otherwise (and says which rule it used).

The computation is the benchmark's own ``tvts_bench.bench.stats.paired_bootstrap``, so the report and
the result files agree on one implementation; this module adapts it to the report's view.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from ..bench import stats as bench_stats
from ..bench.protocol_spec import StatisticKind as Statistic   # "percent" | "mean" | "median"
N_RESAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class PairedDiff:
    diff: float            # statistic(a) - statistic(b) on the full sample
    low: float             # percentile interval of the difference
    high: float
    level: float
    n: int                 # paired samples
    n_boot: int
    p_value: float | None = None

    @property
    def separable(self) -> bool:
        """True when the interval on the difference excludes zero."""
        return bool(self.low > 0 or self.high < 0)


def paired_bootstrap(a: np.ndarray, b: np.ndarray, *, statistic: Statistic = "mean", n_boot: int = N_RESAMPLES,
                     level: float = LEVEL, seed: int = 0, clusters: np.ndarray | None = None) -> PairedDiff:
    """Bootstrap the difference ``statistic(a) - statistic(b)`` over paired samples ``a[i], b[i]``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"paired samples must be equal-length non-empty vectors, got {a.shape} and {b.shape}")
    stat_fn = bench_stats.statistic_of(statistic)
    t = bench_stats.paired_bootstrap(a, b, stat_fn, n_resamples=n_boot, level=level, seed=seed, clusters=clusters)
    return PairedDiff(float(t.difference), float(t.ci_low), float(t.ci_high), float(t.level), int(t.n),
                      n_boot, float(t.p_value))


def paired_bootstrap_all(outcomes: list[np.ndarray], *, statistic: Statistic = "mean", n_boot: int = N_RESAMPLES,
                         level: float = LEVEL, seed: int = 0) -> dict[tuple[int, int], PairedDiff]:
    """``paired_bootstrap(outcomes[i], outcomes[j])`` for every pair ``i < j`` of models scored on the
    same samples (same order), with each model's statistic computed once per resample instead of once
    per pair.

    The resamples are drawn exactly as ``tvts_bench.bench.stats.paired_bootstrap`` draws them (the same
    generator, seed and chunks), so every result equals the one-pair function's to the last bit; only the
    cost changes, from one pass over the resamples per pair to one per model. Without clusters only
    (clustered samples go through ``paired_bootstrap`` one pair at a time)."""
    xs = [np.asarray(x, dtype=np.float64) for x in outcomes]
    if not xs:
        return {}
    n = xs[0].shape[0]
    if any(x.ndim != 1 or x.shape[0] != n for x in xs) or n == 0:
        raise ValueError("paired samples must be equal-length non-empty vectors")
    stat_fn = bench_stats.statistic_of(statistic)
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in xs]
    for reps in bench_stats._chunks(n, n_boot):
        idx = bench_stats._resample_indices(rng, n, reps)
        for k, x in enumerate(xs):
            parts[k].append(stat_fn(x[idx]))
    dists = [np.concatenate(p) for p in parts]
    full = [float(stat_fn(x[None, :])[0]) for x in xs]
    alpha = (1.0 - level) / 2.0
    out: dict[tuple[int, int], PairedDiff] = {}
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            d = dists[i] - dists[j]
            lo, hi = (float(v) for v in np.quantile(d, [alpha, 1.0 - alpha]))
            p = float(min(1.0, 2.0 * min(np.mean(d <= 0.0), np.mean(d >= 0.0))))
            out[(i, j)] = PairedDiff(full[i] - full[j], lo, hi, level, n, n_boot, p)
    return out
