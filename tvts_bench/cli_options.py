"""Options shared by several commands, so each means the same everywhere."""

from __future__ import annotations

import os

import click


def _set_home(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value:
        # The home folder is process-wide state: every module reads it through tvts_bench.home.
        os.environ["TVTS_BENCH_HOME"] = os.path.abspath(os.path.expanduser(value))
    return value


home_option = click.option(
    "--home", type=click.Path(file_okay=False), default=None, expose_value=False, is_eager=True,
    callback=_set_home, envvar=None,
    help="Folder for the built-in world, caches, runs and results (default: $TVTS_BENCH_HOME, "
         "else ~/.cache/tvts-bench).")

data_root_option = click.option(
    "--data-root", default=None, metavar="DIR|NAME=PATH,...",
    help="Where real datasets are: a folder with one sub-folder per dataset short name, or "
         "NAME=PATH pairs. Without it: $TVTS_BENCH_DATA_<NAME>, $TVTS_BENCH_DATA_ROOT, "
         "config.yaml in the home folder, else the built-in world.")

world_preset_option = click.option(
    "--world-preset", default=None, type=click.Choice(["tiny", "demo", "large"]),
    help="Built-in world preset to use when no data root is configured "
         "(default: $TVTS_BENCH_WORLD_PRESET or demo).")
