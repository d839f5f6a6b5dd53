"""``tvts-bench world generate``: thin CLI over ``tvts_bench.world.generate``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..cli_options import home_option
from .presets import PRESETS


@click.group("world", help="Generate the built-in world (videos + annotations in the real datasets' layouts).")
def world() -> None:
    pass


@world.command("generate")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write (default: <home>/world/<preset>-seed<N>). Replaces a previous world there.")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="demo", show_default=True,
              help="Size: tiny (tests, seconds), demo (main job), large (scaling studies).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same world.")
@click.option("--workers", type=int, default=None,
              help="Processes rendering videos (default: the preset's, at most the CPU count).")
@home_option
def generate_cmd(out: Path | None, preset: str, seed: int, workers: int | None) -> None:
    """Generate the world and print what was written."""
    from rich.console import Console
    from rich.table import Table

    from .. import home
    from . import generate

    console = Console()
    target = out if out is not None else home.world_dir(preset, seed)
    root = generate(target, preset=preset, seed=seed, progress=True, workers=workers)
    info = json.loads((root / "world.json").read_text())
    table = Table(title=f"world {preset} seed {seed}: {root}")
    table.add_column("dataset")
    table.add_column("classes", justify="right")
    table.add_column("videos per split (cc3m: images)")
    table.add_column("total", justify="right")
    for name, counts in info["counts"].items():
        splits = counts.get("splits", {})
        table.add_row(name, str(counts.get("classes", "-")),
                      ", ".join(f"{s} {n}" for s, n in splits.items()), str(sum(splits.values())))
    console.print(table)
    console.print(f"{info['videos']} videos and {info['images']} images, {info['frames']} frames at "
                  f"{info['sizes']['size']}px "
                  f"{info['sizes']['fps']} fps, generated in {info['seconds']:.1f} s "
                  f"with {info['workers']} worker(s) ({info['cpu_seconds']:.1f} CPU s)")
