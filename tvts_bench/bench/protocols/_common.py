"""Helpers the protocols share: parameters, metric values with intervals, per-sample rows, progress.
(Seeding is ``tvts_bench.runtime.seed_everything``.)"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import numpy as np
import torch
from pydantic import BaseModel

from ..metrics import RankResult
from ..protocol_spec import ProtocolSpec
from ..result_schema import MetricValue
from ..sample_rows import make_rows
from ..stats import Statistic, metric_value, statistic_of


def params_of(ctx, spec: ProtocolSpec) -> BaseModel:
    """The task's parameters, typed and with the protocol's defaults filled in (validated when the card
    loaded; validated again here because a context may carry a card built in code)."""
    return spec.parameters(ctx.task.params)


def bootstrap_of(ctx) -> int:
    """``params.bootstrap``: resamples for the intervals (0: none)."""
    from . import spec_of

    return int(params_of(ctx, spec_of(ctx.task.protocol)).bootstrap)


def seeds_of(ctx, params: BaseModel) -> list[int]:
    """``params.seeds``: a list of seeds, or a count of seeds starting at the run's seed."""
    raw = params.seeds
    if isinstance(raw, int):
        return [ctx.seed + i for i in range(raw)]
    return [int(s) for s in raw]


def mv(outcomes: np.ndarray, statistic: Statistic, ctx, *, salt: int = 0,
       clusters: np.ndarray | None = None) -> MetricValue:
    """A metric value with its percentile bootstrap interval (params.bootstrap resamples, seeded).

    ``clusters`` (one id per outcome) resamples whole clusters: all captions of a video together."""
    n = bootstrap_of(ctx)
    if n <= 0:
        x = np.asarray(outcomes, dtype=np.float64)
        return MetricValue(value=float(statistic(x[None, :])[0]) if x.size else float("nan"), n=int(x.size))
    return metric_value(outcomes, statistic, n_resamples=n, seed=ctx.seed * 1000 + salt, clusters=clusters)


def spec_value(spec: ProtocolSpec, metric: str, outcomes: np.ndarray, ctx, *, salt: int = 0,
               clusters: np.ndarray | None = None) -> MetricValue:
    """``metric`` of per-sample ``outcomes`` by the statistic its spec declares, with its interval."""
    declared = spec.metric(metric)
    if declared is None:
        raise ValueError(f"protocol {spec.name} does not declare metric {metric!r}")
    return mv(outcomes, statistic_of(declared.statistic), ctx, salt=salt, clusters=clusters)


def rank_outcomes(result: RankResult, prefix: str) -> dict[str, np.ndarray]:
    """Per-query outcomes of one retrieval direction: the expected hit@K, and the expected 1-based rank
    (which MedR takes the median of and MeanR the mean of)."""
    rank = np.asarray(result.ranks, dtype=np.float64) + 1.0
    return {**{f"{prefix}R@{k}": np.asarray(h, dtype=np.float64) for k, h in result.hits.items()},
            f"{prefix}MedR": rank, f"{prefix}MeanR": rank}


def rank_metric_values(spec: ProtocolSpec, result: RankResult, prefix: str, ctx, *, salt: int = 0,
                       clusters: np.ndarray | None = None) -> dict[str, MetricValue]:
    """R@K, MedR and MeanR of one direction, with intervals."""
    salts = {**{f"{prefix}R@{k}": salt + i for i, k in enumerate(result.hits)},
             f"{prefix}MedR": salt + 50, f"{prefix}MeanR": salt + 51}
    return {m: spec_value(spec, m, o, ctx, salt=salts[m], clusters=clusters)
            for m, o in rank_outcomes(result, prefix).items()}


def select_metrics(values: dict[str, MetricValue], ctx) -> dict[str, MetricValue]:
    """Keep the task card's metrics (all of them when the card lists none we computed)."""
    wanted = [m for m in ctx.task.metrics if m in values]
    return {m: values[m] for m in wanted} if wanted else values


def sample_rows(ids: Sequence, outcomes: dict[str, np.ndarray], kept: dict[str, MetricValue]) -> list[dict]:
    """The side file's rows (``bench/sample_rows.py``): the outcomes of the metrics the result keeps."""
    return make_rows(ids, {m: outcomes[m] for m in kept if m in outcomes})


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
