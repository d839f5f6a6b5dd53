"""``scratch``: the small TVTS video encoder with a seeded random initialisation (the lower bound).

Same architecture as the built-in ``tvts`` run (the pretraining preset named by the card's
``config.preset``, default ``small``), so the leaderboard compares pretraining against none at equal
size. The seed is the card's ``weights.seed``; the global RNG is left untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError
from .adapters import ModuleAdapter
from .card import ModelCard


@dataclass
class ScratchOptions:
    preset: str = "small"           # pretraining preset whose video encoder is built

    @classmethod
    def from_card(cls, config: dict) -> "ScratchOptions":
        return cls(**{k: v for k, v in config.items() if k in cls.__dataclass_fields__})


def load_scratch(card: ModelCard, seed: int | None = None) -> ModuleAdapter:
    from ..nn.video_vit import VideoViT
    from ..pretrain.presets import get_preset

    options = ScratchOptions.from_card(card.config)
    try:
        preset = get_preset(options.preset)
    except ConfigError as e:
        raise ConfigError(f"{card.source_file or card.name}: field 'config.preset': {e.message}",
                          hint=e.hint) from None
    seed = card.weights.seed if seed is None else seed
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed or 0))
        vit = VideoViT(preset.video)
    return ModuleAdapter(card=card, video=vit, preprocess=preset.preprocess(),
                         feature_dim=preset.video.embed_dim, checkpoint=None)
