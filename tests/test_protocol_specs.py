"""Every registered protocol's declaration (``protocols/<module>_spec.py``): what it declares, that its
side file carries exactly ``sample_id`` and its metrics' outcomes, that the report ranks each metric in
the declared direction, that its base card agrees with its defaults, and that none of it needs torch."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.test_protocols import make_ctx
from tests.test_protocols_attn import separable, token_ctx
from tvts_bench.bench.protocol_spec import MetricSpec
from tvts_bench.bench.protocols import PROTOCOLS, spec_of, specs
from tvts_bench.bench.result_schema import MetricValue
from tvts_bench.bench.results import result_path, write_result
from tvts_bench.bench.sample_rows import SAMPLE_ID, rows_from_legacy_layout
from tvts_bench.bench.stats import STATISTICS
from tvts_bench.bench.task_card import TaskCard
from tvts_bench.errors import ConfigError
from tvts_bench.report.aggregate import build_leaderboard, cell_outcomes
from tvts_bench.report.bootstrap import paired_bootstrap

REPO = Path(__file__).resolve().parents[1]
NAMES = list(specs())

# Small, fast settings per protocol for a run on the fake context of tests/test_protocols.py.
FAST = {"linear": {"C": [1.0], "seeds": 1}, "knn": {"ks": [3, 5]}, "v2v": {},
        "attn": {"epochs": 2, "batch_size": 16, "lr": 3e-3, "weight_decay": 0.01},
        "ft": {"epochs": 1, "warmup_epochs": 0, "batch_size": 8, "randaug": None, "mixup": 0, "cutmix": 0},
        "ret": {"captions": "all"}, "ret-ft": {"captions": "all", "epochs": 1, "batch_size": 8}}


def test_every_protocol_is_registered_once_with_its_entry_point():
    assert NAMES == ["linear", "knn", "attn", "v2v", "ft", "ret", "ret-ft"]
    assert set(PROTOCOLS) == set(NAMES)
    with pytest.raises(KeyError, match="unknown protocol 'nearest'; known: linear, knn"):
        spec_of("nearest")


@pytest.mark.parametrize("name", NAMES)
def test_spec_declares_what_the_protocol_computes(name):
    spec = spec_of(name)
    assert spec.name == name and spec.metrics
    assert spec.params.model_config.get("extra") == "forbid"
    for m in spec.metrics:
        assert isinstance(m, MetricSpec) and m.statistic in STATISTICS and m.outcome
    for metric in spec.metric_names():
        assert spec.metric(metric) is not None
    # the computing module reads this very declaration
    assert importlib.import_module(f"tvts_bench.bench.protocols.{spec.module}").SPEC is spec
    # the typed model holds the defaults: an empty mapping validates
    assert spec.parameters({}) == spec.params()
    with pytest.raises(ValueError, match=f"unknown parameter 'bogus' for protocol {name} \\(valid: "):
        spec.parameters({"bogus": 1})


def _base_card_params(name: str) -> dict:
    module = spec_of(name).module
    card = REPO / "tasks" / "_base" / f"{name}.yaml"
    assert card.is_file(), f"protocol {name} ({module}) has no base card {card}"
    return (yaml.safe_load(card.read_text()) or {}).get("params", {})


# Where a base card deliberately pins a value the default leaves to the run (and why).
PINNED = {("ft", "batch_size"): "the default is the run's --batch-size; shipped cards fix 8",
          ("ret-ft", "batch_size"): "the default is the run's --batch-size; shipped cards fix 8"}


@pytest.mark.parametrize("name", NAMES)
def test_base_card_restates_the_declared_defaults(name):
    """The defaults live in the spec; the base card repeats them only because a card's params are part
    of its task hash. They must agree, so that a card that leaves a key out gets what the shipped tasks
    use."""
    spec = spec_of(name)
    defaults = spec.params()
    for key, value in _base_card_params(name).items():
        if (name, key) in PINNED:
            continue
        assert getattr(defaults, key) == getattr(spec.parameters({key: value}), key), (name, key)


def _run(name: str, tmp_path: Path):
    spec = spec_of(name)
    params = {**FAST[name], "bootstrap": 50, "diagnostics": []}
    kw = {"kind": "multi", "text": True, "dataset": "msvd"} if name in ("ret", "ret-ft") else {}
    ctx = token_ctx(tmp_path, params, separable) if name == "attn" else make_ctx(tmp_path, name, params, **kw)
    names = spec.metric_names(spec.parameters(params))         # every metric it computes, k families expanded
    ctx = replace(ctx, task=ctx.task.model_copy(update={"metrics": names, "main_metric": names[0]}))
    return spec, PROTOCOLS[name](ctx)


@pytest.mark.parametrize("name", NAMES)
def test_per_sample_rows_carry_the_id_and_one_outcome_per_declared_metric(name, tmp_path):
    spec, out = _run(name, tmp_path)
    assert set(out.metrics) == set(spec.metric_names(spec.parameters(FAST[name])))
    seen: set[str] = set()
    for row in out.per_sample:
        metrics = set(row) - {SAMPLE_ID}
        assert SAMPLE_ID in row and metrics and metrics <= set(out.metrics), row
        seen |= metrics
    assert seen == set(out.metrics)
    for metric, value in out.metrics.items():
        outcomes = np.array([r[metric] for r in out.per_sample if metric in r])
        # the metric is exactly its declared statistic of the rows' outcomes
        assert spec.metric(metric).value(outcomes) == pytest.approx(value.value, rel=1e-12, abs=1e-12)
        assert len(outcomes) == value.n
    if name in ("ret", "ret-ft"):                                  # several captions per video (MSVD)
        t2v = [r[SAMPLE_ID] for r in out.per_sample if "t2v_R@1" in r]
        assert all(isinstance(i, list) and len(i) == 2 for i in t2v)
        assert len({v for v, _ in t2v}) < len(t2v)                 # clusters: a video's captions
    # and the runner's writer accepts them
    path = result_path(tmp_path / "results", "m", f"x-{name}", 0)
    write_result(path, _record(name, out.metrics, "m"), out.per_sample)


def _record(protocol: str, metrics: dict, model: str, *, dataset: str = "ssv2"):
    from tvts_bench.bench.result_schema import DataInfo, ModelInfo, Provenance, ResultRecord, TaskInfo

    return ResultRecord(
        model=ModelInfo(name=model, family="user", weights_hash=f"w-{model}"),
        task=TaskInfo(name=f"{dataset}-{protocol}", dataset=dataset, protocol=protocol, hash="h",
                      main_metric=next(iter(metrics))),
        seed=0, metrics=metrics,
        data=DataInfo(source="builtin", root="/data", manifest_hash="m", listed=10, missing=0),
        provenance=Provenance(tvts_bench_version="0", torch_version="0", device="cpu",
                              started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:00:01Z", seconds=1.0))


@pytest.mark.parametrize("name, metric", [(n, m) for n in NAMES for m in spec_of(n).metric_names()])
def test_the_report_ranks_every_metric_in_its_declared_direction(name, metric, tmp_path):
    root = tmp_path / "results"
    for model, value in (("low", 2.0), ("high", 5.0)):
        mv = MetricValue(value=value, ci_low=value - 0.1, ci_high=value + 0.1, n=100)
        write_result(result_path(root, model, f"ssv2-{name}", 0, "builtin"), _record(name, {metric: mv}, model))
    col = build_leaderboard(root).columns[0]
    higher = spec_of(name).metric(metric).higher_is_better
    assert col.higher_is_better is higher
    assert [c.model for c in col.cells] == (["high", "low"] if higher else ["low", "high"])
    assert col.cells[0].rank == 1.0 and col.cells[0].is_best


def test_report_resamples_whole_videos_for_several_captions_per_video(tmp_path):
    """MSVD-style t2v rows (id [video, n]): the paired bootstrap in the report moves a video's captions
    together, and equals the cluster bootstrap computed directly."""
    rng = np.random.default_rng(0)
    videos, captions = 40, 5
    per_video = {"a": rng.random(videos) < 0.6, "b": rng.random(videos) < 0.4}
    root = tmp_path / "results"
    for model, hit in per_video.items():
        rows = [{SAMPLE_ID: [f"v{v}", n], "t2v_R@1": float(hit[v])} for v in range(videos) for n in range(captions)]
        value = 100.0 * float(np.repeat(hit, captions).mean())
        mv = MetricValue(value=value, ci_low=value - 30, ci_high=value + 30, n=len(rows))
        write_result(result_path(root, model, "msvd-ret", 0, "builtin"),
                     _record("ret", {"t2v_R@1": mv}, model, dataset="msvd"), rows)
    lb = build_leaderboard(root)
    assert lb.warnings == []
    col = lb.columns[0]
    best, other = col.cells
    outcomes = cell_outcomes(best, "t2v_R@1", [])
    assert outcomes.statistic == "percent" and outcomes.clusters is not None
    assert len(set(outcomes.clusters.values())) == videos
    sep = other.separation
    assert sep.rule == "paired bootstrap"
    keys = sorted(outcomes.values, key=str)
    a = np.array([outcomes.values[k] for k in keys])
    b = np.array([cell_outcomes(other, "t2v_R@1", []).values[k] for k in keys])
    direct = paired_bootstrap(a, b, statistic="percent", clusters=np.array([k[0] for k in keys]))
    assert (sep.test.diff, sep.test.low, sep.test.high) == (direct.diff, direct.low, direct.high)
    unclustered = paired_bootstrap(a, b, statistic="percent")
    assert direct.high - direct.low > 1.5 * (unclustered.high - unclustered.low)


def test_legacy_retrieval_rows_become_caption_clusters():
    old = [{"direction": "t2v", "query": "a", "video_id": "v1", "rank": 0.0, "correct_R@1": 1.0},
           {"direction": "t2v", "query": "b", "video_id": "v1", "rank": 2.0, "correct_R@1": 0.0},
           {"direction": "v2t", "video_id": "v1", "rank": 1.5, "correct_R@1": 0.5}]
    assert rows_from_legacy_layout(old, {"t2v_MedR": "median"}) == [
        {SAMPLE_ID: ["v1", 0], "t2v_MedR": 1.0}, {SAMPLE_ID: ["v1", 1], "t2v_MedR": 3.0}, {SAMPLE_ID: "v1"}]
    assert rows_from_legacy_layout(old, {"v2t_R@1": "percent"})[2] == {SAMPLE_ID: "v1", "v2t_R@1": 0.5}


def _card(protocol: str, metrics: list[str], **params) -> dict:
    return {"name": f"ssv2-{protocol}", "dataset": "ssv2", "protocol": protocol,
            "splits": {"train": "train", "test": "validation"}, "metrics": metrics, "main_metric": metrics[0],
            "params": params}


@pytest.mark.parametrize("card, problem", [
    (_card("nearest", ["top1"]), "unknown protocol 'nearest'; known: linear, knn, attn, v2v, ft, ret, ret-ft"),
    (_card("linear", ["top1", "R@1"]), "unknown metric(s) ['R@1'] for protocol linear; it computes top1, top5"),
    (_card("v2v", ["R@1", "R@10"], ks=[1, 5]), "metric(s) ['R@10'] need their k in params.ks (got [1, 5])"),
    (_card("knn", ["top1", "top1@k30"]), "metric(s) ['top1@k30'] need their k in params.ks (got [10, 20])"),
    (_card("ret", ["t2v_R@1", "t2v_R@50"]), "unknown metric(s) ['t2v_R@50'] for protocol ret"),
])
def test_task_cards_name_only_what_the_protocol_declares(card, problem):
    from tvts_bench.bench.task_card import validate_card

    with pytest.raises(ConfigError) as e:
        validate_card(card, "mine.yaml")
    assert problem in str(e.value)
    assert TaskCard.model_validate(_card("knn", ["top1@k30"], ks=[30])).metrics == ["top1@k30"]


def test_a_result_with_an_undeclared_metric_is_not_a_result():
    mv = MetricValue(value=1.0)
    with pytest.raises(ValueError, match=r"metric\(s\) \['delta'\] are not declared by protocol linear"):
        _record("linear", {"top1": mv, "delta": mv}, "m")


def test_specs_and_cards_load_without_torch():
    code = ("import sys\n"
            "from tvts_bench.bench.protocols import specs\n"
            "from tvts_bench.bench.registry import load_tasks, resolve_tasks\n"
            "from tvts_bench.report.aggregate import build_leaderboard\n"
            "cards = load_tasks()\n"
            "resolve_tasks('ssv2-linear', ['linear.C=[1]'])\n"
            "print(len(specs()), len(cards) > 40, 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["7", "True", "False"], out.stderr


def test_task_param_with_an_unknown_key_names_the_valid_ones():
    from tvts_bench.bench.registry import resolve_tasks

    with pytest.raises(ConfigError) as e:
        resolve_tasks("ssv2-v2v", ["v2v.k=[1]"])
    assert "unknown parameter 'k' for protocol v2v (valid: bootstrap, diagnostics, index, ks, seeds)" in str(e.value)
    assert json.dumps(resolve_tasks("ssv2-v2v", ["v2v.index=hnsw"])[0].params["index"]) == '"hnsw"'
