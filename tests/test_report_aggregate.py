"""Leaderboard aggregation: loading, seed averaging, built-in/real separation, badges, separability."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tvts_bench.bench.result_schema import MetricValue
from tvts_bench.report import paper
from tvts_bench.report.aggregate import (
    BUILTIN_SUFFIX,
    aggregate_metric,
    build_leaderboard,
    column_key,
    load_results,
)
from tvts_bench.report.bootstrap import paired_bootstrap

FIXTURES = Path(__file__).parent / "fixtures" / "results"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def lb():
    return build_leaderboard(FIXTURES)


def _col(lb, key):
    return next(c for c in lb.columns if c.key == key)


def _raw(model_dir: str, task: str, stem: str) -> dict:
    return json.loads((FIXTURES / model_dir / task / f"{stem}.json").read_text())


def test_fixtures_load_without_warnings(lb):
    assert lb.warnings == []
    assert lb.n_files == len([p for p in FIXTURES.rglob("*.json")])
    assert set(lb.models) == {"tvts", "videomae", "clip", SCRIPT}


def test_seed_mean_and_interval(lb):
    col = _col(lb, "ssv2-linear" + BUILTIN_SUFFIX)
    cell = col.cell("tvts")
    seeds = [_raw("tvts", "ssv2-linear", f"builtin-seed{s}")["metrics"]["top1"] for s in range(3)]
    agg = cell.metrics["top1"]
    assert cell.seeds == [0, 1, 2] and agg.n_seeds == 3
    assert agg.value == pytest.approx(np.mean([s["value"] for s in seeds]))
    # never narrower than what one test set gives: at least the mean per-seed bootstrap interval
    assert agg.ci_low <= np.mean([s["ci_low"] for s in seeds]) + 1e-9
    assert agg.ci_high >= np.mean([s["ci_high"] for s in seeds]) - 1e-9
    assert agg.ci_low <= agg.value <= agg.ci_high


def test_aggregate_metric_t_interval_over_seeds():
    agg = aggregate_metric([MetricValue(value=v) for v in (10.0, 12.0, 14.0)])
    assert agg.value == pytest.approx(12.0)
    half = 4.302653 * 2.0 / np.sqrt(3)        # t(0.975, df=2) * sd / sqrt(n)
    assert (agg.ci_low, agg.ci_high) == pytest.approx((12.0 - half, 12.0 + half), abs=1e-4)
    one = aggregate_metric([MetricValue(value=5.0, ci_low=4.0, ci_high=6.5)])
    assert (one.value, one.ci_low, one.ci_high, one.n_seeds) == (5.0, 4.0, 6.5, 1)


def test_builtin_and_real_never_share_a_column(lb):
    keys = [c.key for c in lb.columns]
    assert "ssv2-linear" in keys and "ssv2-linear [built-in world]" in keys
    for col in lb.columns:
        sources = {r.record.data.source for cell in col.cells for r in cell.results}
        assert sources == {col.source}
        assert col.key == column_key(col.task, col.source)
        if col.builtin:
            assert col.paper == []                     # paper rows only beside real-data columns
    # the real column's tvts value is the real file's, not mixed with the built-in seeds
    assert _col(lb, "ssv2-linear").cell("tvts").metrics["top1"].value == pytest.approx(31.0)
    # real columns come first
    assert [c.builtin for c in lb.columns] == sorted(c.builtin for c in lb.columns)


def test_paper_rows_beside_real_columns(lb):
    real = _col(lb, "ssv2-linear")
    by_row = {ref.row.id: ref for ref in real.paper}
    assert by_row["tvts"].numbers["top1"].value == 31.5 and by_row["tvts"].numbers["top1"].table == 4
    ret = _col(lb, "msrvtt-ret-ft")
    by_row = {ref.row.id: ref for ref in ret.paper}
    assert by_row["tvts"].numbers["t2v_R@1"].value == 34.6
    assert by_row["frozen"].numbers["t2v_MedR"].value == 3.0
    summary = dict((row.id, numbers) for row, numbers in lb.paper_summary_rows())
    assert set(summary["tvts"]) == {"ssv2-linear", "msrvtt-ret-ft"}   # no built-in column keys


def test_contamination_badge(lb):
    assert _col(lb, "ssv2-linear" + BUILTIN_SUFFIX).cell(SCRIPT).contaminated      # trained_on ssv2
    assert _col(lb, "k400-linear" + BUILTIN_SUFFIX).cell("videomae").contaminated  # trained_on k400
    assert not _col(lb, "ssv2-linear" + BUILTIN_SUFFIX).cell("tvts").contaminated
    assert not _col(lb, "k400-linear" + BUILTIN_SUFFIX).cell("tvts").contaminated


def test_paired_bootstrap_separability(lb):
    col = _col(lb, "ssv2-linear" + BUILTIN_SUFFIX)
    best = col.cells[0]
    assert best.model == "tvts" and best.is_best and best.separation is None
    clip, weaker, videomae = col.cell("clip").separation, col.cell(SCRIPT).separation, col.cell("videomae").separation
    assert (clip.rule, clip.separable) == ("paired bootstrap", False)        # 0.5 points apart, mixed flips
    assert (videomae.rule, videomae.separable) == ("paired bootstrap", True)
    # The pairing matters: the weaker model's interval overlaps the best's, yet it is consistently worse
    # on the same samples, so the paired bootstrap separates it.
    a, b = best.metrics["top1"], col.cell(SCRIPT).metrics["top1"]
    assert a.ci_low < b.ci_high
    assert (weaker.rule, weaker.separable) == ("paired bootstrap", True)
    assert weaker.test.diff == pytest.approx(a.value - b.value, abs=0.6)
    # clip's side file is in the layout before the per-sample schema: read by the compatibility function
    assert clip.test is not None and clip.test.n == 200
    v2v = _col(lb, "ssv2-v2v" + BUILTIN_SUFFIX)
    assert all(c.separation.rule == "paired bootstrap" for c in v2v.cells[1:])
    ret = _col(lb, "msrvtt-ret" + BUILTIN_SUFFIX)
    assert ret.cell("clip").separation.rule == "paired bootstrap"        # rows of both directions in one file
    assert ret.cell("clip").separation.test.n == 100                    # only the rows carrying t2v_R@1


def test_interval_overlap_rule_without_side_files(lb):
    col = _col(lb, "ssv2-linear")
    assert col.cells[0].model == "tvts"
    assert (col.cell("clip").separation.rule, col.cell("clip").separation.separable) == ("interval overlap", False)
    assert (col.cell("videomae").separation.rule, col.cell("videomae").separation.separable) == \
        ("interval overlap", True)


def test_missing_side_file_falls_back_and_warns(tmp_path):
    root = tmp_path / "results"
    shutil.copytree(FIXTURES / "clip" / "ssv2-linear", root / "clip")
    shutil.copytree(FIXTURES / "tvts" / "ssv2-linear", root / "tvts")
    (root / "clip" / "builtin-seed0.samples.jsonl").unlink()
    lb = build_leaderboard(root)
    sep = _col(lb, "ssv2-linear" + BUILTIN_SUFFIX).cell("clip").separation
    assert sep.rule == "interval overlap" and sep.separable is False
    assert any("builtin-seed0.json" in w and "not found" in w for w in lb.warnings)


def test_side_file_that_disagrees_with_metric_is_not_used(tmp_path):
    root = tmp_path / "results"
    shutil.copytree(FIXTURES / "tvts" / "ssv2-linear", root / "tvts")
    shutil.copytree(FIXTURES / "videomae" / "ssv2-linear", root / "videomae")
    side = root / "videomae" / "builtin-seed1.samples.jsonl"
    side.write_text("".join(json.dumps({"sample_id": f"vid{i:04d}", "top1": 1.0}) + "\n" for i in range(200)))
    lb = build_leaderboard(root)
    assert _col(lb, "ssv2-linear" + BUILTIN_SUFFIX).cell("videomae").separation.rule == "interval overlap"
    assert any(str(side) in w and "do not reproduce" in w for w in lb.warnings)


def test_side_file_in_an_unknown_earlier_layout_asks_for_a_rerun(tmp_path):
    """A side file from before the per-sample schema that is not the layout tvts-bench last wrote (here
    0-based ``first_rank`` fields) is not guessed at: the model falls back to interval overlap and the
    warning says to re-run."""
    root = tmp_path / "results"
    for model in ("tvts", "clip"):
        shutil.copytree(FIXTURES / model / "ssv2-v2v", root / model)
    side = root / "clip" / "builtin-seed0.samples.jsonl"
    rows = [json.loads(line) for line in side.read_text().splitlines()]
    side.write_text("".join(json.dumps({"video_id": r["sample_id"], "first_rank": 0 if r["R@1"] else 3}) + "\n"
                            for r in rows))
    lb = build_leaderboard(root)
    assert _col(lb, "ssv2-v2v" + BUILTIN_SUFFIX).cell("clip").separation.rule == "interval overlap"
    assert any(str(side) in w and "before the per-sample schema" in w and "re-run the task" in w
               and "'correct_R@1'" in w for w in lb.warnings)


def test_invalid_files_are_skipped_with_a_warning_naming_them(tmp_path):
    root = tmp_path / "results"
    shutil.copytree(FIXTURES / "tvts" / "k400-linear", root / "ok")
    good = json.loads((root / "ok" / "builtin-seed0.json").read_text())
    (root / "bad").mkdir()
    (root / "bad" / "future.json").write_text(json.dumps({**good, "schema_version": 99}))
    (root / "bad" / "broken.json").write_text("{not json")
    (root / "bad" / "list.json").write_text("[1, 2]")
    missing = dict(good)
    del missing["provenance"]
    (root / "bad" / "missing.json").write_text(json.dumps(missing))
    extra = {**good, "surprise": 1}
    (root / "bad" / "extra.json").write_text(json.dumps(extra))
    (root / "bad" / "x.samples.jsonl").write_text('{"correct": 1}\n')
    loaded, warnings = load_results(root)
    assert len(loaded) == 2
    text = "\n".join(warnings)
    for name in ("future.json", "broken.json", "list.json", "missing.json", "extra.json"):
        assert name in text
    assert "schema_version 99" in text and "'provenance'" in text
    assert "samples.jsonl" not in text
    assert len(warnings) == 5


def test_newest_run_wins_and_duplicate_seeds_are_reported(tmp_path):
    root = tmp_path / "results"
    src = json.loads((FIXTURES / "tvts" / "k400-linear" / "builtin-seed0.json").read_text())
    old = {**src, "model": {**src["model"], "weights_hash": "old0000000000000"},
           "metrics": {"top1": {**src["metrics"]["top1"], "value": 10.0}}}
    new = {**src, "provenance": {**src["provenance"], "finished_at": "2026-11-21T00:00:00Z"},
           "metrics": {"top1": {**src["metrics"]["top1"], "value": 60.0}}}
    dup = {**new, "provenance": {**new["provenance"], "finished_at": "2026-11-21T01:00:00Z"},
           "metrics": {"top1": {**src["metrics"]["top1"], "value": 61.0}}}
    root.mkdir()
    for name, rec in (("old.json", old), ("new.json", new), ("dup.json", dup)):
        (root / name).write_text(json.dumps(rec))
    lb = build_leaderboard(root)
    cell = lb.columns[0].cell("tvts")
    assert cell.metrics["top1"].value == pytest.approx(61.0) and cell.metrics["top1"].n_seeds == 1
    assert any("old.json" in w for w in lb.warnings) and any("seed 0 appears twice" in w for w in lb.warnings)


def test_lower_is_better_metric_picks_the_lowest_as_best(tmp_path):
    root = tmp_path / "results"
    src = json.loads((FIXTURES / "tvts" / "msrvtt-ret-ft" / "real-seed0.json").read_text())
    root.mkdir()
    for name, medr in (("a", 5.0), ("b", 2.0)):
        rec = {**src, "model": {**src["model"], "name": name},
               "task": {**src["task"], "main_metric": "t2v_MedR"},
               "metrics": {"t2v_MedR": {"value": medr, "ci_low": medr - 0.5, "ci_high": medr + 0.5}}}
        (root / f"{name}.json").write_text(json.dumps(rec))
    col = build_leaderboard(root).columns[0]
    assert not col.higher_is_better
    assert [c.model for c in col.cells] == ["b", "a"] and col.cells[1].separation.separable is True


def test_paired_bootstrap_separates_a_worse_model_and_not_an_identical_one():
    rng = np.random.default_rng(1)
    a = (rng.random(300) < 0.6).astype(float) * 100
    b = a.copy()
    b[np.flatnonzero(a)[:20]] = 0              # b is a minus 20 correct answers: clearly worse
    t = paired_bootstrap(a, b)
    assert t.diff == pytest.approx(100 * 20 / 300) and t.separable
    assert t.low <= t.diff <= t.high and t.n == 300
    same = paired_bootstrap(a, a)
    assert same.diff == 0 and not same.separable


def test_paper_numbers():
    assert {n.value for n in paper.lookup("ssv2-v2v", "R@1", "tvts")} == {14.7}
    assert [n.value for n in paper.lookup("ssv2-v2v", "R@10", "videomae-k400")] == [26.5]
    assert [n.value for n in paper.lookup("msrvtt-ret-ft", "R@1", "tvts")] == [34.6]      # alias of t2v_R@1
    assert [n.value for n in paper.lookup("lsmdc-ret-ft", "t2v_MedR", "frozen")] == [20.0]
    assert [(n.value, n.table) for n in paper.lookup("hmdb51-ft", "top1", "tvts")] == [(70.5, 7)]
    assert [(n.value, n.table) for n in paper.lookup("ssv2-ft", "top1", "tvts")] == [(68.5, 5)]
    assert [n.value for n in paper.lookup("k400-ft", "top1", "ablation-scratch")] == [75.4]
    failed = paper.lookup("ssv2-ft", "top1", "ablation-sort")
    assert failed[0].value is None and failed[0].note == "failed" and failed[0].table == 2
    assert [n.value for n in paper.lookup("k400-ft", "top1", "sort-pairwise")] == [78.1]
    assert [(n.value, n.table) for n in paper.lookup("ucf101-linear", "top1", "order-vcop")] == [(79.1, 1)]
    assert paper.lookup("ucf101-ft", "top1", "clip") == []          # the paper has no number there
    assert paper.resolve_row("TVTS (YT-Temporal)").id == "tvts"
    assert paper.resolve_row("videomae-k400").label == "VideoMAE (K400)"
    assert paper.resolve_row("no such row") is None
    assert set(paper.rows_by_table()) == {1, 2, 3, 4, 5, 6, 7}
    assert all(n.row in paper.ROWS for n in paper.NUMBERS)


def test_model_cards_paper_rows_resolve(lb):
    # free-text rows used by the shipped model cards
    assert paper.resolve_row("TVTS ViT-B (YT-Temporal)").id == "tvts"
    assert paper.resolve_row("L_base only (Table 2)").id == "ablation-base"
    assert paper.resolve_row("VideoMAE ViT-B (K400)").id == "videomae-k400"
    assert paper.resolve_row("CLIP (frame average)").id == "clip"
    # in a real column the paper rows matching measured models come first and name them
    refs = _col(lb, "ssv2-linear").paper
    matched = [ref for ref in refs if ref.models]
    assert refs[: len(matched)] == matched
    assert {ref.row.id: ref.models for ref in matched} == {"tvts": ["tvts"], "videomae-yttemporal": ["videomae"],
                                                           "clip": ["clip"]}


def test_nan_main_metric_is_unranked(tmp_path):
    root = tmp_path / "results"
    src = json.loads((FIXTURES / "tvts" / "k400-linear" / "builtin-seed0.json").read_text())
    root.mkdir()
    for name, value in (("a", float("nan")), ("b", 40.0), ("c", 50.0)):
        rec = {**src, "model": {**src["model"], "name": name},
               "metrics": {"top1": {"value": value, "ci_low": value - 1, "ci_high": value + 1}}}
        (root / f"{name}.json").write_text(json.dumps(rec))
    col = build_leaderboard(root).columns[0]
    assert [c.model for c in col.cells] == ["c", "b", "a"]
    assert col.cells[0].is_best and col.cells[2].separation is None
    from tvts_bench.report.html import render_html

    page = render_html(build_leaderboard(root))
    assert 'data-sort="nan"' not in page and "n/a" in page


# ------------------------------------------------------------------ issue 19: ranks, scale, pairs, references

def test_shared_resamples_equal_the_one_pair_bootstrap():
    from tvts_bench.report.bootstrap import paired_bootstrap_all

    rng = np.random.default_rng(3)
    models = [(rng.random(257) < p).astype(float) * 100 for p in (0.3, 0.5, 0.55)]
    ranks = [np.floor(rng.exponential(s, 257)) + 1 for s in (2.0, 3.0)]
    for outcomes, statistic in ((models, "mean"), (ranks, "median")):
        shared = paired_bootstrap_all(outcomes, statistic=statistic)
        assert set(shared) == {(i, j) for i in range(len(outcomes)) for j in range(i + 1, len(outcomes))}
        for (i, j), test in shared.items():
            assert test == paired_bootstrap(outcomes[i], outcomes[j], statistic=statistic)   # to the last bit


def test_every_pair_is_compared_like_the_best(lb):
    from tvts_bench.report.aggregate import compare

    col = _col(lb, "ssv2-linear" + BUILTIN_SUFFIX)
    names = [c.model for c in col.cells]
    assert len(col.pairs) == len(names) * (len(names) - 1) // 2
    a, b = col.cell("clip"), col.cell(SCRIPT)
    alone = compare(a, b, "top1", [])                 # computed on its own, one pair at a time
    pair = col.pair("clip", SCRIPT)
    assert (pair.diff, pair.low, pair.high, pair.rule, pair.separable) == \
        (alone.test.diff, alone.test.low, alone.test.high, "paired bootstrap", alone.separable)
    back = col.pair(SCRIPT, "clip")
    assert (back.diff, back.low, back.high) == (-pair.diff, -pair.high, -pair.low)
    # without side files: the difference of the means, no interval, the overlap verdict
    real = _col(lb, "ssv2-linear")
    p = real.pair("clip", "videomae")
    assert p.rule == "interval overlap" and p.low is None and p.diff == pytest.approx(30.2 - 16.0)


def test_average_rank_counts_coverage_first(lb):
    ranks = lb.ranks
    assert lb.models == ["tvts", "clip", "videomae", SCRIPT]
    assert (ranks["tvts"].covered, ranks["tvts"].total) == (6, 6)
    assert ranks["tvts"].average == pytest.approx(7 / 6) and ranks["tvts"].text == "avg rank 1.2 (6/6 tasks)"
    # the script model is 3rd of 4 on its only task: average 3.0, better than nothing, but 1 task of 6
    assert ranks[SCRIPT].average == 3.0 and ranks[SCRIPT].covered == 1 and lb.models[-1] == SCRIPT


def _variant(src: dict, name: str, value: float, **model) -> dict:
    return {**src, "model": {**src["model"], "name": name, "weights_hash": f"w-{name}", **model},
            "per_sample_file": None,
            "metrics": {"top1": {"value": value, "ci_low": value - 1, "ci_high": value + 1}}}


def test_ties_share_their_rank_and_scratch_is_the_floor_without_a_chance_row(tmp_path):
    root = tmp_path / "results"
    root.mkdir()
    src = json.loads((FIXTURES / "tvts" / "k400-linear" / "builtin-seed0.json").read_text())
    for name, value, family in (("a", 50.0, "tvts"), ("b", 50.0, "tvts"), ("c", 40.0, "tvts"),
                                ("scratch", 20.0, "scratch")):
        (root / f"{name}.json").write_text(json.dumps(_variant(src, name, value, family=family)))
    lb = build_leaderboard(root)
    col = lb.columns[0]
    assert {c.model: c.rank for c in col.cells} == {"a": 1.5, "b": 1.5, "c": 3.0, "scratch": 4.0}
    assert (col.scale.floor, col.scale.ceiling) == (20.0, 50.0)
    assert "scratch model 20.0" in col.scale.floor_label and "best measured" in col.scale.ceiling_label
    assert col.cell("c").position == pytest.approx(20 / 30) and col.cell("scratch").position == 0.0
    # no chance row and no scratch model: the floor of a percentage is 0
    (root / "scratch.json").unlink()
    col = build_leaderboard(root).columns[0]
    assert col.scale.floor == 0.0 and col.cell("c").position == pytest.approx(0.8)


def test_reference_rows_never_ranked_and_define_the_scale(tmp_path):
    root = tmp_path / "results"
    root.mkdir()
    src = json.loads((FIXTURES / "tvts" / "k400-linear" / "builtin-seed0.json").read_text())
    rows = [("m1", 60.0, {}), ("m2", 30.0, {}),
            ("chance", 10.0, {"family": "reference", "card": {"reference_kind": "chance", "role": "floor"}}),
            ("perception ceiling", 90.0, {"family": "reference",
                                          "card": {"reference_kind": "perception", "role": "ceiling"}}),
            # no card: the role follows the name
            ("pixel ceiling", 95.0, {"family": "reference"}),
            # a card of the wrong types: ignored, harmless; without a role it is a diagnostic row
            ("order ceiling (shuffled)", 99.0, {"family": "reference", "card": {"reference_kind": ["x"],
                                                                                "role": {"a": 1}}})]
    for name, value, model in rows:
        (root / f"{name}.json").write_text(json.dumps(_variant(src, name, value, **model)))
    lb = build_leaderboard(root)
    col = lb.columns[0]
    assert lb.models == ["m1", "m2"] and [c.model for c in col.cells] == ["m1", "m2"]
    assert lb.references == ["chance", "perception ceiling", "pixel ceiling", "order ceiling (shuffled)"]
    assert [c.reference_role for c in col.references] == ["floor", "ceiling", "ceiling", "diagnostic"]
    assert col.reference("order ceiling (shuffled)").reference_kind == "order-shuffled"
    assert col.cells[0].is_best and col.cells[0].model == "m1"           # 99.0 of a reference is not "best"
    assert all(c.rank is None and not c.is_best for c in col.references)
    assert lb.ranks["m1"].ranks == {col.key: 1.0} and lb.ranks["m2"].ranks == {col.key: 2.0}
    assert ("m1", "chance") not in col.pairs and len(col.pairs) == 1
    assert (col.scale.floor, col.scale.ceiling) == (10.0, 95.0)       # best of the rows whose role is ceiling
    assert col.cell("m1").position == pytest.approx(50 / 85)
    assert col.reference("order ceiling (shuffled)").position > 1          # shaded as "above the ceiling"


def test_lower_is_better_scale_and_views_from_hostile_fields(tmp_path):
    root = tmp_path / "results"
    root.mkdir()
    src = json.loads((FIXTURES / "tvts" / "msrvtt-ret-ft" / "real-seed0.json").read_text())
    for name, medr in (("a", 5.0), ("b", 2.0), ("c", 11.0)):
        rec = {**src, "model": {**src["model"], "name": name, "weights_hash": name},
               "task": {**src["task"], "main_metric": "t2v_MedR",
                        "card": {"sampling": {"frames": True, "clips": "2", "crops": 3.0}}},
               "provenance": {**src["provenance"], "extra": {"preprocess": {"num_frames": 1e300}}},
               "metrics": {"t2v_MedR": {"value": medr, "ci_low": medr - 0.5, "ci_high": medr + 0.5}}}
        (root / f"{name}.json").write_text(json.dumps(rec))
    col = build_leaderboard(root).columns[0]
    assert [c.rank for c in col.cells] == [1.0, 2.0, 3.0]                  # b, a, c: lower is better
    assert (col.scale.floor, col.scale.ceiling) == (11.0, 2.0)             # the worst measured, the best
    assert col.cell("a").position == pytest.approx(6 / 9)
    views = col.cell("a").views
    assert (views.frames, views.clips, views.crops) == (None, None, 3) and views.short == "?\u00d7?\u00d73"


def test_a_ceiling_row_at_chance_is_no_scale(tmp_path):
    """A pixel ceiling that stayed at chance cannot be the top of the scale: the best model is."""
    root = tmp_path / "results"
    root.mkdir()
    src = json.loads((FIXTURES / "tvts" / "k400-linear" / "builtin-seed0.json").read_text())
    rows = [("m1", 40.0, {}), ("m2", 30.0, {}),
            ("chance", 10.0, {"family": "reference", "card": {"reference_kind": "chance", "role": "floor"}}),
            ("pixel ceiling", 9.0, {"family": "reference", "card": {"reference_kind": "pixel", "role": "ceiling"}})]
    for name, value, model in rows:
        (root / f"{name}.json").write_text(json.dumps(_variant(src, name, value, **model)))
    col = build_leaderboard(root).columns[0]
    assert (col.scale.floor, col.scale.ceiling) == (10.0, 40.0)
    assert "not above the floor" in col.scale.ceiling_label
    assert col.reference("pixel ceiling").position < 0 and col.cell("m2").position == pytest.approx(2 / 3)
