"""Frozen-in-Time, MCQ and MILES: the released ``.pth`` files (video tower, DistilBERT text tower).

All three are ``torch.save({'arch', 'epoch', 'state_dict', 'optimizer', 'monitor_best', 'config'})``
with ``state_dict`` keys ``module.video_model.*``, ``module.text_model.*`` (a HF DistilBertModel),
``module.vid_proj.0.*`` and the text projection ``module.txt_proj.1.*`` (Frozen) or
``module.text_proj.1.*`` (MCQ, MILES). ``config`` is the authors' ConfigParser object: the file is read
with the restricted unpickler, which keeps it as inert data and never runs anything from the file.

Two video towers share the layout (docs/model_families.md has the equations and the commits read):

- **space-time** (m-bain/frozen-in-time ``model/video_transformer.py`` ``SpaceTimeTransformer``; MILES
  uses the same code): per-frame Conv2d patches; ``pos_embed`` (CLS + one frame's patches) tiled over
  frames plus ``temporal_embed`` repeated within each frame; each block runs time attention
  (``norm3``, ``timeattn``) and then space attention (``norm1``, ``attn``) in "VarAttention" form: the
  CLS token attends to every token, the other tokens attend within their frame (space) or their
  spatial position (time), each group with the CLS key/value prepended. Quirk kept: the space branch's
  residual is added to the block INPUT, not to the time-attended tokens (``space_residual = x +
  space_output``), so time attention reaches the output only through the space attention's input.
- **space only** (TencentARC/MCQ ``model/video_former.py`` ``Video_Former``, the MCQ evaluation model):
  no ``temporal_embed``, no time attention, final norm named ``norm1``. The MCQ pretraining file also
  holds the BridgeFormer (``crossattn``/``bridgeattn``/``bridge_mlp``/``norm4-7`` in each block, a
  second final norm ``norm2``, ``bridge_proj``), which the authors drop for downstream evaluation:
  those tensors are ignored by design.

The feature is ``norm(x)[:, 0]``, the final-normed CLS token (``forward_features``; head and pre_logits
are Identity). Fewer frames than trained take the first ``temporal_embed`` slices (the original slices
``total_pos_embed[:, :curr_patches]``); more frames, or another image size, are refused as the
original refuses them (``assert F <= num_frames``; "different spatial resolution not implemented").

Text (zero-shot retrieval): DistilBERT's last hidden state at token 0 -> ``txt_proj`` (ReLU, Linear);
video joint space: ``vid_proj`` (Linear) of the CLS feature; the retrieval protocols compare by cosine
as the original ``sim_matrix``. The text tower needs a DistilBERT tokenizer on this machine: a local
folder in ``config.text_model`` (or ``$TVTS_BENCH_TEXT_MODEL``), e.g. distilbert-base-uncased saved
locally. Its ``config.json`` is used if present; otherwise the DistilBERT config is built from the
tensor shapes (heads: ``text_num_heads``, default width // 64 = 12 for distilbert-base). Without a
tokenizer the text tensors are reported as ignored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError, MissingPathError
from .adapters import ModuleAdapter, TextTower
from .base import IMAGENET_MEAN, IMAGENET_STD, Preprocess, TokenLayout
from .card import ModelCard
from .hf_config import load_config
from .importing import KeyMapper, block_depth, heads_for_width, load_into, refuse_unused
from .safe_load import load_weight_file


@dataclass
class FrozenOptions:
    """Card ``config`` keys for Frozen-in-Time / MCQ / MILES files."""

    variant: str | None = None        # space-time | space-only; None: from the tensors (timeattn or not)
    num_frames: int | None = None     # space-only (MCQ) files store no frame count: the most frames the
                                      # model takes (the released MCQ model: 4); space-time: temporal_embed
    num_heads: int | None = None      # only for a non-standard width (standard: importing.STANDARD_HEADS)
    hidden_size: int | None = None    # pins num_heads to this width
    text_model: str | None = None     # local folder with a DistilBERT tokenizer (+ optional config.json)
    text_max_len: int | None = None   # None: the tokenizer's own limit, as the original test.py truncates
    text_num_heads: int | None = None # DistilBERT heads when the folder has no config.json (width // 64)


@dataclass
class SpaceTimeArch:
    embed_dim: int
    depth: int
    num_heads: int
    mlp_hidden: int
    patch_size: int
    in_chans: int
    img_size: int
    num_frames: int
    time_attention: bool             # True: Frozen / MILES SpaceTimeBlock; False: MCQ Video_Block
    qkv_bias: bool = True
    eps: float = 1e-6                # partial(nn.LayerNorm, eps=1e-6) in all three repositories


# original video_model.<key> -> SpaceTimeTransformer <key>; the final norm is "norm" (Frozen, MILES)
# or "norm1" (MCQ Video_Former), resolved in _video_keys.
VIDEO_KEYS = {
    "cls_token": "cls_token",
    "pos_embed": "pos_embed",
    "patch_embed.proj.weight": "patch_embed.weight",
    "patch_embed.proj.bias": "patch_embed.bias",
}
TIME_KEYS = {"temporal_embed": "temporal_embed"}
BLOCK_KEYS = {  # per block i: original blocks.i.<key> -> blocks.i.<key>
    "norm1.weight": "norm1.weight", "norm1.bias": "norm1.bias",
    "attn.qkv.weight": "attn.qkv.weight", "attn.qkv.bias": "attn.qkv.bias",
    "attn.proj.weight": "attn.proj.weight", "attn.proj.bias": "attn.proj.bias",
    "norm2.weight": "norm2.weight", "norm2.bias": "norm2.bias",
    "mlp.fc1.weight": "mlp.fc1.weight", "mlp.fc1.bias": "mlp.fc1.bias",
    "mlp.fc2.weight": "mlp.fc2.weight", "mlp.fc2.bias": "mlp.fc2.bias",
}
BLOCK_TIME_KEYS = {
    "norm3.weight": "norm3.weight", "norm3.bias": "norm3.bias",
    "timeattn.qkv.weight": "timeattn.qkv.weight", "timeattn.qkv.bias": "timeattn.qkv.bias",
    "timeattn.proj.weight": "timeattn.proj.weight", "timeattn.proj.bias": "timeattn.proj.bias",
}
TEXT_PROJ_NAMES = ("txt_proj", "text_proj")      # Frozen's name, MCQ's and MILES' name
_BRIDGE = (r"\.blocks\.\d+\.(crossattn|bridgeattn|bridge_mlp|norm4|norm5|norm6|norm7)\.|"
           r"video_model\.norm2\.|^(module\.)?bridge_proj\.")
_PREFIX = re.compile(r"^(module\.)?video_model\.")


class VarAttention(nn.Module):
    """Frozen's attention: CLS attends to all tokens; other tokens attend within a group (a frame for
    ``space``, a spatial position for ``time``) plus the CLS key/value."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, group: str, frames: int, per_frame: int) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q = q * self.scale                                              # [b, h, n, hd]
        cls_out = torch.softmax(q[:, :, :1] @ k.transpose(-2, -1), dim=-1) @ v

        def grouped(t: torch.Tensor) -> torch.Tensor:                   # [b, h, groups, members, hd]
            t = t[:, :, 1:].reshape(b, self.heads, frames, per_frame, -1)   # tokens are frame-major
            return t if group == "space" else t.transpose(2, 3)

        qg, kg, vg = grouped(q), grouped(k), grouped(v)
        size = (-1, -1, qg.shape[2], -1, -1)
        kg = torch.cat([k[:, :, None, :1].expand(size), kg], dim=3)     # CLS key/value in every group
        vg = torch.cat([v[:, :, None, :1].expand(size), vg], dim=3)
        out = torch.softmax(qg @ kg.transpose(-2, -1), dim=-1) @ vg
        if group == "time":
            out = out.transpose(2, 3)
        out = torch.cat([cls_out, out.reshape(b, self.heads, frames * per_frame, -1)], dim=2)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SpaceTimeBlock(nn.Module):
    def __init__(self, a: SpaceTimeArch):
        super().__init__()
        self.time_attention = a.time_attention
        self.norm1 = nn.LayerNorm(a.embed_dim, eps=a.eps)
        self.attn = VarAttention(a.embed_dim, a.num_heads, a.qkv_bias)
        self.norm2 = nn.LayerNorm(a.embed_dim, eps=a.eps)
        self.mlp = Mlp(a.embed_dim, a.mlp_hidden)
        if a.time_attention:
            self.norm3 = nn.LayerNorm(a.embed_dim, eps=a.eps)
            self.timeattn = VarAttention(a.embed_dim, a.num_heads, a.qkv_bias)

    def forward(self, x: torch.Tensor, frames: int, per_frame: int) -> torch.Tensor:
        if self.time_attention:
            time_residual = x + self.timeattn(self.norm3(x), "time", frames, per_frame)
            # the original adds the space branch to the block input x (see the module docstring)
            x = x + self.attn(self.norm1(time_residual), "space", frames, per_frame)
        else:
            x = x + self.attn(self.norm1(x), "space", frames, per_frame)
        return x + self.mlp(self.norm2(x))


class SpaceTimeTransformer(nn.Module):
    """``[B, C, T, H, W]`` -> ``[B, D]``: the final-normed CLS token."""

    def __init__(self, a: SpaceTimeArch):
        super().__init__()
        self.arch = a
        self.feature_dim = a.embed_dim
        n = (a.img_size // a.patch_size) ** 2
        self.patch_embed = nn.Conv2d(a.in_chans, a.embed_dim, a.patch_size, a.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, a.embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, a.embed_dim))
        if a.time_attention:
            self.temporal_embed = nn.Parameter(torch.zeros(1, a.num_frames, a.embed_dim))
        self.blocks = nn.ModuleList(SpaceTimeBlock(a) for _ in range(a.depth))
        self.norm = nn.LayerNorm(a.embed_dim, eps=a.eps)

    def token_layout(self, frames: int, size: int) -> TokenLayout:
        """CLS first, then every frame's patch tokens, frame by frame (time-major)."""
        g = size // self.arch.patch_size
        return TokenLayout(cls=(0,), grid=(frames, g, g), pooling="the CLS token (position 0)")

    def forward_tokens(self, video: torch.Tensor) -> torch.Tensor:
        """``[B, 1 + T*P, D]``: every token after the final norm."""
        a = self.arch
        b, c, t, h, w = video.shape
        if t > a.num_frames or h != a.img_size or w != a.img_size:
            raise ConfigError(
                f"this Frozen-style model takes at most {a.num_frames} frames of {a.img_size}x{a.img_size} "
                f"(its positions cover that; the original refuses more frames or another size), got "
                f"{t} frames of {h}x{w}", hint="evaluate with the model's own frames/size")
        tokens = self.patch_embed(video.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w))
        tokens = tokens.flatten(2).transpose(1, 2)                        # [b*t, n, D]
        per_frame = tokens.shape[1]
        pos = self.pos_embed[:, 1:].repeat(1, t, 1)                       # [1, t*n, D] frame-tiled
        if a.time_attention:                                              # the first t time slices
            pos = pos + self.temporal_embed[:, :t].repeat_interleave(per_frame, dim=1)
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(b, -1, -1)
        x = torch.cat([cls, tokens.reshape(b, t * per_frame, -1) + pos], dim=1)
        for blk in self.blocks:
            x = blk(x, t, per_frame)
        return self.norm(x)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.forward_tokens(video)[:, 0]


# -- format -------------------------------------------------------------------------------------------

def frozen_state(content: Any) -> tuple[dict[str, torch.Tensor], str] | None:
    """(state dict, key prefix "module." or "") for a Frozen / MCQ / MILES file, else None: the
    ``video_model`` prefix with a per-frame Conv2d patch embedding (4-D weight)."""
    if not isinstance(content, dict):
        return None
    state = content.get("state_dict", content)
    if not isinstance(state, dict):
        return None
    for key in state:
        m = _PREFIX.match(str(key))
        if m and key.endswith("patch_embed.proj.weight"):
            value = state[key]
            if isinstance(value, torch.Tensor) and value.ndim == 4:
                return state, (m.group(1) or "")
    return None


def _tensor(state: dict, key: str, ndim: int, source: str) -> torch.Tensor:
    value = state.get(key)
    if not isinstance(value, torch.Tensor) or value.ndim != ndim or 0 in value.shape:
        got = "absent" if value is None else (f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor)
                                              else f"a {type(value).__name__}")
        raise CheckpointError(f"{source}: expected a {ndim}-d tensor {key!r}, got {got}",
                              hint="is this a Frozen-in-Time / MCQ / MILES checkpoint? check-model "
                                   "--show-keys lists its keys")
    return value


def arch_from_state(state: dict, p: str, opts: FrozenOptions, source: str) -> SpaceTimeArch:
    v = f"{p}video_model."
    w = _tensor(state, v + "patch_embed.proj.weight", 4, source)            # [D, C, p, p]
    d = int(w.shape[0])
    time = f"{v}blocks.0.timeattn.qkv.weight" in state
    if opts.variant not in (None, "space-time", "space-only"):
        raise ConfigError(f"card config variant {opts.variant!r} is not 'space-time' or 'space-only'")
    if opts.variant is not None and (opts.variant == "space-time") != time:
        raise CheckpointError(f"{source}: the card says variant {opts.variant!r}, but the file "
                              f"{'has' if time else 'has no'} time attention (timeattn) tensors",
                              hint="use the card of this file's model (Frozen/MILES: space-time, MCQ: space-only)")
    required = tuple(BLOCK_KEYS) + (tuple(BLOCK_TIME_KEYS) if time else ())
    depth = block_depth(state, v, required, source, hint="is this a Frozen / MCQ / MILES checkpoint?")
    n = int(_tensor(state, v + "pos_embed", 3, source).shape[1]) - 1
    side = int(round(n ** 0.5))
    if side * side != n:
        raise CheckpointError(f"{source}: pos_embed has {n} patch positions: not a square grid")
    frames = int(_tensor(state, v + "temporal_embed", 3, source).shape[1]) if time else int(opts.num_frames or 4)
    card = {k: val for k, val in (("num_heads", opts.num_heads), ("hidden_size", opts.hidden_size)) if val}
    heads, _ = heads_for_width(d, card, source)
    return SpaceTimeArch(embed_dim=d, depth=depth, num_heads=heads,
                         mlp_hidden=int(_tensor(state, f"{v}blocks.0.mlp.fc1.weight", 2, source).shape[0]),
                         patch_size=int(w.shape[-1]), in_chans=int(w.shape[1]), img_size=side * int(w.shape[-1]),
                         num_frames=frames, time_attention=time,
                         qkv_bias=f"{v}blocks.0.attn.qkv.bias" in state)


def _video_keys(state: dict, p: str, a: SpaceTimeArch) -> dict[str, str]:
    """Every original key the video tower reads -> its name here (explicit; see the tables above)."""
    v = f"{p}video_model."
    keys = {v + k: dst for k, dst in VIDEO_KEYS.items()}
    if a.time_attention:
        keys.update({v + k: dst for k, dst in TIME_KEYS.items()})
    final = "norm" if f"{v}norm.weight" in state or a.time_attention else "norm1"   # MCQ: norm1
    keys.update({f"{v}{final}.weight": "norm.weight", f"{v}{final}.bias": "norm.bias"})
    block = dict(BLOCK_KEYS, **(BLOCK_TIME_KEYS if a.time_attention else {}))
    for i in range(a.depth):
        for k, dst in block.items():
            if k.endswith("qkv.bias") and not a.qkv_bias:
                continue
            keys[f"{v}blocks.{i}.{k}"] = f"blocks.{i}.{dst}"
    return keys


# -- text tower ---------------------------------------------------------------------------------------

class _FrozenText(nn.Module):
    """Tokenizer output -> DistilBERT last hidden state at token 0 (compute_text)."""

    def __init__(self, bert: nn.Module):
        super().__init__()
        self.text_model = bert


def _encode_text(side: nn.Module, tokens: dict) -> torch.Tensor:
    # only what DistilBertModel takes (a BERT tokenizer would also return token_type_ids)
    return side.text_model(input_ids=tokens["input_ids"],
                           attention_mask=tokens.get("attention_mask")).last_hidden_state[:, 0]


def _distilbert_config(state: dict, src: str, folder: Path, opts: FrozenOptions, source: str):
    from transformers import DistilBertConfig

    if (folder / "config.json").is_file():
        return load_config(folder, what="text model")
    words = _tensor(state, src + "embeddings.word_embeddings.weight", 2, source)
    dim = int(words.shape[1])
    heads = int(opts.text_num_heads or max(dim // 64, 1))     # distilbert-base-uncased: 768 / 64 = 12
    if dim % heads:
        raise CheckpointError(f"{source}: text width {dim} is not divisible by {heads} heads",
                              hint="set config.text_num_heads, or put the model's config.json in the text folder")
    # DistilBERT numbers its layers transformer.layer.<i>; depth is read from complete layers present
    layers = {int(m.group(1)) for k in state
              if (m := re.match(re.escape(src) + r"transformer\.layer\.(\d{1,6})\.ffn\.lin1\.weight$", k))}
    depth = len(layers)
    if not layers or layers != set(range(depth)):
        raise CheckpointError(f"{source}: the text tower's layers {sorted(layers)[:8]} are not 0..n-1",
                              hint="is the text tower a DistilBERT? check-model --show-keys lists the keys")
    return DistilBertConfig(
        vocab_size=int(words.shape[0]), dim=dim, n_layers=depth, n_heads=heads,
        hidden_dim=int(_tensor(state, src + "transformer.layer.0.ffn.lin1.weight", 2, source).shape[0]),
        max_position_embeddings=int(_tensor(state, src + "embeddings.position_embeddings.weight", 2,
                                            source).shape[0]))


def _import_text(mapper: KeyMapper, p: str, folder: Path, opts: FrozenOptions):
    from transformers import AutoModel, AutoTokenizer

    if not folder.is_dir():
        raise MissingPathError(folder, "text model folder (config.text_model or $TVTS_BENCH_TEXT_MODEL)",
                               hint="a local distilbert-base-uncased folder (tokenizer files, optionally config.json)")
    source = mapper.report.source
    src = f"{p}text_model."
    cfg = _distilbert_config(mapper.source, src, folder, opts, source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{folder}: cannot load the DistilBERT tokenizer ({e})") from None
    bert = AutoModel.from_config(cfg)
    target = {}
    for key in bert.state_dict():           # transformers' own names: the file stores them as they are
        if key.endswith("position_ids") and not mapper.has(src + key):
            continue                          # an index buffer some transformers versions save
        target[key] = mapper.take(src + key, why="DistilBERT weights of the text tower")
    mapper.ignore(rf"^{re.escape(src)}.*position_ids$", "index buffer")
    load_into(bert, target, mapper.report, allow_missing=(r"position_ids$",))
    proj_name = next((n for n in TEXT_PROJ_NAMES if mapper.has(f"{p}{n}.1.weight")), TEXT_PROJ_NAMES[0])
    tw, vw = mapper.take(f"{p}{proj_name}.1.weight"), mapper.take(f"{p}vid_proj.0.weight")
    txt_proj = nn.Sequential(nn.ReLU(), nn.Linear(int(tw.shape[1]), int(tw.shape[0])))
    vid_proj = nn.Sequential(nn.Linear(int(vw.shape[1]), int(vw.shape[0])))
    load_into(txt_proj, {"1.weight": tw, "1.bias": mapper.take(f"{p}{proj_name}.1.bias")}, mapper.report)
    load_into(vid_proj, {"0.weight": vw, "0.bias": mapper.take(f"{p}vid_proj.0.bias")}, mapper.report)
    limit = min(int(tokenizer.model_max_length), int(cfg.max_position_embeddings))
    max_len = int(opts.text_max_len or limit)

    def tokenize(texts: list[str]) -> dict:
        return dict(tokenizer(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt"))

    return TextTower(_FrozenText(bert), tokenize, _encode_text, proj=txt_proj), vid_proj, proj_name


def import_frozen(state: dict, p: str, source: str, opts: FrozenOptions, *, accept_unused: bool = False):
    """A Frozen / MCQ / MILES state dict -> (SpaceTimeTransformer, text tower or None, video
    projection or None, report). Unused tensors are refused unless ``accept_unused``."""
    arch = arch_from_state(state, p, opts, source)
    model = SpaceTimeTransformer(arch)
    mapper = KeyMapper(state, source, "frozen-pth")
    target = {dst: mapper.take(src) for src, dst in _video_keys(state, p, arch).items()}
    mapper.ignore(_BRIDGE, "MCQ BridgeFormer (pretraining only; the authors drop it for downstream use)")
    mapper.ignore(rf"^{re.escape(p)}video_model\.(head|pre_logits|fc)\.", "classifier head")
    text = video_proj = None
    folder = opts.text_model or os.environ.get("TVTS_BENCH_TEXT_MODEL")
    if folder:
        text, video_proj, proj_name = _import_text(mapper, p, Path(folder).expanduser(), opts)
        mapper.report.notes.append(f"text tower: DistilBERT CLS -> {proj_name} (tokenizer from {folder})")
    else:
        mapper.ignore(rf"^{re.escape(p)}(text_model|txt_proj|text_proj|vid_proj)\.",
                      "text tower (set config.text_model or $TVTS_BENCH_TEXT_MODEL to a local "
                      "DistilBERT tokenizer folder to use it)")
    report = mapper.finish()
    refuse_unused(report, accept_unused)
    load_into(model, target, report)
    report.notes.append(f"{'space-time (Frozen/MILES)' if arch.time_attention else 'space-only (MCQ VideoFormer)'}"
                        f" tower: width {arch.embed_dim}, {arch.depth} blocks, {arch.num_heads} heads, "
                        f"at most {arch.num_frames} frames of {arch.img_size}px")
    return model, text, video_proj, report


def load_frozen(card: ModelCard, path: Path, *, accept_unused: bool = False) -> ModuleAdapter:
    loaded = load_weight_file(path, allow_restricted=True)
    found = frozen_state(loaded.content)
    if found is None:
        raise CheckpointError(f"{path}: not a Frozen-in-Time / MCQ / MILES checkpoint (no "
                              "'video_model.patch_embed.proj.weight' Conv2d weight in 'state_dict')",
                              hint="the authors' TVTS file (Conv3d tubelets) loads with the tvts cards")
    opts = FrozenOptions(**{k: v for k, v in card.config.items() if k in FrozenOptions.__dataclass_fields__})
    model, text, video_proj, report = import_frozen(found[0], found[1], str(path), opts,
                                                    accept_unused=accept_unused)
    if loaded.placeholders:
        report.notes.append("pickled objects kept as inert data (never run): " + ", ".join(loaded.placeholders))
    a = model.arch
    short = round(a.img_size * card.preprocess.short_side / card.preprocess.size)
    pre = Preprocess(num_frames=a.num_frames, size=a.img_size, short_side=max(short, a.img_size),
                     mean=tuple(card.preprocess.mean or IMAGENET_MEAN), std=tuple(card.preprocess.std or IMAGENET_STD))
    return ModuleAdapter(card=card, video=model, preprocess=pre, feature_dim=a.embed_dim, checkpoint=str(path),
                         report=report, text=text, video_proj=video_proj)


# -- registration -------------------------------------------------------------------------------------

def detect_frozen(probe) -> str | None:
    if probe.path.is_dir():
        return None
    return "frozen-pth" if frozen_state(probe.content) is not None else None


def to_original(model: SpaceTimeTransformer, prefix: str = "module.") -> dict[str, torch.Tensor]:
    """This module's weights in the original layout (the key tables read backwards): example hook only."""
    own = model.state_dict()
    names = _video_keys({}, prefix, model.arch)
    return {src: own[dst].detach().clone() for src, dst in names.items()}


def example(tmp: Path) -> list:
    """Tiny Frozen-style (space-time) and MCQ-style (space-only, with BridgeFormer extras) files, width
    384 (6 heads by the table), 1 block, 4 frames of 32 px; the Frozen one with a DistilBERT text tower
    and a tokenizer folder built from the MiniLM vocabulary shipped with this project's dependencies."""
    from transformers import DistilBertConfig, DistilBertModel, DistilBertTokenizer

    from ..nn.text_encoder import minilm_path
    from .families import Example

    torch.manual_seed(0)
    folder = tmp / "distilbert"
    DistilBertTokenizer(vocab_file=str(minilm_path() / "vocab.txt")).save_pretrained(folder)
    bert = DistilBertModel(DistilBertConfig(vocab_size=30522, dim=32, n_layers=1, n_heads=2, hidden_dim=64,
                                            max_position_embeddings=64))
    bert.config.save_pretrained(folder)
    out = []
    for time, name in ((True, "frozen"), (False, "mcq")):
        arch = SpaceTimeArch(embed_dim=384, depth=1, num_heads=6, mlp_hidden=1536, patch_size=16, in_chans=3,
                             img_size=32, num_frames=4, time_attention=time)
        state = to_original(SpaceTimeTransformer(arch))
        state.update({f"module.text_model.{k}": v for k, v in bert.state_dict().items()})
        proj = "txt_proj" if time else "text_proj"
        state.update({f"module.{proj}.1.weight": torch.randn(16, 32), f"module.{proj}.1.bias": torch.randn(16),
                      "module.vid_proj.0.weight": torch.randn(16, 384), "module.vid_proj.0.bias": torch.randn(16)})
        if not time:
            state["module.video_model.blocks.0.crossattn.q_question.weight"] = torch.randn(384, 384)
            state["module.bridge_proj.0.weight"] = torch.randn(16, 384)
        torch.save({"arch": {"type": name}, "state_dict": state, "config": {"name": name}}, tmp / f"{name}.pth")
    env = {"TVTS_BENCH_TEXT_MODEL": str(folder)}
    out.append(Example("frozen-webvid2m-cc3m", tmp / "frozen.pth", 384, 4, 32, text=True, env=env,
                       what="frozen-pth space-time with DistilBERT text tower"))
    out.append(Example("mcq-webvid2m-cc3m", tmp / "mcq.pth", 384, 4, 32, what="frozen-pth space-only (MCQ)"))
    return out


def _register():
    from .families import FamilySpec, FormatSpec, register_family

    return register_family(FamilySpec(
        name="frozen",
        summary="Frozen-in-Time, MCQ, MILES: SpaceTimeTransformer / VideoFormer + DistilBERT text tower",
        load=load_frozen,
        formats=(FormatSpec("frozen-pth", "a Frozen-in-Time / MCQ / MILES .pth ('state_dict' with "
                                          "module.video_model.* and a Conv2d patch embedding)",
                            template="frozen-webvid2m-cc3m"),),
        detect=detect_frozen, detect_order=10, card_config=FrozenOptions, example=example))


FAMILY = _register()
