"""The transcript-sorting module: video tokens + K shuffled transcript features -> their order.

Two pre-norm blocks attend jointly over ``[video tokens ; K text features]``. A learned type
embedding (zero init) tells video from text; transcripts get NO positional embedding, so the module
cannot know in which order they were fed and must read the order from the video. Key names follow the
authors' ``pred_model`` (``type_embed``, ``blocks.{0,1}``, ``norm``, ``head``).

Heads (paper Table 2 ablation):
- ``kway``: Linear(D, K) per transcript -> ``[B, K, K]``: which original slot each one held.
- ``pairwise``: for every pair (i < j) of fed transcripts, is i earlier than j -> ``[B, K(K-1)/2]``.
- ``factorial``: one K!-way classification of the whole permutation from the K outputs concatenated
  in fed order -> ``[B, K!]``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from functools import partial

import torch
import torch.nn.functional as F
from timm.models.vision_transformer import Block
from torch import nn

SORT_HEADS = ("kway", "pairwise", "factorial")
TIME_CODES = ("none", "sinusoid")
VIDEO_INPUTS = ("tokens", "slices")


@dataclass
class SortModuleConfig:
    dim: int = 768
    text_dim: int = 768
    num_heads: int = 12
    depth: int = 2
    num_texts: int = 4
    head: str = "kway"
    mlp_ratio: float = 4.0
    ln_eps: float = 1e-6
    # Experimental, off by default (the paper's module): "sinusoid" adds a fixed sinusoidal code of each
    # video token's time slice at the module's input (in the paper the encoder's learned, zero-initialised
    # temporal embedding is the only clock); "slices" reads one token per time slice (the mean of its
    # visible tokens) instead of every video token. Measured on the demo corpus (README, "Pretraining at
    # CPU scale"): neither takes the sort loss off its ln 4 plateau within 200 steps.
    time_code: str = "none"
    video_input: str = "tokens"

    def as_dict(self) -> dict:
        return asdict(self)


def permutations(k: int) -> list[tuple[int, ...]]:
    return list(itertools.permutations(range(k)))


def pair_indices(k: int) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = list(itertools.combinations(range(k), 2))
    return torch.tensor([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs])


class SortModule(nn.Module):
    def __init__(self, cfg: SortModuleConfig):
        super().__init__()
        if cfg.head not in SORT_HEADS:
            raise ValueError(f"sort head {cfg.head!r} not in {SORT_HEADS}")
        if cfg.time_code not in TIME_CODES:
            raise ValueError(f"sort time code {cfg.time_code!r} not in {TIME_CODES}")
        if cfg.video_input not in VIDEO_INPUTS:
            raise ValueError(f"sort video input {cfg.video_input!r} not in {VIDEO_INPUTS}")
        self.cfg = cfg
        d, k = cfg.dim, cfg.num_texts
        # Text features may be wider than the video tokens (MiniLM 384 vs a 192-d small ViT).
        self.text_in = nn.Linear(cfg.text_dim, d) if cfg.text_dim != d else nn.Identity()
        self.type_embed = nn.Parameter(torch.zeros(2, d))
        norm = partial(nn.LayerNorm, eps=cfg.ln_eps)
        self.blocks = nn.ModuleList([Block(d, cfg.num_heads, mlp_ratio=cfg.mlp_ratio, qkv_bias=True,
                                           norm_layer=norm) for _ in range(cfg.depth)])
        self.norm = norm(d)
        if cfg.head == "kway":
            self.head = nn.Linear(d, k)
        elif cfg.head == "pairwise":
            self.head = nn.Linear(2 * d, 1)
        else:
            self.head = nn.Linear(k * d, math.factorial(k))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    @property
    def needs_time_index(self) -> bool:
        """Whether ``forward`` reads each video token's time slice (only the experimental options do)."""
        return self.cfg.time_code != "none" or self.cfg.video_input != "tokens"

    def forward(self, video_tokens: torch.Tensor, text_feats: torch.Tensor,
                time_index: torch.Tensor | None = None) -> torch.Tensor:
        """``video_tokens [B, Nv, D]``, ``text_feats [B, K, Dt]`` (in fed order) -> head logits.

        ``time_index [B, Nv]``: each video token's time slice (-1 for CLS), read when ``time_code`` or
        ``video_input='slices'`` is on.
        """
        if self.needs_time_index and time_index is None:
            raise ValueError("the sort module's time_code / video_input need each video token's time_index")
        if self.cfg.video_input == "slices":
            video_tokens, time_index = pool_slices(video_tokens, time_index)
        nv = video_tokens.shape[1]
        if self.cfg.time_code == "sinusoid":
            video_tokens = video_tokens + sinusoid_code(time_index, video_tokens.shape[-1]).to(video_tokens.dtype)
        text = self.text_in(text_feats)
        x = torch.cat([video_tokens + self.type_embed[0], text + self.type_embed[1]], dim=1)
        for blk in self.blocks:
            x = blk(x)
        h = self.norm(x[:, nv:])                                  # [B, K, D]
        if self.cfg.head == "kway":
            return self.head(h)                                   # [B, K, K]
        if self.cfg.head == "pairwise":
            i, j = pair_indices(h.shape[1])
            return self.head(torch.cat([h[:, i], h[:, j]], dim=-1)).squeeze(-1)   # [B, P]
        return self.head(h.flatten(1))                            # [B, K!]


def pool_slices(tokens: torch.Tensor, time_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, N, D]`` tokens -> ``[B, T, D]``: the mean of each time slice's tokens (CLS, index -1, left
    out), and the slices' indices ``[B, T]``."""
    t = int(time_index.max().item()) + 1
    member = F.one_hot(time_index.clamp(min=0), t).to(tokens.dtype) * (time_index >= 0).unsqueeze(-1).to(tokens.dtype)
    pooled = torch.einsum("bnt,bnd->btd", member, tokens) / member.sum(dim=1).clamp(min=1).unsqueeze(-1)
    return pooled, torch.arange(t, device=tokens.device).expand(tokens.shape[0], -1)


def sinusoid_code(index: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer sinusoids of integer positions ``index [...]`` -> ``[..., dim]``; negative -> zeros."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=index.device, dtype=torch.float32) / half)
    angles = index.clamp(min=0).float().unsqueeze(-1) * freqs
    code = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    if code.shape[-1] < dim:
        code = F.pad(code, (0, dim - code.shape[-1]))
    return code * (index >= 0).unsqueeze(-1).float()


# -- targets, losses and accuracy for each head; ``order[b, i]`` = original slot of fed transcript i --
def sort_targets(order: torch.Tensor, head: str) -> torch.Tensor:
    k = order.shape[1]
    if head == "kway":
        return order
    if head == "pairwise":
        i, j = pair_indices(k)
        return (order[:, i] < order[:, j]).float()
    table = {p: n for n, p in enumerate(permutations(k))}
    return torch.tensor([table[tuple(o)] for o in order.tolist()], device=order.device)


def sort_loss(logits: torch.Tensor, order: torch.Tensor, head: str) -> torch.Tensor:
    target = sort_targets(order, head)
    if head == "kway":
        # Cross-entropy of the K-way classification, averaged over the K transcripts and the batch.
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1))
    if head == "pairwise":
        return F.binary_cross_entropy_with_logits(logits.float(), target)
    return F.cross_entropy(logits.float(), target)


def sort_correct(logits: torch.Tensor, order: torch.Tensor, head: str) -> torch.Tensor:
    """Per sample: True when the whole order is right (all K positions). Chance = 1/K!."""
    target = sort_targets(order, head)
    if head == "kway":
        return (logits.argmax(-1) == target).all(dim=1)
    if head == "pairwise":
        # Every pair right <=> the full order is right.
        return ((logits > 0).float() == target).all(dim=1)
    return logits.argmax(-1) == target
