"""The k-NN and low-shot cards end to end on the tiny world, the views every result records, and the
reversed-frames diagnostic in the leaderboard's temporal-sensitivity plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tvts_bench.bench.results import read_result
from tvts_bench.cli import cli


def test_knn_and_low_shot_cards_run_on_the_tiny_world(bench_home: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["run", "--model", "scratch", "--tasks", "ssv2-knn,ssv2-linear-lowshot10",
                                   "--world-preset", "tiny", "-q"])
    assert res.exit_code == 0, res.output
    root = bench_home / "results" / "scratch"
    knn = read_result(root / "ssv2-knn" / "builtin-seed0.json")
    assert knn.task.protocol == "knn" and set(knn.metrics) == {"top1", "top5", "top1@k20", "top5@k20"}
    assert set(knn.diagnostics) == {"shuffled", "repeated", "reversed"}
    views = knn.provenance.extra["views"]
    assert views == {"frames": views["frames"], "clips": 1, "crops": 1, "stride": None, "mode": "tsn"}
    assert views["frames"] >= 1
    side = [json.loads(line) for line in (root / "ssv2-knn" / "builtin-seed0.samples.jsonl").read_text().splitlines()]
    # the fixed per-sample schema: the sample's id and one outcome per metric of the result
    assert len(side) == knn.metrics["top1"].n and set(side[0]) == {"sample_id", *knn.metrics}
    assert 100 * np.mean([r["top1@k20"] for r in side]) == pytest.approx(knn.metrics["top1@k20"].value)

    low = read_result(root / "ssv2-linear-lowshot10" / "builtin-seed0.json")
    info = low.provenance.extra["protocol"]["linear"]["low_shot"]
    assert len(info["subsets"]) == 3 and info["fraction"] == 0.1
    assert low.metrics["top1"].ci_low <= low.metrics["top1"].value <= low.metrics["top1"].ci_high

    out = tmp_path / "lb.html"
    res = CliRunner().invoke(cli, ["leaderboard", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "top1 on normal / shuffled / repeated / reversed frames" in out.read_text()
