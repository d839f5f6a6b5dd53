"""VideoMAE V2 files (OpenGVLab/VideoMAEv2) through the ``videomae2`` family, against transformers.

VideoMAE V2 keeps VideoMAE's layout, so the family reuses the VideoMAE importer; what is new is sizes:
patch 14 and the ViT-g MLP ratio 48/11 (``vit_giant_patch14_224``). Tiny models of those shapes are
built as ``transformers.VideoMAE*`` with random weights, converted to the original layout by the
mapping in ``tests/test_importers_reference.py`` (written independently of the importer), saved as
``utils.save_model`` does (``module`` / ``model`` + ``args``), and compared with transformers' output.
"""

from __future__ import annotations

import argparse

import pytest
import torch

from tests.test_importers_reference import _original_blocks, _randomize
from tvts_bench.errors import CheckpointError
from tvts_bench.zoo.registry import load_model

TOL = 1e-4
D, FRAMES, SIZE, PATCH = 384, 4, 28, 14
MLP = int(D * 48 / 11)                     # ViT-g's MLP ratio at ViT-S width: 1675
MAX_DIFF: dict[str, float] = {}


@pytest.fixture(autouse=True)
def _no_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TVTS_BENCH_MODELS", raising=False)


def _hf(cls_name: str, seed: int, **kw):
    import transformers

    cfg = transformers.VideoMAEConfig(image_size=SIZE, patch_size=PATCH, num_frames=FRAMES, tubelet_size=2,
                                      hidden_size=D, num_hidden_layers=2, num_attention_heads=6,
                                      intermediate_size=MLP, layer_norm_eps=1e-6, **kw)
    torch.manual_seed(seed)
    model = getattr(transformers, cls_name)(cfg).eval()
    _randomize(model, seed + 50)
    return model


def _close(name, got, ref):
    diff = (got - ref).abs().max().item()
    MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.0), diff)
    assert diff <= TOL, f"{name}: max abs difference {diff:.3g}"


def _args(**kw):
    return argparse.Namespace(num_frames=FRAMES, input_size=SIZE, tubelet_size=2, **kw)


def test_distilled_finetune_layout_matches_transformers_classifier(tmp_path, capsys):
    model = _hf("VideoMAEForVideoClassification", 0, use_mean_pooling=True, num_labels=710)
    hf = model.state_dict()
    state = _original_blocks({k[len("videomae."):]: v for k, v in hf.items() if k.startswith("videomae.")}, "")
    state.update({"fc_norm.weight": hf["fc_norm.weight"], "fc_norm.bias": hf["fc_norm.bias"],
                  "head.weight": hf["classifier.weight"], "head.bias": hf["classifier.bias"]})
    path = tmp_path / "vit_s_k710_dl_from_giant.pth"
    torch.save({"module": state, "args": _args(model="vit_small_patch16_224", use_mean_pooling=True)}, path)
    adapter = load_model("videomaev2-vits-k710-distill", checkpoint=path)
    assert adapter.family == "videomae2" and adapter.feature_dim == D
    cfg = adapter.video_backbone().videomae.config
    assert (cfg.patch_size, cfg.intermediate_size, cfg.num_attention_heads) == (PATCH, MLP, 6)
    x = torch.randn(2, 3, FRAMES, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        tokens = model.videomae(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state
        feature = adapter.encode_video(x)
        _close("VideoMAE V2 distilled layout, fc_norm(mean)", feature, model.fc_norm(tokens.mean(dim=1)))
        _close("VideoMAE V2 head(feature) vs transformers logits", model.classifier(feature),
               model(pixel_values=x.permute(0, 2, 1, 3, 4)).logits)
    assert set(adapter.import_report.ignored) == {"head.weight", "head.bias"}
    from tvts_bench.cli import main

    main(["check-model", "videomaev2-vits-k710-distill", "--checkpoint", str(path), "--clips", "2"])
    assert "all checks passed" in capsys.readouterr().out


def test_vitg_style_pretrain_layout_and_cos_attn_refusal(tmp_path):
    model = _hf("VideoMAEModel", 1, use_mean_pooling=False)
    hf = model.state_dict()
    state = _original_blocks(hf, "encoder.")
    state.update({"encoder.norm.weight": hf["layernorm.weight"], "encoder.norm.bias": hf["layernorm.bias"],
                  "decoder.blocks.0.norm1.weight": torch.ones(8), "decoder.head.weight": torch.randn(8, 8),
                  "encoder_to_decoder.weight": torch.randn(8, D), "mask_token": torch.zeros(1, 1, 8)})
    path = tmp_path / "vit_g_hybrid_pt_1200e.pth"
    torch.save({"model": state, "epoch": 1199, "args": _args(model="pretrain_videomae_giant_patch14_224")}, path)
    adapter = load_model("videomaev2-vitg-hybrid-pt", checkpoint=path)
    x = torch.randn(2, 3, FRAMES, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        _close("VideoMAE V2 pretrain layout, mean of final-normed tokens", adapter.encode_video(x),
               model(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state.mean(dim=1))
    assert all(k.startswith(("decoder.", "encoder_to_decoder", "mask_token")) for k in adapter.import_report.ignored)
    cos = {**state, "encoder.blocks.0.attn.scale": torch.zeros(6, 1, 1), "encoder.blocks.1.attn.scale": torch.zeros(6, 1, 1)}
    torch.save({"model": cos, "args": _args()}, tmp_path / "cos.pth")
    for accept in (False, True):                 # another attention function: refused even when accepting
        with pytest.raises(CheckpointError, match="cosine attention"):
            load_model("videomaev2-vitg-hybrid-pt", checkpoint=tmp_path / "cos.pth", accept_unused=accept)
    extra = {**state, "encoder.blocks.0.attn.mystery": torch.zeros(2)}
    torch.save({"model": extra, "args": _args()}, tmp_path / "extra.pth")
    with pytest.raises(CheckpointError, match=r"encoder\.blocks\.0\.attn\.mystery"):
        load_model("videomaev2-vitg-hybrid-pt", checkpoint=tmp_path / "extra.pth")
    accepted = load_model("videomaev2-vitg-hybrid-pt", checkpoint=tmp_path / "extra.pth", accept_unused=True)
    assert accepted.unused_tensors == ["encoder.blocks.0.attn.mystery"]
