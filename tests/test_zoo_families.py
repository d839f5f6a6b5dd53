"""Every registered model family, through the same checks (timm's pattern: one parametrised test).

Each family declares an ``example(tmp_path)`` hook beside its importer (``zoo/families.py``) that writes
a tiny random-weight checkpoint in the family's original layout. For every example: ``load_model``
loads it with every tensor accounted for, ``tvts-bench check-model`` passes on it, a small clip encodes
to finite features of the declared size, and (with a text tower) text encodes into the joint space.
A new family is covered by registering it with an example; no new test is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tvts_bench.errors import CheckpointError, ConfigError
from tvts_bench.zoo.families import all_families, check_card_config, detect, get_family
from tvts_bench.zoo.registry import load_cards, load_model

FAMILY_NAMES = [f.name for f in all_families()]


@pytest.fixture()
def empty_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TVTS_BENCH_HOME", str(home))
    monkeypatch.delenv("TVTS_BENCH_MODELS", raising=False)
    monkeypatch.delenv("TVTS_BENCH_TEXT_MODEL", raising=False)
    for name in ("TVTS_BENCH_DATA_SSV2", "TVTS_BENCH_DATA_ROOT"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_loads_checks_and_encodes_its_example(family, tmp_path, empty_home, monkeypatch):
    from tvts_bench.zoo.commands import check_model

    spec = get_family(family)
    assert spec.example is not None, f"family {family!r} registers no example hook"
    work = tmp_path / "example"
    work.mkdir()
    examples = spec.example(work)
    assert examples, family
    for ex in examples:
        for name, value in ex.env.items():
            monkeypatch.setenv(name, value)
        adapter = load_model(ex.model, checkpoint=ex.checkpoint)
        assert adapter.family == family, ex.what
        assert adapter.feature_dim == ex.feature_dim, ex.what
        report = adapter.import_report
        assert report is None or report.all_used, (ex.what, report.summary() if report else "")
        clip = torch.randn(2, 3, ex.frames, ex.size, ex.size, generator=torch.Generator().manual_seed(0))
        out = adapter.encode_video(clip)
        assert out.shape == (2, ex.feature_dim) and torch.isfinite(out).all(), ex.what
        assert adapter.has_text == ex.text, ex.what
        if ex.text:
            text = adapter.encode_text(["a person opens a door", "pouring water"])
            joint = adapter.encode_video_joint(clip)
            assert text.shape[0] == 2 and text.shape[1] == joint.shape[1], ex.what
        args = [ex.model, "--clips", "2"] + (["--checkpoint", str(ex.checkpoint)] if ex.checkpoint else [])
        result = CliRunner().invoke(check_model, args, catch_exceptions=False)
        assert result.exit_code == 0, f"{ex.what}:\n{result.output}"
        assert "all checks passed" in result.output
        for name in ex.env:
            monkeypatch.delenv(name)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_declares_its_card_schema_and_formats(family):
    spec = get_family(family)
    assert spec.summary and (spec.load is not None or not spec.loads_by_name)
    cards = [c for c in load_cards([Path(__file__).resolve().parents[1] / "models"]).values()
             if c.family == family]
    for card in cards:                           # the repository's cards validate against the family
        assert not check_card_config(family, card.config), card.name
        assert card.weights.format in ("auto", "none") + spec.format_names(), card.name
    for fmt in spec.formats:                     # a template a by-path file takes must be this family's
        if fmt.template:
            assert load_cards()[fmt.template].family == family, fmt.name
    if spec.card_config is not None:             # an unknown key or a wrong type names the field
        assert "config.no_such_key" in check_card_config(family, {"no_such_key": 1})[0]


def test_detection_is_a_registry_lookup_and_unknown_types_list_the_readable_ones(tmp_path):
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(CheckpointError) as err:
        detect(tmp_path / "bert")
    assert "model_type 'bert'" in err.value.message
    for model_type in ("videomae", "clip"):
        assert model_type in err.value.hint
    (tmp_path / "weird.pth").write_bytes(b"")
    torch.save({"state_dict": {"x": torch.zeros(1)}}, tmp_path / "weird.pth")
    with pytest.raises(CheckpointError, match="unknown checkpoint layout"):
        detect(tmp_path / "weird.pth")


def test_a_card_naming_an_unknown_family_format_or_config_key_is_refused(tmp_path):
    from tvts_bench.zoo.card import load_card_file

    text = (Path(__file__).resolve().parents[1] / "models" / "videomae-vitb-k400.yaml").read_text()
    cases = {"family: videomae\n": ("family: nosuch\n", "unknown family 'nosuch'"),
             "format: auto\n": ("format: tvts-authors\n", "field 'weights.format'"),
             "  num_frames: 16\n": ("  num_frames: many\n", "field 'config.num_frames'"),
             "  image_size: 224\n": ("  image_sise: 224\n", "field 'config.image_sise'")}
    for old, (new, message) in cases.items():
        assert old in text, old
        (tmp_path / "videomae-vitb-k400.yaml").write_text(text.replace(old, new))
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            load_card_file(tmp_path / "videomae-vitb-k400.yaml")


@pytest.mark.slow
@pytest.mark.parametrize("family", [f for f in FAMILY_NAMES if f not in ("scratch", "user", "project")])
def test_every_family_writes_a_v2v_result_on_the_built_in_world(family, tmp_path, bench_home, monkeypatch):
    """`tvts-bench run --model <card> --checkpoint <file> --tasks ssv2-v2v` writes a result for every
    family whose weights come from a file (sampling sized to the tiny example model)."""
    from tvts_bench.bench.results import read_result
    from tvts_bench.cli import main

    work = tmp_path / "example"
    work.mkdir()
    examples = get_family(family).example(work)
    ex = next((e for e in examples if e.checkpoint is not None), examples[0])      # else: a folder as the model
    for name, value in ex.env.items():
        monkeypatch.setenv(name, value)
    sizes = [f"ssv2-v2v.sampling.frames={ex.frames}", f"ssv2-v2v.sampling.size={ex.size}",
             f"ssv2-v2v.sampling.short_side={ex.size}", "ssv2-v2v.bootstrap=20", "ssv2-v2v.diagnostics=[]"]
    argv = ["run", "--model", str(ex.model), "--tasks", "ssv2-v2v", "-q"]
    if ex.checkpoint is not None:
        argv += ["--checkpoint", str(ex.checkpoint)]
    for s in sizes:
        argv += ["--task-param", s]
    main(argv)                                    # returns normally: exit status 0
    [path] = list((bench_home / "results").rglob("builtin-seed0.json"))
    record = read_result(path)
    assert record.model.family == family and "R@1" in record.metrics
