"""Smoke tests of the benchmark scripts: each runs with its smallest settings, exits 0, prints its
ratio line(s) and appends a JSON line. Never timing assertions: the figures are the scripts' output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def run_bench(name: str, *args: str, results: Path, timeout: int = 300) -> str:
    cmd = [sys.executable, str(BENCH / f"{name}.py"), *args, "--results-dir", str(results)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


def assert_ratio_and_record(out: str, name: str, results: Path) -> list[dict]:
    lines = [ln for ln in out.splitlines() if ln.startswith("RATIO ")]
    assert lines, out[-3000:]
    for ln in lines:
        assert ln.rstrip().endswith(("MET", "NOT MET", "NOT MEASURED")), ln
    records = [json.loads(x) for x in (results / f"{name}.jsonl").read_text().splitlines()]
    assert len(records) == 1
    rec = records[0]
    assert rec["benchmark"] == name and rec["quick"] is True
    assert rec["machine"]["cores"] >= 1 and rec["machine"]["torch"]
    assert [r["metric"] for r in rec["ratios"]] == [ln.split()[1] for ln in lines]
    return records


def test_pretrain_mfu_quick(tmp_path: Path) -> None:
    out = run_bench("pretrain_mfu", "--quick", "--steps", "1", "--matmul-n", "256", "--text-model", "random-tiny",
                    results=tmp_path)
    rec = assert_ratio_and_record(out, "pretrain_mfu", tmp_path)[0]
    assert rec["figures"]["gflop_per_step"] > 0
    assert 0 < rec["ratios"][0]["value"]


def test_retrieval_quick(tmp_path: Path) -> None:
    out = run_bench("retrieval", "--quick", "--sizes", "400,1500", "--queries", "100", "--repeat", "1",
                    "--ann", "ivf", results=tmp_path)
    rec = assert_ratio_and_record(out, "retrieval", tmp_path)[0]
    rows = rec["figures"]["rows"]
    assert [r["gallery"] for r in rows] == [400, 1500]
    # Both exact searches must return the same neighbours (random features: ties are measure-zero).
    assert all(r["ids_agree"] > 0.99 for r in rows)
    assert "ivf" in rows[0] and 0 <= rows[0]["ivf"]["recall_at_10"] <= 1


def test_pipeline_efficiency_quick(tmp_path: Path, tiny_world: Path) -> None:
    out = run_bench("pipeline_efficiency", "--quick", "--world", str(tiny_world), "--limit", "8",
                    results=tmp_path)
    rec = assert_ratio_and_record(out, "pipeline_efficiency", tmp_path)[0]
    assert rec["figures"]["videos"] == 8 and rec["figures"]["e2e_clips_per_s"] > 0


@pytest.mark.slow
def test_growth_quick(tmp_path: Path, tiny_world: Path) -> None:
    out = run_bench("growth", "--quick", "--world", str(tiny_world), "--base", "4", "--big-base", "200",
                    results=tmp_path)
    rec = assert_ratio_and_record(out, "growth", tmp_path)[0]
    assert set(rec["figures"]["extraction_s"]) == {"x1", "x2", "x4"}


def test_gpu_vitb_without_cuda(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the script would measure it (minutes)")
    out = run_bench("gpu_vitb", results=tmp_path)
    assert "no CUDA device: not measured" in out
    assert not (tmp_path / "gpu_vitb.jsonl").exists()


@pytest.mark.slow
def test_cache_quick(tmp_path: Path, bench_home: Path) -> None:
    out = run_bench("cache", "--quick", "--tasks", "ssv2-v2v", "--workers", "0", results=tmp_path)
    rec = assert_ratio_and_record(out, "cache", tmp_path)[0]
    assert rec["figures"]["exit_codes"] == {"cold": 0, "identical": 0, "overwrite_always": 0}
    assert rec["figures"]["result_files"] >= 1


@pytest.mark.slow
def test_demo_job_quick(tmp_path: Path, bench_home: Path) -> None:
    out = run_bench("demo_job", "--quick", "--reuse-world", "--pretrain-steps", "1", "--tasks", "ssv2-v2v",
                    results=tmp_path, timeout=900)
    rec = assert_ratio_and_record(out, "demo_job", tmp_path)[0]
    assert rec["figures"]["preset"] == "tiny"
    assert rec["figures"]["peak_tree_rss_gib"] > 0


def test_world_calibration_quick(tmp_path: Path, bench_home: Path) -> None:
    out = run_bench("world_calibration", "--quick", results=tmp_path, timeout=600)
    rec = assert_ratio_and_record(out, "world_calibration", tmp_path)[0]
    assert rec["figures"]["tasks"]["ssv2-linear"]["chance"][0] == pytest.approx(25.0)
    assert "pixel ceiling" in rec["figures"]["tasks"]["ssv2-ft"]


def test_pretext_identifiability_quick(tmp_path: Path) -> None:
    out = run_bench("pretext_identifiability", "--quick", results=tmp_path)
    rec = json.loads((tmp_path / "pretext_identifiability.jsonl").read_text().splitlines()[0])
    figures = rec["figures"]
    assert figures["samples"] > 0 and 0.0 <= figures["share_identifiable"] <= figures["share_distinct"] <= 1.0
    assert "share_identifiable" in out


def test_pipeline_efficiency_multi_epoch_quick(tmp_path: Path, tiny_world: Path) -> None:
    out = run_bench("pipeline_efficiency", "--quick", "--world", str(tiny_world), "--limit", "8", "--epochs", "3",
                    "--epoch-step", "encode", results=tmp_path)
    rec = assert_ratio_and_record(out, "pipeline_efficiency", tmp_path)[0]
    assert [r["metric"] for r in rec["ratios"]] == ["pipeline_efficiency", "pipeline_efficiency_multiepoch_cache"]
    multi = rec["figures"]["multi_epoch"]
    assert multi["epochs"] == 3 and multi["step"] == "encode"
    for variant in ("no_cache", "cache"):
        assert [e["epoch"] for e in multi[variant]["epochs"]] == [1, 2, 3]
        assert all(e["clips"] == 8 for e in multi[variant]["epochs"])
    assert multi["cache"]["cache_bytes"] > 0 and "cache_bytes" not in multi["no_cache"]


def test_scale_quick(tmp_path: Path) -> None:
    out = run_bench("scale", "--quick", "--tmp", str(tmp_path), results=tmp_path)
    rec = assert_ratio_and_record(out, "scale", tmp_path)[0]
    figures = rec["figures"]
    read = figures["read"]
    # sizes / 100, every video missing (none exists)
    assert read["ssv2"]["splits"] == {"train": 1689, "validation": 247}
    assert read["ssv2"]["missing"] == read["ssv2"]["listed"] == 1936
    assert read["k400"]["splits"] == {"train": 2400, "val": 200}
    assert read["msrvtt"]["splits"] == {"train": 90, "test": 10}
    assert figures["v2v_exact"]["n"] == 247 and figures["v2v_ivf"]["n"] == 2000
    assert 0 <= figures["v2v_ivf"]["recall_at_10"] <= 1
    assert figures["linear_probe"]["iterations"] >= 1
    cache = figures["feature_cache"]
    assert cache["float16"]["bytes"] < cache["float32"]["bytes"]
    assert not list(tmp_path.glob("tvts_scale_*")), "the temporary trees are removed"


def _authors_checkout() -> Path | None:
    import os

    value = os.environ.get("TVTS_AUTHORS_CODE")
    if not value:
        return None
    path = Path(value).expanduser()
    return path if (path / "v1" / "model" / "model_dist_TVTS.py").is_file() or \
        (path / "model" / "model_dist_TVTS.py").is_file() else None


def test_peer_step_quick(tmp_path: Path) -> None:
    path = _authors_checkout()
    if path is None:
        pytest.skip("no authors' checkout: set TVTS_AUTHORS_CODE to a local clone of github.com/TencentARC/TVTS "
                    "(the script imports their code from there; nothing is downloaded)")
    out = run_bench("peer_step", "--authors-code", str(path), "--quick", "--steps", "1", "--warmup", "0",
                    results=tmp_path)
    rec = assert_ratio_and_record(out, "peer_step", tmp_path)[0]
    row = rec["figures"]["rows"][0]
    assert row["config"] == "small" and len(row["step_ms"]["ours"]) == len(row["step_ms"]["theirs"]) == 1
    # Both sides built at the same sizes: the same trainable parameter count.
    assert row["trainable_params_m"]["ours"] == pytest.approx(row["trainable_params_m"]["theirs"], rel=1e-3)


def test_peer_step_without_authors_code(tmp_path: Path) -> None:
    cmd = [sys.executable, str(BENCH / "peer_step.py"), "--authors-code", str(tmp_path / "no-such-checkout"),
           "--quick", "--results-dir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no v1/model/model_dist_TVTS.py" in proc.stderr
    assert not (tmp_path / "peer_step.jsonl").exists()
