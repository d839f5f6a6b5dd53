"""The parameters each protocol accepts: typed, range-checked, validated when a task card loads.

Torch-free (a no-op run decides skips without importing torch). A task card's ``params`` and every
``--task-param`` override are checked against the model of the card's protocol: an unknown key is an
error that lists the valid ones, and a value out of range (``ft.epochs=-1``, ``linear.C=-1``) is an
error naming the field, before anything runs. The card's own mapping is kept as written for the task
hash, so validation changes no existing hash.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MAX_SEEDS = 1000                       # a seed list or count beyond this is a typo, not a plan

PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]


class CommonParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seeds: Union[Annotated[int, Field(ge=1, le=MAX_SEEDS)], Annotated[list[int], Field(min_length=1,
                                                                                         max_length=MAX_SEEDS)]] = 1
    bootstrap: int = Field(default=1000, ge=0, le=100_000)      # resamples for the 95 % interval; 0: none
    diagnostics: list[Literal["shuffled", "repeated", "reversed"]] = Field(default_factory=list)

    @field_validator("diagnostics", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class LowShotParams(BaseModel):
    """A class-balanced part of the train split (protocols/_lowshot.py): a fraction of every class or
    a number of videos per class, drawn ``subsets`` times (seeds subset_seed, subset_seed + 1, ...)."""

    low_shot: Annotated[float, Field(gt=0, le=1)] | None = None
    shots: Annotated[int, Field(ge=1)] | None = None
    subsets: int = Field(default=3, ge=1, le=100)
    subset_seed: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _one_size(self) -> "LowShotParams":
        if self.low_shot is not None and self.shots is not None:
            raise ValueError("low_shot (a fraction of each class) and shots (videos per class) exclude "
                             "each other: give one")
        return self


class LinearParams(CommonParams, LowShotParams):
    seeds: Union[Annotated[int, Field(ge=1, le=MAX_SEEDS)], Annotated[list[int], Field(min_length=1,
                                                                                         max_length=MAX_SEEDS)]] = 3
    C: Union[PositiveFloat, Annotated[list[PositiveFloat], Field(min_length=1)]] = Field(
        default_factory=lambda: [0.001, 0.01, 0.1, 1.0, 10.0, 100.0])
    val_fraction: float = Field(default=0.2, gt=0, lt=1)
    max_iter: int = Field(default=1000, ge=1, le=1_000_000)
    standardize: bool = True


class KnnParams(CommonParams, LowShotParams):
    ks: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [10, 20], min_length=1)
    temperature: PositiveFloat = 0.07


class AttnParams(CommonParams):
    """The V-JEPA attentive probe (protocols/attn.py): lists of lr / weight_decay are a grid searched on
    a held-out part of train."""

    lr: Union[PositiveFloat, Annotated[list[PositiveFloat], Field(min_length=1)]] = 1e-3
    weight_decay: Union[Annotated[float, Field(ge=0)], Annotated[list[Annotated[float, Field(ge=0)]],
                                                                  Field(min_length=1)]] = 0.01
    epochs: int = Field(default=20, ge=1, le=100_000)
    warmup_epochs: float = Field(default=0, ge=0)
    batch_size: int = Field(default=32, ge=1)
    grad_clip: PositiveFloat = 1.0
    val_fraction: float = Field(default=0.2, gt=0, lt=1)
    heads: int | None = Field(default=None, ge=1)               # None: 16, 12, 8, ... dividing the width
    mlp_ratio: PositiveFloat = 4.0


class V2VParams(CommonParams):
    ks: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1, 5, 10], min_length=1)
    index: Literal["flat-ip", "exact", "ivf", "hnsw"] = "flat-ip"


class RetParams(CommonParams):
    captions: Literal["first", "all", "paragraph"] = "first"


class _Training(BaseModel):
    epochs: int = Field(default=3, ge=1, le=100_000)
    warmup_epochs: float = Field(default=1, ge=0)
    batch_size: int | None = Field(default=None, ge=1)          # None: the run's --batch-size
    lr: PositiveFloat = 1e-3
    min_lr: float = Field(default=1e-6, ge=0)
    weight_decay: float = Field(default=0.05, ge=0)


class FtParams(CommonParams, _Training):
    layer_decay: float = Field(default=0.75, gt=0, le=1)
    drop_path: Fraction = 0.1
    mixup: float = Field(default=0.8, ge=0)
    cutmix: float = Field(default=1.0, ge=0)
    label_smoothing: Fraction = 0.1
    randaug: str | None = None
    reprob: float = Field(default=0.25, ge=0, le=1)
    flip: bool = True
    head_only: bool = False
    val_fraction: Fraction = 0.0
    # calibration (docs/calibration.md): train and test on shuffled frames, or train a frame-averaged
    # image ViT of the backbone's size from scratch; and score v2v on the fine-tuned features
    frames: Literal["normal", "shuffled", "frame-average"] = "normal"
    trained_v2v: bool = False
    architecture: Literal["model", "cnn3d"] = "model"     # cnn3d: a small 3D CNN from scratch (nn/cnn3d.py)


class RetFtParams(RetParams, _Training):
    epochs: int = Field(default=2, ge=1, le=100_000)
    warmup_epochs: float = Field(default=0, ge=0)
    lr: PositiveFloat = 3e-5
    min_lr: float = Field(default=0.0, ge=0)
    weight_decay: float = Field(default=0.01, ge=0)
    head_lr: PositiveFloat | None = None                        # None: 10 x lr
    temperature: Union[PositiveFloat, Literal["learnable"]] = 0.05
    train_captions: Literal["random", "first"] = "random"
    embed_dim: int = Field(default=256, ge=1, le=65_536)


PARAMS: dict[str, type[CommonParams]] = {"linear": LinearParams, "knn": KnnParams, "attn": AttnParams,
                                         "v2v": V2VParams,
                                         "ret": RetParams, "ft": FtParams, "ret-ft": RetFtParams}


def check_params(protocol: str, params: dict) -> CommonParams:
    """Validate ``params`` for ``protocol``; raise ValueError with every problem and the valid keys."""
    model = PARAMS[protocol]
    try:
        return model.model_validate(params)
    except ValidationError as e:
        by_field: dict[str, list[dict]] = {}
        for err in e.errors():
            by_field.setdefault(str(err["loc"][0]) if err["loc"] else "", []).append(err)
        problems = []
        for field, errs in by_field.items():
            if any(err["type"] == "extra_forbidden" for err in errs):
                problems.append(f"unknown parameter {field!r} for protocol {protocol} "
                                f"(valid: {', '.join(sorted(model.model_fields))})")
                continue
            # A union (a number or a list of numbers) reports one error per branch: keep the branch
            # whose error is about the value, not about its type.
            about_value = [err for err in errs if not err["type"].endswith(("_type", "_parsing"))] or errs
            err = about_value[0]
            if not field:            # a rule across fields (low_shot with shots)
                problems.append(f"params: {err['msg'].removeprefix('Value error, ')}")
                continue
            problems.append(f"params.{field}: {err['msg'].lower()} (got {str(err.get('input'))[:80]})")
        raise ValueError("; ".join(problems)) from None
