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
