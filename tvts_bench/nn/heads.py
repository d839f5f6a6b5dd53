"""Projections into the joint video-text space for the contrastive loss.

Keys match the authors': ``vid_proj.0`` (Linear on the video CLS) and ``txt_proj.1`` (ReLU then Linear
on each transcript CLS).
"""

from __future__ import annotations

from torch import nn


def video_projection(dim: int, out_dim: int = 256) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, out_dim))


def text_projection(dim: int, out_dim: int = 256) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Linear(dim, out_dim))
