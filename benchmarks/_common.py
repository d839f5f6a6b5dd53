"""Shared helpers of the benchmark scripts: machine description, timing, ratio lines, JSONL results.

Every script prints its measured figures, then one line per target of the form

    RATIO <metric> = <value> (target >= <t>) MET | NOT MET

and appends one JSON line (figures + machine) to ``benchmarks/results/<name>.jsonl``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
if str(REPO) not in sys.path:          # run from anywhere without installing
    sys.path.insert(0, str(REPO))

from tvts_bench.runtime import prefer_passive_omp_wait  # noqa: E402

prefer_passive_omp_wait()              # measure what the CLI runs with (set before torch is imported)

from tvts_bench.bench.provenance import cpu_name, git_state  # noqa: E402


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "cpu": cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "loadavg": load_average(),
    }
    info["matmul_gflops"] = reference_gflops()
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    sha = git_state()[0]
    info["git"] = sha[:7] if sha else None
    return info


def reference_gflops(n: int = 1024, repeat: int = 5) -> float:
    """The machine's speed at the moment: best fp32 n x n matmul GFLOP/s on torch's threads (~0.1 s).

    The cores are a shared VM whose speed moves from day to day (the same model-only extraction ran at
    112 clips/s on 2026-11-27 and 57 on 2026-12-02), so every result line carries this figure: wall
    times from different days compare only after dividing by it.
    """
    return round(matmul_peak(n, repeat)[0] / 1e9, 1)


def matmul_peak(n: int, repeat: int) -> tuple[float, float]:
    """Best fp32 n x n matmul FLOP/s and its seconds (one warm-up)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    sec, _ = timed(lambda: torch.matmul(a, b), repeat=repeat, warmup=1)
    return 2.0 * n ** 3 / sec, sec


def timed(fn: Callable[[], Any], repeat: int = 1, warmup: int = 0) -> tuple[float, Any]:
    """Best-of-``repeat`` wall seconds of ``fn()`` (best-of: the cores are shared, the minimum is the
    least disturbed measurement) and the last return value."""
    out = None
    for _ in range(warmup):
        out = fn()
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def ratio_line(metric: str, value: float | None, target: float, *, higher_is_better: bool = True,
               unit: str = "", band: tuple[float, float] | None = None) -> dict[str, Any]:
    """Print the ratio line and return it as a dict for the results file. ``band=(lo, hi)``: the target
    is lo <= value <= hi (``target`` is then the ideal value, e.g. 1.0 for "linear")."""
    if band is not None:
        lo, hi = band
        if value is None or value != value:
            print(f"RATIO {metric} = n/a (target {lo} .. {hi}) NOT MEASURED", flush=True)
            return {"metric": metric, "value": None, "target": [lo, hi], "met": False}
        met = lo <= value <= hi
        print(f"RATIO {metric} = {value:.3f}{unit} (target {lo} .. {hi}) {'MET' if met else 'NOT MET'}", flush=True)
        return {"metric": metric, "value": round(float(value), 4), "target": [lo, hi], "met": bool(met)}
    if value is None or value != value:
        print(f"RATIO {metric} = n/a (target {'>=' if higher_is_better else '<='} {target}{unit}) NOT MEASURED",
              flush=True)
        return {"metric": metric, "value": None, "target": target, "met": False}
    met = value >= target if higher_is_better else value <= target
    op = ">=" if higher_is_better else "<="
    print(f"RATIO {metric} = {value:.3f}{unit} (target {op} {target}{unit}) {'MET' if met else 'NOT MET'}",
          flush=True)
    return {"metric": metric, "value": round(float(value), 4), "target": target,
            "higher_is_better": higher_is_better, "met": bool(met)}


def save(name: str, figures: dict[str, Any], ratios: list[dict[str, Any]], *, quick: bool,
         out_dir: Path | None = None) -> Path:
    out_dir = out_dir or RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.jsonl"
    line = {"benchmark": name, "quick": quick, "machine": machine(), "figures": figures, "ratios": ratios}
    with open(path, "a") as f:
        f.write(json.dumps(line, default=str) + "\n")
    print(f"results appended to {path}", flush=True)
    return path


def results_dir_arg(value: str | None) -> Path | None:
    return Path(value) if value else None


def fmt(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}"
