"""End-to-end fine-tuning (``ft``): the VideoMAE recipe (run_class_finetuning.py, MCG-NJU/VideoMAE), built from timm's pieces.

- model: a copy of ``adapter.video_backbone()`` (the adapter is never modified) + a linear head
  (truncated-normal init scaled by 0.001, as VideoMAE). ``head_only: true`` freezes the backbone (kept
  in eval mode, no drop path, no layer decay): the authors' linear-probe-as-fine-tuning protocol.
- optimiser: AdamW (betas 0.9/0.999), ``weight_decay`` 0.05 (none on biases, norms, position/class
  tokens), layer-wise lr decay ``layer_decay`` 0.75: block ``i`` of ``L`` gets ``decay ** (L - i)``,
  the embeddings ``decay ** (L + 1)``, the final norm and the head 1. Implemented here (timm's
  ``param_groups_layer_decay`` needs a timm ``group_matcher``, which the project's ViT does not have);
  the scaling is carried in each group's ``lr_scale``, which timm's schedulers apply.
- lr = ``lr`` x total batch / 256; ``warmup_epochs`` linear warm-up, then cosine to ``min_lr``
  (timm ``CosineLRScheduler``, stepped per update).
- regularisation: timm ``Mixup`` (mixup ``mixup`` 0.8, cutmix ``cutmix`` 1.0, label smoothing
  ``label_smoothing`` 0.1) with ``SoftTargetCrossEntropy``. timm's Mixup expects images [B, C, H, W]: the
  clip [B, C, T, H, W] is viewed as [B, C*T, H, W], so a cutmix box is the same in every frame.
  Drop path ``drop_path`` (linearly increasing over depth) when the backbone has timm-style blocks;
  RandAugment (``randaug``: a timm config string, ``rand-m7-n4-mstd0.5-inc1`` as VideoMAE) built by
  timm's ``rand_augment_transform`` and applied with the SAME sampled operations and magnitudes to every
  frame of a clip (one draw per clip, replayed for each frame: see ``ClipRandAugment``); random erasing
  ``reprob`` (timm ``RandomErasing``, one box through all frames); horizontal flip when ``flip`` (off for
  SSV2).
- testing: ``sampling.clips`` x ``sampling.crops`` views per video; softmax per view, then averaged.
- ``val_fraction`` > 0: a stratified part of TRAIN is held out and the epoch with the best held-out
  top-1 is the one tested (never the test split); 0 (default): the last epoch, as VideoMAE.
- a checkpoint after every epoch in the work folder; a rerun of the same configuration resumes
  (``_train.EpochLoop``: a resumed run equals an uninterrupted one).
- DDP when ``torch.distributed`` is initialised (``torchrun``): see ``_train``.
"""

from __future__ import annotations

import copy
import random
import re

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import distributed
from ...errors import ConfigError, DataFormatError
from ...nn.optim import adamw
from ...nn.precision import autocast_for
from ...runtime import seed_everything
from ..context import ProtocolContext, ProtocolOutput
from ..metrics import TIE_RULE, topk_hits
from . import _train as tr
from ._common import (params_of, progress_task, sample_rows, select_metrics,
                      spec_value, torch_device)
from .finetune_spec import SPEC

NO_DECAY_NAMES = ("pos_embed", "cls_token", "temporal_embed", "dist_token", "position_embedding")


class Classifier(nn.Module):
    def __init__(self, backbone: nn.Module, feature_dim: int, num_classes: int, head_only: bool):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(feature_dim, num_classes)
        nn.init.trunc_normal_(self.head.weight, std=0.02)
        with torch.no_grad():
            self.head.weight.mul_(0.001)            # VideoMAE's init_scale
        nn.init.zeros_(self.head.bias)
        self.head_only = head_only
        if head_only:
            for p in self.backbone.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True) -> "Classifier":
        super().train(mode)
        if self.head_only:
            self.backbone.eval()                   # frozen encoder: no dropout / drop path / BN updates
        return self

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if self.head_only:
            with torch.no_grad():
                feats = self.backbone(video)
            return self.head(feats.float())
        return self.head(self.backbone(video))


# -- recipe pieces --------------------------------------------------------------------------------


def _blocks(module: nn.Module) -> nn.Module | None:
    """The transformer blocks: a ModuleList or (timm's ViT) a Sequential named blocks / layers / layer
    (HuggingFace encoders: ``encoder.layer`` or ``encoder.layers``)."""
    for name in ("blocks", "layers", "layer"):
        found = getattr(module, name, None)
        if isinstance(found, (nn.ModuleList, nn.Sequential)):
            return found
    for child in module.children():
        found = _blocks(child)
        if found is not None:
            return found
    return None


def apply_drop_path(backbone: nn.Module, rate: float) -> int:
    """Set stochastic depth on timm-style blocks (attributes drop_path / drop_path1 / drop_path2),
    linearly from 0 to ``rate`` over depth. Returns how many blocks took it (0: not supported)."""
    from timm.layers import DropPath

    blocks = _blocks(backbone)
    if blocks is None or rate <= 0:
        return 0
    done = 0
    depth = len(blocks)
    for i, blk in enumerate(blocks):
        r = rate * i / max(1, depth - 1)
        hit = False
        for attr in ("drop_path", "drop_path1", "drop_path2"):
            cur = getattr(blk, attr, None)
            if isinstance(cur, (nn.Identity, DropPath)):
                setattr(blk, attr, DropPath(r) if r > 0 else nn.Identity())
                hit = True
        done += hit
    return done


def layer_id(name: str, num_layers: int) -> int:
    """0 for embeddings, i + 1 for block i, num_layers + 1 for what follows the blocks and the head."""
    if name.startswith("head."):
        return num_layers + 1
    name = name.removeprefix("backbone.")
    m = re.search(r"(?:^|\.)(?:blocks|layers|layer)\.(\d+)\.", name)
    if m:
        return int(m.group(1)) + 1
    if any(k in name for k in ("embed", "cls_token", "token", "stem")):
        return 0
    return num_layers + 1


def param_groups(model: Classifier, weight_decay: float, layer_decay: float) -> list[dict]:
    blocks = _blocks(model.backbone)
    num_layers = len(blocks) if blocks is not None else 0
    groups: dict[tuple[int, bool], dict] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        no_decay = p.ndim <= 1 or name.endswith(".bias") or any(k in name for k in NO_DECAY_NAMES)
        lid = layer_id(name, num_layers) if layer_decay < 1.0 else num_layers + 1
        key = (lid, no_decay)
        if key not in groups:
            groups[key] = {"params": [], "weight_decay": 0.0 if no_decay else weight_decay,
                           "lr_scale": layer_decay ** (num_layers + 1 - lid), "layer_id": lid}
        groups[key]["params"].append(p)
    return list(groups.values())


def _randaug_hparams(size: tuple[int, int], mean) -> dict:
    """timm RandAugment hparams as the VideoMAE / TVTS fine-tuning code builds them: translations up to
    45 % of the crop side, fill = the model's mean colour as 0-255 ints, bicubic resampling."""
    from timm.data.transforms import str_to_pil_interp

    return {"translate_const": int(min(size) * 0.45),
            "img_mean": tuple(min(255, round(255 * float(m))) for m in mean),
            "interpolation": str_to_pil_interp("bicubic")}


def _timm_randaugment(spec: str, size: tuple[int, int], mean):
    from timm.data.auto_augment import rand_augment_transform

    return rand_augment_transform(spec, _randaug_hparams(size, mean))


def parse_randaug(spec: str | None) -> str | None:
    """Check a timm RandAugment string (``rand-m7-n4-mstd0.5-inc1``) and return it; None/"" -> off."""
    if spec is None or not str(spec).strip():
        return None
    spec = str(spec).strip()
    try:
        if not spec.startswith("rand"):
            raise ValueError("it must start with 'rand'")
        _timm_randaugment(spec, (224, 224), (0.5, 0.5, 0.5))
    except (AssertionError, ValueError, KeyError, TypeError, IndexError) as e:
        raise ConfigError(f"params.randaug: {spec!r} is not a timm RandAugment string"
                          f"{f' ({e})' if str(e) else ''}",
                          hint="e.g. rand-m7-n4-mstd0.5-inc1 (timm's rand_augment_transform notation: "
                               "m magnitude, n ops per image, mstd magnitude noise, inc1 increasing ops)") from e
    return spec


class ClipRandAugment:
    """timm's RandAugment with one random draw per clip, applied identically to every frame.

    timm's ``RandAugment`` takes all its random decisions (which ops: ``np.random.choice``; per op: apply
    or not, magnitude noise, sign, resampling: Python's ``random``) from the two global generators, in
    an order that does not depend on the image. Each clip gets one seed; both generators are set to it
    before each frame, so every frame goes through the same ops with the same magnitudes. The global
    generators' states are restored afterwards (the seed itself is drawn from ``np.random``, whose state
    the fine-tuning checkpoint saves).
    """

    def __init__(self, spec: str, mean):
        self.spec = parse_randaug(spec)
        if self.spec is None:
            raise ConfigError("ClipRandAugment needs a RandAugment string (params.randaug)")
        self.mean = tuple(float(m) for m in mean)
        self._by_size: dict[tuple[int, int], object] = {}

    def transform(self, size: tuple[int, int]):
        """The timm transform for frames of ``size`` = (H, W) (the translation range depends on it)."""
        if size not in self._by_size:
            self._by_size[size] = _timm_randaugment(self.spec, size, self.mean)
        return self._by_size[size]

    def __call__(self, frames: list, seed: int) -> list:
        """``frames``: PIL images of one clip -> the augmented images (same ops on each)."""
        if not frames:
            return []
        aug = self.transform((frames[0].height, frames[0].width))
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            out = []
            for frame in frames:
                random.seed(seed)
                np.random.seed(seed)
                out.append(aug(frame))
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
        return out


def clip_randaugment(video: torch.Tensor, mean, std, randaug: "ClipRandAugment | str",
                     seeds: list[int] | None = None) -> torch.Tensor:
    """RandAugment with the same operations on every frame of each clip. video: [B, C, T, H, W] normalised.

    ``seeds``: one per clip (default: drawn from ``np.random``)."""
    from PIL import Image

    aug = randaug if isinstance(randaug, ClipRandAugment) else ClipRandAugment(randaug, mean)
    if seeds is None:
        seeds = [int(np.random.randint(0, 2 ** 31 - 1)) for _ in range(video.shape[0])]
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    out = []
    for clip, seed in zip(video, seeds):                   # [C, T, H, W]
        frames = clip.float().permute(1, 0, 2, 3)          # [T, C, H, W]
        u8 = ((frames * s + m).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        images = aug([Image.fromarray(f) for f in u8], seed)
        back = torch.from_numpy(np.stack([np.asarray(im.convert("RGB")) for im in images]))
        frames = back.permute(0, 3, 1, 2).float() / 255.0  # [T, C, H, W]
        out.append(((frames - m) / s).permute(1, 0, 2, 3).to(video.dtype))
    return torch.stack(out)


class Augmenter:
    """Batch-level train-time augmentation: RandAugment, flip, mixup/cutmix, random erasing."""

    def __init__(self, ctx: ProtocolContext, num_classes: int, device: torch.device):
        pre = ctx.preprocess or ctx.adapter.preprocess
        self.mean, self.std = pre.mean, pre.std
        p = params_of(ctx, SPEC)
        self.randaug = parse_randaug(p.randaug)                         # the timm string (recorded)
        self._randaug = ClipRandAugment(self.randaug, self.mean) if self.randaug else None
        self.flip = p.flip
        self.num_classes = num_classes
        smoothing, mixup, cutmix = p.label_smoothing, p.mixup, p.cutmix
        self.smoothing = smoothing
        self.mixup = None
        if mixup > 0 or cutmix > 0:
            from timm.data import Mixup

            self.mixup = Mixup(mixup_alpha=mixup, cutmix_alpha=cutmix, label_smoothing=smoothing,
                               num_classes=num_classes)
        reprob = p.reprob
        self.erase = None
        if reprob > 0:
            from timm.data.random_erasing import RandomErasing

            self.erase = RandomErasing(probability=reprob, mode="pixel", max_count=1, device=str(device))

    def soft_targets(self, y: torch.Tensor) -> torch.Tensor:
        off = self.smoothing / self.num_classes
        return torch.full((len(y), self.num_classes), off, device=y.device).scatter_(
            1, y[:, None], 1.0 - self.smoothing + off)

    def __call__(self, video: torch.Tensor, y: torch.Tensor, device: torch.device
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        if self._randaug is not None:
            video = clip_randaugment(video, self.mean, self.std, self._randaug)
        video = video.to(device, non_blocking=True)
        y = y.to(device)
        if self.flip:
            flip = torch.rand(video.shape[0], device=device) < 0.5
            video = torch.where(flip.view(-1, 1, 1, 1, 1), video.flip(-1), video)
        b, c, t, h, w = video.shape
        if self.mixup is not None and b >= 2:
            if b % 2:                                      # timm's batch mixup pairs samples
                video, y, b = video[:-1], y[:-1], b - 1
            flat, target = self.mixup(video.reshape(b, c * t, h, w).contiguous(), y)
            video = flat.view(b, c, t, h, w)
        else:
            target = self.soft_targets(y)
        if self.erase is not None:
            video = self.erase(video.reshape(b, c * t, h, w).contiguous()).view(b, c, t, h, w)
        return video, target


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    from timm.loss import SoftTargetCrossEntropy

    return SoftTargetCrossEntropy()(logits.float(), target)


# -- evaluation -----------------------------------------------------------------------------------


def predict(model: nn.Module, loader, device: torch.device, ctx: ProtocolContext, what: str
            ) -> tuple[np.ndarray, list[int], list]:
    """Softmax averaged over the views of each video: (probabilities [N, K], record positions, failed)."""
    model.eval()
    probs, idx, failed = [], [], []
    with torch.no_grad(), progress_task(ctx, f"{ctx.task.name}: {what}", len(loader)) as advance:
        for batch in loader:
            failed += list(batch.get("failed", []))
            video = batch["video"]
            if video.shape[0]:
                b, v = video.shape[:2]
                with autocast_for(device):
                    logits = model(video.flatten(0, 1).to(device, non_blocking=True)).float()
                probs.append(F.softmax(logits, -1).view(b, v, -1).mean(1).cpu())
                idx += [int(i) for i in batch["index"]]
            advance()
    return tr.merge_ranks(probs, idx, failed)


def _labels_of(records, positions) -> np.ndarray:
    labels = [records[i].label for i in positions]
    if any(lab is None for lab in labels):
        raise DataFormatError(records[0].path.parent, "fine-tuning needs class labels on every video")
    return np.asarray(labels, dtype=np.int64)


# -- the protocol ---------------------------------------------------------------------------------


def run(ctx: ProtocolContext) -> ProtocolOutput:
    device = torch_device(ctx)
    seed_everything(ctx.seed)
    train_split, test_split = ctx.task.splits.train, ctx.task.splits.test
    train_records, test_records = ctx.index.records(train_split), ctx.index.records(test_split)
    train_labels = _labels_of(train_records, range(len(train_records)))
    num_classes = max(len(ctx.index.classes), int(train_labels.max(initial=0)) + 1)
    p = params_of(ctx, SPEC)
    epochs, head_only, val_fraction, frames = p.epochs, p.head_only, p.val_fraction, p.frames
    bs = p.batch_size or ctx.batch_size
    _, world = distributed.world()
    lr = p.lr * bs * world / 256.0
    layer_decay = 1.0 if head_only else p.layer_decay

    frame_op = "shuffle" if frames == "shuffled" else None
    backbone = copy.deepcopy(ctx.adapter.video_backbone())
    feature_dim = ctx.adapter.feature_dim
    architecture = p.architecture
    if architecture == "cnn3d":             # calibration: a small 3D CNN from scratch instead of the model
        from ...nn.cnn3d import Cnn3d

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            backbone = Cnn3d()
        feature_dim = backbone.feature_dim
    if frames == "frame-average":
        backbone = frame_averaged_like(backbone, ctx)
    drop_blocks = 0 if head_only else apply_drop_path(backbone, p.drop_path)
    model = Classifier(backbone, feature_dim, num_classes, head_only).to(device)
    optimizer = adamw(param_groups(model, p.weight_decay, layer_decay), lr=lr, betas=(0.9, 0.999))
    for g in optimizer.param_groups:
        g["lr"] = lr

    loader = tr.train_loader(ctx, train_split, bs, seed=ctx.seed, frame_op=frame_op)
    val_loader = None
    if val_fraction > 0:
        from .linear import stratified_holdout

        fit_idx, held_idx = stratified_holdout(train_labels, val_fraction, ctx.seed)
        loader = tr.subset_loader(loader, fit_idx, bs, shuffle=True, seed=ctx.seed,
                                  drop_last=len(fit_idx) >= 2 * bs)
        plain = ctx.loader(train_split, False, bs, 1, 1, shuffle=False)
        val_loader = tr.subset_loader(plain, held_idx, bs, shuffle=False, seed=ctx.seed)
    scheduler = tr.cosine_scheduler(optimizer, epochs=epochs, warmup_epochs=p.warmup_epochs,
                                    steps_per_epoch=max(1, len(loader)), min_lr=p.min_lr)
    augment = Augmenter(ctx, num_classes, device)
    ddp = distributed.wrap(model, device)

    best_path = ctx.work_dir / "ft-best.pt"
    loop = tr.EpochLoop(ctx, "ft", model=model, train=ddp, optimizer=optimizer, scheduler=scheduler,
                        loader=loader, epochs=epochs, what="fine-tuning",
                        state={"clips": 0, "history": [], "best": [-1.0, -1]})
    history = loop.state["history"]
    for epoch in loop:
        total, count = 0.0, 0
        for batch in loop.batches():
            video = batch["video"]
            if video.shape[0] == 0:
                continue
            y = torch.as_tensor(train_labels[[int(i) for i in batch["index"]]])
            video, target = augment(video[:, 0], y, device)
            with autocast_for(device):
                logits = ddp(video)
            loss = soft_cross_entropy(logits, target)
            loop.step(loss)
            total += float(loss.detach()) * video.shape[0]
            count += video.shape[0]
            loop.state["clips"] += video.shape[0]
        record = {"epoch": epoch + 1, "train_loss": total / max(1, count),
                  "lr": max(g["lr"] for g in optimizer.param_groups)}
        if val_loader is not None:
            probs, pos, _ = predict(model, val_loader, device, ctx, "held-out train part")
            val_top1 = 100.0 * float((probs.argmax(1) == train_labels[pos]).mean()) if len(pos) else 0.0
            record["heldout_top1"] = val_top1
            if val_top1 > loop.state["best"][0]:
                loop.state["best"] = [val_top1, epoch + 1]
                tr.save_checkpoint(best_path, {"fingerprint": loop.fingerprint, "model": model.state_dict()})
        history.append(record)
    clips, start_epoch, best = loop.state["clips"], loop.start_epoch, loop.state["best"]
    tested_epoch = epochs
    if val_loader is not None and best[1] > 0:
        saved = tr.load_checkpoint(best_path, loop.fingerprint)
        if saved is not None:
            model.load_state_dict(saved["model"])
            tested_epoch = best[1]

    sampling = ctx.task.sampling
    test_loader = tr.eval_loader(ctx, test_split, bs, sampling.clips, sampling.crops, frame_op=frame_op)
    probs, positions, failed = predict(model, test_loader, device, ctx,
                                       f"test ({sampling.clips} clips x {sampling.crops} crops)")
    labels = _labels_of(test_records, positions)
    hits = topk_hits(probs, labels, (1, 5), what="test class probabilities",
                     ids=[test_records[p].video_id for p in positions])
    metrics = select_metrics({f"top{k}": spec_value(SPEC, f"top{k}", hits[k], ctx, salt=k) for k in (1, 5)}, ctx)
    # per test video: the expected hit of the view-averaged softmax
    per_sample = sample_rows([test_records[i].video_id for i in positions], {f"top{k}": hits[k] for k in (1, 5)},
                             metrics)
    extra = {"ft": {"epochs": epochs, "tested_epoch": tested_epoch, "history": history, "head_only": head_only,
                    "lr": lr, "batch_size": bs, "world_size": world, "layer_decay": layer_decay,
                    "drop_path_blocks": drop_blocks, "mixup": augment.mixup is not None,
                    "randaug": augment.randaug, "resumed_from_epoch": start_epoch,
                    "test_views": sampling.clips * sampling.crops, "ties": TIE_RULE, "frames": frames,
                    "architecture": architecture,
                    "failed_test_videos": [str(f) for f in failed]}}
    if p.trained_v2v:
        extra["ft"]["trained_v2v"] = trained_v2v(model, ctx, test_split, bs, device, frame_op)
    return ProtocolOutput(metrics=metrics, per_sample=per_sample, clips=clips, extra=extra)


def frame_averaged_like(backbone: nn.Module, ctx: ProtocolContext) -> nn.Module:
    """A frame-averaged image ViT of ``backbone``'s size, randomly initialised (seeded): it sees every
    frame alone and averages, so nothing it learns can depend on frame order."""
    from ...nn.video_vit import FrameViT, VideoViT

    if not isinstance(backbone, VideoViT):
        raise ConfigError(f"task {ctx.task.name}: params.frames=frame-average needs a VideoViT backbone "
                          f"(this project's own models), not {type(backbone).__name__}")
    from dataclasses import replace

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)
        return FrameViT(replace(backbone.cfg, drop_path_rate=0.0))


def trained_v2v(model: "Classifier", ctx: ProtocolContext, split: str, bs: int, device: torch.device,
                frame_op: str | None) -> dict:
    """Video-to-video retrieval on the fine-tuned backbone's features of ``split`` (one centre view):
    how far supervised features of these pixels get on v2v (the calibration's pixel ceiling)."""
    from ..metrics import v2v_retrieval

    records = ctx.index.records(split)
    loader = tr.eval_loader(ctx, split, bs, 1, 1, frame_op=frame_op)
    backbone = tr.unwrap(model).backbone
    backbone.eval()
    feats, idx, failed = [], [], []
    with torch.no_grad():
        for batch in loader:
            failed += list(batch.get("failed", []))
            if batch["video"].shape[0]:
                with autocast_for(device):
                    feats.append(backbone(batch["video"][:, 0].to(device)).float().cpu())
                idx += [int(i) for i in batch["index"]]
    x, positions, _ = tr.merge_ranks(feats, idx, failed)
    labels = _labels_of(records, positions)
    res = v2v_retrieval(x, labels, ks=(1, 5, 10))
    from .v2v_spec import SPEC as V2V             # the v2v protocol's metrics, on fine-tuned features

    values = {f"R@{k}": spec_value(V2V, f"R@{k}", res.hits[k], ctx, salt=k) for k in (1, 5, 10)}
    values["mAP"] = spec_value(V2V, "mAP", res.ap, ctx, salt=99)
    return {k: v.model_dump() for k, v in values.items()}
