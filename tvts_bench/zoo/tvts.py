"""TVTS: this project's checkpoints and the authors' released checkpoint.

Project checkpoints (``runs/<name>/checkpoints/step-*``) are rebuilt by the pretraining package
(``project.load_project``). The authors' file is a torch pickle ``{'arch', 'epoch', 'state_dict',
'optimizer', 'monitor_best', 'config'}`` whose ``config`` is a custom object: it is read with the
restricted unpickler (``safe_load``), which keeps that object as inert data and refuses the file if the
pickle asks to call anything; nothing in it runs.

Authors' keys -> ``AuthorsVideoViT`` (a ``tvts_bench.nn.video_vit.VideoViT``; ``AUTHORS_VIDEO_KEYS`` and
``AUTHORS_BLOCK_KEYS``, explicit even where the names coincide). Sizes come from tensor shapes
(embed dim, depth, tubelet, frames, image size, MLP ratio); the head count, which shapes cannot
tell, from the standard table by width (``importing.STANDARD_HEADS``; a non-standard width needs the
card's ``config.num_heads``).

Fewer frames than trained (e.g. 4-frame retrieval with a 16-frame checkpoint): the authors' downstream
encoder (TencentARC/TVTS v1/downstream/video_encoder.py, ``forward_features``) adds
``temporal_embed[:, :n_tubes]``, the first time slices, so ``AuthorsVideoViT`` slices too instead of
interpolating as this project's own models do. More frames than trained is refused (the authors' code
cannot run it either). The text tower (DistilBERT,
``module.text_model.*``, with ``txt_proj`` / ``vid_proj``) is built only when ``config.text_model``
(or the environment variable ``TVTS_BENCH_TEXT_MODEL``) names a local folder with the DistilBERT
config and tokenizer; otherwise those tensors are reported as ignored. The sort module (``pred_model``) is pretraining-only.
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
from ..nn.video_vit import VideoViT
from .adapters import ModuleAdapter
from .base import IMAGENET_MEAN, IMAGENET_STD, Preprocess
from .card import ModelCard
from .importing import block_depth, KeyMapper, heads_for_width, load_into, refuse_unused
from .safe_load import load_weight_file, to_plain


@dataclass
class AuthorsOptions:
    """Card ``config`` keys for the authors' checkpoint."""

    num_heads: int | None = None     # only for a non-standard width (standard: importing.STANDARD_HEADS)
    hidden_size: int | None = None   # pins num_heads to this width (a non-standard head count)
    text_model: str | None = None    # local distilbert-base-uncased folder (config + tokenizer)
    text_max_len: int = 50           # tokens per text (authors: 50)
    qkv_bias: bool = True

    @classmethod
    def from_card(cls, config: dict) -> "AuthorsOptions":
        return cls(**{k: v for k, v in config.items() if k in cls.__dataclass_fields__})


# authors' video_model.<key> -> VideoViT <key>
AUTHORS_VIDEO_KEYS = {
    "cls_token": "cls_token",
    "pos_embed": "pos_embed",
    "temporal_embed": "temporal_embed",
    "patch_embed.proj.weight": "patch_embed.proj.weight",
    "patch_embed.proj.bias": "patch_embed.proj.bias",
    "norm.weight": "norm.weight",
    "norm.bias": "norm.bias",
}
# per block: authors' blocks.i.<key> -> VideoViT blocks.i.<key>
AUTHORS_BLOCK_KEYS = {
    "norm1.weight": "norm1.weight", "norm1.bias": "norm1.bias",
    "attn.qkv.weight": "attn.qkv.weight", "attn.qkv.bias": "attn.qkv.bias",
    "attn.proj.weight": "attn.proj.weight", "attn.proj.bias": "attn.proj.bias",
    "norm2.weight": "norm2.weight", "norm2.bias": "norm2.bias",
    "mlp.fc1.weight": "mlp.fc1.weight", "mlp.fc1.bias": "mlp.fc1.bias",
    "mlp.fc2.weight": "mlp.fc2.weight", "mlp.fc2.bias": "mlp.fc2.bias",
}
_AUTHORS_PREFIX = re.compile(r"^(module\.)?video_model\.")


def authors_state(content: Any) -> tuple[dict[str, torch.Tensor], str] | None:
    """(state dict, key prefix) if ``content`` is in the authors' layout, else None."""
    if not isinstance(content, dict):
        return None
    state = content.get("state_dict", content)
    if not isinstance(state, dict):
        return None
    for key in state:
        m = _AUTHORS_PREFIX.match(str(key))
        if m and ".blocks." in key:
            return state, (m.group(1) or "")
    return None


def authors_config(content: Any) -> dict:
    """The pickled config as plain data (dict configs as they are; custom objects via their state)."""
    cfg = content.get("config") if isinstance(content, dict) else None
    plain = to_plain(cfg)
    if isinstance(plain, dict) and isinstance(plain.get("_config"), dict):
        plain = plain["_config"]    # the authors' ConfigParser keeps the JSON config in _config
    return plain if isinstance(plain, dict) else {}


class AuthorsVideoViT(VideoViT):
    """The project's VideoViT with the authors' temporal positions for shorter clips: a slice.

    ``temporal_embed`` holds one vector per time slice the model was trained with. For ``t`` slices
    the authors' downstream encoder adds ``temporal_embed[:, :t]`` (v1/downstream/video_encoder.py),
    where this project's own models interpolate (``VideoViT._temporal_pos``).
    """

    def _temporal_pos(self, t: int) -> torch.Tensor:
        stored = self.temporal_embed.shape[1]
        if t > stored:
            raise ConfigError(
                f"the authors' TVTS model was trained with {stored} time slices "
                f"({stored * self.cfg.patch_size[0]} frames) and cannot take {t} "
                f"({t * self.cfg.patch_size[0]} frames): its code slices temporal_embed, it never "
                "extends it",
                hint=f"evaluate it with at most {stored * self.cfg.patch_size[0]} frames (the task "
                     "card's sampling.frames)")
        return self.temporal_embed[:, :t]


def vit_config_from_authors(state: dict[str, torch.Tensor], p: str, options: AuthorsOptions,
                            source: str = "checkpoint"):
    from ..nn.video_vit import VideoViTConfig

    def tensor(key: str, ndim: int) -> torch.Tensor:
        full = f"{p}video_model.{key}"
        value = state.get(full)
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{source}: expected tensor {full!r} is "
                                  + ("absent" if value is None else f"a {type(value).__name__}"),
                                  hint="is this the authors' TVTS checkpoint? check-model --show-keys lists its keys")
        if value.ndim != ndim or 0 in value.shape:
            raise CheckpointError(f"{source}: {full!r} has shape {tuple(value.shape)}; the authors' layout has "
                                  f"{ndim} non-empty dimensions there",
                                  hint="is this the authors' TVTS checkpoint? check-model --show-keys lists its keys")
        return value

    w = tensor("patch_embed.proj.weight", 5)                       # [D, C, t, ph, pw]
    d = int(w.shape[0])
    depth = block_depth(state, f"{p}video_model.", tuple(AUTHORS_BLOCK_KEYS), source,
                        hint="is this the authors' TVTS checkpoint?")
    n_spatial = int(tensor("pos_embed", 3).shape[1]) - 1
    side = int(round(n_spatial ** 0.5))
    if side * side != n_spatial:
        raise CheckpointError(f"{source}: pos_embed has {n_spatial} spatial positions: not a square grid")
    t_slices = int(tensor("temporal_embed", 3).shape[1])
    fc1 = tensor("blocks.0.mlp.fc1.weight", 2)
    card = {k: v for k, v in (("num_heads", options.num_heads), ("hidden_size", options.hidden_size))
            if v is not None}
    heads, _ = heads_for_width(d, card, source)
    return VideoViTConfig(
        img_size=side * int(w.shape[-1]), num_frames=t_slices * int(w.shape[2]),
        patch_size=(int(w.shape[2]), int(w.shape[3]), int(w.shape[4])), in_chans=int(w.shape[1]),
        embed_dim=d, depth=depth, num_heads=heads,
        mlp_ratio=float(fc1.shape[0]) / d, qkv_bias=options.qkv_bias, ln_eps=1e-6, pool="cls")


def import_authors(state: dict[str, torch.Tensor], prefix: str, source: str,
                   options: AuthorsOptions, *, accept_unused: bool = False):
    """Authors' TVTS state dict -> (AuthorsVideoViT, text tower or None, video projection or None,
    report). Unused tensors are refused unless ``accept_unused``."""
    cfg = vit_config_from_authors(state, prefix, options, source)
    vit = AuthorsVideoViT(cfg)
    mapper = KeyMapper(state, source, "tvts-authors")
    src = f"{prefix}video_model."
    target = {dst: mapper.take(src + key) for key, dst in AUTHORS_VIDEO_KEYS.items()}
    for i in range(cfg.depth):
        for key, dst in AUTHORS_BLOCK_KEYS.items():
            if key == "attn.qkv.bias" and not cfg.qkv_bias:
                continue
            why = "TVTS blocks have a qkv bias; set `qkv_bias: false` in the card config if not" \
                if key == "attn.qkv.bias" else ""
            target[f"blocks.{i}.{dst}"] = mapper.take(f"{src}blocks.{i}.{key}", why=why)
    text = video_proj = None
    if not options.text_model and os.environ.get("TVTS_BENCH_TEXT_MODEL"):
        options.text_model = os.environ["TVTS_BENCH_TEXT_MODEL"]
    if options.text_model:
        text, video_proj = _import_text(mapper, prefix, options)
    else:
        mapper.ignore(rf"^{re.escape(prefix)}(text_model|txt_proj|vid_proj)\.",
                      "text tower (set config.text_model to a local DistilBERT folder to use it)")
    mapper.ignore(rf"^{re.escape(prefix)}pred_model\.", "sort module (pretraining only)")
    mapper.ignore(rf"^{re.escape(src)}(head|pre_logits)\.", "classifier head")
    report = mapper.finish()
    refuse_unused(report, accept_unused)
    load_into(vit, target, report)
    return vit, text, video_proj, report


class _AuthorsText(nn.Module):
    """list[str] -> joint space: DistilBERT CLS (last hidden state) -> ReLU -> Linear (txt_proj)."""

    def __init__(self, encoder: nn.Module, txt_proj: nn.Module):
        super().__init__()
        self.text_model = encoder
        self.txt_proj = txt_proj

    def forward(self, texts: list[str]) -> torch.Tensor:
        return self.txt_proj(self.text_model(list(texts)))


def _import_text(mapper: KeyMapper, prefix: str, options: AuthorsOptions):
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from ..nn.heads import text_projection, video_projection
    from ..nn.text_encoder import TextEncoder, TextEncoderConfig

    folder = Path(str(options.text_model)).expanduser()
    if not folder.is_dir():
        raise MissingPathError(folder, "text model folder (config.text_model)",
                               hint="a local distilbert-base-uncased folder with config.json and tokenizer files")
    try:
        hf_cfg = AutoConfig.from_pretrained(str(folder), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{folder}: cannot load the text model config/tokenizer ({e})") from None
    encoder = TextEncoder(TextEncoderConfig(source=str(folder), max_len=options.text_max_len,
                                            trainable_layers=-1, pool="cls"),
                          AutoModel.from_config(hf_cfg), tokenizer)
    src = f"{prefix}text_model."
    target = {}
    for key in encoder.state_dict():
        inner = key[len("model."):] if key.startswith("model.") else key
        if key.endswith("position_ids") and not mapper.has(src + inner):
            continue    # an index buffer; transformers versions differ in whether they save it
        target[key] = mapper.take(src + inner, why="DistilBERT weights of the text tower")
    mapper.ignore(rf"^{re.escape(src)}.*position_ids$", "index buffer")
    load_into(encoder, target, mapper.report, allow_missing=(r"position_ids$",))
    vp_w = mapper.take(f"{prefix}vid_proj.0.weight")
    tp_w = mapper.take(f"{prefix}txt_proj.1.weight")
    vid_proj = video_projection(int(vp_w.shape[1]), int(vp_w.shape[0]))
    txt_proj = text_projection(int(tp_w.shape[1]), int(tp_w.shape[0]))
    load_into(vid_proj, {"0.weight": vp_w, "0.bias": mapper.take(f"{prefix}vid_proj.0.bias")},
              mapper.report)
    load_into(txt_proj, {"1.weight": tp_w, "1.bias": mapper.take(f"{prefix}txt_proj.1.bias")},
              mapper.report)
    return _AuthorsText(encoder, txt_proj), vid_proj


def load_authors(card: ModelCard, path: Path, *, accept_unused: bool = False) -> ModuleAdapter:
    loaded = load_weight_file(path, allow_restricted=True)
    found = authors_state(loaded.content)
    if found is None:
        raise CheckpointError(f"{path}: not a TVTS checkpoint (no 'video_model.blocks.*' keys)",
                              hint="expected the authors' file ('state_dict' with module.video_model.*) "
                                   "or a tvts-bench checkpoint folder")
    state, prefix = found
    options = AuthorsOptions.from_card(card.config)
    vit, text, video_proj, report = import_authors(state, prefix, str(path), options,
                                                   accept_unused=accept_unused)
    if loaded.placeholders:
        report.notes.append("pickled objects kept as inert data (never run): "
                            + ", ".join(loaded.placeholders))
    cfg = authors_config(loaded.content)
    if cfg:
        report.notes.append("authors' config read as data: arch "
                            + str((cfg.get("arch") or {}).get("type", "?")))
    pre_card = card.preprocess
    size, frames = vit.cfg.img_size, vit.cfg.num_frames
    short = round(size * pre_card.short_side / pre_card.size)
    pre = Preprocess(num_frames=frames, size=size, short_side=max(short, size),
                     mean=tuple(pre_card.mean or IMAGENET_MEAN), std=tuple(pre_card.std or IMAGENET_STD))
    report.notes.append(f"{vit.cfg.num_heads} heads (width {vit.cfg.embed_dim}); fewer frames than "
                        f"{frames} use the first temporal_embed slices, as the authors' code does")
    return ModuleAdapter(card=card, video=vit, preprocess=pre, feature_dim=vit.cfg.embed_dim,
                         checkpoint=str(path), report=report, text=text, video_proj=video_proj)


def load_tvts(card: ModelCard, path: Path, *, accept_unused: bool = False) -> ModuleAdapter:
    """``path``: a project checkpoint/run folder or the authors' checkpoint file."""
    from .project import is_project_checkpoint, load_project

    if is_project_checkpoint(path):
        return load_project(card, path, accept_unused=accept_unused)
    if path.is_dir():
        raise CheckpointError(f"{path}: not a tvts-bench checkpoint folder (no config.json with "
                              "format tvts-bench-checkpoint, no checkpoints/)",
                              hint="pass a checkpoints/step-NNNNNNNN folder, a run folder, or the "
                                   "authors' .pth file")
    return load_authors(card, path, accept_unused=accept_unused)


# -- registration -------------------------------------------------------------------------------------

def _patch_embed_ndim(state: dict, prefix: str) -> int | None:
    value = state.get(f"{prefix}video_model.patch_embed.proj.weight")
    return value.ndim if isinstance(value, torch.Tensor) else None


def detect_tvts(probe) -> str | None:
    """``project`` for this project's checkpoint/run folders; ``tvts-authors`` for a file in the
    authors' layout. Frozen-in-Time / MCQ / MILES files share the ``module.video_model.*`` prefix (TVTS
    grew out of that code) but embed each frame with a Conv2d (4-D patch weight): those are left to the
    ``frozen`` family; the authors' TVTS tubelet embedding is a Conv3d (5-D)."""
    from .project import is_project_checkpoint

    if probe.path.is_dir():
        return "project" if is_project_checkpoint(probe.path) else None
    found = authors_state(probe.content)
    if found is None or _patch_embed_ndim(found[0], found[1]) == 4:
        return None
    return "tvts-authors"


def load_tvts_family(card: ModelCard, path: Path, *, accept_unused: bool = False) -> ModuleAdapter:
    if card.weights.format == "tvts-authors" and path.is_file():
        return load_authors(card, path, accept_unused=accept_unused)
    return load_tvts(card, path, accept_unused=accept_unused)


def example(tmp: Path) -> list:
    """A tiny authors'-layout file (ViT-S width, 1 block, 4 frames of 32 px) and a tiny project run."""
    from .families import Example
    from .project import example_run

    from ..nn.video_vit import VideoViTConfig

    torch.manual_seed(0)
    vit = VideoViT(VideoViTConfig(img_size=32, num_frames=4, patch_size=(2, 16, 16), embed_dim=384,
                                  depth=1, num_heads=6))
    state = {f"module.video_model.{k}": v for k, v in vit.state_dict().items()}
    state["module.pred_model.type_embed"] = torch.randn(2, 384)      # the sort module: ignored
    torch.save({"arch": "TVTS", "state_dict": state, "config": {"arch": {"type": "TVTS"}}},
               tmp / "tvts_authors_tiny.pth")
    run, dim, frames, size = example_run(tmp, "tvts")
    return [Example("tvts-authors-vitb", tmp / "tvts_authors_tiny.pth", 384, 4, 32, what="tvts-authors"),
            Example("tvts", run, dim, frames, size, text=True, what="project run (objective tvts)")]


def _register():
    from . import project
    from .families import FamilySpec, FormatSpec, register_family

    return register_family(FamilySpec(
        name="tvts",
        summary="TVTS: this project's runs and the authors' released ViT-B checkpoint",
        load=load_tvts_family,
        formats=(FormatSpec("project", "a tvts-bench checkpoint or run folder (config.json with format "
                                       "tvts-bench-checkpoint, or checkpoints/)",
                            card_for_path=project.card_for_path, card_for_override=project.card_for_override),
                 FormatSpec("tvts-authors", "the authors' TVTS .pth ('state_dict' with "
                                            "module.video_model.* and a Conv3d tubelet embedding)",
                            template="tvts-authors-vitb", pins_training_data=True)),
        detect=detect_tvts, detect_order=0, card_config=AuthorsOptions, example=example))


FAMILY = _register()
