"""The pretraining model: the parts an objective needs, under the authors' top-level names.

``video_model`` (VideoViT, or FrameViT for the CLIP baseline), ``text_model`` (TextEncoder),
``pred_model`` (SortModule, or the head of a video-ordering pretext: see ``order_heads``), ``vid_proj`` /
``txt_proj`` (joint-space projections) and, for the VideoMAE baseline, ``decoder``. Parts an objective
does not use are not built (DDP rejects parameters that get no gradient, and checkpoints stay small).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .heads import text_projection, video_projection
from .mae_decoder import MAEDecoder, MAEDecoderConfig
from .order_heads import OrderHeadConfig, build_order_head
from .sort_module import SortModule, SortModuleConfig
from .text_encoder import TextEncoder, TextEncoderConfig
from .video_vit import FrameViT, VideoViT, VideoViTConfig


@dataclass
class ModelConfig:
    video: VideoViTConfig = field(default_factory=VideoViTConfig)
    encoder_kind: str = "video"                      # video | frame (CLIP baseline)
    text: TextEncoderConfig | None = field(default_factory=TextEncoderConfig)
    sort: SortModuleConfig | None = None
    proj_dim: int | None = 256                      # None: no contrastive projections
    decoder: MAEDecoderConfig | None = None
    order: OrderHeadConfig | None = None            # vcop | merlot | merlot-like pretext head

    def as_dict(self) -> dict:
        d = {
            "video": self.video.as_dict(),
            "encoder_kind": self.encoder_kind,
            "text": self.text.as_dict() if self.text else None,
            "sort": self.sort.as_dict() if self.sort else None,
            "proj_dim": self.proj_dim,
            "decoder": self.decoder.as_dict() if self.decoder else None,
        }
        if self.order is not None:          # absent otherwise: older configs stay byte-identical
            d["order"] = self.order.as_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        return cls(
            video=VideoViTConfig(**d["video"]),
            encoder_kind=d.get("encoder_kind", "video"),
            text=TextEncoderConfig(**d["text"]) if d.get("text") else None,
            sort=SortModuleConfig(**d["sort"]) if d.get("sort") else None,
            proj_dim=d.get("proj_dim"),
            decoder=MAEDecoderConfig(**d["decoder"]) if d.get("decoder") else None,
            order=OrderHeadConfig(**d["order"]) if d.get("order") else None,
        )


class PretrainModel(nn.Module):
    def __init__(self, cfg: ModelConfig, text_model: TextEncoder | None = None):
        super().__init__()
        self.cfg = cfg
        self.video_model = FrameViT(cfg.video) if cfg.encoder_kind == "frame" else VideoViT(cfg.video)
        d = cfg.video.embed_dim
        self.text_model = text_model
        if cfg.text is not None and text_model is None:
            self.text_model = TextEncoder.from_config(cfg.text)
        if cfg.sort is not None and self.text_model is not None:
            cfg.sort.text_dim = self.text_model.dim     # known only once the encoder is loaded
        if cfg.order is not None and self.text_model is not None:
            cfg.order.text_dim = self.text_model.dim
        if cfg.sort is not None:
            self.pred_model = SortModule(cfg.sort)
        elif cfg.order is not None:
            self.pred_model = build_order_head(cfg.order)
        else:
            self.pred_model = None
        if cfg.proj_dim and self.text_model is not None:
            self.vid_proj = video_projection(d, cfg.proj_dim)
            self.txt_proj = text_projection(self.text_model.dim, cfg.proj_dim)
        else:
            self.vid_proj = None
            self.txt_proj = None
        if cfg.decoder is not None:
            t, gh, gw = cfg.video.grid
            pt, ph, pw = cfg.video.patch_size
            self.decoder = MAEDecoder(cfg.decoder, d, t * gh * gw, pt * ph * pw * cfg.video.in_chans)
        else:
            self.decoder = None

    @property
    def text_dim(self) -> int | None:
        return self.text_model.dim if self.text_model is not None else None

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """Joint-space text embedding (un-normalised) of each string."""
        assert self.text_model is not None and self.txt_proj is not None
        return self.txt_proj(self.text_model(texts))
