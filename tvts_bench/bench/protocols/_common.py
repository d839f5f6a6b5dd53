"""Helpers the protocols share: parameters, metric values with intervals, progress, seeding."""

from __future__ import annotations

import contextlib
import random
from typing import Any, Iterator

import numpy as np
import torch

from ...errors import ConfigError
from ..result_schema import MetricValue
from ..metrics import RankResult
from ..stats import Statistic, mean_stat, median_stat, metric_value


def param(ctx, key: str, default: Any = None) -> Any:
    return ctx.task.params.get(key, default)


def seeds_of(ctx, default: int = 1) -> list[int]:
    """``params.seeds``: a list of seeds, or a count of seeds starting at the run's seed."""
    raw = param(ctx, "seeds", default)
    if isinstance(raw, int):
        if raw < 1:
            raise ConfigError(f"task {ctx.task.name}: params.seeds must be >= 1, got {raw}")
        return [ctx.seed + i for i in range(raw)]
    return [int(s) for s in raw]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def mv(outcomes: np.ndarray, statistic: Statistic, ctx, *, salt: int = 0,
       clusters: np.ndarray | None = None) -> MetricValue:
    """A metric value with its percentile bootstrap interval (params.bootstrap resamples, seeded).

    ``clusters`` (one id per outcome) resamples whole clusters: all captions of a video together."""
    n = int(param(ctx, "bootstrap", 1000) or 0)
    if n <= 0:
        x = np.asarray(outcomes, dtype=np.float64)
        return MetricValue(value=float(statistic(x[None, :])[0]) if x.size else float("nan"), n=int(x.size))
    return metric_value(outcomes, statistic, n_resamples=n, seed=ctx.seed * 1000 + salt, clusters=clusters)


def rank_metric_values(result: RankResult, prefix: str, ctx, *, salt: int = 0,
                       clusters: np.ndarray | None = None) -> dict[str, MetricValue]:
    """R@K (from expected hits), MedR, MeanR (from expected ranks), with intervals."""
    r = np.asarray(result.ranks, dtype=np.float64)
    out = {f"{prefix}R@{k}": mv(h, mean_stat(100.0), ctx, salt=salt + i, clusters=clusters)
           for i, (k, h) in enumerate(result.hits.items())}
    out[f"{prefix}MedR"] = mv(r, median_stat(offset=1.0), ctx, salt=salt + 50, clusters=clusters)
    out[f"{prefix}MeanR"] = mv(r, mean_stat(offset=1.0), ctx, salt=salt + 51, clusters=clusters)
    return out


def percent_value(hits: np.ndarray, ctx, *, salt: int = 0) -> MetricValue:
    return mv(hits, mean_stat(100.0), ctx, salt=salt)


def select_metrics(values: dict[str, MetricValue], ctx) -> dict[str, MetricValue]:
    """Keep the task card's metrics (all of them when the card lists none we computed)."""
    wanted = [m for m in ctx.task.metrics if m in values]
    return {m: values[m] for m in wanted} if wanted else values


# frame-order variants scored beside the normal features (context.FRAME_OPS)
DIAGNOSTICS = ("shuffled", "repeated", "reversed")


def diagnostics_of(ctx) -> list[str]:
    raw = param(ctx, "diagnostics", []) or []
    if isinstance(raw, str):
        raw = [raw]
    bad = [v for v in raw if v not in DIAGNOSTICS]
    if bad:
        raise ConfigError(f"task {ctx.task.name}: unknown diagnostic variant(s) {bad} in params.diagnostics",
                          hint=f"params.diagnostics takes any of {', '.join(DIAGNOSTICS)}")
    return list(raw)


@contextlib.contextmanager
def progress_task(ctx, description: str, total: int | None) -> Iterator:
    """Yields ``advance(n=1)``; a rich progress task when the runner gave one, else a no-op."""
    prog = getattr(ctx, "progress", None)
    if prog is None:
        yield lambda n=1: None
        return
    tid = prog.add_task(description, total=total)
    try:
        yield lambda n=1: prog.advance(tid, n)
    finally:
        with contextlib.suppress(Exception):
            prog.remove_task(tid)


def class_labels(fs, what: str, needs: str) -> np.ndarray:
    """The class labels of a feature set; a clear error when the dataset has none (``needs``: which
    protocol asked, e.g. "the linear probe")."""
    from ...errors import DataFormatError

    if fs.labels is None:
        raise DataFormatError(fs.records[0].path.parent if fs.records else "?",
                              f"the {what} split has no class labels; {needs} needs a classification dataset")
    return np.asarray(fs.labels, dtype=np.int64)


def labelled_splits(ctx, train, test, needs: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(train labels, test labels, number of classes) of a classification task's two feature sets;
    an empty split is an error naming it."""
    from ...errors import TvtsBenchError

    y_train, y_test = class_labels(train, "train", needs), class_labels(test, "test", needs)
    if len(y_train) == 0 or len(y_test) == 0:
        empty = ctx.task.splits.train if len(y_train) == 0 else ctx.task.splits.test
        raise TvtsBenchError(f"task {ctx.task.name}: no readable video in the {empty} split",
                             hint="check the dataset root and the manifest (tvts-bench data check)")
    num_classes = max(len(ctx.index.classes), int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1)
    return y_train, y_test, num_classes


def torch_device(ctx) -> torch.device:
    dev = str(getattr(ctx, "device", "cpu") or "cpu")
    if dev.startswith("cuda") and not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device(dev)
