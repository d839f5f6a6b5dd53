"""From the CLI: a model whose features hold NaN fails each task with a clear message, writes no
result, the run goes on to the next task, and the process exits non-zero."""

from __future__ import annotations

from pathlib import Path

import pytest

NAN_MODEL = '''
import torch
from torch import nn
from tvts_bench.zoo.base import Preprocess


class HalfNan(nn.Module):
    def forward(self, video):
        out = video.float().mean(dim=(2, 3, 4)).repeat(1, 4)        # [B, 12]
        out[::2] = float("nan")                                     # every other clip of a batch
        return out


def factory():
    return HalfNan(), Preprocess(num_frames=4, size=32, short_side=32)
'''


def test_nan_features_fail_the_task_write_nothing_and_exit_non_zero(bench_home: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    from tvts_bench.cli import main

    model = tmp_path / "nan_model.py"
    model.write_text(NAN_MODEL)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--model", f"{model}:factory", "--tasks", "ssv2-v2v,ucf101-v2v", "-q",
              "--task-param", "*.bootstrap=50"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    for task in ("ssv2-v2v", "ucf101-v2v"):                         # the second task still ran
        assert f"{task} (seed 0) failed" in err
    assert "hold NaN or inf" in err and "nan_model-factory" in err
    results = bench_home / "results"
    assert not list(results.rglob("seed0.json")) if results.exists() else True


def test_main_passes_a_commands_failure_exit_code_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from tvts_bench import cli as cli_mod

    @click.command()
    def failing() -> None:
        raise click.exceptions.Exit(3)

    monkeypatch.setitem(cli_mod._COMMANDS, "failing", ("tests.test_run_validity:_FAILING", "fails"))
    monkeypatch.setattr(cli_mod.LazyGroup, "get_command", lambda self, ctx, name: failing)
    with pytest.raises(SystemExit) as exit_info:
        cli_mod.main(["failing"])
    assert exit_info.value.code == 3


def _constant_protocol(ctx):
    from tvts_bench.bench.context import ProtocolOutput
    from tvts_bench.bench.result_schema import MetricValue

    return ProtocolOutput(metrics={m: MetricValue(value=1.0, n=1) for m in ctx.task.metrics},
                          per_sample=[{"sample_id": "x", **{m: 1.0 for m in ctx.task.metrics}}])


def _tiny_videomae(folder: Path, seed: int) -> Path:
    import torch
    from transformers import VideoMAEConfig, VideoMAEModel

    torch.manual_seed(seed)
    VideoMAEModel(VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=32,
                                 num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=64)).save_pretrained(folder)
    return folder


def test_two_checkpoints_of_one_card_both_keep_their_results(bench_home: Path, tmp_path: Path) -> None:
    from tvts_bench.bench.runner import RunOptions, run_tasks

    fake = {"v2v": _constant_protocol}
    paths = []
    for seed in (1, 2):
        ckpt = _tiny_videomae(tmp_path / f"run{seed}" / "weights", seed)
        out = run_tasks(RunOptions(model="videomae", checkpoint=str(ckpt), tasks="ssv2-v2v"), protocols=fake,
                        show_progress=False)
        assert [o.status for o in out.outcomes] == ["ok"], out.outcomes[0].error
        paths.append(out.outcomes[0].path)
    assert paths[0] != paths[1] and all(p.is_file() for p in paths)
    names = sorted(p.parent.parent.name for p in paths)
    assert all(n.startswith("videomae-weights-") for n in names) and names[0] != names[1]
    # --name files them under the user's name instead; a name that is a path is refused
    named = run_tasks(RunOptions(model="videomae", checkpoint=str(tmp_path / "run1" / "weights"), tasks="ssv2-v2v",
                                 name="mine"), protocols=fake, show_progress=False)
    assert named.outcomes[0].path.parent.parent.name == "mine"


def test_run_refuses_a_name_that_is_a_path(bench_home: Path, capsys: pytest.CaptureFixture) -> None:
    from tvts_bench.cli import main

    for bad in ("../x", "/tmp/x", "a/b", ".."):
        with pytest.raises(SystemExit) as exit_info:
            main(["run", "--model", "scratch", "--tasks", "ssv2-v2v", "--name", bad])
        assert exit_info.value.code == 2
        assert "is not a valid name" in capsys.readouterr().err


def test_a_stale_result_is_moved_aside_not_deleted(bench_home: Path) -> None:
    from tvts_bench.bench.results import read_result
    from tvts_bench.bench.runner import RunOptions, run_tasks

    fake = {"v2v": _constant_protocol}
    opts = RunOptions(model="scratch", tasks="ssv2-v2v")
    first = run_tasks(opts, protocols=fake, show_progress=False).outcomes[0]
    old_hash = read_result(first.path).task.hash
    changed = run_tasks(RunOptions(model="scratch", tasks="ssv2-v2v", task_params=("v2v.ks=[1,5,10,50]",)),
                        protocols=fake, show_progress=False).outcomes[0]
    assert changed.reason == "stale: task card changed" and changed.path == first.path
    kept = list((bench_home / "results" / ".superseded").rglob("*.json"))
    assert len(kept) == 1 and read_result(kept[0]).task.hash == old_hash
    assert len(list((bench_home / "results" / ".superseded").rglob("*.samples.jsonl"))) == 1
    from tvts_bench.report.aggregate import load_results

    loaded, _ = load_results(bench_home / "results")                 # the leaderboard reads the current one
    assert [r.record.task.hash for r in loaded] == [read_result(first.path).task.hash]


def test_run_refuses_an_unknown_tensor_unless_accepted(bench_home: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture, monkeypatch) -> None:
    from safetensors.torch import load_file, save_file

    from tvts_bench.bench import runner as runner_mod
    from tvts_bench.bench.results import read_result
    from tvts_bench.cli import main

    folder = _tiny_videomae(tmp_path / "weights", 1)
    weights = folder / "model.safetensors"
    state = load_file(weights)
    state["encoder.layer.0.stray.weight"] = state["embeddings.patch_embeddings.projection.bias"].clone()
    save_file(state, weights, metadata={"format": "pt"})
    monkeypatch.setattr(runner_mod, "load_protocols", lambda: {"v2v": _constant_protocol})

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--model", "videomae", "--checkpoint", str(folder), "--tasks", "ssv2-v2v", "-q"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "encoder.layer.0.stray.weight" in err and "--accept-unused-tensors" in err
    assert not list((bench_home / "results").rglob("*.json")) if (bench_home / "results").exists() else True

    main(["run", "--model", "videomae", "--checkpoint", str(folder), "--tasks", "ssv2-v2v", "-q",
          "--accept-unused-tensors"])                               # returns: exit status 0
    [path] = list((bench_home / "results").rglob("builtin-seed0.json"))
    assert read_result(path).model.unused_tensors == ["encoder.layer.0.stray.weight"]
