"""Task cards: loading, include inheritance, validation errors, hashes, groups and name resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from tvts_bench.bench import registry
from tvts_bench.bench.registry import load_groups, load_tasks, resolve_tasks
from tvts_bench.errors import ConfigError, DataFormatError

MISSION = [f"{d}-{p}" for d in ("ssv2", "k400", "ucf101", "hmdb51") for p in ("linear", "ft", "v2v")] + [
    f"{d}-{p}" for d in ("msrvtt", "didemo", "msvd", "lsmdc") for p in ("ret", "ret-ft")]


@pytest.fixture()
def extra_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "mytasks"
    d.mkdir()
    monkeypatch.setenv("TVTS_BENCH_TASKS", str(d))
    return d


def test_every_mission_task_exists_and_validates() -> None:
    cards = load_tasks()
    for name in MISSION:
        card = cards[name]
        assert card.name == name
        assert card.dataset == name.split("-")[0]
        assert card.protocol == name.split("-", 1)[1]
        assert card.main_metric in card.metrics
    assert cards["msrvtt-ret"].sampling.frames == 4          # Frozen protocol: 4 frames
    assert cards["didemo-ret"].params["captions"] == "paragraph"
    assert cards["msvd-ret-ft"].params["captions"] == "all"
    assert cards["ucf101-linear"].reader_options == {"split": 1}


def test_include_inheritance_and_override() -> None:
    cards = load_tasks()
    base, paper = cards["ssv2-ft"], cards["ssv2-ft-paper"]
    assert paper.params["epochs"] == 50 and base.params["epochs"] < 50     # overridden
    assert paper.params["lr"] == 1.0e-3 and base.params["lr"] == 1.0e-2     # the recipe's lr vs the world's
    assert paper.params["weight_decay"] == base.params["weight_decay"]      # inherited from _base/ft.yaml
    assert paper.params["flip"] is False                                    # inherited from ssv2-ft
    assert paper.splits == base.splits and paper.sampling == base.sampling
    assert cards["ucf101-linear-split2"].reader_options == {"split": 2}
    assert cards["ucf101-linear-split2"].hash != cards["ucf101-linear"].hash


def test_groups() -> None:
    groups = load_groups()
    demo = [c.name for c in resolve_tasks("demo")]
    assert {c.protocol for c in resolve_tasks("demo")} == {"linear", "v2v", "ft", "ret", "ret-ft"}
    assert demo[:2] == groups["demo"][:2]
    assert len(resolve_tasks("all")) == len(load_tasks())
    # duplicates collapse, order is kept
    names = [c.name for c in resolve_tasks("msrvtt-ret,quick,ssv2-linear")]
    assert names[0] == "msrvtt-ret" and len(names) == len(set(names))
    paper = {c.name for c in resolve_tasks("paper")}
    assert {"ssv2-v2v", "ssv2-linear", "ssv2-ft", "k400-ft", "msrvtt-ret-ft", "ucf101-linear"} <= paper


def test_unknown_task_suggests_close_match() -> None:
    with pytest.raises(ConfigError, match="did you mean ssv2-linear"):
        resolve_tasks("ssv2-linaer")
    with pytest.raises(ConfigError, match="unknown task or group 'nothing-like-it'"):
        resolve_tasks("ssv2-linear,nothing-like-it")


def test_hash_changes_with_protocol_parameter_only() -> None:
    card = load_tasks()["ssv2-linear"]
    assert card.with_params(C=[1.0]).hash != card.hash
    assert card.with_params(C=list(card.params["C"])).hash == card.hash
    assert card.model_copy(update={"description": "other words"}).hash == card.hash
    ft = resolve_tasks("ssv2-ft", ["ft.epochs=7"])[0]
    assert ft.params["epochs"] == 7 and ft.hash != load_tasks()["ssv2-ft"].hash
    one_view = resolve_tasks("ssv2-ft", ["ft.sampling.clips=1"])[0]
    assert one_view.sampling.clips == 1 and one_view.hash != load_tasks()["ssv2-ft"].hash
    # an override scoped to another protocol leaves the card alone
    assert resolve_tasks("ssv2-linear", ["ft.epochs=7"])[0].hash == card.hash


def test_bad_task_param_syntax_and_scope() -> None:
    with pytest.raises(ConfigError, match="SCOPE.KEY=VALUE"):
        resolve_tasks("ssv2-ft", ["epochs=3"])
    with pytest.raises(ConfigError, match="neither a protocol nor a task"):
        resolve_tasks("ssv2-ft", ["fine.epochs=3"])
    with pytest.raises(ConfigError, match="crops"):
        resolve_tasks("ssv2-ft", ["ft.sampling.crops=2"])


def test_user_card_from_env_folder_inherits_shipped_card(extra_tasks: Path) -> None:
    (extra_tasks / "ssv2-16shot.yaml").write_text(
        "name: ssv2-16shot\ninclude: ssv2-linear\nparams: {val_fraction: 0.5}\n")
    cards = load_tasks()
    card = cards["ssv2-16shot"]
    assert card.params["val_fraction"] == 0.5 and card.params["C"] == cards["ssv2-linear"].params["C"]
    assert card.hash != cards["ssv2-linear"].hash
    assert card.source and card.source.endswith("ssv2-16shot.yaml")


def test_validation_error_names_file_and_field(extra_tasks: Path) -> None:
    bad = extra_tasks / "bad.yaml"
    bad.write_text("name: bad\ninclude: ssv2-linear\nmain_metric: R@1\n")
    with pytest.raises(ConfigError) as e:
        load_tasks()
    assert "bad.yaml" in str(e.value) and "main_metric" in str(e.value)
    bad.write_text("name: bad\ninclude: ssv2-linear\nsampling: {clips: zero}\n")
    registry.clear_cache()
    with pytest.raises(ConfigError, match=r"bad\.yaml.*sampling\.clips"):
        load_tasks()
    bad.write_text("name: bad\ninclude: ssv2-linear\nprotocol: nearest\n")
    registry.clear_cache()
    with pytest.raises(ConfigError, match=r"bad\.yaml.*'protocol'"):
        load_tasks()


def test_error_in_an_included_card_names_the_file_that_set_the_field(extra_tasks: Path) -> None:
    (extra_tasks / "_base.yaml").write_text("sampling: {clips: -1}\nparams: {epochs: 1}\n")
    (extra_tasks / "child.yaml").write_text("name: child\ninclude: [ssv2-linear, _base.yaml]\n")
    with pytest.raises(ConfigError) as e:
        load_tasks()
    text = str(e.value)
    assert "child.yaml" in text and "sampling.clips" in text and f"set in {extra_tasks / '_base.yaml'}" in text


def test_bad_yaml_include_cycle_and_missing_include(extra_tasks: Path) -> None:
    card = extra_tasks / "x.yaml"
    card.write_text("name: x\ninclude: [ssv2-linear\n")
    with pytest.raises(DataFormatError, match=r"x\.yaml, line \d+: not valid YAML"):
        load_tasks()
    card.write_text("name: x\ninclude: y\n")
    (extra_tasks / "y.yaml").write_text("name: y\ninclude: x\n")
    registry.clear_cache()
    with pytest.raises(DataFormatError, match="include cycle"):
        load_tasks()
    (extra_tasks / "y.yaml").unlink()
    card.write_text("name: x\ninclude: ssv2-lineer\n")
    registry.clear_cache()
    with pytest.raises(DataFormatError, match="did you mean ssv2-linear"):
        load_tasks()
