"""--init imagemae: a timm/MAE image ViT checkpoint inflated into the video ViT."""

from __future__ import annotations

import pytest
import torch

from tvts_bench.errors import CheckpointError
from tvts_bench.nn.video_vit import VideoViT, VideoViTConfig
from tvts_bench.pretrain.imagemae import load_imagemae

CFG = VideoViTConfig(img_size=32, num_frames=4, patch_size=(2, 8, 8), embed_dim=64, depth=2, num_heads=2)


def _timm_state() -> dict[str, torch.Tensor]:
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    vit = VisionTransformer(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=2, num_classes=0,
                            global_pool="token")
    return vit.state_dict()


def test_safetensors_timm_checkpoint_is_inflated_over_time(tmp_path):
    from safetensors.torch import save_file

    state = _timm_state()
    path = tmp_path / "mae.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    model = VideoViT(CFG)
    report = load_imagemae(model, path)
    w2d = state["patch_embed.proj.weight"]
    w3d = model.patch_embed.proj.weight.detach()
    assert w3d.shape == (64, 3, 2, 8, 8)
    for t in range(2):
        assert torch.equal(w3d[:, :, t], w2d)                     # repeated, not divided
    assert torch.equal(model.blocks[1].attn.qkv.weight.detach(), state["blocks.1.attn.qkv.weight"])
    assert torch.equal(model.pos_embed.detach(), state["pos_embed"])
    assert report.missing == ["temporal_embed"]                   # the only video-specific tensor
    assert not report.unused
    assert "temporal_embed" in report.summary()


def test_mae_release_layout_reports_unused_decoder_keys(tmp_path):
    state = {f"module.{k}": v for k, v in _timm_state().items()}
    state["module.decoder_embed.weight"] = torch.zeros(32, 64)
    state["module.mask_token"] = torch.zeros(1, 1, 32)
    path = tmp_path / "mae_pretrain.pth"
    torch.save({"model": state, "epoch": 3}, path)
    report = load_imagemae(VideoViT(CFG), path)
    assert set(report.unused) == {"decoder_embed.weight", "mask_token"}
    assert "blocks.0.mlp.fc1.weight" in report.loaded


def test_unrelated_or_unsafe_files_are_refused(tmp_path):
    bad = tmp_path / "other.pth"
    torch.save({"model": {"foo.weight": torch.zeros(3)}}, bad)
    with pytest.raises(CheckpointError, match="no tensor matches"):
        load_imagemae(VideoViT(CFG), bad)
    pickled = tmp_path / "pickle.pth"
    import argparse

    # a pickled custom object, as in the authors' TVTS checkpoints: refused, not executed
    torch.save({"model": {"x": torch.zeros(1)}, "cfg": argparse.Namespace(lr=1)}, pickled)
    with pytest.raises(CheckpointError, match="weights-only"):
        load_imagemae(VideoViT(CFG), pickled)
