"""V-JEPA and V-JEPA 2: the released ``.pth.tar`` / ``.pt`` pretraining checkpoints.

Both repositories save ``{'encoder', 'predictor', 'target_encoder', 'opt', 'scaler', 'epoch', ...}``
(``app/vjepa/train.py``); each encoder is a ``MultiMaskWrapper`` (``backbone.``) inside DDP
(``module.``), so keys read ``module.backbone.blocks.0.attn.qkv.weight``. Their frozen evaluations
(``evals/video_classification_frozen``) load ``checkpoint_key: target_encoder`` and strip ``module.``
and ``backbone.``; so does this importer (card ``config.checkpoint_key``; ``encoder`` as a fallback, as
V-JEPA's ``load_pretrained`` does).

The encoder (``src/models/vision_transformer.py``) is a plain pre-norm ViT without CLS token: Conv3d
tubelets (2x16x16), blocks ``norm1 -> attn (qkv, proj) -> + ; norm2 -> mlp (fc1, GELU, fc2) -> +``,
LayerNorm eps 1e-6, a final ``norm``. Positions differ:

- **V-JEPA** (facebookresearch/jepa): a fixed 3-D sin-cos ``pos_embed`` stored in the checkpoint
  (``requires_grad=False`` parameter), added after the patch embedding. Another clip length or size
  interpolates it trilinearly with ``scale_factor`` exactly as ``interpolate_pos_encoding`` does.
- **V-JEPA 2** (facebookresearch/vjepa2, ``use_rope=True`` in every released model): no added positions;
  each attention rotates the first three ``2*((head_dim//3)//2)`` slices of q and k by the token's frame,
  row and column index (``RoPEAttention``, ``rotate_queries_or_keys``), including the original's
  duplicated-frequency layout (``repeat`` instead of ``repeat_interleave``), which the released weights
  were trained with. A ``pos_embed`` found in such a file is never added by the original
  (``src/hub/backbones.py`` loads with ``strict=False``): it is ignored by design here.

A file without ``pos_embed`` is V-JEPA 2 (RoPE); a file with one is V-JEPA unless the card says
``rope: true``. There is no CLS token and the original evaluates with an attentive probe; this
benchmark's feature is the mean of the final-normed tokens. Heads come from the width
(``VJEPA_HEADS``): V-JEPA 2's ViT-g (``vit_giant_xformers``) has 22 heads at width 1408 where VideoMAE
V2's ViT-g has 16, so the table is this family's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError, ConfigError
from .adapters import ModuleAdapter
from .base import Preprocess, TokenLayout
from .card import ModelCard
from .importing import KeyMapper, block_depth, heads_for_width, load_into, refuse_unused
from .safe_load import load_weight_file


@dataclass
class VJEPAOptions:
    """Card ``config`` keys for V-JEPA / V-JEPA 2 checkpoints."""

    checkpoint_key: str = "target_encoder"   # the evals' checkpoint_key; "encoder" is the online one
    rope: bool | None = None      # V-JEPA 2 rotary positions; None: RoPE exactly when there is no pos_embed
    num_frames: int | None = None # V-JEPA: the frames pos_embed covers (default 16, every released model);
                                  # V-JEPA 2: the clip length to evaluate (default 16, its eval configs)
    image_size: int | None = None # V-JEPA 2: the crop to evaluate (default 256); V-JEPA: from pos_embed
    num_heads: int | None = None  # only for a non-standard width
    hidden_size: int | None = None  # pins num_heads to this width


# heads by width: vit_large / vit_huge 16; V-JEPA's vit_giant 16, V-JEPA 2's vit_giant_xformers 22
VJEPA_HEADS = {384: 6, 768: 12, 1024: 16, 1280: 16, 1408: 16}
VJEPA2_HEADS = {**VJEPA_HEADS, 1408: 22}

# original key (after module./backbone.) -> this module's key; blocks as BLOCK_KEYS per index
TOP_KEYS = {"patch_embed.proj.weight": "patch_embed.weight", "patch_embed.proj.bias": "patch_embed.bias",
            "norm.weight": "norm.weight", "norm.bias": "norm.bias"}
BLOCK_KEYS = {f"{m}.{p}": f"{m}.{p}" for m in ("norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2")
              for p in ("weight", "bias")}
_PATCH = re.compile(r"^((?:module\.)?(?:backbone\.)?)patch_embed\.proj\.weight$")


@dataclass
class VJEPAArch:
    embed_dim: int
    depth: int
    num_heads: int
    mlp_hidden: int
    patch_size: int
    tubelet_size: int
    in_chans: int
    num_frames: int           # V-JEPA: the frames pos_embed covers; V-JEPA 2: the evaluated clip length
    img_size: int
    rope: bool
    qkv_bias: bool = True


def rotate(x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """``rotate_queries_or_keys``: x ``[B, h, N, d]`` rotated by integer positions ``pos`` ``[N]``."""
    d = x.shape[-1]
    omega = 1.0 / 10000 ** (torch.arange(d // 2, dtype=x.dtype, device=x.device) / (d / 2.0))
    freq = pos.to(x.dtype)[:, None] * omega[None]                       # [N, d/2]
    # the original repeats the half-size table (s0..s_k, s0..s_k), not interleaves it; kept as trained
    sin, cos = freq.sin().repeat(1, 2), freq.cos().repeat(1, 2)
    pairs = x.unflatten(-1, (-1, 2))
    y = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
    return x * cos + y * sin


class Attention(nn.Module):
    def __init__(self, a: VJEPAArch):
        super().__init__()
        self.heads, self.rope = a.num_heads, a.rope
        head_dim = a.embed_dim // a.num_heads
        self.rot = 2 * ((head_dim // 3) // 2)                           # d_dim = h_dim = w_dim
        self.qkv = nn.Linear(a.embed_dim, 3 * a.embed_dim, bias=a.qkv_bias)
        self.proj = nn.Linear(a.embed_dim, a.embed_dim)

    def _rope(self, t: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        _, hp, wp = grid
        ids = torch.arange(t.shape[2], device=t.device)
        frame, row, col = ids // (hp * wp), (ids % (hp * wp)) // wp, ids % wp
        r, parts = self.rot, []
        for i, pos in enumerate((frame, row, col)):
            parts.append(rotate(t[..., i * r:(i + 1) * r], pos))
        return torch.cat(parts + [t[..., 3 * r:]], dim=-1)

    def forward(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if self.rope:
            q, k = self._rope(q, grid), self._rope(k, grid)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, a: VJEPAArch):
        super().__init__()
        self.norm1 = nn.LayerNorm(a.embed_dim, eps=1e-6)
        self.attn = Attention(a)
        self.norm2 = nn.LayerNorm(a.embed_dim, eps=1e-6)
        self.mlp = nn.Sequential()
        self.mlp.fc1 = nn.Linear(a.embed_dim, a.mlp_hidden)
        self.mlp.act = nn.GELU()
        self.mlp.fc2 = nn.Linear(a.mlp_hidden, a.embed_dim)

    def forward(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), grid)
        return x + self.mlp(self.norm2(x))


class VJEPAEncoder(nn.Module):
    """``[B, C, T, H, W]`` -> ``[B, D]``: the mean of the final-normed tokens (no CLS token)."""

    def __init__(self, a: VJEPAArch):
        super().__init__()
        self.arch = a
        self.feature_dim = a.embed_dim
        self.patch_embed = nn.Conv3d(a.in_chans, a.embed_dim, (a.tubelet_size, a.patch_size, a.patch_size),
                                     stride=(a.tubelet_size, a.patch_size, a.patch_size))
        if not a.rope:
            n = (a.num_frames // a.tubelet_size) * (a.img_size // a.patch_size) ** 2
            self.pos_embed = nn.Parameter(torch.zeros(1, n, a.embed_dim), requires_grad=False)
        self.blocks = nn.ModuleList(Block(a) for _ in range(a.depth))
        self.norm = nn.LayerNorm(a.embed_dim, eps=1e-6)

    def _positions(self, t: int, h: int, w: int) -> torch.Tensor:
        """``interpolate_pos_encoding``: the stored table, trilinearly rescaled for other clip shapes."""
        a = self.arch
        if (t, h, w) == (a.num_frames, a.img_size, a.img_size):
            return self.pos_embed
        nt, ng = a.num_frames // a.tubelet_size, a.img_size // a.patch_size
        scale = ((t // a.tubelet_size) / nt, (h // a.patch_size) / ng, (w // a.patch_size) / ng)
        table = self.pos_embed.reshape(1, nt, ng, ng, -1).permute(0, 4, 1, 2, 3)
        table = F.interpolate(table, scale_factor=scale, mode="trilinear")
        return table.permute(0, 2, 3, 4, 1).reshape(1, -1, a.embed_dim)

    def token_layout(self, frames: int, size: int) -> TokenLayout:
        """No CLS token: the tubelet tokens, time-major (frame, row, column), as the Conv3d gives them."""
        a = self.arch
        return TokenLayout(cls=(), grid=(frames // a.tubelet_size, size // a.patch_size, size // a.patch_size),
                           pooling="mean of the final-normed tokens")

    def forward_tokens(self, video: torch.Tensor) -> torch.Tensor:
        """``[B, N, D]``: every token after the final norm."""
        a = self.arch
        _, _, t, h, w = video.shape
        if t % a.tubelet_size or h % a.patch_size or w % a.patch_size:
            raise ConfigError(f"V-JEPA takes clips whose frames divide by {a.tubelet_size} and sides by "
                              f"{a.patch_size}, got {t} frames of {h}x{w}")
        x = self.patch_embed(video).flatten(2).transpose(1, 2)           # tokens: frame, row, column
        if not a.rope:
            x = x + self._positions(t, h, w)
        grid = (t // a.tubelet_size, h // a.patch_size, w // a.patch_size)
        for blk in self.blocks:
            x = blk(x, grid)
        return self.norm(x)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.forward_tokens(video).mean(dim=1)


# -- format -------------------------------------------------------------------------------------------

def vjepa_state(content: Any, key: str = "target_encoder") -> tuple[dict, str, str] | None:
    """(encoder state dict, key prefix, which entry) for a V-JEPA / V-JEPA 2 checkpoint, else None."""
    if not isinstance(content, dict):
        return None
    for where in dict.fromkeys((key, "target_encoder", "encoder")):
        state = content.get(where)
        if not isinstance(state, dict):
            continue
        for k, v in state.items():
            m = _PATCH.match(str(k))
            if m and isinstance(v, torch.Tensor) and v.ndim == 5 and not any(
                    str(x).endswith("cls_token") for x in state):
                return state, m.group(1), where
    return None


def arch_from_state(state: dict, p: str, opts: VJEPAOptions, source: str) -> VJEPAArch:
    w = state[p + "patch_embed.proj.weight"]                             # [D, C, tubelet, p, p]
    d, tubelet, patch = int(w.shape[0]), int(w.shape[2]), int(w.shape[-1])
    pos = state.get(p + "pos_embed")
    rope = opts.rope if opts.rope is not None else not isinstance(pos, torch.Tensor)
    depth = block_depth(state, p, tuple(BLOCK_KEYS), source, hint="is this a V-JEPA / V-JEPA 2 checkpoint?")
    card = {k: v for k, v in (("num_heads", opts.num_heads), ("hidden_size", opts.hidden_size)) if v}
    heads, _ = heads_for_width(d, card, source, table=VJEPA2_HEADS if rope else VJEPA_HEADS)
    frames = int(opts.num_frames or 16)
    if rope:
        size = int(opts.image_size or 256)
    else:
        if not isinstance(pos, torch.Tensor) or pos.ndim != 3 or pos.shape[-1] != d:
            raise CheckpointError(f"{source}: {p}pos_embed is not a [1, N, {d}] table",
                                  hint="a V-JEPA 2 file (RoPE) has no positions: use a vjepa2 card (rope: true)")
        per_frame = int(pos.shape[1]) // max(frames // tubelet, 1)
        side = int(round(per_frame ** 0.5))
        if frames % tubelet or side * side * (frames // tubelet) != int(pos.shape[1]):
            raise CheckpointError(
                f"{source}: pos_embed has {int(pos.shape[1])} positions, which is not {frames} frames "
                f"({frames // tubelet} tubelets) of a square grid",
                hint="set config.num_frames in the card to the frames the model was trained with")
        size = side * patch
        if opts.image_size and int(opts.image_size) != size:
            raise CheckpointError(f"{source}: pos_embed covers {size}px, the card says image_size "
                                  f"{opts.image_size}")
    return VJEPAArch(embed_dim=d, depth=depth, num_heads=heads,
                     mlp_hidden=int(state[f"{p}blocks.0.mlp.fc1.weight"].shape[0]), patch_size=patch,
                     tubelet_size=tubelet, in_chans=int(w.shape[1]), num_frames=frames, img_size=size,
                     rope=rope, qkv_bias=f"{p}blocks.0.attn.qkv.bias" in state)


def _keys(p: str, a: VJEPAArch) -> dict[str, str]:
    keys = {p + k: v for k, v in TOP_KEYS.items()}
    if not a.rope:
        keys[p + "pos_embed"] = "pos_embed"
    for i in range(a.depth):
        keys.update({f"{p}blocks.{i}.{k}": f"blocks.{i}.{v}" for k, v in BLOCK_KEYS.items()
                     if a.qkv_bias or not k.startswith("attn.qkv.bias")})
    return keys


def import_vjepa(state: dict, p: str, source: str, opts: VJEPAOptions, *, accept_unused: bool = False):
    arch = arch_from_state(state, p, opts, source)
    model = VJEPAEncoder(arch)
    mapper = KeyMapper(state, source, "vjepa-pth")
    target = {dst: mapper.take(src) for src, dst in _keys(p, arch).items()}
    if arch.rope:
        mapper.ignore(rf"^{re.escape(p)}pos_embed$", "sin-cos table the RoPE encoder never adds "
                                                      "(V-JEPA 2 hub loader: strict=False)")
    report = mapper.finish()
    refuse_unused(report, accept_unused)
    load_into(model, target, report)
    return model, report


def load_vjepa(card: ModelCard, path: Path, *, accept_unused: bool = False) -> ModuleAdapter:
    opts = VJEPAOptions(**{k: v for k, v in card.config.items() if k in VJEPAOptions.__dataclass_fields__})
    loaded = load_weight_file(path, allow_restricted=True)
    found = vjepa_state(loaded.content, opts.checkpoint_key)
    if found is None:
        raise CheckpointError(f"{path}: not a V-JEPA / V-JEPA 2 checkpoint (no encoder with a Conv3d "
                              f"'patch_embed.proj.weight' under {opts.checkpoint_key!r} or 'encoder')")
    state, prefix, where = found
    model, report = import_vjepa(state, prefix, str(path), opts, accept_unused=accept_unused)
    a = model.arch
    others = sorted(k for k, v in loaded.content.items() if k != where and isinstance(v, dict))
    report.notes.append(f"read {where!r}; {'V-JEPA 2 RoPE' if a.rope else 'V-JEPA sin-cos'} positions, "
                        f"width {a.embed_dim}, {a.depth} blocks, {a.num_heads} heads"
                        + (f"; not read: {', '.join(others)}" if others else ""))
    short = round(a.img_size * card.preprocess.short_side / card.preprocess.size)
    pre = Preprocess(num_frames=a.num_frames, size=a.img_size, short_side=max(short, a.img_size),
                     mean=tuple(card.preprocess.mean), std=tuple(card.preprocess.std))
    return ModuleAdapter(card=card, video=model, preprocess=pre, feature_dim=a.embed_dim, checkpoint=str(path),
                         report=report)


# -- registration -------------------------------------------------------------------------------------

def detect_vjepa(probe) -> str | None:
    if probe.path.is_dir():
        return None
    return "vjepa-pth" if vjepa_state(probe.content) is not None else None


def example(tmp: Path) -> list:
    """Tiny V-JEPA (sin-cos pos_embed; a card pinning 4 frames) and V-JEPA 2 (RoPE) checkpoints: width
    384 (6 heads), 1 block, 4 frames of 32 px, ``module.backbone.`` keys, encoder + predictor entries."""
    from .families import Example

    cards = tmp / "cards"
    cards.mkdir(exist_ok=True)
    repo_cards = Path(__file__).resolve().parents[2] / "models"
    for src, dst in (("vjepa-vitl16", "vjepa-tiny-example"), ("vjepa2-vitl-256", "vjepa2-tiny-example")):
        text = (repo_cards / f"{src}.yaml").read_text().replace(f"name: {src}", f"name: {dst}")
        (cards / f"{dst}.yaml").write_text(text.replace("  num_frames: 16", "  num_frames: 4")
                                           .replace("  image_size: 256", "  image_size: 32"))
    out = []
    for rope in (False, True):
        torch.manual_seed(0)
        arch = VJEPAArch(embed_dim=384, depth=1, num_heads=6, mlp_hidden=1536, patch_size=16, tubelet_size=2,
                         in_chans=3, num_frames=4, img_size=32, rope=rope)
        own = VJEPAEncoder(arch).state_dict()
        if not rope:
            own["pos_embed"] = torch.randn_like(own["pos_embed"])
        enc = {f"module.backbone.{src}": own[dst].clone() for src, dst in _keys("", arch).items()}
        name = "vjepa2" if rope else "vjepa"
        torch.save({"encoder": enc, "target_encoder": {k: v * 0.9 for k, v in enc.items()},
                    "predictor": {"module.backbone.predictor_embed.weight": torch.randn(8, 384)},
                    "epoch": 1, "opt": {}, "scaler": None}, tmp / f"{name}_tiny.pth.tar")
    env = {"TVTS_BENCH_MODELS": str(cards)}
    out.append(Example("vjepa-tiny-example", tmp / "vjepa_tiny.pth.tar", 384, 4, 32, env=env,
                       what="V-JEPA sin-cos, target_encoder"))
    out.append(Example("vjepa2-tiny-example", tmp / "vjepa2_tiny.pth.tar", 384, 4, 32, env=env,
                       what="V-JEPA 2 RoPE, target_encoder"))
    return out


def _register():
    from .families import FamilySpec, FormatSpec, register_family

    return register_family(FamilySpec(
        name="vjepa",
        summary="V-JEPA (sin-cos positions) and V-JEPA 2 (RoPE): target encoder, mean of the tokens",
        load=load_vjepa,
        formats=(FormatSpec("vjepa-pth", "a V-JEPA / V-JEPA 2 checkpoint ('target_encoder' / 'encoder' with "
                                         "module.backbone.* and a Conv3d patch embedding)",
                            template="vjepa-vitl16"),),
        detect=detect_vjepa, detect_order=30, card_config=VJEPAOptions, example=example))


FAMILY = _register()
