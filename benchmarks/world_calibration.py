"""The built-in world as an instrument: floor, ceilings and the demo's models, per task.

Runs ``tvts-bench calibrate`` (in-process; reference rows resume from ``<results>/.calibration``) on the
world in ``$TVTS_BENCH_HOME`` (``--home``), then prints one table per built-in task: chance, ``scratch``
and every other model with results there (run ``tvts-bench demo`` first to have the demo's pretrained
models), the perception ceiling, the pixel ceilings (ViT and 3D CNN) and, for classification, the order
ceilings, each task's main metric with its interval (text-video: t2v R@1 of ``ret`` and ``ret-ft``; the
pixel ceilings there are one ret-ft run from random init, shown in both columns). Targets (issue: the
world as a calibrated instrument; none for text-video):

- every classification stand-in: pixel ceiling - floor >= 30 points, perception ceiling >= 90 %;
- SSV2: order ceiling (shuffled) within 5 points of chance, pixel ceiling >= 70 %;
- K400: the best of chance and ``scratch`` at least 25 points below the pixel ceiling.

    .venv/bin/python benchmarks/world_calibration.py [--quick] [--home DIR] [--epochs N]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import _common  # noqa: F401
from _common import ratio_line, results_dir_arg, save

DATASETS = ("ssv2", "k400", "ucf101", "hmdb51")
TEXT_VIDEO = ("msrvtt", "didemo", "msvd", "lsmdc")
ROW_ORDER = ("chance", "perception ceiling", "pixel ceiling", "pixel ceiling (3D CNN)", "order ceiling (shuffled)",
             "order ceiling (shuffled, 3D CNN)", "order ceiling (frame-averaged)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="tiny world, ssv2 and msrvtt only, 1 epoch: checks the script runs")
    ap.add_argument("--home", default=None, help="TVTS_BENCH_HOME (default: the environment's)")
    ap.add_argument("--epochs", type=int, default=None,
                    help="supervised epochs of the pixel ceilings (default 30; text-video 40)")
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()
    if args.home:
        os.environ["TVTS_BENCH_HOME"] = str(Path(args.home).expanduser().resolve())
    from tvts_bench.calibration.run import Budget, CalibrationOptions, RetrievalBudget, calibrate
    from tvts_bench.home import results_dir
    from tvts_bench.report.aggregate import load_results

    preset = "tiny" if args.quick else "demo"
    datasets = ("ssv2",) if args.quick else DATASETS
    text_video = ("msrvtt",) if args.quick else TEXT_VIDEO
    budget = Budget(epochs=args.epochs or (1 if args.quick else Budget().epochs))
    retrieval = RetrievalBudget(epochs=args.epochs or (1 if args.quick else RetrievalBudget().epochs))
    calibrate(CalibrationOptions(datasets=datasets + text_video, world_preset=preset, budget=budget,
                                 retrieval_budget=retrieval))
    loaded, _ = load_results(results_dir())
    values: dict[tuple[str, str], tuple[float, float | None, float | None]] = {}
    for r in loaded:
        rec = r.record
        if rec.data.source != "builtin" or rec.task.main_metric not in rec.metrics:
            continue
        m = rec.metrics[rec.task.main_metric]
        values[(rec.task.name, rec.model.name)] = (m.value, m.ci_low, m.ci_high)
    models = sorted({name for _, name in values if name not in ROW_ORDER})
    figures: dict = {"preset": preset, "budget": budget.__dict__, "retrieval_budget": retrieval.__dict__, "tasks": {}}

    def show(task: str) -> None:
        row_values = {name: values.get((task, name)) for name in (*ROW_ORDER, *models)}
        figures["tasks"][task] = {k: v for k, v in row_values.items() if v is not None}
        print(f"\n{task}")
        for name, v in row_values.items():
            if v is not None:
                ci = f" [{v[1]:.1f}, {v[2]:.1f}]" if v[1] is not None else ""
                print(f"  {name:32s} {v[0]:6.1f}{ci}")

    ratios = []
    for ds in datasets:
        for protocol in ("linear", "v2v", "ft"):
            show(f"{ds}-{protocol}")
        linear = figures["tasks"].get(f"{ds}-linear", {})
        pixel = linear.get("pixel ceiling", (None,))[0]
        floor = max(v[0] for k, v in linear.items() if k in ("chance", "scratch")) if linear else None
        perception = linear.get("perception ceiling", (None,))[0]
        if pixel is not None and floor is not None:
            ratios.append(ratio_line(f"{ds}_pixel_minus_floor_points", pixel - floor, 30.0))
        ratios.append(ratio_line(f"{ds}_perception_ceiling_pct", perception, 90.0))
        if ds == "ssv2":
            chance = linear.get("chance", (None,))[0]
            shuffled = linear.get("order ceiling (shuffled)", (None,))[0]
            gap = None if shuffled is None or chance is None else shuffled - chance
            ratios.append(ratio_line("ssv2_shuffled_minus_chance_points", gap, 5.0,
                                     higher_is_better=False))
            ratios.append(ratio_line("ssv2_pixel_ceiling_pct", pixel, 70.0))
        if ds == "k400" and pixel is not None and floor is not None:
            ratios.append(ratio_line("k400_pixel_minus_floor_points", pixel - floor, 25.0))
    for ds in text_video:
        for protocol in ("ret", "ret-ft"):
            show(f"{ds}-{protocol}")
    save("world_calibration", figures, ratios, quick=args.quick, out_dir=results_dir_arg(args.results_dir))


if __name__ == "__main__":
    main()
