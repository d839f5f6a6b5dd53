"""Each dataset is one declaration, ``SPEC = DatasetSpec(...)`` beside its reader, that the reader
registry, data roots, ``list datasets``, task cards, the world planner and the report collect.

The parametrised tests run over every registered spec, so a new dataset is tested without a new test.
A toy Charades, registered here only, shows the other side: a dataset the built-in world does not
write is a task card, a listing row, and without a data root a clear error (not a folder nothing writes).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from tvts_bench.cli import cli, main
from tvts_bench.data import readers
from tvts_bench.data.dataset_spec import KINDS, DatasetSpec
from tvts_bench.data.readers import dataset_specs, read_dataset
from tvts_bench.data.readers.common import DatasetRoot, iter_lines, read_table
from tvts_bench.data.records import DatasetIndex, VideoRecord
from tvts_bench.errors import ConfigError, TvtsBenchError
from tvts_bench.world import PRESETS
from tvts_bench.world.plan import DatasetPlan

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"
SPECS = list(dataset_specs().values())
SHIPPED = ["ssv2", "k400", "ucf101", "hmdb51", "msrvtt", "didemo", "msvd", "lsmdc", "yttemporal", "webvid", "cc3m"]
# WorldPreset fields no single dataset owns
SHARED_SIZES = {"name", "size", "fps", "workers", "clip_seconds", "retrieval_seconds"}


def _list(what: str) -> dict[str, dict]:
    result = CliRunner().invoke(cli, ["list", what, "--json"])
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.output)}


def _fixture_folders(name: str) -> list[Path]:
    return sorted(d for d in FIXTURES.iterdir() if d.is_dir() and (d.name == name or d.name.startswith(f"{name}_")))


# -- every registered dataset ------------------------------------------------------------------------

def test_the_shipped_datasets_in_listing_order(tiny_world: Path) -> None:
    assert [s.name for s in SPECS] == SHIPPED
    assert list(_list("datasets")) == SHIPPED
    # the world plans the pretraining corpus first, then the others in listing order
    counts = json.loads((tiny_world / "world.json").read_text())["counts"]
    assert list(counts) == ["yttemporal"] + [n for n in SHIPPED if n != "yttemporal"]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_each_spec_reads_its_stand_in_and_its_fixtures(spec: DatasetSpec, tiny_world: Path) -> None:
    counts = json.loads((tiny_world / "world.json").read_text())["counts"]
    assert spec.builtin and spec.name in counts, "every shipped dataset has a stand-in in the built-in world"
    index = read_dataset(spec.name, tiny_world / spec.name)
    assert index.name == spec.name
    assert list(index.splits) == list(counts[spec.name]["splits"])
    # only declared splits, in the declared order
    assert list(index.splits) == [s for s in spec.splits if s in index.splits]
    folders = _fixture_folders(spec.name)
    assert folders, f"no real-format fixture tests/fixtures/datasets/{spec.name}/"
    for folder in folders:
        fixture = read_dataset(spec.name, folder)
        assert list(fixture.splits) == [s for s in spec.splits if s in fixture.splits], folder.name


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_each_spec_is_listed_planned_and_sized(spec: DatasetSpec) -> None:
    row = _list("datasets")[spec.name]
    assert (row["dataset"], row["kind"], row["splits"], row["built-in world"], row["notes"]) == (
        spec.title, spec.kind, ",".join(spec.splits), "yes", spec.notes)
    assert spec.kind in KINDS
    assert ("classes_file" in spec.options()) == (spec.kind == "classification")
    # the writer plans exactly the dataset's own folder
    plan = spec.world_writer()(PRESETS["tiny"], 0)
    assert plan.name == spec.name and plan.files and plan.jobs
    assert all(rel.startswith(f"{spec.name}/") for rel in [*plan.files, *(job.relpath for job in plan.jobs)])
    # its sizes come from the presets, and differ between them
    assert spec.world_sizes("tiny") and spec.world_sizes("tiny") != spec.world_sizes("demo")


def test_every_preset_count_belongs_to_exactly_one_dataset() -> None:
    owned = [f"{spec.sizes}_{key}" for spec in SPECS for key in spec.world_sizes("tiny")]
    assert sorted(owned) == sorted(set(PRESETS["tiny"].as_dict()) - SHARED_SIZES)
    assert dataset_specs()["ucf101"].world_sizes("tiny") == {"classes": 4, "groups": 3, "clips_per_group": 2}
    with pytest.raises(ConfigError, match="unknown world preset 'huge'"):
        dataset_specs()["ssv2"].world_sizes("huge")


def test_cards_name_splits_and_options_their_dataset_declares() -> None:
    from tvts_bench.bench.registry import load_tasks
    from tvts_bench.bench.task_card import TaskCard

    assert {card.dataset for card in load_tasks().values()} <= set(dataset_specs())
    base = dict(name="k400-x", dataset="k400", protocol="linear", metrics=["top1"], main_metric="top1")
    assert TaskCard(**base, splits={"train": "train", "test": "val"}).splits.test == "val"
    with pytest.raises(ValidationError, match="k400 has no split 'validation'; its splits: train, val, test"):
        TaskCard(**base, splits={"train": "train", "test": "validation"})
    with pytest.raises(ValidationError, match="k400 has no option 'split'; its options: classes_file"):
        TaskCard(**base, splits={"train": "train", "test": "val"}, reader_options={"split": 2})


def test_a_name_is_registered_once(register) -> None:
    clash = DatasetSpec(name="ssv2", title="SSV2 again", kind="classification", splits=("train",),
                        read=read_charades)
    with pytest.raises(RuntimeError, match="'ssv2' is registered twice"):
        register(clash)
    with pytest.raises(RuntimeError, match="kind 'retrieval' is not one of"):
        DatasetSpec(name="x", title="X", kind="retrieval", splits=("train",), read=read_charades)


# -- a toy dataset, registered by these tests only ----------------------------------------------------

CHARADES_CLASSES = ("c000 Holding some clothes", "c001 Putting clothes somewhere",
                    "c002 Taking some clothes from somewhere")


def read_charades(root: Path | str) -> DatasetIndex:
    """A toy Charades reader: Charades_v1_classes.txt, Charades_v1_{train,test}.csv (id, actions; the
    first action is the label), videos Charades_v1_480/<id>.mp4."""
    droot = DatasetRoot(Path(root))
    class_file = droot.require_file(["Charades_v1_classes.txt"], "Charades class list", ("",))
    codes, names = zip(*(line.strip().split(" ", 1) for _, line in iter_lines(class_file)))
    files, splits = [class_file], {}
    for split in ("train", "test"):
        path = droot.require_file([f"Charades_v1_{split}.csv"], f"Charades {split} list", ("",))
        files.append(path)
        _, rows = read_table(path, required=("id", "actions"))
        records = []
        for line, row in rows:
            label = codes.index(row["actions"].split()[0])
            records.append(VideoRecord(video_id=row["id"], split=split, label=label, label_name=names[label],
                                       path=droot.resolve(f"Charades_v1_480/{row['id']}.mp4", path, line=line)))
        splits[split] = records
    return DatasetIndex("charades", droot.path, list(names), splits, files)


def plan_charades(preset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("charades")
    plan.add_text("charades/Charades_v1_classes.txt", "".join(c + "\n" for c in CHARADES_CLASSES))
    plan.add_text("charades/Charades_v1_train.csv", "id,actions\n46GP8,c000 0.0 5.0\nN11GT,c002 1.0 4.0\n")
    plan.add_text("charades/Charades_v1_test.csv", "id,actions\nYSKX3,c001 0.0 3.0\n")
    plan.counts = {"classes": len(CHARADES_CLASSES), "splits": {"train": 2, "test": 1}}
    return plan


CHARADES = DatasetSpec(name="charades", title="Charades", kind="classification", splits=("train", "test"),
                       read=read_charades, notes="toy, registered by a test")


def _write(plan: DatasetPlan, root: Path) -> Path:
    for rel, content in plan.files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return root / plan.name


@pytest.fixture()
def register(monkeypatch: pytest.MonkeyPatch):
    """register_dataset for this test only."""
    monkeypatch.setattr(readers, "_REGISTERED", {})
    return readers.register_dataset


@pytest.fixture()
def charades_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from tvts_bench.bench.registry import clear_cache

    folder = tmp_path / "tasks" / "charades"
    folder.mkdir(parents=True)
    (folder / "charades-linear.yaml").write_text(
        "name: charades-linear\ninclude: ssv2-linear\ndataset: charades\nsplits: {train: train, test: test}\n")
    monkeypatch.setenv("TVTS_BENCH_TASKS", str(tmp_path / "tasks"))
    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    for name in list(os.environ):
        if name.startswith("TVTS_BENCH_DATA_"):
            monkeypatch.delenv(name)
    clear_cache()
    yield
    clear_cache()


def test_a_dataset_without_a_stand_in_is_a_card_a_row_and_a_clear_error(
        register, charades_card, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from tvts_bench import home
    from tvts_bench.bench.registry import clear_cache, load_tasks
    from tvts_bench.bench.runner import RunOptions, prepare_data

    with pytest.raises(TvtsBenchError, match="unknown dataset 'charades'"):    # not registered yet
        load_tasks()
    register(CHARADES)
    clear_cache()
    card = load_tasks()["charades-linear"]
    assert (card.dataset, card.splits.train, card.splits.test, card.protocol) == ("charades", "train", "test", "linear")
    assert _list("tasks")["charades-linear"]["dataset"] == "charades"
    row = _list("datasets")["charades"]
    assert (row["dataset"], row["kind"], row["splits"], row["built-in world"]) == (
        "Charades", "classification", "train,test", "no")

    # No data root: a clear error that names the ways to give one, and no world generated for it.
    def no_world(*args, **kwargs):
        raise AssertionError("the built-in world was generated for a dataset it does not hold")

    monkeypatch.setattr(home, "ensure_world", no_world)
    opts = RunOptions(model="scratch", tasks="charades-linear")
    with pytest.raises(ConfigError, match="the built-in world has no charades stand-in") as e:
        prepare_data(card, opts)
    assert "--data-root" in str(e.value) and "TVTS_BENCH_DATA_CHARADES" in str(e.value)
    with pytest.raises(SystemExit) as exit_:
        main(["data", "check", "charades"])
    err = " ".join(capsys.readouterr().err.split())
    assert exit_.value.code == 2 and "the built-in world has no charades stand-in" in err
    assert "Traceback" not in err

    # With one, the same card reads the real files.
    root = _write(plan_charades(PRESETS["tiny"], 0), tmp_path / "data")
    for data_root in (str(root.parent), f"charades={root}"):
        prepared = prepare_data(card, RunOptions(model="scratch", tasks="charades-linear", data_root=data_root))
        assert not prepared.location.builtin and prepared.listed == {"train": 2, "test": 1}
    monkeypatch.setenv("TVTS_BENCH_DATA_CHARADES", str(root))
    assert home.resolve_data("charades").root == root.resolve()
    result = CliRunner().invoke(cli, ["data", "check", "charades", "--json"])
    assert result.exit_code == 0, result.output
    assert {s: v["listed"] for s, v in json.loads(result.output)["splits"].items()} == {"train": 2, "test": 1}


def test_a_dataset_with_a_world_writer_is_planned(register, tmp_path: Path) -> None:
    from tvts_bench.world import plan_world

    register(DatasetSpec(name="charades", title="Charades", kind="classification", splits=("train", "test"),
                         read=read_charades, world=plan_charades))
    plans = plan_world("tiny", 0)
    assert [p.name for p in plans][-1] == "charades" and len(plans) == len(SHIPPED) + 1
    index = read_dataset("charades", _write(plans[-1], tmp_path))
    assert {s: len(r) for s, r in index.splits.items()} == plans[-1].counts["splits"]
    assert index.classes[index.splits["test"][0].label] == "Putting clothes somewhere"
    assert _list("datasets")["charades"]["built-in world"] == "yes"
