"""CLIP: HuggingFace ``CLIPModel`` folders, and this project's ``clip``-objective runs.

A HF folder (config.json with model_type ``clip``, weights, tokenizer files) is loaded from the local
path only. The video feature is the per-frame image embedding (vision pooler -> visual projection)
averaged over frames (``encode_video``). For text-to-video retrieval, ``encode_video_joint`` averages
the L2-normalised per-frame embeddings (CLIP4Clip's "meanP") and ``encode_text`` is the text
embedding (text pooler -> text projection); retrieval protocols compare them by cosine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError
from .adapters import ModuleAdapter, TextTower
from .base import CLIP_MEAN, CLIP_STD, Preprocess, TokenLayout
from .card import ModelCard
from .hf_config import load_config, model_type, read_processor_config
from .importing import KeyMapper, load_into, refuse_unused
from .safe_load import load_hf_folder_weights


@dataclass
class CLIPOptions:
    """Card ``config`` keys for CLIP."""

    text_max_len: int = 77          # tokens per caption (CLIP's context length)
    normalize_frames: bool = False  # average normalised frame embeds in encode_video too

    @classmethod
    def from_card(cls, config: dict) -> "CLIPOptions":
        known = {k: v for k, v in config.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def frame_tokens(vision_model: nn.Module, video: torch.Tensor, *, post_norm: bool) -> torch.Tensor:
    """``[B, C, T, H, W]`` -> ``[B, T, L, D]``: every frame's output tokens from an image encoder run
    frame by frame (CLIP, X-CLIP, SigLIP vision towers). ``post_norm``: apply the tower's
    ``post_layernorm`` to every token (CLIP's and X-CLIP's ``last_hidden_state`` are the tokens before it,
    which their pooler applies to the CLS token only; SigLIP's are already normed)."""
    b, c, t, h, w = video.shape
    tokens = vision_model(pixel_values=video.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)).last_hidden_state
    if post_norm:
        tokens = vision_model.post_layernorm(tokens)
    return tokens.view(b, t, tokens.shape[1], -1)


def frame_layout(vision_model: nn.Module, frames: int, size: int, *, cls: bool, pooling: str) -> TokenLayout:
    """The layout of ``frame_tokens(...).flatten(1, 2)``: one block per frame, ``[CLS_t, patches]``."""
    g = size // int(vision_model.config.patch_size)
    per = g * g + (1 if cls else 0)
    return TokenLayout(cls=tuple(i * per for i in range(frames)) if cls else (), grid=(frames, g, g),
                       per_frame=True, pooling=pooling)


class CLIPFrameEncoder(nn.Module):
    """``[B, C, T, H, W]`` -> ``[B, D]``: CLIP image embeds of every frame, averaged over frames.

    Tokens (``forward_tokens``): every frame's CLS and patch tokens after ``post_layernorm``, frame by
    frame (``[CLS_0, patches of frame 0, CLS_1, ...]``), in the vision tower's width (before the visual
    projection). ``encode_video`` is the mean over frames of ``visual_projection`` of the CLS tokens."""

    has_cls = True          # SigLIP's vision tower has none

    def __init__(self, vision_model: nn.Module, visual_projection: nn.Module, dim: int,
                 normalize_frames: bool = False):
        super().__init__()
        self.vision_model = vision_model
        self.visual_projection = visual_projection
        self.feature_dim = dim
        self.normalize_frames = normalize_frames

    def frame_embeds(self, video: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = video.shape
        frames = video.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        pooled = self.vision_model(pixel_values=frames).pooler_output
        return self.visual_projection(pooled).view(b, t, -1)

    def forward_tokens(self, video: torch.Tensor) -> torch.Tensor:
        return frame_tokens(self.vision_model, video, post_norm=self.has_cls).flatten(1, 2)

    def token_layout(self, frames: int, size: int) -> TokenLayout:
        what = "visual_projection of each frame's CLS token" if self.has_cls else \
            "each frame's attention-pooling head (vision_model.head)"
        how = "L2-normalised, then averaged over frames" if self.normalize_frames else "averaged over frames"
        return frame_layout(self.vision_model, frames, size, cls=self.has_cls, pooling=f"{what}, {how}")

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        emb = self.frame_embeds(video)
        if self.normalize_frames:
            emb = F.normalize(emb, dim=-1)
        return emb.mean(dim=1)


class CLIPAdapter(ModuleAdapter):
    def encode_video_joint(self, video: torch.Tensor) -> torch.Tensor:
        enc: CLIPFrameEncoder = self.video_backbone()  # type: ignore[assignment]
        was_training = enc.training
        enc.eval()
        try:
            with torch.no_grad():
                emb = enc.frame_embeds(video.to(self._device(), torch.float32))
                return F.normalize(emb, dim=-1).mean(dim=1).float()
        finally:
            enc.train(was_training)


def is_hf_clip_folder(path: Path) -> bool:
    return model_type(path) == "clip"


def import_hf_clip(folder: Path, options: CLIPOptions, *, accept_unused: bool = False) -> tuple[Any, Any]:
    """Build a CLIPModel from ``folder``'s config and load its weights with a full key account."""
    from transformers import CLIPConfig, CLIPModel

    cfg = load_config(folder, CLIPConfig, "CLIP")
    model = CLIPModel(cfg)
    state, files = load_hf_folder_weights(folder)
    source = str(files[0] if len(files) == 1 else folder)
    mapper = KeyMapper(state, source, "hf")
    target = {}
    for key in model.state_dict():
        if key.endswith("position_ids") and not mapper.has(key):
            continue  # a buffer older/newer transformers may or may not save
        target[key] = mapper.take(key)
    mapper.ignore(r"position_ids$", "index buffer")
    report = mapper.finish()
    refuse_unused(report, accept_unused)
    load_into(model, target, report, allow_missing=(r"position_ids$",))
    return model.eval(), report


def hf_tokenizer(folder: Path, max_len: int, max_length_padding: bool = False):
    """A ``list[str] -> token dict`` function from the tokenizer saved in a HuggingFace folder.

    ``max_length_padding``: SigLIP's way (big_vision pads to a fixed length and attends to every
    position, pads included; its tokenizer returns no attention mask, so none is passed)."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{folder}: cannot load the tokenizer ({e})",
                              hint="save the tokenizer next to the model (processor.save_pretrained)") from None

    def tokenize(texts: list[str]) -> dict:
        out = tok(texts, padding="max_length" if max_length_padding else True, truncation=True,
                  max_length=max_len, return_tensors="pt")
        keep = ("input_ids",) if max_length_padding else ("input_ids", "attention_mask")
        return {k: v for k, v in out.items() if k in keep}

    return tokenize


def _encode_text(text_side: nn.Module, tokens: dict) -> torch.Tensor:
    pooled = text_side.text_model(input_ids=tokens["input_ids"],
                                  attention_mask=tokens.get("attention_mask")).pooler_output
    return text_side.text_projection(pooled)


class _TextSide(nn.Module):
    def __init__(self, text_model: nn.Module, text_projection: nn.Module):
        super().__init__()
        self.text_model = text_model
        self.text_projection = text_projection


def load_clip(card: ModelCard, path: Path, *, accept_unused: bool = False) -> ModuleAdapter:
    from .project import is_project_checkpoint, load_project

    if is_project_checkpoint(path):
        return load_project(card, path, accept_unused=accept_unused)
    if not is_hf_clip_folder(path):
        raise CheckpointError(f"{path}: not a CLIP checkpoint",
                              hint="expected a HuggingFace CLIPModel folder (config.json with model_type "
                                   "'clip', model.safetensors, tokenizer files) or a project checkpoint")
    options = CLIPOptions.from_card(card.config)
    model, report = import_hf_clip(path, options, accept_unused=accept_unused)
    dim = int(model.config.projection_dim)
    video = CLIPFrameEncoder(model.vision_model, model.visual_projection, dim, options.normalize_frames)
    has_tok = any((path / n).is_file() for n in ("tokenizer.json", "vocab.json", "tokenizer_config.json"))
    text = None
    if has_tok:
        text = TextTower(_TextSide(model.text_model, model.text_projection),
                         hf_tokenizer(path, options.text_max_len), _encode_text)
    else:
        report.notes.append("no tokenizer files in the folder: text tower disabled")
    pre_cfg = read_processor_config(path, ("preprocessor_config.json",))
    size = int(model.config.vision_config.image_size)
    short = pre_cfg.get("size", {}).get("shortest_edge") if isinstance(pre_cfg.get("size"), dict) \
        else pre_cfg.get("size")
    pre = Preprocess(num_frames=card.preprocess.frames, size=size, short_side=max(int(short or size), size),
                     mean=tuple(pre_cfg.get("image_mean", CLIP_MEAN)),
                     std=tuple(pre_cfg.get("image_std", CLIP_STD)))
    return CLIPAdapter(card=card, video=video, preprocess=pre, feature_dim=dim, checkpoint=str(path),
                       report=report, text=text)


# -- registration -------------------------------------------------------------------------------------

def detect_clip(probe) -> str | None:
    return "hf-clip" if probe.path.is_dir() and probe.model_type == "clip" else None


def tiny_clip_tokenizer(folder: Path):
    """A byte-level CLIP tokenizer with no merges (every byte one token), saved to ``folder``: example
    hooks and tests need a tokenizer without downloading one."""
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = len(vocab), len(vocab) + 1
    tok = CLIPTokenizer(vocab=vocab, merges=[])
    tok.save_pretrained(folder)
    return tok, vocab


def example(tmp: Path) -> list:
    """A tiny HF CLIP folder (width 32, 2 layers, 32 px, projection 16) with a byte-level tokenizer."""
    from transformers import CLIPConfig, CLIPModel

    from .families import Example

    folder = tmp / "clip-hf"
    _, vocab = tiny_clip_tokenizer(folder)
    text = dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=2, max_position_embeddings=32, bos_token_id=vocab["<|startoftext|>"],
                eos_token_id=vocab["<|endoftext|>"], pad_token_id=vocab["<|endoftext|>"])
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                  image_size=32, patch_size=16)
    torch.manual_seed(0)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).save_pretrained(folder)
    return [Example("clip-vitb16", folder, 16, 8, 32, text=True, what="hf-clip folder with tokenizer")]


def _register():
    from .families import FamilySpec, FormatSpec, register_family

    return register_family(FamilySpec(
        name="clip",
        summary="CLIP: HF CLIPModel folders (frame-averaged), this project's clip runs",
        load=load_clip,
        formats=(FormatSpec("hf-clip", "a HuggingFace CLIP folder (config.json model_type 'clip')",
                            template="clip-vitb16"),),
        card_formats=("project", "hf"), detect=detect_clip, detect_order=20, card_config=CLIPOptions,
        hf_model_types=("clip",), example=example))


FAMILY = _register()
