"""Heads of the video-ordering pretexts of the paper's Table 1 (VCOP, MERLOT, MERLOT-like).

Each pretext shuffles N *units* of the video (sub-clips, encoded one by one by the video encoder, so a
unit carries no trace of where it came from) and predicts their order. The head sits where the TVTS
sort module sits (``pred_model``), so checkpoints drop it like the sort module.

- ``vcop`` (Xu et al., CVPR 2019): no language. Every pair (i < j) of the fed unit features is
  concatenated and passed through ``Linear(2D, 512) + ReLU``; the pair outputs are concatenated, dropout
  0.5, then ``Linear(P * 512, N!)``: one N!-way classification of the permutation.
- ``merlot`` (Zellers et al., NeurIPS 2021): a joint encoder over [the K transcripts, in their true order
  (a learned slot embedding each) ; the N shuffled unit features (no position)] predicts, for every pair
  of fed units, whether the first one is earlier (binary per pair).
- ``merlot-like`` (the TVTS paper's adaptation): the same joint encoder, with TVTS's K-way head: for each
  fed unit, which of the N original slots it held. The roles of video and text in TVTS swapped.

The joint encoder of both MERLOT variants is the TVTS sort module class (``SortModule``) with the
transcripts as its context and the video units as the items it sorts; the pairwise and K-way heads are
that module's own heads.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .sort_module import SortModule, SortModuleConfig, pair_indices

ORDER_PRETEXTS = ("vcop", "merlot", "merlot-like")
# The sort-module head whose targets, loss and accuracy each pretext's logits follow.
ORDER_HEAD_KIND = {"vcop": "factorial", "merlot": "pairwise", "merlot-like": "kway"}


@dataclass
class OrderHeadConfig:
    pretext: str = "vcop"
    units: int = 4              # N: video units shuffled and ordered
    dim: int = 768              # video feature width
    text_dim: int = 768         # transcript feature width (set from the text encoder when built)
    num_texts: int = 4          # K transcripts given as context (merlot, merlot-like)
    hidden: int = 512           # vcop: width of the pairwise layer (VCOP's fc7)
    dropout: float = 0.5        # vcop: before the final layer, as VCOP
    num_heads: int = 12         # joint encoder (merlot, merlot-like): the sort module's shape
    depth: int = 2
    mlp_ratio: float = 4.0
    ln_eps: float = 1e-6

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def head_kind(self) -> str:
        return ORDER_HEAD_KIND[self.pretext]

    @property
    def chance(self) -> float:
        """Chance of getting the whole order of the N units right."""
        return 1.0 / math.factorial(self.units)


class VCOPHead(nn.Module):
    """Shuffled unit features ``[B, N, D]`` -> permutation logits ``[B, N!]`` (VCOP's order head)."""

    def __init__(self, cfg: OrderHeadConfig):
        super().__init__()
        self.cfg = cfg
        pairs = len(list(itertools.combinations(range(cfg.units), 2)))
        self.pair_fc = nn.Linear(2 * cfg.dim, cfg.hidden)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(pairs * cfg.hidden, math.factorial(cfg.units))

    def forward(self, units: torch.Tensor, texts: torch.Tensor | None = None) -> torch.Tensor:
        i, j = pair_indices(units.shape[1])
        pairs = torch.relu(self.pair_fc(torch.cat([units[:, i], units[:, j]], dim=-1)))   # [B, P, H]
        return self.head(self.dropout(pairs.flatten(1)))


class TranscriptContextSorter(nn.Module):
    """MERLOT / MERLOT-like: shuffled unit features ``[B, N, D]`` + ordered transcripts ``[B, K, Dt]``.

    The transcripts are projected to D and get a learned slot embedding (their order is what the
    module is told); the units get none (their order is what it must find). Returns the sort module's
    pairwise logits ``[B, N(N-1)/2]`` (merlot) or K-way logits ``[B, N, N]`` (merlot-like).
    """

    def __init__(self, cfg: OrderHeadConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.dim
        self.text_in = nn.Linear(cfg.text_dim, d)
        self.slot_embed = nn.Parameter(torch.zeros(1, cfg.num_texts, d))
        self.sorter = SortModule(SortModuleConfig(
            dim=d, text_dim=d, num_heads=cfg.num_heads, depth=cfg.depth, num_texts=cfg.units,
            head=cfg.head_kind, mlp_ratio=cfg.mlp_ratio, ln_eps=cfg.ln_eps))
        nn.init.xavier_uniform_(self.text_in.weight)
        nn.init.zeros_(self.text_in.bias)
        nn.init.trunc_normal_(self.slot_embed, std=0.02)

    def forward(self, units: torch.Tensor, texts: torch.Tensor | None = None) -> torch.Tensor:
        if texts is None:
            raise ValueError(f"{self.cfg.pretext} needs the transcripts in their true order")
        context = self.text_in(texts) + self.slot_embed[:, : texts.shape[1]]
        return self.sorter(context, units)


def build_order_head(cfg: OrderHeadConfig) -> nn.Module:
    if cfg.pretext not in ORDER_PRETEXTS:
        raise ValueError(f"ordering pretext {cfg.pretext!r} not in {ORDER_PRETEXTS}")
    return VCOPHead(cfg) if cfg.pretext == "vcop" else TranscriptContextSorter(cfg)


def order_units(num_slices: int, num_texts: int, pretext: str) -> int:
    """N for a clip of ``num_slices`` time slices: every slice for merlot (per-frame features); for
    vcop and merlot-like the largest divisor of ``num_slices`` not above K (sub-clips of equal length)."""
    if pretext == "merlot":
        return num_slices
    return max(n for n in range(1, min(num_texts, num_slices) + 1) if num_slices % n == 0)


__all__ = ["ORDER_PRETEXTS", "ORDER_HEAD_KIND", "OrderHeadConfig", "VCOPHead", "TranscriptContextSorter",
           "build_order_head", "order_units"]
