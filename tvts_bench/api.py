"""The Python API for notebooks and scripts: ``tvts_bench.evaluate(model, tasks, **options)``.

It runs the same runner as ``tvts-bench run`` (same feature cache, same result files, same skips), and
returns the result records of the tasks that ran or were already there. Results are written under the
home folder's ``results/`` (or ``results_dir``), where ``tvts_bench.results.load`` reads them back.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, Mapping

if TYPE_CHECKING:  # importing tvts_bench must not import torch
    from .bench.result_schema import ResultRecord
    from .bench.runner import RunSummary


class EvaluationError(Exception):
    """Some tasks failed; ``records`` holds the results of the others, ``summary`` every outcome."""

    def __init__(self, message: str, records: list["ResultRecord"], summary: "RunSummary"):
        super().__init__(message)
        self.records = records
        self.summary = summary


def _task_list(tasks: str | Iterable[str]) -> str:
    if isinstance(tasks, str):
        return tasks
    names = [str(t) for t in tasks]
    if not names:
        raise ValueError("evaluate: tasks is empty; give task or group names (tvts-bench list tasks)")
    return ",".join(names)


def _task_params(task_params: Mapping[str, Any] | Iterable[str] | None) -> tuple[str, ...]:
    """``{"linear.C": [1.0]}`` or ``["linear.C=[1.0]"]`` -> the CLI's ``SCOPE.KEY=VALUE`` strings."""
    if task_params is None:
        return ()
    if isinstance(task_params, Mapping):
        import json

        return tuple(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in task_params.items())
    return tuple(str(p) for p in task_params)


def _seeds(seeds: int | Iterable[int]) -> tuple[int, ...]:
    return (int(seeds),) if isinstance(seeds, int) else tuple(int(s) for s in seeds)


def _as_model(model: Any, preprocess: Any, name: str | None) -> tuple[str, Any]:
    """(model spec or name, in-memory adapter or None)."""
    if isinstance(model, (str, os.PathLike)):
        if preprocess is not None:
            raise ValueError("evaluate: preprocess is for an nn.Module; a card or a path brings its own")
        return str(model), None
    from torch import nn

    from .zoo.base import VideoAdapter
    from .zoo.user import wrap_result

    label = name or getattr(model, "name", None) or type(model).__name__
    if isinstance(model, VideoAdapter):
        adapter = model
    elif isinstance(model, nn.Module):
        preprocess = preprocess if preprocess is not None else getattr(model, "preprocess", None)
        if preprocess is None:
            raise ValueError(f"evaluate: the nn.Module {type(model).__name__} needs a Preprocess "
                             "(pass preprocess=Preprocess(num_frames=..., size=..., short_side=...) or set "
                             "model.preprocess)")
        # the same wrapping as a user factory's (module, preprocess) (zoo/user.py)
        adapter = wrap_result({"module": model, "preprocess": preprocess, "name": label},
                              f"python:{type(model).__name__}", label)
    else:
        raise TypeError(f"evaluate: model must be a card name, a path, a VideoAdapter or an nn.Module; "
                        f"got {type(model).__name__}")
    if name:
        adapter.name = name
    return str(getattr(adapter, "name", None) or label), adapter


@contextlib.contextmanager
def _home(home: str | os.PathLike | None) -> Iterator[None]:
    if home is None:
        yield
        return
    before = os.environ.get("TVTS_BENCH_HOME")
    os.environ["TVTS_BENCH_HOME"] = os.path.abspath(os.path.expanduser(str(home)))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TVTS_BENCH_HOME", None)
        else:
            os.environ["TVTS_BENCH_HOME"] = before


def evaluate(model: Any, tasks: str | Iterable[str], *, checkpoint: str | None = None,
             preprocess: Any = None, name: str | None = None,
             task_params: Mapping[str, Any] | Iterable[str] | None = None, seeds: int | Iterable[int] = 0,
             data_root: str | None = None, world_preset: str | None = None,
             results_dir: str | os.PathLike | None = None, home: str | os.PathLike | None = None,
             overwrite: Literal["only-missing", "always", "never"] = "only-missing", device: str = "cpu",
             batch_size: int = 8, workers: int = 0, progress: bool = False,
             on_error: Literal["raise", "warn"] = "raise") -> list["ResultRecord"]:
    """Evaluate ``model`` on ``tasks``; return one ``ResultRecord`` per (task, seed) that has a result.

    ``model``: a model card name (``"tvts"``, ``"scratch"``), a checkpoint or HF folder path, a
    ``path/to/file.py:factory`` spec, a ``VideoAdapter``, or an ``nn.Module`` mapping ``[B, C, T, H, W]``
    clips to ``[B, D]`` features together with ``preprocess=Preprocess(...)`` (or a ``.preprocess``
    attribute). ``tasks``: task and group names, as a comma list or a list. ``task_params``:
    ``{"linear.C": [1.0]}`` or ``["linear.C=[1.0]"]`` (``--task-param``). ``seeds``: an int or a list.
    The other options are the ``tvts-bench run`` options of the same name; ``home`` sets the home
    folder for this call only. Tasks that do not apply (zero-shot retrieval without a text tower) have
    no record. A failed task raises ``EvaluationError`` after all the others ran (its ``records`` are
    theirs); with ``on_error="warn"`` a warning is issued and the records are returned.
    """
    from rich.console import Console

    from .bench.results import read_result
    from .bench.runner import RunOptions, run_tasks

    spec, adapter = _as_model(model, preprocess, name)
    if name is not None and adapter is None:
        from .bench.results import check_result_name

        check_result_name(name, "name")
    opts = RunOptions(model=spec, tasks=_task_list(tasks), checkpoint=checkpoint,
                      task_params=_task_params(task_params), data_root=data_root,
                      results_dir=Path(results_dir) if results_dir is not None else None, seeds=_seeds(seeds),
                      overwrite=overwrite, device=device, batch_size=batch_size, workers=workers,
                      world_preset=world_preset, name=name if adapter is None else None, adapter=adapter)
    with _home(home):
        summary = run_tasks(opts, console=Console(stderr=True), show_progress=progress)
        records = [read_result(o.path) for o in summary.outcomes
                   if o.path is not None and o.status in ("ok", "skipped")]
    if summary.failed:
        lines = "; ".join(f"{o.task} (seed {o.seed}): {(o.error or '').splitlines()[0] if o.error else ''}"
                          for o in summary.failed)
        message = f"{len(summary.failed)} task(s) failed: {lines}"
        if on_error == "raise":
            raise EvaluationError(message, records, summary)
        import warnings

        warnings.warn(message, stacklevel=2)
    return records
