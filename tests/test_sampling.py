"""Frame sampling: bounds, order, TSN segment rules, dense strides, multi-view spread, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tvts_bench.data.sampling import (clip_indices, dense_indices, multiview_indices, span_frames,
                                      span_indices, tsn_indices)

n_frames = st.integers(min_value=1, max_value=600)
clip_len = st.integers(min_value=1, max_value=32)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
FAST = settings(max_examples=150, deadline=None)


def assert_valid(idx: np.ndarray, n: int, m: int) -> None:
    assert idx.dtype == np.int64 and idx.shape == (m,)
    assert idx.min() >= 0 and idx.max() < n
    assert np.all(np.diff(idx) >= 0)


@FAST
@given(n=n_frames, m=clip_len, seed=seeds, train=st.booleans())
def test_tsn_sorted_in_bounds_one_per_segment(n, m, seed, train):
    idx = tsn_indices(n, m, train=train, rng=seed)
    assert_valid(idx, n, m)
    if n >= m:
        seg = n / m
        k = np.arange(m)
        # frame k overlaps segment k = [k * seg, (k + 1) * seg) (a frame j covers [j, j + 1))
        assert np.all(idx >= np.floor(k * seg)) and np.all(idx < (k + 1) * seg)
        assert len(np.unique(idx)) == m


@FAST
@given(n=n_frames, m=clip_len, seed=seeds)
def test_tsn_train_is_deterministic_for_a_seed(n, m, seed):
    np.testing.assert_array_equal(tsn_indices(n, m, train=True, rng=seed),
                                  tsn_indices(n, m, train=True, rng=np.random.default_rng(seed)))


def test_tsn_test_takes_exact_segment_centres():
    np.testing.assert_array_equal(tsn_indices(32, 8, train=False), [2, 6, 10, 14, 18, 22, 26, 30])
    np.testing.assert_array_equal(tsn_indices(16, 16, train=False), np.arange(16))
    np.testing.assert_array_equal(tsn_indices(30, 4, train=False), [3, 11, 18, 26])   # seg 7.5
    np.testing.assert_array_equal(tsn_indices(3, 6, train=False), [0, 0, 1, 1, 2, 2])  # short video


def test_tsn_train_varies_with_the_draw_and_covers_segments():
    draws = np.stack([tsn_indices(80, 8, train=True, rng=s) for s in range(200)])
    assert len({tuple(d) for d in draws}) > 150
    for k in range(8):                      # every frame of every segment gets picked
        assert set(draws[:, k]) == set(range(10 * k, 10 * k + 10))


@FAST
@given(n=n_frames, m=clip_len, stride=st.integers(1, 8), seed=seeds, train=st.booleans())
def test_dense_stride_and_bounds(n, m, stride, seed, train):
    idx = dense_indices(n, m, stride, train=train, rng=seed)
    assert_valid(idx, n, m)
    span = (m - 1) * stride + 1
    if span <= n:
        assert np.all(np.diff(idx) == stride)
        if not train:
            assert idx[0] == (n - span) // 2
    else:                                   # too short: spread over the whole video instead
        assert idx[-1] - idx[0] < span


def test_dense_train_start_is_random_and_covers_range():
    starts = {int(dense_indices(40, 8, 4, train=True, rng=s)[0]) for s in range(300)}
    assert starts == set(range(0, 40 - 29 + 1))


@FAST
@given(n=n_frames, m=clip_len, clips=st.integers(1, 5))
def test_multiview_tsn(n, m, clips):
    views = multiview_indices(n, m, clips, mode="tsn")
    assert views.shape == (clips, m)
    for row in views:
        assert_valid(row, n, m)
    if clips == 1:
        np.testing.assert_array_equal(views[0], tsn_indices(n, m, train=False))
    # later views sit later inside each segment
    assert np.all(np.diff(views, axis=0) >= 0)


def test_multiview_tsn_offsets_spread_inside_segments():
    views = multiview_indices(48, 8, 2, mode="tsn")      # segments of 6: offsets 1.5 and 4.5
    np.testing.assert_array_equal(views[0], 6 * np.arange(8) + 1)
    np.testing.assert_array_equal(views[1], 6 * np.arange(8) + 4)


@FAST
@given(n=st.integers(30, 600), clips=st.integers(2, 5))
def test_multiview_dense_spans_first_to_last_start(n, clips):
    m, stride = 8, 4
    views = multiview_indices(n, m, clips, mode="dense", stride=stride)
    assert views.shape == (clips, m)
    assert views[0, 0] == 0 and views[-1, -1] == n - 1
    assert np.all(np.diff(views, axis=1) == stride)
    assert np.all(np.diff(views[:, 0]) >= 0)


def test_multiview_single_dense_clip_is_centred():
    np.testing.assert_array_equal(multiview_indices(100, 8, 1, mode="dense", stride=4)[0],
                                  dense_indices(100, 8, 4, train=False))


@FAST
@given(fps=st.floats(5, 60), n=st.integers(1, 3000), a=st.floats(0, 80), length=st.floats(0, 30),
       m=clip_len, seed=seeds, train=st.booleans())
def test_span_indices_stay_inside_the_span(fps, n, a, length, m, seed, train):
    idx = span_indices(fps, n, a, a + length, m, train=train, rng=seed)
    assert_valid(idx, n, m)
    first, stop = span_frames(fps, n, a, a + length)
    assert 0 <= first < stop <= n
    assert idx.min() >= first and idx.max() < stop


def test_span_indices_centres():
    # 12 fps, [2 s, 4 s] -> frames 24 .. 47, 8 segments of 3 -> centres 25, 28, ...
    np.testing.assert_array_equal(span_indices(12, 240, 2.0, 4.0, 8, train=False), 25 + 3 * np.arange(8))


def test_clip_indices_train_draws_independent_views():
    rows = clip_indices(200, 8, train=True, mode="tsn", clips=3, rng=0)
    assert rows.shape == (3, 8) and len({tuple(r) for r in rows}) == 3
    np.testing.assert_array_equal(rows, clip_indices(200, 8, train=True, mode="tsn", clips=3, rng=0))


@pytest.mark.parametrize("call", [
    lambda: tsn_indices(0, 8, train=False),
    lambda: tsn_indices(10, 0, train=False),
    lambda: dense_indices(10, 4, 0, train=False),
    lambda: multiview_indices(10, 4, 2, mode="slowfast"),
    lambda: multiview_indices(10, 4, 2, mode="dense"),
])
def test_bad_arguments_raise(call):
    with pytest.raises(ValueError):
        call()
