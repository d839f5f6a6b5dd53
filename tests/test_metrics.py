"""Metric functions on hand-computed cases (REFERENCE section 3), ties included (optimistic)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tvts_bench.bench import metrics as M


def test_topk_hand_case_and_optimistic_ties():
    scores = np.array([[0.1, 0.7, 0.2],    # label 1: top-1
                       [0.5, 0.3, 0.2],    # label 2: rank 2 -> top-5 only
                       [0.4, 0.4, 0.1]])   # label 1 ties with class 0: optimistic -> top-1
    labels = np.array([1, 2, 1])
    hits = M.topk_hits(scores, labels, ks=(1, 2))
    assert hits[1].tolist() == [1, 0, 1]
    assert hits[2].tolist() == [1, 0, 1]
    acc = M.topk_accuracy(scores, labels, ks=(1, 5))
    assert acc[1] == pytest.approx(200 / 3)
    assert acc[5] == 100.0           # k above the number of classes: every label is within the top k


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


def test_v2v_self_is_excluded_and_ties_are_optimistic():
    # identical features: every other video ties with every other; same-class ones rank first
    feats = np.ones((4, 3), dtype=np.float32)
    labels = np.array([0, 1, 0, 2])
    res = M.v2v_retrieval(feats, labels, ks=(1,), block_size=2)
    assert res.valid.tolist() == [True, False, True, False]     # classes of one have nothing to find
    assert res.first_rank.tolist() == [0, -1, 0, -1]
    assert res.metrics()["R@1"] == 100.0 and res.metrics()["mAP"] == 100.0
    assert all(i not in row for i, row in enumerate(res.neighbors))   # never itself


def _brute_v2v(feats, labels, eps=M.TIE_EPS):
    """numpy reference: optimistic ranks (negatives within eps of a positive do not precede it)."""
    x = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    sims = x.astype(np.float64) @ x.T.astype(np.float64)
    first, aps = [], []
    for q in range(len(x)):
        s = np.delete(sims[q], q)
        rel = np.delete(labels == labels[q], q)
        if not rel.any():
            first.append(-1)
            aps.append(np.nan)
            continue
        pos = np.sort(s[rel])[::-1]
        neg = s[~rel]
        where = [int((neg > v + eps).sum()) + i for i, v in enumerate(pos)]
        first.append(where[0])
        aps.append(np.mean([(i + 1) / (w + 1) for i, w in enumerate(where)]))
    return np.array(first), np.array(aps)


def test_v2v_matches_brute_force_with_many_ties_whatever_the_blocks():
    rng = np.random.default_rng(3)
    for _ in range(4):
        n = int(rng.integers(20, 120))
        feats = rng.integers(-2, 3, size=(n, 3)).astype(np.float32)   # many equal directions (exact ties)
        labels = rng.integers(0, 5, size=n)
        ref_first, ref_ap = _brute_v2v(feats, labels)
        for block in (1, 7, n):
            res = M.v2v_retrieval(feats, labels, block_size=block)
            np.testing.assert_array_equal(res.first_rank, ref_first)
            np.testing.assert_allclose(res.ap, ref_ap, rtol=1e-9)


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


SIM = np.array([[0.9, 0.1, 0.9],    # caption 0 -> video 0: ties with video 2, optimistic rank 0
                [0.5, 0.2, 0.7],    # caption 1 -> video 1: rank 2
                [0.3, 0.8, 0.6]])   # caption 2 -> video 2: rank 1


def test_text_video_one_caption_per_video_with_ties():
    res = M.text_video_retrieval(SIM, [0, 1, 2], ks=(1, 5, 10))
    assert res["t2v"].ranks.tolist() == [0, 2, 1]
    # v2t: video 0 column (.9 .5 .3) rank 0; video 1 (.1 .2 .8) rank 1; video 2 (.9 .7 .6) rank 2
    assert res["v2t"].ranks.tolist() == [0, 1, 2]
    m = M.retrieval_metrics(res)
    assert m["t2v_R@1"] == pytest.approx(100 / 3)
    assert m["t2v_R@5"] == 100.0
    assert m["t2v_MedR"] == 2.0 and m["t2v_MeanR"] == 2.0
    assert m["v2t_R@1"] == pytest.approx(100 / 3)
    assert m["v2t_MedR"] == 2.0
    assert set(m) == {f"{d}_{k}" for d in ("t2v", "v2t") for k in ("R@1", "R@5", "R@10", "MedR", "MeanR")}


def test_msvd_multi_caption_every_caption_is_a_query():
    sim = np.array([[0.9, 0.1],    # video 0, rank 0
                    [0.2, 0.3],    # video 0, rank 1
                    [0.4, 0.5],    # video 1, rank 0
                    [0.6, 0.1]])   # video 1, rank 1
    res = M.text_video_retrieval(sim, [0, 0, 1, 1])
    assert res["t2v"].ranks.tolist() == [0, 1, 0, 1]
    m = M.retrieval_metrics(res)
    assert m["t2v_R@1"] == 50.0                       # averaged over all four captions
    assert m["t2v_MedR"] == 1.5 and m["t2v_MeanR"] == 1.5
    # v2t: the best-ranked correct caption counts: video 0 best .9 (rank 0); video 1 best .5 (rank 0)
    assert res["v2t"].ranks.tolist() == [0, 0]


def test_v2t_skips_videos_without_captions():
    sim = np.array([[0.2, 0.9, 0.1]])
    assert M.v2t_ranks(sim, [1]).tolist() == [0]
    assert M.t2v_ranks(sim, [0]).tolist() == [1]


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
    m = M.rank_metrics(np.array([0, 0, 4, 9, 20]), ks=(1, 5, 10))
    assert m == {"R@1": 40.0, "R@5": 60.0, "R@10": 80.0, "MedR": 5.0, "MeanR": pytest.approx(7.6)}
    assert not math.isnan(m["MeanR"])
