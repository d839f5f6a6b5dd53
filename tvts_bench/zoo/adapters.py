"""The one concrete adapter every family returns: a video module, optional text tower and projections.

Families differ in how they build the modules and import weights; once built, they all behave the
same, so protocols, the cache and ``check-model`` see one class.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..hashing import state_dict_hash
from .base import Preprocess, TokenLayout, VideoAdapter
from .card import ModelCard
from .importing import ImportReport


class TextTower(nn.Module):
    """list[str] -> [N, D] joint-space text features: tokenizer + encoder + optional projection.

    ``encode`` maps tokenizer output to features, so the tower stays trainable (ret-ft) while the
    tokenizer, which is not a module, rides along.
    """

    def __init__(self, encoder: nn.Module, tokenize: Callable[[list[str]], dict],
                 encode: Callable[[nn.Module, dict], torch.Tensor], proj: nn.Module | None = None):
        super().__init__()
        self.encoder = encoder
        self.proj = proj if proj is not None else nn.Identity()
        self._tokenize = tokenize
        self._encode = encode

    def forward(self, texts: list[str]) -> torch.Tensor:
        device = next(self.parameters()).device
        tokens = {k: v.to(device) if isinstance(v, torch.Tensor) else v
                  for k, v in self._tokenize(list(texts)).items()}
        return self.proj(self._encode(self.encoder, tokens))


class ModuleAdapter(VideoAdapter):
    """A VideoAdapter over modules; see ``base.VideoAdapter`` for the contract."""

    def __init__(self, *, card: ModelCard, video: nn.Module, preprocess: Preprocess, feature_dim: int,
                 checkpoint: str | None = None, report: ImportReport | None = None,
                 text: nn.Module | None = None, video_proj: nn.Module | None = None,
                 text_call: Callable[[list[str]], torch.Tensor] | None = None,
                 hash_state: dict[str, torch.Tensor] | None = None, name: str | None = None):
        self.card = card
        self.name = name or card.name
        self.family = card.family
        self.preprocess = preprocess
        self.feature_dim = int(feature_dim)
        self.feature_desc = card.feature
        self.checkpoint = checkpoint            # where the weights came from (None: random init)
        self.import_report = report
        self.notes: list[str] = []              # shown by check-model (e.g. what scratch matched)
        self._video = video.eval()
        self._text = text.eval() if text is not None else None
        self._text_call = text_call             # a text encoder that is not a module (project runs)
        self._video_proj = video_proj.eval() if video_proj is not None else None
        self._hash_state = hash_state
        self._hash: str | None = None

    # -- encoding ---------------------------------------------------------------------------------

    def _device(self) -> torch.device:
        for p in self._video.parameters():
            return p.device
        return torch.device("cpu")

    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        was_training = self._video.training
        self._video.eval()
        try:
            with torch.no_grad():
                return self._video(video.to(self._device(), torch.float32)).float()
        finally:
            self._video.train(was_training)

    def _vit(self) -> tuple[nn.Module, bool] | None:
        """This project's ViT behind the module: (tvts_bench.nn.VideoViT, per frame?) -- the module
        itself, or the ``video_model`` a FrameViT (the clip baseline) runs on every frame -- else None."""
        for module, per_frame in ((self._video, False), (getattr(self._video, "video_model", None), True)):
            cfg = getattr(module, "cfg", None)
            patch = getattr(cfg, "patch_size", None)
            if isinstance(module, nn.Module) and getattr(module, "cls_token", None) is not None and \
                    callable(getattr(module, "forward_features", None)) and isinstance(patch, tuple) and len(patch) == 3:
                if per_frame and not callable(getattr(self._video, "frame_features", None)):
                    return None
                return module, per_frame
        return None

    def token_layout(self, frames: int, size: int) -> TokenLayout:
        """The module's ``token_layout(frames, size)``; for this project's ViTs (tvts_bench.nn, which
        have no such method): CLS first, then the tubelet tokens time-major, as ``forward_features``
        gives them; for FrameViT (the clip baseline) one such block per frame."""
        fn = getattr(self._video, "token_layout", None)
        if callable(fn):
            return fn(frames, size)
        vit = self._vit()
        if vit is None:
            return super().token_layout(frames, size)
        module, per_frame = vit
        patch = module.cfg.patch_size
        token = "mean of the patch tokens" if getattr(module.cfg, "pool", "cls") == "mean" else "the CLS token"
        grid = (frames if per_frame else frames // patch[0], size // patch[1], size // patch[2])
        if per_frame:
            per = grid[1] * grid[2] + 1
            return TokenLayout(cls=tuple(i * per for i in range(frames)), grid=grid, per_frame=True,
                               pooling=f"each frame's {token}, averaged over frames")
        return TokenLayout(cls=(0,), grid=grid, pooling=token + (" (position 0)" if token == "the CLS token" else ""))

    def encode_tokens(self, video: torch.Tensor) -> torch.Tensor:
        """The module's ``forward_tokens`` ([B, L, D]); for FrameViT (the clip baseline) its ViT's
        ``forward_features`` frame by frame; else the module's ``forward_features`` when that gives
        tokens (tvts_bench.nn.VideoViT: CLS + patch tokens after the final norm)."""
        fn = getattr(self._video, "forward_tokens", None)
        frame_vit = None
        if not callable(fn):
            vit = self._vit()
            frame_vit = vit[0] if vit is not None and vit[1] else None
            fn = getattr(self._video, "forward_features", None)
        if not callable(fn) and frame_vit is None:
            return super().encode_tokens(video)
        was_training = self._video.training
        self._video.eval()
        try:
            with torch.no_grad():
                x = video.to(self._device(), torch.float32)
                if frame_vit is not None:                        # every frame on its own
                    b, c, t, h, w = x.shape
                    out = frame_vit.forward_features(x.permute(0, 2, 1, 3, 4).reshape(b * t, c, 1, h, w))
                    out = out.reshape(b, t * out.shape[1], out.shape[2])
                else:
                    out = fn(x)
        finally:
            self._video.train(was_training)
        if not isinstance(out, torch.Tensor) or out.dim() != 3:
            return super().encode_tokens(video)
        return out.float()

    @property
    def has_text(self) -> bool:
        return self._text is not None or self._text_call is not None

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        if self._text is not None:
            was_training = self._text.training
            self._text.eval()
            try:
                with torch.no_grad():
                    return self._text(list(texts)).float()
            finally:
                self._text.train(was_training)
        if self._text_call is not None:
            with torch.no_grad():
                return self._text_call(list(texts)).float()
        return super().encode_text(texts)

    def encode_video_joint(self, video: torch.Tensor) -> torch.Tensor:
        feats = self.encode_video(video)
        if self._video_proj is None:
            return feats
        with torch.no_grad():
            return self._video_proj(feats).float()

    # -- training and bookkeeping -----------------------------------------------------------------

    def video_backbone(self) -> nn.Module:
        return self._video

    def text_backbone(self) -> nn.Module | None:
        return self._text

    def video_projection(self) -> nn.Module | None:
        return self._video_proj

    def weights_hash(self) -> str:
        if self._hash is None:
            if self._hash_state is not None:
                self._hash = state_dict_hash(self._hash_state)
            else:
                state = {f"video.{k}": v for k, v in self._video.state_dict().items()}
                if self._video_proj is not None:
                    state.update({f"video_proj.{k}": v for k, v in self._video_proj.state_dict().items()})
                if self._text is not None:
                    state.update({f"text.{k}": v for k, v in self._text.state_dict().items()})
                self._hash = state_dict_hash(state)
        return self._hash

    def to(self, device: torch.device | str) -> "ModuleAdapter":
        for m in (self._video, self._text, self._video_proj):
            if m is not None:
                m.to(device)
        return self

    def model_info(self) -> dict:
        """Fields for ResultRecord.model (bench.result_schema.ModelInfo).

        ``unused_tensors`` is present only when the load accepted unused checkpoint tensors, so a
        result computed from a partly understood checkpoint says so.
        """
        info = {"name": self.name, "family": self.family, "weights_hash": self.weights_hash(),
                "checkpoint": self.checkpoint, "trained_on": list(self.card.trained_on),
                "paper_row": self.card.paper_row, "num_params": self.num_params(),
                "card": self.card.for_report()}
        if self.unused_tensors:
            info["unused_tensors"] = self.unused_tensors
        return info


def infer_feature_dim(module: nn.Module, preprocess: Preprocess) -> int:
    """Feature size of a [B,C,T,H,W] -> [B,D] module: from its attributes, else one tiny forward."""
    for attr in ("feature_dim", "num_features", "embed_dim", "out_dim"):
        value = getattr(module, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    was_training = module.training
    module.eval()
    try:
        device = next((p.device for p in module.parameters()), torch.device("cpu"))
        x = torch.zeros(1, 3, preprocess.num_frames, preprocess.size, preprocess.size, device=device)
        with torch.no_grad():
            return int(module(x).shape[-1])
    finally:
        module.train(was_training)
