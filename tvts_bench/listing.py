"""``tvts-bench list tasks|models|datasets``: what is registered, as a rich table on a terminal, plain
tab-separated rows when the output goes to a pipe or a file, or JSON (``--json``)."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from .cli_options import home_option
from .text_safety import printable, rich_text

@click.command(name="list")
@click.argument("what", type=click.Choice(["tasks", "models", "datasets"]))
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON document instead of a table (piped output without --json: tab-separated rows).")
@home_option
def list_cmd(what: str, as_json: bool) -> None:
    """List registered tasks, models or datasets."""
    rows, columns = _rows(what)
    if as_json:
        click.echo(json.dumps([dict(zip(columns, r)) for r in rows], indent=2))
        return
    if not sys.stdout.isatty():
        # piped into grep / cut / a file: one unwrapped line per row, tab-separated, header first
        for r in [tuple(columns), *rows]:
            click.echo("\t".join(printable(x) for x in r))
        return
    table = Table(title=f"tvts-bench {what}")
    for i, c in enumerate(columns):
        # names are what users copy into --tasks / --model: never wrap or cut them
        table.add_column(c, no_wrap=(i == 0), overflow="fold")
    for r in rows:
        # cards are files users add: a name or description must not drive the terminal or rich markup
        table.add_row(*[rich_text(x) for x in r])
    Console(emoji=False).print(table)


def _rows(what: str) -> tuple[list[tuple], list[str]]:
    if what == "datasets":
        from .data.readers import dataset_specs

        return ([(s.name, s.title, s.kind, ",".join(s.splits), "yes" if s.builtin else "no", s.notes)
                 for s in dataset_specs().values()],
                ["name", "dataset", "kind", "splits", "built-in world", "notes"])
    if what == "tasks":
        from .bench.registry import load_groups, load_tasks, resolve_tasks

        tasks = load_tasks()
        # expand each group (groups nest, and `all` is "*") so the column lists every group a task is in
        expanded = {g: {t.name for t in resolve_tasks(g)} for g in load_groups()}
        member_of = {name: ",".join(g for g, members in expanded.items() if name in members)
                     for name in tasks}
        return ([(t.name, t.dataset, t.protocol, t.main_metric, member_of[t.name], t.hash)
                 for t in tasks.values()],
                ["name", "dataset", "protocol", "main metric", "groups", "hash"])
    return _model_rows()


def _model_rows() -> tuple[list[tuple], list[str]]:
    """Cards grouped by family (in the order families register, zoo/__init__.py), with whether the
    weights are on this machine: ``yes`` (where), ``no``, or ``random init`` (no weights needed)."""
    from .zoo.families import family_names
    from .zoo.registry import list_models

    order = {name: i for i, name in enumerate(family_names())}
    listing = sorted(list_models(), key=lambda m: (order.get(m.card.family, len(order)), m.card.name))

    def here(m) -> str:
        if m.card.weights.source == "random":
            return "random init"
        return f"yes ({m.location})" if m.location else "no"

    return ([(m.card.name, m.card.family, here(m), m.card.weights_summary(), m.card.feature,
              ",".join(m.card.trained_on) or "-", m.card.paper_row or "-") for m in listing],
            ["name", "family", "weights here", "weights", "feature", "trained on", "paper row"])
