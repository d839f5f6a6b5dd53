"""tvts-bench study: claim verdicts on constructed results, the report, resume, and a tiny end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tvts_bench.cli import cli
from tvts_bench.report.aggregate import load_results
from tvts_bench.study import analysis
from tvts_bench.study.analysis import analyse, compare_claim
from tvts_bench.study.design import PRESETS, TABLES, VARIANTS, Claim, needed_variants, select_tables
from tvts_bench.study.report import dataframes, render_csv, render_html, render_markdown
from tvts_bench.study.run import StudyOptions, execute, plan

FIXTURE = Path(__file__).parent / "fixtures" / "results" / "tvts" / "ssv2-linear" / "builtin-seed0.json"
N = 80


def _write(root: Path, model: str, seed: int, outcomes: np.ndarray, task: str = "ssv2-linear") -> None:
    """A result file of ``model`` on ``task`` with per-sample top-1 outcomes (and its side file)."""
    rec = json.loads(FIXTURE.read_text())
    rec["model"] = {**rec["model"], "name": model, "weights_hash": f"{model}-{seed}".ljust(16, "0")[:16]}
    rec["task"] = {**rec["task"], "name": task}
    rec["seed"] = seed
    value = float(outcomes.mean() * 100)
    rec["metrics"] = {"top1": {"value": value, "ci_low": value - 5, "ci_high": value + 5, "ci_level": 0.95, "n": len(outcomes)}}
    folder = root / model / task
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"builtin-seed{seed}"
    rec["per_sample_file"] = f"{stem}.samples.jsonl"
    (folder / f"{stem}.json").write_text(json.dumps(rec))
    (folder / f"{stem}.samples.jsonl").write_text(
        "".join(json.dumps({"sample_id": f"v{i:03d}", "top1": float(o)}) + "\n" for i, o in enumerate(outcomes)))


def _outcomes(correct: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros(N)
    out[rng.choice(N, correct, replace=False)] = 1.0
    return out


CLAIM = Claim(2, "tvts", "base", "ssv2-linear", "top1", "tvts beats base on ssv2-linear")


def _verdict(tmp_path: Path, a: list[np.ndarray], b: list[np.ndarray]) -> analysis.ClaimResult:
    root = tmp_path / "results"
    for seed, (oa, ob) in enumerate(zip(a, b)):
        _write(root, "tvts-s%d" % seed, seed, oa)
        _write(root, "base-s%d" % seed, seed, ob)
    loaded, warnings = load_results(root)
    assert warnings == []
    return compare_claim(CLAIM, analysis._index(loaded), tuple(range(len(a))), [])


def test_a_clear_win_is_reproduced(tmp_path):
    base = _outcomes(20)
    better = base.copy()
    better[np.flatnonzero(base == 0)[:30]] = 1.0          # 30 more right answers, none lost
    c = _verdict(tmp_path, [better], [base])
    assert c.verdict == "reproduced"
    assert c.test.diff == pytest.approx(30 / N * 100)
    assert c.test.low > 0 and c.seeds == 1


def test_a_clear_loss_is_reversed(tmp_path):
    base = _outcomes(60)
    worse = base.copy()
    worse[np.flatnonzero(base == 1)[:30]] = 0.0
    c = _verdict(tmp_path, [worse], [base])
    assert c.verdict == "reversed" and c.test.high < 0


def test_an_overlap_is_not_separable(tmp_path):
    base = _outcomes(40, seed=1)
    other = _outcomes(41, seed=2)          # different samples right, about the same count
    c = _verdict(tmp_path, [other], [base])
    assert c.verdict == "not separable" and c.test.low < 0 < c.test.high


def test_seeds_are_pooled_as_pairs(tmp_path):
    # one seed alone is too small to separate; two seeds with the same +5 effect on other samples are not
    # the same as one: the interval narrows
    base = [_outcomes(30, seed=s) for s in (0, 1)]
    better = []
    for s, b in enumerate(base):
        x = b.copy()
        x[np.flatnonzero(b == 0)[s * 8:s * 8 + 8]] = 1.0
        better.append(x)
    one = _verdict(tmp_path / "one", better[:1], base[:1])
    two = _verdict(tmp_path / "two", better, base)
    assert two.seeds == 2 and two.test.n == 2 * N
    assert (two.test.high - two.test.low) < (one.test.high - one.test.low)


def test_missing_results_are_not_measured(tmp_path):
    root = tmp_path / "results"
    _write(root, "tvts-s0", 0, _outcomes(10))
    loaded, _ = load_results(root)
    c = compare_claim(CLAIM, analysis._index(loaded), (0,), [])
    assert c.verdict == "not measured" and c.test is None


def test_report_formats_and_dataframes(tmp_path):
    root = tmp_path / "results"
    hostile = "<script>alert(1)</script>"
    for v, k in (("tvts", 60), ("base", 30), ("scratch", 10), ("sort", 12), ("tvts-nosg", 40)):
        for task in ("ssv2-linear", "k400-linear"):
            _write(root, f"{v}-s0", 0, _outcomes(k), task=task)
    runs = tmp_path / "runs"
    (runs / "study-t-sort-s0").mkdir(parents=True)
    (runs / "study-t-sort-s0" / "summary.json").write_text(json.dumps({"status": "did not converge", "seconds": 12}))
    result = analyse(root, runs, "t", [TABLES[2]], (0,))
    table = result.tables[0]
    rows = {r.variant: r for r in table.rows}
    assert rows["tvts"].values[("ssv2-linear", "top1")].value == pytest.approx(75.0)
    assert rows["sort"].status == "did not converge"
    assert rows["base"].status == "not run"              # a pretrained variant without a run folder
    assert rows["tvts"].paper[("ssv2-ft", "top1")] == pytest.approx(68.5)
    verdicts = {(c.claim.better, c.claim.worse, c.claim.task): c.verdict for c in table.claims}
    assert verdicts[("tvts", "base", "ssv2-linear")] == "reproduced"
    assert verdicts[("tvts", "base", "ssv2-ft")] == "not measured"
    result.warnings.append(hostile)
    html = render_html(result)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Content-Security-Policy" in html and "default-src" in html and "reproduced" in html
    md = render_markdown(result)
    assert "## Table 2" in md and "**reproduced**" in md
    csv_text = render_csv(result)
    assert csv_text.splitlines()[0].startswith("kind,table,row")
    frames = dataframes(result)
    assert set(frames) == {"rows", "claims"}
    assert len(frames["claims"]) == len(TABLES[2].claims)
    assert len(frames["rows"]) == len(TABLES[2].variants) * len(TABLES[2].tasks)


def test_pretraining_curves_land_under_their_variant_for_a_hyphenated_study_name(tmp_path):
    from tvts_bench.report.pretraining import RunCurves
    from tvts_bench.study.analysis import run_name

    result = analyse(tmp_path / "none", tmp_path / "runs", "my-study", [TABLES[2]], (0,))
    name = run_name("my-study", "tvts-nosg", 0)
    curve = RunCurves(name, "tvts", {("loss", "train"): [(1.0, 2.0), (2.0, 1.5)]})
    html = render_html(result, [curve], {name: "tvts-nosg"})
    # the run is drawn once, in the tvts-nosg row's curves; splitting the name would have said "study-tvts-nosg"
    assert html.count(name) == 1
    without_mapping = render_html(result, [curve])
    assert name not in without_mapping        # a run no variant claims is not drawn under a wrong row


def test_design_is_consistent():
    for table in TABLES.values():
        for name in table.variants:
            assert name in VARIANTS
        for claim in table.claims:
            assert claim.table == table.number
            assert {claim.better, claim.worse} <= set(table.variants)
            assert (claim.task, claim.metric) in table.tasks
    assert needed_variants(select_tables("3")) == ["tvts", "pairwise", "factorial"]
    with pytest.raises(Exception, match="unknown study table"):
        select_tables("9")


def test_an_interrupted_study_resumes_where_it_stopped(tmp_path):
    runs = tmp_path / "runs"
    opts = StudyOptions(name="t", preset=PRESETS["tiny"], tables=select_tables("3"), seeds=(0,),
                        results_dir=tmp_path / "results", runs_dir=runs)
    calls: list[list[str]] = []

    class Interrupted(Exception):
        pass

    def fake(args: list[str], stop_after: int | None = None) -> int:
        if stop_after is not None and len(calls) >= stop_after:
            raise Interrupted
        calls.append(args)
        if args[0] == "pretrain":
            run = runs / args[args.index("--name") + 1]
            run.mkdir(parents=True)
            (run / "summary.json").write_text(json.dumps({"status": "finished", "steps": opts.preset.pretrain_steps}))
        return 0

    with pytest.raises(Interrupted):
        execute(opts, lambda a: fake(a, stop_after=3), _Quiet())
    first = [c[0] for c in calls]
    assert first == ["pretrain", "run", "pretrain"]
    calls.clear()
    assert execute(opts, fake, _Quiet()) == []
    # the two finished pretraining runs are not started again; every evaluation is invoked (run skips
    # the results that exist)
    assert [c[0] for c in calls] == ["run", "run", "pretrain", "run"]
    assert len(plan(opts)) == 6


class _Quiet:
    def print(self, *args, **kwargs) -> None:
        pass


def test_tiny_study_end_to_end(bench_home):
    """Every table on the tiny world with tiny models: every row measured, every claim with a verdict, and
    a second call recomputes nothing."""
    from tvts_bench.study.design import tasks_of

    runner = CliRunner()
    args = ["study", "--preset", "tiny"]
    out = runner.invoke(cli, args)
    assert out.exit_code == 0, out.output
    study_dir = bench_home / "studies" / "tiny"
    md = (study_dir / "study.md").read_text()
    for number in TABLES:
        assert f"## Table {number}" in md
    assert "not measured" not in md and "not run" not in md
    tables = select_tables("all")
    results = sorted((study_dir / "results").rglob("*.json"))
    assert len(results) == sum(len(tasks_of(tables, v)) for v in needed_variants(tables))
    stamps = {p: p.stat().st_mtime_ns for p in results}
    again = runner.invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert {p: p.stat().st_mtime_ns for p in results} == stamps      # nothing recomputed
