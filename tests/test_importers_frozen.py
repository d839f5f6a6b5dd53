"""Frozen-in-Time / MCQ / MILES importer against the original equations (docs/model_families.md).

A tiny model is written in the ORIGINAL key layout (``module.video_model.*``, ``module.text_model.*``,
``txt_proj`` / ``text_proj``, ``vid_proj``) with random weights, loaded through ``load_model`` and the
CLI, and compared with:

- a forward pass written here from m-bain/frozen-in-time ``model/video_transformer.py``
  (``VarAttention``, ``SpaceTimeBlock``, ``SpaceTimeTransformer.forward_features``), step by step in the
  original's own tensor layouts ((b h) batches, the einops patterns as reshapes), kept separate from
  the importer; the MCQ variant from TencentARC/MCQ ``model/video_former.py`` (``Video_Block``);
- ``transformers.DistilBertModel`` for the text tower (last hidden state at token 0, then ``txt_proj``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from tvts_bench.errors import CheckpointError, ConfigError
from tvts_bench.zoo.registry import detect_format, load_model

TOL = 1e-4
D, HEADS, DEPTH, FRAMES, SIZE, PATCH = 384, 6, 2, 4, 32, 16
MAX_DIFF: dict[str, float] = {}


@pytest.fixture(autouse=True)
def _no_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TVTS_BENCH_MODELS", raising=False)
    monkeypatch.delenv("TVTS_BENCH_TEXT_MODEL", raising=False)
    for name in ("TVTS_BENCH_DATA_SSV2", "TVTS_BENCH_DATA_ROOT"):
        monkeypatch.delenv(name, raising=False)


def _original_video_state(seed: int, time: bool, d: int = D, depth: int = DEPTH, frames: int = FRAMES,
                          final: str = "norm") -> dict[str, torch.Tensor]:
    """Random tensors under the original names (norms around 1, so a dropped tensor shows)."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, around=0.0):
        return torch.randn(*shape, generator=g) * 0.2 + around

    n = (SIZE // PATCH) ** 2
    s = {"cls_token": r(1, 1, d), "pos_embed": r(1, n + 1, d), "patch_embed.proj.weight": r(d, 3, PATCH, PATCH),
         "patch_embed.proj.bias": r(d), f"{final}.weight": r(d, around=1.0), f"{final}.bias": r(d)}
    if time:
        s["temporal_embed"] = r(1, frames, d)
    norms = ("norm1", "norm2") + (("norm3",) if time else ())
    attns = ("attn",) + (("timeattn",) if time else ())
    for i in range(depth):
        b = f"blocks.{i}."
        for nm in norms:
            s[b + nm + ".weight"], s[b + nm + ".bias"] = r(d, around=1.0), r(d)
        for a in attns:
            s[b + a + ".qkv.weight"], s[b + a + ".qkv.bias"] = r(3 * d, d), r(3 * d)
            s[b + a + ".proj.weight"], s[b + a + ".proj.bias"] = r(d, d), r(d)
        s[b + "mlp.fc1.weight"], s[b + "mlp.fc1.bias"] = r(4 * d, d), r(4 * d)
        s[b + "mlp.fc2.weight"], s[b + "mlp.fc2.bias"] = r(d, 4 * d), r(d)
    return s


# -- the reference: the original forward, written out ---------------------------------------------

def _attn(q, k, v):                                  # video_transformer.py attn(): einsum, softmax, einsum
    return torch.einsum("bij,bjd->bid", torch.einsum("bid,bjd->bij", q, k).softmax(dim=-1), v)


def _var_attention(x, s, pre, heads, mode, f, n):
    """VarAttention.forward with einops_from 'b (f n) d' and einops_to '(b f) n d' (space) or
    '(b n) f d' (time), for the (b h) batch the original rearranges into."""
    B, N, C = x.shape
    d = C // heads
    q, k, v = F.linear(x, s[pre + "qkv.weight"], s[pre + "qkv.bias"]).chunk(3, dim=-1)
    q, k, v = (t.reshape(B, N, heads, d).permute(0, 2, 1, 3).reshape(B * heads, N, d) for t in (q, k, v))
    q = q * d ** -0.5
    (cls_q, q_), (cls_k, k_), (cls_v, v_) = ((t[:, 0:1], t[:, 1:]) for t in (q, k, v))
    cls_out = _attn(cls_q, k, v)

    def to(t):
        t = t.reshape(-1, f, n, d)                  # (bh) (f n) d
        return t.reshape(-1, n, d) if mode == "space" else t.permute(0, 2, 1, 3).reshape(-1, f, d)

    q_, k_, v_ = to(q_), to(k_), to(v_)
    r = q_.shape[0] // cls_k.shape[0]
    cls_k, cls_v = cls_k.repeat_interleave(r, dim=0), cls_v.repeat_interleave(r, dim=0)   # 'b () d -> (b r) () d'
    out = _attn(q_, torch.cat((cls_k, k_), dim=1), torch.cat((cls_v, v_), dim=1))
    if mode == "space":
        out = out.reshape(-1, f * n, d)
    else:
        out = out.reshape(-1, n, f, d).permute(0, 2, 1, 3).reshape(-1, f * n, d)
    out = torch.cat((cls_out, out), dim=1)
    out = out.reshape(B, heads, N, d).permute(0, 2, 1, 3).reshape(B, N, C)   # '(b h) n d -> b n (h d)'
    return F.linear(out, s[pre + "proj.weight"], s[pre + "proj.bias"])


def _ln(x, s, name):
    return F.layer_norm(x, x.shape[-1:], s[name + ".weight"], s[name + ".bias"], eps=1e-6)


def _mlp(x, s, pre):
    return F.linear(F.gelu(F.linear(x, s[pre + "fc1.weight"], s[pre + "fc1.bias"])),
                    s[pre + "fc2.weight"], s[pre + "fc2.bias"])


def reference_forward(s: dict, video: torch.Tensor, num_frames: int, time: bool, final: str = "norm"):
    """SpaceTimeTransformer.forward_features (Frozen, MILES) / Video_Former (MCQ); video [B, C, T, H, W]."""
    x = video.permute(0, 2, 1, 3, 4)                 # the original takes [B, F, C, H, W]
    b, curr_frames, c, h, w = x.shape
    x = F.conv2d(x.reshape(-1, c, h, w), s["patch_embed.proj.weight"], s["patch_embed.proj.bias"], stride=PATCH)
    x = x.flatten(2).transpose(2, 1).reshape(b, -1, s["cls_token"].shape[-1])
    x = torch.cat((s["cls_token"].expand(b, -1, -1), x), dim=1)
    n = s["pos_embed"].shape[1] - 1                  # patches_per_frame
    tile_pos = s["pos_embed"][:, 1:].repeat(1, num_frames, 1)
    if time:
        tile_pos = tile_pos + s["temporal_embed"].repeat_interleave(n, 1)
    total = torch.cat([s["pos_embed"][:, 0].unsqueeze(1), tile_pos], dim=1)
    x = x + total[:, : x.shape[1]]
    depth = 1 + max(int(k.split(".")[1]) for k in s if k.startswith("blocks."))
    for i in range(depth):
        p = f"blocks.{i}."
        if time:
            time_residual = x + _var_attention(_ln(x, s, p + "norm3"), s, p + "timeattn.", HEADS, "time",
                                               curr_frames, n)
            space_out = _var_attention(_ln(time_residual, s, p + "norm1"), s, p + "attn.", HEADS, "space",
                                       curr_frames, n)
            space_residual = x + space_out            # sic: the original adds to x
        else:
            space_residual = x + _var_attention(_ln(x, s, p + "norm1"), s, p + "attn.", HEADS, "space",
                                                curr_frames, n)
        x = space_residual + _mlp(_ln(space_residual, s, p + "norm2"), s, p + "mlp.")
    return _ln(x, s, final)[:, 0]


def _video(frames: int = FRAMES, seed: int = 0) -> torch.Tensor:
    return torch.randn(2, 3, frames, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))


def _save(path: Path, video: dict, extra: dict | None = None) -> Path:
    state = {f"module.video_model.{k}": v for k, v in video.items()}
    state.update(extra or {})
    torch.save({"arch": {"type": "FrozenInTime"}, "epoch": 3, "state_dict": state, "monitor_best": 0.0,
                "config": {"arch": {"type": "FrozenInTime"}}}, path)
    return path


def _close(name: str, got: torch.Tensor, ref: torch.Tensor) -> None:
    diff = (got - ref).abs().max().item()
    MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.0), diff)
    assert diff <= TOL, f"{name}: max abs difference {diff:.3g}"


# -- tests -------------------------------------------------------------------------------------------

def test_frozen_space_time_matches_the_original_equations_and_slices_time(tmp_path, capsys):
    s = _original_video_state(0, time=True)
    path = _save(tmp_path / "frozen.pth.tar", s)
    assert detect_format(path) == "frozen-pth"
    adapter = load_model("frozen-webvid2m-cc3m", checkpoint=path)
    assert (adapter.preprocess.num_frames, adapter.preprocess.size, adapter.feature_dim) == (FRAMES, SIZE, D)
    with torch.no_grad():
        for frames in (FRAMES, 2, 1):                 # fewer frames: the first temporal_embed slices
            _close(f"frozen space-time, {frames} frames", adapter.encode_video(_video(frames)),
                   reference_forward(s, _video(frames), FRAMES, time=True))
    report = adapter.import_report
    assert report.all_used and not adapter.has_text
    with pytest.raises(ConfigError, match="at most 4 frames"):
        adapter.encode_video(_video(8))
    from tvts_bench.cli import main

    main(["check-model", "frozen-webvid2m-cc3m", "--checkpoint", str(path), "--clips", "2"])
    assert "all checks passed" in capsys.readouterr().out


def test_mcq_space_only_ignores_the_bridgeformer_and_matches(tmp_path):
    s = _original_video_state(1, time=False, final="norm1")
    bridge = {"module.video_model.blocks.0.crossattn.q_question.weight": torch.randn(D, D),
              "module.video_model.blocks.1.bridge_mlp.fc1.weight": torch.randn(4 * D, D),
              "module.video_model.blocks.0.norm7.weight": torch.randn(D),
              "module.video_model.norm2.weight": torch.randn(D),
              "module.bridge_proj.0.weight": torch.randn(16, D)}
    path = _save(tmp_path / "MCQ.pth", s, bridge)
    adapter = load_model("mcq-webvid2m-cc3m", checkpoint=path)
    with torch.no_grad():
        _close("mcq space-only, 4 frames", adapter.encode_video(_video(seed=1)),
               reference_forward(s, _video(seed=1), FRAMES, time=False, final="norm1"))
    report = adapter.import_report
    assert report.all_used and set(bridge) <= set(report.ignored)
    assert all(why.startswith("MCQ BridgeFormer") for k, why in report.ignored.items() if k in bridge)
    with pytest.raises(CheckpointError, match="time attention"):      # a Frozen card on an MCQ file
        load_model("frozen-webvid2m-cc3m", checkpoint=path)


def test_text_tower_matches_distilbert_and_projections(tmp_path, monkeypatch):
    from transformers import DistilBertConfig, DistilBertModel, DistilBertTokenizer

    from tvts_bench.nn.text_encoder import minilm_path

    folder = tmp_path / "distilbert"
    tok = DistilBertTokenizer(vocab_file=str(minilm_path() / "vocab.txt"))
    tok.save_pretrained(folder)                      # tokenizer only: the config comes from the shapes
    torch.manual_seed(3)
    bert = DistilBertModel(DistilBertConfig(vocab_size=tok.vocab_size, dim=64, n_layers=2, n_heads=2,
                                            hidden_dim=96, max_position_embeddings=40)).eval()   # 2 heads: not width // 64
    with torch.no_grad():
        for p in bert.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    s = _original_video_state(2, time=True)
    txt_proj = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(64, 16))
    vid_proj = torch.nn.Linear(D, 16)
    extra = {f"module.text_model.{k}": v for k, v in bert.state_dict().items()}
    extra.update({f"module.text_proj.{k}": v for k, v in txt_proj.state_dict().items()})   # MILES' name
    extra.update({f"module.vid_proj.0.{k}": v for k, v in vid_proj.state_dict().items()})
    path = _save(tmp_path / "MILES.pth", s, extra)
    card = "miles-webvid2m-cc3m"
    monkeypatch.setenv("TVTS_BENCH_TEXT_MODEL", str(folder))
    from tvts_bench.zoo.card import load_card_file

    text = (Path(__file__).resolve().parents[1] / "models" / f"{card}.yaml").read_text()
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / f"{card}-2h.yaml").write_text(text.replace(f"name: {card}", f"name: {card}-2h")
                                           .replace("  text_model: null", "  text_num_heads: 2\n  text_model: null"))
    load_card_file(cards / f"{card}-2h.yaml")
    monkeypatch.setenv("TVTS_BENCH_MODELS", str(cards))
    adapter = load_model(f"{card}-2h", checkpoint=path)
    assert adapter.has_text
    texts = ["a man opens the fridge", "pouring milk into a glass"]
    x = _video(seed=3)
    with torch.no_grad():
        tokens = tok(texts, padding=True, truncation=True, return_tensors="pt")
        ref_text = txt_proj(bert(input_ids=tokens["input_ids"],
                                 attention_mask=tokens["attention_mask"]).last_hidden_state[:, 0])
        ref_video = reference_forward(s, x, FRAMES, time=True)
        _close("DistilBERT text tower + text_proj", adapter.encode_text(texts), ref_text)
        _close("video joint space (vid_proj)", adapter.encode_video_joint(x), vid_proj(ref_video))
        _close("frozen space-time, 4 frames", adapter.encode_video(x), ref_video)
    assert adapter.import_report.all_used


def test_unknown_tensor_is_refused_and_tvts_authors_files_still_go_to_tvts(tmp_path):
    s = _original_video_state(4, time=True, depth=1)
    path = _save(tmp_path / "x.pth", s, {"module.video_model.blocks.0.extra.weight": torch.zeros(3)})
    with pytest.raises(CheckpointError, match=r"blocks\.0\.extra\.weight"):
        load_model("frozen-webvid2m-cc3m", checkpoint=path)
    adapter = load_model("frozen-webvid2m-cc3m", checkpoint=path, accept_unused=True)
    assert adapter.unused_tensors == ["module.video_model.blocks.0.extra.weight"]
    by_path = load_model(str(_save(tmp_path / "plain.pth", s)))
    assert by_path.family == "frozen" and by_path.card.trained_on == ["unknown"]
    from tests.test_importers_reference import _authors_state, _save_authors

    assert detect_format(_save_authors(tmp_path / "tvts.pth", _authors_state(0))) == "tvts-authors"


def test_run_writes_a_result_on_the_builtin_world(bench_home, tmp_path):
    """`tvts-bench run --model <Frozen card> --checkpoint <tiny file> --tasks ssv2-v2v` on the world."""
    from tvts_bench.bench.results import read_result
    from tvts_bench.cli import main

    path = _save(tmp_path / "frozen.pth", _original_video_state(5, time=True, depth=1))
    main(["run", "--model", "frozen-webvid2m-cc3m", "--checkpoint", str(path), "--tasks", "ssv2-v2v", "-q",
          "--task-param", "*.bootstrap=50"])
    [result] = list((bench_home / "results").rglob("builtin-seed0.json"))
    record = read_result(result)
    assert record.model.name.startswith("frozen-webvid2m-cc3m") and "R@1" in record.metrics
    assert record.model.paper_row == "frozen"
