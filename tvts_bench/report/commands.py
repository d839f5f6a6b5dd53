"""``tvts-bench leaderboard``: write the leaderboard (HTML, Markdown or CSV) from result files."""

from __future__ import annotations

from pathlib import Path

import click

from tvts_bench.cli_options import home_option

FORMATS = ("html", "md", "csv")
DEFAULT_OUT = {"html": Path("leaderboard") / "index.html", "md": Path("leaderboard") / "index.md",
               "csv": Path("leaderboard") / "index.csv"}


def write_leaderboard(results: Path, out: Path, fmt: str = "html") -> tuple[Path, list[str]]:
    """Build and write one report; returns its path and the warnings (skipped files etc.)."""
    from tvts_bench.atomic import write_text
    from tvts_bench.errors import MissingPathError, TvtsBenchError

    from .aggregate import build_leaderboard

    hint = "run `tvts-bench run --model MODEL --tasks TASKS` or `tvts-bench demo` first, or pass --results DIR"
    if not results.is_dir():
        raise MissingPathError(results, "results folder", hint=hint)
    lb = build_leaderboard(results)
    if not lb.columns:
        why = (f"{len(lb.warnings)} file(s) were skipped:\n  " + "\n  ".join(lb.warnings[:5])
               if lb.warnings else "there are no *.json result files in it")
        raise TvtsBenchError(f"no usable result files under {results}: {why}", hint=hint)
    if fmt == "html":
        from .html import render_html
        text = render_html(lb)
    elif fmt == "md":
        from .markdown import render_markdown
        text = render_markdown(lb)
    else:
        from .csv import render_csv
        text = render_csv(lb)
    write_text(out, text)
    return out, lb.warnings


@click.command("leaderboard")
@click.option("--results", "results", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of result files, searched recursively (default: the home folder's results/).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file (default: leaderboard/index.html, .md or .csv under the current folder).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True,
              help="html: one self-contained page; md: Markdown tables; csv: long format for scripts.")
@home_option
def leaderboard(results: Path | None, out: Path | None, fmt: str) -> None:
    """Write the leaderboard from every result file under --results."""
    from rich.console import Console
    from rich.markup import escape

    from tvts_bench.home import results_dir

    results = results if results is not None else results_dir()
    out = out if out is not None else DEFAULT_OUT[fmt]
    path, warnings = write_leaderboard(results, out, fmt)
    err = Console(stderr=True, highlight=False)
    for w in warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}")
    click.echo(str(path.resolve()))
