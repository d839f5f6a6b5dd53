"""The leaderboard's temporal-minus-static gap (report/gaps.py) on constructed result files.

Pairs are found by task name (``temporal<N>`` / ``static<M>`` in one part, same dataset, protocol and
data source); the gap is the temporal column's value minus the static one's; the two subsets have
different test samples, so its interval is an independent bootstrap of the two sides (with per-sample
files) or the MOVER combination of the two recorded intervals (without), and HTML, Markdown and CSV show
the same numbers.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest

from tvts_bench.bench.result_schema import DataInfo, MetricValue, ModelInfo, Provenance, ResultRecord, TaskInfo
from tvts_bench.bench.results import write_result
from tvts_bench.bench.stats import metric_value
from tvts_bench.report.aggregate import build_leaderboard
from tvts_bench.report.csv import render_csv
from tvts_bench.report.gaps import BOOTSTRAP, COMBINED, NONE, subset_columns
from tvts_bench.report.html import render_html
from tvts_bench.report.markdown import render_markdown

SCRIPT = "<script>alert(1)</script>"
K_T, K_S = "k400-linear-temporal32", "k400-linear-static32"
S_T, S_S = "ssv2-linear-temporal18", "ssv2-linear-static16"
N_T, N_S = 300, 200           # the subsets' test sets differ in size and in samples


def _record(model: str, task: str, source: str, seed: int, metrics: dict, *, family: str = "user",
            frames: int = 8) -> ResultRecord:
    dataset, protocol = task.split("-")[:2]
    return ResultRecord(
        model=ModelInfo(name=model, family=family, weights_hash=hashlib.sha256(model.encode()).hexdigest()[:16]),
        task=TaskInfo(name=task, dataset=dataset, protocol=protocol, hash=f"hash-{task}", main_metric="top1",
                      card={"name": task, "sampling": {"frames": frames, "clips": 1, "crops": 1},
                            "reader_options": {"classes_file": task.split("-")[-1]}}),
        seed=seed, metrics=metrics,
        data=DataInfo(source=source, root=f"/data/{dataset}", manifest_hash=f"m-{source}-{dataset}", listed=500,
                      missing=0),
        provenance=Provenance(tvts_bench_version="0.1.0", torch_version="2.14.1", device="cpu",
                              started_at="2026-12-01T10:00:00Z", finished_at="2026-12-01T10:00:30Z", seconds=30.0),
    )


def _write(root: Path, model: str, task: str, source: str, seed: int, correct: np.ndarray | None = None, *,
           value: tuple[float, float, float] | None = None, family: str = "user", frames: int = 8) -> None:
    """A result with a side file (``correct``: 0/1 per test sample) or only a recorded value and interval."""
    folder = root / hashlib.sha256(model.encode()).hexdigest()[:8] / task
    folder.mkdir(parents=True, exist_ok=True)
    if correct is not None:
        metrics = {"top1": metric_value(100.0 * correct)}
        prefix = "t" if "temporal" in task else "s"       # the subsets share no test sample
        rows = [{"sample_id": f"{prefix}{i:04d}", "top1": float(c)} for i, c in enumerate(correct)]
    else:
        v, lo, hi = value  # type: ignore[misc]
        metrics = {"top1": MetricValue(value=v, ci_low=lo, ci_high=hi, n=N_T)}
        rows = None
    write_result(folder / f"{source}-seed{seed}.json",
                 _record(model, task, source, seed, metrics, family=family, frames=frames), rows)


def _answers(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """0/1 answers with exactly round(p * n) correct, in random order."""
    out = np.zeros(n)
    out[: round(p * n)] = 1.0
    return rng.permutation(out)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gap") / "results"
    rng = np.random.default_rng(16)
    # "motion": side files, one seed; loses 10 points on the temporal classes
    _write(root, "motion", K_T, "real", 0, _answers(rng, N_T, 0.60))
    _write(root, "motion", K_S, "real", 0, _answers(rng, N_S, 0.70))
    # SCRIPT: side files, 3 seeds that disagree a lot on the temporal subset (seed variation the
    # per-sample bootstrap cannot see); loses 40 points; read 16 frames on static (views differ)
    for seed, p in enumerate((0.20, 0.40, 0.30)):
        _write(root, SCRIPT, K_T, "real", seed, _answers(rng, N_T, p))
    for seed in range(3):
        _write(root, SCRIPT, K_S, "real", seed, _answers(rng, N_S, 0.70), frames=16)
    # "intervals": no side files, asymmetric recorded intervals: the MOVER rule
    _write(root, "intervals", K_T, "real", 0, value=(50.0, 44.0, 55.0))
    _write(root, "intervals", K_S, "real", 0, value=(52.0, 49.0, 57.0))
    # "bare": no intervals at all
    _write(root, "bare", K_T, "real", 0, value=(40.0, None, None))
    _write(root, "bare", K_S, "real", 0, value=(45.0, None, None))
    # "temporal-only": no static result, so no gap
    _write(root, "temporal-only", K_T, "real", 0, _answers(rng, N_T, 0.5))
    # a reference row on both: never gets a gap
    for task, n in ((K_T, N_T), (K_S, N_S)):
        _write(root, "chance", task, "real", 0, value=(100 / 32, 100 / 32, 100 / 32), family="reference")
    # a pair on the built-in world: its own gap, never paired with the real columns
    _write(root, "motion", S_T, "builtin", 0, _answers(rng, 100, 0.90))
    _write(root, "motion", S_S, "builtin", 0, _answers(rng, 100, 0.95))
    _write(root, "motion", K_S, "builtin", 0, _answers(rng, 100, 0.5))   # no builtin k400 temporal partner
    _write(root, "motion", "ucf101-linear-temporal", "builtin", 0, _answers(rng, 100, 0.5))   # no static
    _write(root, "motion", "ssv2-knn-static16", "builtin", 0, _answers(rng, 100, 0.5))   # another protocol
    return root


@pytest.fixture(scope="module")
def lb(results):
    return build_leaderboard(results)


def _pair(lb, task: str, source: str):
    return next(p for p in lb.gaps if p.temporal.task == task and p.source == source)


def test_pairs_same_dataset_protocol_and_source_only(lb):
    assert lb.warnings == []
    found = {(t.key, s.key) for t, s in subset_columns(lb.columns)}
    assert found == {(K_T, K_S), (f"{S_T} [built-in world]", f"{S_S} [built-in world]")}
    assert [(p.temporal.task, p.static.task, p.source) for p in lb.gaps] == [(K_T, K_S, "real"), (S_T, S_S, "builtin")]
    assert _pair(lb, K_T, "real").label == "k400-linear: temporal32 \u2212 static32"
    assert _pair(lb, S_T, "builtin").label == "ssv2-linear: temporal18 \u2212 static16"


def test_gap_is_temporal_minus_static_for_models_with_both(lb):
    pair = _pair(lb, K_T, "real")
    assert {g.model for g in pair.gaps} == {"motion", SCRIPT, "intervals", "bare"}   # not chance, not temporal-only
    for g in pair.gaps:
        t, s = pair.temporal.cell(g.model), pair.static.cell(g.model)
        assert g.diff == pytest.approx(t.metrics["top1"].value - s.metrics["top1"].value)
    assert pair.gap("motion").diff == pytest.approx(-10.0)
    assert pair.gap(SCRIPT).diff == pytest.approx(-40.0)


def test_independent_bootstrap_matches_the_two_sample_standard_error(lb):
    g = _pair(lb, K_T, "real").gap("motion")
    assert g.rule == BOOTSTRAP and "independent bootstrap" in g.detail and "300 and 200" in g.detail
    assert "widened" not in g.detail                    # one seed on each side: the bootstrap alone
    # independent check: the normal interval of a difference of two independent proportions
    se = 100.0 * math.sqrt(0.6 * 0.4 / N_T + 0.7 * 0.3 / N_S)
    assert g.low == pytest.approx(-10.0 - 1.96 * se, abs=1.2)
    assert g.high == pytest.approx(-10.0 + 1.96 * se, abs=1.2)
    assert g.high < 0 and g.separable is True          # -10 +- 8.4: the interval stays under zero
    # wider than either subset's own interval: two test sets' uncertainty, not one
    t = _pair(lb, K_T, "real").temporal.cell("motion").metrics["top1"]
    assert g.high - g.low > t.ci_high - t.ci_low


def test_seed_variation_widens_the_bootstrap(lb):
    pair = _pair(lb, K_T, "real")
    g = pair.gap(SCRIPT)
    t, s = pair.temporal.cell(SCRIPT).metrics["top1"], pair.static.cell(SCRIPT).metrics["top1"]
    assert t.n_seeds == 3 and g.rule == BOOTSTRAP and "widened" in g.detail
    # the seeds (20, 40, 30 %) give a t-interval of +-24.8 points, far wider than one test set's
    mover_low = g.diff - math.hypot(t.value - t.ci_low, s.ci_high - s.value)
    mover_high = g.diff + math.hypot(t.ci_high - t.value, s.value - s.ci_low)
    assert g.low == pytest.approx(mover_low) and g.high == pytest.approx(mover_high)
    assert any("different views (8\u00d71\u00d71 vs 16\u00d71\u00d71)" in n for n in g.notes)


def test_without_side_files_the_two_intervals_are_combined(lb):
    pair = _pair(lb, K_T, "real")
    g = pair.gap("intervals")
    assert g.rule == COMBINED and g.diff == pytest.approx(-2.0)
    # MOVER by hand: lower uses the temporal's lower arm and the static's upper arm
    assert g.low == pytest.approx(-2.0 - math.sqrt(6.0 ** 2 + 5.0 ** 2))
    assert g.high == pytest.approx(-2.0 + math.sqrt(5.0 ** 2 + 3.0 ** 2))
    assert g.separable is False
    bare = pair.gap("bare")
    assert bare.rule == NONE and bare.low is None and bare.separable is None and bare.diff == pytest.approx(-5.0)


def test_csv_gap_rows(lb):
    rows = [r for r in csv.DictReader(io.StringIO(render_csv(lb))) if r["kind"] == "gap"]
    assert len(rows) == 5
    motion = next(r for r in rows if r["model"] == "motion" and r["source"] == "real")
    assert motion["task"] == f"{K_T} minus {K_S}" and motion["metric"] == "gap:top1"
    assert motion["role"] == BOOTSTRAP and float(motion["value"]) == pytest.approx(-10.0)
    g = _pair(lb, K_T, "real").gap("motion")
    assert float(motion["ci_low"]) == pytest.approx(g.low, abs=1e-4)
    assert next(r for r in rows if r["model"] == "bare")["ci_low"] == ""
    assert next(r for r in rows if r["model"] == "intervals")["role"] == COMBINED
    world = next(r for r in rows if r["source"] == "builtin")
    assert world["task"] == f"{S_T} minus {S_S}" and float(world["value"]) == pytest.approx(-5.0)


def test_markdown_gap_section(lb):
    md = render_markdown(lb)
    assert "## Temporal minus static" in md
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| Model | k400-linear: temporal32"))
    assert "ssv2-linear: temporal18 \u2212 static16 [built-in world] (top1)" in header
    motion = next(line for line in lines[lines.index(header):] if line.startswith("| motion |"))
    g = _pair(lb, K_T, "real").gap("motion")
    assert f"| -10.0 [{g.low:+.1f}, {g.high:+.1f}] | -5.0 [" in motion
    assert "| bare | -5.0 | \u2013 |" in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md and SCRIPT not in md
    assert "MOVER" in md and "independent bootstrap" in md


def test_html_gap_section(lb):
    page = render_html(lb)
    section = re.search(r'<section id="gaps" class="gaps">(.*?)</section>', page, re.S).group(1)
    assert 'href="#gaps"' in page
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    row = re.search(r'<th scope="row" data-sort="motion">motion</th>(.*?)</tr>', section, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    text = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]
    g = _pair(lb, K_T, "real").gap("motion")
    assert text[0].startswith("\u221210.0 [") and text[1].startswith("\u22125.0 [")
    assert 'class="gap sep"' in row                                   # the interval excludes zero
    title = html.unescape(re.search(r'title="([^"]*)"', row).group(1))
    assert f"{K_T} 60.00" in title and f"{K_S} 70.00" in title and "independent bootstrap" in title
    assert f"[{g.low:.2f}, {g.high:.2f}]" in title
    # only models with a gap get a row; reference rows never do
    assert "temporal-only" not in section and 'data-sort="chance"' not in section


def test_no_section_without_a_pair(tmp_path):
    rng = np.random.default_rng(0)
    _write(tmp_path, "motion", K_T, "real", 0, _answers(rng, 50, 0.5))
    lb = build_leaderboard(tmp_path)
    assert lb.gaps == []
    assert 'id="gaps"' not in render_html(lb) and "Temporal minus static" not in render_markdown(lb)
    assert "gap" not in {r["kind"] for r in csv.DictReader(io.StringIO(render_csv(lb)))}
