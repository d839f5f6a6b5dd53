"""SVT (self-supervised video transformer) and original TimeSformer checkpoints.

SVT (kahnchana/svt, CVPR 2022) trains a TimeSformer ViT-B/16 (``models/timesformer.py``,
``get_vit_base_patch16_224``: divided space-time attention, 8 frames, 224 px, qkv bias, LayerNorm eps
1e-6) with DINO. Its ``train_ssl.py`` saves ``{'student', 'teacher', 'motion_student',
'motion_teacher', 'optimizer', 'epoch', 'args', 'dino_loss'}``; the student is wrapped in DDP
(``module.backbone.*``), the teacher is not (``backbone.*``); both carry the DINO projection head
(``head.*``). SVT's own evaluation (``eval_linear.py``, ``eval_knn.py``, ``--checkpoint_key teacher``)
takes ``ckpt['teacher']``, keeps the ``backbone.`` keys and uses ``forward_features``: the final-normed
CLS token. This importer does the same. ``args`` is an argparse.Namespace: the file is read with the
restricted unpickler (inert data, nothing from the file runs).

The original TimeSformer layout (facebookresearch/TimeSformer ``vit.py``, the same module SVT copied)
loads too: ``model_state`` / ``state_dict`` / a flat dict, keys with ``model.``/``module.`` prefixes;
a classifier ``head`` is ignored.

The tensors load into ``transformers.TimesformerModel`` (same equations; explicit key mapping below).
HF's layer reshapes with the configured frames and width, so input of another frame count or size is
refused here with a clear error (the original would interpolate the positions nearest-neighbour; this
benchmark feeds each model its own frames and size). Sizes come from the tensors: width and patch from
``patch_embed.proj``, frames from ``time_embed``, image size from ``pos_embed``, depth from the
complete blocks, heads from the standard table by width.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError
from .adapters import ModuleAdapter
from .base import Preprocess, TokenLayout
from .card import ModelCard
from .importing import KeyMapper, block_depth, heads_for_width, load_into, refuse_unused
from .safe_load import load_weight_file


@dataclass
class SVTOptions:
    """Card ``config`` keys for SVT / TimeSformer files."""

    checkpoint_key: str = "teacher"   # which network of a DINO checkpoint (SVT evaluates the teacher)
    num_heads: int | None = None      # only for a non-standard width
    hidden_size: int | None = None    # pins num_heads to this width


# original key (after the backbone prefix) -> transformers.TimesformerModel key
ORIGINAL_TO_HF = {
    "cls_token": "embeddings.cls_token",
    "pos_embed": "embeddings.position_embeddings",
    "time_embed": "embeddings.time_embeddings",
    "patch_embed.proj.weight": "embeddings.patch_embeddings.projection.weight",
    "patch_embed.proj.bias": "embeddings.patch_embeddings.projection.bias",
    "norm.weight": "layernorm.weight",
    "norm.bias": "layernorm.bias",
}
# per block i: original blocks.i.<name> -> encoder.layer.i.<name> (each with .weight and .bias)
BLOCK_TO_HF = {
    "norm1": "layernorm_before",
    "attn.qkv": "attention.attention.qkv",
    "attn.proj": "attention.output.dense",
    "temporal_norm1": "temporal_layernorm",
    "temporal_attn.qkv": "temporal_attention.attention.qkv",
    "temporal_attn.proj": "temporal_attention.output.dense",
    "temporal_fc": "temporal_dense",
    "norm2": "layernorm_after",
    "mlp.fc1": "intermediate.dense",
    "mlp.fc2": "output.dense",
}
STATE_KEYS = ("model_state", "state_dict", "model")          # TimeSformer / generic containers
_PREFIX = re.compile(r"^((?:module\.)?(?:backbone\.|model\.)?)time_embed$")


class TimeSformerEncoder(nn.Module):
    """``[B, C, T, H, W]`` -> ``[B, D]``: TimesformerModel's final-normed CLS token."""

    def __init__(self, cfg: Any):
        super().__init__()
        from transformers import TimesformerModel

        self.timesformer = TimesformerModel(cfg)
        self.feature_dim = int(cfg.hidden_size)

    def token_layout(self, frames: int, size: int) -> TokenLayout:
        """CLS first, then the patch tokens space-major: for each patch position, every frame (the
        original's ``rearrange(x, '(b t) n m -> b (n t) m')``, which HF's embeddings reproduce)."""
        g = size // int(self.timesformer.config.patch_size)
        return TokenLayout(cls=(0,), grid=(frames, g, g), order="hwt", pooling="the CLS token (position 0)")

    def forward_tokens(self, video: torch.Tensor) -> torch.Tensor:
        """``[B, 1 + P*T, D]``: every token after the final norm."""
        c = self.timesformer.config
        if tuple(video.shape[2:]) != (c.num_frames, c.image_size, c.image_size):
            raise ConfigError(f"this TimeSformer takes {c.num_frames} frames of {c.image_size}x{c.image_size}, "
                              f"got {tuple(video.shape[2:])}", hint="evaluate with the model's own frames/size")
        return self.timesformer(pixel_values=video.permute(0, 2, 1, 3, 4)).last_hidden_state

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.forward_tokens(video)[:, 0]


def svt_state(content: Any, key: str = "teacher") -> tuple[dict[str, torch.Tensor], str, str] | None:
    """(state dict, key prefix, where it came from) for an SVT / TimeSformer file, else None."""
    if not isinstance(content, dict):
        return None
    candidates = [(key, content.get(key))] + [(k, content.get(k)) for k in STATE_KEYS] + [("(top level)", content)]
    for where, state in candidates:
        if not isinstance(state, dict):
            continue
        for k in state:
            m = _PREFIX.match(str(k))
            if m and f"{m.group(1)}blocks.0.temporal_fc.weight" in state:
                return state, m.group(1), where
    return None


def hf_config(state: dict, p: str, opts: SVTOptions, source: str):
    from transformers import TimesformerConfig

    def tensor(name: str, ndim: int) -> torch.Tensor:
        value = state.get(p + name)
        if not isinstance(value, torch.Tensor) or value.ndim != ndim or 0 in value.shape:
            raise CheckpointError(f"{source}: expected a {ndim}-d tensor {p + name!r}",
                                  hint="is this an SVT / TimeSformer checkpoint? check-model --show-keys lists its keys")
        return value

    w = tensor("patch_embed.proj.weight", 4)                   # [D, C, p, p]: per-frame Conv2d
    d = int(w.shape[0])
    n = int(tensor("pos_embed", 3).shape[1]) - 1
    side = int(round(n ** 0.5))
    if side * side != n:
        raise CheckpointError(f"{source}: pos_embed has {n} patch positions: not a square grid")
    required = tuple(f"{b}.weight" for b in BLOCK_TO_HF)
    depth = block_depth(state, p, required, source, hint="is this an SVT / TimeSformer checkpoint?")
    card = {k: v for k, v in (("num_heads", opts.num_heads), ("hidden_size", opts.hidden_size)) if v}
    heads, _ = heads_for_width(d, card, source)
    return TimesformerConfig(
        image_size=side * int(w.shape[-1]), patch_size=int(w.shape[-1]), num_channels=int(w.shape[1]),
        num_frames=int(tensor("time_embed", 3).shape[1]), hidden_size=d, num_hidden_layers=depth,
        num_attention_heads=heads, intermediate_size=int(tensor("blocks.0.mlp.fc1.weight", 2).shape[0]),
        hidden_act="gelu", layer_norm_eps=1e-6, qkv_bias=f"{p}blocks.0.attn.qkv.bias" in state,
        attention_type="divided_space_time", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        drop_path_rate=0)


def import_svt(state: dict, p: str, source: str, opts: SVTOptions, *, accept_unused: bool = False):
    cfg = hf_config(state, p, opts, source)
    model = TimeSformerEncoder(cfg)
    mapper = KeyMapper(state, source, "timesformer-pth")
    target = {f"timesformer.{dst}": mapper.take(p + src) for src, dst in ORIGINAL_TO_HF.items()}
    for i in range(cfg.num_hidden_layers):
        for src, dst in BLOCK_TO_HF.items():
            for part in ("weight", "bias"):
                if part == "bias" and src.endswith("qkv") and not cfg.qkv_bias:
                    continue
                target[f"timesformer.encoder.layer.{i}.{dst}.{part}"] = mapper.take(f"{p}blocks.{i}.{src}.{part}")
    head = re.escape(p[: -len("backbone.")]) if p.endswith("backbone.") else re.escape(p)
    mapper.ignore(rf"^{head}head\.", "projection / classifier head (DINO head: pretraining only)")
    report = mapper.finish()
    refuse_unused(report, accept_unused)
    load_into(model, target, report)
    return model, report


def load_svt(card: ModelCard, path: Path, *, accept_unused: bool = False) -> ModuleAdapter:
    opts = SVTOptions(**{k: v for k, v in card.config.items() if k in SVTOptions.__dataclass_fields__})
    loaded = load_weight_file(path, allow_restricted=True)
    found = svt_state(loaded.content, opts.checkpoint_key)
    if found is None:
        raise CheckpointError(f"{path}: not an SVT / TimeSformer checkpoint (no 'time_embed' with "
                              "divided space-time blocks under 'teacher', 'model_state' or the top level)")
    state, prefix, where = found
    model, report = import_svt(state, prefix, str(path), opts, accept_unused=accept_unused)
    others = sorted(k for k, v in loaded.content.items() if k != where and isinstance(v, dict)) \
        if isinstance(loaded.content, dict) else []
    report.notes.append(f"read {where!r} (keys {prefix or 'unprefixed'}*)"
                        + (f"; not read: {', '.join(others)}" if others else ""))
    if loaded.placeholders:
        report.notes.append("pickled objects kept as inert data (never run): " + ", ".join(loaded.placeholders))
    c = model.timesformer.config
    short = round(c.image_size * card.preprocess.short_side / card.preprocess.size)
    pre = Preprocess(num_frames=c.num_frames, size=c.image_size, short_side=max(short, c.image_size),
                     mean=tuple(card.preprocess.mean), std=tuple(card.preprocess.std))
    return ModuleAdapter(card=card, video=model, preprocess=pre, feature_dim=model.feature_dim,
                         checkpoint=str(path), report=report)


# -- registration -------------------------------------------------------------------------------------

def detect_svt(probe) -> str | None:
    if probe.path.is_dir():
        return None
    return "timesformer-pth" if svt_state(probe.content) is not None else None


def example(tmp: Path) -> list:
    """A tiny SVT-style DINO checkpoint: teacher (``backbone.*`` + DINO ``head.*``), DDP student
    (``module.backbone.*``) and training ``args``; width 384 (6 heads), 1 block, 4 frames of 32 px."""
    import argparse

    from transformers import TimesformerConfig, TimesformerModel

    from .families import Example

    torch.manual_seed(0)
    hf = TimesformerModel(TimesformerConfig(image_size=32, patch_size=16, num_frames=4, hidden_size=384,
                                            num_hidden_layers=1, num_attention_heads=6, intermediate_size=1536,
                                            layer_norm_eps=1e-6, qkv_bias=True))
    own = hf.state_dict()
    backbone = {src: own[dst] for src, dst in ORIGINAL_TO_HF.items()}
    for src, dst in BLOCK_TO_HF.items():
        for part in ("weight", "bias"):
            backbone[f"blocks.0.{src}.{part}"] = own[f"encoder.layer.0.{dst}.{part}"]
    teacher = {f"backbone.{k}": v.clone() for k, v in backbone.items()}
    teacher.update({"head.mlp.0.weight": torch.randn(64, 384), "head.last_layer.weight_v": torch.randn(128, 64)})
    student = {f"module.{k}": v + 0.1 for k, v in teacher.items()}
    torch.save({"teacher": teacher, "student": student, "epoch": 1, "dino_loss": {"center": torch.zeros(1, 128)},
                "args": argparse.Namespace(arch="timesformer", out_dim=128)}, tmp / "svt_tiny.pth")
    return [Example("svt-vitb-k400", tmp / "svt_tiny.pth", 384, 4, 32, what="SVT DINO checkpoint (teacher)")]


def _register():
    from .families import FamilySpec, FormatSpec, register_family

    return register_family(FamilySpec(
        name="svt",
        summary="SVT (DINO-trained TimeSformer, teacher CLS) and original TimeSformer checkpoints",
        load=load_svt,
        formats=(FormatSpec("timesformer-pth", "an SVT checkpoint ('teacher' with backbone.*) or an original "
                                               "TimeSformer checkpoint (time_embed, divided space-time blocks)",
                            template="svt-vitb-k400"),),
        detect=detect_svt, detect_order=30, card_config=SVTOptions, example=example))


FAMILY = _register()
