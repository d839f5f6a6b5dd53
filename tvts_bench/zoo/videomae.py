"""VideoMAE: HuggingFace folders, the original VideoMAE .pth files, and this project's `videomae` runs.

All external formats load into ``transformers.VideoMAEModel`` (input ``[B, T, C, H, W]``; fixed 1-D
sin-cos positions over all tokens, not stored; no CLS token) wrapped by ``VideoMAEEncoder``, which
takes ``[B, C, T, H, W]`` and pools the way the checkpoint's own code does (MCG-NJU/VideoMAE,
modeling_finetune.py ``VisionTransformer.forward_features``; modeling_pretrain.py):

- fine-tuned with mean pooling (the default; ``fc_norm`` present, no final ``norm``): mean over
  tokens, then ``fc_norm``;
- fine-tuned with ``--use_cls`` (``use_mean_pooling=False``: final ``norm`` present, no ``fc_norm``):
  token 0 after the final norm, ``x[:, 0]`` as the original does (VideoMAE has no CLS token, so this
  is the first patch token);
- pretrain checkpoints (``encoder.norm`` present, no head): the original encoder outputs the
  final-normed tokens (``PretrainVisionTransformerEncoder.forward_features``) and has no pooled
  feature; the clip feature here is their mean;
- HF classification folders follow HF's classifier (``fc_norm`` of the mean, else token 0).

``pooling: mean|first`` in the card config overrides the detection.

Sizes come from the checkpoint, never from a card written for another size: width, tubelet, patch and
channels from ``patch_embed.proj.weight``, depth from the highest block present with all its tensors,
MLP size from ``mlp.fc1``, heads from the standard table by width (``importing.STANDARD_HEADS``),
frames and image size from the file's training ``args`` when it carries them (else the card's config,
else 16 x 224).

Original -> HuggingFace key mapping (``ORIGINAL_TO_HF`` below) is explicit. The original blocks keep
``attn.qkv.weight`` without bias plus separate ``attn.q_bias`` / ``attn.v_bias``: the qkv bias is
``cat(q_bias, zeros, v_bias)``, i.e. HF ``query.bias = q_bias``, ``key`` has no bias, ``value.bias =
v_bias``. A checkpoint without q_bias/v_bias fails loudly unless the card says ``qkv_bias: false``.
Layer scale (``gamma_1`` / ``gamma_2``, original ``init_values > 0``), which HF's VideoMAE lacks, is
applied by ``LayerScaleLinear``. Original LayerNorms use eps 1e-6 (HF's default is 1e-12): the config
here sets it.
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
from .base import IMAGENET_MEAN, IMAGENET_STD, Preprocess, TokenLayout
from .card import ModelCard
from .hf_config import load_config, model_type, read_processor_config
from .importing import block_depth, KeyMapper, heads_for_width, load_into, refuse_unused
from .safe_load import load_hf_folder_weights, load_weight_file, to_plain


@dataclass
class VideoMAEOptions:
    """Card ``config`` keys for VideoMAE (and VideoMAE V2) files. Only original .pth files without
    training ``args`` need sizes from the card; widths, depth, MLP and patch always come from the
    tensors, and heads from the standard table by width (``importing.STANDARD_HEADS``)."""

    num_heads: int | None = None     # only with a non-standard width, or pinned by hidden_size
    hidden_size: int | None = None   # pins num_heads to this width (a non-standard head count)
    embed_dim: int | None = None     # the original code's name for hidden_size
    num_frames: int | None = None    # frames the fixed sin-cos positions cover (default 16)
    image_size: int | None = None    # crop size they cover (default 224)
    qkv_bias: bool = True            # false: the file has no q_bias / v_bias
    pooling: str | None = None       # mean | first: overrides what the tensors say


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
    layer_scale: bool = False      # per-block gamma_1 / gamma_2 (original init_values > 0)

    def describe(self) -> str:
        """Which token or pooling gives the feature (shown as the adapter's feature description)."""
        if self.pooling == "first":
            return "token 0 (first patch token) after the final norm" if self.final_norm else \
                "token 0 (first patch token), no final norm"
        if self.fc_norm:
            return "mean over tokens, then fc_norm"
        return "mean over final-normed tokens" if self.final_norm else "mean over tokens"

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


class LayerScaleLinear(nn.Linear):
    """A Linear whose output is scaled per channel by ``gamma``: VideoMAE's layer scale.

    The original block computes ``x + gamma_1 * attn(norm1(x))`` and ``x + gamma_2 * mlp(norm2(x))``;
    ``attn`` ends in ``attn.proj`` and ``mlp`` in ``mlp.fc2`` (each followed by dropout, which commutes
    with a per-channel scale), so scaling those two Linears' outputs is the same function. HF's
    VideoMAELayer has no layer scale; ``VideoMAEEncoder`` swaps these Linears in, and gamma stays a
    separate trainable parameter as in the original (fine-tuning sees the same parametrisation).
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__(in_features, out_features)
        self.gamma = nn.Parameter(torch.ones(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * super().forward(x)


class VideoMAEEncoder(nn.Module):
    """``[B, C, T, H, W]`` -> ``[B, D]``: HF VideoMAEModel (+ layer scale) + pooling (+ fc_norm)."""

    def __init__(self, arch: VideoMAEArch):
        super().__init__()
        from transformers import VideoMAEModel

        self.arch = arch
        self.videomae = VideoMAEModel(arch.hf_config())
        if arch.layer_scale:
            for layer in self.videomae.encoder.layer:
                layer.attention.output.dense = LayerScaleLinear(arch.hidden_size, arch.hidden_size)
                layer.output.dense = LayerScaleLinear(arch.intermediate_size, arch.hidden_size)
        self.fc_norm = nn.LayerNorm(arch.hidden_size, eps=arch.fc_norm_eps) if arch.fc_norm else None
        self.feature_dim = arch.hidden_size

    def token_layout(self, frames: int, size: int) -> TokenLayout:
        """No CLS token: the tubelet tokens, time-major, as HF's Conv3d patch embedding flattens them."""
        a = self.arch
        g = size // a.patch_size
        return TokenLayout(cls=(), grid=(frames // a.tubelet_size, g, g), pooling=self.arch.describe())

    def forward_tokens(self, video: torch.Tensor) -> torch.Tensor:
        """``[B, C, T, H, W]`` -> ``[B, N, D]``: every token after the blocks (and the final norm, in
        checkpoints that have one; fc_norm applies after pooling, so mean-pooled ones are un-normed)."""
        a = self.arch
        if tuple(video.shape[2:]) != (a.num_frames, a.image_size, a.image_size):
            # the fixed sin-cos table covers exactly the configured tokens; say so instead of a
            # shape error from deep inside transformers
            raise ConfigError(
                f"this VideoMAE encoder takes {a.num_frames} frames of {a.image_size}x{a.image_size} "
                f"(its fixed positions are built for that), got {tuple(video.shape[2:])}",
                hint="evaluate with the model's own frames/size, or set num_frames / image_size in the "
                     "card's config if the checkpoint was trained with others")
        return self.videomae(pixel_values=video.permute(0, 2, 1, 3, 4)).last_hidden_state

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        tokens = self.forward_tokens(video)
        pooled = tokens[:, 0] if self.arch.pooling == "first" else tokens.mean(dim=1)
        return self.fc_norm(pooled) if self.fc_norm is not None else pooled


# -- format detection ---------------------------------------------------------------------------------

def is_hf_videomae_folder(path: Path) -> bool:
    return model_type(path) == "videomae"


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

# Tensors every original block has (besides the attention biases and the optional layer scale).
_BLOCK_TENSORS = ("attn.qkv.weight", "attn.proj.weight", "attn.proj.bias", "norm1.weight", "norm1.bias",
                  "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight",
                  "mlp.fc2.bias")


def original_args(content: Any) -> dict:
    """The training arguments an original VideoMAE file carries (``args``: an argparse.Namespace)."""
    args = content.get("args") if isinstance(content, dict) else None
    plain = to_plain(args) if args is not None else None
    return plain if isinstance(plain, dict) else {}


def _depth(state: dict[str, torch.Tensor], prefix: str, source: str) -> int:
    return block_depth(state, prefix, _BLOCK_TENSORS, source, hint="is this an original VideoMAE checkpoint?")


def _int_arg(args: dict, key: str) -> int | None:
    value = args.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def arch_from_original(state: dict[str, torch.Tensor], prefix: str, card_config: dict, *,
                       kind: str = "pretrain", args: dict | None = None,
                       source: str = "checkpoint") -> tuple[VideoMAEArch, list[str]]:
    """Sizes from the tensors (and the file's ``args``); the card only fills what neither tells.

    Returns the architecture and notes saying where each non-shape value came from.
    """
    args = args or {}
    notes: list[str] = []
    key = f"{prefix}patch_embed.proj.weight"
    if key not in state:
        raise CheckpointError(f"{source}: expected tensor {key!r} is absent",
                              hint="is this an original VideoMAE checkpoint?")
    w = state[key]                                          # [D, C, tubelet, p, p]
    if w.ndim != 5 or w.shape[3] != w.shape[4]:
        raise CheckpointError(f"{source}: {key} has shape {tuple(w.shape)}; expected a Conv3d weight "
                              "[D, C, tubelet, p, p] with square patches")
    hidden = int(w.shape[0])
    depth = _depth(state, prefix, source)
    heads, heads_from = heads_for_width(hidden, card_config, source)
    notes.append(f"width {hidden}, depth {depth}, {heads} heads ({heads_from})")
    fc1 = state[f"{prefix}blocks.{depth - 1}.mlp.fc1.weight"]      # a complete block
    tubelet = int(w.shape[2])
    if _int_arg(args, "tubelet_size") not in (None, tubelet):
        raise CheckpointError(f"{source}: args.tubelet_size {args['tubelet_size']} contradicts "
                              f"{key} (tubelet {tubelet})")

    def sized(name: str, arg_value: int | None, default: int) -> int:
        if arg_value is not None:
            if name in card_config and int(card_config[name]) != arg_value:
                notes.append(f"{name} {arg_value} from the file's args (the card says {card_config[name]})")
            return arg_value
        return int(card_config.get(name, default))

    frames_arg = _int_arg(args, "num_frames")
    if frames_arg is not None:
        frames_arg *= _int_arg(args, "num_segments") or 1     # all_frames in run_class_finetuning.py
    num_frames = sized("num_frames", frames_arg, 16)
    image_size = sized("image_size", _int_arg(args, "input_size"), 224)

    has_fc_norm = f"{prefix}fc_norm.weight" in state
    has_norm = f"{prefix}norm.weight" in state
    if kind == "finetune" and "use_mean_pooling" in args and bool(args["use_mean_pooling"]) != has_fc_norm:
        raise CheckpointError(
            f"{source}: args.use_mean_pooling is {args['use_mean_pooling']} but the file "
            f"{'has' if has_fc_norm else 'has no'} fc_norm tensors",
            hint="the checkpoint does not match its own training arguments; re-export it")
    # --use_cls fine-tunes keep the final norm and classify x[:, 0] (modeling_finetune.py)
    pooling = "first" if kind == "finetune" and has_norm and not has_fc_norm else "mean"
    if "pooling" in card_config:
        pooling = str(card_config["pooling"])
        notes.append(f"pooling {pooling!r} from the card's config")
    if pooling not in ("mean", "first"):
        raise CheckpointError(f"{source}: card config pooling {pooling!r} is not 'mean' or 'first'")
    layer_scale = any(re.fullmatch(re.escape(prefix) + r"blocks\.\d+\.gamma_[12]", k) for k in state)
    arch = VideoMAEArch(
        hidden_size=hidden, num_layers=depth, num_heads=heads,
        intermediate_size=int(fc1.shape[0]), patch_size=int(w.shape[-1]), tubelet_size=tubelet,
        num_channels=int(w.shape[1]), num_frames=num_frames, image_size=image_size,
        layer_norm_eps=1e-6, qkv_bias=bool(card_config.get("qkv_bias", True)),
        final_norm=has_norm and not has_fc_norm, fc_norm=has_fc_norm, fc_norm_eps=1e-6,
        pooling=pooling, layer_scale=layer_scale)
    if args.get("model"):
        notes.append(f"trained as {args['model']} ({num_frames} frames, {image_size}px)")
    if layer_scale:
        notes.append("layer scale (gamma_1/gamma_2) applied")
    return arch, notes


def import_original(state: dict[str, torch.Tensor], kind: str, source: str, card_config: dict, *,
                    args: dict | None = None, accept_unused: bool = False) -> tuple[VideoMAEEncoder, Any]:
    """An original VideoMAE state dict -> VideoMAEEncoder, with an ImportReport."""
    prefix = "encoder." if kind == "pretrain" else ""
    arch, notes = arch_from_original(state, prefix, card_config, kind=kind, args=args, source=source)
    model = VideoMAEEncoder(arch)
    mapper = KeyMapper(state, source, f"videomae-pth ({kind})")
    mapper.report.notes.extend(notes)
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
        if arch.layer_scale:
            why = "layer scale: the file has gamma_1/gamma_2, so every block needs both"
            target[dst + "attention.output.dense.gamma"] = mapper.take(src + "gamma_1", why=why)
            target[dst + "output.dense.gamma"] = mapper.take(src + "gamma_2", why=why)
    _check_fixed_positions(mapper, prefix + "pos_embed", model, source)
    mapper.ignore(r"^decoder\.|^encoder_to_decoder\.|^mask_token$|^decoder_pos_embed$",
                  "pretraining decoder")
    mapper.ignore(rf"^{re.escape(prefix)}head\.", "classifier head")
    report = mapper.finish()
    refuse_unused(report, accept_unused)
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


def import_hf_folder(folder: Path, card_config: dict, *,
                     accept_unused: bool = False) -> tuple[VideoMAEEncoder, Any, dict]:
    """A HuggingFace VideoMAE folder (VideoMAEModel / ForPreTraining / ForVideoClassification)."""
    from transformers import VideoMAEConfig

    cfg = load_config(folder, VideoMAEConfig, "VideoMAE")
    state, files = load_hf_folder_weights(folder)
    # Classification checkpoints carry fc_norm next to the backbone; the backbone may be prefixed.
    has_fc_norm = "fc_norm.weight" in state
    # HF's VideoMAEForVideoClassification classifies fc_norm(mean) or, without mean pooling, token 0
    # after the final layernorm (as the original --use_cls); backbone-only folders keep the mean.
    pooling = "first" if ("classifier.weight" in state and not has_fc_norm
                          and not cfg.use_mean_pooling) else "mean"
    arch = VideoMAEArch(
        hidden_size=cfg.hidden_size, num_layers=cfg.num_hidden_layers, num_heads=cfg.num_attention_heads,
        intermediate_size=cfg.intermediate_size, patch_size=cfg.patch_size, tubelet_size=cfg.tubelet_size,
        num_frames=cfg.num_frames, image_size=cfg.image_size, num_channels=cfg.num_channels,
        layer_norm_eps=cfg.layer_norm_eps,
        qkv_bias=bool(getattr(cfg, "qv_bias", getattr(cfg, "qkv_bias", True))),
        final_norm=not cfg.use_mean_pooling, fc_norm=has_fc_norm,
        fc_norm_eps=1e-5,   # HF's classifier builds fc_norm with nn.LayerNorm's default eps
        pooling=str(card_config.get("pooling", pooling)))
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
    refuse_unused(report, accept_unused)
    load_into(model, target, report)
    return model, report, read_processor_config(folder)


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


def load_videomae(card: ModelCard, path: Path, *, accept_unused: bool = False) -> ModuleAdapter:
    """Load ``path`` (HF folder, original .pth, or this project's checkpoint) for ``card``.

    ``accept_unused``: load even if some checkpoint tensors are unused (they stay on the report).
    """
    from .project import is_project_checkpoint, load_project

    if is_project_checkpoint(path):
        return load_project(card, path, accept_unused=accept_unused)
    if path.is_dir():
        if not is_hf_videomae_folder(path):
            raise CheckpointError(f"{path}: not a VideoMAE checkpoint folder",
                                  hint="expected a HuggingFace folder (config.json with model_type "
                                       "'videomae') or a project checkpoint folder")
        model, report, hf_pre = import_hf_folder(path, card.config, accept_unused=accept_unused)
        pre = _preprocess(card, model.arch, hf_pre)
    else:
        # Original files carry the training args (an argparse.Namespace): the restricted unpickler
        # reads them as data and refuses the file if its pickle asks to call anything.
        loaded = load_weight_file(path, allow_restricted=True)
        layout = original_layout(loaded.content)
        if layout is None:
            raise CheckpointError(f"{path}: not an original VideoMAE checkpoint (expected 'model' with "
                                  "'encoder.blocks.*' keys or 'module' with 'blocks.*' keys)")
        model, report = import_original(layout[0], layout[1], str(path), card.config,
                                        args=original_args(loaded.content), accept_unused=accept_unused)
        if loaded.placeholders:
            report.notes.append("pickled objects kept as inert data (never run): "
                                + ", ".join(loaded.placeholders))
        pre = _preprocess(card, model.arch)
    adapter = ModuleAdapter(card=card, video=model, preprocess=pre, feature_dim=model.feature_dim,
                            checkpoint=str(path), report=report)
    adapter.feature_desc = model.arch.describe()
    return adapter


# -- registration -------------------------------------------------------------------------------------

def detect_videomae(probe) -> str | None:
    if probe.path.is_dir():
        return "hf-videomae" if probe.model_type == "videomae" else None
    return "videomae-pth" if original_layout(probe.content) is not None else None


def _to_original(hf: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    """HF VideoMAEModel weights in the original MCG-NJU layout (``ORIGINAL_TO_HF`` read backwards): for
    the example hook only; the reference tests write their own conversion."""
    state = {f"{prefix}patch_embed.proj.weight": hf.embeddings.patch_embeddings.projection.weight,
             f"{prefix}patch_embed.proj.bias": hf.embeddings.patch_embeddings.projection.bias}
    if hf.layernorm is not None:                  # use_mean_pooling builds no final norm
        state.update({f"{prefix}norm.weight": hf.layernorm.weight, f"{prefix}norm.bias": hf.layernorm.bias})
    for i, layer in enumerate(hf.encoder.layer):
        att, o = layer.attention.attention, f"{prefix}blocks.{i}."
        state[o + "attn.qkv.weight"] = torch.cat([att.query.weight, att.key.weight, att.value.weight])
        state[o + "attn.q_bias"], state[o + "attn.v_bias"] = att.query.bias, att.value.bias
        for src_name, hf_name in ORIGINAL_BLOCK_TO_HF.items():
            module = layer.get_submodule(hf_name)
            state[f"{o}{src_name}.weight"], state[f"{o}{src_name}.bias"] = module.weight, module.bias
    return {k: v.detach().clone() for k, v in state.items()}


def example(tmp: Path) -> list:
    """A tiny HF VideoMAE folder (width 64), and an original pretrain .pth (``model`` with
    ``encoder.*``, q_bias / v_bias, training ``args``) at ViT-S width (6 heads by the table), 1 block."""
    import argparse

    from transformers import VideoMAEModel

    from .families import Example

    torch.manual_seed(0)
    small = VideoMAEArch(hidden_size=64, num_layers=1, num_heads=4, intermediate_size=128, num_frames=4,
                         image_size=32, final_norm=True, fc_norm=False)
    VideoMAEModel(small.hf_config()).save_pretrained(tmp / "videomae-hf")
    vits = VideoMAEArch(hidden_size=384, num_layers=1, num_heads=6, intermediate_size=1536, num_frames=4,
                        image_size=32, final_norm=True, fc_norm=False)
    state = _to_original(VideoMAEModel(vits.hf_config()), "encoder.")
    torch.save({"model": state, "args": argparse.Namespace(num_frames=4, input_size=32, tubelet_size=2)},
               tmp / "videomae_pretrain_tiny.pth")
    return [Example(str(tmp / "videomae-hf"), None, 64, 4, 32, what="hf-videomae folder by path"),
            Example("videomae-vitb-k400", tmp / "videomae_pretrain_tiny.pth", 384, 4, 32,
                    what="videomae-pth pretrain file, sizes from the tensors and args")]


def _register():
    from .families import FamilySpec, FormatSpec, register_family

    return register_family(FamilySpec(
        name="videomae",
        summary="VideoMAE: HF folders, original MCG-NJU/VideoMAE .pth, this project's videomae runs",
        load=load_videomae,
        formats=(FormatSpec("hf-videomae", "a HuggingFace VideoMAE folder (config.json model_type "
                                           "'videomae')", template="videomae-vitb-k400"),
                 FormatSpec("videomae-pth", "an original VideoMAE / VideoMAE V2 checkpoint ('model' with "
                                            "encoder.* or 'module' with blocks.*)",
                            template="videomae-vitb-k400")),
        card_formats=("project", "hf"), detect=detect_videomae, detect_order=20,
        card_config=VideoMAEOptions, hf_model_types=("videomae",), example=example))


FAMILY = _register()
