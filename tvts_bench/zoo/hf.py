"""Local HuggingFace folders of the video and image-text models transformers implements.

The format is detected from ``config.json``'s ``model_type``; this family reads:

- ``timesformer`` (``TimesformerModel`` / ``...ForVideoClassification``): the final-normed CLS token,
  what the classifier reads (``outputs[0][:, 0]``);
- ``vivit`` (``VivitModel`` / ``...ForVideoClassification``): the final-normed CLS token, what
  ``VivitForVideoClassification`` classifies. A bare ``VivitModel`` folder's pooler (dense + tanh) is
  not that feature: its tensors are ignored by design;
- ``xclip`` (``XCLIPModel``; transformers' module is ``x_clip``): video = ``get_video_features``
  (per-frame CLIP vision pooler -> visual projection -> the multi-frame integration transformer
  ``mit``); text = ``get_text_features``.
  X-CLIP's ``forward`` also adds video-conditioned prompts to the text (``prompts_generator``); a text
  feature that depends on the video cannot be indexed once per caption, so those tensors (and the
  contrastive ``logit_scale``) are ignored by design and zero-shot retrieval ranks by the plain text
  feature;
- ``siglip`` (``SiglipModel``): per-frame image features (``get_image_features``: the attention-pooled
  vision output) averaged over frames; text = ``get_text_features`` with ``padding="max_length"`` as
  SigLIP was trained (the text pooler reads the last position). For retrieval the video side is the
  mean of the L2-normalised frame features (as CLIP's, CLIP4Clip "meanP").

``videomae`` and ``clip`` folders belong to the ``videomae`` and ``clip`` families (their importers
predate this one); a ``model_type`` nobody reads is an error listing the readable ones
(``families.detect``). Every tensor is accounted for (``KeyMapper``); classification folders may prefix
the backbone (``timesformer.``, ``vivit.``). Preprocessing comes from the folder's
``preprocessor_config.json`` where present: short side (``size.shortest_edge``; a fixed
``height``/``width`` resize, SigLIP's, becomes a centre crop of the short side), crop, and mean/std with
the processor's rescaling folded in (ViViT's ``offset``: ``x/127.5 - 1`` then ``(v - 0.5)/0.5`` is
``(u - 0.75)/0.25`` on [0, 1] pixels). Frames: the config's ``num_frames`` (image models: the card's).
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
from .adapters import ModuleAdapter, TextTower
from .base import Preprocess, TokenLayout
from .card import ModelCard
from .clip import CLIPAdapter, CLIPFrameEncoder, frame_layout, frame_tokens, hf_tokenizer
from .hf_config import load_config, read_processor_config
from .hf_config import model_type as folder_model_type
from .importing import KeyMapper, load_into, refuse_unused
from .safe_load import load_hf_folder_weights


@dataclass
class HFOptions:
    """Card ``config`` keys for HuggingFace folders."""

    text_max_len: int | None = None    # tokens per caption (default: the text model's positions)
    normalize_frames: bool = False     # image-text models: average normalised frame features in encode_video


MODEL_TYPES = ("timesformer", "vivit", "xclip", "siglip")
# transformers 5 renamed ViViT's modules in memory but saves (and 4.x saved) the old names: model key ->
# the name in the folder's weights (first match); other types store their module names as they are.
SAVED_NAMES = {
    "vivit": ((r"^layers\.(\d+)\.attention\.q_proj\.", r"encoder.layer.\1.attention.attention.query."),
              (r"^layers\.(\d+)\.attention\.k_proj\.", r"encoder.layer.\1.attention.attention.key."),
              (r"^layers\.(\d+)\.attention\.v_proj\.", r"encoder.layer.\1.attention.attention.value."),
              (r"^layers\.(\d+)\.attention\.o_proj\.", r"encoder.layer.\1.attention.output.dense."),
              (r"^layers\.(\d+)\.mlp\.fc1\.", r"encoder.layer.\1.intermediate.dense."),
              (r"^layers\.(\d+)\.mlp\.fc2\.", r"encoder.layer.\1.output.dense."),
              (r"^layers\.(\d+)\.", r"encoder.layer.\1.")),
}
_OPTIONAL = r"position_ids$"           # index buffers some transformers versions save and others do not


class _FixedShape(nn.Module):
    """A video model whose positions are built for one clip shape (HF reshapes with the config's)."""

    def _check(self, video: torch.Tensor, frames: int, size: int, what: str) -> None:
        if tuple(video.shape[2:]) != (frames, size, size):
            raise ConfigError(f"this {what} model takes {frames} frames of {size}x{size}, got "
                              f"{tuple(video.shape[2:])}", hint="evaluate with the model's own frames/size")


class VivitEncoder(_FixedShape):
    def __init__(self, cfg: Any):
        super().__init__()
        from transformers import VivitModel

        self.vivit = VivitModel(cfg, add_pooling_layer=False)
        self.feature_dim = int(cfg.hidden_size)

    def token_layout(self, frames: int, size: int) -> TokenLayout:
        """CLS first, then the tubelet tokens time-major (Conv3d tubelets, flattened t, h, w)."""
        t, h, w = (int(x) for x in self.vivit.config.tubelet_size)
        return TokenLayout(cls=(0,), grid=(frames // t, size // h, size // w), pooling="the CLS token (position 0)")

    def forward_tokens(self, video: torch.Tensor) -> torch.Tensor:
        c = self.vivit.config
        self._check(video, c.num_frames, c.image_size, "ViViT")
        return self.vivit(pixel_values=video.permute(0, 2, 1, 3, 4)).last_hidden_state

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.forward_tokens(video)[:, 0]


class XCLIPVideoEncoder(_FixedShape):
    """get_video_features: frames -> CLIP vision pooler -> visual_projection -> mit (pooled)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.vision_model, self.visual_projection, self.mit = model.vision_model, model.visual_projection, model.mit
        self.frames = int(model.config.vision_config.num_frames)
        self.size = int(model.config.vision_config.image_size)
        self.feature_dim = int(model.config.projection_dim)

    def token_layout(self, frames: int, size: int) -> TokenLayout:
        """As CLIP's: one block per frame, ``[CLS_t, patches]``, after ``post_layernorm`` (the
        cross-frame message tokens stay inside the tower)."""
        return frame_layout(self.vision_model, frames, size, cls=True,
                            pooling="visual_projection of each frame's CLS token, then the mit transformer's pooler")

    def forward_tokens(self, video: torch.Tensor) -> torch.Tensor:
        self._check(video, self.frames, self.size, "X-CLIP")
        return frame_tokens(self.vision_model, video, post_norm=True).flatten(1, 2)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        self._check(video, self.frames, self.size, "X-CLIP")
        b, c, t, h, w = video.shape
        pooled = self.vision_model(pixel_values=video.permute(0, 2, 1, 3, 4).reshape(-1, c, h, w)).pooler_output
        return self.mit(self.visual_projection(pooled).view(b, t, -1)).pooler_output


class SiglipFrameEncoder(CLIPFrameEncoder):
    """Per-frame SigLIP image features (attention-pooled, no projection), averaged over frames. Tokens:
    each frame's patch tokens after ``post_layernorm`` (no CLS token; the head pools them)."""

    has_cls = False

    def __init__(self, vision_model: nn.Module, dim: int, normalize_frames: bool = False):
        super().__init__(vision_model, nn.Identity(), dim, normalize_frames)


class _TextSide(nn.Module):
    def __init__(self, text_model: nn.Module, text_projection: nn.Module | None):
        super().__init__()
        self.text_model = text_model
        self.text_projection = text_projection if text_projection is not None else nn.Identity()


def _encode_text(side: nn.Module, tokens: dict) -> torch.Tensor:
    pooled = side.text_model(input_ids=tokens["input_ids"], attention_mask=tokens.get("attention_mask")).pooler_output
    return side.text_projection(pooled)


# -- loading ------------------------------------------------------------------------------------------

def _saved_name(key: str, renames: tuple) -> str:
    for pattern, repl in renames:
        if re.search(pattern, key):
            return re.sub(pattern, repl, key)
    return key


def _take_all(model: nn.Module, state: dict, source: str, fmt: str, *, prefixes: tuple[str, ...] = ("",),
              drop: str | None = None, ignore: dict[str, str] | None = None, renames: tuple = (),
              accept_unused: bool = False):
    """Every tensor ``model`` has, from ``state`` (first matching prefix, in-memory or saved name), with
    the rest accounted for: ``drop`` (regex on model keys) are left out by design, ``ignore`` (regex on
    file keys -> why)."""
    mapper = KeyMapper(state, source, fmt)
    target = {}
    for key in model.state_dict():
        if drop and re.search(drop, key):
            continue
        inner = next((key[len(p):] for p in prefixes if p and key.startswith(p)), key)
        names = list(dict.fromkeys([inner, _saved_name(inner, renames)]))
        candidates = names + [p + n for p in prefixes if p for n in names]
        found = next((c for c in candidates if mapper.has(c)), None)
        if found is None:
            if re.search(_OPTIONAL, key):
                continue
            raise CheckpointError(f"{source}: expected tensor {inner!r} is absent (looked for "
                                  f"{', '.join(candidates)})", hint="the folder's weights do not match its config.json")
        target[key] = mapper.take(found)
    mapper.ignore(_OPTIONAL, "index buffer")
    for pattern, why in (ignore or {}).items():
        mapper.ignore(pattern, why)
    report = mapper.finish()
    refuse_unused(report, accept_unused)
    load_into(model, target, report, allow_missing=(_OPTIONAL,) + ((drop,) if drop else ()))
    return report


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / n).is_file() for n in ("tokenizer.json", "vocab.json", "tokenizer_config.json",
                                                  "spiece.model", "vocab.txt"))


def hf_preprocess(folder: Path, frames: int, size: int, card: ModelCard) -> Preprocess:
    """The folder's processor settings as a Preprocess (card values where the folder says nothing)."""
    cfg = read_processor_config(folder)
    size_cfg, crop_cfg = cfg.get("size"), cfg.get("crop_size")
    short = size_cfg.get("shortest_edge") if isinstance(size_cfg, dict) else size_cfg
    crop = crop_cfg.get("height") if isinstance(crop_cfg, dict) else crop_cfg
    if short is not None and crop and int(crop) != size:    # keep the processor's resize/crop ratio
        short = round(int(short) * size / int(crop))
    if short is None:                   # card ratio (a fixed height/width resize: crop the short side)
        short = round(size * card.preprocess.short_side / card.preprocess.size) \
            if not (isinstance(size_cfg, dict) and "height" in size_cfg) else size
    mean, std = list(cfg.get("image_mean", card.preprocess.mean)), list(cfg.get("image_std", card.preprocess.std))
    if not cfg.get("do_normalize", True):
        mean, std = [0.0] * 3, [1.0] * 3
    scale = float(cfg.get("rescale_factor", 1 / 255)) * 255 if cfg.get("do_rescale", True) else 255.0
    offset = 1.0 if cfg.get("offset", False) else 0.0
    # processor: v = u * 255 * r - offset; out = (v - m) / s  ==  (u - (m + offset) / (255 r)) / (s / (255 r))
    mean = tuple((m + offset) / scale for m in mean)
    std = tuple(s / scale for s in std)
    return Preprocess(num_frames=frames, size=size, short_side=max(int(short), size), mean=mean, std=std)


def load_hf(card: ModelCard, path: Path, *, accept_unused: bool = False) -> ModuleAdapter:
    model_type = folder_model_type(path)
    if model_type not in MODEL_TYPES:
        raise CheckpointError(f"{path}: not a HuggingFace folder of a type the 'hf' family reads "
                              f"(model_type {model_type!r})", hint=f"readable here: {', '.join(MODEL_TYPES)}")
    opts = HFOptions(**{k: v for k, v in card.config.items() if k in HFOptions.__dataclass_fields__})
    cfg = load_config(path)
    state, files = load_hf_folder_weights(path)
    source = str(files[0] if len(files) == 1 else path)
    fmt = f"hf-{model_type}"
    text = None
    adapter_cls = ModuleAdapter
    if model_type == "timesformer":
        from .svt import TimeSformerEncoder

        video = TimeSformerEncoder(cfg)
        report = _take_all(video, state, source, fmt, prefixes=("timesformer.",),
                           ignore={r"^classifier\.": "classifier head"}, accept_unused=accept_unused)
        frames, size, dim = cfg.num_frames, cfg.image_size, cfg.hidden_size
    elif model_type == "vivit":
        video = VivitEncoder(cfg)
        report = _take_all(video, state, source, fmt, prefixes=("vivit.",),
                           ignore={r"^classifier\.": "classifier head",
                                   r"^(vivit\.)?pooler\.": "pooler (dense + tanh): the classifier reads the "
                                                           "final-normed CLS instead"},
                           renames=SAVED_NAMES["vivit"], accept_unused=accept_unused)
        frames, size, dim = cfg.num_frames, cfg.image_size, cfg.hidden_size
    else:
        from transformers import SiglipModel, XCLIPModel

        model = (XCLIPModel if model_type == "xclip" else SiglipModel)(cfg)
        if model_type == "xclip":
            drop = r"^prompts_|^logit_scale$"
            report = _take_all(model, state, source, fmt, drop=drop, accept_unused=accept_unused,
                               ignore={r"^prompts_": "video-conditioned text prompts (need a (text, video) "
                                                     "pair; captions are encoded once each)",
                                       r"^logit_scale$": "contrastive temperature (retrieval ranks by cosine)"})
            video, dim = XCLIPVideoEncoder(model), int(cfg.projection_dim)
            frames, size = video.frames, video.size
            side = _TextSide(model.text_model, model.text_projection)
            max_len, max_pad = int(opts.text_max_len or cfg.text_config.max_position_embeddings), False
        else:
            drop = r"^logit_scale$|^logit_bias$"
            report = _take_all(model, state, source, fmt, drop=drop, accept_unused=accept_unused,
                               ignore={r"^logit_(scale|bias)$": "sigmoid-loss scale and bias (retrieval ranks "
                                                                 "by cosine)"})
            dim = int(cfg.vision_config.hidden_size)
            video = SiglipFrameEncoder(model.vision_model, dim, opts.normalize_frames)
            frames, size = card.preprocess.frames, int(cfg.vision_config.image_size)
            side = _TextSide(model.text_model, None)
            max_len, max_pad = int(opts.text_max_len or cfg.text_config.max_position_embeddings), True
            adapter_cls = CLIPAdapter
        if _has_tokenizer(path):
            try:
                text = TextTower(side, hf_tokenizer(path, max_len, max_pad), _encode_text)
            except CheckpointError as e:
                # e.g. SigLIP's sentencepiece tokenizer without the sentencepiece package: the video
                # side still evaluates; retrieval tasks then say "no text tower"
                report.notes.append(f"text tower disabled: {e.message}")
        else:
            report.notes.append("no tokenizer files in the folder: text tower disabled")
    pre = hf_preprocess(path, int(frames), int(size), card)
    report.notes.append(f"model_type {model_type}: {type(video).__name__}, feature {dim}-d")
    return adapter_cls(card=card, video=video, preprocess=pre, feature_dim=int(dim), checkpoint=str(path),
                       report=report, text=text)


# -- registration -------------------------------------------------------------------------------------

def detect_hf(probe) -> str | None:
    if not probe.path.is_dir() or probe.model_type not in MODEL_TYPES:
        return None
    return f"hf-{probe.model_type}"


def example(tmp: Path) -> list:
    """Tiny folders of each type (width 32, 1 layer, 32 px); the image-text ones with a byte-level
    CLIP tokenizer (any tokenizer the folder holds is used as it is)."""
    from transformers import (SiglipConfig, SiglipModel, TimesformerConfig, TimesformerForVideoClassification,
                              VivitConfig, VivitModel, XCLIPConfig, XCLIPModel)

    from .clip import tiny_clip_tokenizer
    from .families import Example

    torch.manual_seed(0)
    small = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    TimesformerForVideoClassification(TimesformerConfig(image_size=32, patch_size=16, num_frames=4, num_labels=3,
                                                        **small)).save_pretrained(tmp / "timesformer")
    VivitModel(VivitConfig(image_size=32, num_frames=4, tubelet_size=[2, 16, 16], **small)).save_pretrained(tmp / "vivit")
    out = [Example(str(tmp / "timesformer"), None, 32, 4, 32, what="hf-timesformer classifier folder"),
           Example(str(tmp / "vivit"), None, 32, 4, 32, what="hf-vivit folder with pooler")]
    for name in ("xclip", "siglip"):
        folder = tmp / name
        _, vocab = tiny_clip_tokenizer(folder)
        eos = vocab["<|endoftext|>"]
        text = dict(vocab_size=len(vocab), max_position_embeddings=16, **small)
        vision = dict(image_size=32, patch_size=16, **small)
        if name == "xclip":
            text.update(bos_token_id=vocab["<|startoftext|>"], eos_token_id=eos, pad_token_id=eos)
            mit = dict(num_frames=4, mit_hidden_size=16, mit_intermediate_size=32, mit_num_hidden_layers=1,
                       mit_num_attention_heads=2)
            XCLIPModel(XCLIPConfig(text_config=text, vision_config={**vision, **mit}, projection_dim=16,
                                   prompt_layers=1, prompt_num_attention_heads=2)).save_pretrained(folder)
            out.append(Example(str(folder), None, 16, 4, 32, text=True, what="hf-xclip folder with tokenizer"))
        else:
            text.update(pad_token_id=eos, eos_token_id=eos)
            SiglipModel(SiglipConfig(text_config=text, vision_config=vision)).save_pretrained(folder)
            out.append(Example(str(folder), None, 32, 8, 32, text=True, what="hf-siglip folder with tokenizer"))
    return out


def _register():
    from .families import FamilySpec, FormatSpec, register_family

    templates = {"timesformer": "timesformer-base-k400", "vivit": "vivit-b-k400", "xclip": "xclip-b32-k400",
                 "siglip": "siglip-b16-224"}
    formats = tuple(FormatSpec(f"hf-{t}", f"a HuggingFace {t} folder (config.json model_type "
                                                            f"{t!r})", template=templates[t])
                    for t in MODEL_TYPES)
    return register_family(FamilySpec(
        name="hf", summary="HuggingFace folders: TimeSformer, ViViT, X-CLIP (video + text), SigLIP (frames + text)",
        load=load_hf, formats=formats, card_formats=("hf",), detect=detect_hf, detect_order=20,
        card_config=HFOptions, hf_model_types=MODEL_TYPES, example=example))


FAMILY = _register()
