"""From a study's result files to its tables: per-row means over seeds, paired differences, verdicts.

Row value: the mean over pretraining seeds of each seed's result, with the leaderboard's interval rule
(one seed: the result's bootstrap interval over test samples; several: a t-interval over seeds, widened
to the mean per-seed bootstrap interval where that is wider).

Claim: ``better`` minus ``worse`` on one task and metric. The per-sample outcomes of the two variants
are paired by test sample within each seed and concatenated over seeds; the bootstrap resamples test
samples (a sample's outcomes in every seed go together, so the interval covers sample noise; with
several seeds the spread between seeds enters through the outcomes). Verdict: *reproduced* when the
interval lies on the paper's side of zero, *reversed* when it lies on the other side, *not separable*
when it contains zero, *not measured* when a side file is missing. A row whose own pretext stayed at
chance (``sort`` alone, like in the paper) is marked *did not converge*.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..bench.protocols import spec_of
from ..bench.sample_rows import clusters_of
from ..report import paper as paper_numbers
from ..report.aggregate import Agg, LoadedResult, aggregate_metric, load_results, result_outcomes
from ..report.bootstrap import PairedDiff, paired_bootstrap
from .design import VARIANTS, Claim, StudyTable

VERDICTS = ("reproduced", "reversed", "not separable", "not measured")


def model_name(variant: str, seed: int) -> str:
    """The name a variant's results are filed under for one pretraining seed."""
    return f"{variant}-s{seed}"


def run_name(study: str, variant: str, seed: int) -> str:
    """The pretraining run folder of a variant and seed (under the home's runs/)."""
    return f"study-{study}-{variant}-s{seed}"


@dataclass
class RowResult:
    variant: str
    title: str
    values: dict[tuple[str, str], Agg | None]           # (task, metric) -> aggregate over seeds
    paper: dict[tuple[str, str], float | str | None]    # the paper's number (or "failed") for the row
    paper_row: str | None
    status: str = "ok"                                   # ok | did not converge | not run
    pretrain_seconds: float | None = None
    eval_seconds: float | None = None


@dataclass
class ClaimResult:
    claim: Claim
    verdict: str
    test: PairedDiff | None
    seeds: int
    paper_diff: float | None
    detail: str = ""


@dataclass
class TableResult:
    table: StudyTable
    rows: list[RowResult]
    claims: list[ClaimResult]


@dataclass
class StudyResult:
    name: str
    seeds: tuple[int, ...]
    tables: list[TableResult]
    warnings: list[str] = field(default_factory=list)


def _index(results: list[LoadedResult]) -> dict[tuple[str, str], list[LoadedResult]]:
    """(model, task) -> that model's results on the task, newest last."""
    out: dict[tuple[str, str], list[LoadedResult]] = {}
    for r in sorted(results, key=lambda r: r.record.provenance.finished_at):
        out.setdefault((r.record.model.name, r.record.task.name), []).append(r)
    return out


def _result_for(index: dict, variant: str, seed: int, task: str) -> LoadedResult | None:
    found = [r for r in index.get((model_name(variant, seed), task), []) if r.record.seed == seed]
    return found[-1] if found else None


def higher_is_better(task_result: LoadedResult | None, metric: str) -> bool:
    if task_result is None:
        return True
    declared = spec_of(task_result.record.task.protocol).metric(metric)
    return True if declared is None else declared.higher_is_better


def paper_value(row_id: str | None, task: str, metric: str) -> float | None:
    """The paper's number for a row (None where it reports a note such as "failed" instead)."""
    cell = paper_cell(row_id, task, metric)
    return cell if isinstance(cell, (int, float)) else None


def paper_cell(row_id: str | None, task: str, metric: str) -> float | str | None:
    """The paper's number for a row, or its note (``"failed"``) where it reports no number."""
    found = paper_numbers.lookup(task, metric, row_id) if row_id else []
    if not found:
        return None
    return found[0].value if found[0].value is not None else (found[0].note or None)


def _run_summary(runs_dir: Path, study: str, variant: str, seed: int) -> dict[str, Any] | None:
    path = runs_dir / run_name(study, variant, seed) / "summary.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def compare_claim(claim: Claim, index: dict, seeds: tuple[int, ...], warnings: list[str]) -> ClaimResult:
    """The paired difference better - worse over the seeds both were measured on, and its verdict."""
    a_all: list[float] = []
    b_all: list[float] = []
    keys_all: list[str] = []
    statistic = "percent"
    used = 0
    hib = True
    for seed in seeds:
        ra = _result_for(index, claim.better, seed, claim.task)
        rb = _result_for(index, claim.worse, seed, claim.task)
        if ra is None or rb is None:
            continue
        hib = higher_is_better(ra, claim.metric)
        oa = result_outcomes(ra, claim.metric, warnings)
        ob = result_outcomes(rb, claim.metric, warnings)
        if oa is None or ob is None:
            continue
        da = dict(zip(oa[0], oa[1].tolist()))
        db = dict(zip(ob[0], ob[1].tolist()))
        common = [k for k in oa[0] if k in db]
        if not common:
            continue
        clusters = clusters_of(common) or [str(k) for k in common]
        a_all += [da[k] for k in common]
        b_all += [db[k] for k in common]
        keys_all += clusters
        statistic = oa[2]
        used += 1
    if not used:
        return ClaimResult(claim, "not measured", None, 0, None,
                           f"no paired per-sample outcomes of {claim.better} and {claim.worse} on {claim.task}")
    test = paired_bootstrap(np.array(a_all), np.array(b_all), statistic=statistic,  # type: ignore[arg-type]
                            clusters=np.array(keys_all))
    # the claim says "better is better": in the metric's direction
    low, high = (test.low, test.high) if hib else (-test.high, -test.low)
    verdict = "reproduced" if low > 0 else "reversed" if high < 0 else "not separable"
    detail = (f"{claim.better} minus {claim.worse}: {test.diff:+.2f} [{test.low:+.2f}, {test.high:+.2f}] "
              f"({test.level:.0%} paired bootstrap over {test.n} outcomes, {used} seed(s))")
    pa = paper_value(VARIANTS[claim.better].paper_rows.get(claim.table), claim.task, claim.metric)
    pb = paper_value(VARIANTS[claim.worse].paper_rows.get(claim.table), claim.task, claim.metric)
    paper_diff = pa - pb if pa is not None and pb is not None else None
    return ClaimResult(claim, verdict, test, used, paper_diff, detail)


def analyse(results_dir: Path, runs_dir: Path, study: str, tables: list[StudyTable],
            seeds: tuple[int, ...]) -> StudyResult:
    """Read every result under ``results_dir`` and build the study's tables."""
    loaded, warnings = load_results(Path(results_dir)) if Path(results_dir).is_dir() else ([], [])
    index = _index(loaded)
    # each variant's pretraining summaries, read once (a variant appears in several tables)
    summaries_of = {name: [s for seed in seeds if (s := _run_summary(runs_dir, study, name, seed)) is not None]
                    for name in dict.fromkeys(n for t in tables for n in t.variants)}
    out: list[TableResult] = []
    for table in tables:
        rows = []
        for name in table.variants:
            variant = VARIANTS[name]
            row_id = variant.paper_rows.get(table.number)
            values: dict[tuple[str, str], Agg | None] = {}
            for task, metric in table.tasks:
                found = [r for s in seeds if (r := _result_for(index, name, s, task)) is not None]
                metric_values = [r.record.metrics[metric] for r in found if metric in r.record.metrics]
                values[(task, metric)] = aggregate_metric(metric_values) if metric_values else None
            eval_seconds = sum(r.record.provenance.seconds for task in dict.fromkeys(t for t, _ in table.tasks)
                               for s in seeds if (r := _result_for(index, name, s, task)) is not None)
            summaries = summaries_of[name]
            status = "ok"
            if variant.pretrain_args is not None and not summaries:
                status = "not run"
            elif variant.converge_metric and any(s.get("status") == "did not converge" for s in summaries):
                status = "did not converge"
            rows.append(RowResult(
                name, variant.title, values,
                {tm: paper_cell(row_id, *tm) for tm in table.tasks}, row_id, status,
                pretrain_seconds=sum(float(s.get("seconds") or 0.0) for s in summaries) if summaries else None,
                eval_seconds=eval_seconds or None))
        claims = [compare_claim(claim, index, seeds, warnings) for claim in table.claims]
        out.append(TableResult(table, rows, claims))
    return StudyResult(study, seeds, out, warnings)
