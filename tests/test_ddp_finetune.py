"""Fine-tuning (the ``ft`` protocol) runs under ``torchrun`` DDP on CPU with the gloo backend.

Two ranks fine-tune the built-in scratch model on the tiny world's ssv2; only rank 0 writes the result,
and its provenance says two processes made it. A one-process run of the same task on a fresh home
gives a valid result too (numbers are not compared: the shards, the padding and the per-rank batches
differ, so nothing guarantees equality).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tvts_bench.bench.results import read_result
from tvts_bench.cli import cli
from tvts_bench.data.readers import read_dataset

TASK = "ssv2-ft"
# One short epoch, one test view, few bootstrap resamples: the point is the DDP plumbing, not accuracy.
TINY = [f"--task-param={p}" for p in ("ft.epochs=1", "ft.warmup_epochs=0", "ft.sampling.clips=1",
                                      "ft.sampling.crops=1", "*.bootstrap=20")] + ["--batch-size", "4", "-q"]
ARGS = ["run", "--model", "scratch", "--tasks", TASK, *TINY]


def _result_files(home: Path) -> list[Path]:
    return sorted((home / "results").rglob("*.json"))


def _assert_valid(home: Path, world: Path, world_size: int) -> dict[str, float]:
    files = _result_files(home)
    expected = home / "results" / "scratch" / TASK / "builtin-seed0.json"
    assert files == [expected], files                         # exactly one file: rank 1 wrote nothing
    rec = read_result(expected)
    assert rec.task.name == TASK and rec.task.protocol == "ft" and rec.data.source == "builtin"
    assert rec.provenance.extra["world_size"] == world_size
    assert rec.provenance.extra["protocol"]["ft"]["world_size"] == world_size
    assert rec.provenance.extra["protocol"]["ft"]["epochs"] == 1
    assert {"top1", "top5"} <= set(rec.metrics)
    values = {k: m.value for k, m in rec.metrics.items()}
    for name, value in values.items():
        assert math.isfinite(value) and 0.0 <= value <= 100.0, (name, value)
    assert values["top1"] <= values["top5"]
    # every test video was scored once, whatever rank scored it (no padding duplicates, none lost)
    side = expected.with_name("builtin-seed0.samples.jsonl")
    scored = [json.loads(line)["sample_id"] for line in side.read_text().splitlines() if line.strip()]
    test_ids = [r.video_id for r in read_dataset("ssv2", world / "ssv2").records("validation")]
    assert sorted(scored) == sorted(test_ids) and rec.metrics["top1"].n == len(test_ids)
    return values


@pytest.mark.ddp
@pytest.mark.slow
def test_finetune_under_torchrun_two_ranks_gloo(bench_home: Path, tiny_world: Path, tmp_path: Path) -> None:
    env = dict(os.environ, TVTS_BENCH_HOME=str(bench_home), TVTS_BENCH_WORLD_PRESET="tiny",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "tvts_bench.cli", *ARGS, "--device", "cpu"]
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-6000:]}"
    ddp = _assert_valid(bench_home, tiny_world, world_size=2)

    # The same task in one process (fresh home on the same world: no checkpoint or result to reuse).
    single = tmp_path / "single-home"
    (single / "world").mkdir(parents=True)
    (single / "world" / "tiny-seed0").symlink_to(tiny_world, target_is_directory=True)
    res = CliRunner().invoke(cli, [*ARGS[:1], "--home", str(single), *ARGS[1:]])
    assert res.exit_code == 0, res.output
    one = _assert_valid(single, tiny_world, world_size=1)
    assert set(one) == set(ddp)
