"""A worked example of a user model for tvts-bench.

Evaluate it with::

    tvts-bench check-model docs/examples/user_model.py:tiny_3d_cnn
    tvts-bench run --model docs/examples/user_model.py:tiny_3d_cnn --tasks ssv2-linear
    tvts-bench run --model docs/examples/user_model.py:tiny_3d_cnn --checkpoint my_weights.safetensors ...

or register the factory from your own package (pyproject.toml)::

    [project.entry-points."tvts_bench.models"]
    my-3d-cnn = "my_package.models:tiny_3d_cnn"

and use ``--model my-3d-cnn``.

The factory is called with the keyword arguments it accepts among ``checkpoint`` (the
``--checkpoint`` path, or None) and ``device``. It returns ``(module, preprocess)`` where the module
maps normalised float clips ``[B, C, T, H, W]`` to one feature per clip ``[B, D]``, or a dict with
``module``, ``preprocess`` and optional ``feature`` (a description), ``trained_on`` (dataset short
names, for the leaderboard's contamination badge), ``name``, ``text`` and ``video_proj``; or a full
``tvts_bench.zoo.base.VideoAdapter``.

Read weights through ``tvts_bench.zoo.safe_load.load_weight_file``: safetensors, or torch files with
``weights_only=True``, so a checkpoint can never run code.
"""

from __future__ import annotations

import torch
from torch import nn

from tvts_bench.zoo.base import IMAGENET_MEAN, IMAGENET_STD, Preprocess


class Tiny3DCNN(nn.Module):
    """Two 3-D convolutions and global average pooling: a deliberately small video encoder."""

    feature_desc = "global average pool of the last 3-D conv"

    def __init__(self, width: int = 32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(3, width, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3)),
            nn.GELU(),
            nn.Conv3d(width, 2 * width, kernel_size=3, stride=2, padding=1),
            nn.GELU(),
        )
        self.feature_dim = 2 * width

    def forward(self, video: torch.Tensor) -> torch.Tensor:      # [B, C, T, H, W] -> [B, D]
        return self.features(video).mean(dim=(2, 3, 4))


def tiny_3d_cnn(checkpoint: str | None = None, device: str = "cpu") -> dict:
    torch.manual_seed(0)                       # a fixed init, so the weights hash is reproducible
    model = Tiny3DCNN()
    if checkpoint:
        from tvts_bench.zoo.safe_load import load_weight_file

        state = load_weight_file(checkpoint).content
        model.load_state_dict(state.get("state_dict", state), strict=True)
    preprocess = Preprocess(num_frames=8, size=64, short_side=72, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    return {"module": model.to(device), "preprocess": preprocess, "name": "tiny-3d-cnn",
            "feature": Tiny3DCNN.feature_desc, "trained_on": []}
