"""The seam between the runner and the protocols.

The runner builds one :class:`ProtocolContext` per (model, task, seed) and calls
``tvts_bench.bench.protocols.PROTOCOLS[task.protocol](ctx) -> ProtocolOutput``. A protocol never opens
files or result folders itself: it asks ``ctx.features`` for cached frozen features, or ``ctx.loader``
for a DataLoader (fine-tuning), and returns metrics; the runner writes the result file.

Protocol keys: the card names ``protocols.specs()`` declares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol

import numpy as np

from ..data.preprocess import Preprocess
from ..data.records import DatasetIndex, VideoRecord
from ..zoo.base import VideoAdapter
from .result_schema import MetricValue
from .task_card import TaskCard

if TYPE_CHECKING:
    from rich.progress import Progress
    from torch.utils.data import DataLoader

Variant = Literal["normal", "shuffled", "repeated", "reversed"]
VARIANTS: tuple[str, ...] = ("normal", "shuffled", "repeated", "reversed")
# variant -> the loader's frame_op (temporal-sensitivity diagnostic)
FRAME_OPS: dict[str, str | None] = {"normal": None, "shuffled": "shuffle", "repeated": "repeat",
                                    "reversed": "reverse"}


@dataclass
class FeatureSet:
    """Frozen-encoder features of one split (one variant).

    Row ``i`` belongs to ``records[i]``; videos that failed to decode are dropped from both (and listed in
    ``failed`` as (video_id, error)). Multi-view features (clips x crops) are averaged into one row.
    """

    features: np.ndarray                    # [N, D] float32
    records: list[VideoRecord]
    labels: np.ndarray | None               # [N] int64 for classification datasets, else None
    views: int = 1                          # clips x crops averaged per row
    failed: list[tuple[str, str]] = field(default_factory=list)
    joint: bool = False                     # True: encode_video_joint (text-video space), else encode_video
    key: str = ""                           # the cache key these features were stored under
    tokens: bool = False                    # True: features are [N, L, D] float16 encoder tokens (attn)


class FeatureFn(Protocol):
    """``tokens=True``: the encoder's output tokens ``[N, L, D]`` (float16) instead of ``[N, D]`` features."""

    def __call__(self, split: str, variant: str = "normal", *, joint: bool = False,
                 tokens: bool = False) -> FeatureSet: ...


class LoaderFn(Protocol):
    """A ``tvts_bench.data.loader.ClipLoader`` over one split with the task's sampling and the model's
    preprocessing. ``shuffle`` defaults to ``train``; other keywords go to ``make_loader`` (``drop_last``,
    ``distributed``, ``pad``, ...). Unreadable videos are dropped from batches and counted by the runner
    (``ctx.decode_report``); call ``loader.set_epoch(e)`` every training epoch."""

    def __call__(self, split: str, train: bool, batch_size: int | None = None, clips: int = 1,
                 crops: int = 1, **loader_kwargs: Any) -> "DataLoader": ...


@dataclass
class ProtocolContext:
    task: TaskCard                          # task.params: the protocol parameters (already with overrides)
    adapter: VideoAdapter
    index: DatasetIndex                     # the dataset's records by split
    seed: int
    device: str                             # "cpu" or "cuda" / "cuda:N"
    features: FeatureFn                     # (split, variant="normal", *, joint=False) -> cached FeatureSet
    loader: LoaderFn                        # (split, train, batch_size=None, clips=1, crops=1) -> DataLoader
    progress: "Progress | None"             # add tasks to it for long loops; may be None (quiet)
    work_dir: Path                          # scratch for this (model, task, seed), e.g. ft checkpoints
    preprocess: Preprocess | None = None    # the adapter's Preprocess with the task's sampling applied
    batch_size: int = 8                     # default batch size (CLI --batch-size)
    workers: int = 0                        # DataLoader workers (CLI --workers)
    rank: int = 0                           # torch.distributed rank (0 when not distributed)
    world_size: int = 1
    log: Callable[[str], None] = print      # one-line messages for the user
    decode_report: Any = None               # data.loader.DecodeReport the runner's loaders update

    @property
    def is_main(self) -> bool:
        return self.rank == 0


@dataclass
class ProtocolOutput:
    metrics: dict[str, MetricValue]
    diagnostics: dict[str, dict[str, MetricValue]] = field(default_factory=dict)  # "shuffled" -> metrics
    # one row per test sample or query: {"sample_id": ..., <metric>: outcome, ...} (bench/sample_rows.py)
    per_sample: list[dict] = field(default_factory=list)
    clips: int = 0                                          # clips encoded or trained on, for clips/s
    extra: dict[str, Any] = field(default_factory=dict)     # chosen C, epochs run, ... -> provenance.extra
