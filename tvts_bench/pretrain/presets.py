"""Model and training presets, and how an objective turns a preset into a model config.

- ``vit-b``: the paper. ViT-B/16 over 16 x 224^2 with (2,16,16) tubelets, DistilBERT (a local folder,
  ``--text-model``), 2-block sort module, 256-d projections, AdamW 1e-4, step schedule, batch 24/GPU.
- ``small``: what trains on 2 CPU cores in minutes: 192-d, 4 layers, 3 heads, 8 x 64^2 with (2,8,8)
  tubelets (4 x 64 tokens, 16 kept per slice at 75 % masking), the pretrained MiniLM-L6 text encoder
  truncated to its first 3 layers, only the last of them trained (for speed).
- ``tiny``: for tests: 64-d, 2 layers, 4 x 32^2, frozen MiniLM.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..data.preprocess import IMAGENET_MEAN, IMAGENET_STD, Preprocess
from ..errors import ConfigError
from ..nn.mae_decoder import MAEDecoderConfig
from ..nn.model import ModelConfig
from ..nn.order_heads import ORDER_PRETEXTS, OrderHeadConfig, order_units
from ..nn.sort_module import SortModuleConfig
from ..nn.text_encoder import TextEncoderConfig
from ..nn.video_vit import VideoViTConfig

OBJECTIVES = ("tvts", "base", "sort", "videomae", "clip", *ORDER_PRETEXTS)
# Default run name per objective (the zoo's cards read runs/<name>). The ordering pretexts of the
# paper's Table 1 are L_base + a video-ordering term: named like the other L_base ablations.
RUN_NAMES = {"tvts": "tvts", "base": "tvts-base", "sort": "tvts-sort", "videomae": "videomae", "clip": "clip",
             "vcop": "tvts-vcop", "merlot": "tvts-merlot", "merlot-like": "tvts-merlot-like"}


@dataclass
class Preset:
    name: str
    video: VideoViTConfig
    text: TextEncoderConfig
    short_side: int
    sort_depth: int = 2
    sort_heads: int = 12
    sort_time_code: str = "none"    # see SortModuleConfig.time_code; the paper: none
    sort_video_input: str = "tokens"  # see SortModuleConfig.video_input; the paper: tokens
    proj_dim: int = 256
    decoder: MAEDecoderConfig = field(default_factory=MAEDecoderConfig)
    # training defaults
    batch_size: int = 24
    lr: float = 1e-4
    weight_decay: float = 0.0
    schedule: str = "step"
    warmup_steps: int = 0
    steps: int | None = None
    epochs: int | None = 20
    clip_grad: float | None = None
    log_every: int = 10
    val_every: int = 1000
    ckpt_every: int = 1000
    val_samples: int = 256

    def preprocess(self) -> Preprocess:
        return Preprocess(num_frames=self.video.num_frames, size=self.video.img_size,
                          short_side=self.short_side, mean=IMAGENET_MEAN, std=IMAGENET_STD)


PRESETS: dict[str, Preset] = {
    "vit-b": Preset(
        name="vit-b",
        video=VideoViTConfig(img_size=224, num_frames=16, patch_size=(2, 16, 16), embed_dim=768,
                             depth=12, num_heads=12, drop_path_rate=0.0),
        text=TextEncoderConfig(source="", max_len=50, trainable_layers=-1),
        short_side=268, sort_depth=2, sort_heads=12, proj_dim=256,
        decoder=MAEDecoderConfig(dim=384, depth=4, num_heads=6),
        batch_size=24, lr=1e-4, schedule="step", epochs=20, log_every=50, val_every=2000,
        ckpt_every=2000, val_samples=512),
    "small": Preset(
        name="small",
        video=VideoViTConfig(img_size=64, num_frames=8, patch_size=(2, 8, 8), embed_dim=192, depth=4,
                             num_heads=3),
        text=TextEncoderConfig(source="minilm", max_len=50, trainable_layers=0, pool="mean"),
        short_side=72, sort_depth=2, sort_heads=3, proj_dim=256,
        decoder=MAEDecoderConfig(dim=128, depth=2, num_heads=2),
        batch_size=32, lr=1e-3, weight_decay=0.05, schedule="cosine", warmup_steps=8, steps=80,
        epochs=None, clip_grad=1.0, log_every=5, val_every=40, ckpt_every=40, val_samples=64),
    "tiny": Preset(
        name="tiny",
        video=VideoViTConfig(img_size=32, num_frames=4, patch_size=(2, 8, 8), embed_dim=64, depth=2,
                             num_heads=2),
        text=TextEncoderConfig(source="minilm", max_len=32, trainable_layers=0),
        short_side=36, sort_depth=1, sort_heads=2, proj_dim=64,
        decoder=MAEDecoderConfig(dim=32, depth=1, num_heads=2),
        batch_size=8, lr=1e-3, weight_decay=0.0, schedule="cosine", warmup_steps=2, steps=20,
        epochs=None, clip_grad=1.0, log_every=1, val_every=10, ckpt_every=10, val_samples=16),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}", hint=f"choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def model_config(preset: Preset, objective: str, *, sort_head: str = "kway", text_source: str | None = None,
                 num_texts: int = 4) -> ModelConfig:
    """The parts each objective needs (see tvts_bench.nn.model)."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r}", hint=f"choose one of: {', '.join(OBJECTIVES)}")
    text = replace(preset.text, source=text_source or preset.text.source)
    if objective != "videomae" and not text.source:
        raise ConfigError(f"preset {preset.name} needs a text encoder folder",
                          hint="pass --text-model DIR (a local distilbert-base-uncased)")
    video = replace(preset.video)
    d = video.embed_dim
    if objective == "videomae":
        return ModelConfig(video=replace(video, pool="mean"), encoder_kind="video", text=None, sort=None,
                           proj_dim=None, decoder=replace(preset.decoder))
    if objective == "clip":
        return ModelConfig(video=video, encoder_kind="frame", text=text, sort=None,
                           proj_dim=preset.proj_dim)
    sort = None
    if objective in ("tvts", "sort"):
        sort = SortModuleConfig(dim=d, text_dim=d, num_heads=preset.sort_heads, depth=preset.sort_depth,
                                num_texts=num_texts, head=sort_head, ln_eps=video.ln_eps,
                                time_code=preset.sort_time_code, video_input=preset.sort_video_input)
    order = None
    if objective in ORDER_PRETEXTS:
        slices = video.grid[0]
        units = order_units(slices, num_texts, objective)
        if units < 2:
            raise ConfigError(f"objective {objective} needs at least 2 time slices to shuffle; preset "
                              f"{preset.name} has {slices}",
                              hint="use a preset with more frames (small: 8 frames = 4 time slices)")
        order = OrderHeadConfig(pretext=objective, units=units, dim=d, text_dim=d, num_texts=num_texts,
                                num_heads=preset.sort_heads, depth=preset.sort_depth, ln_eps=video.ln_eps)
    proj = preset.proj_dim if objective in ("tvts", "base", *ORDER_PRETEXTS) else None
    return ModelConfig(video=video, encoder_kind="video", text=text, sort=sort, proj_dim=proj, order=order)
