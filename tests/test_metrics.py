"""Metric functions on hand-computed cases, ties by expected rank, checked against Monte Carlo tie-breaking."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tvts_bench.bench import metrics as M
from tvts_bench.errors import NonFiniteError


def test_topk_hand_case_and_expected_ties():
    scores = np.array([[0.1, 0.7, 0.2],    # label 1: top-1
                       [0.5, 0.3, 0.2],    # label 2: rank 2 -> top-5 only
                       [0.4, 0.4, 0.1]])   # label 1 ties with class 0: top-1 with probability 1/2
    labels = np.array([1, 2, 1])
    hits = M.topk_hits(scores, labels, ks=(1, 2))
    assert hits[1].tolist() == [1, 0, 0.5]
    assert hits[2].tolist() == [1, 0, 1]
    acc = M.topk_accuracy(scores, labels, ks=(1, 5))
    assert acc[1] == pytest.approx(50.0)
    assert acc[5] == 100.0           # k above the number of classes: every label is within the top k


def test_constant_scores_give_chance_in_classification():
    scores = np.zeros((40, 8))
    labels = np.arange(40) % 8
    hits = M.topk_hits(scores, labels, ks=(1, 5))
    assert hits[1].mean() == pytest.approx(1 / 8) and hits[5].mean() == pytest.approx(5 / 8)


def test_nonfinite_scores_fail_and_name_the_rows():
    scores = np.zeros((4, 3))
    scores[2, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"1 of 4 rows .*\(c\)"):
        M.topk_hits(scores, np.zeros(4, dtype=int), ids=["a", "b", "c", "d"])
    feats = np.ones((5, 3), dtype=np.float32)
    feats[0, 0] = np.inf
    with pytest.raises(NonFiniteError):
        M.v2v_retrieval(feats, np.zeros(5, dtype=int))
    with pytest.raises(NonFiniteError):
        M.text_video_retrieval(np.full((2, 2), np.nan), [0, 1])


def _circle(degrees):
    a = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32) * np.array([[1.0], [2.0], [0.5], [3.0], [1.0]],
                                                                                    dtype=np.float32)


def test_v2v_five_item_hand_example():
    # unit directions at 0, 10, 30, 60, 100 degrees (norms differ: cosine similarity ignores them)
    feats = _circle([0, 10, 30, 60, 100])
    labels = np.array([0, 0, 1, 0, 1])
    res = M.v2v_retrieval(feats, labels, ks=(1, 2, 3))
    # rankings (self excluded), worked out by angle distance:
    # q0: 1 2 3 4 -> positives at 1,3 -> AP (1/1 + 2/3)/2   q1: 0 2 3 4 -> same AP
    # q2: 1 {0,3} 4 -> positive at 4  -> AP 1/4               q3: 2 4 1 0 -> AP (1/3 + 2/4)/2
    # q4: 3 2 1 0 -> positive at 2 -> AP 1/2
    assert res.first_rank.tolist() == [0, 0, 3, 2, 1]
    assert res.neighbors[0].tolist() == [1, 2, 3]
    assert res.neighbors[4].tolist() == [3, 2, 1]
    expected_ap = [5 / 6, 5 / 6, 1 / 4, (1 / 3 + 2 / 4) / 2, 1 / 2]
    np.testing.assert_allclose(res.ap, expected_ap, rtol=1e-6)
    m = res.metrics()
    assert m["R@1"] == pytest.approx(40.0)
    assert m["R@2"] == pytest.approx(60.0)
    assert m["R@3"] == pytest.approx(80.0)
    assert m["mAP"] == pytest.approx(100 * sum(expected_ap) / 5)


def test_v2v_constant_features_score_chance_and_singletons_are_misses():
    # identical features: every other video ties with every other
    feats = np.ones((4, 3), dtype=np.float32)
    labels = np.array([0, 1, 0, 2])
    res = M.v2v_retrieval(feats, labels, ks=(1,), block_size=2)
    assert res.valid.tolist() == [True, False, True, False]     # classes of one have nothing to find
    # query 0: its one positive is tied with 2 negatives: hit@1 = 1/3, expected first rank 1, AP = E[1/pos]
    np.testing.assert_allclose(res.hits[1], [1 / 3, 0, 1 / 3, 0])
    np.testing.assert_allclose(res.first_rank[[0, 2]], [1.0, 1.0])
    assert np.isnan(res.first_rank[[1, 3]]).all()
    np.testing.assert_allclose(res.ap, [(1 + 1 / 2 + 1 / 3) / 3, 0, (1 + 1 / 2 + 1 / 3) / 3, 0])
    m = res.metrics()                                             # over ALL queries, misses included
    assert m["R@1"] == pytest.approx(100 / 6)
    assert all(i not in row for i, row in enumerate(res.neighbors))   # never itself


def _monte_carlo_v2v(feats, labels, ks, trials, seed=0):
    """Independent reference: break ties by a random key, rank in float64, average hits and APs."""
    rng = np.random.default_rng(seed)
    x = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    sims = x.astype(np.float64) @ x.T.astype(np.float64)
    n = len(x)
    hits = {k: np.zeros(n) for k in ks}
    aps = np.zeros(n)
    for q in range(n):
        s = np.delete(sims[q], q)
        rel = np.delete(labels == labels[q], q)
        if not rel.any():
            continue
        for _ in range(trials):
            order = np.lexsort((rng.random(len(s)), -s))       # by score, random among equal scores
            r = rel[order]
            for k in ks:
                hits[k][q] += r[:k].any() / trials
            aps[q] += (r * np.cumsum(r) / np.arange(1, len(r) + 1)).sum() / r.sum() / trials
    return hits, aps


def test_v2v_expected_ties_match_monte_carlo_whatever_the_blocks():
    rng = np.random.default_rng(3)
    for _ in range(3):
        n = int(rng.integers(12, 30))
        # few directions whose cosines are exact (0, +-1): many exact ties, no rounding between them
        directions = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, 0, 0], [0, 0, 0]], dtype=np.float32)
        feats = directions[rng.integers(0, len(directions), size=n)] * rng.integers(1, 4, size=(n, 1))
        labels = rng.integers(0, 4, size=n)
        ref_hits, ref_ap = _monte_carlo_v2v(feats, labels, (1, 5), trials=600)
        for block in (1, 7, n):
            res = M.v2v_retrieval(feats, labels, ks=(1, 5), block_size=block)
            for k in (1, 5):
                np.testing.assert_allclose(res.hits[k], ref_hits[k], atol=0.08)
            np.testing.assert_allclose(res.ap, ref_ap, atol=0.05)


def test_v2v_random_features_near_chance():
    rng = np.random.default_rng(1)
    n, classes = 600, 6
    labels = np.arange(n) % classes
    res = M.v2v_retrieval(rng.normal(size=(n, 32)).astype(np.float32), labels, ks=(1,))
    chance = (n / classes - 1) / (n - 1)
    assert abs(res.hits[1].mean() - chance) < 4 * np.sqrt(chance * (1 - chance) / n)


def test_v2v_blocks_do_not_change_results():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(37, 8)).astype(np.float32)
    labels = rng.integers(0, 4, size=37)
    a = M.v2v_retrieval(feats, labels, block_size=5)
    b = M.v2v_retrieval(feats, labels, block_size=100)
    np.testing.assert_allclose(a.ap, b.ap)
    assert a.metrics() == b.metrics()
    # brute force check of AP for one query with numpy
    x = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    s = x[3] @ x.T
    s[3] = -np.inf
    order = np.argsort(-s, kind="stable")[:-1]
    rel = (labels[order] == labels[3]).astype(float)
    ap = (rel * np.cumsum(rel) / np.arange(1, len(rel) + 1)).sum() / rel.sum()
    assert a.ap[3] == pytest.approx(ap)


SIM = np.array([[0.9, 0.1, 0.9],    # caption 0 -> video 0: ties with video 2: expected rank 0.5
                [0.5, 0.2, 0.7],    # caption 1 -> video 1: rank 2
                [0.3, 0.8, 0.6]])   # caption 2 -> video 2: rank 1


def test_text_video_one_caption_per_video_with_ties():
    res = M.text_video_retrieval(SIM, [0, 1, 2], ks=(1, 5, 10))
    assert res["t2v"].ranks.tolist() == [0.5, 2, 1]
    assert res["t2v"].hits[1].tolist() == [0.5, 0, 0]
    # v2t: video 0 column (.9 .5 .3) rank 0; video 1 (.1 .2 .8) rank 1; video 2 (.9 .7 .6) rank 2
    assert res["v2t"].ranks.tolist() == [0, 1, 2]
    m = M.retrieval_metrics(res)
    assert m["t2v_R@1"] == pytest.approx(50 / 3)
    assert m["t2v_R@5"] == 100.0
    assert m["t2v_MedR"] == 2.0 and m["t2v_MeanR"] == pytest.approx(1 + 3.5 / 3)
    assert m["v2t_R@1"] == pytest.approx(100 / 3)
    assert set(m) == {f"{d}_{k}" for d in ("t2v", "v2t") for k in ("R@1", "R@5", "R@10", "MedR", "MeanR")}


def test_constant_similarities_give_chance_both_directions():
    res = M.text_video_retrieval(np.zeros((10, 10)), np.arange(10), ks=(1, 5))
    for d in ("t2v", "v2t"):
        assert res[d].hits[1].mean() == pytest.approx(0.1) and res[d].hits[5].mean() == pytest.approx(0.5)
        assert np.all(res[d].ranks == 4.5)                     # MedR = 5.5: the middle of 1..10


def test_msvd_multi_caption_every_caption_is_a_query_and_v2t_ranks_caption_groups():
    sim = np.array([[0.9, 0.1, 0.0],    # video 0's captions
                    [0.2, 0.3, 0.0],
                    [0.4, 0.5, 0.0],    # video 1's captions
                    [0.6, 0.1, 0.0],
                    [0.95, 0.2, 0.1]])  # video 2's caption
    res = M.text_video_retrieval(sim, [0, 0, 1, 1, 2])
    assert res["t2v"].ranks.tolist() == [0, 1, 0, 1, 2]
    # v2t (CLIP4Clip): video v ranks the caption groups by max_c sim[c, v]:
    # video 0: groups (.9, .6, .95) -> own group second; video 1: (.3, .5, .2) -> first;
    # video 2: (0, 0, .1) -> first
    assert res["v2t"].ranks.tolist() == [1, 0, 0]
    assert res["v2t"].extra["videos"].tolist() == [0, 1, 2]


def test_v2t_skips_videos_without_captions():
    sim = np.array([[0.2, 0.9, 0.1]])
    assert M.v2t_ranks(sim, [1]).ranks.tolist() == [0]
    assert M.t2v_ranks(sim, [0]).ranks.tolist() == [1]


def test_query_building_modes():
    caps = [["a man runs", "he stops"], [], ["x", "y"]]
    q, owner = M.build_text_queries(caps, "paragraph")
    assert q == ["a man runs he stops", "x y"] and owner.tolist() == [0, 2]
    q, owner = M.build_text_queries(caps, "all")
    assert q == ["a man runs", "he stops", "x", "y"] and owner.tolist() == [0, 0, 2, 2]
    q, owner = M.build_text_queries(caps, "first")
    assert q == ["a man runs", "x"] and owner.tolist() == [0, 2]
    with pytest.raises(ValueError):
        M.build_text_queries(caps, "nope")


def test_rank_metrics_formula():
    ranks = np.array([0, 0, 4, 9, 20])
    hits = {k: (ranks < k).astype(float) for k in (1, 5, 10)}
    m = M.rank_metrics(ranks, hits)
    assert m == {"R@1": 40.0, "R@5": 60.0, "R@10": 80.0, "MedR": 5.0, "MeanR": pytest.approx(7.6)}
    assert not math.isnan(m["MeanR"])
