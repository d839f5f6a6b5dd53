"""The adapter interface: the only view of a model that protocols ever get.

Video batches are float tensors ``[B, C, T, H, W]``, already resized, cropped and normalised with the
adapter's own ``Preprocess`` (the data layer applies it; adapters never open files).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn

# Defined in the data layer (which applies them); re-exported here for adapters and user code.
from ..data.preprocess import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD, Preprocess  # noqa: F401


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
        norm), for the attentive probe. Models that cannot give tokens leave this unimplemented."""
        raise NotImplementedError(f"model {self.name} gives no token features (encode_tokens)")

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
