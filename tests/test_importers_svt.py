"""SVT / TimeSformer importer against transformers and against the original equations.

A tiny TimeSformer with random weights is built as ``transformers.TimesformerModel``, converted here to
the ORIGINAL key layout (kahnchana/svt ``models/timesformer.py`` names, under a DINO checkpoint's
``teacher`` with ``backbone.`` keys, a DDP ``student`` and a DINO ``head``) by a mapping written in this
file, loaded through ``load_model``, and compared with:

- ``TimesformerModel``'s final-normed CLS token (transformers has the family);
- a forward written here from the original ``VisionTransformer.forward_features`` and
  ``Block.forward`` (divided space-time, the frame-averaged CLS update), so the check does not rest on
  transformers' port alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from tvts_bench.errors import CheckpointError
from tvts_bench.zoo.registry import detect_format, load_model

TOL = 1e-4
D, HEADS, DEPTH, FRAMES, SIZE, PATCH = 384, 6, 2, 4, 32, 16
MAX_DIFF: dict[str, float] = {}


@pytest.fixture(autouse=True)
def _no_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TVTS_BENCH_MODELS", raising=False)


def _hf(seed: int = 0):
    from transformers import TimesformerConfig, TimesformerModel

    torch.manual_seed(seed)
    model = TimesformerModel(TimesformerConfig(image_size=SIZE, patch_size=PATCH, num_frames=FRAMES, hidden_size=D,
                                               num_hidden_layers=DEPTH, num_attention_heads=HEADS,
                                               intermediate_size=4 * D, layer_norm_eps=1e-6, qkv_bias=True)).eval()
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():                            # non-trivial everywhere (temporal_fc starts at 0)
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
        for name, p in model.named_parameters():
            if "layernorm" in name and name.endswith("weight"):
                p.add_(1.0)
    return model


def _to_original(hf: dict) -> dict[str, torch.Tensor]:
    """transformers names -> kahnchana/svt models/timesformer.py names (written here, not imported)."""
    out = {"cls_token": hf["embeddings.cls_token"], "pos_embed": hf["embeddings.position_embeddings"],
           "time_embed": hf["embeddings.time_embeddings"],
           "patch_embed.proj.weight": hf["embeddings.patch_embeddings.projection.weight"],
           "patch_embed.proj.bias": hf["embeddings.patch_embeddings.projection.bias"],
           "norm.weight": hf["layernorm.weight"], "norm.bias": hf["layernorm.bias"]}
    pairs = {"layernorm_before": "norm1", "attention.attention.qkv": "attn.qkv", "attention.output.dense": "attn.proj",
             "temporal_layernorm": "temporal_norm1", "temporal_attention.attention.qkv": "temporal_attn.qkv",
             "temporal_attention.output.dense": "temporal_attn.proj", "temporal_dense": "temporal_fc",
             "layernorm_after": "norm2", "intermediate.dense": "mlp.fc1", "output.dense": "mlp.fc2"}
    for i in range(DEPTH):
        for h, o in pairs.items():
            for part in ("weight", "bias"):
                out[f"blocks.{i}.{o}.{part}"] = hf[f"encoder.layer.{i}.{h}.{part}"]
    return {k: v.detach().clone() for k, v in out.items()}


def _save_svt(path: Path, backbone: dict, extra_teacher: dict | None = None) -> Path:
    teacher = {f"backbone.{k}": v for k, v in backbone.items()}
    teacher.update({"head.mlp.0.weight": torch.randn(32, D), "head.mlp.0.bias": torch.randn(32),
                    "head.last_layer.weight_g": torch.ones(64, 1), "head.last_layer.weight_v": torch.randn(64, 32)})
    teacher.update(extra_teacher or {})
    student = {f"module.{k}": v * 0.5 for k, v in teacher.items()}
    torch.save({"student": student, "teacher": teacher, "motion_student": 0, "motion_teacher": 0,
                "optimizer": {}, "epoch": 10, "dino_loss": {"center": torch.zeros(1, 64)},
                "args": argparse.Namespace(arch="timesformer", out_dim=64, lr=0.0005)}, path)
    return path


# -- the original forward, written out -------------------------------------------------------------

def _attention(x, s, pre):
    B, N, C = x.shape
    qkv = F.linear(x, s[pre + "qkv.weight"], s[pre + "qkv.bias"]).reshape(B, N, 3, HEADS, C // HEADS)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    attn = ((q @ k.transpose(-2, -1)) * (C // HEADS) ** -0.5).softmax(dim=-1)
    return F.linear((attn @ v).transpose(1, 2).reshape(B, N, C), s[pre + "proj.weight"], s[pre + "proj.bias"])


def _ln(x, s, name):
    return F.layer_norm(x, x.shape[-1:], s[name + ".weight"], s[name + ".bias"], eps=1e-6)


def reference_forward(s: dict, video: torch.Tensor) -> torch.Tensor:
    """VisionTransformer.forward_features with attention_type 'divided_space_time'; video [B, C, T, H, W]."""
    B, C, T, H, W = video.shape
    x = F.conv2d(video.permute(0, 2, 1, 3, 4).reshape(B * T, C, H, W), s["patch_embed.proj.weight"],
                 s["patch_embed.proj.bias"], stride=PATCH)                 # 'b c t h w -> (b t) c h w'
    Wp = x.size(-1)
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat((s["cls_token"].expand(x.size(0), -1, -1), x), dim=1) + s["pos_embed"]
    cls_tokens = x[:B, 0, :].unsqueeze(1)
    x = x[:, 1:]
    n, D_ = x.shape[1], x.shape[2]
    x = x.reshape(B, T, n, D_).permute(0, 2, 1, 3).reshape(B * n, T, D_) + s["time_embed"]   # '(b t) n m -> (b n) t m'
    x = torch.cat((cls_tokens, x.reshape(B, n * T, D_)), dim=1)                               # '(b n) t m -> b (n t) m'
    for i in range(DEPTH):
        p = f"blocks.{i}."
        xt = x[:, 1:].reshape(B * n, T, D_)                                   # 'b (h w t) m -> (b h w) t m'
        res_t = _attention(_ln(xt, s, p + "temporal_norm1"), s, p + "temporal_attn.").reshape(B, n * T, D_)
        res_t = F.linear(res_t, s[p + "temporal_fc.weight"], s[p + "temporal_fc.bias"])
        xt = x[:, 1:] + res_t
        init_cls = x[:, 0, :].unsqueeze(1)
        cls = init_cls.repeat(1, T, 1).reshape(B * T, 1, D_)
        xs = xt.reshape(B, n, T, D_).permute(0, 2, 1, 3).reshape(B * T, n, D_)   # 'b (h w t) m -> (b t) (h w) m'
        res_s = _attention(_ln(torch.cat((cls, xs), 1), s, p + "norm1"), s, p + "attn.")
        cls = res_s[:, 0, :].reshape(B, T, D_).mean(1, True)                 # averaging for every frame
        res_s = res_s[:, 1:].reshape(B, T, n, D_).permute(0, 2, 1, 3).reshape(B, n * T, D_)
        x = torch.cat((init_cls, xt), 1) + torch.cat((cls, res_s), 1)
        h = _ln(x, s, p + "norm2")
        x = x + F.linear(F.gelu(F.linear(h, s[p + "mlp.fc1.weight"], s[p + "mlp.fc1.bias"])),
                         s[p + "mlp.fc2.weight"], s[p + "mlp.fc2.bias"])
    del Wp
    return _ln(x, s, "norm")[:, 0]


def _close(name, got, ref):
    diff = (got - ref).abs().max().item()
    MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.0), diff)
    assert diff <= TOL, f"{name}: max abs difference {diff:.3g}"


# -- tests -------------------------------------------------------------------------------------------

def test_svt_teacher_matches_transformers_and_the_original_equations(tmp_path, capsys):
    hf = _hf(0)
    original = _to_original(hf.state_dict())
    path = _save_svt(tmp_path / "kinetics400_vitb_ssl.pth", original)
    assert detect_format(path) == "timesformer-pth"
    adapter = load_model("svt-vitb-k400", checkpoint=path)
    assert (adapter.preprocess.num_frames, adapter.preprocess.size, adapter.feature_dim) == (FRAMES, SIZE, D)
    assert adapter.preprocess.short_side == round(SIZE * 256 / 224)     # the card's 256 / 224, scaled
    x = torch.randn(2, 3, FRAMES, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        got = adapter.encode_video(x)
        _close("svt teacher vs transformers TimesformerModel", got,
               hf(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state[:, 0])
        _close("svt teacher vs the original equations", got, reference_forward(original, x))
        _close("transformers TimesformerModel vs the original equations (reference check)",
               hf(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state[:, 0], reference_forward(original, x))
    report = adapter.import_report
    assert report.all_used and all(k.startswith("head.") for k in report.ignored)
    assert any("not read: " in n and "student" in n for n in report.notes)
    from tvts_bench.cli import main

    main(["check-model", "svt-vitb-k400", "--checkpoint", str(path), "--clips", "2"])
    assert "all checks passed" in capsys.readouterr().out


def test_student_key_and_timesformer_layout_and_unknown_tensor(tmp_path):
    hf = _hf(1)
    original = _to_original(hf.state_dict())
    x = torch.randn(1, 3, FRAMES, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    # an original TimeSformer file: model_state with model.* keys and a classifier head
    state = {f"model.{k}": v for k, v in original.items()}
    state.update({"model.head.weight": torch.randn(400, D), "model.head.bias": torch.randn(400)})
    torch.save({"model_state": state, "epoch": 15}, tmp_path / "TimeSformer_divST_8x32_224_K400.pyth")
    adapter = load_model("svt-vitb-k400", checkpoint=tmp_path / "TimeSformer_divST_8x32_224_K400.pyth")
    with torch.no_grad():
        _close("TimeSformer model_state layout vs the original equations", adapter.encode_video(x),
               reference_forward(original, x))
    assert set(adapter.import_report.ignored) == {"model.head.weight", "model.head.bias"}
    path = _save_svt(tmp_path / "svt.pth", original, {"backbone.blocks.0.extra": torch.zeros(2)})
    with pytest.raises(CheckpointError, match=r"backbone\.blocks\.0\.extra"):
        load_model("svt-vitb-k400", checkpoint=path)
    with pytest.raises(Exception, match="takes 4 frames"):
        load_model("svt-vitb-k400", checkpoint=path, accept_unused=True).encode_video(
            torch.zeros(1, 3, 8, SIZE, SIZE))
