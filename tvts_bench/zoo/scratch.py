"""``scratch``: the TVTS video encoder with a seeded random initialisation (the lower bound).

So that the leaderboard compares pretraining against none at equal size, the architecture and
preprocessing are those of the newest checkpoint of the run named by the card's ``config.match_run``
(default ``tvts``) when there is one, else those of the pretraining preset ``config.preset`` (default
``small``, the demo size). The seed is the card's ``weights.seed``; the global RNG is left untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError
from .adapters import ModuleAdapter
from .base import Preprocess
from .card import ModelCard


@dataclass
class ScratchOptions:
    preset: str = "small"           # pretraining preset whose video encoder is built ...
    match_run: str | None = "tvts"  # ... unless this run has a checkpoint: then its architecture

    @classmethod
    def from_card(cls, config: dict) -> "ScratchOptions":
        return cls(**{k: v for k, v in config.items() if k in cls.__dataclass_fields__})


def _from_run(run: str):
    """(VideoViTConfig, Preprocess, checkpoint) of a run's newest checkpoint, or None."""
    from ..home import runs_dir
    from ..nn.video_vit import VideoViTConfig
    from ..pretrain.checkpoint import latest_checkpoint, read_config

    ckpt = latest_checkpoint(runs_dir() / run)
    if ckpt is None:
        return None
    cfg = read_config(ckpt)
    video = VideoViTConfig(**{**cfg["model"]["video"], "pool": "cls", "drop_path_rate": 0.0})
    pre = Preprocess(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg["preprocess"].items()})
    return video, pre, ckpt


def load_scratch(card: ModelCard, seed: int | None = None, *, accept_unused: bool = False) -> ModuleAdapter:
    """``accept_unused`` is accepted for a uniform loader signature: no checkpoint is read here."""
    from ..nn.video_vit import VideoViT
    from ..pretrain.presets import get_preset

    options = ScratchOptions.from_card(card.config)
    matched = _from_run(options.match_run) if options.match_run else None
    if matched is not None:
        video_cfg, pre, ckpt = matched
        note = f"architecture of {ckpt} (random weights)"
    else:
        try:
            preset = get_preset(options.preset)
        except ConfigError as e:
            raise ConfigError(f"{card.source_file or card.name}: field 'config.preset': {e.message}",
                              hint=e.hint) from None
        video_cfg, pre = preset.video, preset.preprocess()
        note = f"architecture of pretraining preset {options.preset!r} (random weights)"
    seed = card.weights.seed if seed is None else seed
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed or 0))
        vit = VideoViT(video_cfg)
    adapter = ModuleAdapter(card=card, video=vit, preprocess=pre, feature_dim=video_cfg.embed_dim,
                            checkpoint=None)
    adapter.notes = [note]
    return adapter


# -- registration -------------------------------------------------------------------------------------

def _load(card: ModelCard, path, *, accept_unused: bool = False) -> ModuleAdapter:
    return load_scratch(card, accept_unused=accept_unused)


def example(tmp) -> list:
    """The built-in ``scratch`` card: no checkpoint; with no run here it builds the ``small`` preset."""
    from ..pretrain.presets import get_preset
    from .families import Example

    preset = get_preset("small")
    pre = preset.preprocess()
    return [Example("scratch", None, int(preset.video.embed_dim), pre.num_frames, pre.size,
                    what="random init (no weights)")]


def _register():
    from .families import FamilySpec, register_family

    return register_family(FamilySpec(
        name="scratch", summary="the TVTS encoder with a seeded random initialisation (lower bound)",
        load=_load, needs_weights=False, card_config=ScratchOptions, example=example))


FAMILY = _register()
