"""``reader_options.classes_file``: class lists restrict a dataset and relabel it; the shipped lists
parse and apply to the right data source; a list that does not apply makes the task n/a, not failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tvts_bench.cli import cli
from tvts_bench.data import class_subset
from tvts_bench.data.readers import read_dataset
from tvts_bench.errors import ConfigError

FIXTURE_K400 = Path(__file__).parent / "fixtures" / "datasets" / "k400"


def test_shipped_lists_parse_with_a_source_header():
    for f in sorted(class_subset.CLASS_LISTS.glob("*.txt")):
        cl = class_subset.load(f)
        assert any("Only Time Can Tell" in h for h in cl.header), f
        assert cl.real or cl.builtin
    t, s = class_subset.load("k400-temporal32"), class_subset.load("k400-static32")
    assert len(t.real) == len(s.real) == 32 and not set(t.real) & set(s.real)
    assert class_subset.load("ssv2-temporal18").real == []          # the published list is not bundled


def test_restrict_relabels_and_notes(tmp_path):
    lst = tmp_path / "two.txt"
    lst.write_text("# source: a test\nZumba\n  abseiling \nnot a class\n")
    index = read_dataset("k400", FIXTURE_K400, classes_file=str(lst))
    assert index.classes == ["abseiling", "zumba"]                   # the dataset's own order
    labels = {r.video_id: r.label for recs in index.splits.values() for r in recs}
    assert labels == {"aaa111_000000_000010": 0, "ccc333_000012_000022": 1, "eee555_000003_000013": 1,
                      "ddd444_000001_000011": 0}
    assert any("restricted to 2 classes" in n and "not a class" in n for n in index.notes)


def test_lists_that_do_not_apply_are_not_applicable(tmp_path, tiny_world):
    with pytest.raises(class_subset.ClassListNotApplicable, match="no classes for the built-in world"):
        read_dataset("k400", tiny_world / "k400", classes_file="k400-temporal32")
    with pytest.raises(class_subset.ClassListNotApplicable, match="no classes for real data"):
        class_subset.restrict(read_dataset("k400", FIXTURE_K400), "ssv2-temporal18", builtin=False)
    with pytest.raises(class_subset.ClassListNotApplicable, match="none of the 32 classes"):
        read_dataset("k400", FIXTURE_K400, classes_file="k400-static32")
    with pytest.raises(ConfigError, match="no class list 'nope'.*"):
        read_dataset("k400", FIXTURE_K400, classes_file="nope")
    with pytest.raises(ConfigError, match="has no option"):
        read_dataset("msrvtt", tmp_path, classes_file="k400-static32")


def test_world_equivalents(tiny_world):
    static = read_dataset("k400", tiny_world / "k400", classes_file="k400-static32")
    full = read_dataset("k400", tiny_world / "k400")
    assert static.classes == full.classes                            # every k400 stand-in class is static
    temporal = read_dataset("ssv2", tiny_world / "ssv2", classes_file="ssv2-temporal18")
    assert temporal.classes == read_dataset("ssv2", tiny_world / "ssv2").classes
    assert any("not in this dataset" in n for n in temporal.notes)   # the tiny preset has 4 of 6


def test_temporal_static_cards_on_the_world(bench_home):
    res = CliRunner().invoke(cli, ["run", "--model", "scratch", "--tasks",
                                   "k400-linear-temporal32,ssv2-linear-temporal18", "-q",
                                   "--task-param", "linear.C=[1.0]", "--task-param", "linear.diagnostics=[]"])
    assert res.exit_code == 0, res.output
    assert "1 ok" in res.output and "1 n/a" in res.output
