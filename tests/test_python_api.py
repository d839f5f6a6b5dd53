"""The Python API: docs/python_api.md runs as written, evaluate() takes every kind of model, results
load into a DataFrame, and importing tvts_bench stays light."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).parent.parent / "docs" / "python_api.md"


def test_the_documented_example_runs(bench_home: Path, capsys: pytest.CaptureFixture) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 3
    namespace: dict = {}
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), namespace)       # noqa: S102 - our own documentation
    out = capsys.readouterr().out
    assert "ssv2-linear-lowshot10" in out and "motion-energy" in out
    df = namespace["df"]
    assert {"scratch", "motion-energy"} <= set(df["model"])
    assert {"shuffled", "repeated", "reversed", "normal"} <= set(df["variant"])
    row = df[(df["model"] == "scratch") & (df["task"] == "ssv2-knn") & df["main"]].iloc[0]
    assert row["metric"] == "top1" and row["source"] == "builtin" and row["ci_low"] <= row["value"]
    assert row["weights_hash"] and row["task_hash"] and row["finished_at"] and row["views"].startswith(
        f"{namespace['records'][0].provenance.extra['views']['frames']}x1x1")


def test_evaluate_model_kinds_and_errors(bench_home: Path) -> None:
    import tvts_bench
    from tvts_bench.zoo.registry import load_model

    first = tvts_bench.evaluate("scratch", "ssv2-knn", task_params={"knn.ks": [5, 20]}, world_preset="tiny")
    assert len(first) == 1 and first[0].task.card["params"]["ks"] == [5, 20]
    adapter = load_model("scratch")
    again = tvts_bench.evaluate(adapter, "ssv2-knn", task_params=["knn.ks=[5,20]"], world_preset="tiny")
    # the same weights under the same name: the earlier result is reused
    assert again[0].metrics == first[0].metrics and again[0].provenance == first[0].provenance
    with pytest.raises(ValueError, match="needs a Preprocess"):
        from torch import nn

        tvts_bench.evaluate(nn.Linear(3, 3), "ssv2-knn")
    from tvts_bench.errors import ConfigError

    with pytest.raises(ConfigError, match=r"top1@k20.*params\.ks"):
        tvts_bench.evaluate("scratch", "ssv2-knn", task_params={"knn.ks": [3]})
    with pytest.raises(TypeError, match="card name, a path"):
        tvts_bench.evaluate(42, "ssv2-knn")
    # one shot per class leaves nothing to hold out for choosing C: that task fails, the other runs
    failing = {"knn.ks": [5, 20], "linear.shots": 1, "linear.C": [0.1, 1.0], "linear.diagnostics": []}
    with pytest.raises(tvts_bench.EvaluationError) as e:
        tvts_bench.evaluate("scratch", "ssv2-knn,ssv2-linear", world_preset="tiny", task_params=failing)
    assert "ssv2-linear (seed 0)" in str(e.value) and "too few videos per class" in str(e.value)
    assert [r.task.name for r in e.value.records] == ["ssv2-knn"]
    with pytest.warns(UserWarning, match="1 task"):
        kept = tvts_bench.evaluate("scratch", "ssv2-knn,ssv2-linear", world_preset="tiny", task_params=failing,
                                   on_error="warn")
    assert len(kept) == 1


def test_results_load_skips_bad_files(tmp_path: Path) -> None:
    import tvts_bench

    (tmp_path / "m" / "t").mkdir(parents=True)
    (tmp_path / "m" / "t" / "builtin-seed0.json").write_text("{not json")
    with pytest.warns(UserWarning, match="not a readable result file"):
        df = tvts_bench.results.load(tmp_path)
    assert len(df) == 0 and "ci_low" in df.columns


def test_importing_the_package_stays_light() -> None:
    code = ("import sys, tvts_bench; tvts_bench.evaluate; tvts_bench.results; "
            "print('torch' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
