"""Reference-code checks for the importers (docs/importers.md says what each one compares).

For each external format a tiny model is written in the ORIGINAL key layout, loaded through
``load_model`` (and the CLI), and its features are compared with an independent reference:

- VideoMAE .pth: ``transformers.VideoMAEModel`` / ``VideoMAEForVideoClassification`` with random
  weights, converted to the original MCG-NJU/VideoMAE layout by a mapping written in this file (not
  the importer's), saved with an ``args`` Namespace as the original ``utils.save_model`` does;
  layer scale (``gamma_1``/``gamma_2``), which transformers lacks, against a forward written here
  from the original block equations;
- the authors' TVTS file: a forward written here from the paper's equations (divided space-time
  positions, CLS, pre-norm blocks with qkv bias, final norm, CLS output), at the trained frame count
  and at fewer frames (``temporal_embed[:, :t]``, as the authors' downstream encoder slices);
- unused tensors: refused by default, naming the key; accepted with ``accept_unused=True`` and then
  listed on the adapter and in ``model_info()``; ``tvts-bench check-model`` exits non-zero.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from tvts_bench.errors import CheckpointError, ConfigError
from tvts_bench.zoo.registry import load_cards, load_model

ATOL = 1e-5
FRAMES, SIZE, PATCH, TUBELET = 4, 32, 16, 2
VIT_S = dict(hidden_size=384, num_attention_heads=6, intermediate_size=1536)   # ViT-S/16, 2 layers


@pytest.fixture(autouse=True)
def _no_home(tmp_path, monkeypatch):
    """An empty TVTS_BENCH_HOME: no runs, no world, no data (check-model uses random clips)."""
    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TVTS_BENCH_MODELS", raising=False)
    monkeypatch.delenv("TVTS_BENCH_TEXT_MODEL", raising=False)
    for name in ("TVTS_BENCH_DATA_SSV2", "TVTS_BENCH_DATA_ROOT"):
        monkeypatch.delenv(name, raising=False)


def _video(frames: int = FRAMES, b: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, 3, frames, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def _randomize(module: torch.nn.Module, seed: int) -> None:
    """Non-trivial values everywhere (norms and biases too), so any dropped tensor shows."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2 + (1.0 if p.ndim == 1 else 0.0))


# -- VideoMAE: transformers -> the original layout (an independent mapping) --------------------------

def _hf_videomae(cls_name: str = "VideoMAEModel", seed: int = 0, **kw):
    import transformers

    cfg = transformers.VideoMAEConfig(image_size=SIZE, patch_size=PATCH, num_frames=FRAMES,
                                      tubelet_size=TUBELET, num_hidden_layers=2, layer_norm_eps=1e-6,
                                      **{**VIT_S, **kw})
    torch.manual_seed(seed)
    model = getattr(transformers, cls_name)(cfg).eval()
    _randomize(model, seed + 100)
    return model


def _original_blocks(hf: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """HF VideoMAEModel tensors -> MCG-NJU/VideoMAE ``VisionTransformer`` names (modeling_*.py):
    ``patch_embed.proj``, ``blocks.i.{norm1, attn.qkv (no bias), attn.q_bias, attn.v_bias, attn.proj,
    norm2, mlp.fc1, mlp.fc2}``. HF's key has no bias; the original's qkv bias is cat(q, 0, v)."""
    out = {f"{prefix}patch_embed.proj.weight": hf["embeddings.patch_embeddings.projection.weight"],
           f"{prefix}patch_embed.proj.bias": hf["embeddings.patch_embeddings.projection.bias"]}
    layers = sorted({int(k.split(".")[2]) for k in hf if k.startswith("encoder.layer.")})
    for i in layers:
        h, o = f"encoder.layer.{i}.", f"{prefix}blocks.{i}."
        sa = h + "attention.attention."
        out[o + "attn.qkv.weight"] = torch.cat([hf[sa + "query.weight"], hf[sa + "key.weight"],
                                                hf[sa + "value.weight"]], dim=0)
        out[o + "attn.q_bias"] = hf[sa + "query.bias"]
        out[o + "attn.v_bias"] = hf[sa + "value.bias"]
        pairs = {"norm1": "layernorm_before", "attn.proj": "attention.output.dense",
                 "norm2": "layernorm_after", "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"}
        for orig, name in pairs.items():
            out[f"{o}{orig}.weight"] = hf[f"{h}{name}.weight"]
            out[f"{o}{orig}.bias"] = hf[f"{h}{name}.bias"]
    return {k: v.detach().clone() for k, v in out.items()}


def _args(**kw) -> argparse.Namespace:
    """What the original utils.save_model stores next to the weights."""
    base = dict(num_frames=FRAMES, input_size=SIZE, tubelet_size=TUBELET, batch_size=8, lr=1e-3,
                output_dir="/tmp/out", data_path="/tmp/k400")
    base.update(kw)
    return argparse.Namespace(**base)


def _pretrain_file(path: Path, model, extra: dict | None = None) -> Path:
    """An original pretrain checkpoint: 'model' with encoder.* (incl. the final norm) and decoder.*."""
    hf = {k: v for k, v in model.state_dict().items()}
    state = _original_blocks(hf, "encoder.")
    state["encoder.norm.weight"] = hf["layernorm.weight"].clone()
    state["encoder.norm.bias"] = hf["layernorm.bias"].clone()
    state["decoder.blocks.0.mlp.fc1.weight"] = torch.randn(8, 4)
    state["decoder.head.weight"] = torch.randn(1536, 4)
    state["encoder_to_decoder.weight"] = torch.randn(4, 384)
    state["mask_token"] = torch.randn(1, 1, 4)
    state.update(extra or {})
    torch.save({"model": state, "optimizer": {}, "epoch": 799, "scaler": {},
                "args": _args(model="pretrain_videomae_small_patch16_224", mask_ratio=0.9)}, path)
    return path


@pytest.fixture(scope="module")
def vits_pretrain(tmp_path_factory):
    model = _hf_videomae(use_mean_pooling=False)           # keeps the final layernorm (= encoder.norm)
    path = _pretrain_file(tmp_path_factory.mktemp("vmae") / "checkpoint-799.pth", model)
    return path, model


def _hf_tokens(model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state


def test_videomae_vits_pth_loads_with_6_heads_and_matches_transformers(vits_pretrain):
    path, model = vits_pretrain
    x = _video(seed=1)
    ref = _hf_tokens(model, x).mean(dim=1)     # pretrain: mean over the final-normed tokens
    # by path (format detected) and through the ViT-B card: sizes come from the file either way
    for adapter in (load_model(str(path)), load_model("videomae-vitb-k400", checkpoint=path)):
        vmae = adapter.video_backbone().videomae
        assert vmae.config.num_attention_heads == 6 and vmae.config.hidden_size == 384
        assert vmae.config.num_hidden_layers == 2 and vmae.config.intermediate_size == 1536
        assert (adapter.preprocess.num_frames, adapter.preprocess.size) == (FRAMES, SIZE)   # from args
        assert adapter.preprocess.short_side == SIZE          # VideoMAE evaluates at short side = crop
        got = adapter.encode_video(x)
        assert (got - ref).abs().max().item() < ATOL
        report = adapter.import_report
        assert report.all_used and not report.unused
        assert any("6 heads (standard head count for width 384)" in n for n in report.notes)


def test_videomae_cli_check_model_passes_on_vits(vits_pretrain, capsys):
    from tvts_bench.cli import main

    path, _ = vits_pretrain
    main(["check-model", str(path), "--clips", "2"])          # exit status 0: main returns
    out = capsys.readouterr().out
    assert "all checks passed" in out and "FAIL" not in out


def test_videomae_use_cls_finetune_takes_token0_after_norm(tmp_path):
    """--use_cls fine-tunes: final `norm`, no `fc_norm`, head; feature = norm(x)[:, 0], which is also
    what transformers' VideoMAEForVideoClassification (use_mean_pooling=False) classifies."""
    model = _hf_videomae("VideoMAEForVideoClassification", seed=2, use_mean_pooling=False, num_labels=5)
    hf = model.state_dict()
    backbone = {k[len("videomae."):]: v for k, v in hf.items() if k.startswith("videomae.")}
    state = _original_blocks(backbone, "")
    state.update({"norm.weight": hf["videomae.layernorm.weight"], "norm.bias": hf["videomae.layernorm.bias"],
                  "head.weight": hf["classifier.weight"], "head.bias": hf["classifier.bias"]})
    path = tmp_path / "vits_use_cls.pth"
    torch.save({"module": state, "args": _args(model="vit_small_patch16_224", use_mean_pooling=False)}, path)
    adapter = load_model(str(path))
    x = _video(seed=3)
    with torch.no_grad():
        ref = model.videomae(pixel_values=x.permute(0, 2, 1, 3, 4)).last_hidden_state[:, 0]
        logits = model(pixel_values=x.permute(0, 2, 1, 3, 4)).logits
    got = adapter.encode_video(x)
    assert (got - ref).abs().max().item() < ATOL
    torch.testing.assert_close(F.linear(got, state["head.weight"], state["head.bias"]), logits,
                               atol=1e-4, rtol=0)
    assert adapter.video_backbone().arch.pooling == "first"
    assert "token 0" in adapter.feature_desc
    report = adapter.import_report
    assert report.all_used and set(report.ignored) == {"head.weight", "head.bias"}


def test_videomae_args_contradicting_the_tensors_is_refused(tmp_path):
    model = _hf_videomae(use_mean_pooling=False)
    state = _original_blocks(model.state_dict(), "")
    state.update({"norm.weight": model.layernorm.weight.detach(), "norm.bias": model.layernorm.bias.detach()})
    torch.save({"module": state, "args": _args(use_mean_pooling=True)}, tmp_path / "odd.pth")
    with pytest.raises(CheckpointError, match="use_mean_pooling"):
        load_model(str(tmp_path / "odd.pth"))


# -- VideoMAE layer scale: a forward written from the original equations ------------------------------

def _sincos_table(n: int, d: int) -> torch.Tensor:
    """VideoMAE's fixed positions: angle(p, j) = p / 10000^(2*(j//2)/d); sin on even j, cos on odd j."""
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    j = torch.arange(d)
    angle = pos / torch.pow(10000.0, (2 * (j // 2)).double() / d)[None, :]
    table = torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.float()[None]


def _reference_videomae(state: dict, video: torch.Tensor, heads: int, pool: str) -> torch.Tensor:
    """modeling_finetune.py VisionTransformer.forward_features, from its equations:
    x = patch_embed(video) + sincos;  per block: x += gamma_1 * attn(norm1(x)); x += gamma_2 * mlp(norm2(x))
    with qkv bias cat(q_bias, 0, v_bias); then fc_norm(mean(x)) ('mean') or norm(x)[:, 0] ('cls')."""
    w = state["patch_embed.proj.weight"]
    d = w.shape[0]
    x = F.conv3d(video, w, state["patch_embed.proj.bias"], stride=tuple(w.shape[2:]))
    x = x.flatten(2).transpose(1, 2)
    x = x + _sincos_table(x.shape[1], d)
    def ln(t: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(t, (d,), state[name + ".weight"], state[name + ".bias"], eps=1e-6)

    i = 0
    while f"blocks.{i}.attn.qkv.weight" in state:
        p = f"blocks.{i}."
        h = ln(x, p + "norm1")
        bias = torch.cat([state[p + "attn.q_bias"], torch.zeros_like(state[p + "attn.v_bias"]),
                          state[p + "attn.v_bias"]])
        qkv = F.linear(h, state[p + "attn.qkv.weight"], bias)
        b, n, _ = qkv.shape
        q, k, v = qkv.reshape(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        attn = ((q * (d // heads) ** -0.5) @ k.transpose(-2, -1)).softmax(dim=-1)
        a = F.linear((attn @ v).transpose(1, 2).reshape(b, n, d), state[p + "attn.proj.weight"],
                     state[p + "attn.proj.bias"])
        x = x + state.get(p + "gamma_1", torch.ones(d)) * a
        h = ln(x, p + "norm2")
        m = F.linear(F.gelu(F.linear(h, state[p + "mlp.fc1.weight"], state[p + "mlp.fc1.bias"])),
                     state[p + "mlp.fc2.weight"], state[p + "mlp.fc2.bias"])
        x = x + state.get(p + "gamma_2", torch.ones(d)) * m
        i += 1
    if pool == "cls":
        return ln(x, "norm")[:, 0]
    return ln(x.mean(dim=1), "fc_norm")


def test_videomae_layer_scale_matches_the_original_equations(tmp_path):
    model = _hf_videomae(seed=4, use_mean_pooling=True)
    state = _original_blocks(model.state_dict(), "")
    gen = torch.Generator().manual_seed(5)
    state["fc_norm.weight"] = 1 + 0.2 * torch.randn(384, generator=gen)
    state["fc_norm.bias"] = 0.2 * torch.randn(384, generator=gen)
    state["head.weight"], state["head.bias"] = torch.randn(3, 384), torch.zeros(3)
    x = _video(seed=6)
    with torch.no_grad():
        # the reference itself agrees with transformers where transformers can express the model
        no_gamma = _reference_videomae(state, x, 6, "mean")
        hf_ref = F.layer_norm(_hf_tokens(model, x).mean(dim=1), (384,), state["fc_norm.weight"],
                              state["fc_norm.bias"], eps=1e-6)
        assert (no_gamma - hf_ref).abs().max().item() < ATOL
        for i in range(2):                         # init_values > 0: per-block layer scale
            state[f"blocks.{i}.gamma_1"] = 0.1 + 0.5 * torch.rand(384, generator=gen)
            state[f"blocks.{i}.gamma_2"] = 0.1 + 0.5 * torch.rand(384, generator=gen)
        ref = _reference_videomae(state, x, 6, "mean")
    assert (ref - no_gamma).abs().max().item() > 1e-2     # the gammas matter
    torch.save({"module": state, "args": _args(model="vit_small_patch16_224", use_mean_pooling=True,
                                               init_scale=0.001)}, tmp_path / "ls.pth")
    adapter = load_model(str(tmp_path / "ls.pth"))
    assert (adapter.encode_video(x) - ref).abs().max().item() < ATOL
    assert adapter.video_backbone().arch.layer_scale and adapter.import_report.all_used
    assert sum(k.endswith(("gamma_1", "gamma_2")) for k in adapter.import_report.used) == 4


def test_videomae_layer_scale_with_a_missing_gamma_fails(tmp_path):
    model = _hf_videomae(seed=4, use_mean_pooling=True)
    state = _original_blocks(model.state_dict(), "")
    state.update({"fc_norm.weight": torch.ones(384), "fc_norm.bias": torch.zeros(384),
                  "blocks.0.gamma_1": torch.ones(384), "blocks.0.gamma_2": torch.ones(384),
                  "blocks.1.gamma_1": torch.ones(384)})
    torch.save({"module": state}, tmp_path / "half.pth")
    with pytest.raises(CheckpointError, match=r"blocks\.1\.gamma_2.*absent"):
        load_model(str(tmp_path / "half.pth"))


# -- sizes come from the checkpoint -------------------------------------------------------------------

def test_videomae_card_for_another_size_cannot_set_heads(tmp_path, vits_pretrain):
    """A card written for ViT-B (num_heads 12) never gives its heads to a ViT-S file."""
    from tvts_bench.zoo.videomae import load_videomae

    path, _ = vits_pretrain
    card = load_cards()["videomae-vitb-k400"]
    vitb = card.model_copy(update={"config": {**card.config, "num_heads": 12}})
    with pytest.raises(CheckpointError, match=r"num_heads 12.*width 384.*6 heads"):
        load_videomae(vitb, path)
    pinned = card.model_copy(update={"config": {**card.config, "num_heads": 12, "hidden_size": 384}})
    assert load_videomae(pinned, path).video_backbone().videomae.config.num_attention_heads == 12


def test_videomae_nonstandard_width_needs_card_heads(tmp_path):
    from tvts_bench.zoo.videomae import load_videomae

    model = _hf_videomae(seed=7, hidden_size=64, num_attention_heads=4, intermediate_size=128,
                         use_mean_pooling=False)
    hf = model.state_dict()
    state = _original_blocks(hf, "encoder.")
    state.update({"encoder.norm.weight": hf["layernorm.weight"], "encoder.norm.bias": hf["layernorm.bias"]})
    torch.save({"model": state, "args": _args()}, tmp_path / "w64.pth")
    with pytest.raises(CheckpointError, match="width 64 is not a standard ViT size") as err:
        load_model(str(tmp_path / "w64.pth"))
    assert "num_heads" in err.value.hint
    card = load_cards()["videomae-vitb-k400"]
    adapter = load_videomae(card.model_copy(update={"config": {"num_heads": 4}}), tmp_path / "w64.pth")
    x = _video(seed=8)
    assert (adapter.encode_video(x) - _hf_tokens(model, x).mean(1)).abs().max() < ATOL


def test_videomae_stray_partial_block_is_not_a_layer_and_is_refused(tmp_path, vits_pretrain):
    path, model = vits_pretrain
    stray = {"encoder.blocks.2.norm1.weight": torch.ones(384)}     # block 2 without its other tensors
    bad = _pretrain_file(tmp_path / "stray.pth", model, extra=stray)
    with pytest.raises(CheckpointError, match=r"encoder\.blocks\.2\.norm1\.weight"):
        load_model(str(bad))
    adapter = load_model(str(bad), accept_unused=True)
    assert adapter.video_backbone().videomae.config.num_hidden_layers == 2
    assert adapter.import_report.unused == ["encoder.blocks.2.norm1.weight"]


# -- unused tensors: refused unless accepted ------------------------------------------------------------

def test_unknown_tensor_is_refused_then_accepted_with_the_list_exposed(tmp_path, vits_pretrain):
    from tvts_bench.bench.result_schema import ModelInfo

    _, model = vits_pretrain
    bad = _pretrain_file(tmp_path / "extra.pth", model, extra={"encoder.mystery.weight": torch.randn(3)})
    with pytest.raises(CheckpointError) as err:
        load_model(str(bad))
    assert "encoder.mystery.weight" in err.value.message and str(bad) in err.value.message
    assert "--accept-unused-tensors" in err.value.hint
    with pytest.raises(CheckpointError, match=r"encoder\.mystery\.weight"):
        load_model("videomae-vitb-k400", checkpoint=bad)

    adapter = load_model(str(bad), accept_unused=True)
    assert adapter.import_report.unused == ["encoder.mystery.weight"]
    assert adapter.import_report.accepted_unused and adapter.unused_tensors == ["encoder.mystery.weight"]
    info = adapter.model_info()
    assert info["unused_tensors"] == ["encoder.mystery.weight"]
    assert ModelInfo(**info).unused_tensors == ["encoder.mystery.weight"]
    x = _video(seed=9)
    assert (adapter.encode_video(x) - _hf_tokens(model, x).mean(dim=1)).abs().max().item() < ATOL
    clean = load_model(str(vits_pretrain[0]))
    assert "unused_tensors" not in clean.model_info() and clean.unused_tensors == []


def test_check_model_exits_nonzero_on_unused_tensors(tmp_path, vits_pretrain, capsys):
    from tvts_bench.cli import main

    _, model = vits_pretrain
    bad = _pretrain_file(tmp_path / "extra.pth", model, extra={"encoder.mystery.weight": torch.randn(3)})
    with pytest.raises(SystemExit) as exit_:
        main(["check-model", str(bad), "--clips", "2", "--show-keys"])
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert "some checks failed" in out and "FAIL" in out
    assert "unused   encoder.mystery.weight" in out


def test_hf_folder_with_an_extra_tensor_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    model = _hf_videomae(seed=10, use_mean_pooling=False)
    model.save_pretrained(tmp_path / "hf")
    state = load_file(str(tmp_path / "hf" / "model.safetensors"))
    state["encoder.layer.0.attention.extra"] = torch.zeros(2)
    save_file(state, str(tmp_path / "hf" / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"encoder\.layer\.0\.attention\.extra"):
        load_model(str(tmp_path / "hf"))
    assert load_model(str(tmp_path / "hf"), accept_unused=True).unused_tensors == [
        "encoder.layer.0.attention.extra"]


# -- the authors' TVTS file: a forward from the paper's equations ---------------------------------------

def _authors_state(seed: int, d: int = 384, depth: int = 2, slices: int = 4) -> dict[str, torch.Tensor]:
    """The authors' v1 video_model keys and shapes (TencentARC/TVTS v1/model/video_encoder.py)."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape, s=0.2: torch.randn(*shape, generator=g) * s  # noqa: E731
    s = (SIZE // PATCH) ** 2
    v = {"cls_token": r(1, 1, d), "pos_embed": r(1, 1 + s, d), "temporal_embed": r(1, slices, d),
         "patch_embed.proj.weight": r(d, 3, TUBELET, PATCH, PATCH, s=0.05), "patch_embed.proj.bias": r(d),
         "norm.weight": 1 + r(d), "norm.bias": r(d)}
    for i in range(depth):
        p = f"blocks.{i}."
        v.update({p + "norm1.weight": 1 + r(d), p + "norm1.bias": r(d),
                  p + "attn.qkv.weight": r(3 * d, d, s=0.05), p + "attn.qkv.bias": r(3 * d),
                  p + "attn.proj.weight": r(d, d, s=0.05), p + "attn.proj.bias": r(d),
                  p + "norm2.weight": 1 + r(d), p + "norm2.bias": r(d),
                  p + "mlp.fc1.weight": r(4 * d, d, s=0.05), p + "mlp.fc1.bias": r(4 * d),
                  p + "mlp.fc2.weight": r(d, 4 * d, s=0.05), p + "mlp.fc2.bias": r(d)})
    return v


def _reference_tvts(v: dict, video: torch.Tensor, heads: int) -> torch.Tensor:
    """Paper / v1 downstream encoder: tubelet tokens z_{t,s} = E x_{t,s} + p_s + q_t (spatial position
    p_s shared over time, temporal position q_t = temporal_embed[t] for the first n slices), a CLS token
    with p_0, pre-norm blocks (qkv with bias), a final LayerNorm; the clip feature is the CLS output."""
    w = v["patch_embed.proj.weight"]
    d = w.shape[0]
    x = F.conv3d(video, w, v["patch_embed.proj.bias"], stride=tuple(w.shape[2:]))   # [B, D, n, h, w]
    b, _, n, gh, gw = x.shape
    x = x.flatten(2).transpose(1, 2)                                                  # time-major
    s = gh * gw
    pos = v["pos_embed"][:, 1:].repeat(1, n, 1) + v["temporal_embed"][:, :n].repeat_interleave(s, dim=1)
    cls = v["cls_token"] + v["pos_embed"][:, :1]
    x = torch.cat([cls.expand(b, -1, -1), x + pos], dim=1)
    def ln(t: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(t, (d,), v[name + ".weight"], v[name + ".bias"], eps=1e-6)

    i = 0
    while f"blocks.{i}.attn.qkv.weight" in v:
        p = f"blocks.{i}."
        qkv = F.linear(ln(x, p + "norm1"), v[p + "attn.qkv.weight"], v[p + "attn.qkv.bias"])
        q, k, val = qkv.reshape(b, x.shape[1], 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) / math.sqrt(d // heads)).softmax(dim=-1)
        x = x + F.linear((attn @ val).transpose(1, 2).reshape(b, -1, d), v[p + "attn.proj.weight"],
                         v[p + "attn.proj.bias"])
        h = F.gelu(F.linear(ln(x, p + "norm2"), v[p + "mlp.fc1.weight"], v[p + "mlp.fc1.bias"]))
        x = x + F.linear(h, v[p + "mlp.fc2.weight"], v[p + "mlp.fc2.bias"])
        i += 1
    return ln(x, "norm")[:, 0]


def _save_authors(path: Path, video_state: dict, extra: dict | None = None) -> Path:
    state = {f"module.video_model.{k}": t for k, t in video_state.items()}
    state["module.pred_model.type_embed"] = torch.randn(2, 384)
    state["module.txt_proj.1.weight"] = torch.randn(16, 384)
    state["module.vid_proj.0.weight"] = torch.randn(16, 384)
    state.update(extra or {})
    torch.save({"arch": "TVTS", "epoch": 20, "state_dict": state, "optimizer": {}, "monitor_best": 0.0,
                "config": {"arch": {"type": "TVTS"}}}, path)
    return path


def test_authors_tvts_matches_the_paper_equations_and_slices_time(tmp_path):
    v = _authors_state(seed=11, slices=4)                     # trained with 8 frames = 4 slices
    path = _save_authors(tmp_path / "tvts.pth", v)
    adapter = load_model("tvts-authors-vitb", checkpoint=path)
    assert adapter.video_backbone().cfg.num_heads == 6 and adapter.preprocess.num_frames == 8
    assert adapter.preprocess.short_side == adapter.preprocess.size == SIZE   # authors: short side = crop
    for frames in (8, 4, 2):                                  # as trained, then fewer time slices
        x = _video(frames=frames, seed=frames)
        with torch.no_grad():
            ref = _reference_tvts(v, x, heads=6)
        got = adapter.encode_video(x)
        assert (got - ref).abs().max().item() < ATOL, frames
    # the project's own VideoViT interpolates instead: on 4 frames it gives another feature
    from tvts_bench.nn.video_vit import VideoViT

    own = VideoViT(adapter.video_backbone().cfg).eval()
    own.load_state_dict(adapter.video_backbone().state_dict())
    x = _video(frames=4, seed=4)
    with torch.no_grad():
        assert (own(x) - _reference_tvts(v, x, heads=6)).abs().max().item() > 1e-3
    with pytest.raises(ConfigError, match="trained with 4 time slices"):
        adapter.encode_video(_video(frames=12))


def test_authors_tvts_unknown_tensor_is_refused_then_accepted(tmp_path):
    v = _authors_state(seed=12, slices=2)
    extra = {"module.video_model.blocks.0.attn.rel_pos": torch.zeros(3)}
    path = _save_authors(tmp_path / "tvts.pth", v, extra=extra)
    with pytest.raises(CheckpointError, match=r"module\.video_model\.blocks\.0\.attn\.rel_pos") as err:
        load_model(str(path))
    assert "--accept-unused-tensors" in err.value.hint
    adapter = load_model(str(path), accept_unused=True)
    assert adapter.unused_tensors == ["module.video_model.blocks.0.attn.rel_pos"]
    x = _video(seed=13)
    with torch.no_grad():
        assert (adapter.encode_video(x) - _reference_tvts(v, x, heads=6)).abs().max().item() < ATOL


def test_user_factory_adapter_with_unused_tensors_is_refused(tmp_path):
    (tmp_path / "fac.py").write_text('''
import torch
from torch import nn
from tvts_bench.zoo.base import Preprocess
from tvts_bench.zoo.adapters import ModuleAdapter
from tvts_bench.zoo.importing import ImportReport
from tvts_bench.zoo.user import user_card

class Pool(nn.Module):
    def forward(self, video):
        return video.mean(dim=(2, 3, 4))

def make(accept_unused=False):
    pre = Preprocess(num_frames=2, size=16, short_side=16)
    report = ImportReport(source="my.pth", format="mine", used=["a"], unused=["b"])
    return ModuleAdapter(card=user_card("fac", "fac.py:make", pre), video=Pool(), preprocess=pre,
                         feature_dim=3, checkpoint="my.pth", report=report)
''')
    with pytest.raises(CheckpointError, match=r"my\.pth.*\bb\b"):
        load_model(f"{tmp_path / 'fac.py'}:make")
    assert load_model(f"{tmp_path / 'fac.py'}:make", accept_unused=True).unused_tensors == ["b"]


def test_every_card_states_its_evaluation_resize_and_source():
    cards = load_cards()
    for card in cards.values():
        assert card.preprocess.resize_source, card.name
    assert cards["tvts-authors-vitb"].preprocess.short_side == 224
    assert "TencentARC/TVTS" in cards["tvts-authors-vitb"].preprocess.resize_source
    assert cards["videomae-vitb-k400"].preprocess.short_side == 224
    assert "MCG-NJU/VideoMAE" in cards["videomae-vitb-k400"].preprocess.resize_source
    assert cards["clip-vitb16"].preprocess.short_side == 224
    assert "openai/CLIP" in cards["clip-vitb16"].preprocess.resize_source
    assert "num_heads" not in cards["videomae-vitb-k400"].config   # never a ViT-B head count for all


def test_card_for_external_weights_without_resize_source_is_refused(tmp_path):
    from tvts_bench.zoo.card import load_card_file

    text = (Path(__file__).resolve().parents[1] / "models" / "clip-vitb16.yaml").read_text()
    start = text.index("  resize_source:")
    end = text.index("feature:")
    (tmp_path / "clip-vitb16.yaml").write_text(text[:start] + text[end:])
    with pytest.raises(ConfigError, match="resize_source"):
        load_card_file(tmp_path / "clip-vitb16.yaml")


def test_a_stray_high_block_index_does_not_build_a_huge_model():
    from tvts_bench.zoo.importing import block_depth

    state = {f"video_model.blocks.{i}.{k}": torch.zeros(1) for i in range(2) for k in ("a", "b")}
    state["video_model.blocks.99999.a"] = torch.zeros(1)
    assert block_depth(state, "video_model.", ("a", "b"), "x.pth", hint="") == 2
    del state["video_model.blocks.0.b"]
    with pytest.raises(CheckpointError, match=r"block\(s\) \[0\] of 2 are missing"):
        block_depth(state, "video_model.", ("a", "b"), "x.pth", hint="")
