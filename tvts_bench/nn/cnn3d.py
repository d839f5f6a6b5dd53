"""A small 3D convolutional network: the calibration's second pixel-trained reference.

A ViT has no built-in locality or translation equivariance and needs far more clips than a stand-in
task offers to learn them: measured on the demo world's SSV2 stand-in (384 training clips, 8 x 64^2),
the demo's 4-layer ViT trained from scratch stayed near chance (9 % top-1, chance 6 %) while this network
reached 46 % after 15 epochs. So "how much is learnable from these pixels" is measured with both.

Four conv blocks (3x3x3 convolution, batch norm, ReLU, 2x2 spatial max-pooling; time is never pooled, so
frame order stays available), then average pooling over space only and the time steps concatenated:
the feature keeps one vector per time step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Cnn3dConfig:
    channels: tuple[int, ...] = (16, 32, 64, 64)
    time_steps: int = 4              # the time axis is pooled to this many steps before the feature


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(c_in, c_out, 3, padding=1), nn.BatchNorm3d(c_out), nn.ReLU(inplace=True),
                         nn.MaxPool3d((1, 2, 2)))


class Cnn3d(nn.Module):
    """``[B, C, T, H, W]`` -> ``[B, channels[-1] * time_steps]``."""

    def __init__(self, cfg: Cnn3dConfig = Cnn3dConfig(), in_chans: int = 3):
        super().__init__()
        self.cfg = cfg
        chans = (in_chans, *cfg.channels)
        self.features = nn.Sequential(*[_block(a, b) for a, b in zip(chans, chans[1:])])
        self.pool = nn.AdaptiveAvgPool3d((cfg.time_steps, 1, 1))
        self.feature_dim = cfg.channels[-1] * cfg.time_steps

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(video)).flatten(1)
