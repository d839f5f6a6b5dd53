"""`tvts-bench run`: the runner with fake protocols, failure isolation, skipping, and every task end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tvts_bench.bench import runner as runner_mod
from tvts_bench.bench.context import ProtocolContext, ProtocolOutput
from tvts_bench.bench.result_schema import MetricValue
from tvts_bench.bench.results import read_result, read_samples
from tvts_bench.bench.runner import RunOptions, run_tasks
from tvts_bench.cli import cli

MISSION = [f"{d}-{p}" for d in ("ssv2", "k400", "ucf101", "hmdb51") for p in ("linear", "v2v", "ft")] + [
    f"{d}-{p}" for d in ("msrvtt", "didemo", "msvd", "lsmdc") for p in ("ret", "ret-ft")]
CALLS: list[str] = []


def nearest_centroid(ctx: ProtocolContext) -> ProtocolOutput:
    """A real (if simple) classifier on the cached features, standing in for the linear probe."""
    CALLS.append(ctx.task.name)
    train = ctx.features(ctx.task.splits.train)
    test = ctx.features(ctx.task.splits.test)
    classes = np.unique(train.labels)
    centroids = np.stack([train.features[train.labels == c].mean(0) for c in classes])
    d = ((test.features[:, None, :] - centroids[None]) ** 2).sum(-1)
    order = classes[np.argsort(d, axis=1)]
    hits1 = order[:, 0] == test.labels
    hits5 = (order[:, :5] == test.labels[:, None]).any(1)
    return ProtocolOutput(
        metrics={"top1": MetricValue(value=100 * hits1.mean(), n=len(hits1)),
                 "top5": MetricValue(value=100 * hits5.mean(), n=len(hits5))},
        per_sample=[{"sample_id": r.video_id, "top1": float(h1), "top5": float(h5)}
                    for r, h1, h5 in zip(test.records, hits1, hits5)],
        clips=0)


def broken(ctx: ProtocolContext) -> ProtocolOutput:
    CALLS.append(ctx.task.name)
    raise RuntimeError("boom in the protocol")


FAKE = {"linear": nearest_centroid, "v2v": broken}


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def test_one_failing_task_does_not_stop_the_others(bench_home: Path) -> None:
    opts = RunOptions(model="scratch", tasks="ssv2-linear,ssv2-v2v,msrvtt-ret,ucf101-linear", shard_size=16)
    summary = run_tasks(opts, protocols=FAKE, show_progress=False)
    status = {o.task: o.status for o in summary.outcomes}
    assert status == {"ssv2-linear": "ok", "ssv2-v2v": "failed", "msrvtt-ret": "n/a", "ucf101-linear": "ok"}
    assert "no text tower" in summary.outcomes[2].reason        # does not apply; not a failure
    assert CALLS == ["ssv2-linear", "ssv2-v2v", "ucf101-linear"]
    assert "boom in the protocol" in summary.failed[0].error

    results = bench_home / "results" / "scratch"
    assert not (results / "ssv2-v2v").exists()
    rec = read_result(results / "ssv2-linear" / "builtin-seed0.json")
    assert rec.task.name == "ssv2-linear" and rec.task.hash and rec.seed == 0
    assert rec.data.source == "builtin" and rec.data.manifest_hash and rec.data.listed > 0
    assert rec.model.weights_hash and rec.model.family == "scratch"
    assert rec.provenance.tvts_bench_version and rec.provenance.torch_version
    assert rec.provenance.device.startswith("cpu")
    cache = rec.provenance.extra["feature_cache"]
    assert cache["shards_extracted"] > 0 and cache["clips_extracted"] > 0
    assert rec.provenance.clips_per_second and rec.provenance.clips_per_second > 0
    samples = read_samples(results / "ssv2-linear" / "builtin-seed0.json")
    assert len(samples) == rec.metrics["top1"].n and set(samples[0]) == {"sample_id", "top1", "top5"}


def test_second_run_skips_and_always_reuses_features(bench_home: Path) -> None:
    opts = RunOptions(model="scratch", tasks="ssv2-linear", seeds=(0, 1), shard_size=16)
    first = run_tasks(opts, protocols=FAKE, show_progress=False)
    assert [o.status for o in first.outcomes] == ["ok", "ok"]
    path = bench_home / "results" / "scratch" / "ssv2-linear" / "builtin-seed1.json"
    stamp = path.stat().st_mtime_ns

    again = run_tasks(opts, protocols=FAKE, show_progress=False)
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]
    assert CALLS == ["ssv2-linear"] * 2                      # the protocol did not run again
    assert path.stat().st_mtime_ns == stamp
    assert again.outcomes[0].value == first.outcomes[0].value

    forced = run_tasks(RunOptions(**{**opts.__dict__, "overwrite": "always"}), protocols=FAKE,
                       show_progress=False)
    assert [o.status for o in forced.outcomes] == ["ok", "ok"]
    rec = read_result(path)
    assert rec.provenance.extra["feature_cache"]["shards_extracted"] == 0     # all from the cache
    assert rec.provenance.extra["feature_cache"]["hits"] == 2

    # a changed protocol parameter changes the task hash: the old result is stale, not skipped
    changed = run_tasks(RunOptions(**{**opts.__dict__, "task_params": ("linear.C=[1.0]",)}), protocols=FAKE,
                        show_progress=False)
    assert [o.reason for o in changed.outcomes] == ["stale: task card changed"] * 2

    never = run_tasks(RunOptions(**{**opts.__dict__, "overwrite": "never"}), protocols=FAKE,
                      show_progress=False)
    assert all(o.status == "failed" and "result exists" in o.error for o in never.outcomes)


def test_cli_reports_failure_panel_table_and_exit_code(bench_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_mod, "load_protocols", lambda: FAKE)
    res = CliRunner().invoke(cli, ["run", "--model", "scratch", "--tasks", "ssv2-linear,ssv2-v2v", "-q"])
    assert res.exit_code == 1, res.output
    assert "ssv2-v2v (seed 0) failed" in res.output and "boom in the protocol" in res.output
    assert "ssv2-linear" in res.output and "top1" in res.output
    res = CliRunner().invoke(cli, ["run", "--model", "scratch", "--tasks", "ssv2-linear", "-q"])
    assert res.exit_code == 0 and "skipped" in res.output
    res = CliRunner().invoke(cli, ["run", "--model", "scratch", "--tasks", "ssv2-lnear"])
    assert res.exit_code != 0 and "did you mean ssv2-linear" in str(res.exception)


@pytest.mark.slow
def test_every_task_on_the_tiny_world_from_the_cli(bench_home: Path) -> None:
    """Every mission task runs from the CLI on the built-in world for the built-in scratch model."""
    # World-sized and then some: one epoch, one test view, one C, few bootstrap resamples.
    tiny = [f"--task-param={p}" for p in (
        "ft.epochs=1", "ft.warmup_epochs=0", "ft.sampling.clips=1", "ft.sampling.crops=1", "ret-ft.epochs=1",
        "linear.C=[1.0]", "linear.diagnostics=[]", "v2v.diagnostics=[]",
        "ssv2-v2v.diagnostics=[shuffled,repeated]", "*.bootstrap=20")] + ["--batch-size", "4", "-q"]
    video_only = [t for t in MISSION if not t.endswith("-ret")]
    args = ["run", "--model", "scratch", "--tasks", ",".join(video_only), *tiny]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    for task in video_only:
        rec = read_result(bench_home / "results" / "scratch" / task / "builtin-seed0.json")
        assert rec.task.main_metric in rec.metrics and rec.data.source == "builtin"
        assert rec.provenance.seconds > 0
        side = bench_home / "results" / "scratch" / task / "builtin-seed0.samples.jsonl"
        assert side.exists() and json.loads(side.read_text().splitlines()[0])
    # the temporal-sensitivity diagnostic sits beside the normal score
    v2v = read_result(bench_home / "results" / "scratch" / "ssv2-v2v" / "builtin-seed0.json")
    assert set(v2v.diagnostics) == {"shuffled", "repeated"} and "R@1" in v2v.diagnostics["shuffled"]

    # zero-shot text retrieval needs a text tower: scratch has none, so the task does not apply
    res = CliRunner().invoke(cli, ["run", "--model", "scratch", "--tasks", "msrvtt-ret,lsmdc-ret", "-q"])
    assert res.exit_code == 0 and "2 n/a" in res.output, res.output

    # the second identical run recomputes nothing: every task is skipped, no file is rewritten
    stamps = {p: p.stat().st_mtime_ns for p in (bench_home / "results").rglob("*.json")}
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and f"{len(video_only)} skipped;" in again.output, again.output
    assert stamps == {p: p.stat().st_mtime_ns for p in (bench_home / "results").rglob("*.json")}


def test_a_training_protocol_cannot_leak_weights_into_the_next_task(bench_home: Path) -> None:
    import torch

    hashes: list[str] = []

    def vandal(ctx: ProtocolContext) -> ProtocolOutput:     # fine-tunes the adapter's own modules in place
        with torch.no_grad():
            for p in ctx.adapter.video_backbone().parameters():
                p.add_(1.0)
                p.requires_grad_(False)
        return ProtocolOutput(metrics={"top1": MetricValue(value=1.0), "top5": MetricValue(value=2.0)})

    def probe(ctx: ProtocolContext) -> ProtocolOutput:
        from tvts_bench.hashing import state_dict_hash

        hashes.append(state_dict_hash({f"video.{k}": v for k, v in ctx.adapter.video_backbone().state_dict().items()}))
        assert all(p.requires_grad for p in ctx.adapter.video_backbone().parameters())
        return ProtocolOutput(metrics={"top1": MetricValue(value=1.0), "top5": MetricValue(value=2.0)})

    opts = RunOptions(model="scratch", tasks="ssv2-linear,ssv2-ft,ucf101-linear")
    summary = run_tasks(opts, protocols={"linear": probe, "ft": vandal}, show_progress=False)
    assert [o.status for o in summary.outcomes] == ["ok", "ok", "ok"]
    assert len(hashes) == 2 and hashes[0] == hashes[1]


def test_default_decode_workers_follow_device_and_cores(monkeypatch):
    from tvts_bench import runtime

    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    for cpus, cuda, cpu in ((1, 0, 0), (2, 1, 0), (4, 3, 0), (16, 8, 4), (64, 8, 8)):
        monkeypatch.setattr(runtime, "available_cpus", lambda n=cpus: n)
        assert (runtime.default_decode_workers("cuda:0"), runtime.default_decode_workers("cpu")) == (cuda, cpu)
    monkeypatch.setattr(runtime, "available_cpus", lambda: 64)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")           # 8 processes per node share the 64 CPUs
    assert (runtime.default_decode_workers("cuda"), runtime.default_decode_workers("cpu")) == (7, 2)
