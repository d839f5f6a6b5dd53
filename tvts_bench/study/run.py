"""Run a study: pretrain every variant for every seed, evaluate it, analyse, write the report.

Every step goes through the public commands (``pretrain``, ``run``), so each pretraining run is an
ordinary run folder (``runs/study-<study>-<variant>-s<seed>``) and each result an ordinary result file
(model ``<variant>-s<seed>`` in the study's results folder): ``run``, ``leaderboard`` and the Python API
read them like any other. Both commands resume, so an interrupted study continues where it stopped and
a finished one recomputes nothing: a pretraining run whose ``summary.json`` says it reached its steps is
not started again, and ``run`` keeps results that exist.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .analysis import model_name, run_name
from .design import VARIANTS, StudyPreset, StudyTable, needed_variants, tasks_of

DONE_STATUSES = ("finished", "did not converge")


@dataclass(frozen=True)
class Job:
    kind: str                       # pretrain | evaluate
    variant: str
    seed: int
    args: tuple[str, ...]           # the command line (without the program name)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.variant} (seed {self.seed})"


@dataclass
class StudyOptions:
    name: str                       # the study's name: run folders and the results folder carry it
    preset: StudyPreset
    tables: list[StudyTable]
    seeds: tuple[int, ...]
    results_dir: Path
    runs_dir: Path
    data_root: str | None = None
    text_model: str | None = None
    device: str | None = None
    extra_task_params: tuple[str, ...] = ()
    jobs_done: list[str] = field(default_factory=list)


def pretrain_done(run_dir: Path, steps: int | None) -> bool:
    """Whether a run folder holds a pretraining that reached its steps (or its own schedule's end)."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return False
    return summary.get("status") in DONE_STATUSES and (steps is None or summary.get("steps") == steps)


def plan(opts: StudyOptions) -> list[Job]:
    """Every job, in the order it runs: per seed, each variant's pretraining, then its evaluation."""
    p = opts.preset
    where = ["--data-root", opts.data_root] if opts.data_root else ["--world-preset", p.world_preset]
    jobs: list[Job] = []
    for seed in opts.seeds:
        for name in needed_variants(opts.tables):
            variant = VARIANTS[name]
            if variant.pretrain_args is None:
                model = ["--model", name]
            else:
                run = run_name(opts.name, name, seed)
                args = ["pretrain", *variant.pretrain_args, "--preset", p.pretrain_preset, "--name", run,
                        "--seed", str(seed), *where, "--quiet"]
                if p.pretrain_steps is not None:
                    args += ["--steps", str(p.pretrain_steps)]
                if opts.text_model:
                    args += ["--text-model", opts.text_model]
                if opts.device:
                    args += ["--device", opts.device]
                jobs.append(Job("pretrain", name, seed, tuple(args)))
                model = ["--model", str(opts.runs_dir / run)]
            params = [a for tp in (*p.task_params, *opts.extra_task_params) for a in ("--task-param", tp)]
            args = ["run", *model, "--name", model_name(name, seed), "--tasks", ",".join(tasks_of(opts.tables, name)),
                    "--seeds", str(seed), "--results", str(opts.results_dir), *where, *params, "--quiet"]
            if opts.device:
                args += ["--device", opts.device]
            jobs.append(Job("evaluate", name, seed, tuple(args)))
    return jobs


def is_done(job: Job, opts: StudyOptions) -> bool:
    """Cheap check for the progress count: pretraining finished (evaluation is checked by ``run``)."""
    if job.kind == "pretrain":
        return pretrain_done(opts.runs_dir / run_name(opts.name, job.variant, job.seed), opts.preset.pretrain_steps)
    return False


def execute(opts: StudyOptions, invoke: Callable[[list[str]], int], console: Any) -> list[str]:
    """Run the plan; returns the labels of failed jobs (the others still run)."""
    jobs = plan(opts)
    failures: list[str] = []
    timed: list[float] = []
    for i, job in enumerate(jobs, 1):
        left = len(jobs) - i + 1
        eta = f", about {sum(timed) / len(timed) * left / 60:.0f} min left" if timed else ""
        if is_done(job, opts):
            console.print(f"[dim][{i}/{len(jobs)}] {job.label}: done before[/]")
            continue
        if job.kind == "pretrain" and job.variant not in _available_objectives():
            failures.append(f"{job.label}: objective not available in this build")
            continue
        console.print(f"[bold][{i}/{len(jobs)}][/] {job.label}{eta}")
        t0 = time.perf_counter()
        if invoke(list(job.args)):
            failures.append(job.label)
        timed.append(time.perf_counter() - t0)
    return failures


def _available_objectives() -> set[str]:
    """Variants whose pretraining objective this build knows (the pretrain command's choices)."""
    from ..pretrain.presets import OBJECTIVES

    return {name for name, v in VARIANTS.items() if v.objective is None or v.objective in OBJECTIVES}
