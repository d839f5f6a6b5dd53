"""Which frames of a video a clip uses. Pure functions of the frame count, the clip shape and an rng.

Every function returns sorted (non-decreasing) int64 indices within ``[0, n_total)``. Repeats happen
only when the video has fewer frames than the clip needs. ``rng`` is a ``numpy.random.Generator``, an
int seed, or None (fresh entropy; only sensible in training). Test-mode sampling never uses it.

- TSN (Wang et al. 2016; TVTS, VideoMAE on SSV2): split the video into ``m`` equal segments and take one
  frame per segment, a random one in training, the centre one in testing.
- Dense (Kinetics style): ``m`` frames ``stride`` apart, from a random start in training, centred in
  testing. A video shorter than the clip's span is covered evenly instead (stride shrinks), so frames
  are never padded by repeating the last one while earlier ones are unused.
- Multi-view (testing): ``clips`` temporal views spread evenly (TSN: shifted offsets inside each segment;
  dense: clip starts evenly spaced from the first to the last possible start).
- Span (pretraining): TSN over the frames of a time span ``[start_s, end_s]`` (TVTS: ``[S_1, E_K]``).
"""

from __future__ import annotations

import math

import numpy as np

RngLike = np.random.Generator | int | None


def as_rng(rng: RngLike) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _check(n_total: int, m: int) -> None:
    if n_total < 1:
        raise ValueError(f"cannot sample from a video with {n_total} frames")
    if m < 1:
        raise ValueError(f"a clip needs at least one frame, got m={m}")


def _tsn_at(n_total: int, m: int, offsets: np.ndarray) -> np.ndarray:
    """Frame at relative position ``offsets[k]`` in [0, 1) of segment k, for segments of n/m frames."""
    seg = n_total / m
    idx = np.floor((np.arange(m) + offsets) * seg).astype(np.int64)
    return np.clip(idx, 0, n_total - 1)


def tsn_indices(n_total: int, m: int, *, train: bool, rng: RngLike = None) -> np.ndarray:
    """One frame from each of ``m`` equal segments: random (train) or the segment centre (test)."""
    _check(n_total, m)
    if not train:
        return _tsn_at(n_total, m, np.full(m, 0.5))
    seg = n_total / m
    if seg < 1:
        # Fewer frames than segments: every segment holds at most one frame, so there is nothing to draw.
        return _tsn_at(n_total, m, np.full(m, 0.5))
    gen = as_rng(rng)
    starts = np.floor(np.arange(m) * seg).astype(np.int64)
    stops = np.floor((np.arange(m) + 1) * seg).astype(np.int64)   # exclusive, > start since seg >= 1
    idx = starts + np.floor(gen.random(m) * (stops - starts)).astype(np.int64)
    return np.clip(idx, 0, n_total - 1)


def dense_indices(n_total: int, m: int, stride: int, *, train: bool, rng: RngLike = None) -> np.ndarray:
    """``m`` frames ``stride`` apart; random start (train) or centred (test)."""
    _check(n_total, m)
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    span = (m - 1) * stride + 1
    if span > n_total:
        # Too short for this stride: spread the m frames over the whole video instead.
        return tsn_indices(n_total, m, train=train, rng=rng)
    max_start = n_total - span
    if train:
        start = int(as_rng(rng).integers(0, max_start + 1))
    else:
        start = max_start // 2
    return start + stride * np.arange(m, dtype=np.int64)


def multiview_indices(n_total: int, m: int, clips: int, mode: str = "tsn",
                      stride: int | None = None) -> np.ndarray:
    """Test-time temporal views: ``[clips, m]`` indices, each row sorted, views spread evenly.

    TSN: view c takes the frame at relative position (c + 0.5) / clips inside every segment (clips=1 is
    the centre frame). Dense: view starts evenly spaced over all valid starts (clips=1 is centred).
    """
    _check(n_total, m)
    if clips < 1:
        raise ValueError(f"clips must be >= 1, got {clips}")
    if mode == "tsn":
        return np.stack([_tsn_at(n_total, m, np.full(m, (c + 0.5) / clips)) for c in range(clips)])
    if mode != "dense":
        raise ValueError(f"unknown sampling mode {mode!r} (use 'tsn' or 'dense')")
    if stride is None or stride < 1:
        raise ValueError("dense sampling needs a stride >= 1")
    span = (m - 1) * stride + 1
    if span > n_total:
        return multiview_indices(n_total, m, clips, mode="tsn")
    max_start = n_total - span
    if clips == 1:
        starts = [max_start // 2]
    else:
        starts = [int(round(max_start * c / (clips - 1))) for c in range(clips)]
    return np.stack([s + stride * np.arange(m, dtype=np.int64) for s in starts])


def span_frames(fps: float, n_total: int, start_s: float, end_s: float) -> tuple[int, int]:
    """The frame range ``[first, stop)`` covering the time span, clamped to the video (at least one frame)."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if n_total < 1:
        raise ValueError(f"cannot sample from a video with {n_total} frames")
    first = min(max(int(math.floor(start_s * fps)), 0), n_total - 1)
    stop = min(max(int(math.ceil(end_s * fps)), first + 1), n_total)
    return first, stop


def span_indices(fps: float, n_total: int, start_s: float, end_s: float, m: int, *, train: bool,
                 rng: RngLike = None) -> np.ndarray:
    """TSN sampling of ``m`` frames inside the time span ``[start_s, end_s]`` seconds."""
    first, stop = span_frames(fps, n_total, start_s, end_s)
    return first + tsn_indices(stop - first, m, train=train, rng=rng)


def clip_indices(n_total: int, m: int, *, train: bool, mode: str = "tsn", stride: int | None = None,
                 clips: int = 1, rng: RngLike = None) -> np.ndarray:
    """``[clips, m]`` indices: one random clip per view when training, evenly spread views in testing."""
    if train:
        gen = as_rng(rng)
        rows = []
        for _ in range(clips):
            if mode == "tsn":
                rows.append(tsn_indices(n_total, m, train=True, rng=gen))
            elif mode == "dense":
                if stride is None:
                    raise ValueError("dense sampling needs a stride >= 1")
                rows.append(dense_indices(n_total, m, stride, train=True, rng=gen))
            else:
                raise ValueError(f"unknown sampling mode {mode!r} (use 'tsn' or 'dense')")
        return np.stack(rows)
    return multiview_indices(n_total, m, clips, mode=mode, stride=stride)
