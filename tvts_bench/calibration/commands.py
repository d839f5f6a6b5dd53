"""``tvts-bench calibrate``: the built-in world's floor and ceilings, as reference rows (thin)."""

from __future__ import annotations

import click

from ..cli_options import home_option, world_preset_option
from ..errors import ConfigError


def _choices(text: str, known: tuple[str, ...], option: str) -> tuple[str, ...]:
    picked = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [p for p in picked if p not in known]
    if unknown or not picked:
        raise ConfigError(f"{option} {text[:100]!r}: unknown {', '.join(unknown) or 'empty list'}",
                          hint=f"choose from {', '.join(known)}")
    return picked


@click.command("calibrate")
@home_option
@world_preset_option
@click.option("--datasets", default=None, metavar="LIST",
              help="Built-in datasets to calibrate (default: all: ssv2,k400,ucf101,hmdb51,msrvtt,didemo,msvd,lsmdc).")
@click.option("--rows", default=None, metavar="LIST",
              help="Reference rows (default: all: chance, perception, pixel, order-shuffled, order-frame-average, "
                   "pixel-cnn, order-shuffled-cnn; text-video sets have chance, perception, pixel, pixel-cnn).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Supervised epochs behind the pixel and order ceilings (default 30 for classification, "
                   "40 for text-video retrieval; batch 32).")
@click.option("--results", "results_dir", type=click.Path(file_okay=False), default=None,
              help="Results folder (default: <home>/results).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--overwrite", type=click.Choice(["only-missing", "always"]), default="only-missing",
              show_default=True, help="always: retrain the pixel and order ceilings.")
def calibrate(world_preset, datasets, rows, epochs, results_dir, device, batch_size, workers, overwrite) -> None:
    """Measure the built-in world: for every built-in task, what a collapsed encoder scores (chance),
    what the scene descriptions allow (perception ceiling), what the demo's video ViT (and a small 3D
    CNN) learns from these pixels when trained supervised from random init (pixel ceilings: fine-tuning
    for classification, the ret-ft protocol for text-video retrieval), and how much of that needs frame
    order (order ceilings, classification: shuffled frames, a frame-averaged model). The rows are
    written as result files that the leaderboard shows beside the models and never ranks.

    \b
    tvts-bench calibrate                                  # every row, every built-in task (~tens of minutes)
    tvts-bench calibrate --datasets ssv2 --rows chance,perception,pixel
    """
    from dataclasses import replace
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from ..runtime import check_device
    from .run import CLASSIFICATION, ROWS, TEXT_VIDEO, Budget, CalibrationOptions, RetrievalBudget
    from .run import calibrate as run_calibration

    check_device(device)
    opts = CalibrationOptions(world_preset=world_preset, results_dir=Path(results_dir) if results_dir else None,
                              device=device, batch_size=batch_size, workers=workers, overwrite=overwrite)
    if datasets:
        opts = replace(opts, datasets=_choices(datasets, CLASSIFICATION + TEXT_VIDEO, "--datasets"))
    if rows:
        opts = replace(opts, rows=_choices(rows, tuple(ROWS), "--rows"))
    if epochs:
        opts = replace(opts, budget=replace(Budget(), epochs=epochs),
                       retrieval_budget=replace(RetrievalBudget(), epochs=epochs))
    table_rows = run_calibration(opts, Console(stderr=True))
    table = Table(title="built-in world calibration (reference rows, never ranked)")
    for col in ("task", "row", "metric", "value [95% CI]"):
        table.add_column(col)
    for r in table_rows:
        ci = r["ci"]
        shown = "-" if r["value"] is None else f"{r['value']:.1f}" + (
            f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci and ci[0] is not None else "")
        table.add_row(r["task"], r["row"], r["metric"], shown)
    Console().print(table)
