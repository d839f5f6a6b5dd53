"""Model registry: cards, where each model's weights are, and ``load_model(spec)``.

``spec`` is, first match wins:

1. ``path/to/file.py:factory`` (a user model, see ``user.py``);
2. a card name (``models/*.yaml``, plus cards in ``$TVTS_BENCH_HOME/models/`` and the folders in
   ``$TVTS_BENCH_MODELS``, separated by ``os.pathsep``);
3. an existing path: a tvts-bench checkpoint or run folder, a HuggingFace folder of a model type a
   family reads, or a checkpoint file in a registered family's layout (the format is detected by the
   families' detectors, ``zoo/families.py``);
4. an entry point name in the group ``tvts_bench.models``.

``checkpoint`` swaps in other weights of the card's family (e.g. ``--model tvts --checkpoint
TVTS_vitb.pth``). Weights of a card are looked for in order: ``checkpoint``; for built-in runs the
newest complete checkpoint of ``$TVTS_BENCH_HOME/runs/<run>``; for local weights the card's
``weights.path`` and ``$TVTS_BENCH_HOME/weights/<name>/``. When none is there, the error says where it
looked and how to get them.

Every importer accounts for each tensor of the checkpoint (``importing.ImportReport``). A checkpoint
with tensors the model would not use is refused (``CheckpointError`` naming them) unless the caller
passes ``accept_unused=True`` (``--accept-unused-tensors``); the accepted keys stay readable as
``adapter.import_report.unused`` / ``adapter.unused_tensors`` and go into the results
(``model_info()["unused_tensors"]``). Missing tensors are always an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CheckpointError, ConfigError, MissingPathError
from ..home import home_dir, models_dirs, runs_dir
from .base import VideoAdapter
from .card import ModelCard, load_card_file
from .importing import refuse_unused

WEIGHT_FILE_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".ckpt", ".tar")


def load_cards(dirs: list[Path] | None = None) -> dict[str, ModelCard]:
    """Every card, validated; a name defined twice is an error naming both files."""
    cards: dict[str, ModelCard] = {}
    for folder in (dirs if dirs is not None else models_dirs()):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
            card = load_card_file(path)
            if card.name in cards:
                raise ConfigError(f"{path}: model name {card.name!r} is already defined in "
                                  f"{cards[card.name].source_file}", hint="rename one of the cards")
            cards[card.name] = card
    return dict(sorted(cards.items()))


# -- where the weights are ----------------------------------------------------------------------------

@dataclass
class WeightsLocation:
    path: Path | None                       # what to load (None: not found, or random init)
    looked: list[str] = field(default_factory=list)   # "where (why not)" for each place tried

    @property
    def found(self) -> bool:
        return self.path is not None


def _weights_in_folder(folder: Path) -> Path | None:
    """A weights folder holds an HF/project folder, or exactly one weight file."""
    if (folder / "config.json").is_file() or (folder / "checkpoints").is_dir():
        return folder
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in WEIGHT_FILE_SUFFIXES)
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and (p / "config.json").is_file())
    found = files + subdirs
    return found[0] if len(found) == 1 else None


def locate_weights(card: ModelCard, checkpoint: str | Path | None = None) -> WeightsLocation:
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if not path.exists():
            raise MissingPathError(path, f"checkpoint for model {card.name!r}", hint=card.weights.hint)
        return WeightsLocation(path.resolve(), [str(path)])
    w = card.weights
    if w.source == "random":
        return WeightsLocation(None, ["random initialisation (no weights needed)"])
    looked: list[str] = []
    if w.source == "builtin-run":
        from .project import latest_checkpoint

        run = runs_dir() / str(w.run)
        if not run.is_dir():
            looked.append(f"{run} (no such run folder)")
            return WeightsLocation(None, looked)
        ckpt = latest_checkpoint(run)
        if ckpt is None:
            looked.append(f"{run / 'checkpoints'} (no complete checkpoint yet)")
            return WeightsLocation(None, looked)
        return WeightsLocation(ckpt, [str(ckpt)])
    candidates = []
    if w.path:
        candidates.append(Path(os.path.expandvars(w.path)).expanduser())
    candidates.append(home_dir() / "weights" / card.name)
    for cand in candidates:
        if not cand.exists():
            looked.append(f"{cand} (missing)")
        elif cand.is_file():
            return WeightsLocation(cand.resolve(), [str(cand)])
        else:
            inner = _weights_in_folder(cand)
            if inner is None:
                looked.append(f"{cand} (no config.json and not exactly one weight file)")
            else:
                return WeightsLocation(inner.resolve(), [str(cand)])
    return WeightsLocation(None, looked)


def missing_weights_error(card: ModelCard, where: WeightsLocation) -> CheckpointError:
    hint = card.weights.hint
    if card.weights.source == "builtin-run":
        # `pretrain --preset tiny` and ablation flags write runs/<run>-<suffix>: point at them
        root = runs_dir()
        others = sorted(p.name for p in root.glob(f"{card.weights.run}-*")
                        if p.is_dir() and (p / "checkpoints").is_dir()) if root.is_dir() else []
        if others:
            hint += (f"; other runs here: {', '.join(others)} (use --checkpoint {root / others[0]} "
                     f"or --model {root / others[0]})")
    return CheckpointError(
        f"model {card.name!r}: weights are not on this machine; looked in: " + "; ".join(where.looked),
        hint=hint)


@dataclass
class ModelListing:
    card: ModelCard
    available: bool
    location: str | None             # the weights that would load, or None
    looked: list[str]


def list_models() -> list[ModelListing]:
    """Every card with whether its weights are here (for ``tvts-bench list models``)."""
    rows = []
    for card in load_cards().values():
        where = locate_weights(card)
        available = where.found or card.weights.source == "random"
        rows.append(ModelListing(card, available, str(where.path) if where.path else None, where.looked))
    return rows


# -- loading ------------------------------------------------------------------------------------------

def _load_card(card: ModelCard, path: Path | None, accept_unused: bool = False) -> VideoAdapter:
    """Load ``card`` through its family's registered loader (``zoo/families.py``)."""
    from .families import get_family

    spec = get_family(card.family)
    if not spec.loads_by_name or spec.load is None:
        raise ConfigError(f"{card.source_file}: field 'family': {card.family!r} cards cannot be loaded "
                          "by name", hint="user models load with --model path/to/file.py:factory")
    if spec.needs_weights and path is None:
        raise CheckpointError(f"model {card.name!r}: no weights given")
    return spec.load(card, path, accept_unused=accept_unused)


def detect_format(path: Path) -> str:
    """The format of the weights at ``path`` (a registered family's format, e.g. ``project``,
    ``hf-videomae``, ``tvts-authors``, ``frozen-pth``); reads only what the families' detectors need."""
    from .families import detect

    return detect(path)


def _template_for(fmt: str, cards: dict[str, ModelCard]) -> tuple[ModelCard | None, bool]:
    """(the card describing weights of format ``fmt`` given by path, whether the format pins down the
    training data), from the format's registration."""
    from .families import format_owner

    _, spec = format_owner(fmt)
    if spec.template is None or spec.template not in cards:
        raise ConfigError(f"no card describes weights of format {fmt!r} given by path",
                          hint="pass --model CARD --checkpoint PATH with a card of the format's family")
    return cards[spec.template], spec.pins_training_data


def _external_card(template: ModelCard, fmt: str, path: Path, name: str, known: bool) -> ModelCard:
    # Only a format that identifies one released file (the authors' TVTS checkpoint) pins down the
    # training data; any other folder/file could hold weights trained on anything, so the
    # contamination badge says "unknown".
    return template.model_copy(update={
        "name": name,
        "weights": template.weights.model_copy(update={"source": "local", "path": str(path), "run": None}),
        "trained_on": list(template.trained_on) if known else ["unknown"],
        "paper_row": template.paper_row if known else None,
        "description": f"{template.family} weights from {path} (format {fmt})"})


def card_for_path(path: Path, cards: dict[str, ModelCard]) -> ModelCard:
    """A card for weights given by path: the format's own description when it has one (this project's
    runs), else the format's template card, renamed after the path."""
    from .families import format_owner

    fmt = detect_format(path)
    spec = format_owner(fmt)[1]
    if spec.card_for_path is not None:
        return spec.card_for_path(path, cards)
    template, known = _template_for(fmt, cards)
    return _external_card(template, fmt, path, path_name(path.stem if path.is_file() else path.name, cards),
                          known)


def card_for_override(card: ModelCard, path: Path, cards: dict[str, ModelCard]) -> ModelCard:
    """``--model <built-in run card> --checkpoint PATH``: a card that says which weights these are.

    A format with its own rule applies it (this project's checkpoints: ``project.card_for_override``);
    external weights (the authors' file, a HF folder, a .pth) take the external card's description of
    them, named ``<card>-<file stem>``, so results never mix rows.
    """
    from .families import format_owner

    fmt = detect_format(path)
    spec = format_owner(fmt)[1]
    if spec.card_for_override is not None:
        return spec.card_for_override(card, path, cards)
    template = cards.get(spec.template) if spec.template else None
    if template is None or template.family != card.family:
        return card   # the family's loader explains why this file does not fit
    return _external_card(template, fmt, path,
                          path_name(f"{card.name}-{path.stem if path.is_file() else path.name}", cards),
                          spec.pins_training_data)


def path_name(text: str, cards: dict[str, ModelCard]) -> str:
    """A result name for weights given by path; never the name of a card (that would mix rows)."""
    from .user import _card_name

    name = _card_name(text)
    return name if name not in cards else f"{name}-local"


def _checked(adapter: VideoAdapter, accept_unused: bool) -> VideoAdapter:
    """The same rule for adapters that did not come from a zoo importer (user factories)."""
    report = getattr(adapter, "import_report", None)
    if report is not None and getattr(report, "unused", None) \
            and not getattr(report, "accepted_unused", False):
        refuse_unused(report, accept_unused)
    return adapter


def load_model(spec: str, checkpoint: str | Path | None = None, device: str = "cpu", *,
               accept_unused: bool = False) -> VideoAdapter:
    """Load a model for evaluation (eval mode, on ``device``). See the module docstring for ``spec``.

    ``accept_unused``: load even when the checkpoint holds tensors the model does not use (else a
    ``CheckpointError`` names them); they are listed on ``adapter.import_report.unused``.
    """
    from . import user

    spec = str(spec)
    factory_spec = user.split_factory_spec(spec)
    if factory_spec is not None:
        path, name = factory_spec
        factory = user.load_factory_from_file(path, name)
        adapter = user.call_factory(factory, spec, f"{path.stem}-{name}",
                                    checkpoint=str(checkpoint) if checkpoint else None, device=device,
                                    accept_unused=accept_unused)
        return _checked(adapter, accept_unused).to(device)
    cards = load_cards()
    if spec in cards:
        card = cards[spec]
        if checkpoint is not None and card.weights.source == "random":
            raise ConfigError(f"model {spec!r} is a random initialisation and takes no --checkpoint",
                              hint="pass the checkpoint with the card of its family (e.g. --model tvts)")
        where = locate_weights(card, checkpoint)
        if not where.found and card.weights.source != "random":
            raise missing_weights_error(card, where)
        if checkpoint is not None and card.weights.source == "builtin-run" and where.path is not None:
            card = card_for_override(card, where.path, cards)
        return _load_card(card, where.path, accept_unused).to(device)
    path = Path(spec).expanduser()
    if path.exists():
        if checkpoint is not None:
            raise ConfigError(f"--checkpoint is for card names; {spec} is already a path",
                              hint="pass either --model CARD --checkpoint PATH or --model PATH")
        card = card_for_path(path.resolve(), cards)
        return _load_card(card, path.resolve(), accept_unused).to(device)
    factory = user.load_entry_point(spec)
    if factory is not None:
        adapter = user.call_factory(factory, spec, spec,
                                    checkpoint=str(checkpoint) if checkpoint else None, device=device,
                                    accept_unused=accept_unused)
        return _checked(adapter, accept_unused).to(device)
    eps = user.entry_point_names()
    raise ConfigError(
        f"unknown model {spec!r}: not a card name, not an existing path, not path/to/file.py:factory"
        + (", not an entry point" if eps else ""),
        hint=f"cards: {', '.join(cards)}" + (f"; entry points: {', '.join(eps)}" if eps else "")
        + " (tvts-bench list models)")
