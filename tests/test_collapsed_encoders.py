"""A collapsed encoder (every clip -> one feature) must score chance on every protocol, and an encoder
that outputs NaN/inf must fail its task loudly. Chance here is computed independently of the scorer:
from the class counts (k / C, same-class share of the gallery) or the gallery size.
"""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
import torch
from torch import nn

from tests.test_protocols import make_ctx
from tvts_bench.bench.protocols import PROTOCOLS
from tvts_bench.errors import NonFiniteError


def constant(recs, variant):
    return np.ones((len(recs), 16), dtype=np.float32)


def random_features(recs, variant):
    seed = 1 if recs and recs[0].split == "train" else 2        # train and test features independent
    return np.random.default_rng(seed).normal(size=(len(recs), 16)).astype(np.float32)


class ConstantVideo(nn.Module):
    """Ignores its input: one learnable vector for every clip (what a collapsed encoder computes)."""

    def __init__(self, dim: int = 16):
        super().__init__()
        self.value = nn.Parameter(torch.ones(dim))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.value.expand(video.shape[0], -1)


class ConstantText(ConstantVideo):
    def forward(self, texts: list[str]) -> torch.Tensor:
        return self.value.expand(len(texts), -1)


def collapse(ctx):
    ctx.adapter._video = ConstantVideo()
    ctx.adapter._text = ConstantText() if ctx.adapter._text is not None else None
    return ctx


def test_constant_features_score_chance_on_the_linear_probe(tmp_path):
    out = PROTOCOLS["linear"](make_ctx(tmp_path, "linear", {"C": [0.1, 1.0], "seeds": 2}, feature_fn=constant))
    assert out.metrics["top1"].value == pytest.approx(100 / 4)      # 4 balanced classes
    assert out.metrics["top5"].value == pytest.approx(100.0)         # k >= classes
    assert "random tie-breaking" in out.extra["linear"]["ties"]


def test_constant_features_score_chance_on_v2v(tmp_path):
    out = PROTOCOLS["v2v"](make_ctx(tmp_path, "v2v", feature_fn=constant))
    n, per_class = 24, 6                                    # 24 test videos, 4 classes of 6
    for k in (1, 5, 10):
        chance = 1 - comb(n - 1 - (per_class - 1), k) / comb(n - 1, k)
        assert out.metrics[f"R@{k}"].value == pytest.approx(100 * chance)
    # mAP of a random ranking: E[AP] with 5 positives among 23 (brute force over positions)
    rng = np.random.default_rng(0)
    aps = []
    for _ in range(20000):
        rel = np.zeros(n - 1)
        rel[rng.choice(n - 1, per_class - 1, replace=False)] = 1
        aps.append((rel * np.cumsum(rel) / np.arange(1, n)).sum() / rel.sum())
    assert out.metrics["mAP"].value == pytest.approx(100 * np.mean(aps), abs=0.4)


def test_v2v_singleton_queries_count_as_misses(tmp_path):
    def separable(recs, variant):
        centres = np.eye(16, dtype=np.float32)
        return centres[[r.label for r in recs]]

    # 5 classes over 6 test videos: labels 0..4, 0 -> class 0 has two members, classes 1..4 one each
    out = PROTOCOLS["v2v"](make_ctx(tmp_path, "v2v", feature_fn=separable, n_test=6, classes=5))
    assert out.extra["v2v"]["queries_without_positive"] == 4
    assert out.metrics["R@1"].value == pytest.approx(100 * 2 / 6)   # two perfect queries out of six
    assert out.metrics["mAP"].value == pytest.approx(100 * 2 / 6)
    assert out.metrics["R@1"].n == 6


def test_random_features_are_at_chance_within_the_interval(tmp_path):
    for protocol, metric, chance, params in (("linear", "top1", 25.0, {"C": [1.0], "seeds": 1}),
                                             ("v2v", "R@1", 100 * 49 / 199, {})):
        out = PROTOCOLS[protocol](make_ctx(tmp_path, protocol, params, feature_fn=random_features,
                                           n_train=200, n_test=200))
        v = out.metrics[metric]
        assert v.ci_low <= chance <= v.ci_high, (protocol, v)


KEYS = [f"{d}_{m}" for d in ("t2v", "v2t") for m in ("R@1", "R@5", "R@10", "MedR", "MeanR")]


def test_constant_towers_score_chance_on_zero_shot_retrieval(tmp_path):
    ctx = collapse(make_ctx(tmp_path, "ret", kind="single", text=True, dataset="msrvtt"))
    out = PROTOCOLS["ret"](ctx)
    n = 24
    for d in ("t2v", "v2t"):
        for k in (1, 5, 10):
            assert out.metrics[f"{d}_R@{k}"].value == pytest.approx(100 * k / n)
        assert out.metrics[f"{d}_MedR"].value == pytest.approx((n + 1) / 2)   # middle of ranks 1..n
        assert out.metrics[f"{d}_MeanR"].value == pytest.approx((n + 1) / 2)


def test_constant_towers_stay_at_chance_after_retrieval_fine_tuning(tmp_path):
    params = {"epochs": 1, "batch_size": 8, "lr": 1e-3, "head_lr": 1e-3}
    ctx = collapse(make_ctx(tmp_path, "ret-ft", params, kind="single", text=True, dataset="msrvtt"))
    out = PROTOCOLS["ret-ft"](ctx)
    n = 24
    # fine-tuned constant towers still ignore their inputs; a projection's rounding may split exact
    # ties, which then favour one video for every query: never more than one hit above chance
    for d in ("t2v", "v2t"):
        assert abs(out.metrics[f"{d}_R@1"].value - 100 / n) <= 100 / n + 1e-9
        assert out.metrics[f"{d}_MedR"].value >= n / 4


@pytest.mark.parametrize("protocol", ["linear", "v2v"])
def test_nan_features_fail_the_task_naming_the_clips(tmp_path, protocol):
    def half_nan(recs, variant):
        x = random_features(recs, variant)
        x[::2, 0] = np.nan
        return x

    ctx = make_ctx(tmp_path, protocol, {"C": [1.0], "seeds": 1} if protocol == "linear" else {},
                   feature_fn=half_nan)
    from tvts_bench.bench.runner import _finite_features

    ctx.features = _finite_features(ctx.features)
    with pytest.raises(NonFiniteError, match=r"(24 of 48 rows .*train000|12 of 24 rows .*test000)"):
        PROTOCOLS[protocol](ctx)


def test_nan_text_features_fail_retrieval(tmp_path):
    ctx = make_ctx(tmp_path, "ret", kind="single", text=True, dataset="msrvtt")

    class NanText(ConstantText):
        def forward(self, texts):
            out = super().forward(texts).clone()
            out[0, 0] = float("nan")
            return out

    ctx.adapter._text = NanText()
    with pytest.raises(NonFiniteError, match="text features"):
        PROTOCOLS["ret"](ctx)


def test_collapsed_features_are_noted(tmp_path):
    from tvts_bench.bench.runner import _finite_features

    notes: list[str] = []
    ctx = make_ctx(tmp_path, "v2v", feature_fn=constant)
    _finite_features(ctx.features, notes)("test")
    assert len(notes) == 1 and "collapsed features" in notes[0]
    _finite_features(make_ctx(tmp_path, "v2v", feature_fn=random_features).features, notes)("test")
    assert len(notes) == 1
