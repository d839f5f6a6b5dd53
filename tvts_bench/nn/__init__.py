"""Architectures: the video ViT (tubelets, divided space-time positions, [CLS], masking), the
transcript-sorting module, the text encoder wrapper, projections, the VideoMAE decoder."""

from .video_vit import FrameViT, VideoViT, VideoViTConfig, random_keep_indices

__all__ = ["FrameViT", "VideoViT", "VideoViTConfig", "random_keep_indices"]
