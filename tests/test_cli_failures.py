"""Every command exits non-zero when any part of it failed, with a clear message and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tvts_bench.cli import main


def _exit_code(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


@pytest.mark.parametrize("param, message", [
    ("ft.epochs=-1", "params.epochs: input should be greater than or equal to 1"),
    ("linear.C=-1", "params.C: input should be greater than 0"),
    ("linear.max_iter=-1", "params.max_iter: input should be greater than or equal to 1"),
    ("ssv2-linear.C=[0.1,-2]", "params.C: input should be greater than 0"),
    ("linear.bogus=1", "unknown parameter 'bogus' for protocol linear (valid: C, bootstrap"),
    ("*.seeds=100000000", "params.seeds: input should be less than or equal to 1000"),
    ("v2v.index=nope", "params.index"),
])
def test_task_params_are_validated_before_anything_runs(bench_home: Path, capsys, param: str, message: str) -> None:
    assert _exit_code(["run", "--model", "scratch", "--tasks", "ssv2-linear,ssv2-ft,ssv2-v2v",
                       "--task-param", param, "-q"]) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err
    assert not (bench_home / "results").exists()


@pytest.mark.parametrize("argv, message", [
    (["run", "--model", "scratch", "--tasks", "ssv2-v2v", "--seeds", "0-100000000"], "more than 1000 seeds"),
    (["run", "--model", "scratch", "--tasks", "ssv2-v2v", "--seeds", "5-2"], "is not a range of seeds"),
    (["run", "--model", "scratch", "--tasks", "ssv2-v2v", "--device", "bogus"], "is not a device"),
    (["check-model", "scratch", "--device", "gpu0"], "is not a device"),
    (["run", "--model", "no-such-model", "--tasks", "ssv2-v2v"], "unknown model"),
    (["run", "--model", "scratch", "--tasks", "no-such-task"], "unknown task or group"),
    (["data", "check", "ssv2", "--root", "/nonexistent/tvts"], "not found"),
])
def test_bad_command_lines_exit_2_with_a_message(bench_home: Path, capsys, argv, message) -> None:
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err


def test_a_card_with_an_unknown_parameter_names_the_file(bench_home: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from tvts_bench.bench import registry

    (tmp_path / "mine.yaml").write_text("name: ssv2-mine\ninclude: ssv2-linear\nparams: {Cs: [1.0]}\n")
    monkeypatch.setenv("TVTS_BENCH_TASKS", str(tmp_path))
    registry.clear_cache()
    try:
        assert _exit_code(["list", "tasks"]) == 2
    finally:
        registry.clear_cache()
    err = " ".join(capsys.readouterr().err.split())
    assert "mine.yaml" in err and "unknown parameter 'Cs'" in err


@pytest.mark.parametrize("text, message", [
    (b"name: ssv2-x\ninclude: ssv2-linear\ndescription: caf\xe9\n", "not UTF-8 text"),
    (b"name: ssv2-x\ninclude: 5\n", "include must be a card name"),
    (b"name: ssv2-x\n" + b"a: [" * 5000 + b"]" * 5000 + b"\n", "mine.yaml"),
])
def test_broken_task_cards_are_clear_errors(bench_home: Path, tmp_path: Path, monkeypatch, capsys,
                                            text: bytes, message: str) -> None:
    from tvts_bench.bench import registry

    (tmp_path / "mine.yaml").write_bytes(text)
    monkeypatch.setenv("TVTS_BENCH_TASKS", str(tmp_path))
    registry.clear_cache()
    try:
        assert _exit_code(["list", "tasks"]) == 2
    finally:
        registry.clear_cache()
    err = " ".join(capsys.readouterr().err.split())
    assert message in err and "Traceback" not in err


def test_include_chains_of_any_depth(bench_home: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from tvts_bench.bench import registry

    (tmp_path / "c0.yaml").write_text("name: chain-0\ninclude: ssv2-linear\n")
    for i in range(1, 3000):
        (tmp_path / f"c{i}.yaml").write_text(f"name: chain-{i}\ninclude: chain-{i - 1}\n")
    monkeypatch.setenv("TVTS_BENCH_TASKS", str(tmp_path))
    registry.clear_cache()
    try:
        assert _exit_code(["list", "tasks"]) == 2
    finally:
        registry.clear_cache()
    err = " ".join(capsys.readouterr().err.split())
    assert "include chain deeper than 32" in err and "Traceback" not in err


def test_a_model_card_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    from tvts_bench.errors import ConfigError
    from tvts_bench.zoo.card import load_card_file

    (tmp_path / "x.yaml").write_bytes(b"name: x\ndescription: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_card_file(tmp_path / "x.yaml")


@pytest.mark.parametrize("name", ["../x", "/tmp/evil", "a/b", "..", ".hidden"])
def test_pretrain_refuses_a_run_name_that_is_a_path(bench_home: Path, capsys, name: str) -> None:
    outside = bench_home / "x"
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "keep.txt").write_text("mine")
    assert _exit_code(["pretrain", "--preset", "tiny", "--world-preset", "tiny", "--steps", "1", "--name", name,
                       "--no-resume", "--quiet"]) == 2
    assert "is not a valid name" in capsys.readouterr().err
    assert (outside / "keep.txt").read_text() == "mine"


def test_a_second_pretrain_of_the_same_run_folder_is_refused(bench_home: Path, capsys) -> None:
    from tvts_bench.home import runs_dir
    from tvts_bench.locking import exclusive

    with exclusive(runs_dir() / "busy", "the run folder"):
        assert _exit_code(["pretrain", "--preset", "tiny", "--world-preset", "tiny", "--steps", "1",
                           "--name", "busy", "--quiet"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is in use by pid" in err


def _unwritable_home(tmp_path: Path, monkeypatch) -> Path:
    """A home below a regular file: every write fails (as root too, unlike a read-only folder)."""
    (tmp_path / "file").write_text("")
    home = tmp_path / "file" / "home"
    monkeypatch.setenv("TVTS_BENCH_HOME", str(home))
    return home


def test_world_generate_into_an_unwritable_home_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    home = _unwritable_home(tmp_path, monkeypatch)
    assert _exit_code(["world", "generate", "--preset", "tiny"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"cannot read or write {home}" in err and "Not a directory" in err and "Traceback" not in err


def test_run_with_a_full_disk_fails_the_task_naming_the_file(bench_home: Path, monkeypatch, capsys) -> None:
    import errno

    from tvts_bench.bench import runner as runner_mod

    def full(path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(runner_mod, "write_result", full)
    monkeypatch.setattr(runner_mod, "load_protocols", lambda: {"v2v": _constant})
    assert _exit_code(["run", "--model", "scratch", "--tasks", "ssv2-v2v", "-q"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "No space left on device" in err and "builtin-seed0.json" in err and "Traceback" not in err


def _constant(ctx):
    from tvts_bench.bench.context import ProtocolOutput
    from tvts_bench.bench.result_schema import MetricValue

    return ProtocolOutput(metrics={m: MetricValue(value=1.0, n=1) for m in ctx.task.metrics})


def test_pretrain_with_a_full_disk_says_where_the_last_checkpoint_is(bench_home: Path, monkeypatch, capsys) -> None:
    import errno

    from tvts_bench.pretrain import trainer as trainer_mod

    real = trainer_mod.save_checkpoint
    calls = []

    def fills_up(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device", "/somewhere/step-00000002")
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_mod, "save_checkpoint", fills_up)
    assert _exit_code(["pretrain", "--preset", "tiny", "--world-preset", "tiny", "--steps", "3", "--name", "full",
                       "--ckpt-every", "1", "--val-every", "0", "--workers", "0", "--threads", "1",
                       "--quiet"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "pretraining stopped at step 2" in err and "No space left on device" in err
    assert "the last complete checkpoint is" in err and "step-00000001" in err and "Traceback" not in err


def test_demo_exits_non_zero_when_a_step_failed(bench_home: Path, monkeypatch, capsys) -> None:
    from tvts_bench import demo as demo_mod
    from tvts_bench import home

    calls: list[list[str]] = []

    def fake_invoke(args: list[str]) -> int:
        calls.append(args)
        return 1 if args[:3] == ["run", "--model", "clip"] else 0

    monkeypatch.setattr(demo_mod, "invoke_command", fake_invoke)
    monkeypatch.setattr(home, "ensure_world", lambda *a, **k: bench_home / "world")
    assert _exit_code(["demo", "--preset", "tiny"]) == 1
    assert any(c[:3] == ["run", "--model", "scratch"] for c in calls)       # the other models still ran
    assert "some tasks failed for: clip" in " ".join(capsys.readouterr().out.split())
