"""`tvts-bench demo --preset tiny` end to end: the main job's path, as CI runs it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _demo(cwd: Path, env: dict) -> tuple[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tvts_bench.cli", "demo", "--preset", "tiny"], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, time.perf_counter() - t0


@pytest.mark.slow
def test_tiny_demo_end_to_end_then_reuses_everything(bench_home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    out, _ = _demo(tmp_path, env)
    html = tmp_path / "leaderboard" / "index.html"
    assert html.exists() and "Leaderboard" in out
    page = html.read_text()
    for model in ("tvts", "tvts-base", "videomae", "clip", "scratch"):
        assert f">{model}<" in page
    for run in ("tvts", "tvts-base", "videomae", "clip"):
        assert (bench_home / "runs" / run / "checkpoints" / "latest").exists()
    rows = list(csv.DictReader(open(tmp_path / "leaderboard" / "index.csv")))
    measured = {(r["model"], r["task"]) for r in rows if r["source"] == "builtin"}
    # one task of each protocol for every model (zero-shot `ret` only where there is a text tower)
    for model in ("tvts", "tvts-base", "videomae", "clip", "scratch"):
        for task in ("ssv2-linear", "ssv2-v2v", "ssv2-ft", "msrvtt-ret-ft"):
            assert (model, task) in measured, (model, task)
    assert ("clip", "msrvtt-ret") in measured and ("scratch", "msrvtt-ret") not in measured

    stamps = {p: p.stat().st_mtime_ns for p in (bench_home / "results").rglob("*.json")}
    out2, _ = _demo(tmp_path, env)
    # the second demo recomputes no result: every result file is untouched
    assert stamps == {p: p.stat().st_mtime_ns for p in (bench_home / "results").rglob("*.json")}
    assert "skipped" in out2
