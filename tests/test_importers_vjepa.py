"""V-JEPA / V-JEPA 2 importer against the original equations and transformers' V-JEPA 2.

Tiny encoders with random weights are saved in the ORIGINAL checkpoint layout (``encoder``,
``target_encoder``, ``predictor``, ``opt``, ... with ``module.backbone.`` keys), loaded through
``load_model`` and compared with:

- V-JEPA (sin-cos positions): a forward written here from facebookresearch/jepa
  ``src/models/vision_transformer.py`` (``forward``, ``interpolate_pos_encoding``),
  ``src/models/utils/modules.py`` (``Block``, ``Attention``) and ``src/models/utils/pos_embs.py``
  (``get_3d_sincos_pos_embed`` with ``uniform_power=True`` as the eval configs set), in numpy where the
  original uses numpy; attention as explicit softmax(q k^T / sqrt(d)) v;
- V-JEPA 2 (RoPE): ``transformers.VJEPA2Model``'s encoder, whose weights this file converts to the
  original layout (q, k, v concatenated into ``qkv``) with its own mapping; the feature is the mean
  of ``last_hidden_state``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tvts_bench.errors import CheckpointError
from tvts_bench.zoo.registry import detect_format, load_cards, load_model

TOL = 1e-4
D, HEADS, DEPTH, FRAMES, SIZE, PATCH, TUB = 384, 6, 2, 4, 32, 16, 2
MAX_DIFF: dict[str, float] = {}


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    cards = tmp_path / "cards"
    cards.mkdir()
    repo = Path(__file__).resolve().parents[1] / "models"
    # the released cards say 16 frames at 224 / 256 px; these tiny models are 4 frames of 32 px
    for src, dst in (("vjepa-vitl16", "vjepa-tiny"), ("vjepa2-vitl-256", "vjepa2-tiny")):
        text = (repo / f"{src}.yaml").read_text().replace(f"name: {src}", f"name: {dst}")
        (cards / f"{dst}.yaml").write_text(text.replace("  num_frames: 16", f"  num_frames: {FRAMES}")
                                           .replace("  image_size: 256", f"  image_size: {SIZE}"))
    online = (cards / "vjepa-tiny.yaml").read_text().replace("name: vjepa-tiny", "name: vjepa-tiny-online")
    (cards / "vjepa-tiny-online.yaml").write_text(online.replace("checkpoint_key: target_encoder",
                                                                 "checkpoint_key: encoder"))
    monkeypatch.setenv("TVTS_BENCH_MODELS", str(cards))


def _close(name, got, ref):
    diff = (got - ref).abs().max().item()
    MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.0), diff)
    assert diff <= TOL, f"{name}: max abs difference {diff:.3g}"


def _video(frames=FRAMES, seed=0, b=2):
    return torch.randn(b, 3, frames, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def _save(path: Path, target: dict, prefix: str = "module.backbone.") -> Path:
    enc = {prefix + k: v for k, v in target.items()}
    torch.save({"encoder": {k: v + 0.5 for k, v in enc.items()}, "target_encoder": enc,
                "predictor": {"module.backbone.mask_tokens.0": torch.zeros(1, 1, 8)},
                "opt": {"state": {}}, "scaler": None, "epoch": 300, "loss": 0.1, "batch_size": 24,
                "world_size": 8, "lr": 1e-4}, path)
    return path


# -- V-JEPA: the original equations -----------------------------------------------------------------

def _sincos_1d(dim, pos):                         # get_1d_sincos_pos_embed_from_grid
    omega = np.arange(dim // 2, dtype=float) / (dim / 2.0)
    omega = 1.0 / 10000 ** omega
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def _sincos_3d(dim, grid_size, grid_depth):       # get_3d_sincos_pos_embed(uniform_power=True)
    grid_d, grid_h, grid_w = np.arange(grid_depth, dtype=float), np.arange(grid_size, dtype=float), \
        np.arange(grid_size, dtype=float)
    grid_h, grid_d, grid_w = np.meshgrid(grid_h, grid_d, grid_w)
    part = int(np.ceil(dim / 6) * 2)
    emb = np.concatenate([_sincos_1d(part, grid_d), _sincos_1d(part, grid_h), _sincos_1d(part, grid_w)], axis=1)
    return torch.from_numpy(emb[:, :dim]).float().unsqueeze(0)


def _vjepa_state(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)

    def r(*shape, around=0.0):
        return torch.randn(*shape, generator=g) * 0.2 + around

    s = {"patch_embed.proj.weight": r(D, 3, TUB, PATCH, PATCH), "patch_embed.proj.bias": r(D),
         "pos_embed": _sincos_3d(D, SIZE // PATCH, FRAMES // TUB), "norm.weight": r(D, around=1.0), "norm.bias": r(D)}
    for i in range(DEPTH):
        b = f"blocks.{i}."
        s.update({b + "norm1.weight": r(D, around=1.0), b + "norm1.bias": r(D), b + "attn.qkv.weight": r(3 * D, D),
                  b + "attn.qkv.bias": r(3 * D), b + "attn.proj.weight": r(D, D), b + "attn.proj.bias": r(D),
                  b + "norm2.weight": r(D, around=1.0), b + "norm2.bias": r(D), b + "mlp.fc1.weight": r(4 * D, D),
                  b + "mlp.fc1.bias": r(4 * D), b + "mlp.fc2.weight": r(D, 4 * D), b + "mlp.fc2.bias": r(D)})
    return s


def _ln(x, s, name):
    return F.layer_norm(x, x.shape[-1:], s[name + ".weight"], s[name + ".bias"], eps=1e-6)


def reference_vjepa(s: dict, video: torch.Tensor) -> torch.Tensor:
    """VisionTransformer.forward (no masks) then the mean over tokens."""
    pos = s["pos_embed"]
    _, N, dim = pos.shape
    _, _, T, H, W = video.shape
    if (T, H, W) != (FRAMES, SIZE, SIZE):         # interpolate_pos_encoding
        N_t, N_h = FRAMES // TUB, SIZE // PATCH
        scale = ((T // TUB) / N_t, (H // PATCH) / N_h, (W // PATCH) / N_h)
        pos = F.interpolate(pos.reshape(1, N_t, N_h, N_h, dim).permute(0, 4, 1, 2, 3), scale_factor=scale,
                            mode="trilinear").permute(0, 2, 3, 4, 1).reshape(1, -1, dim)
    x = F.conv3d(video, s["patch_embed.proj.weight"], s["patch_embed.proj.bias"], stride=(TUB, PATCH, PATCH))
    x = x.flatten(2).transpose(1, 2) + pos
    B, N, C = x.shape
    for i in range(DEPTH):
        p = f"blocks.{i}."
        qkv = F.linear(_ln(x, s, p + "norm1"), s[p + "attn.qkv.weight"], s[p + "attn.qkv.bias"])
        q, k, v = qkv.reshape(B, N, 3, HEADS, C // HEADS).permute(2, 0, 3, 1, 4)
        a = ((q @ k.transpose(-2, -1)) * (C // HEADS) ** -0.5).softmax(dim=-1) @ v
        x = x + F.linear(a.transpose(1, 2).reshape(B, N, C), s[p + "attn.proj.weight"], s[p + "attn.proj.bias"])
        h = _ln(x, s, p + "norm2")
        x = x + F.linear(F.gelu(F.linear(h, s[p + "mlp.fc1.weight"], s[p + "mlp.fc1.bias"])),
                         s[p + "mlp.fc2.weight"], s[p + "mlp.fc2.bias"])
    return _ln(x, s, "norm").mean(dim=1)


def test_vjepa_matches_the_original_equations_and_interpolates_positions(tmp_path, capsys):
    s = _vjepa_state(0)
    path = _save(tmp_path / "vitl16.pth.tar", s)
    assert detect_format(path) == "vjepa-pth"
    adapter = load_model("vjepa-tiny", checkpoint=path)
    assert (adapter.preprocess.num_frames, adapter.preprocess.size, adapter.feature_dim) == (FRAMES, SIZE, D)
    with torch.no_grad():
        _close("V-JEPA target encoder, 4 frames", adapter.encode_video(_video()), reference_vjepa(s, _video()))
        _close("V-JEPA, 8 frames (trilinear pos_embed)", adapter.encode_video(_video(8, seed=1)),
               reference_vjepa(s, _video(8, seed=1)))
    report = adapter.import_report
    assert report.all_used and "module.backbone.pos_embed" in report.used
    assert any("read 'target_encoder'" in n and "predictor" in n for n in report.notes)
    from tvts_bench.cli import main

    main(["check-model", "vjepa-tiny", "--checkpoint", str(path), "--clips", "2"])
    assert "all checks passed" in capsys.readouterr().out
    # the online encoder on request (card checkpoint_key), and an unknown tensor is refused
    online = load_model("vjepa-tiny-online", checkpoint=path)
    assert online.weights_hash() != adapter.weights_hash()
    assert any("read 'encoder'" in n for n in online.import_report.notes)
    bad = _save(tmp_path / "bad.pth.tar", {**s, "blocks.0.attn.q_norm.weight": torch.ones(D)})
    with pytest.raises(CheckpointError, match=r"blocks\.0\.attn\.q_norm\.weight"):
        load_model("vjepa-tiny", checkpoint=bad)


# -- V-JEPA 2: transformers' implementation ---------------------------------------------------------

def _hf_vjepa2(seed: int):
    from transformers import VJEPA2Config, VJEPA2Model

    torch.manual_seed(seed)
    model = VJEPA2Model(VJEPA2Config(crop_size=SIZE, frames_per_clip=FRAMES, patch_size=PATCH, tubelet_size=TUB,
                                     hidden_size=D, num_hidden_layers=DEPTH, num_attention_heads=HEADS,
                                     mlp_ratio=4.0, pred_hidden_size=32, pred_num_hidden_layers=1,
                                     pred_num_attention_heads=2)).eval()
    gen = torch.Generator().manual_seed(seed + 7)
    with torch.no_grad():
        for name, p in model.encoder.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2 + (1.0 if "norm" in name and "weight" in name else 0))
    return model.encoder


def _hf_to_original(hf: dict) -> dict[str, torch.Tensor]:
    """transformers VJEPA2 encoder names -> facebookresearch/vjepa2 names (written here)."""
    out = {"patch_embed.proj.weight": hf["embeddings.patch_embeddings.proj.weight"],
           "patch_embed.proj.bias": hf["embeddings.patch_embeddings.proj.bias"],
           "norm.weight": hf["layernorm.weight"], "norm.bias": hf["layernorm.bias"]}
    for i in range(DEPTH):
        h, o = f"layer.{i}.", f"blocks.{i}."
        for part in ("weight", "bias"):
            out[f"{o}attn.qkv.{part}"] = torch.cat([hf[f"{h}attention.{n}.{part}"] for n in ("query", "key", "value")])
            out[f"{o}attn.proj.{part}"] = hf[f"{h}attention.proj.{part}"]
            for n in ("norm1", "norm2", "mlp.fc1", "mlp.fc2"):
                out[f"{o}{n}.{part}"] = hf[f"{h}{n}.{part}"]
    return {k: v.detach().clone() for k, v in out.items()}


def test_vjepa2_rope_matches_transformers(tmp_path):
    enc = _hf_vjepa2(0)
    s = _hf_to_original(enc.state_dict())
    # released V-JEPA 2 files may still hold a pos_embed the RoPE model never adds (hub: strict=False)
    path = _save(tmp_path / "vitl.pt", {**s, "pos_embed": torch.randn(1, 8, D)})
    adapter = load_model("vjepa2-tiny", checkpoint=path)
    with torch.no_grad():
        for frames in (FRAMES, 8):                    # RoPE takes any clip length
            x = _video(frames, seed=frames)
            _close(f"V-JEPA 2 RoPE, {frames} frames", adapter.encode_video(x),
                   enc(pixel_values_videos=x.permute(0, 2, 1, 3, 4)).last_hidden_state.mean(dim=1))
    report = adapter.import_report
    assert report.all_used and "RoPE" in report.ignored["module.backbone.pos_embed"]
    # a file without pos_embed is V-JEPA 2 by detection, even given by path
    by_path = load_model(str(_save(tmp_path / "vitl_nopos.pt", s, prefix="backbone.")))
    assert by_path.family == "vjepa" and by_path.video_backbone().arch.rope
    assert load_cards()["vjepa2-vitg-256"].config["rope"] is True
