"""Token features (``encode_tokens`` + ``token_layout``) for every family that has tokens.

Each family's tiny random-weight example (the ``example`` hooks ``test_zoo_families.py`` runs) is loaded
and encoded as tokens: the output is ``[B, N, D]`` with N and D counted here from the architecture
(patches per frame or tubelet, plus the CLS tokens), the layout names the CLS positions, and pooling the
tokens the way the family's ``encode_video`` does -- written out here per family, from the original
models' code -- gives ``encode_video`` back.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tvts_bench.zoo.families import get_family
from tvts_bench.zoo.registry import load_model

FAMILIES = ["tvts", "scratch", "videomae", "videomae2", "clip", "hf", "frozen", "svt", "vjepa"]


def _patches(adapter, frames: int, size: int) -> tuple[int, int, tuple[int, ...], int]:
    """(patch tokens, CLS tokens, their positions, token width), counted from each architecture."""
    m = adapter.video_backbone()
    name = type(m).__name__
    if name in ("VideoViT", "AuthorsVideoViT"):               # tvts, scratch: CLS + tubelets
        pt, ph, pw = m.cfg.patch_size
        return (frames // pt) * (size // ph) * (size // pw), 1, (0,), m.cfg.embed_dim
    if name == "FrameViT":                                     # project clip runs: per frame CLS + patches
        _, ph, pw = m.video_model.cfg.patch_size
        per = (size // ph) * (size // pw)
        return frames * per, frames, tuple(i * (per + 1) for i in range(frames)), m.cfg.embed_dim
    if name == "VideoMAEEncoder":                              # no CLS token
        a = m.arch
        return (frames // a.tubelet_size) * (size // a.patch_size) ** 2, 0, (), a.hidden_size
    if name == "VJEPAEncoder":
        a = m.arch
        return (frames // a.tubelet_size) * (size // a.patch_size) ** 2, 0, (), a.embed_dim
    if name in ("CLIPFrameEncoder", "XCLIPVideoEncoder", "SiglipFrameEncoder"):
        c = m.vision_model.config
        per = (size // c.patch_size) ** 2
        if name == "SiglipFrameEncoder":
            return frames * per, 0, (), c.hidden_size
        return frames * per, frames, tuple(i * (per + 1) for i in range(frames)), c.hidden_size
    if name == "TimeSformerEncoder":
        c = m.timesformer.config
        return frames * (size // c.patch_size) ** 2, 1, (0,), c.hidden_size
    if name == "VivitEncoder":
        c = m.vivit.config
        t, h, w = c.tubelet_size
        return (frames // t) * (size // h) * (size // w), 1, (0,), c.hidden_size
    if name == "SpaceTimeTransformer":
        return frames * (size // m.arch.patch_size) ** 2, 1, (0,), m.arch.embed_dim
    raise AssertionError(f"no token count written for {name}")


def _pool(adapter, tokens: torch.Tensor, frames: int) -> torch.Tensor:
    """``encode_video`` from the tokens, as each family's original evaluation pools them."""
    m = adapter.video_backbone()
    name = type(m).__name__
    b = tokens.shape[0]
    with torch.no_grad():
        if name in ("VideoViT", "AuthorsVideoViT"):
            return tokens[:, 1:].mean(1) if m.cfg.pool == "mean" else tokens[:, 0]
        if name == "FrameViT":                                 # each frame's CLS, averaged over frames
            per = tokens.view(b, frames, -1, tokens.shape[-1])
            first = per[:, :, 1:].mean(2) if m.video_model.cfg.pool == "mean" else per[:, :, 0]
            return first.mean(1)
        if name == "VideoMAEEncoder":
            pooled = tokens[:, 0] if m.arch.pooling == "first" else tokens.mean(1)
            return m.fc_norm(pooled) if m.fc_norm is not None else pooled
        if name == "VJEPAEncoder":
            return tokens.mean(1)
        if name in ("CLIPFrameEncoder", "XCLIPVideoEncoder"):  # visual_projection(CLS of each frame)
            per = tokens.view(b, frames, -1, tokens.shape[-1])
            emb = m.visual_projection(per[:, :, 0])
            if name == "XCLIPVideoEncoder":
                return m.mit(emb).pooler_output
            return (F.normalize(emb, dim=-1) if m.normalize_frames else emb).mean(1)
        if name == "SiglipFrameEncoder":                       # the attention-pooling head per frame
            per = tokens.view(b * frames, -1, tokens.shape[-1])
            emb = m.vision_model.head(per).view(b, frames, -1)
            return (F.normalize(emb, dim=-1) if m.normalize_frames else emb).mean(1)
        if name in ("TimeSformerEncoder", "VivitEncoder", "SpaceTimeTransformer"):
            return tokens[:, 0]
    raise AssertionError(f"no pooling written for {name}")


def _examples(family, tmp_path):
    work = tmp_path / family
    work.mkdir()
    return get_family(family).example(work)


def _check(adapter, frames: int, size: int, what: str) -> None:
    clip = torch.randn(2, 3, frames, size, size, generator=torch.Generator().manual_seed(1))
    tokens = adapter.encode_tokens(clip)
    layout = adapter.token_layout(frames, size)
    patches, n_cls, cls, width = _patches(adapter, frames, size)
    assert tokens.shape == (2, patches + n_cls, width), what
    assert torch.isfinite(tokens).all(), what
    assert layout.num_tokens == tokens.shape[1] and layout.cls == cls, (what, layout)
    assert len(layout.patches) == patches and layout.pooling, what
    t, h, w = layout.grid
    assert t * h * w == patches, what
    video = adapter.encode_video(clip)
    pooled = _pool(adapter, tokens, frames)
    assert pooled.shape == video.shape, what
    torch.testing.assert_close(pooled, video, rtol=1e-4, atol=1e-5, msg=what)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_tokens_layout_and_pooling(family, tmp_path, monkeypatch):
    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TVTS_BENCH_MODELS", raising=False)
    monkeypatch.delenv("TVTS_BENCH_TEXT_MODEL", raising=False)
    for ex in _examples(family, tmp_path):
        for name, value in ex.env.items():
            monkeypatch.setenv(name, value)
        adapter = load_model(ex.model, checkpoint=ex.checkpoint)
        _check(adapter, ex.frames, ex.size, f"{family}: {ex.what}")
        for name in ex.env:
            monkeypatch.delenv(name)


def test_project_clip_run_gives_per_frame_tokens(tmp_path, monkeypatch):
    """This project's clip baseline (a FrameViT): per-frame CLS + patch tokens, like HF CLIP's."""
    from tvts_bench.zoo.project import example_run

    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    run, dim, frames, size = example_run(tmp_path, "clip")
    adapter = load_model("clip", checkpoint=run)
    assert type(adapter.video_backbone()).__name__ == "FrameViT"
    layout = adapter.token_layout(frames, size)
    assert layout.per_frame and len(layout.cls) == frames
    _check(adapter, frames, size, "project clip run")


def test_the_layout_says_how_tokens_are_ordered(tmp_path, monkeypatch):
    monkeypatch.setenv("TVTS_BENCH_HOME", str(tmp_path / "home"))
    examples = {ex.what.split()[0]: ex for ex in _examples("hf", tmp_path)}
    layout = load_model(examples["hf-timesformer"].model).token_layout(4, 32)
    assert layout.order == "hwt" and layout.cls == (0,) and layout.grid == (4, 2, 2)   # space-major
    layout = load_model(examples["hf-vivit"].model).token_layout(4, 32)
    assert layout.order == "thw" and layout.grid == (2, 2, 2) and not layout.per_frame  # 2-frame tubelets
    layout = load_model(examples["hf-xclip"].model).token_layout(4, 32)
    assert layout.per_frame and layout.cls == (0, 5, 10, 15) and layout.patches[:4] == [1, 2, 3, 4]


def test_a_model_without_tokens_says_so(tmp_path):
    from tvts_bench.zoo.user import example

    ex = example(tmp_path)[0]
    adapter = load_model(ex.model)
    with pytest.raises(NotImplementedError, match="no token features"):
        adapter.encode_tokens(torch.zeros(1, 3, ex.frames, ex.size, ex.size))
    with pytest.raises(NotImplementedError, match="no token features"):
        adapter.token_layout(ex.frames, ex.size)
