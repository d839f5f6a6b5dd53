"""The adapter interface: the only view of a model that protocols ever get.

Video batches are float tensors ``[B, C, T, H, W]``, already resized, cropped and normalised with the
adapter's own ``Preprocess`` (the data layer applies it; adapters never open files).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

# Defined in the data layer (which applies them); re-exported here for adapters and user code.
from ..data.preprocess import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, Preprocess  # noqa: F401


@dataclass(frozen=True)
class TokenLayout:
    """How ``encode_tokens`` lays out one clip's ``N`` tokens.

    ``cls``: the positions of CLS tokens (``()`` for a model without one; per-frame image models have
    one per frame). Every other position is a patch token, ``grid = (t, h, w)`` of them: time steps
    (frames, or tubelets of several frames), rows, columns, listed in ``order``: ``"thw"`` time-major
    (frame by frame), or ``"hwt"`` space-major (TimeSformer: for each patch position, every frame).
    With ``per_frame`` the tokens come in one block per frame, ``[CLS_t, patches of frame t]``
    (CLIP-style image encoders run frame by frame). ``pooling`` says how ``encode_video`` makes the
    clip feature from these tokens."""

    cls: tuple[int, ...]
    grid: tuple[int, int, int]
    order: str = "thw"
    per_frame: bool = False
    pooling: str = ""

    @property
    def num_tokens(self) -> int:
        t, h, w = self.grid
        return len(self.cls) + t * h * w

    @property
    def patches(self) -> list[int]:
        """Positions of the patch tokens, in ``order``."""
        cls = set(self.cls)
        return [i for i in range(self.num_tokens) if i not in cls]


class VideoAdapter(ABC):
    """A loaded model, ready to encode clips (and, optionally, text)."""

    name: str
    family: str
    preprocess: Preprocess
    feature_dim: int
    feature_desc: str = ""          # which token or pooling gives the feature, as the card states
    # The importer's account of the checkpoint's tensors (zoo.importing.ImportReport), or None (random
    # init, user model). Loading refuses unused tensors unless accepted; accepted ones are listed in
    # ``import_report.unused`` and ``unused_tensors``.
    import_report: Any = None

    @property
    def unused_tensors(self) -> list[str]:
        """Checkpoint tensors the model does not use (non-empty only if explicitly accepted)."""
        report = getattr(self, "import_report", None)
        return list(getattr(report, "unused", None) or [])

    @abstractmethod
    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        """``[B, C, T, H, W]`` -> ``[B, feature_dim]`` clip features (frozen encoder, eval mode)."""

    @property
    def has_text(self) -> bool:
        return False

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """``N`` strings -> ``[N, D]`` features in the joint space used for text-to-video retrieval."""
        raise NotImplementedError(f"model {self.name} has no text tower")

    def encode_video_joint(self, video: torch.Tensor) -> torch.Tensor:
        """Video features in the joint text-video space (after any projection). Text models override."""
        return self.encode_video(video)

    def encode_tokens(self, video: torch.Tensor) -> torch.Tensor:
        """``[B, C, T, H, W]`` -> ``[B, L, D]`` output tokens of the frozen encoder (after its final
        norm, where it has one), for the attentive probe; ``token_layout`` says which is which. Models
        that cannot give tokens leave this unimplemented."""
        raise NotImplementedError(f"model {self.name} gives no token features (encode_tokens)")

    def token_layout(self, frames: int, size: int) -> TokenLayout:
        """The layout of ``encode_tokens``' output for clips of ``frames`` frames of ``size`` px."""
        raise NotImplementedError(f"model {self.name} gives no token features (token_layout)")

    @abstractmethod
    def video_backbone(self) -> nn.Module:
        """A trainable module mapping ``[B, C, T, H, W]`` -> ``[B, feature_dim]``, for fine-tuning."""

    def text_backbone(self) -> nn.Module | None:
        """A trainable module mapping tokenised text to joint-space features, for ret-ft (or None)."""
        return None

    def num_params(self) -> int:
        return sum(p.numel() for p in self.video_backbone().parameters())

    @abstractmethod
    def weights_hash(self) -> str:
        """Content hash of the weights in use (keys the feature cache and results)."""

    def to(self, device: torch.device | str) -> "VideoAdapter":
        self.video_backbone().to(device)
        tb = self.text_backbone()
        if tb is not None:
            tb.to(device)
        return self
