"""A light VideoMAE-style decoder: visible tokens + mask tokens -> per-patch normalised pixels.

Used by the ``videomae`` baseline only. Decoder positions are a fixed 1-D sin-cos table over all
tokens, as in VideoMAE; the loss is the MSE on the masked tokens only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import partial

import torch
from timm.models.vision_transformer import Block
from torch import nn


@dataclass
class MAEDecoderConfig:
    dim: int = 384
    depth: int = 4
    num_heads: int = 6
    mlp_ratio: float = 4.0
    ln_eps: float = 1e-6

    def as_dict(self) -> dict:
        return asdict(self)


def sincos_table(n: int, dim: int) -> torch.Tensor:
    pos = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
    table = torch.zeros(n, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return table.float().unsqueeze(0)


def patchify_targets(video: torch.Tensor, patch: tuple[int, int, int], eps: float = 1e-6) -> torch.Tensor:
    """``[B,C,T,H,W]`` -> ``[B, N, pt*ph*pw*C]``, each patch normalised per channel (VideoMAE).

    Per-patch normalisation makes the input's per-channel affine normalisation irrelevant.
    """
    b, c, t, h, w = video.shape
    pt, ph, pw = patch
    x = video.reshape(b, c, t // pt, pt, h // ph, ph, w // pw, pw)
    x = x.permute(0, 2, 4, 6, 3, 5, 7, 1).reshape(b, (t // pt) * (h // ph) * (w // pw), pt * ph * pw, c)
    mean = x.mean(dim=-2, keepdim=True)
    var = x.var(dim=-2, unbiased=True, keepdim=True)
    x = (x - mean) / (var + eps).sqrt()
    return x.flatten(2)


class MAEDecoder(nn.Module):
    def __init__(self, cfg: MAEDecoderConfig, encoder_dim: int, num_tokens: int, patch_values: int):
        super().__init__()
        self.cfg = cfg
        self.decoder_embed = nn.Linear(encoder_dim, cfg.dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.register_buffer("pos", sincos_table(num_tokens, cfg.dim), persistent=False)
        norm = partial(nn.LayerNorm, eps=cfg.ln_eps)
        self.blocks = nn.ModuleList([Block(cfg.dim, cfg.num_heads, mlp_ratio=cfg.mlp_ratio, qkv_bias=True,
                                           norm_layer=norm) for _ in range(cfg.depth)])
        self.norm = norm(cfg.dim)
        self.head = nn.Linear(cfg.dim, patch_values)
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, visible: torch.Tensor, keep: torch.Tensor, num_tokens: int) -> torch.Tensor:
        """``visible [B, Nk, De]`` (no CLS), ``keep [B, Nk]`` -> predictions for ALL tokens ``[B, N, P]``."""
        b = visible.shape[0]
        x = self.decoder_embed(visible)
        full = self.mask_token.expand(b, num_tokens, -1).clone()
        full = full.scatter(1, keep.unsqueeze(-1).expand(-1, -1, x.shape[-1]), x)
        full = full + self.pos[:, :num_tokens]
        for blk in self.blocks:
            full = blk(full)
        return self.head(self.norm(full))
