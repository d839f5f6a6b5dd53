"""The k-NN protocol: DINO's weighted vote checked by hand, ties by expectation, chance for a constant
encoder; and the low-shot subsets it shares with the linear probe."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from tests.test_protocols import assert_well_formed, make_ctx
from tvts_bench.bench.protocols import PROTOCOLS
from tvts_bench.bench.protocols._lowshot import balanced_subset, two_way_value
from tvts_bench.bench.protocols.knn import knn_votes
from tvts_bench.errors import NonFiniteError

KEYS = ["top1", "top5", "top1@k20", "top5@k20"]


def test_weighted_vote_by_hand():
    train = np.array([[1.0, 0.0], [0.6, 0.8], [0.8, -0.6], [0.0, 1.0]])
    labels = np.array([0, 1, 1, 0])
    query = np.array([[2.0, 0.0]])                      # cosine: the norm does not matter
    # k = 3 neighbours: sims 1.0 (class 0), 0.8 and 0.6 (class 1); 0.0 (class 0) is left out
    for temperature in (0.07, 1.0):
        votes = knn_votes(train, labels, query, [3], 2, temperature=temperature)[3][0]
        assert votes[0] == pytest.approx(math.exp(1.0 / temperature))
        assert votes[1] == pytest.approx(math.exp(0.8 / temperature) + math.exp(0.6 / temperature))
    # a sharp vote follows the nearest neighbour, a flat one the majority
    assert np.argmax(knn_votes(train, labels, query, [3], 2, temperature=0.07)[3][0]) == 0
    assert np.argmax(knn_votes(train, labels, query, [3], 2, temperature=1.0)[3][0]) == 1
    # k = 1: only the nearest one votes; k beyond the bank: everyone does
    assert knn_votes(train, labels, query, [1], 2, temperature=1.0)[1][0] == pytest.approx([math.e, 0.0])
    all4 = knn_votes(train, labels, query, [10], 2, temperature=1.0)[10][0]
    assert all4 == pytest.approx([math.e + 1.0, math.exp(0.8) + math.exp(0.6)])


def test_neighbours_tied_at_the_kth_place_share_it():
    train = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [-1.0, 0.0]])
    labels = np.array([0, 1, 2, 2])
    votes = knn_votes(train, labels, np.array([[1.0, 0.0]]), [2], 3, temperature=1.0)[2][0]
    # sims 1, 0, 0, -1: the second place goes to one of the two videos at 0, each half the time
    assert votes == pytest.approx([math.e, 0.5, 0.5])


def test_knn_protocol_on_fake_context(tmp_path):
    ctx = make_ctx(tmp_path, "knn", {"ks": [10, 20], "diagnostics": ["shuffled", "reversed"]})
    out = PROTOCOLS["knn"](ctx)
    assert_well_formed(out, KEYS)
    assert out.metrics["top1"].value > 60                        # the fake classes are separable
    assert set(out.diagnostics) == {"shuffled", "reversed"}
    assert out.extra["knn"]["ks"] == [10, 20] and "random tie-breaking" in out.extra["knn"]["ties"]
    assert set(out.per_sample[0]) == {"sample_id", *KEYS}
    assert np.mean([r["top1"] for r in out.per_sample]) * 100 == pytest.approx(out.metrics["top1"].value)


def test_first_k_is_the_plain_top1(tmp_path):
    ctx = make_ctx(tmp_path, "knn", {"ks": [5, 20]})
    ctx = replace(ctx, task=ctx.task.model_copy(update={"metrics": ["top1", "top1@k5", "top1@k20"]}))
    out = PROTOCOLS["knn"](ctx)
    assert set(out.metrics) == {"top1", "top1@k5", "top1@k20"}
    assert out.metrics["top1"] == out.metrics["top1@k5"]


def constant(recs, variant):
    return np.ones((len(recs), 16), dtype=np.float32)


def test_constant_features_score_chance(tmp_path):
    out = PROTOCOLS["knn"](make_ctx(tmp_path, "knn", feature_fn=constant))
    assert out.metrics["top1"].value == pytest.approx(100 / 4)        # 4 balanced classes
    assert out.metrics["top1@k20"].value == pytest.approx(100 / 4)
    assert out.metrics["top5"].value == pytest.approx(100.0)          # k >= classes


def test_nearly_constant_features_are_not_split_by_rounding(tmp_path):
    """Copies of one vector at different rows must tie exactly, whatever the matmul's blocking."""
    def copies(recs, variant):
        v = np.random.default_rng(3).normal(size=16).astype(np.float32)
        return np.tile(v, (len(recs), 1))

    out = PROTOCOLS["knn"](make_ctx(tmp_path, "knn", {"ks": [7]}, feature_fn=copies, n_train=200, n_test=40))
    assert out.metrics["top1"].value == pytest.approx(25.0)


def test_nan_features_fail(tmp_path):
    def half_nan(recs, variant):
        x = np.random.default_rng(0).normal(size=(len(recs), 16)).astype(np.float32)
        x[::2, 0] = np.nan
        return x

    with pytest.raises(NonFiniteError, match="24 of 48 rows"):
        PROTOCOLS["knn"](make_ctx(tmp_path, "knn", feature_fn=half_nan))


# -------------------------------------------------------------------------------------------------
# low-shot subsets


def _labels_ids(n_per_class=(10, 20, 7, 1)):
    labels = np.concatenate([np.full(n, c) for c, n in enumerate(n_per_class)])
    ids = [f"v{i:04d}" for i in range(len(labels))]
    return labels, ids


def test_subsets_are_class_balanced_reproducible_and_differ_by_seed():
    labels, ids = _labels_ids()
    a = balanced_subset(labels, ids, seed=0, shots=5)
    assert np.bincount(labels[a]).tolist() == [5, 5, 5, 1]            # min(shots, class size)
    assert np.array_equal(a, balanced_subset(labels, ids, seed=0, shots=5))
    assert not np.array_equal(a, balanced_subset(labels, ids, seed=1, shots=5))
    f = balanced_subset(labels, ids, seed=0, fraction=0.1)
    assert np.bincount(labels[f]).tolist() == [2, 2, 2, 1]            # at least two where there are two
    half = balanced_subset(labels, ids, seed=0, fraction=0.5)
    assert np.bincount(labels[half]).tolist() == [5, 10, 4, 1]        # the same fraction of every class
    # a subset depends on the ids, not on their order: a dropped video leaves the rest in place
    keep = np.arange(1, len(labels))                                   # video v0000 (class 0) is gone
    b = balanced_subset(labels[keep], [ids[i] for i in keep], seed=0, shots=5)
    assert {ids[i] for i in a if labels[i] != 0} == {ids[keep[i]] for i in b if labels[keep[i]] != 0}
    # nested: a smaller subset is inside a larger one for the same seed
    assert set(balanced_subset(labels, ids, seed=2, shots=3)) <= set(balanced_subset(labels, ids, seed=2, shots=6))


def test_two_way_interval_is_wider_than_the_test_sample_one(tmp_path):
    ctx = make_ctx(tmp_path, "knn")
    rng = np.random.default_rng(0)
    per_subset_rate = np.array([0.2, 0.5, 0.8])                       # subsets that disagree a lot
    outcomes = (rng.random((3, 400)) < per_subset_rate[:, None]).astype(float)
    both = two_way_value(outcomes, ctx)
    from tvts_bench.bench.protocols._common import spec_value
    from tvts_bench.bench.protocols.knn_spec import SPEC

    samples_only = spec_value(SPEC, "top1", outcomes.mean(0), ctx)
    assert both.value == pytest.approx(samples_only.value)
    assert both.ci_high - both.ci_low > 3 * (samples_only.ci_high - samples_only.ci_low)
    assert both.n == 400


def test_knn_low_shot_reports_subsets(tmp_path):
    ctx = make_ctx(tmp_path, "knn", {"shots": 4, "subsets": 3, "ks": [3]})
    out = PROTOCOLS["knn"](ctx)
    low = out.extra["knn"]["low_shot"]
    assert [s["subset_seed"] for s in low["subsets"]] == [0, 1, 2]
    assert all(s["train_samples"] == 16 and s["per_class_min"] == s["per_class_max"] == 4 for s in low["subsets"])
    assert out.metrics["top1"].value == pytest.approx(np.mean(low["spread_top1@k3"]["per_subset"]))
    assert out.metrics["top1"].ci_low <= out.metrics["top1"].value <= out.metrics["top1"].ci_high
    # a video's outcome is its hit averaged over the 3 subsets
    assert {r["top1"] for r in out.per_sample} <= {0.0, 1 / 3, 2 / 3, 1.0}
    const = PROTOCOLS["knn"](make_ctx(tmp_path, "knn", {"low_shot": 0.1}, feature_fn=constant))
    assert const.metrics["top1"].value == pytest.approx(25.0)


def test_low_shot_and_shots_exclude_each_other():
    from tvts_bench.bench.protocol_params import check_params

    with pytest.raises(ValueError, match="exclude each other"):
        check_params("knn", {"low_shot": 0.1, "shots": 5})
    with pytest.raises(ValueError, match="low_shot"):
        check_params("linear", {"low_shot": 1.5})
    check_params("linear", {"low_shot": 0.1, "subsets": 3})


def test_linear_low_shot(tmp_path):
    ctx = make_ctx(tmp_path, "linear", {"shots": 4, "subsets": 3, "seeds": 1, "C": [0.1, 1.0],
                                        "diagnostics": ["reversed"]})
    out = PROTOCOLS["linear"](ctx)
    assert_well_formed(out, ["top1", "top5"])
    low = out.extra["linear"]["low_shot"]
    assert len(low["subsets"]) == 3 and all(s["train_samples"] == 16 for s in low["subsets"])
    assert out.metrics["top1"].value == pytest.approx(np.mean(low["spread_top1"]["per_subset"]))
    assert [p["subset_seed"] for p in out.extra["linear"]["per_seed"]] == [0, 1, 2]
    assert set(out.diagnostics) == {"reversed"}
    # the side file reproduces the metric: the mean over videos of the outcome averaged over subsets
    assert 100 * np.mean([r["top1"] for r in out.per_sample]) == pytest.approx(out.metrics["top1"].value)
    # one video per class leaves nothing to hold out for choosing C: a clear error
    from tvts_bench.errors import TvtsBenchError

    with pytest.raises(TvtsBenchError, match="ssv2-linear.*too few videos per class"):
        PROTOCOLS["linear"](make_ctx(tmp_path, "linear", {"shots": 1, "C": [0.1, 1.0]}))
    const = PROTOCOLS["linear"](make_ctx(tmp_path, "linear", {"low_shot": 0.25, "C": [1.0], "seeds": 1},
                                         feature_fn=constant))
    assert const.metrics["top1"].value == pytest.approx(25.0)
