"""``tvts-bench run``: evaluate one model on tasks and write result files (thin: parse, call, print)."""

from __future__ import annotations

from pathlib import Path

import click

from ..cli_options import data_root_option, home_option, world_preset_option
from ..errors import ConfigError


def parse_seeds(text: str) -> tuple[int, ...]:
    from .protocol_params import MAX_SEEDS

    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        try:
            first, last = (int(lo), int(hi)) if dash else (int(part), int(part))
        except ValueError:
            raise ConfigError(f"--seeds {text[:100]!r}: expected integers like 0,1,2 or 0-2") from None
        if not 0 <= first <= last or last >= 2 ** 32:
            raise ConfigError(f"--seeds {text[:100]!r}: {part[:40]!r} is not a range of seeds in 0..2^32-1")
        if len(seeds) + last - first + 1 > MAX_SEEDS:
            raise ConfigError(f"--seeds {text[:100]!r}: more than {MAX_SEEDS} seeds",
                              hint="each seed is a full evaluation; a few (0,1,2) give the interval over seeds")
        seeds.extend(range(first, last + 1))
    if not seeds:
        raise ConfigError("--seeds: give at least one seed")
    return tuple(dict.fromkeys(seeds))


@click.command(name="run")
@home_option
@click.option("--model", "-m", required=True, metavar="SPEC",
              help="A model card name (tvts, videomae, clip, scratch, ...), a checkpoint folder, or file.py:factory.")
@click.option("--tasks", "-t", required=True, metavar="LIST",
              help="Comma list of tasks and groups, e.g. ssv2-linear,msrvtt-ret or demo, paper, quick, all.")
@click.option("--checkpoint", default=None, metavar="PATH",
              help="Weights to load into the model card. Results are then filed as <card>-<file>-<weights "
                   "hash>, so two checkpoints of one card never share a row.")
@click.option("--name", default=None, metavar="NAME",
              help="The name results are filed and shown under (default: the card's name, plus a short "
                   "weights hash for weights given by path).")
@click.option("--accept-unused-tensors", "accept_unused", is_flag=True,
              help="Load a checkpoint even if some of its tensors are not used by the model (refused by "
                   "default, naming them); every result then records the list.")
@data_root_option
@world_preset_option
@click.option("--results", "results_dir", type=click.Path(file_okay=False), default=None,
              help="Results folder (default: <home>/results).")
@click.option("--seeds", default="0", show_default=True, help="Seeds, e.g. 0,1,2 or 0-2; one result file each.")
@click.option("--overwrite", type=click.Choice(["never", "always", "only-missing"]), default="only-missing",
              show_default=True,
              help="never: stop if a result exists; only-missing: keep existing valid results and move "
                   "stale ones (other weights, task card or data) to <results>/.superseded/; always: "
                   "recompute and replace (features still come from the cache).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Clips per batch for feature extraction (and the default for protocols).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="DataLoader worker processes for decoding (0: decode in the main process). Default: "
                   "min(8, CPUs-1) on CUDA; on CPU 0 up to 4 CPUs, else min(8, CPUs/4).")
@click.option("--task-param", "task_params", multiple=True, metavar="SCOPE.KEY=VALUE",
              help="Override a task parameter: SCOPE is a protocol, a task or *; e.g. ft.epochs=50, "
                   "ssv2-linear.C=[0.1,1], ft.sampling.clips=5. Changes the task hash. Repeatable.")
@click.option("--frame-cache", is_flag=True,
              help="Fine-tuning tasks decode each video once and read its frames from <home>/cache/frames "
                   "in later epochs (bit-identical clips; disk: frames x short side^2 x 3 bytes per video).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def run(model: str, tasks: str, checkpoint: str | None, name: str | None, accept_unused: bool,
        data_root: str | None, world_preset: str | None, results_dir: str | None, seeds: str, overwrite: str, device: str, batch_size: int, workers: int | None,
        task_params: tuple[str, ...], frame_cache: bool, quiet: bool) -> None:
    """Evaluate a model on tasks and write one result file per (model, task, seed).

    \b
    tvts-bench run --model scratch --tasks quick
    tvts-bench run --model tvts --tasks ssv2-linear,msrvtt-ret --seeds 0,1,2
    tvts-bench run --model videomae --checkpoint ~/w/videomae.pth --tasks paper --data-root /data
    torchrun --nproc-per-node 8 -m tvts_bench.cli run --model tvts --tasks ssv2-ft-paper --device cuda
    """
    from rich.console import Console

    from .runner import RunOptions, run_tasks, summary_table

    from ..runtime import check_device

    check_device(device)
    if workers is None:
        from ..runtime import default_decode_workers

        workers = default_decode_workers(device)
    if name is not None:
        from .results import check_result_name

        check_result_name(name)
    opts = RunOptions(model=model, tasks=tasks, checkpoint=checkpoint, name=name, accept_unused=accept_unused,
                      task_params=task_params,
                      data_root=data_root, results_dir=Path(results_dir) if results_dir else None,
                      seeds=parse_seeds(seeds), overwrite=overwrite, device=device, batch_size=batch_size,
                      workers=workers, world_preset=world_preset, frame_cache=frame_cache)
    console = Console(stderr=True)
    summary = run_tasks(opts, console=console, show_progress=not quiet)
    from .. import distributed

    if distributed.rank() != 0:                         # under torchrun only rank 0 reports
        if summary.failed:
            raise click.exceptions.Exit(1)
        return
    Console().print(summary_table(summary))
    counts = ", ".join(f"{n} {status}" for status, n in summary.counts().items())
    console.print(f"{counts}; results in {summary.results_dir}")
    if summary.failed:
        names = ", ".join(f"{o.task} (seed {o.seed})" for o in summary.failed)
        console.print(f"[bold red]{len(summary.failed)} of {len(summary.outcomes)} task run(s) failed:[/] {names}")
        raise click.exceptions.Exit(1)
