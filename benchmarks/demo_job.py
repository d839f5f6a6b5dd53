"""The main job: ``tvts-bench demo --preset tiny|demo`` wall time and peak memory.

Runs the demo as a subprocess in a fresh ``TVTS_BENCH_HOME`` (world generation included) or, with
``--reuse-world``, with the already generated built-in world linked into the fresh home (pretraining,
evaluation and leaderboard only). Memory: the peak of the summed RSS of the whole process tree (the
demo and its DataLoader workers), polled from /proc every 0.5 s, and getrusage's largest child.
Targets: <= 20 min (demo) / <= 3 min (tiny) wall, <= 8 GiB peak.

    .venv/bin/python benchmarks/demo_job.py [--quick] [--preset demo|tiny] [--reuse-world]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
from pathlib import Path

import _common  # noqa: F401
from _common import REPO, ratio_line, save
from _proc import run_measured, tvts_bench_exe

TARGET_MIN = {"demo": 20.0, "tiny": 3.0}
GIB = 1024 ** 3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="--preset tiny with 2 pretraining steps and the quick tasks")
    ap.add_argument("--preset", choices=sorted(TARGET_MIN), default=None)
    ap.add_argument("--reuse-world", nargs="?", const="auto", default=None,
                    help="link an existing world (PATH, or the one in $TVTS_BENCH_HOME) instead of generating")
    ap.add_argument("--pretrain-steps", type=int, default=None)
    ap.add_argument("--tasks", default=None)
    ap.add_argument("--timeout", type=float, default=None, help="seconds (default: 3x the target)")
    ap.add_argument("--keep-home", action="store_true")
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()

    from tvts_bench.home import world_dir

    preset = args.preset or ("tiny" if args.quick else "demo")
    world_preset = {"demo": "demo", "tiny": "tiny"}[preset]
    steps = args.pretrain_steps or (2 if args.quick else None)
    tasks = args.tasks or ("quick" if args.quick else None)
    home = Path(tempfile.mkdtemp(prefix=f"tvts-demo-{preset}-"))
    linked = None
    if args.reuse_world:
        src = world_dir(world_preset) if args.reuse_world == "auto" else Path(args.reuse_world)
        if (src / "world.json").exists():
            (home / "world").mkdir(parents=True)
            (home / "world" / src.name).symlink_to(src.resolve())
            linked = str(src)
        else:
            print(f"no complete world at {src}: the demo generates one")
    cmd = tvts_bench_exe() + ["demo", "--preset", preset, "--out", str(home / "leaderboard" / "index.html")]
    if steps:
        cmd += ["--pretrain-steps", str(steps)]
    if tasks:
        cmd += ["--tasks", tasks]
    env = dict(os.environ, TVTS_BENCH_HOME=str(home))
    env.pop("TVTS_BENCH_WORLD_PRESET", None)
    timeout = args.timeout or 3 * 60 * TARGET_MIN[preset]
    print(f"$ {' '.join(cmd)}\n  home {home}" + (f" (world linked from {linked})" if linked else " (fresh)"),
          flush=True)
    res = run_measured(cmd, env=env, cwd=str(REPO), timeout=timeout, log_path=home / "demo.log")
    minutes = res["seconds"] / 60
    single = (res["children_maxrss_bytes"] or 0) / GIB
    # The /proc poll can miss a short spike that getrusage saw: the peak is the larger of the two.
    peak = max(res["peak_tree_rss_bytes"] / GIB, single)
    log_text = (home / "demo.log").read_text(errors="replace") if (home / "demo.log").exists() else res["tail"]
    failed_models = re.findall(r"some tasks failed for: ([^\n(]+)", log_text)
    # `run` prints one panel per failed task: "<task> (seed N) failed"; the demo still finishes.
    failed_tasks = sorted(set(re.findall(r"(\S+) \(seed \d+\) failed", log_text)))
    if failed_tasks:
        print(f"failed task runs inside the demo: {', '.join(failed_tasks)}")
    status = "timed out" if res["timed_out"] else ("ok" if res["rc"] == 0 else f"exit code {res['rc']}")
    print(f"demo --preset {preset}: {status} after {minutes:.2f} min; peak process-tree RSS {peak:.2f} GiB; "
          f"largest single process {single:.2f} GiB")
    if res["rc"] != 0 or failed_models or failed_tasks:
        print("--- last lines of the demo's output ---")
        print("\n".join(res["tail"].splitlines()[-25:]))
    ratios = [ratio_line(f"demo_{preset}_wall_minutes", minutes if res["rc"] == 0 else None, TARGET_MIN[preset],
                         higher_is_better=False, unit=" min"),
              ratio_line(f"demo_{preset}_peak_gib", peak, 8.0, higher_is_better=False, unit=" GiB")]
    save("demo_job", {
        "preset": preset, "status": status, "rc": res["rc"], "seconds": round(res["seconds"], 1),
        "minutes": round(minutes, 2), "peak_tree_rss_gib": round(peak, 3), "largest_process_gib": round(single, 3),
        "world_linked_from": linked, "pretrain_steps": steps, "tasks": tasks,
        "failed_models": failed_models, "failed_tasks": failed_tasks, "home": str(home) if args.keep_home else None,
    }, ratios, quick=args.quick, out_dir=_common.results_dir_arg(args.results_dir))
    if not args.keep_home:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
