"""Model families register themselves here; the registry looks them up instead of branching on names.

Each ``zoo/<family>.py`` ends with one call::

    FAMILY = register_family(FamilySpec(
        name="frozen",                       # what a card's ``family`` field names
        summary="Frozen-in-Time / MCQ / MILES (SpaceTimeTransformer + DistilBERT)",
        load=load_frozen,                    # load(card, path, *, accept_unused) -> VideoAdapter
        formats=(FormatSpec("frozen-pth", "...", template="frozen-webvid2m-cc3m"),),
        detect=detect_frozen,                # detect(probe) -> a format name of this family, or None
        card_config=FrozenOptions,           # dataclass: the keys a card's ``config`` may hold
        example=example,                     # example(tmp_path) -> [Example]: a tiny checkpoint
    ))

The modules are listed once, in ``tvts_bench.zoo.FAMILY_MODULES``; the first lookup imports them (not
``import tvts_bench.zoo``: the data layer imports ``zoo.base`` and must not pull in every importer).

Detection (``detect``) runs the families' detectors in ``detect_order`` (lower first). A detector sees a
``Probe``: the path, its ``config.json`` (folders) or its contents read once by the restricted
unpickler (files), so several detectors never read a large file twice. Formats are owned by exactly one
family; ``card_formats`` lists the other ``weights.format`` values a family's cards may name (VideoMAE
V2 reads VideoMAE's ``videomae-pth`` layout).

The ``example`` hook builds a tiny random-weight checkpoint in the family's original layout;
``tests/test_zoo_families.py`` runs every registered family's examples through ``load_model``,
``check-model`` and an encode, so a new family is tested without writing a new test.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from ..errors import CheckpointError, ConfigError

# weights.format values every family accepts: detect from the files / no weights at all
GENERIC_FORMATS = ("auto", "none")


@dataclass(frozen=True)
class FormatSpec:
    """One on-disk layout a family reads."""

    name: str                          # e.g. "frozen-pth"; what detect() returns
    describes: str                     # for error hints: what such a file or folder looks like
    template: str | None = None        # the card whose description weights given by path take
    pins_training_data: bool = False   # the layout alone identifies one released checkpoint, so the
                                       # template's trained_on / paper_row hold for it (else "unknown")
    # A format that describes its own weights (this project's runs: the run's objective picks the
    # card) says how, instead of a template: card_for_path(path, cards) -> ModelCard for weights given
    # as the model; card_for_override(card, path, cards) -> ModelCard for --model CARD --checkpoint PATH.
    card_for_path: Callable[..., Any] | None = None
    card_for_override: Callable[..., Any] | None = None


@dataclass
class Example:
    """A tiny checkpoint a family's ``example`` hook wrote, and what loading it must give."""

    model: str                         # MODEL for load_model / check-model (a card name or a path)
    checkpoint: Path | None            # --checkpoint (None: MODEL is the path, or no weights needed)
    feature_dim: int
    frames: int
    size: int
    text: bool = False                 # the loaded model must have a text tower
    what: str = ""                     # which layout this example exercises
    env: dict[str, str] = dataclasses.field(default_factory=dict)   # environment the load needs


@dataclass(frozen=True)
class FamilySpec:
    """What a family declares about itself. See the module docstring."""

    name: str
    summary: str
    load: Callable[..., Any] | None    # load(card, path | None, *, accept_unused) -> VideoAdapter
    formats: tuple[FormatSpec, ...] = ()
    card_formats: tuple[str, ...] = ()
    detect: Callable[["Probe"], str | None] | None = None
    detect_order: int = 50
    card_config: type | None = None    # a dataclass; None: cards of this family take no config keys
    needs_weights: bool = True         # False: a random initialisation (no checkpoint to load)
    loads_by_name: bool = True         # False: no card of this family loads by name (user models)
    hf_model_types: tuple[str, ...] = ()   # config.json model_type values this family reads
    example: Callable[[Path], list[Example]] | None = None

    def format_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.formats) + tuple(self.card_formats)


_FAMILIES: dict[str, FamilySpec] = {}
_LOADED = [False]


def register_family(spec: FamilySpec) -> FamilySpec:
    """Add a family (called once, at the end of its module). A name or format defined twice is a bug."""
    if spec.name in _FAMILIES and _FAMILIES[spec.name] is not spec:
        raise RuntimeError(f"model family {spec.name!r} is registered twice")
    owners = {f.name: fam.name for fam in _FAMILIES.values() for f in fam.formats}
    for f in spec.formats:
        if owners.get(f.name, spec.name) != spec.name:
            raise RuntimeError(f"format {f.name!r} of family {spec.name!r} is already owned by "
                               f"family {owners[f.name]!r}")
    if spec.card_config is not None and not dataclasses.is_dataclass(spec.card_config):
        raise RuntimeError(f"family {spec.name!r}: card_config must be a dataclass")
    _FAMILIES[spec.name] = spec
    return spec


def _ensure_loaded() -> None:
    if _LOADED[0]:
        return
    from . import FAMILY_MODULES

    _LOADED[0] = True                  # set first: a family module's import may look families up
    try:
        for module in FAMILY_MODULES:
            importlib.import_module(f"{__package__}.{module}")
    except BaseException:
        _LOADED[0] = False             # a broken family module: fail again on the next lookup
        raise


def all_families() -> list[FamilySpec]:
    """Every registered family, in registration order."""
    _ensure_loaded()
    return list(_FAMILIES.values())


def family_names() -> list[str]:
    return [f.name for f in all_families()]


def get_family(name: str) -> FamilySpec:
    _ensure_loaded()
    spec = _FAMILIES.get(name)
    if spec is None:
        raise ConfigError(f"unknown model family {name!r}", hint=f"families: {', '.join(_FAMILIES)}")
    return spec


def format_owner(fmt: str) -> tuple[FamilySpec, FormatSpec]:
    """The family that detects format ``fmt``, and the format's description."""
    for fam in all_families():
        for f in fam.formats:
            if f.name == fmt:
                return fam, f
    raise ConfigError(f"unknown weights format {fmt!r}")


def hf_model_types() -> dict[str, str]:
    """config.json model_type -> the family that reads it."""
    return {t: fam.name for fam in all_families() for t in fam.hf_model_types}


# -- detection ----------------------------------------------------------------------------------------

class Probe:
    """What detectors look at, each part read at most once."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @cached_property
    def hf_config(self) -> dict | None:
        """A folder's config.json as a dict ({} if unreadable), None if there is none."""
        from .hf_config import read_config_json

        return read_config_json(self.path)

    @property
    def model_type(self) -> str | None:
        value = (self.hf_config or {}).get("model_type")
        return value if isinstance(value, str) else None

    @cached_property
    def content(self) -> Any:
        """A file's contents. External .pth files pickle more than tensors (a config object, training
        args), so they are read with the restricted unpickler, which refuses any pickle that asks to
        call something (UnsafePickleError propagates: nothing was run)."""
        from .safe_load import load_weight_file

        return load_weight_file(self.path, allow_restricted=True).content


def detect(path: Path) -> str:
    """The format of the weights at ``path``: the first family detector (by ``detect_order``) that
    claims it. Reads only what the detectors need; an unclaimed path is an error that lists what this
    benchmark reads."""
    probe = Probe(path)
    for fam in sorted(all_families(), key=lambda f: f.detect_order):
        if fam.detect is None:
            continue
        fmt = fam.detect(probe)
        if fmt is not None:
            if fmt not in {f.name for f in fam.formats}:
                raise RuntimeError(f"family {fam.name!r} detected undeclared format {fmt!r}")
            return fmt
    types = hf_model_types()
    if path.is_dir():
        kind = ""
        if probe.hf_config is not None:
            kind = (f" (model_type {probe.model_type!r})" if probe.hf_config
                    else " (config.json unreadable)")
        raise CheckpointError(
            f"{path}: not a model folder this benchmark can load{kind}",
            hint="supported: tvts-bench checkpoint/run folders, and HuggingFace folders whose "
                 f"config.json model_type is one of: {', '.join(sorted(types))}")
    files = [f.describes for fam in all_families() for f in fam.formats
             if not f.name.startswith("hf-") and f.name != "project"]
    raise CheckpointError(f"{path}: unknown checkpoint layout", hint="expected " + "; or ".join(files))


# -- card config schema -------------------------------------------------------------------------------

_ADAPTERS: dict[type, Any] = {}


def config_fields(spec: FamilySpec) -> list[str]:
    return [f.name for f in dataclasses.fields(spec.card_config)] if spec.card_config else []


def check_card_config(family: str, config: dict) -> list[str]:
    """Problems with a card's ``config`` for ``family``: "field 'config.KEY': why", one per problem."""
    from pydantic import TypeAdapter, ValidationError

    spec = get_family(family)
    known = config_fields(spec)
    problems = [f"field 'config.{k}': not a config key of family {family!r} "
                f"(its keys: {', '.join(known) or 'none'})" for k in config if k not in known]
    if problems or spec.card_config is None or not config:
        return problems
    adapter = _ADAPTERS.get(spec.card_config)
    if adapter is None:
        adapter = _ADAPTERS[spec.card_config] = TypeAdapter(spec.card_config)
    try:
        adapter.validate_python(dict(config))
    except ValidationError as e:
        for err in e.errors():
            where = ".".join(str(x) for x in err["loc"])
            problems.append(f"field 'config.{where}': {err['msg']}")
    return problems


def check_card_format(family: str, fmt: str) -> str | None:
    """A problem with a card's ``weights.format`` for ``family``, or None."""
    spec = get_family(family)
    allowed = GENERIC_FORMATS + spec.format_names()
    if fmt in allowed:
        return None
    return (f"field 'weights.format': {fmt!r} is not a format of family {family!r} "
            f"(its formats: {', '.join(allowed)})")


__all__ = ["Example", "FamilySpec", "FormatSpec", "Probe", "all_families", "check_card_config",
           "check_card_format", "detect", "family_names", "format_owner", "get_family",
           "hf_model_types", "register_family"]
