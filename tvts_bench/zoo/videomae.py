"""VideoMAE: HuggingFace folders, the original VideoMAE .pth files, and this project's `videomae` runs.

All external formats load into ``transformers.VideoMAEModel`` (input ``[B, T, C, H, W]``; fixed 1-D
sin-cos positions over all tokens, not stored; no CLS token) wrapped by ``VideoMAEEncoder``, which
takes ``[B, C, T, H, W]`` and pools:

- fine-tuned checkpoints (``fc_norm`` present): mean over tokens, then ``fc_norm`` (as VideoMAE's
  classifier does);
- pretrain checkpoints (final ``norm`` present, no ``fc_norm``): mean over the final-normed tokens;
- ``pooling: first`` in the card config takes the first token instead (VideoMAE has no CLS; rarely
  what you want).

Original -> HuggingFace key mapping (``ORIGINAL_TO_HF`` below) is explicit. The original blocks keep
``attn.qkv.weight`` without bias plus separate ``attn.q_bias`` / ``attn.v_bias``: the qkv bias is
``cat(q_bias, zeros, v_bias)``, i.e. HF ``query.bias = q_bias``, ``key`` has no bias, ``value.bias =
v_bias``. A checkpoint without q_bias/v_bias fails loudly unless the card says ``qkv_bias: false``.
Original LayerNorms use eps 1e-6 (HF's default is 1e-12): the config here sets it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError
from .adapters import ModuleAdapter
from .base import IMAGENET_MEAN, IMAGENET_STD, Preprocess
from .card import ModelCard
from .importing import KeyMapper, load_into
from .safe_load import load_hf_folder_weights, load_weight_file


@dataclass
class VideoMAEArch:
    """Architecture of a VideoMAE encoder (what transformers.VideoMAEConfig needs, plus pooling)."""

    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    patch_size: int = 16
    tubelet_size: int = 2
    num_frames: int = 16
    image_size: int = 224
    num_channels: int = 3
    layer_norm_eps: float = 1e-6
    qkv_bias: bool = True
    final_norm: bool = False       # per-token LayerNorm after the blocks (pretrain checkpoints)
    fc_norm: bool = True           # LayerNorm after mean pooling (fine-tuned checkpoints)
    fc_norm_eps: float = 1e-6
    pooling: str = "mean"          # mean | first

    def hf_config(self) -> Any:
        from transformers import VideoMAEConfig

        return VideoMAEConfig(
            image_size=self.image_size, patch_size=self.patch_size, num_channels=self.num_channels,
            num_frames=self.num_frames, tubelet_size=self.tubelet_size, hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers, num_attention_heads=self.num_heads,
            intermediate_size=self.intermediate_size, hidden_act="gelu",
            layer_norm_eps=self.layer_norm_eps, qkv_bias=self.qkv_bias,
            use_mean_pooling=not self.final_norm, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0)


# Original VideoMAE block names -> HF VideoMAEModel names (per block i; qkv handled separately).
ORIGINAL_TO_HF = {
    "patch_embed.proj.weight": "videomae.embeddings.patch_embeddings.projection.weight",
    "patch_embed.proj.bias": "videomae.embeddings.patch_embeddings.projection.bias",
    "norm.weight": "videomae.layernorm.weight",
    "norm.bias": "videomae.layernorm.bias",
    "fc_norm.weight": "fc_norm.weight",
    "fc_norm.bias": "fc_norm.bias",
}
ORIGINAL_BLOCK_TO_HF = {
    "norm1": "layernorm_before",
    "attn.proj": "attention.output.dense",
    "norm2": "layernorm_after",
    "mlp.fc1": "intermediate.dense",
    "mlp.fc2": "output.dense",
}


class VideoMAEEncoder(nn.Module):
    """``[B, C, T, H, W]`` -> ``[B, D]``: HF VideoMAEModel + pooling (+ fc_norm)."""

    def __init__(self, arch: VideoMAEArch):
        super().__init__()
        from transformers import VideoMAEModel

        self.arch = arch
        self.videomae = VideoMAEModel(arch.hf_config())
        self.fc_norm = nn.LayerNorm(arch.hidden_size, eps=arch.fc_norm_eps) if arch.fc_norm else None
        self.feature_dim = arch.hidden_size

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        tokens = self.videomae(pixel_values=video.permute(0, 2, 1, 3, 4)).last_hidden_state
        pooled = tokens[:, 0] if self.arch.pooling == "first" else tokens.mean(dim=1)
        return self.fc_norm(pooled) if self.fc_norm is not None else pooled


# -- format detection ---------------------------------------------------------------------------------

def is_hf_videomae_folder(path: Path) -> bool:
    cfg = path / "config.json"
    if not (path.is_dir() and cfg.is_file()):
        return False
    try:
        return json.loads(cfg.read_text()).get("model_type") == "videomae"
    except (json.JSONDecodeError, OSError):
        return False


def original_layout(content: Any) -> tuple[dict[str, torch.Tensor], str] | None:
    """If ``content`` is an original VideoMAE checkpoint: (encoder state without prefix, kind)."""
    if not isinstance(content, dict):
        return None
    for key, kind in (("model", None), ("module", None), ("state_dict", None), (None, None)):
        state = content if key is None else content.get(key)
        if not isinstance(state, dict) or not state:
            continue
        if not all(isinstance(v, torch.Tensor) for v in state.values()):
            continue
        if any(k.startswith("encoder.blocks.") for k in state):
            return state, "pretrain"
        if any(k.startswith("blocks.") and k.endswith("attn.qkv.weight") for k in state) and \
                "patch_embed.proj.weight" in state and not any(k.startswith("cls_token") for k in state):
            return state, "finetune"
    return None


# -- importers ----------------------------------------------------------------------------------------

_HEADS = {384: 6, 768: 12, 1024: 16, 1280: 16}


def arch_from_original(state: dict[str, torch.Tensor], prefix: str, card_config: dict) -> VideoMAEArch:
    """Infer sizes from tensor shapes; what shapes cannot tell (heads, frames) comes from the card."""
    w = state[f"{prefix}patch_embed.proj.weight"]          # [D, C, tubelet, p, p]
    hidden = int(w.shape[0])
    depth = 1 + max(int(m.group(1)) for k in state
                    if (m := re.match(re.escape(prefix) + r"blocks\.(\d+)\.", k)))
    fc1 = state[f"{prefix}blocks.0.mlp.fc1.weight"]
    has_fc_norm = f"{prefix}fc_norm.weight" in state
    has_norm = f"{prefix}norm.weight" in state
    return VideoMAEArch(
        hidden_size=hidden, num_layers=depth,
        num_heads=int(card_config.get("num_heads", _HEADS.get(hidden, max(1, hidden // 64)))),
        intermediate_size=int(fc1.shape[0]), patch_size=int(w.shape[-1]), tubelet_size=int(w.shape[2]),
        num_channels=int(w.shape[1]), num_frames=int(card_config.get("num_frames", 16)),
        image_size=int(card_config.get("image_size", 224)), layer_norm_eps=1e-6,
        qkv_bias=bool(card_config.get("qkv_bias", True)), final_norm=has_norm and not has_fc_norm,
        fc_norm=has_fc_norm, fc_norm_eps=1e-6, pooling=str(card_config.get("pooling", "mean")))


def import_original(state: dict[str, torch.Tensor], kind: str, source: str,
                    card_config: dict) -> tuple[VideoMAEEncoder, Any]:
    """An original VideoMAE state dict -> VideoMAEEncoder, with an ImportReport."""
    prefix = "encoder." if kind == "pretrain" else ""
    arch = arch_from_original(state, prefix, card_config)
    model = VideoMAEEncoder(arch)
    mapper = KeyMapper(state, source, f"videomae-pth ({kind})")
    target: dict[str, torch.Tensor] = {}
    for src, dst in ORIGINAL_TO_HF.items():
        if dst.startswith("videomae.layernorm") and not arch.final_norm:
            continue
        if dst.startswith("fc_norm") and not arch.fc_norm:
            continue
        target[dst] = mapper.take(prefix + src)
    d = arch.hidden_size
    for i in range(arch.num_layers):
        src = f"{prefix}blocks.{i}."
        dst = f"videomae.encoder.layer.{i}."
        qkv = mapper.take(src + "attn.qkv.weight")
        target[dst + "attention.attention.query.weight"] = qkv[:d]
        target[dst + "attention.attention.key.weight"] = qkv[d:2 * d]
        target[dst + "attention.attention.value.weight"] = qkv[2 * d:]
        if arch.qkv_bias:
            if mapper.has(src + "attn.qkv.bias"):   # a merged bias (timm-style export)
                bias = mapper.take(src + "attn.qkv.bias")
                if bias[d:2 * d].abs().max() > 0:
                    raise CheckpointError(f"{source}: {src}attn.qkv.bias has a non-zero key bias, "
                                          "which VideoMAE (and HF VideoMAEModel) cannot represent")
                target[dst + "attention.attention.query.bias"] = bias[:d]
                target[dst + "attention.attention.value.bias"] = bias[2 * d:]
            else:
                why = ("VideoMAE's qkv bias is cat(q_bias, 0, v_bias); if this model was trained "
                       "without qkv bias, set `qkv_bias: false` in the card's config")
                target[dst + "attention.attention.query.bias"] = mapper.take(src + "attn.q_bias", why=why)
                target[dst + "attention.attention.value.bias"] = mapper.take(src + "attn.v_bias", why=why)
        for s, t in ORIGINAL_BLOCK_TO_HF.items():
            for p in ("weight", "bias"):
                target[f"{dst}{t}.{p}"] = mapper.take(f"{src}{s}.{p}")
    _check_fixed_positions(mapper, prefix + "pos_embed", model, source)
    mapper.ignore(r"^decoder\.|^encoder_to_decoder\.|^mask_token$|^decoder_pos_embed$",
                  "pretraining decoder")
    mapper.ignore(r"^head\.", "classifier head")
    report = mapper.finish()
    load_into(model, target, report)
    return model, report


def _check_fixed_positions(mapper: KeyMapper, key: str, model: VideoMAEEncoder, source: str) -> None:
    """Some exports store the (fixed) sin-cos table; accept it only if it equals the one we use."""
    if not mapper.has(key):
        return
    stored = mapper.take(key).float().reshape(-1, model.arch.hidden_size)
    ours = model.videomae.embeddings.position_embeddings.float().reshape(-1, model.arch.hidden_size)
    if stored.shape != ours.shape or not torch.allclose(stored, ours, atol=1e-4):
        raise CheckpointError(
            f"{source}: {key} is not the fixed sin-cos table for {model.arch.num_frames} frames at "
            f"{model.arch.image_size}px (learned positions, or other frames/size)",
            hint="set num_frames / image_size in the card's config to the checkpoint's values")


def import_hf_folder(folder: Path, card_config: dict) -> tuple[VideoMAEEncoder, Any, dict]:
    """A HuggingFace VideoMAE folder (VideoMAEModel / ForPreTraining / ForVideoClassification)."""
    from transformers import VideoMAEConfig

    try:
        cfg = VideoMAEConfig.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{folder / 'config.json'}: not a readable VideoMAE config ({e})") from None
    state, files = load_hf_folder_weights(folder)
    # Classification checkpoints carry fc_norm next to the backbone; the backbone may be prefixed.
    has_fc_norm = "fc_norm.weight" in state
    arch = VideoMAEArch(
        hidden_size=cfg.hidden_size, num_layers=cfg.num_hidden_layers, num_heads=cfg.num_attention_heads,
        intermediate_size=cfg.intermediate_size, patch_size=cfg.patch_size, tubelet_size=cfg.tubelet_size,
        num_frames=cfg.num_frames, image_size=cfg.image_size, num_channels=cfg.num_channels,
        layer_norm_eps=cfg.layer_norm_eps,
        qkv_bias=bool(getattr(cfg, "qv_bias", getattr(cfg, "qkv_bias", True))),
        final_norm=not cfg.use_mean_pooling, fc_norm=has_fc_norm,
        fc_norm_eps=1e-5,   # HF's classifier builds fc_norm with nn.LayerNorm's default eps
        pooling=str(card_config.get("pooling", "mean")))
    model = VideoMAEEncoder(arch)
    source = str(files[0] if len(files) == 1 else folder)
    mapper = KeyMapper(state, source, "hf")
    expected = model.state_dict()
    target: dict[str, torch.Tensor] = {}
    for key in expected:
        if key.startswith("fc_norm."):
            target[key] = mapper.take(key)
            continue
        inner = key[len("videomae."):]
        candidates = [f"videomae.{inner}", inner]
        # transformers < 4.4x stored the q/v biases as q_bias / v_bias on the attention module
        m = re.match(r"(encoder\.layer\.\d+\.attention\.attention\.)(query|value)\.bias$", inner)
        if m:
            legacy = m.group(1) + ("q_bias" if m.group(2) == "query" else "v_bias")
            candidates += [f"videomae.{legacy}", legacy]
        found = next((c for c in candidates if mapper.has(c)), None)
        if found is None:
            raise CheckpointError(f"{source}: expected tensor {inner!r} is absent (looked for "
                                  f"{', '.join(candidates)})",
                                  hint="the folder's weights do not match its config.json")
        target[key] = mapper.take(found)
    mapper.ignore(r"^decoder\.|^encoder_to_decoder\.|^mask_token$|position_embeddings$",
                  "pretraining decoder / fixed positions")
    mapper.ignore(r"^classifier\.", "classifier head")
    report = mapper.finish()
    load_into(model, target, report)
    return model, report, _hf_preprocess_config(folder)


def _hf_preprocess_config(folder: Path) -> dict:
    for name in ("video_preprocessor_config.json", "preprocessor_config.json"):
        f = folder / name
        if f.is_file():
            try:
                return json.loads(f.read_text())
            except json.JSONDecodeError as e:
                raise CheckpointError(f"{f}: not valid JSON ({e})") from None
    return {}


def _preprocess(card: ModelCard, arch: VideoMAEArch, hf_pre: dict | None = None) -> Preprocess:
    hf_pre = hf_pre or {}
    mean = tuple(hf_pre.get("image_mean", card.preprocess.mean or IMAGENET_MEAN))
    std = tuple(hf_pre.get("image_std", card.preprocess.std or IMAGENET_STD))
    size_cfg = hf_pre.get("size") or {}
    short = size_cfg.get("shortest_edge") if isinstance(size_cfg, dict) else None
    if short is None:
        short = round(arch.image_size * card.preprocess.short_side / card.preprocess.size)
    return Preprocess(num_frames=arch.num_frames, size=arch.image_size,
                      short_side=max(int(short), arch.image_size), mean=mean, std=std)


def load_videomae(card: ModelCard, path: Path) -> ModuleAdapter:
    """Load ``path`` (HF folder, original .pth, or this project's checkpoint) for ``card``."""
    from .project import is_project_checkpoint, load_project

    if is_project_checkpoint(path):
        return load_project(card, path)
    if path.is_dir():
        if not is_hf_videomae_folder(path):
            raise CheckpointError(f"{path}: not a VideoMAE checkpoint folder",
                                  hint="expected a HuggingFace folder (config.json with model_type "
                                       "'videomae') or a project checkpoint folder")
        model, report, hf_pre = import_hf_folder(path, card.config)
        pre = _preprocess(card, model.arch, hf_pre)
    else:
        loaded = load_weight_file(path)
        layout = original_layout(loaded.content)
        if layout is None:
            raise CheckpointError(f"{path}: not an original VideoMAE checkpoint (expected 'model' with "
                                  "'encoder.blocks.*' keys or 'module' with 'blocks.*' keys)")
        model, report = import_original(layout[0], layout[1], str(path), card.config)
        pre = _preprocess(card, model.arch)
    return ModuleAdapter(card=card, video=model, preprocess=pre, feature_dim=model.feature_dim,
                         checkpoint=str(path), report=report)
