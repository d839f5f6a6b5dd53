"""Paired bootstrap for 'can these two models be told apart on this test set?'

Both models were scored on the same test samples, so resampling the SAMPLES (not each model's scores
independently) keeps the pairing and gives a much tighter interval on the difference than comparing two
separate intervals. The report uses this when both models have per-sample side files, and falls back
to interval overlap otherwise (and says which rule it used).

The benchmark's own ``tvts_bench.bench.stats.paired_bootstrap`` is used when it is importable, so the
report and the result files agree on one implementation; the small one here is the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Statistic = Literal["mean", "median"]
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
    implementation: str = "tvts_bench.report.bootstrap"

    @property
    def separable(self) -> bool:
        """True when the interval on the difference excludes zero."""
        return bool(self.low > 0 or self.high < 0)


def _stat(values: np.ndarray, statistic: Statistic, axis: int | None = None) -> np.ndarray:
    return np.mean(values, axis=axis) if statistic == "mean" else np.median(values, axis=axis)


def _own_paired_bootstrap(a: np.ndarray, b: np.ndarray, statistic: Statistic, n_boot: int, level: float,
                          seed: int, chunk: int = 250) -> PairedDiff:
    rng = np.random.default_rng(seed)
    n = a.size
    diffs = np.empty(n_boot)
    # Chunks bound memory: one index matrix of chunk x n at a time (n can be ~25k queries).
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(size, n))
        diffs[start:start + size] = _stat(a[idx], statistic, axis=1) - _stat(b[idx], statistic, axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(diffs, [tail, 100.0 - tail])
    p = float(min(1.0, 2.0 * min(np.mean(diffs <= 0.0), np.mean(diffs >= 0.0))))
    return PairedDiff(float(_stat(a, statistic) - _stat(b, statistic)), float(low), float(high),
                      level, n, n_boot, p)


def paired_bootstrap(a: np.ndarray, b: np.ndarray, *, statistic: Statistic = "mean", n_boot: int = N_RESAMPLES,
                     level: float = LEVEL, seed: int = 0, use_bench: bool = True) -> PairedDiff:
    """Bootstrap the difference ``statistic(a) - statistic(b)`` over paired samples ``a[i], b[i]``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"paired samples must be equal-length non-empty vectors, got {a.shape} and {b.shape}")
    if use_bench:
        try:
            from tvts_bench.bench import stats as bench_stats
        except ImportError:
            bench_stats = None
        fn = getattr(bench_stats, "paired_bootstrap", None)
        if fn is not None:
            stat_fn = bench_stats.mean_stat() if statistic == "mean" else bench_stats.median_stat()
            t = fn(a, b, stat_fn, n_resamples=n_boot, level=level, seed=seed)
            return PairedDiff(float(t.difference), float(t.ci_low), float(t.ci_high), float(t.level), int(t.n),
                              n_boot, float(t.p_value), "tvts_bench.bench.stats")
    return _own_paired_bootstrap(a, b, statistic, n_boot, level, seed)
