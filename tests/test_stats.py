"""Bootstrap intervals and the paired bootstrap test."""

from __future__ import annotations

import numpy as np
import pytest

from tvts_bench.bench import stats as S


def test_ci_contains_estimate_and_is_deterministic():
    rng = np.random.default_rng(1)
    hits = (rng.random(400) < 0.3).astype(float)
    mv = S.metric_value(hits, S.mean_stat(100.0), seed=7)
    assert mv.ci_low <= mv.value <= mv.ci_high
    assert mv.n == 400 and mv.ci_level == 0.95
    # binomial standard error ~ 2.3 points: a 95 % interval is ~ +-4.5 points wide
    assert 3.0 < mv.value - mv.ci_low < 6.5 and 3.0 < mv.ci_high - mv.value < 6.5
    again = S.metric_value(hits, S.mean_stat(100.0), seed=7)
    assert (again.ci_low, again.ci_high) == (mv.ci_low, mv.ci_high)
    d7 = S.bootstrap_distribution(hits, S.mean_stat(), seed=7)
    np.testing.assert_array_equal(d7, S.bootstrap_distribution(hits, S.mean_stat(), seed=7))
    assert not np.array_equal(d7, S.bootstrap_distribution(hits, S.mean_stat(), seed=8))


def test_rank_statistics_and_chunking():
    ranks = np.arange(50_000) % 20           # many samples: resamples are drawn in several chunks
    mv = S.metric_value(ranks, S.median_stat(offset=1.0), n_resamples=200, seed=0)
    assert mv.value == pytest.approx(10.5)
    assert mv.ci_low <= 10.5 <= mv.ci_high
    r10 = S.metric_value(ranks, S.below_stat(10), n_resamples=200)
    assert r10.value == pytest.approx(50.0)
    assert len(S.bootstrap_distribution(ranks, S.mean_stat(), n_resamples=333)) == 333


def test_paired_identical_models_are_not_separable():
    rng = np.random.default_rng(0)
    a = (rng.random(300) < 0.5).astype(float)
    t = S.paired_bootstrap(a, a.copy(), S.mean_stat(100.0))
    assert t.difference == 0.0 and not t.separable and t.p_value == 1.0


def test_paired_clearly_better_model_is_separable():
    rng = np.random.default_rng(0)
    b = (rng.random(300) < 0.5).astype(float)
    a = np.maximum(b, (rng.random(300) < 0.4).astype(float))     # b's hits plus ~20 points more
    t = S.paired_bootstrap(a, b, S.mean_stat(100.0), seed=3)
    assert t.separable and t.p_value < 0.01 and t.ci_low > 0
    assert t.difference == pytest.approx(100 * (a.mean() - b.mean()))
    # a noisy tiny difference is not separable
    c = b.copy()
    c[:2] = 1 - c[:2]
    assert not S.paired_bootstrap(c, b, S.mean_stat(100.0)).separable
    with pytest.raises(ValueError):
        S.paired_bootstrap(a, b[:10])


def test_cluster_bootstrap_resamples_whole_videos():
    # 40 videos x 10 captions; all captions of a video share one outcome (perfectly dependent)
    rng = np.random.default_rng(0)
    per_video = rng.integers(0, 2, size=40).astype(float)
    outcomes = np.repeat(per_video, 10)
    clusters = np.repeat(np.arange(40), 10)
    lo_c, hi_c = S.bootstrap_ci(outcomes, S.mean_stat(), n_resamples=500, seed=1, clusters=clusters)
    lo_v, hi_v = S.bootstrap_ci(per_video, S.mean_stat(), n_resamples=500, seed=1)
    lo_i, hi_i = S.bootstrap_ci(outcomes, S.mean_stat(), n_resamples=500, seed=1)
    # resampling videos gives the interval of the 40 independent videos, not of 400 "independent" captions
    assert abs((hi_c - lo_c) - (hi_v - lo_v)) < 0.05
    assert (hi_i - lo_i) < 0.6 * (hi_c - lo_c)
    with pytest.raises(ValueError):
        S.bootstrap_ci(outcomes, clusters=clusters[:5])


def test_paired_bootstrap_resamples_clusters_together():
    rng = np.random.default_rng(0)
    a_video = rng.integers(0, 2, size=30).astype(float)
    b_video = rng.integers(0, 2, size=30).astype(float)
    a, b = np.repeat(a_video, 8), np.repeat(b_video, 8)
    clusters = np.repeat(np.arange(30), 8)
    by_caption = S.paired_bootstrap(a, b, n_resamples=400, seed=2)
    by_video = S.paired_bootstrap(a, b, n_resamples=400, seed=2, clusters=clusters)
    videos_only = S.paired_bootstrap(a_video, b_video, n_resamples=400, seed=2)
    assert by_video.difference == by_caption.difference
    width = lambda t: t.ci_high - t.ci_low  # noqa: E731
    assert abs(width(by_video) - width(videos_only)) < 0.1
    assert width(by_caption) < 0.6 * width(by_video)
