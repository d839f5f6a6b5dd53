"""The TVTS video encoder: a ViT over tubelets with divided space-time positions, [CLS] and masking.

Parameter names follow the authors' ``video_model`` keys (``cls_token``, ``pos_embed``,
``temporal_embed``, ``patch_embed.proj``, ``blocks.N.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}``,
``norm``), so their checkpoint loads after stripping ``module.video_model.``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial

import torch
import torch.nn.functional as F
from timm.models.vision_transformer import Block
from torch import nn


@dataclass
class VideoViTConfig:
    img_size: int = 224
    num_frames: int = 16
    patch_size: tuple[int, int, int] = (2, 16, 16)     # (time, height, width) of one tubelet
    in_chans: int = 3
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    drop_path_rate: float = 0.0
    ln_eps: float = 1e-6
    pool: str = "cls"               # "cls" (TVTS, CLIP) or "mean" over patch tokens (VideoMAE)

    def __post_init__(self) -> None:
        self.patch_size = tuple(int(p) for p in self.patch_size)  # JSON gives lists

    @property
    def grid(self) -> tuple[int, int, int]:
        pt, ph, pw = self.patch_size
        return self.num_frames // pt, self.img_size // ph, self.img_size // pw

    @property
    def num_spatial(self) -> int:
        _, gh, gw = self.grid
        return gh * gw

    def as_dict(self) -> dict:
        d = asdict(self)
        d["patch_size"] = list(self.patch_size)
        return d


class TubeletEmbed(nn.Module):
    """Conv3d with kernel = stride = tubelet size: [B,C,T,H,W] -> [B, T'*S, D] in time-major order."""

    def __init__(self, cfg: VideoViTConfig):
        super().__init__()
        self.proj = nn.Conv3d(cfg.in_chans, cfg.embed_dim, kernel_size=cfg.patch_size,
                              stride=cfg.patch_size)

    def forward(self, video: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        x = self.proj(video)                        # [B, D, T', H', W']
        grid = tuple(x.shape[2:])
        return x.flatten(2).transpose(1, 2), grid   # [B, T'*H'*W', D]


def random_keep_indices(batch: int, grid: tuple[int, int, int], ratio: float, mode: str = "frame",
                        *, generator: torch.Generator | None = None,
                        device: torch.device | str = "cpu") -> torch.Tensor:
    """Indices (into the T'*S time-major tokens) of the tokens kept visible, sorted, ``[B, T'*keep]``.

    ``frame``: an independent mask per time slice (authors' v1: keep the same count in every slice).
    ``tube``: one spatial mask shared by all time slices (VideoMAE, authors' v2).
    """
    t, gh, gw = grid
    s = gh * gw
    keep = max(1, int(round(s * (1.0 - ratio))))
    if mode == "frame":
        noise = torch.rand(batch, t, s, generator=generator, device=device)
    elif mode == "tube":
        noise = torch.rand(batch, 1, s, generator=generator, device=device).expand(batch, t, s)
    else:
        raise ValueError(f"unknown mask mode {mode!r} (frame|tube)")
    spatial = noise.argsort(dim=-1)[..., :keep].sort(dim=-1).values     # [B, T', keep]
    offsets = (torch.arange(t, device=device) * s).view(1, t, 1)
    return (spatial + offsets).reshape(batch, t * keep)


class VideoViT(nn.Module):
    def __init__(self, cfg: VideoViTConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
        t, _, _ = cfg.grid
        self.patch_embed = TubeletEmbed(cfg)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + cfg.num_spatial, d))
        # Zero init: at the start every time slice looks the same, as in the authors' code, so an
        # image-pretrained (inflated) model starts as a frame-wise image model.
        self.temporal_embed = nn.Parameter(torch.zeros(1, t, d))
        dpr = [x.item() for x in torch.linspace(0, cfg.drop_path_rate, cfg.depth)]
        norm = partial(nn.LayerNorm, eps=cfg.ln_eps)
        self.blocks = nn.ModuleList([
            Block(d, cfg.num_heads, mlp_ratio=cfg.mlp_ratio, qkv_bias=cfg.qkv_bias, drop_path=dpr[i],
                  norm_layer=norm)
            for i in range(cfg.depth)])
        self.norm = norm(d)
        self._init_weights()

    @property
    def embed_dim(self) -> int:
        return self.cfg.embed_dim

    def _init_weights(self) -> None:
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        w = self.patch_embed.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        for m in self.blocks.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    # -- positions ------------------------------------------------------------------------------
    def _spatial_pos(self, gh: int, gw: int) -> torch.Tensor:
        pos = self.pos_embed[:, 1:]
        _, sh, sw = self.cfg.grid
        if (gh, gw) == (sh, sw):
            return pos
        # Another input size than trained (e.g. an evaluation at a different resolution).
        pos = pos.reshape(1, sh, sw, -1).permute(0, 3, 1, 2)
        pos = F.interpolate(pos, size=(gh, gw), mode="bicubic", align_corners=False)
        return pos.permute(0, 2, 3, 1).reshape(1, gh * gw, -1)

    def _temporal_pos(self, t: int) -> torch.Tensor:
        te = self.temporal_embed
        if te.shape[1] == t:
            return te
        return F.interpolate(te.transpose(1, 2), size=t, mode="linear",
                             align_corners=False).transpose(1, 2)

    def embed(self, video: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """Patch tokens with divided space-time positions added: ``[B, T'*S, D]`` (no CLS)."""
        x, grid = self.patch_embed(video)
        t, gh, gw = grid
        s = gh * gw
        pos = self._spatial_pos(gh, gw)                        # [1, S, D]
        tpos = self._temporal_pos(t)                           # [1, T', D]
        x = x + pos.repeat(1, t, 1) + tpos.repeat_interleave(s, dim=1)
        return x, grid

    # -- forward --------------------------------------------------------------------------------
    def forward_features(self, video: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """All output tokens after the final norm: ``[B, 1 + N_visible, D]``, CLS first.

        ``mask``: optional ``[B, N_keep]`` long tensor of visible token indices (see
        :func:`random_keep_indices`), or a bool ``[B, N]`` tensor that is True for REMOVED tokens
        (same count per sample). Positions are added before the visible tokens are gathered.
        """
        x, _ = self.embed(video)
        if mask is not None:
            keep = mask
            if mask.dtype == torch.bool:
                keep = (~mask).nonzero()[:, 1].view(x.shape[0], -1)
            x = torch.gather(x, 1, keep.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.cfg.pool == "mean":
            return tokens[:, 1:].mean(dim=1)
        return tokens[:, 0]

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """``[B,C,T,H,W]`` -> ``[B, D]``: CLS after the final norm (or the mean token), no masking."""
        return self.pool(self.forward_features(video))


class FrameViT(nn.Module):
    """An image ViT applied to each frame; clip feature = mean of the per-frame features.

    The CLIP-style baseline: no temporal modelling at all. ``video_model`` is a VideoViT with one frame
    and a temporal patch of 1, so the same code (and the same key names) serve both.
    """

    def __init__(self, cfg: VideoViTConfig):
        super().__init__()
        self.cfg = cfg
        self.frames = cfg.num_frames
        image_cfg = VideoViTConfig(**{**cfg.as_dict(), "num_frames": 1,
                                      "patch_size": (1, cfg.patch_size[1], cfg.patch_size[2])})
        self.video_model = VideoViT(image_cfg)

    @property
    def embed_dim(self) -> int:
        return self.cfg.embed_dim

    def frame_features(self, video: torch.Tensor, keep_ratio_mask: float | None = None) -> torch.Tensor:
        b, c, t, h, w = video.shape
        frames = video.permute(0, 2, 1, 3, 4).reshape(b * t, c, 1, h, w)
        return self.video_model(frames).view(b, t, -1)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.frame_features(video).mean(dim=1)


def build_video_encoder(cfg: VideoViTConfig, kind: str = "video") -> nn.Module:
    return FrameViT(cfg) if kind == "frame" else VideoViT(cfg)


__all__ = ["VideoViTConfig", "VideoViT", "FrameViT", "TubeletEmbed", "random_keep_indices",
           "build_video_encoder"]
