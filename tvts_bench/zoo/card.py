"""Model cards: one YAML file per model in ``models/``, validated on load.

A card says what a model is (family, feature), where its weights come from, how its input clips are
prepared, and which datasets it has seen (the leaderboard's contamination badge compares these short
names with each task's dataset). Errors name the file and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError
from .base import IMAGENET_MEAN, IMAGENET_STD, Preprocess

WEIGHT_SOURCES = ("builtin-run", "local", "random")
# Families and the weight formats each reads are not listed here: every ``zoo/<family>.py`` registers
# itself (``zoo/families.py``), and a card is checked against its family's declaration: ``family`` must
# be registered, ``weights.format`` one of the family's formats (or "auto": detect from the files;
# "none"), and ``config`` may hold only the keys of the family's config dataclass, with their types.

_SHORT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeightsSpec(_Strict):
    """Where a model's weights come from."""

    source: Literal["builtin-run", "local", "random"]
    run: str | None = None          # builtin-run: the run folder name under $TVTS_BENCH_HOME/runs/
    path: str | None = None         # local: default location (``~`` and ``$VARS`` expand); else --checkpoint
    format: str = "auto"            # one of the family's formats (checked on load), "auto" or "none"
    seed: int | None = None         # random: the initialisation seed
    hint: str                       # how a user gets these weights, shown when they are missing

    @field_validator("format")
    @classmethod
    def _format(cls, v: str) -> str:
        if not _SHORT_NAME.match(v):
            raise ValueError("must be lower-case letters, digits, '-', '_' or '.'")
        return v

    @model_validator(mode="after")
    def _source_fields(self) -> "WeightsSpec":
        if self.source == "builtin-run" and not self.run:
            raise ValueError("source 'builtin-run' needs 'run' (the run folder name)")
        if self.source == "random" and self.seed is None:
            raise ValueError("source 'random' needs 'seed'")
        return self


class PreprocessSpec(_Strict):
    """The clip a model expects. For built-in runs the checkpoint's own values win (these are defaults).

    ``short_side`` is the evaluation resize: the short side of every frame is resized to it, then a
    ``size`` crop is taken. It must be the resize of the model's own evaluation code, and
    ``resize_source`` says where that is (repository and file, e.g. ``github.com/MCG-NJU/VideoMAE
    run_class_finetuning.py --short_side_size (default 224)``); cards of external weights must give
    it. Importers scale ``short_side`` with the checkpoint's crop size (``short_side / size``).
    """

    frames: int = Field(gt=0)
    size: int = Field(gt=0)
    short_side: int = Field(gt=0)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    resize_source: str | None = None   # where the evaluation resize comes from (repository + file)

    @model_validator(mode="after")
    def _sizes(self) -> "PreprocessSpec":
        if self.short_side < self.size:
            raise ValueError(f"short_side ({self.short_side}) must be >= size ({self.size})")
        if any(s <= 0 for s in self.std):
            raise ValueError("std values must be positive")
        if self.resize_source is not None and not self.resize_source.strip():
            raise ValueError("resize_source must name the repository and file of the model's own "
                             "evaluation resize (or be left out)")
        return self

    def to_preprocess(self) -> Preprocess:
        return Preprocess(num_frames=self.frames, size=self.size, short_side=self.short_side,
                          mean=tuple(self.mean), std=tuple(self.std))

    @classmethod
    def from_preprocess(cls, p: Preprocess) -> "PreprocessSpec":
        return cls(frames=p.num_frames, size=p.size, short_side=p.short_side, mean=tuple(p.mean),
                   std=tuple(p.std))


class ModelCard(_Strict):
    name: str
    family: str                     # a registered family (zoo/families.py; `tvts-bench list models`)
    description: str
    weights: WeightsSpec
    preprocess: PreprocessSpec
    feature: str                    # which token / pooling gives the clip feature
    trained_on: list[str]           # dataset short names (contamination badges); [] = nothing / unknown
    paper_row: str | None = None    # the paper table row this model corresponds to, if any
    text_tower: bool = False
    # Family-specific architecture options (e.g. num_heads for a .pth without a config, a text model
    # folder for the authors' TVTS checkpoint). Each family module documents its keys.
    config: dict[str, Any] = Field(default_factory=dict)
    source_file: str | None = Field(default=None, exclude=True)  # the YAML file it came from

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _SHORT_NAME.match(v):
            raise ValueError("must be lower-case letters, digits, '-', '_' or '.'")
        return v

    @field_validator("family")
    @classmethod
    def _family(cls, v: str) -> str:
        from .families import family_names

        names = family_names()
        if v not in names:
            raise ValueError(f"unknown family {v!r} (registered: {', '.join(names)})")
        return v

    @field_validator("trained_on")
    @classmethod
    def _datasets(cls, v: list[str]) -> list[str]:
        bad = [d for d in v if not _SHORT_NAME.match(d)]
        if bad:
            raise ValueError(f"dataset short names must be lower-case (got {bad})")
        return v

    @model_validator(mode="after")
    def _resize_source(self) -> "ModelCard":
        # Weights trained elsewhere are evaluated at their own code's resize; the card must say where
        # that number comes from, so it can be checked.
        from .families import get_family

        spec = get_family(self.family)
        if self.weights.source == "local" and spec.needs_weights and spec.loads_by_name \
                and not self.preprocess.resize_source:
            raise ValueError("preprocess.resize_source is required for external weights: name the "
                             "repository and file whose evaluation resize short_side copies")
        return self

    def weights_summary(self) -> str:
        """One line for listings: where the weights come from."""
        w = self.weights
        if w.source == "builtin-run":
            return f"runs/{w.run} (newest checkpoint)"
        if w.source == "random":
            return f"random init (seed {w.seed})"
        return f"local {w.format}: " + (w.path or f"--checkpoint or weights/{self.name}/")

    def for_report(self) -> dict:
        """The card as plain data, for ResultRecord.model.card."""
        return self.model_dump(mode="json", exclude={"source_file"})


def _format_validation_error(path: Path, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        field = ".".join(str(x) for x in e["loc"]) or "(card)"
        parts.append(f"field {field!r}: {e['msg']}")
    return f"{path}: invalid model card: " + "; ".join(parts)


def parse_card(data: Any, path: Path | str) -> ModelCard:
    """Validate one card's data; errors name the file and every bad field."""
    path = Path(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a model card must be a YAML mapping, got {type(data).__name__}")
    try:
        card = ModelCard.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(path, e),
                          hint="see models/tvts.yaml for a complete card") from None
    # The family's own declaration: which weight formats it reads, which config keys it takes.
    from .families import check_card_config, check_card_format

    problems = check_card_config(card.family, card.config)
    fmt_problem = check_card_format(card.family, card.weights.format)
    if fmt_problem:
        problems.insert(0, fmt_problem)
    if problems:
        raise ConfigError(f"{path}: invalid model card: " + "; ".join(problems),
                          hint=f"the keys and formats of family {card.family!r} are in "
                               f"tvts_bench/zoo/ (its config dataclass); docs/model_families.md")
    return card.model_copy(update={"source_file": str(path)})


def load_card_file(path: Path | str) -> ModelCard:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})",
                          hint="save the model card as UTF-8") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a model card") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML ({getattr(e, 'problem', e)})") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read model card ({e.strerror})") from None
    card = parse_card(data, path)
    if card.name != path.stem:
        raise ConfigError(f"{path}: field 'name' is {card.name!r} but the file is named {path.stem!r}",
                          hint="a card's file name must be <name>.yaml")
    return card
