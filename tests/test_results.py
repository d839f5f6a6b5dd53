"""Result files: schema validation, atomic writes, side files, overwrite modes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tvts_bench.bench.provenance import build_provenance, utc_now
from tvts_bench.bench.result_schema import DataInfo, MetricValue, ModelInfo, ResultRecord, TaskInfo
from tvts_bench.bench.results import (existing_result, read_result, read_samples, result_path, safe_name,
                                      samples_path, write_result)
from tvts_bench.errors import ConfigError, DataFormatError


def _record(value: float = 42.0, weights: str = "w" * 16, task_hash: str = "t" * 16) -> ResultRecord:
    return ResultRecord(
        model=ModelInfo(name="scratch", family="scratch", weights_hash=weights),
        task=TaskInfo(name="ssv2-linear", dataset="ssv2", protocol="linear", hash=task_hash, main_metric="top1"),
        seed=0,
        metrics={"top1": MetricValue(value=value, ci_low=value - 5, ci_high=value + 5, n=20)},
        data=DataInfo(source="builtin", root="/w/ssv2", manifest_hash="m" * 16, listed=20, missing=0),
        provenance=build_provenance(device="cpu", started_at=utc_now(), finished_at=utc_now(), seconds=2.0,
                                    clips=40))


def test_layout_and_names(tmp_path: Path) -> None:
    assert result_path(tmp_path, "scratch", "ssv2-linear", 2, "builtin") == \
        tmp_path / "scratch" / "ssv2-linear" / "builtin-seed2.json"
    assert result_path(tmp_path, "scratch", "ssv2-linear", 2, "real").name == "real-seed2.json"
    # user model specs become one safe folder name
    assert "/" not in safe_name("models/my.py:factory") and safe_name("models/my.py:factory")
    assert samples_path(tmp_path / "seed0.json").name == "seed0.samples.jsonl"


def test_write_read_roundtrip_with_side_file(tmp_path: Path) -> None:
    path = result_path(tmp_path, "scratch", "ssv2-linear", 0)
    rows = [{"sample_id": "1", "top1": 1.0}, {"sample_id": "2", "top1": 0.0}]
    write_result(path, _record(), rows)
    back = read_result(path)
    assert back.metrics["top1"].value == 42.0 and back.per_sample_file == "real-seed0.samples.jsonl"
    assert read_samples(path) == rows
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1
    assert data["provenance"]["clips_per_second"] == 20.0 and data["provenance"]["torch_version"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["real-seed0.json", "real-seed0.samples.jsonl"]


@pytest.mark.parametrize("rows, problem", [
    ([{"video_id": "1", "top1": 1.0}], "row 0 has no 'sample_id'"),
    ([{"sample_id": "1", "top1": 1.0, "pred": 3}], "fields ['pred'] that are not metrics"),
    ([{"sample_id": "1", "top5": 1.0}], "fields ['top5'] that are not metrics"),
])
def test_side_file_rows_out_of_the_schema_are_never_written(tmp_path: Path, rows, problem) -> None:
    path = result_path(tmp_path, "scratch", "ssv2-linear", 0)
    with pytest.raises(ValueError, match=re.escape(problem)):
        write_result(path, _record(), rows)
    assert not path.parent.exists() or not any(path.parent.iterdir())


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_invalid_record_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    bad = _record().model_copy(update={"metrics": {"top1": {"value": "not a number"}}})
    with pytest.raises(Exception):
        write_result(path, bad)
    assert not path.exists()


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "seed0.json"
    write_result(path, _record(10.0))

    def boom(src, dst):  # the rename never happens: a crash mid-write
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_result(path, _record(99.0))
    monkeypatch.undo()
    assert read_result(path).metrics["top1"].value == 10.0
    assert [p.name for p in tmp_path.iterdir()] == ["seed0.json"]      # no temporary file left behind


def test_read_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "seed0.json"
    path.write_text("{not json")
    with pytest.raises(DataFormatError, match="seed0.json"):
        read_result(path)
    data = json.loads(_record().model_dump_json())
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(DataFormatError, match="schema version 99"):
        read_result(path)
    del data["provenance"]
    data["schema_version"] = 1
    path.write_text(json.dumps(data))
    with pytest.raises(DataFormatError, match="provenance"):
        read_result(path)


def test_overwrite_modes(tmp_path: Path) -> None:
    path = tmp_path / "seed0.json"
    for mode in ("never", "always", "only-missing"):
        assert existing_result(path, mode) == (False, "missing")
    write_result(path, _record(weights="a" * 16, task_hash="b" * 16))
    with pytest.raises(ConfigError, match="result exists"):
        existing_result(path, "never")
    assert existing_result(path, "always")[0] is False
    assert existing_result(path, "only-missing", weights_hash="a" * 16, task_hash="b" * 16) == (True, "exists")
    # stale results are recomputed even with only-missing
    assert existing_result(path, "only-missing", weights_hash="c" * 16)[1].startswith("stale")
    assert existing_result(path, "only-missing", task_hash="c" * 16)[1].startswith("stale")
    assert existing_result(path, "only-missing", manifest_hash="m" * 16) == (True, "exists")
    assert existing_result(path, "only-missing", manifest_hash="n" * 16)[1] == (
        "stale: dataset changed (annotations or videos on disk)")
    path.write_text("garbage")
    assert existing_result(path, "only-missing")[0] is False
    with pytest.raises(ConfigError):
        existing_result(path, "sometimes")
