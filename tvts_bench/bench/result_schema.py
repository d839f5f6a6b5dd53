"""The result file: one JSON per (model, task, seed). The report reads only these files.

Written by ``tvts_bench.bench`` (atomically), read by ``tvts_bench.report``. Bump
``SCHEMA_VERSION`` on any incompatible change; readers refuse versions they do not know.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetricValue(_Strict):
    value: float
    ci_low: float | None = None     # bootstrap percentile interval (95 % unless ci_level says otherwise)
    ci_high: float | None = None
    ci_level: float = 0.95
    n: int | None = None            # number of queries / test samples behind the value


class ModelInfo(_Strict):
    name: str                       # card name (or user model spec)
    family: str                     # tvts, videomae, clip, scratch, user
    weights_hash: str               # content hash of the weights actually used
    checkpoint: str | None = None   # where the weights came from
    trained_on: list[str] = Field(default_factory=list)  # dataset short names, for contamination badges
    paper_row: str | None = None    # the paper's row this model corresponds to, if any
    num_params: int | None = None
    card: dict = Field(default_factory=dict)
    # checkpoint tensors the model did not use, loaded only because the run accepted them
    # (--accept-unused-tensors); empty for a fully used checkpoint
    unused_tensors: list[str] = Field(default_factory=list)


class TaskInfo(_Strict):
    name: str                       # e.g. ssv2-linear
    dataset: str                    # short name
    protocol: str                   # a protocol's card name (bench/protocols/*_spec.py)
    hash: str                       # hash of every protocol parameter that changes a number
    main_metric: str                # key into metrics, e.g. top1, R@1
    card: dict = Field(default_factory=dict)

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, value: str) -> str:
        from .protocols import known_protocol       # the registry loads the protocols' declarations

        return known_protocol(value)


class DataInfo(_Strict):
    source: Literal["builtin", "real"]
    root: str
    manifest_hash: str
    listed: int
    missing: int                    # listed but not on disk
    unreadable: int = 0             # on disk but failed to decode
    unreadable_videos: list[str] = Field(default_factory=list)


class Provenance(_Strict):
    tvts_bench_version: str
    git_sha: str | None = None
    torch_version: str
    device: str                     # e.g. "cpu (2 cores, Intel ...)" or "cuda:0 NVIDIA H100"
    hostname: str | None = None
    started_at: str                 # ISO 8601 UTC
    finished_at: str
    seconds: float
    clips_per_second: float | None = None
    extra: dict = Field(default_factory=dict)


class ResultRecord(_Strict):
    schema_version: int = SCHEMA_VERSION
    model: ModelInfo
    task: TaskInfo
    seed: int
    metrics: dict[str, MetricValue]
    # Temporal-sensitivity diagnostic: variant name ("shuffled", "repeated") -> metrics.
    diagnostics: dict[str, dict[str, MetricValue]] = Field(default_factory=dict)
    per_sample_file: str | None = None   # side file (relative to this JSON): bench/sample_rows.py
    data: DataInfo
    provenance: Provenance

    @model_validator(mode="after")
    def _metrics_are_declared(self) -> "ResultRecord":
        """Every metric is one its protocol declares, so a reader knows its direction and statistic
        from the declaration and never from the name."""
        from .protocols import spec_of

        spec = spec_of(self.task.protocol)
        names = [self.task.main_metric, *self.metrics, *(m for d in self.diagnostics.values() for m in d)]
        undeclared = sorted({m for m in names if spec.metric(m) is None})
        if undeclared:
            raise ValueError(f"metric(s) {undeclared} are not declared by protocol {self.task.protocol} "
                             f"(it declares {', '.join(m.name for m in spec.metrics)})")
        return self
