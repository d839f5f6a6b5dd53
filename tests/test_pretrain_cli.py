"""Every objective and ablation flag runs from the CLI on the tiny world and leaves a usable checkpoint."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from tvts_bench.cli import cli
from tvts_bench.pretrain.checkpoint import latest_checkpoint, load_for_eval


@pytest.mark.slow
@pytest.mark.parametrize("objective,extra,run_name", [
    ("tvts", ["--sort-head", "factorial", "--mask", "tube"], "tvts-factorial-tubemask-tiny"),
    ("tvts", ["--sort-time-code", "sinusoid", "--sort-video-input", "slices", "--mask-ratio", "0.5"],
     "tvts-timesinusoid-slices-mask0.5-tiny"),
    ("base", ["--base-loss", "mean", "--transcripts", "subtitles"], "tvts-base-meanbase-subtitles-tiny"),
    ("sort", ["--no-stop-grad", "--sort-head", "pairwise"], "tvts-sort-nostopgrad-pairwise-tiny"),
    ("videomae", [], "videomae-tiny"),
    ("clip", [], "clip-tiny"),
])
def test_every_objective_runs_from_the_cli(bench_home, objective, extra, run_name):
    args = ["pretrain", "--preset", "tiny", "--objective", objective, "--steps", "2", "--batch-size", "4",
            "--workers", "0", "--threads", "1", "--val-every", "2", "--quiet", *extra]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    run = bench_home / "runs" / run_name
    ckpt = latest_checkpoint(run)
    assert ckpt is not None and ckpt.name == "step-00000002"
    assert f"checkpoint: {ckpt}" in res.output.replace("\n", "")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    cfg = json.loads((run / "run_config.json").read_text())
    if "--sort-video-input" in extra:                         # small-scale flags, recorded
        assert cfg["objective_config"]["mask_ratio"] == 0.5
        assert {k: cfg["model"]["sort"][k] for k in ("time_code", "video_input")} == {
            "time_code": "sinusoid", "video_input": "slices"}
    if objective == "base":                                   # the ablation flags, recorded and shown
        assert cfg["objective_config"]["base_loss_scale"] == "mean" and "L_base: mean" in res.output
        assert cfg["transcript_source"] == "subtitles" and "transcripts (subtitles): subtitles" in res.output
    elif objective != "videomae":                             # defaults: paper eq. 3, denoised words
        assert cfg["objective_config"]["base_loss_scale"] == "sum"
        assert cfg["transcript_source"] == "denoised" and "transcripts (auto): denoised" in res.output
    assert {"step", "loss", "sort_acc"} <= set(rows[0])
    assert any(r.get("split") == "val" for r in rows)
    if objective == "sort":
        assert "did not converge" in res.output

    bundle = load_for_eval(ckpt)
    assert bundle.objective == objective
    video = torch.randn(2, 3, bundle.preprocess.num_frames, bundle.preprocess.size, bundle.preprocess.size)
    with torch.no_grad():
        feats = bundle.video_encoder(video)
    assert feats.shape == (2, bundle.feature_dim)
    if objective in ("tvts", "base", "clip"):
        with torch.no_grad():
            t = bundle.text_proj(bundle.text_encoder(["a red ball falls", "the cube spins"]))
            v = bundle.video_proj(feats)
        assert t.shape == v.shape == (2, 64)
    else:
        assert bundle.text_proj is None


def test_bad_options_are_user_errors(bench_home):
    res = CliRunner().invoke(cli, ["pretrain", "--preset", "tiny", "--steps", "1", "--epochs", "1"])
    assert res.exit_code != 0 and "either --steps or --epochs" in str(res.exception)
    res = CliRunner().invoke(cli, ["pretrain", "--preset", "vit-b", "--steps", "1"])
    assert res.exit_code != 0 and "--text-model" in str(res.exception.hint)
