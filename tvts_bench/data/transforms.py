"""Turn decoded frames into the normalised clip tensor a model expects.

``ClipTransform(preprocess, train, crops)``: uint8 ``[T, H, W, 3]`` -> float32 ``[V, C, T, S, S]``
(``V = crops``, ``S = preprocess.size``): resize the short side to ``preprocess.short_side`` (bilinear,
antialiased), crop ``S x S`` (random in training; centre, or 3 crops along the long side in testing),
scale to [0, 1], normalise with the model's mean/std. No horizontal flip, ever: SSV2 has classes that
differ only in direction ("pushing left to right" / "right to left").
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .preprocess import Preprocess
from .sampling import RngLike, as_rng


def resize_short_side(frames: torch.Tensor, short_side: int) -> torch.Tensor:
    """``[T, C, H, W]`` -> short side = ``short_side``, aspect ratio kept (rounded). uint8 input stays
    uint8 (torch's channels-last uint8 kernel is ~9x faster than float here; rounding error <= 1/255)."""
    h, w = frames.shape[-2:]
    if min(h, w) == short_side:
        return frames
    if h <= w:
        new_h, new_w = short_side, max(1, int(round(w * short_side / h)))
    else:
        new_h, new_w = max(1, int(round(h * short_side / w))), short_side
    return F.interpolate(frames, size=(new_h, new_w), mode="bilinear", align_corners=False,
                         antialias=True)


def crop_offsets(height: int, width: int, size: int, crops: int) -> list[tuple[int, int]]:
    """Top-left corners of the test crops: 1 = centre; 3 = start/centre/end along the long side
    (left/centre/right for landscape, top/centre/bottom for portrait)."""
    cy, cx = (height - size) // 2, (width - size) // 2
    if crops == 1:
        return [(cy, cx)]
    if crops == 3:
        if width >= height:
            return [(cy, 0), (cy, cx), (cy, width - size)]
        return [(0, cx), (cy, cx), (height - size, cx)]
    raise ValueError(f"crops must be 1 or 3, got {crops}")


class ClipTransform:
    """Resize, crop, normalise. Call with frames and (in training) an rng for the crop position."""

    def __init__(self, preprocess: Preprocess, train: bool, crops: int = 1):
        if crops not in (1, 3):
            raise ValueError(f"crops must be 1 or 3, got {crops}")
        if train and crops != 1:
            raise ValueError("training takes one random crop per clip (crops=1)")
        self.preprocess = preprocess
        self.train = train
        self.crops = crops
        self.size = preprocess.size
        # A short side below the crop size could not be cropped: resize to at least the crop size.
        self.short_side = max(preprocess.short_side, preprocess.size)
        self._mean = torch.tensor(preprocess.mean, dtype=torch.float32).view(3, 1, 1, 1)
        self._std = torch.tensor(preprocess.std, dtype=torch.float32).view(3, 1, 1, 1)

    @property
    def views(self) -> int:
        return self.crops

    def __call__(self, frames: np.ndarray | torch.Tensor, rng: RngLike = None) -> torch.Tensor:
        video = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
        if video.ndim != 4 or video.shape[-1] != 3:
            raise ValueError(f"expected frames [T, H, W, 3], got {tuple(video.shape)}")
        if video.dtype != torch.uint8:
            video = video.clamp(0, 255).round().to(torch.uint8)
        video = video.permute(0, 3, 1, 2)                             # [T, 3, H, W] uint8, channels-last
        video = resize_short_side(video, self.short_side)
        h, w = video.shape[-2:]
        s = self.size
        if self.train:
            gen = as_rng(rng)
            offsets = [(int(gen.integers(0, h - s + 1)), int(gen.integers(0, w - s + 1)))]
        else:
            offsets = crop_offsets(h, w, s, self.crops)
        views = [video[:, :, y:y + s, x:x + s] for y, x in offsets]
        out = torch.stack(views).permute(0, 2, 1, 3, 4).to(torch.float32).div_(255.0)   # [V, 3, T, s, s]
        return ((out - self._mean) / self._std).contiguous()

    def output_shape(self, views: int | None = None) -> tuple[int, int, int, int, int]:
        """Shape of one output ``[V, C, T, S, S]`` (used for the zero tensor of a failed item)."""
        return (views or self.crops, 3, self.preprocess.num_frames, self.size, self.size)
