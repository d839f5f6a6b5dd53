"""The attentive probe (V-JEPA recipe) on constructed tokens, its selection on held-out train, chance
for a constant encoder, clear errors; and token features from a VideoViT through the runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.test_protocols import assert_well_formed, make_ctx
from tvts_bench.bench.context import FeatureSet
from tvts_bench.bench.protocols import PROTOCOLS
from tvts_bench.errors import NonFiniteError, TvtsBenchError

FAST = {"epochs": 8, "batch_size": 16, "lr": 3e-3, "weight_decay": 0.01, "bootstrap": 100}


def token_ctx(tmp_path, params, tokens_fn, **kw):
    ctx = make_ctx(tmp_path, "attn", {**FAST, **params}, **kw)
    index = ctx.index

    def features(split, variant="normal", *, joint=False, tokens=False):
        assert tokens, "the attentive probe asks for tokens"
        recs = index.records(split)
        return FeatureSet(features=tokens_fn(recs, variant).astype(np.float16), records=list(recs),
                          labels=np.array([r.label for r in recs]), tokens=True)

    ctx.features = features
    return ctx


def separable(recs, variant):
    """Six noisy tokens of width 16; the class shows in one channel of every token."""
    rng = np.random.default_rng(len(recs))
    x = rng.normal(size=(len(recs), 6, 16))
    for i, r in enumerate(recs):
        x[i, :, r.label] += 2.0
    return x


def constant(recs, variant):
    return np.ones((len(recs), 6, 16))


def test_attentive_probe_learns_and_reports(tmp_path):
    out = PROTOCOLS["attn"](token_ctx(tmp_path, {"diagnostics": ["reversed"]}, separable))
    assert_well_formed(out, ["top1", "top5"])
    assert out.metrics["top1"].value > 60
    info = out.extra["attn"]
    assert info["tokens"] == 6 and info["token_dim"] == 16 and info["heads"] == 2 and "V-JEPA" in info["recipe"]
    assert set(out.diagnostics) == {"reversed"}


def test_lr_and_weight_decay_are_chosen_on_held_out_train(tmp_path):
    out = PROTOCOLS["attn"](token_ctx(tmp_path, {"lr": [3e-3, 1e-5], "weight_decay": [0.01, 0.1]}, separable))
    seed = out.extra["attn"]["per_seed"][0]
    assert len(seed["heldout_top1"]) == 4
    best = max(seed["heldout_top1"].values())
    assert seed["heldout_top1"][f"lr={seed['lr']:g},wd={seed['weight_decay']:g}"] == best


def test_constant_tokens_score_chance(tmp_path):
    out = PROTOCOLS["attn"](token_ctx(tmp_path, {}, constant))
    assert out.metrics["top1"].value == pytest.approx(25.0)          # one prediction for all: 1 class in 4
    assert out.metrics["top5"].value == pytest.approx(100.0)


def test_nan_tokens_and_models_without_tokens_fail_clearly(tmp_path):
    def half_nan(recs, variant):
        x = separable(recs, variant)
        x[::2, 0, 0] = np.nan
        return x

    with pytest.raises(NonFiniteError, match="tokens"):
        PROTOCOLS["attn"](token_ctx(tmp_path, {}, half_nan))
    ctx = make_ctx(tmp_path, "attn", FAST)

    def no_tokens(split, variant="normal", *, joint=False, tokens=False):
        ctx.adapter.encode_tokens(None)

    ctx.features = no_tokens
    with pytest.raises(TvtsBenchError, match="ssv2-attn: model tiny gives no token features"):
        PROTOCOLS["attn"](ctx)


def test_attn_card_on_the_tiny_world(bench_home: Path):
    args = ["run", "--model", "scratch", "--tasks", "ssv2-attn", "-q", "--task-param", "attn.epochs=2",
            "--task-param", "attn.lr=1e-3", "--task-param", "attn.weight_decay=0.01",
            "--task-param", "attn.diagnostics=[reversed]", "--task-param", "attn.bootstrap=50"]
    res = CliRunner().invoke(cli_main(), args)
    assert res.exit_code == 0, res.output
    from tvts_bench.bench.results import read_result

    rec = read_result(bench_home / "results" / "scratch" / "ssv2-attn" / "builtin-seed0.json")
    assert rec.task.protocol == "attn" and "reversed" in rec.diagnostics
    info = rec.provenance.extra["protocol"]["attn"]
    assert info["tokens"] > 1
    token_shards = [a for a in (np.load(p) for p in (bench_home / "cache" / "features").rglob("shard-*.npy"))
                    if a.ndim == 3]
    assert token_shards and all(a.dtype == np.float16 and a.shape[1] == info["tokens"] for a in token_shards)


def cli_main():
    from tvts_bench.cli import cli

    return cli
