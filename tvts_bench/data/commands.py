"""``tvts-bench data``: check a dataset root (listed / found / missing videos, content hash)."""

from __future__ import annotations

import json

import click

from ..cli_options import home_option, world_preset_option
from .readers import dataset_names, read_dataset, reader_options


@click.group()
def data() -> None:
    """Dataset roots: read the annotations and check the videos."""


class _DatasetChoice(click.Choice):
    """The registered datasets, looked up when the command runs (a dataset registered after this module
    was imported is a choice too)."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return tuple(dataset_names())

    @choices.setter
    def choices(self, value) -> None:
        pass


@data.command("check")
@click.argument("dataset", type=_DatasetChoice())
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="The dataset's folder (as downloaded). Default: the configured data root, else "
                   "the built-in world.")
@click.option("--split", "split_number", type=click.IntRange(1, 3), default=None,
              help="ucf101 / hmdb51: which official train/test split (1, 2 or 3; default 1).")
@click.option("--msrvtt-train", type=click.Choice(["9k", "7k"]), default=None,
              help="msrvtt: training list MSRVTT_train.9k.csv (default) or MSRVTT_train.7k.csv.")
@click.option("--show-missing", type=int, default=10, show_default=True,
              help="How many missing videos to print per split (the JSON lists them all).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@world_preset_option
@home_option
def check(dataset: str, root: str | None, split_number: int | None, msrvtt_train: str | None,
          show_missing: int, as_json: bool, world_preset: str | None) -> None:
    """Read DATASET's annotations and report, per split, the videos listed, found and missing,
    the number of classes and the content hash (annotation files + relative video list)."""
    from ..errors import ConfigError
    from ..home import resolve_data
    from .manifest import build_manifest

    options: dict = {}
    if split_number is not None:
        if "split" not in reader_options(dataset):
            takers = [name for name in dataset_names() if "split" in reader_options(name)]
            raise ConfigError(f"--split applies to {', '.join(takers)}, not {dataset}")
        options["split"] = split_number
    if msrvtt_train is not None:
        if dataset != "msrvtt":
            raise ConfigError(f"--msrvtt-train applies to msrvtt, not {dataset}")
        options["train"] = msrvtt_train
    location = resolve_data(dataset, root, world_preset=world_preset) if root is None else None
    data_root = root if root is not None else location.root  # type: ignore[union-attr]
    index = read_dataset(dataset, data_root, **options)
    manifest = build_manifest(index)
    if as_json:
        click.echo(json.dumps(manifest.to_dict()))
        return
    _print_table(manifest, builtin=bool(location and location.builtin), show_missing=show_missing)


def _print_table(manifest, *, builtin: bool, show_missing: int) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..text_safety import rich_text

    # Every field may come from the dataset's files (ids, split names, the root's name): each goes
    # through rich_text, so no control character or markup in it reaches the terminal. emoji=False:
    # an id like ":warning:" is printed as written.
    console = Console(highlight=False, emoji=False)
    source = " (built-in world)" if builtin else ""
    console.print(f"[bold]{rich_text(manifest.dataset)}[/] at {rich_text(manifest.root)}{source}")
    table = Table()
    table.add_column("split")
    table.add_column("listed", justify="right")
    table.add_column("found", justify="right")
    table.add_column("missing", justify="right")
    for name, split in manifest.splits.items():
        style = "red" if split.missing else "green"
        table.add_row(rich_text(name), str(split.listed), str(split.found), f"[{style}]{split.missing}[/]")
    console.print(table)
    classes = rich_text(manifest.classes) if manifest.classes else "- (captions)"
    console.print(f"classes: {classes}    hash: {rich_text(manifest.hash)}    "
                  f"annotation files: {len(manifest.annotation_files)}")
    for name, split in manifest.splits.items():
        if split.missing and show_missing > 0:
            console.print(f"[red]missing in {rich_text(name)}[/] ({split.missing}):")
            for rel in split.missing_videos[:show_missing]:
                console.print(f"  {rich_text(rel)}")
            if split.missing > show_missing:
                console.print(f"  ... and {split.missing - show_missing} more (see --json)")
