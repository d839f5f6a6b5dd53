"""Attentive probe on cached frozen encoder tokens (the V-JEPA recipe).

Bardes et al., "Revisiting Feature Prediction for Learning Visual Representations from Video" (V-JEPA,
2024; ``AttentiveClassifier`` in github.com/facebookresearch/jepa): the encoder stays frozen; a probe
pools its output tokens and classifies the result.

- pooling: one learnable query attends over the layer-normed tokens (multi-head cross-attention), then
  a residual MLP block (LayerNorm, Linear D -> 4D, GELU, Linear 4D -> D), then a linear classifier;
- training: AdamW, cosine schedule from ``lr`` to 0 (after ``warmup_epochs``), weight decay
  ``weight_decay``, ``epochs`` (20), gradient clipping at norm ``grad_clip`` (1.0), cross-entropy;
- selection: when ``params.lr`` or ``params.weight_decay`` lists several values, every pair is trained
  on the train split less a stratified ``val_fraction`` held out of it and scored (top-1) on that
  held-out part; the best pair (ties: the first in grid order) is retrained on the whole train split
  and evaluated ONCE on the test split. The test split is never used for selection.

Tokens come from ``adapter.encode_tokens`` (``[L, D]`` per video, cached as float16; one view per
video). Mean over ``params.seeds`` probe seeds; interval by bootstrap over test samples of the
per-sample correctness averaged over seeds; ties in the logits by expected rank (a constant encoder
scores chance on balanced test classes: every video gets the same prediction).

Temporal-sensitivity diagnostic (``params.diagnostics``): the probe trained on normal tokens is scored on
the test split's shuffled / repeated / reversed tokens.
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...errors import TvtsBenchError
from ...nn.optim import adamw
from ..context import ProtocolContext, ProtocolOutput
from ..metrics import TIE_RULE, require_finite, topk_hits
from ._common import (class_labels, labelled_splits, params_of, progress_task, sample_rows, seeds_of,
                      select_metrics, spec_value, torch_device)
from .attn_spec import SPEC
from .linear import stratified_holdout

KS = (1, 5)


class AttentiveProbe(nn.Module):
    """Query cross-attention over layer-normed tokens + residual MLP + linear classifier."""

    def __init__(self, dim: int, num_classes: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.query = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.query, std=0.02)
        self.norm_tokens = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm_mlp = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.head = nn.Linear(dim, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.norm_tokens(tokens)
        q = self.query.expand(tokens.shape[0], -1, -1)
        q = q + self.attn(q, x, x, need_weights=False)[0]
        q = q + self.mlp(self.norm_mlp(q))
        return self.head(q[:, 0])


def default_heads(dim: int) -> int:
    return next(h for h in (16, 12, 8, 6, 4, 2, 1) if dim % h == 0 and dim // h >= 8 or h == 1)


def _as_list(value, cast=float) -> list:
    return [cast(v) for v in (value if isinstance(value, (list, tuple)) else [value])]


def train_probe(tokens: np.ndarray, labels: np.ndarray, num_classes: int, *, lr: float, weight_decay: float,
                epochs: int, batch_size: int, grad_clip: float, warmup_epochs: float, heads: int,
                mlp_ratio: float, seed: int, device: torch.device) -> AttentiveProbe:
    g = torch.Generator().manual_seed(int(seed))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        probe = AttentiveProbe(tokens.shape[-1], num_classes, heads, mlp_ratio).to(device)
    opt = adamw(probe.parameters(), lr=lr, weight_decay=weight_decay)
    n = len(labels)
    steps_per_epoch = max(1, math.ceil(n / batch_size))
    total, warm = epochs * steps_per_epoch, int(round(warmup_epochs * steps_per_epoch))

    def lr_at(step: int) -> float:
        if step < warm:
            return lr * (step + 1) / warm
        progress = (step - warm) / max(1, total - warm)
        return 0.5 * lr * (1.0 + math.cos(math.pi * progress))

    y = torch.as_tensor(labels, dtype=torch.long)
    step = 0
    probe.train()
    with torch.enable_grad():
        for _ in range(epochs):
            order = torch.randperm(n, generator=g)
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                xb = torch.as_tensor(tokens[idx.numpy()], dtype=torch.float32, device=device)
                for group in opt.param_groups:
                    group["lr"] = lr_at(step)
                loss = F.cross_entropy(probe(xb), y[idx].to(device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(probe.parameters(), grad_clip)
                opt.step()
                step += 1
    return probe.eval()


@torch.no_grad()
def probe_logits(probe: AttentiveProbe, tokens: np.ndarray, device: torch.device, batch_size: int = 256
                 ) -> torch.Tensor:
    out = [probe(torch.as_tensor(tokens[s:s + batch_size], dtype=torch.float32, device=device)).float().cpu()
           for s in range(0, len(tokens), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, probe.head.out_features)



def _tokens(ctx: ProtocolContext, split: str, variant: str):
    try:
        fs = ctx.features(split, variant, tokens=True)
    except NotImplementedError as e:
        raise TvtsBenchError(f"task {ctx.task.name}: {e}",
                             hint="the attentive probe needs an adapter with encode_tokens "
                                  "(every zoo family with tokens has it; docs/protocols.md lists their layouts)") from None
    require_finite(fs.features, f"the {split} split's {variant} tokens", [r.video_id for r in fs.records])
    return fs


def run(ctx: ProtocolContext) -> ProtocolOutput:
    name = ctx.task.name
    train = _tokens(ctx, ctx.task.splits.train, "normal")
    test = _tokens(ctx, ctx.task.splits.test, "normal")
    y_train, y_test, num_classes = labelled_splits(ctx, train, test, "the attentive probe")
    dim = int(train.features.shape[-1])
    p = params_of(ctx, SPEC)
    heads = int(p.heads or default_heads(dim))
    if dim % heads:
        raise TvtsBenchError(f"task {name}: params.heads={heads} does not divide the token width {dim}")
    lrs, wds = _as_list(p.lr), _as_list(p.weight_decay)
    hp = dict(epochs=p.epochs, batch_size=p.batch_size, grad_clip=p.grad_clip, warmup_epochs=p.warmup_epochs,
              heads=heads, mlp_ratio=p.mlp_ratio)
    val_fraction = p.val_fraction
    device = torch_device(ctx)
    variants = list(p.diagnostics)
    variant_tokens = {v: _tokens(ctx, ctx.task.splits.test, v) for v in variants}
    seeds = seeds_of(ctx, p)
    grid = list(product(lrs, wds))

    hits = {k: np.zeros(len(y_test)) for k in KS}
    var_hits = {v: {k: np.zeros(len(variant_tokens[v].records)) for k in KS} for v in variants}
    test_ids = [r.video_id for r in test.records]
    per_seed: list[dict] = []
    fits = len(seeds) * (len(grid) + 1 if len(grid) > 1 else 1)
    with progress_task(ctx, f"{name}: attentive probe", total=fits) as advance:
        for seed in seeds:
            held_scores: dict[str, float] = {}
            if len(grid) > 1:
                fit_idx, held_idx = stratified_holdout(y_train, val_fraction, seed)
                if len(held_idx) == 0:
                    raise TvtsBenchError(f"task {name}: cannot hold out part of the train split to choose "
                                         "lr / weight_decay: every class has a single training video",
                                         hint="use a larger train split, or give params.lr and "
                                              "params.weight_decay single values")
                for lr, wd in grid:
                    probe = train_probe(train.features[fit_idx], y_train[fit_idx], num_classes, lr=lr,
                                        weight_decay=wd, seed=seed, device=device, **hp)
                    pred = probe_logits(probe, train.features[held_idx], device).argmax(1).numpy()
                    held_scores[f"lr={lr:g},wd={wd:g}"] = float((pred == y_train[held_idx]).mean())
                    advance()
                best = max(range(len(grid)), key=lambda i: held_scores[f"lr={grid[i][0]:g},wd={grid[i][1]:g}"])
                lr, wd = grid[best]              # max keeps the first of equal scores
            else:
                lr, wd = grid[0]
            probe = train_probe(train.features, y_train, num_classes, lr=lr, weight_decay=wd, seed=seed,
                                device=device, **hp)
            logits = probe_logits(probe, test.features, device)
            seed_hits = topk_hits(logits, y_test, KS, what=f"test logits (seed {seed})", ids=test_ids)
            for k in KS:
                hits[k] += seed_hits[k] / len(seeds)
            for v in variants:
                vt = variant_tokens[v]
                vy = class_labels(vt, f"{v} test", "the attentive probe")
                vh = topk_hits(probe_logits(probe, vt.features, device), vy, KS,
                               what=f"{v} test logits (seed {seed})", ids=[r.video_id for r in vt.records])
                for k in KS:
                    var_hits[v][k] += vh[k] / len(seeds)
            per_seed.append({"seed": seed, "lr": lr, "weight_decay": wd, "heldout_top1": held_scores,
                             "top1": 100 * float(seed_hits[1].mean()), "top5": 100 * float(seed_hits[5].mean())})
            advance()

    metrics = select_metrics({f"top{k}": spec_value(SPEC, f"top{k}", hits[k], ctx, salt=k) for k in KS}, ctx)
    diagnostics = {v: select_metrics({f"top{k}": spec_value(SPEC, f"top{k}", var_hits[v][k], ctx, salt=k)
                                      for k in KS}, ctx) for v in variants}
    # per test video: the expected hit averaged over probe seeds
    per_sample = sample_rows(test_ids, {f"top{k}": hits[k] for k in KS}, metrics)
    info = {"seeds": seeds, "per_seed": per_seed, "lr_grid": lrs, "weight_decay_grid": wds,
            "val_fraction": val_fraction, **hp, "tokens": int(train.features.shape[1]), "token_dim": dim,
            "train_samples": int(len(y_train)), "test_samples": int(len(y_test)), "num_classes": num_classes,
            "ties": TIE_RULE, "recipe": "V-JEPA attentive probe: query cross-attention over layer-normed tokens, "
                                        "residual MLP (4x, GELU), linear classifier; AdamW, cosine lr, grad clip",
            "diagnostic_train": "normal tokens (variant tokens only at test time)"}
    return ProtocolOutput(metrics=metrics, diagnostics=diagnostics, per_sample=per_sample, clips=0,
                          extra={"attn": info})
