"""VideoMAE V2 (OpenGVLab/VideoMAEv2): the distilled ViT-S/B and the ViT-g checkpoints.

Same layout as VideoMAE, so this family reuses ``videomae.py``'s importer unchanged: VideoMAE V2's
``models/modeling_finetune.py`` and ``modeling_pretrain.py`` keep VideoMAE's key names (``blocks.i.
attn.qkv.weight`` with separate ``q_bias`` / ``v_bias``, ``patch_embed.proj`` a Conv3d tubelet,
``fc_norm`` with mean pooling, ``head``; pretraining files ``model`` with ``encoder.*`` / ``decoder.*``),
the same fixed 1-D sin-cos positions (``get_sinusoid_encoding_table``, not stored) and the same
``utils.save_model`` (``'model'``, ``'args'``). What differs is only sizes, and those come from the
tensors: ViT-g (``vit_giant_patch14_224``) is width 1408, 40 blocks, patch 14, MLP ratio 48/11
(``mlp.fc1`` 6144 wide), 16 heads (``importing.STANDARD_HEADS``).

Differences handled here:

- ``cos_attn`` (V2's optional cosine attention: a learned ``attn.scale`` per block). No released
  checkpoint uses it and HF's VideoMAE cannot compute it, so such a file is refused with that reason
  instead of a list of unused tensors.
- A V2 file given by path is detected as ``videomae-pth`` and loads with the VideoMAE card (the layouts
  are identical); ``--model videomaev2-<size> --checkpoint FILE`` gives it V2's card (its training data
  and preprocessing).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import CheckpointError
from .adapters import ModuleAdapter
from .card import ModelCard
from .importing import refuse_unused
from .videomae import VideoMAEOptions, load_videomae


def load_videomae2(card: ModelCard, path: Path, *, accept_unused: bool = False) -> ModuleAdapter:
    # Load once with every tensor accounted for, then decide: a cos_attn file is refused even with
    # --accept-unused-tensors (its attention is another function), other unused tensors as usual.
    adapter = load_videomae(card, path, accept_unused=True)
    report = adapter.import_report
    unused = list(getattr(report, "unused", None) or [])
    if any(re.search(r"blocks\.\d+\.attn\.scale$", k) for k in unused):
        raise CheckpointError(f"{path}: this VideoMAE V2 model uses cosine attention (cos_attn: "
                              "blocks.*.attn.scale), which this benchmark does not implement",
                              hint="no released VideoMAE V2 checkpoint uses it; use a model trained "
                                   "without --cos_attn")
    if unused and not accept_unused:
        report.accepted_unused = False
        report.notes = [n for n in report.notes if not n.startswith("loaded despite")]
        refuse_unused(report, False)
    return adapter


def example(tmp: Path) -> list:
    """A tiny distilled-style fine-tuned file (``module``, ``fc_norm`` + ``head``, training ``args``):
    ViT-S width (6 heads), MLP ratio 48/11 as ViT-g, patch 14, 4 frames of 28 px, 1 block."""
    import argparse

    import torch
    from transformers import VideoMAEModel

    from .families import Example
    from .videomae import VideoMAEArch, _to_original

    torch.manual_seed(0)
    arch = VideoMAEArch(hidden_size=384, num_layers=1, num_heads=6, intermediate_size=int(384 * 48 / 11),
                        patch_size=14, num_frames=4, image_size=28, final_norm=False, fc_norm=True)
    state = _to_original(VideoMAEModel(arch.hf_config()), "")
    state.update({"fc_norm.weight": torch.ones(384), "fc_norm.bias": torch.zeros(384),
                  "head.weight": torch.randn(710, 384), "head.bias": torch.zeros(710)})
    torch.save({"module": state, "args": argparse.Namespace(model="vit_small_patch16_224", num_frames=4,
                                                             input_size=28, use_mean_pooling=True)},
               tmp / "vit_s_k710_dl_tiny.pth")
    return [Example("videomaev2-vits-k710-distill", tmp / "vit_s_k710_dl_tiny.pth", 384, 4, 28,
                    what="VideoMAE V2 distilled fine-tune layout (module, fc_norm, head)")]


def _register():
    from .families import FamilySpec, register_family

    return register_family(FamilySpec(
        name="videomae2",
        summary="VideoMAE V2: distilled ViT-S/B and ViT-g (VideoMAE's layout and importer)",
        load=load_videomae2, card_formats=("videomae-pth",), card_config=VideoMAEOptions, example=example))


FAMILY = _register()
