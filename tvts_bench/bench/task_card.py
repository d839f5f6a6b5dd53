"""The task card: what one evaluation task is, validated, with a hash of everything that changes a number.

Cards are YAML files in ``tasks/`` (see ``registry.py`` for ``include:`` inheritance). After includes
are resolved, the merged mapping is validated by :class:`TaskCard`; errors name the file and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError
from ..hashing import sha256_json

if TYPE_CHECKING:
    from .protocol_spec import ProtocolSpec

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Splits(_Strict):
    train: str                      # where a classifier / fine-tuning learns (and selects hyper-parameters)
    test: str                       # where the reported number is measured; never used for selection


class Sampling(_Strict):
    """How clips are taken from each video. ``None`` means "what the model's Preprocess says"."""

    frames: int | None = Field(default=None, ge=1)
    mode: Literal["tsn", "dense"] = "tsn"
    stride: int | None = Field(default=None, ge=1)      # dense sampling only
    clips: int = Field(default=1, ge=1)                 # temporal views at test time
    crops: int = Field(default=1, ge=1)                 # spatial views at test time (1 centre or 3)
    size: int | None = Field(default=None, ge=8)
    short_side: int | None = Field(default=None, ge=8)

    @model_validator(mode="after")
    def _check(self) -> "Sampling":
        if self.crops not in (1, 3):
            raise ValueError("crops must be 1 (centre) or 3 (left/centre/right)")
        if self.stride is not None and self.mode != "dense":
            raise ValueError("stride is only used with mode: dense")
        return self


class TaskCard(_Strict):
    name: str
    dataset: str
    protocol: str                   # a protocol's card name (bench/protocols/*_spec.py)
    splits: Splits
    sampling: Sampling = Sampling()
    metrics: list[str]
    main_metric: str
    params: dict[str, Any] = Field(default_factory=dict)          # protocol parameters
    reader_options: dict[str, Any] = Field(default_factory=dict)  # e.g. {split: 1} for UCF101 / HMDB51
    description: str = ""
    paper: str | None = None        # which table of the paper this task reproduces, if any
    source: str | None = None       # the card file (not part of the hash)

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        from ..data.readers import known_dataset      # the registry collects the readers' declarations

        return known_dataset(value)

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, value: str) -> str:
        from .protocols import known_protocol       # the registry loads the protocols' declarations

        return known_protocol(value)

    @field_validator("metrics")
    @classmethod
    def _some_metric(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one metric is needed")
        return value

    @model_validator(mode="after")
    def _main_in_metrics(self) -> "TaskCard":
        if self.main_metric not in self.metrics:
            raise ValueError(f"main_metric {self.main_metric!r} is not one of metrics {self.metrics}")
        return self

    @model_validator(mode="after")
    def _fits_the_dataset(self) -> "TaskCard":
        from ..data.readers import dataset_spec

        spec = dataset_spec(self.dataset)
        for role, split in self.splits.model_dump().items():
            if split not in spec.splits:
                raise ValueError(f"splits.{role}: {self.dataset} has no split {split!r}; its splits: "
                                 f"{', '.join(spec.splits)}")
        unknown = [k for k in self.reader_options if k not in spec.options()]
        if unknown:
            raise ValueError(f"reader_options: {self.dataset} has no option {', '.join(map(repr, unknown))}; "
                             f"its options: {', '.join(spec.options()) or 'none'}")
        return self

    @model_validator(mode="after")
    def _params_and_metrics_fit_the_protocol(self) -> "TaskCard":
        spec = self.spec
        params = spec.parameters(self.params)
        computed = spec.metric_names(params)
        missing = [m for m in self.metrics if m not in computed]
        # a member of a {k} family whose k the parameters do not list (top1@k30 with ks [10, 20])
        orphans = [m for m in missing if spec.metric(m) is not None and spec.metric(m).k_of(m) is not None]
        if orphans:
            ks = getattr(params, spec.k_param)
            raise ValueError(f"metric(s) {orphans} need their k in params.{spec.k_param} (got {ks}): add the k "
                             f"to params.{spec.k_param} or drop the metric")
        if missing:
            raise ValueError(f"unknown metric(s) {missing} for protocol {self.protocol}; it computes "
                             f"{', '.join(computed)} with these params")
        return self

    @property
    def spec(self) -> "ProtocolSpec":
        """The declaration of the card's protocol."""
        from .protocols import spec_of

        return spec_of(self.protocol)

    def identity(self) -> dict:
        """Every field that changes a number (the name, description, paper and source do not)."""
        return {
            "dataset": self.dataset,
            "protocol": self.protocol,
            "splits": self.splits.model_dump(),
            "sampling": self.sampling.model_dump(),
            "metrics": sorted(self.metrics),
            "params": self.params,
            "reader_options": self.reader_options,
        }

    @property
    def hash(self) -> str:
        return sha256_json(self.identity())

    def as_dict(self) -> dict:
        """The resolved card, as written into result files."""
        return self.model_dump(exclude={"source"})

    def with_params(self, **overrides: Any) -> "TaskCard":
        """A copy with some protocol parameters replaced (the hash changes accordingly)."""
        return self.model_copy(update={"params": {**self.params, **overrides}})


def validate_card(data: dict, source: Path | str | None, *, origins: dict[str, Path] | None = None) -> TaskCard:
    """Validate a merged card mapping; on error name the file and the field (and, when the field came
    from an included card, the file that set it)."""
    data = dict(data)
    if source is not None:
        data.setdefault("source", str(source))
    try:
        return TaskCard.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(card)"
        problems = "; ".join(
            (f"{'.'.join(str(p) for p in err['loc'])}: " if err["loc"] else "")
            + str(err["msg"]).removeprefix("Value error, ") for err in e.errors())
        where = ""
        if origins:
            parts = [str(p) for p in first["loc"]]
            origin = origins.get(".".join(parts[:2])) or origins.get(parts[0] if parts else "")
            if origin is not None and str(origin) != str(source):
                where = f" (set in {origin})"
        raise ConfigError(f"{source or 'task card'}: invalid task card {data.get('name', '?')!r}"
                          + (f", field {field!r}{where}" if first["loc"] else "") + f": {problems}",
                          hint="fix the --task-param value" if str(source).startswith("--task-param")
                          else "fix the field in the card (or in the card it includes)") from None
