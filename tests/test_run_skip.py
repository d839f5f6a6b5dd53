"""An identical second `run` decides every skip without loading the model (nor importing torch); new or
changed weights still make the runner load the model and recompute.

These tests need no built-in world: the datasets are copies of the real-format fixtures
(``tests/fixtures/datasets``) whose placeholder videos are replaced by small real ones."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tvts_bench.bench.context import ProtocolContext, ProtocolOutput
from tvts_bench.bench.result_schema import MetricValue
from tvts_bench.bench.results import read_result
from tvts_bench.bench.runner import RunOptions, run_tasks
from tvts_bench.zoo import identity as identity_mod

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"

CALLS: list[str] = []


def nearest_centroid(ctx: ProtocolContext) -> ProtocolOutput:
    """A small real classifier on the cached features (so different weights give different records)."""
    CALLS.append(ctx.task.name)
    train, test = ctx.features(ctx.task.splits.train), ctx.features(ctx.task.splits.test)
    classes = np.unique(train.labels)
    centroids = np.stack([train.features[train.labels == c].mean(0) for c in classes])
    order = classes[np.argsort(((test.features[:, None] - centroids[None]) ** 2).sum(-1), axis=1)]
    top1 = float((order[:, 0] == test.labels).mean())
    top5 = float((order[:, :5] == test.labels[:, None]).any(1).mean())
    return ProtocolOutput(metrics={"top1": MetricValue(value=100 * top1, n=len(test.labels)),
                                   "top5": MetricValue(value=100 * top5, n=len(test.labels))}, clips=0)


FAKE = {"linear": nearest_centroid}


class Loader:
    """Counts calls of zoo.registry.load_model; refuses them when ``refuse`` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        from tvts_bench.zoo import registry

        self.real, self.calls, self.refuse = registry.load_model, 0, False
        monkeypatch.setattr(registry, "load_model", self)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.refuse:
            raise AssertionError("the model was loaded although every result exists")
        return self.real(*args, **kwargs)


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ssv2, hmdb51 and msrvtt in their real layouts, every listed video a real 12-frame clip."""
    from tvts_bench.world.video_io import CODECS, write_video

    root = tmp_path_factory.mktemp("data")
    for k, name in enumerate(("ssv2", "hmdb51", "msrvtt")):
        shutil.copytree(FIXTURES / name, root / name)
        for i, path in enumerate(sorted(p for p in (root / name).rglob("*") if p.suffix in CODECS)):
            rng = np.random.default_rng(100 * k + i)
            write_video(path, rng.integers(0, 256, (12, 48, 64, 3), dtype=np.uint8), 12)
    return root


@pytest.fixture()
def bench_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_root: Path) -> Path:
    """A fresh TVTS_BENCH_HOME (no built-in world: every task reads ``data_root``)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TVTS_BENCH_HOME", str(home))
    for name in list(os.environ):
        if name.startswith("TVTS_BENCH_DATA_"):
            monkeypatch.delenv(name)
    return home


def _opts(data_root: Path, **kwargs) -> RunOptions:
    return RunOptions(**{"data_root": str(data_root), "shard_size": 16, **kwargs})


def _run(opts: RunOptions, **changes) -> list:
    summary = run_tasks(RunOptions(**{**opts.__dict__, **changes}), protocols=FAKE, show_progress=False)
    assert not summary.failed, [o.error for o in summary.failed]
    return summary.outcomes


def test_identical_second_run_never_loads_the_model(bench_home: Path, data_root: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    loader = Loader(monkeypatch)
    opts = _opts(data_root, model="scratch", tasks="ssv2-linear,msrvtt-ret", seeds=(0, 1))
    first = _run(opts)
    assert [o.status for o in first] == ["ok", "ok", "n/a", "n/a"] and loader.calls == 1
    path = bench_home / "results" / "scratch" / "ssv2-linear" / "real-seed1.json"
    stamp, record = path.stat().st_mtime_ns, read_result(path)
    memos = list((bench_home / "cache" / "model-identity").glob("*.json"))
    assert len(memos) == 1 and json.loads(memos[0].read_text())["weights_hash"] == record.model.weights_hash

    loader.refuse = True
    again = _run(opts)
    assert [(o.status, o.reason) for o in again[:2]] == [("skipped", "exists")] * 2
    assert [o.status for o in again[2:]] == ["n/a", "n/a"]       # no text tower: known from the memo
    assert [o.value for o in again[:2]] == [o.value for o in first[:2]]
    assert CALLS == ["ssv2-linear"] * 2 and path.stat().st_mtime_ns == stamp

    # --overwrite always recomputes (one load; features from the cache) and writes the same numbers
    loader.refuse, loader.calls = False, 0
    forced = _run(opts, overwrite="always")
    assert [(o.status, o.reason) for o in forced[:2]] == [("ok", "overwrite")] * 2 and loader.calls == 1
    assert CALLS == ["ssv2-linear"] * 4
    rerun = read_result(path)
    assert rerun.metrics == record.metrics and rerun.model == record.model
    assert rerun.provenance.extra["feature_cache"]["shards_extracted"] == 0

    # a changed task card is still stale without a load of the model ... and then loads it to recompute
    loader.calls = 0
    changed = _run(opts, tasks="ssv2-linear", task_params=("linear.C=[1.0]",))
    assert [o.reason for o in changed] == ["stale: task card changed"] * 2 and loader.calls == 1


def test_with_a_memo_the_model_loads_once_and_only_for_what_must_be_computed(
        bench_home: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loader = Loader(monkeypatch)
    opts = _opts(data_root, model="scratch", tasks="ssv2-linear")
    _run(opts)
    loader.calls = 0
    # ssv2-linear is decided from the memo (skipped); hmdb51-linear and its second seed need the
    # model: one load serves both, and nothing is decided twice.
    outcomes = _run(opts, tasks="ssv2-linear,hmdb51-linear", seeds=(0, 1))
    assert [(o.task, o.seed, o.status) for o in outcomes] == [
        ("ssv2-linear", 0, "skipped"), ("ssv2-linear", 1, "ok"), ("hmdb51-linear", 0, "ok"),
        ("hmdb51-linear", 1, "ok")]
    assert loader.calls == 1 and CALLS == ["ssv2-linear", "ssv2-linear", "hmdb51-linear", "hmdb51-linear"]


def test_a_model_that_cannot_load_fails_only_what_must_be_computed(
        bench_home: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loader = Loader(monkeypatch)
    opts = _opts(data_root, model="scratch", tasks="ssv2-linear")
    _run(opts)

    def broken(*args, **kwargs):
        raise OSError("disk gone")

    loader.real = broken
    summary = run_tasks(_opts(data_root, model="scratch", tasks="ssv2-linear,hmdb51-linear"), protocols=FAKE,
                        show_progress=False)
    assert [(o.task, o.status) for o in summary.outcomes] == [("ssv2-linear", "skipped"), ("hmdb51-linear", "failed")]
    assert "disk gone" in summary.outcomes[1].error and loader.calls == 2


def test_a_wrong_memo_is_corrected_by_the_load(bench_home: Path, data_root: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    loader = Loader(monkeypatch)
    opts = _opts(data_root, model="scratch", tasks="ssv2-linear")
    _run(opts)
    memo = next((bench_home / "cache" / "model-identity").glob("*.json"))
    memo.write_text(json.dumps({**json.loads(memo.read_text()), "weights_hash": "0" * 16}))
    loader.calls = 0
    again = _run(opts)                     # the memo says "other weights"; the load says otherwise
    assert [o.status for o in again] == ["skipped"] and loader.calls == 1 and CALLS == ["ssv2-linear"]
    assert json.loads(memo.read_text())["weights_hash"] != "0" * 16


def test_tasks_skipped_on_a_wrong_memo_are_decided_again_after_the_load(
        bench_home: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loader = Loader(monkeypatch)
    opts = _opts(data_root, model="scratch", tasks="ssv2-linear")
    _run(opts)
    # Other weights that the memo's key does not see (as if a file changed behind its metadata).
    real = loader.real

    def other_weights(*args, **kwargs):
        adapter = real(*args, **kwargs)
        adapter.weights_hash = lambda: "f" * 16
        return adapter

    loader.real = other_weights
    outcomes = _run(opts, tasks="ssv2-linear,hmdb51-linear")
    # ssv2-linear was first decided "skip" on the memo; hmdb51-linear's load showed other weights, so
    # both were decided again before anything was computed, and both ran, in task order.
    assert [(o.task, o.status) for o in outcomes] == [("ssv2-linear", "ok"), ("hmdb51-linear", "ok")]
    assert loader.calls == 2 and CALLS == ["ssv2-linear", "ssv2-linear", "hmdb51-linear"]
    path = bench_home / "results" / "scratch" / "ssv2-linear" / "real-seed0.json"
    assert read_result(path).model.weights_hash == "f" * 16


def _save_tvts_run(home: Path, step: int, seed: int) -> None:
    import torch

    from tvts_bench.nn.model import PretrainModel
    from tvts_bench.pretrain.checkpoint import save_checkpoint
    from tvts_bench.pretrain.presets import get_preset, model_config

    preset = get_preset("tiny")
    cfg = model_config(preset, "tvts", text_source="random-tiny")
    torch.manual_seed(seed)
    save_checkpoint(home / "runs" / "tvts", step, PretrainModel(cfg).eval(),
                    {"objective": "tvts", "model": cfg.as_dict(), "preprocess": preset.preprocess().as_dict()}, {})


def test_new_or_changed_checkpoint_reloads_and_recomputes(bench_home: Path, data_root: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _save_tvts_run(bench_home, 10, seed=0)
    loader = Loader(monkeypatch)
    opts = _opts(data_root, model="tvts", tasks="ssv2-linear")
    path = bench_home / "results" / "tvts" / "ssv2-linear" / "real-seed0.json"
    assert [o.status for o in _run(opts)] == ["ok"] and loader.calls == 1
    first = read_result(path).model.weights_hash

    loader.refuse = True
    assert [o.status for o in _run(opts)] == ["skipped"]

    # a new step in the run folder: the runner loads it and the old result is stale
    loader.refuse, loader.calls = False, 0
    _save_tvts_run(bench_home, 20, seed=1)
    assert [(o.status, o.reason) for o in _run(opts)] == [("ok", "stale: other weights")] and loader.calls == 1
    second = read_result(path)
    assert second.model.weights_hash != first and second.model.checkpoint.endswith("step-00000020")

    # the same step written again with other weights (same path, another file)
    loader.calls = 0
    _save_tvts_run(bench_home, 20, seed=2)
    assert [(o.status, o.reason) for o in _run(opts)] == [("ok", "stale: other weights")] and loader.calls == 1
    assert read_result(path).model.weights_hash not in (first, second.model.weights_hash)
    assert CALLS == ["ssv2-linear"] * 3


def test_skip_path_does_not_import_torch(bench_home: Path, data_root: Path) -> None:
    opts = _opts(data_root, model="scratch", tasks="ssv2-linear")
    _run(opts)
    script = ("import sys\nfrom tvts_bench.cli import cli\n"
              "try:\n    cli(['run', '--model', 'scratch', '--tasks', 'ssv2-linear',\n"
              f"         '--data-root', {str(data_root)!r}, '-q'], standalone_mode=False)\n"
              "finally:\n    print('torch imported:', 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "skipped (exists)" in out.stdout and "torch imported: False" in out.stdout


def test_no_key_for_user_factories_and_unknown_names(bench_home: Path) -> None:
    assert identity_mod.model_identity_key("models.py:make") is None
    assert identity_mod.model_identity_key("no-such-model") is None
    key = identity_mod.model_identity_key("scratch")
    assert key and key == identity_mod.model_identity_key("scratch")
    assert identity_mod.model_identity_key("scratch", device="cuda") != key
    (bench_home / "runs" / "tvts" / "checkpoints").mkdir(parents=True)
    (bench_home / "runs" / "tvts" / "checkpoints" / "latest").write_text("step-00000001\n")
    assert identity_mod.model_identity_key("scratch") != key     # scratch copies runs/tvts's architecture


def test_training_resume_files_are_keyed_by_data_and_weights(bench_home: Path, data_root: Path) -> None:
    """A fine-tuning resume file must never continue a run on other data or from other weights: the
    work folder a training protocol is given changes with either (it once was keyed by the task alone,
    and a calibration run on a regenerated world resumed the old world's finished fine-tuning)."""
    seen: list[Path] = []

    def record_work_dir(ctx: ProtocolContext) -> ProtocolOutput:
        seen.append(ctx.work_dir)
        return nearest_centroid(ctx)

    opts = _opts(data_root, model="tvts", tasks="ssv2-linear", overwrite="always")
    for seed in (0, 0, 1):
        _save_tvts_run(bench_home, 10, seed=seed)
        summary = run_tasks(opts, protocols={"linear": record_work_dir}, show_progress=False)
        assert not summary.failed
    assert seen[0] == seen[1] and seen[2] != seen[0]       # same weights: same folder; new weights: another
    assert all(p.is_dir() and p.is_relative_to(bench_home) for p in seen)
    # and the data: the key carries the dataset's manifest hash
    from tvts_bench.bench.registry import load_tasks
    from tvts_bench.bench.runner import prepare_data

    manifest = prepare_data(load_tasks()["ssv2-linear"], opts).manifest_hash
    assert f"data{manifest[:8]}" in seen[0].parent.name
