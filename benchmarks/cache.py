"""Cache: the second identical ``tvts-bench run`` against the first.

In a fresh ``TVTS_BENCH_HOME`` (the built-in world linked in, not regenerated), three subprocess runs of
``tvts-bench run --model scratch --tasks <a few tasks> --world-preset <preset> -q``:

1. cold: extracts the features and runs the protocols;
2. the identical command again: results exist and are valid, so nothing is recomputed (target: run 1 /
   run 2 >= 10);
3. the same with ``--overwrite always``: the protocols run again but every feature comes from the
   feature cache (also printed against target 10: this is the feature cache's own speed-up).

The floor of any run is the CLI's start-up (``tvts-bench --help`` is timed too).

    .venv/bin/python benchmarks/cache.py [--quick] [--world-preset demo|tiny] [--tasks LIST]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401
from _common import REPO, ratio_line, save
from _proc import run_measured, tvts_bench_exe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny world, two tasks")
    ap.add_argument("--world-preset", default=None, help="default demo (quick: tiny)")
    ap.add_argument("--tasks", default=None, help="default ssv2-linear,ssv2-v2v,hmdb51-linear (quick: ssv2-v2v,ssv2-linear)")
    ap.add_argument("--model", default="scratch")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()

    from tvts_bench.home import ensure_world

    preset = args.world_preset or ("tiny" if args.quick else "demo")
    tasks = args.tasks or ("ssv2-v2v,ssv2-linear" if args.quick else "ssv2-linear,ssv2-v2v,hmdb51-linear")
    world = ensure_world(preset, quiet=True)            # generated once in the current home, then linked
    home = Path(tempfile.mkdtemp(prefix="tvts-cache-bench-"))
    try:
        (home / "world").mkdir()
        (home / "world" / world.name).symlink_to(world.resolve())
        env = dict(os.environ, TVTS_BENCH_HOME=str(home))
        cmd = tvts_bench_exe() + ["run", "--model", args.model, "--tasks", tasks, "--world-preset", preset,
                                  "--workers", str(args.workers), "-q"]
        print(f"$ {' '.join(cmd)}\n  home {home} (world {world} linked)", flush=True)
        t0 = time.perf_counter()
        help_run = run_measured(tvts_bench_exe() + ["--help"], env=env, timeout=120)
        runs = {}
        for label, extra in (("cold", []), ("identical", []), ("overwrite_always", ["--overwrite", "always"])):
            res = run_measured(cmd + extra, env=env, cwd=str(REPO), timeout=args.timeout)
            runs[label] = res
            print(f"{label:>16}: exit {res['rc']}, {res['seconds']:.2f} s", flush=True)
            # The run's own table (per-task seconds and status) says where the time went.
            table = [ln for ln in res["tail"].splitlines() if ln.startswith(("│", "┃")) or "ok;" in ln]
            print("\n".join(res["tail"].splitlines()[-20:] if res["rc"] != 0 else table), flush=True)
        n_results = len(list((home / "results").rglob("*.json"))) if (home / "results").exists() else 0
        n_shards = len(list((home / "cache").rglob("shard-*.npy"))) if (home / "cache").exists() else 0
        print(f"CLI start-up floor (tvts-bench --help): {help_run['seconds']:.2f} s; {n_results} result files, "
              f"{n_shards} feature shards; total {time.perf_counter() - t0:.1f} s")
        ok = all(r["rc"] == 0 for r in runs.values())
        cold = runs["cold"]["seconds"]
        r_ident = cold / runs["identical"]["seconds"]
        r_feat = cold / runs["overwrite_always"]["seconds"]
        print(f"first run / identical second run: {r_ident:.1f}x; first run / rerun on cached features: {r_feat:.1f}x "
              "(no target: that rerun recomputes every protocol, e.g. trains the linear probes again)")
        ratios = [ratio_line("cache_first_over_identical_second", r_ident if ok else None, 10.0, unit="x")]
        save("cache", {
            "world_preset": preset, "tasks": tasks, "model": args.model, "workers": args.workers,
            "cold_s": round(cold, 2), "identical_s": round(runs["identical"]["seconds"], 2),
            "overwrite_always_s": round(runs["overwrite_always"]["seconds"], 2),
            "first_over_cached_features_rerun": round(r_feat, 2),
            "cli_help_s": round(help_run["seconds"], 2), "result_files": n_results, "feature_shards": n_shards,
            "exit_codes": {k: v["rc"] for k, v in runs.items()},
        }, ratios, quick=args.quick, out_dir=_common.results_dir_arg(args.results_dir))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
