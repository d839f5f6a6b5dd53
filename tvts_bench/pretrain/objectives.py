"""All pretraining objectives on one code path, selected by flags.

- ``tvts``: L_base + lambda * L_sort (lambda = 2)     - ``base``: L_base only     - ``sort``: L_sort only
- stop-gradient on/off: whether the transcript features fed to the sort module are detached;
- sort head ``kway | pairwise | factorial``;
- baselines: ``videomae`` (tube masking 90 %, light decoder, MSE on masked per-patch normalised pixels)
  and ``clip`` (per-frame image ViT, mean over frames, InfoNCE against the transcripts);
- the video-ordering pretexts of the paper's Table 1, each L_base + lambda * L_order (lambda = 2, as
  L_sort in ``tvts``): ``vcop`` (sort shuffled sub-clips from their features alone), ``merlot``
  (pairwise order of shuffled per-slice features given the ordered transcripts) and ``merlot-like``
  (K-way sort of shuffled sub-clips given the ordered transcripts). See docs/ordering_pretexts.md.

L_base is the symmetric InfoNCE (cosine, tau = 0.05) between the masked-video CLS projection and the
mean of the K transcript projections: by default the SUM of the video->text and text->video
cross-entropies (paper eq. 3; the authors' ``NormSoftmaxLoss`` in ``v1/model/loss.py``), or half of it
with ``base_loss_scale="mean"`` (ablation, ``--base-loss mean``). Under DDP the negatives come from all
ranks (gathered with gradient) and every per-rank loss is that rank's share of the global-batch loss,
so DDP's averaged gradient is the single-process gradient on the global batch (also with uneven
per-rank batches). See docs/pretraining_conventions.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..distributed import gather_with_grad, row_counts
from ..errors import ConfigError
from ..nn.mae_decoder import patchify_targets
from ..nn.model import PretrainModel
from ..nn.order_heads import ORDER_PRETEXTS
from ..nn.sort_module import SORT_HEADS, sort_correct, sort_loss, sort_targets
from ..nn.video_vit import random_keep_indices
from .presets import OBJECTIVES

# How the two InfoNCE directions are combined: "sum" = CE(v->t) + CE(t->v) (paper eq. 3, the authors'
# loss); "mean" = their average (an ablation; what this project used before).
BASE_LOSS_SCALES = ("sum", "mean")


@dataclass
class ObjectiveConfig:
    name: str = "tvts"
    stop_grad: bool = True
    sort_head: str = "kway"
    mask_mode: str = "frame"        # frame (paper, authors' v1) | tube
    mask_ratio: float = 0.75
    tau: float = 0.05
    lam: float = 2.0
    base_loss_scale: str = "sum"    # sum (paper eq. 3, authors) | mean (ablation)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def uses_sort(self) -> bool:
        return self.name in ("tvts", "sort")

    @property
    def uses_contrastive(self) -> bool:
        return self.name in ("tvts", "base", "clip", *ORDER_PRETEXTS)

    @property
    def uses_order(self) -> bool:
        """A video-ordering pretext (vcop, merlot, merlot-like): video units are shuffled each step."""
        return self.name in ORDER_PRETEXTS


def _check_scale(scale: str) -> str:
    if scale not in BASE_LOSS_SCALES:
        raise ConfigError(f"unknown base loss scale {scale!r}",
                          hint=f"choose one of: {', '.join(BASE_LOSS_SCALES)} (sum = paper eq. 3)")
    return scale


def objective_config(name: str, *, stop_grad: bool = True, sort_head: str = "kway",
                     mask_mode: str | None = None, mask_ratio: float | None = None,
                     base_loss_scale: str = "sum") -> ObjectiveConfig:
    if name not in OBJECTIVES:
        raise ConfigError(f"unknown objective {name!r}", hint=f"choose one of: {', '.join(OBJECTIVES)}")
    if name in ORDER_PRETEXTS and sort_head != "kway":
        raise ConfigError(f"--sort-head applies to the transcript sort (tvts, sort), not to {name}",
                          hint="each ordering pretext has its own fixed head (docs/ordering_pretexts.md)")
    if name == "vcop" and not stop_grad:
        raise ConfigError("vcop's ordering term reads no transcripts: --no-stop-grad does not apply",
                          hint="it applies to tvts, sort, merlot and merlot-like")
    if sort_head not in SORT_HEADS:
        raise ConfigError(f"unknown sort head {sort_head!r}", hint=f"choose one of: {', '.join(SORT_HEADS)}")
    _check_scale(base_loss_scale)
    if name == "videomae":
        return ObjectiveConfig(name=name, stop_grad=stop_grad, sort_head=sort_head,
                               mask_mode=mask_mode or "tube",
                               mask_ratio=0.9 if mask_ratio is None else mask_ratio)
    if name == "clip":
        return ObjectiveConfig(name=name, mask_mode=mask_mode or "frame", mask_ratio=0.0,
                               base_loss_scale=base_loss_scale)
    if mask_mode not in (None, "frame", "tube"):
        raise ConfigError(f"unknown mask mode {mask_mode!r}", hint="choose frame or tube")
    return ObjectiveConfig(name=name, stop_grad=stop_grad, sort_head=sort_head,
                           mask_mode=mask_mode or "frame",
                           mask_ratio=0.75 if mask_ratio is None else mask_ratio,
                           base_loss_scale=base_loss_scale)


def infonce(video: torch.Tensor, text: torch.Tensor, tau: float = 0.05, *, gather: bool = True,
            scale: str = "sum", counts: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric InfoNCE of paired rows; negatives = every other row of the (gathered) batch.

    Global loss over the N rows of all ranks: ``CE_v2t + CE_t2v`` (``scale="sum"``, paper eq. 3) or
    half of it (``"mean"``), each CE the mean over the N rows. This rank returns its share
    ``(W / N) * sum over its own rows``: the mean over the W ranks of the returned values is the global
    loss, and it is that mean whose gradient DDP computes (the all-gather's backward sums the gradient
    of every rank's loss into each rank's rows; DDP then averages over ranks). Single process: the
    plain global loss. ``counts``: every rank's row count, when the caller already has it.

    Returns (loss, share of this rank's video rows whose nearest text is their own).
    """
    _check_scale(scale)
    v = F.normalize(video.float(), dim=-1)
    t = F.normalize(text.float(), dim=-1)
    if counts is None:
        counts = row_counts(v.shape[0], v.device) if gather else [v.shape[0]]
    v_all, offset = gather_with_grad(v, counts) if gather else (v, 0)
    t_all, _ = gather_with_grad(t, counts) if gather else (t, 0)
    labels = torch.arange(v.shape[0], device=v.device) + offset
    logits_v2t = v @ t_all.t() / tau
    logits_t2v = t @ v_all.t() / tau
    total = (F.cross_entropy(logits_v2t, labels, reduction="sum")
             + F.cross_entropy(logits_t2v, labels, reduction="sum"))
    loss = total * (len(counts) / max(1, sum(counts)))
    if scale == "mean":
        loss = 0.5 * loss
    acc = (logits_v2t.argmax(dim=1) == labels).float().mean()
    return loss, acc


def _rank_share(counts: list[int], b: int) -> float:
    """Weight of a per-rank mean so that the mean over ranks is the mean over the global batch."""
    return len(counts) * b / max(1, sum(counts))


def _flat_texts(batch: dict[str, Any]) -> list[str]:
    return [t for sample in batch["texts"] for t in sample]


def compute_losses(model: PretrainModel, batch: dict[str, Any], obj: ObjectiveConfig, *,
                   gather: bool = True) -> dict[str, torch.Tensor]:
    """One forward pass: ``{"loss", and the parts: l_base, l_sort, recon, sort_acc, con_acc}``; the
    ordering pretexts add ``l_order, order_acc, order_chance`` (merlot also ``pair_acc``).

    ``batch``: ``video [B,C,T,H,W]``, ``texts`` (B lists of K strings in fed = shuffled order),
    ``order [B,K]`` (original slot of each fed transcript), optional ``keep`` (visible token indices,
    to fix the mask, e.g. in tests), optional ``perm [B,N]`` (ordering pretexts: original slot of each
    fed video unit; drawn from the global torch RNG when absent). ``gather=False``: negatives from this
    process only (validation runs on rank 0 alone and must not enter a collective).

    Under DDP every returned loss is this rank's share of the global-batch loss (per-rank means are
    weighted by ``W * B_rank / N``; 1 when the ranks hold equal batches): the mean over ranks, which is
    what DDP differentiates and what the trainer logs, is the loss of the global batch.
    """
    video = batch["video"]
    b = video.shape[0]
    out: dict[str, torch.Tensor] = {}
    counts = row_counts(b, video.device) if gather else [b]
    share = _rank_share(counts, b)

    if obj.name == "clip":
        feats = model.video_model(video)                                    # frame mean, no masking
        tf = model.text_model(_flat_texts(batch)).view(b, -1, model.text_dim)
        l_base, acc = infonce(model.vid_proj(feats), model.txt_proj(tf).mean(dim=1), obj.tau, gather=gather,
                              scale=obj.base_loss_scale, counts=counts)
        out.update(loss=l_base, l_base=l_base.detach(), con_acc=acc)
        return out

    vm = model.video_model
    pt, ph, pw = vm.cfg.patch_size
    grid = (video.shape[2] // pt, video.shape[3] // ph, video.shape[4] // pw)
    keep = batch.get("keep")
    if keep is None and obj.mask_ratio > 0:
        keep = random_keep_indices(b, grid, obj.mask_ratio, obj.mask_mode, device=video.device)
    tokens = vm.forward_features(video, keep)                               # [B, 1+Nk, D]

    if obj.name == "videomae":
        n = grid[0] * grid[1] * grid[2]
        pred = model.decoder(tokens[:, 1:], keep, n)
        target = patchify_targets(video.float(), vm.cfg.patch_size)
        masked = torch.ones(b, n, dtype=torch.bool, device=video.device)
        masked.scatter_(1, keep, False)
        recon = ((pred.float() - target) ** 2).mean(dim=-1)[masked].mean() * share
        out.update(loss=recon, recon=recon.detach())
        return out

    tf = model.text_model(_flat_texts(batch)).view(b, -1, model.text_dim)    # [B, K, Dt]
    loss = video.new_zeros((), dtype=torch.float32)
    if obj.name in ("tvts", "base", *ORDER_PRETEXTS):
        v = model.vid_proj(tokens[:, 0])
        t = model.txt_proj(tf).mean(dim=1)
        l_base, acc = infonce(v, t, obj.tau, gather=gather, scale=obj.base_loss_scale, counts=counts)
        loss = loss + l_base
        out.update(l_base=l_base.detach(), con_acc=acc)
    if obj.name in ("tvts", "sort"):
        order = batch["order"].to(video.device)
        text_in = tf.detach() if obj.stop_grad else tf
        sorter = model.pred_model
        times = token_time_index(keep, grid, b, video.device) if sorter.needs_time_index else None
        logits = sorter(tokens, text_in, times)
        l_sort = sort_loss(logits, order, obj.sort_head) * share
        loss = loss + (obj.lam if obj.name == "tvts" else 1.0) * l_sort
        out.update(l_sort=l_sort.detach(),
                   sort_acc=sort_correct(logits.detach(), order, obj.sort_head).float().mean())
    if obj.name in ORDER_PRETEXTS:
        perm = batch.get("perm")
        if perm is None:
            perm = draw_order(b, model.pred_model.cfg.units)
        l_order, parts = order_pretext(model, video, keep, tf, batch["order"].to(video.device),
                                       perm.to(video.device), obj)
        l_order = l_order * share
        loss = loss + obj.lam * l_order
        out.update(l_order=l_order.detach(), **parts)
    out["loss"] = loss
    return out


# -- the video-ordering pretexts (paper Table 1) ----------------------------------------------------
def draw_order(b: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``[B, N]`` uniform random permutations (on CPU): ``perm[b, i]`` = original slot of fed unit i."""
    return torch.rand(b, n, generator=generator).argsort(dim=1)


def encode_subclips(vm: nn.Module, video: torch.Tensor, keep: torch.Tensor | None, n: int) -> torch.Tensor:
    """Cut ``video [B,C,T,H,W]`` into N equal sub-clips along time and encode each ALONE: ``[B, N, D]``,
    the pooled (CLS) feature of each sub-clip, in the original order.

    Each sub-clip is an input of its own (its own CLS, its own attention, the encoder's temporal
    embedding resampled to the sub-clip's length, identical for every sub-clip), so a feature carries
    no trace of the sub-clip's place in the clip. ``keep``: the clip's visible tokens (the same count in
    every time slice, as ``random_keep_indices`` draws them); each sub-clip keeps its slices' visible
    tokens, so the pretext sees the masked video, as L_base does.
    """
    b, c, t, h, w = video.shape
    pt, ph, pw = vm.cfg.patch_size
    slices, s = t // pt, (h // ph) * (w // pw)
    if slices % n:
        raise ValueError(f"{slices} time slices cannot be cut into {n} equal sub-clips")
    per = slices // n                                                     # time slices per sub-clip
    sub = video.reshape(b, c, n, t // n, h, w).transpose(1, 2).reshape(b * n, c, t // n, h, w)
    sub_keep = None
    if keep is not None:
        if keep.shape[1] % slices:
            raise ValueError("the mask must keep the same number of tokens in every time slice")
        offsets = (torch.arange(n, device=keep.device) * per * s).view(1, n, 1)
        sub_keep = keep.reshape(b, n, -1) - offsets
        if bool(((sub_keep < 0) | (sub_keep >= per * s)).any()):
            raise ValueError("the mask must keep the same number of tokens in every time slice")
        sub_keep = sub_keep.reshape(b * n, -1)
    return vm.pool(vm.forward_features(sub, sub_keep)).view(b, n, -1)


def shuffle_units(units: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """``units [B, N, D]`` in original order -> fed order: ``fed[b, i] = units[b, perm[b, i]]``."""
    return units.gather(1, perm.unsqueeze(-1).expand(-1, -1, units.shape[-1]))


def ordered_transcripts(feats: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Transcript features in fed (shuffled) order -> true order: ``out[b, order[b, i]] = feats[b, i]``."""
    inverse = order.argsort(dim=1)
    return feats.gather(1, inverse.unsqueeze(-1).expand(-1, -1, feats.shape[-1]))


def order_pretext(model: PretrainModel, video: torch.Tensor, keep: torch.Tensor | None,
                  text_feats: torch.Tensor, order: torch.Tensor, perm: torch.Tensor,
                  obj: ObjectiveConfig) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """L_order (unweighted, per-rank mean) and its metrics for the ``vcop``, ``merlot``, ``merlot-like``
    objectives.

    The N video units (``model.pred_model.cfg.units`` sub-clips) are encoded one by one, shuffled by
    ``perm`` and ordered by the head; ``text_feats [B, K, Dt]`` are the transcripts in fed order with
    ``order`` their original slots (put back in true order for the MERLOT variants; detached when
    ``obj.stop_grad``). Gradient reaches the video encoder and the head; the text encoder only without
    stop-gradient (MERLOT variants). Metrics: ``order_acc`` (whole order right), ``order_chance``
    (1/N!), and for merlot ``pair_acc`` (pairs right, chance 1/2).
    """
    head = model.pred_model
    cfg = head.cfg
    kind = cfg.head_kind
    units = encode_subclips(model.video_model, video, keep, cfg.units)
    fed = shuffle_units(units, perm)
    texts = None
    if obj.name != "vcop":
        texts = ordered_transcripts(text_feats.detach() if obj.stop_grad else text_feats, order)
    logits = head(fed, texts)
    loss = sort_loss(logits, perm, kind)
    parts = {"order_acc": sort_correct(logits.detach(), perm, kind).float().mean(),
             "order_chance": torch.tensor(cfg.chance, device=video.device)}
    if kind == "pairwise":
        parts["pair_acc"] = ((logits.detach() > 0).float() == sort_targets(perm, kind)).float().mean()
    return loss, parts


def token_time_index(keep: torch.Tensor | None, grid: tuple[int, int, int], b: int,
                     device: torch.device) -> torch.Tensor:
    """``[B, 1 + N_visible]``: the time slice of every encoder output token, -1 for CLS."""
    per_slice = grid[1] * grid[2]
    if keep is None:
        keep = torch.arange(grid[0] * per_slice, device=device).expand(b, -1)
    return torch.cat([torch.full((b, 1), -1, device=device, dtype=torch.long), keep // per_slice], dim=1)


class ObjectiveModule(nn.Module):
    """The model + its objective behind one ``forward``, so DDP sees a single forward per step."""

    def __init__(self, model: PretrainModel, obj: ObjectiveConfig):
        super().__init__()
        self.model = model
        self.obj = obj

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return compute_losses(self.model, batch, self.obj)
