"""``tvts-bench demo``: the main job on a fresh machine.

World -> pretrain TVTS and the baselines on the built-in corpus -> evaluate every model on the demo
task group -> leaderboard. Each step goes through the same commands a user would type, so the demo
exercises exactly the public interface; each step resumes (pretraining from its newest checkpoint,
evaluation skips results that exist), so a second ``demo`` reuses what is done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.rule import Rule

from .cli_options import home_option

console = Console()


@dataclass(frozen=True)
class DemoPlan:
    world_preset: str
    pretrain_preset: str
    pretrain_steps: int | None      # None: the pretraining preset's own default
    tasks: str


PLANS = {
    # Sized so that `demo` takes at most ~20 minutes and `tiny` ~3 minutes on 2 CPU cores.
    # 60 steps per model (the `small` preset's own default is 80): measured, four 80-step runs alone took
    # 10 of the 20 minutes (CLIP's unmasked per-frame encoder 5 of them). Every model gets the same steps.
    "demo": DemoPlan(world_preset="demo", pretrain_preset="small", pretrain_steps=60, tasks="demo"),
    "tiny": DemoPlan(world_preset="tiny", pretrain_preset="tiny", pretrain_steps=20, tasks="demo"),
}

# (model card name, pretraining objective); `scratch` is evaluated without pretraining.
PRETRAINED_MODELS = (("tvts", "tvts"), ("tvts-base", "base"), ("videomae", "videomae"), ("clip", "clip"))
EVALUATED_MODELS = ("tvts", "tvts-base", "videomae", "clip", "scratch")


def _datasets(tasks: str) -> list[str]:
    """The built-in datasets behind a task list or group, in order."""
    from .bench.registry import resolve_tasks

    return list(dict.fromkeys(card.dataset for card in resolve_tasks(tasks)))


def invoke_command(args: list[str]) -> int:
    """Run one command as a user would; its exit status (click returns it in this mode, never raises)."""
    from .cli import cli

    console.print(f"[dim]$ tvts-bench {' '.join(args)}[/]")
    code = cli.main(args=args, prog_name="tvts-bench", standalone_mode=False)
    return code if isinstance(code, int) else 0


@click.command()
@click.option("--preset", type=click.Choice(sorted(PLANS)), default="demo", show_default=True,
              help="demo: the full main job (~20 min on 2 cores); tiny: a 3-minute smoke run.")
@click.option("--tasks", default=None,
              help="Task list or group to evaluate (default: the `demo` group; `paper` runs them all).")
@click.option("--pretrain-steps", type=int, default=None, help="Override the steps of each pretraining run.")
@click.option("--out", type=click.Path(dir_okay=False), default="leaderboard/index.html", show_default=True,
              help="Where to write the HTML leaderboard (Markdown and CSV go beside it).")
@home_option
def demo(preset: str, tasks: str | None, pretrain_steps: int | None, out: str) -> None:
    """The main job: world, pretraining, evaluation, leaderboard."""
    from .home import ensure_world, results_dir

    plan = PLANS[preset]
    steps = pretrain_steps or plan.pretrain_steps
    started = time.perf_counter()

    console.print(Rule(f"1/5 built-in world ({plan.world_preset})"))
    world = ensure_world(plan.world_preset, quiet=True)
    console.print(f"world: {world}")

    console.print(Rule("2/5 pretraining on the built-in corpus"))
    failures: list[str] = []
    for name, objective in PRETRAINED_MODELS:
        step_args = ["--steps", str(steps)] if steps else []
        if invoke_command(["pretrain", "--objective", objective, "--name", name, "--preset", plan.pretrain_preset,
                    *step_args, "--world-preset", plan.world_preset]):
            failures.append(f"pretrain {name}")

    console.print(Rule("3/5 evaluation"))
    for model in EVALUATED_MODELS:
        # `run` exits non-zero when a task failed; the other models still run
        if invoke_command(["run", "--model", model, "--tasks", tasks or plan.tasks, "--world-preset", plan.world_preset]):
            failures.append(model)

    # Floor and ceiling rows beside the models: chance and the scene-truth probe cost seconds. The
    # pixel-trained ceilings take minutes per dataset; `tvts-bench calibrate` adds them to the same results.
    console.print(Rule("4/5 world calibration (chance, perception ceiling)"))
    if invoke_command(["calibrate", "--rows", "chance,perception", "--datasets", ",".join(_datasets(tasks or plan.tasks)),
                "--world-preset", plan.world_preset]):
        failures.append("calibrate")

    console.print(Rule("5/5 leaderboard"))
    out_path = Path(out)
    for fmt, path in (("html", out_path), ("md", out_path.with_suffix(".md")), ("csv", out_path.with_suffix(".csv"))):
        if invoke_command(["leaderboard", "--results", str(results_dir()), "--out", str(path), "--format", fmt]):
            failures.append(f"leaderboard {fmt}")

    minutes = (time.perf_counter() - started) / 60
    status = "[bold red]finished with failures[/]" if failures else "[bold green]done[/]"
    console.print(f"\n{status} in {minutes:.1f} min. Leaderboard: [bold]{out_path.resolve()}[/]")
    if failures:
        console.print(f"[bold red]some tasks failed for: {', '.join(failures)} (see above)[/]")
        raise click.exceptions.Exit(1)
