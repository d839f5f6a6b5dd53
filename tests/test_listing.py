"""`tvts-bench list tasks|models|datasets`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tvts_bench.cli import cli
from tvts_bench.data.readers import dataset_names


def _list(what: str) -> list[dict]:
    result = CliRunner().invoke(cli, ["list", what, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_list_tasks_has_every_mission_task_with_its_groups() -> None:
    rows = {r["name"]: r for r in _list("tasks")}
    for ds in ("ssv2", "k400", "ucf101", "hmdb51"):
        for protocol in ("linear", "ft", "v2v"):
            assert rows[f"{ds}-{protocol}"]["protocol"] == protocol
    for ds in ("msrvtt", "didemo", "msvd", "lsmdc"):
        for protocol in ("ret", "ret-ft"):
            assert rows[f"{ds}-{protocol}"]["dataset"] == ds
    # nested groups are expanded: every task is in `all`, the demo tasks in `demo`
    assert all("all" in r["groups"].split(",") for r in rows.values())
    assert "demo" in rows["ssv2-linear"]["groups"].split(",")
    assert "demo" not in rows["lsmdc-ret"]["groups"].split(",")


def test_list_models_and_datasets() -> None:
    models = {r["name"]: r for r in _list("models")}
    assert {"tvts", "tvts-base", "videomae", "clip", "scratch"} <= set(models)
    assert models["tvts"]["family"] == "tvts"
    assert [r["name"] for r in _list("datasets")] == dataset_names()


def test_piped_output_is_one_plain_row_per_entry() -> None:
    result = CliRunner().invoke(cli, ["list", "tasks"])        # CliRunner's stdout is not a terminal
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split("\t") == ["name", "dataset", "protocol", "main metric", "groups", "hash"]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert rows["ssv2-knn"][2] == "knn" and rows["ssv2-linear-lowshot10"][1] == "ssv2"
    assert len(rows) == len(_list("tasks"))                     # no wrapped continuation lines
