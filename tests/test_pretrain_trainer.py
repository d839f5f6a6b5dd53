"""Training on the tiny world: learning the pretext task, divergence handling, exact kill-resume."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tvts_bench.data.readers import read_dataset
from tvts_bench.pretrain.checkpoint import latest_checkpoint, load_for_eval
from tvts_bench.pretrain.dataset import EpochBatches
from tvts_bench.pretrain.objectives import objective_config
from tvts_bench.pretrain.presets import get_preset
from tvts_bench.pretrain.trainer import TrainConfig, Trainer, TrainingDiverged, lr_factor


def _records(world: Path):
    index = read_dataset("yttemporal", world / "yttemporal")
    return index.records("train"), index.splits.get("val", [])


def _config(run_dir: Path, objective: str = "tvts", **kw) -> TrainConfig:
    base = dict(run_dir=run_dir, objective=objective_config(objective), preset=get_preset("tiny"), steps=10,
                batch_size=8, lr=1e-3, schedule="constant", warmup_steps=0, clip_grad=1.0, seed=0, workers=0,
                threads=1, log_every=1, val_every=0, ckpt_every=1000, resume=False, progress=False)
    base.update(kw)
    return TrainConfig(**base)


def _metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_schedules():
    assert lr_factor(0, 100, "step", 0) == 1.0
    assert lr_factor(59, 100, "step", 0) == 1.0
    assert lr_factor(60, 100, "step", 0) == pytest.approx(0.1)
    assert lr_factor(80, 100, "step", 0) == pytest.approx(0.01)
    assert lr_factor(0, 100, "cosine", 10) == pytest.approx(0.1)
    assert lr_factor(10, 100, "cosine", 10) == pytest.approx(1.0)
    assert lr_factor(55, 100, "cosine", 10) == pytest.approx(0.5)
    assert lr_factor(100, 100, "cosine", 10) == pytest.approx(0.0, abs=1e-9)


def test_epoch_batches_shard_and_resume_mid_epoch():
    full = list(EpochBatches(20, 3, seed=1, epoch=2))
    assert len(full) == 6
    assert list(EpochBatches(20, 3, seed=1, epoch=2, start=4)) == full[4:]
    r0 = list(EpochBatches(20, 3, seed=1, epoch=2, rank=0, world_size=2))
    r1 = list(EpochBatches(20, 3, seed=1, epoch=2, rank=1, world_size=2))
    single6 = list(EpochBatches(20, 6, seed=1, epoch=2))
    assert [a + b for a, b in zip(r0, r1)] == single6          # ranks split each global batch
    assert full != list(EpochBatches(20, 3, seed=1, epoch=3))    # a new order every epoch


@pytest.mark.slow
def test_tiny_model_learns_the_sorting_task(tiny_world, tmp_path):
    train, val = _records(tiny_world)
    cfg = _config(tmp_path / "run", steps=40)
    result = Trainer(cfg, train, val).fit()
    assert result.status == "finished"          # (only sort-only runs get the "did not converge" status)
    rows = [m for m in _metrics(tmp_path / "run") if "split" not in m]
    assert [m["step"] for m in rows] == list(range(1, 41))
    first = sum(m["sort_acc"] for m in rows[:5]) / 5
    last = sum(m["sort_acc"] for m in rows[-10:]) / 10            # 80 training samples
    chance = 1 / 24
    assert last > 0.15 > 3 * chance, (first, last)
    assert sum(m["l_sort"] for m in rows[-10:]) / 10 < math.log(4) - 0.3
    assert sum(m["con_acc"] for m in rows[-10:]) / 10 > 0.5      # 8 clips per batch: chance 1/8
    assert result.checkpoint is not None and latest_checkpoint(tmp_path / "run") == result.checkpoint


def _nan_at(step_to_break: int):
    def hook(step: int, out: dict) -> None:
        if step + 1 == step_to_break:
            out["loss"] = out["loss"] * float("nan")
    return hook


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny_world, tmp_path):
    train, val = _records(tiny_world)
    run = tmp_path / "run"
    trainer = Trainer(_config(run, steps=6, ckpt_every=2), train, val, step_hook=_nan_at(4))
    with pytest.raises(TrainingDiverged, match="loss became nan at step 4"):
        trainer.fit()
    assert latest_checkpoint(run).name == "step-00000002"
    good = load_for_eval(latest_checkpoint(run))
    assert all(torch.isfinite(v).all() for v in good.state_dict.values())
    assert json.loads((run / "summary.json").read_text())["status"] == "diverged"


def test_sort_only_is_reported_as_not_converging(tiny_world, tmp_path):
    train, val = _records(tiny_world)
    run = tmp_path / "sort"
    # (a) the loss blows up: reported, not raised
    result = Trainer(_config(run, "sort", steps=5, ckpt_every=2), train, val, step_hook=_nan_at(3)).fit()
    assert result.status == "did not converge" and "L_sort alone did not converge" in result.message
    assert result.checkpoint is not None and result.checkpoint.name == "step-00000002"
    # (b) it runs to the end without learning: the verdict says so
    result = Trainer(_config(tmp_path / "sort2", "sort", steps=3, val_every=3), train, val).fit()
    assert result.status == "did not converge" and "not clearly above chance" in result.message
    summary = json.loads((tmp_path / "sort2" / "summary.json").read_text())
    assert summary["status"] == "did not converge" and summary["checkpoint"].endswith("step-00000003")


def test_run_config_records_base_loss_and_transcript_source(tiny_world, tmp_path):
    from tvts_bench.errors import ConfigError

    train, val = _records(tiny_world)
    run = tmp_path / "run"
    obj = objective_config("tvts", base_loss_scale="mean")
    cfg = _config(run, steps=1, transcripts="subtitles")
    cfg.objective = obj
    result = Trainer(cfg, train, val).fit()
    assert result.status == "finished"
    cfg = json.loads((run / "run_config.json").read_text())
    assert cfg["objective_config"]["base_loss_scale"] == "mean" and cfg["objective_config"]["lam"] == 2.0
    assert cfg["train"]["transcripts"] == "subtitles" and cfg["transcript_source"] == "subtitles"
    assert cfg["transcripts"]["counts"] == {"denoised": 0, "subtitles": len(train), "none": 0}
    assert cfg["transcripts"]["val"]["source"] == "subtitles"
    # the defaults: the paper's sum, and the denoised words (the built-in world writes them)
    default = Trainer(_config(tmp_path / "d", steps=1), train, val).run_config()
    assert default["objective_config"]["base_loss_scale"] == "sum"
    assert default["transcript_source"] == "denoised" and default["transcripts"]["mode"] == "auto"
    # resuming a run folder with other transcripts (or another L_base scaling) is refused
    cfg = _config(run, steps=2, resume=True)
    cfg.objective = obj
    with pytest.raises(ConfigError, match="--transcripts subtitles"):
        Trainer(cfg, train, val).try_resume()
    with pytest.raises(ConfigError, match="objective_config"):
        Trainer(_config(run, steps=2, resume=True, transcripts="subtitles"), train, val).try_resume()


def _args(name: str, steps: int) -> list[str]:
    return ["pretrain", "--preset", "tiny", "--world-preset", "tiny", "--steps", str(steps), "--name", name,
            "--ckpt-every", "2", "--val-every", "0", "--log-every", "1", "--workers", "0", "--threads", "1",
            "--quiet"]


def _cli(name: str, steps: int) -> list[str]:
    return [sys.executable, "-c", "from tvts_bench.cli import main; main()", *_args(name, steps)]


@pytest.mark.slow
def test_killed_and_resumed_run_ends_bit_identical(bench_home):
    from safetensors.torch import load_file

    from click.testing import CliRunner

    from tvts_bench.cli import cli

    env = dict(os.environ)
    steps = 8
    res = CliRunner().invoke(cli, _args("straight", steps))       # the uninterrupted run, in-process
    assert res.exit_code == 0, res.output

    run = bench_home / "runs" / "killed"
    proc = subprocess.Popen(_cli("killed", steps), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while latest_checkpoint(run) is None and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = latest_checkpoint(run)
    assert killed_at is not None and int(killed_at.name.split("-")[1]) < steps

    out = subprocess.run(_cli("killed", steps), env=env, check=True, capture_output=True,
                         text=True, timeout=300)
    assert "resumed from" in out.stderr
    a = load_file(str(latest_checkpoint(bench_home / "runs" / "straight") / "model.safetensors"))
    b = load_file(str(latest_checkpoint(run) / "model.safetensors"))
    assert latest_checkpoint(run).name == f"step-{steps:08d}"
    assert set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    steps_logged = [m["step"] for m in _metrics(run) if "split" not in m]
    assert steps_logged == list(range(1, steps + 1))              # no duplicates after the resume
