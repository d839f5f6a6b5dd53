"""Low-shot training subsets (``params.low_shot`` / ``params.shots``) and their two-way interval.

Subsets. ``low_shot: f`` keeps ``max(round(f * n_c), min(2, n_c))`` training videos of every class c
(the same fraction of every class; two at least where the class has two, so that the linear probe can
still hold one out to choose C); ``shots: s`` keeps ``min(s, n_c)``. Which videos: within each class
the videos are ordered by ``sha256("<subset seed>:<video id>")`` and the first ones are kept. So a
subset depends only on the video ids and its seed: every model (and every run seed) is scored on the
same subsets, a video that failed to decode for one model does not reshuffle the others, and for one
seed a smaller fraction is nested in a larger one. Subset i uses seed ``subset_seed + i``
(``params.subsets``, default 3; ``params.subset_seed``, default 0).

Interval. The number reported is the mean over subsets of the test accuracy. It varies with the
subset drawn as well as with the test sample, so the interval is a two-way bootstrap: every resample
draws the S subsets with replacement AND the N test samples with replacement, and takes the mean of
the outcome matrix ``[S, N]`` over the drawn rows and columns. With a single subset it is the usual
bootstrap over test samples. The per-subset values and their spread go into ``extra``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..result_schema import MetricValue
from ..stats import DEFAULT_LEVEL
from ._common import bootstrap_of

LOW_SHOT_RULE = ("class-balanced subsets of the train split: low_shot f keeps max(round(f * n_c), min(2, n_c)) "
                 "videos of class c, shots s keeps min(s, n_c); within a class, videos ordered by "
                 "sha256('<seed>:<video id>'); subset i uses seed subset_seed + i")
INTERVAL_RULE = ("two-way percentile bootstrap: each resample draws the subsets with replacement and the "
                 "test samples with replacement; the value is the mean over subsets of the test accuracy")


@dataclass(frozen=True)
class LowShot:
    fraction: float | None
    shots: int | None
    subsets: int
    subset_seed: int

    @property
    def label(self) -> str:
        return f"{self.shots} per class" if self.shots is not None else f"{100 * self.fraction:g} % per class"

    def seeds(self) -> list[int]:
        return [self.subset_seed + i for i in range(self.subsets)]


def low_shot_of(params) -> LowShot | None:
    """The task's low-shot setting (typed parameters, checked when the card loaded), or None for the
    whole train split."""
    if params.low_shot is None and params.shots is None:
        return None
    return LowShot(params.low_shot, params.shots, params.subsets, params.subset_seed)


def _order_key(seed: int, video_id: str) -> bytes:
    return hashlib.sha256(f"{seed}:{video_id}".encode()).digest()


def balanced_subset(labels: np.ndarray, video_ids: list[str], *, seed: int, fraction: float | None = None,
                    shots: int | None = None) -> np.ndarray:
    """Sorted indices of a class-balanced subset (rule in the module docstring)."""
    if (fraction is None) == (shots is None):
        raise ValueError("give exactly one of fraction and shots")
    labels = np.asarray(labels)
    keep: list[int] = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n_c = len(idx)
        take = min(shots, n_c) if shots is not None else max(int(round(fraction * n_c)), min(2, n_c))
        ordered = sorted(idx.tolist(), key=lambda i: _order_key(seed, video_ids[i]))
        keep.extend(ordered[:take])
    return np.asarray(sorted(keep), dtype=np.int64)


def subset_info(labels: np.ndarray, idx: np.ndarray, seed: int) -> dict:
    counts = np.bincount(np.asarray(labels)[idx]) if len(idx) else np.zeros(0, dtype=np.int64)
    present = counts[counts > 0]
    return {"subset_seed": seed, "train_samples": int(len(idx)),
            "per_class_min": int(present.min()) if present.size else 0,
            "per_class_max": int(present.max()) if present.size else 0}


def two_way_value(outcomes: np.ndarray, ctx, *, salt: int = 0, scale: float = 100.0,
                  level: float = DEFAULT_LEVEL) -> MetricValue:
    """Mean of ``outcomes [S, N]`` (S subsets x N test samples) with the two-way bootstrap interval."""
    x = np.asarray(outcomes, dtype=np.float64)
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"outcomes must be a non-empty [subsets, samples] matrix; got shape {x.shape}")
    s, n = x.shape
    value = scale * float(x.mean())
    reps = bootstrap_of(ctx)
    if reps <= 0:
        return MetricValue(value=value, n=n)
    rng = np.random.default_rng(ctx.seed * 1000 + salt)
    dist = np.empty(reps)
    chunk = max(1, (4 << 20) // max(1, n))
    for start in range(0, reps, chunk):
        r = min(chunk, reps - start)
        # a resample of subsets is a weight per subset (how often it was drawn) ...
        weights = np.stack([np.bincount(rng.integers(0, s, size=s), minlength=s) for _ in range(r)]) / s
        per_sample = weights @ x                                            # [r, N]
        # ... and a resample of test samples a draw of columns
        cols = rng.integers(0, n, size=(r, n))
        dist[start:start + r] = scale * np.take_along_axis(per_sample, cols, axis=1).mean(axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(dist, [alpha, 1.0 - alpha])
    return MetricValue(value=value, ci_low=float(min(lo, value)), ci_high=float(max(hi, value)),
                       ci_level=level, n=n)


def spread(values: list[float]) -> dict:
    v = np.asarray(values, dtype=np.float64)
    return {"per_subset": [float(x) for x in v], "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max())}
