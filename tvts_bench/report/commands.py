"""``tvts-bench leaderboard``: write the leaderboard (HTML, Markdown or CSV) from result files.

Broken or hostile result files never stop the report: each is skipped or used in part with a warning
naming it, and the command exits 0 once the report is written. Exit 2 (a message, no traceback) only
when there is nothing to report or the report cannot be written; the write is atomic, so a failed
write leaves no partial file and keeps any previous report as it was. Everything printed goes through
``tvts_bench.text_safety``: names and paths from result files cannot drive the terminal.
"""

from __future__ import annotations

from pathlib import Path

import click

from tvts_bench.cli_options import home_option

FORMATS = ("html", "md", "csv")
DEFAULT_OUT = {"html": Path("leaderboard") / "index.html", "md": Path("leaderboard") / "index.md",
               "csv": Path("leaderboard") / "index.csv"}


def write_leaderboard(results: Path, out: Path, fmt: str = "html", runs: Path | None = None) -> tuple[Path, list[str]]:
    """Build and write one report; returns its path and the warnings (skipped files etc.).

    ``runs``: the pretraining runs folder whose curves the HTML and Markdown show (default: ``runs/``
    beside ``results``, the home folder's layout; nothing when it does not exist)."""
    from tvts_bench.atomic import write_bytes
    from tvts_bench.errors import MissingPathError, TvtsBenchError
    from tvts_bench.text_safety import printable

    from .aggregate import build_leaderboard
    from .pretraining import default_runs_dir, load_runs

    hint = "run `tvts-bench run --model MODEL --tasks TASKS` or `tvts-bench demo` first, or pass --results DIR"
    if not results.is_dir():
        raise MissingPathError(results, "results folder", hint=hint)
    lb = build_leaderboard(results)
    if not lb.columns:
        # the CLI prints this message as it is: each warning is made printable here
        why = (f"{len(lb.warnings)} file(s) were skipped:\n  " + "\n  ".join(printable(w) for w in lb.warnings[:5])
               if lb.warnings else "there are no *.json result files in it")
        raise TvtsBenchError(f"no usable result files under {printable(results)}: {why}", hint=hint)
    curves, run_warnings = load_runs(runs if runs is not None else default_runs_dir(results))
    lb.warnings.extend(run_warnings)
    if fmt == "html":
        from .html import render_html
        text = render_html(lb, curves)
    elif fmt == "md":
        from .markdown import render_markdown
        text = render_markdown(lb, curves)
    else:
        from .csv import render_csv
        text = render_csv(lb)
    # A lone surrogate (an undecodable file name, or "\udc80" in a result file) has no UTF-8 form:
    # written as its escape it stays visible and the file stays valid UTF-8.
    data = text.encode("utf-8", errors="backslashreplace")
    try:
        write_bytes(out, data)
    except OSError as e:
        # name the failing path only when it is not the report or its temporary file (a parent folder)
        where = e.filename
        reason = printable(e.strerror or e)
        if isinstance(e, (FileExistsError, NotADirectoryError)) and where is not None:
            reason = f"a file is in the way of its folder ({printable(where)})"     # mkdir of a parent
        elif where is not None and Path(where).parent != out.parent:
            reason += f" (at {printable(where)})"
        raise TvtsBenchError(f"cannot write the leaderboard to {printable(out)}: {reason}; nothing was written",
                             hint="choose another file with --out, or free space / fix permissions "
                                  "on its folder") from None
    return out, lb.warnings


@click.command("leaderboard")
@click.option("--results", "results", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of result files, searched recursively (default: the home folder's results/).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file (default: leaderboard/index.html, .md or .csv under the current folder).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True,
              help="html: one self-contained page; md: Markdown tables; csv: long format for scripts.")
@click.option("--runs", "runs", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Pretraining runs folder whose training and validation curves the report draws (default: "
                   "runs/ beside the results folder).")
@home_option
def leaderboard(results: Path | None, out: Path | None, fmt: str, runs: Path | None) -> None:
    """Write the leaderboard from every result file under --results."""
    from rich.console import Console

    from tvts_bench.home import results_dir
    from tvts_bench.text_safety import printable, rich_text

    results = results if results is not None else results_dir()
    out = out if out is not None else DEFAULT_OUT[fmt]
    path, warnings = write_leaderboard(results, out, fmt, runs)
    # soft_wrap: one warning is one line, so a path in it can be searched for and copied whole
    err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    for w in warnings:
        err.print(f"[yellow]warning:[/] {rich_text(w)}")
    click.echo(printable(path.resolve()))
