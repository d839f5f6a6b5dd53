"""``tvts-bench study``: the paper's ablation tables, re-run with seeds, paired differences and verdicts."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli_options import data_root_option, home_option
from ..errors import ConfigError


def _seeds(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    from ..bench.commands import parse_seeds

    return tuple(parse_seeds(text))


@click.command()
@click.option("--preset", type=click.Choice(["tiny", "quick", "full", "vit-b"]), default="quick", show_default=True,
              help="tiny: smoke run on the tiny world; quick: one seed on the demo world; full: three seeds; "
                   "vit-b: the paper's recipe (GPU, --data-root, --text-model).")
@click.option("--seeds", default=None, help="Pretraining seeds, e.g. 0,1,2 (default: the preset's).")
@click.option("--tables", default="all", show_default=True, help="Paper tables to re-run, e.g. 2,3.")
@data_root_option
@click.option("--text-model", default=None, metavar="DIR", help="Local text encoder folder (the vit-b preset).")
@click.option("--name", default=None, help="The study's name: run folders and the results folder carry it "
                                           "(default: the preset's name).")
@click.option("--results", "results", type=click.Path(file_okay=False), default=None,
              help="Results folder (default: <home>/studies/<name>/results).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="The HTML report (Markdown and CSV beside it; default: <home>/studies/<name>/study.html).")
@click.option("--device", default=None, help="cpu or cuda[:N] for pretraining and evaluation.")
@click.option("--dry-run", is_flag=True, help="Print the jobs (and which are done) and stop.")
@click.option("--report-only", is_flag=True, help="Write the report from the results that exist; run nothing.")
@home_option
def study(preset, seeds, tables, data_root, text_model, name, results, out, device, dry_run, report_only) -> None:
    """Re-run the paper's ablations (Tables 1-4) with seeds, and give a verdict per claim.

    Pretrains every variant the chosen tables need for every seed (ordinary run folders under runs/),
    evaluates each on its tables' tasks (ordinary result files), then writes the study report: per
    table, our rows beside the paper's, and per claim of the paper the paired difference with its 95 %
    interval and a verdict (reproduced / reversed / not separable). Resumable: a second call
    recomputes nothing, an interrupted one continues.
    """
    from rich.console import Console

    from ..demo import invoke_command
    from ..home import ensure_world, home_dir, runs_dir
    from ..report.pretraining import load_runs
    from .analysis import analyse, run_name
    from .design import get_preset, needed_variants, select_tables
    from .report import write_report
    from .run import StudyOptions, execute, is_done, plan

    console = Console(stderr=True, highlight=False)
    p = get_preset(preset)
    chosen = select_tables(tables)
    name = name or p.name
    from ..bench.results import check_result_name

    check_result_name(name)
    if p.pretrain_preset == "vit-b" and not text_model:
        raise ConfigError("the vit-b study preset needs a text encoder folder", hint="pass --text-model DIR")
    study_dir = home_dir() / "studies" / name
    opts = StudyOptions(name=name, preset=p, tables=chosen, seeds=_seeds(seeds) or p.seeds,
                        results_dir=Path(results) if results else study_dir / "results", runs_dir=runs_dir(),
                        data_root=data_root, text_model=text_model, device=device)
    jobs = plan(opts)
    if dry_run:
        for i, job in enumerate(jobs, 1):
            mark = "done" if is_done(job, opts) else "to do"
            click.echo(f"[{i}/{len(jobs)}] {mark:5s} tvts-bench {' '.join(job.args)}")
        return
    failures: list[str] = []
    if not report_only:
        if not data_root:
            ensure_world(p.world_preset, quiet=True)
        todo = sum(not is_done(j, opts) for j in jobs)
        console.print(f"study [bold]{name}[/] ({p.description}): tables {', '.join(str(t.number) for t in chosen)}, "
                      f"seeds {', '.join(map(str, opts.seeds))}, {len(needed_variants(chosen))} variants; "
                      f"{len(jobs)} jobs, {todo} to do (evaluations skip the results that exist)")
        failures = execute(opts, invoke_command, console)
    result = analyse(opts.results_dir, opts.runs_dir, name, chosen, opts.seeds)
    variant_of = {run_name(name, v, s): v for v in needed_variants(chosen) for s in opts.seeds}
    runs, _ = load_runs(opts.runs_dir)
    out_path = Path(out) if out else study_dir / "study.html"
    paths = write_report(result, out_path, [r for r in runs if r.name in variant_of], variant_of)
    for t in result.tables:
        counts = {v: sum(c.verdict == v for c in t.claims) for v in ("reproduced", "reversed", "not separable",
                                                                        "not measured")}
        click.echo(f"Table {t.table.number}: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n))
    click.echo("report: " + ", ".join(str(x) for x in paths))
    if failures:
        console.print(f"[bold red]{len(failures)} job(s) failed:[/] " + "; ".join(failures))
        raise click.exceptions.Exit(1)
