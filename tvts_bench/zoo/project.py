"""This project's own checkpoints (``tvts-bench pretrain`` runs), for every objective.

The pretraining package rebuilds its model from the checkpoint folder (safetensors + config.json) via
``tvts_bench.pretrain.checkpoint.load_for_eval``; this module wraps the result as a ``ModuleAdapter``
and accounts for every tensor of the checkpoint (video encoder and projections used; sort module and
MAE decoder dropped by design). A tensor under any other prefix is unused and refused unless the caller
accepts it (``accept_unused``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError, MissingPathError
from .adapters import ModuleAdapter
from .card import ModelCard
from .hf_config import read_config_json
from .importing import ImportReport, refuse_unused

PROJECT_FORMAT = "tvts-bench-checkpoint"

# checkpoint key prefix -> (used?, why it is dropped)
_PARTS = {
    "video_model.": (True, ""),
    "vid_proj.": (True, ""),
    "txt_proj.": (True, ""),
    "text_model.": (True, ""),
    "pred_model.": (False, "sort module (pretraining only)"),
    "decoder.": (False, "MAE decoder (pretraining only)"),
}


def is_project_checkpoint(path: Path) -> bool:
    """A checkpoint folder written by ``tvts-bench pretrain``, or a run folder holding one."""
    path = Path(path)
    if not path.is_dir():
        return False
    cfg = read_config_json(path)
    if cfg is not None:
        return cfg.get("format") == PROJECT_FORMAT
    return (path / "checkpoints").is_dir()


def latest_checkpoint(run_dir: Path) -> Path | None:
    from ..pretrain.checkpoint import latest_checkpoint as _latest

    return _latest(run_dir)


def checkpoint_of(path: Path, hint: str | None = None) -> Path:
    """The checkpoint folder ``path`` names: itself, or a run folder's newest complete checkpoint."""
    path = Path(path)
    ckpt = path if (path / "config.json").is_file() else latest_checkpoint(path)
    if ckpt is None:
        raise MissingPathError(path / "checkpoints" / "latest", "complete checkpoint", hint=hint)
    return ckpt


# The card describing a run of each pretraining objective (``tvts`` for any other).
OBJECTIVE_CARDS = {"base": "tvts-base", "videomae": "videomae", "clip": "clip"}


def _local(card: ModelCard, path: Path, name: str) -> ModelCard:
    return card.model_copy(update={
        "name": name, "weights": card.weights.model_copy(update={"source": "local", "path": str(path), "run": None}),
        "description": f"{card.description} (checkpoint {path})"})


def card_for_path(path: Path, cards: dict[str, ModelCard]) -> ModelCard:
    """A run or checkpoint folder given as the model: the card of its objective, named after the run."""
    from ..pretrain.checkpoint import read_config
    from .registry import path_name

    ckpt = checkpoint_of(path)
    objective = str(read_config(ckpt).get("objective", "tvts"))
    run = ckpt.parent.parent.name if ckpt.parent.name == "checkpoints" else ckpt.name
    return _local(cards[OBJECTIVE_CARDS.get(objective, "tvts")], path, path_name(run, cards))


def card_for_override(card: ModelCard, path: Path, cards: dict[str, ModelCard]) -> ModelCard:
    """``--model CARD --checkpoint <project checkpoint>``: the run's own newest checkpoint keeps the
    card; another becomes ``<card>-<run or step>``, so results never mix rows."""
    from .registry import locate_weights, path_name

    ckpt = checkpoint_of(path).resolve()
    own = locate_weights(card).path
    if own is not None and own.resolve() == ckpt:
        return card
    run = ckpt.parent.parent.name if ckpt.parent.name == "checkpoints" else ckpt.parent.name
    label = ckpt.name if run == card.weights.run else f"{run}-{ckpt.name}"
    return _local(card, path, path_name(f"{card.name}-{label}", cards))


class _JointText(nn.Module):
    """list[str] -> joint-space text features: the run's text encoder, then its projection."""

    def __init__(self, text_model: nn.Module, text_proj: nn.Module):
        super().__init__()
        self.text_model = text_model
        self.text_proj = text_proj

    def forward(self, texts: list[str]) -> torch.Tensor:
        return self.text_proj(self.text_model(list(texts)))


def _report(state: dict[str, torch.Tensor], source: str, has_text: bool) -> ImportReport:
    report = ImportReport(source=source, format="project")
    for key in sorted(state):
        part = next((p for p in _PARTS if key.startswith(p)), None)
        if part is None:
            report.unused.append(key)
            continue
        used, why = _PARTS[part]
        if used and not has_text and part in ("text_model.", "txt_proj.", "vid_proj."):
            used, why = False, "text tower without a joint projection"
        if used:
            report.used.append(key)
        else:
            report.ignored[key] = why
    return report


def load_project(card: ModelCard, path: Path, *, accept_unused: bool = False) -> ModuleAdapter:
    """Load a checkpoint folder (or the newest checkpoint of a run folder)."""
    try:
        from ..pretrain.checkpoint import load_for_eval
    except ImportError as e:  # pragma: no cover - only while the pretraining package is incomplete
        raise CheckpointError(f"cannot load {path}: the pretraining package is not available ({e})") from None
    ckpt = checkpoint_of(path, hint=card.weights.hint)
    bundle = load_for_eval(ckpt)
    # load_for_eval freezes everything; the adapter's video backbone must stay trainable (ft protocol).
    for module in (bundle.video_encoder, bundle.video_proj):
        if module is not None:
            module.requires_grad_(True)
    has_text = (bundle.text_encoder is not None and bundle.text_proj is not None
                and bundle.video_proj is not None)
    text = None
    if has_text:
        if isinstance(bundle.text_encoder, nn.Module):
            text = _JointText(bundle.text_encoder, bundle.text_proj)
    report = _report(bundle.state_dict, str(ckpt), has_text)
    refuse_unused(report, accept_unused)
    report.notes.append(f"objective {bundle.objective}; loaded strictly by tvts_bench.pretrain")
    text_call = None
    if has_text and text is None:   # a plain callable encoder: no trainable text tower
        def text_call(texts: list[str]) -> torch.Tensor:
            return bundle.text_proj(bundle.text_encoder(texts))
    return ModuleAdapter(card=card, video=bundle.video_encoder, preprocess=bundle.preprocess,
                         feature_dim=bundle.feature_dim, checkpoint=str(ckpt), report=report,
                         text=text, video_proj=bundle.video_proj if has_text else None,
                         text_call=text_call, hash_state=bundle.state_dict)


def example_run(tmp: Path, objective: str) -> tuple[Path, int, int, int]:
    """A tiny run of ``objective`` (pretraining preset ``tiny``, random weights, one checkpoint) under
    ``tmp/runs/``, for the families' example hooks: (run folder, feature dim, frames, crop size)."""
    from ..nn.model import PretrainModel
    from ..pretrain.checkpoint import save_checkpoint
    from ..pretrain.presets import get_preset, model_config

    preset = get_preset("tiny")
    cfg = model_config(preset, objective, text_source="random-tiny")
    torch.manual_seed(0)
    model = PretrainModel(cfg).eval()
    run = tmp / "runs" / f"example-{objective}"
    save_checkpoint(run, 1, model, {"objective": objective, "model": cfg.as_dict(),
                                    "preprocess": preset.preprocess().as_dict()}, {})
    pre = preset.preprocess()
    return run, int(preset.video.embed_dim), pre.num_frames, pre.size
