"""The parameter building blocks the protocols share, and how a protocol's parameters are checked.

Each protocol's own typed model (with the only defaults) is declared with its spec in
``protocols/<module>_spec.py``, built from the pieces here. Torch-free (a no-op run decides skips
without importing torch). A task card's ``params`` and every ``--task-param`` override are checked
against the model of the card's protocol: an unknown key is an error that lists the valid ones, and a
value out of range (``ft.epochs=-1``, ``linear.C=-1``) is an error naming the field, before anything
runs. The card's own mapping is kept as written for the task hash, so validation changes no existing
hash.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MAX_SEEDS = 1000                       # a seed list or count beyond this is a typo, not a plan

PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]
Seeds = Union[Annotated[int, Field(ge=1, le=MAX_SEEDS)],
              Annotated[list[int], Field(min_length=1, max_length=MAX_SEEDS)]]
# frame-order variants of the test split scored beside the normal features (context.FRAME_OPS)
Diagnostic = Literal["shuffled", "repeated", "reversed"]
DIAGNOSTICS: tuple[str, ...] = get_args(Diagnostic)
# how a video's captions become text queries (metrics.build_text_queries): its first caption, every
# caption (MSVD), or all of them joined into one paragraph (DiDeMo)
QueryMode = Literal["first", "all", "paragraph"]
QUERY_MODES: tuple[str, ...] = get_args(QueryMode)


class CommonParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seeds: Seeds = 1
    bootstrap: int = Field(default=1000, ge=0, le=100_000)      # resamples for the 95 % interval; 0: none
    diagnostics: list[Diagnostic] = Field(default_factory=list)

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


class FrameOrderParams(CommonParams):
    """Protocols on frozen features score every frame-order variant unless a card says otherwise."""

    diagnostics: list[Diagnostic] = Field(default_factory=lambda: list(DIAGNOSTICS))


def check_params(protocol: str, params: dict) -> BaseModel:
    """Validate ``params`` for ``protocol`` (by name); ValueError with every problem and the valid keys."""
    from .protocols import spec_of

    return spec_of(protocol).parameters(params)


def validate_params(model: type[BaseModel], protocol: str, params: dict) -> BaseModel:
    """``params`` validated by ``model``; ValueError with every problem and, for unknown keys, the
    valid ones."""
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
