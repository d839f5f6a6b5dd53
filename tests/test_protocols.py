"""Every protocol on a small fake ProtocolContext: random features, a tiny adapter, a fake loader.

The fakes (``make_ctx``) are imported by the other ``test_protocols_*`` files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tvts_bench.bench.context import FeatureSet, ProtocolContext, ProtocolOutput
from tvts_bench.bench.protocols import PROTOCOLS
from tvts_bench.bench.result_schema import MetricValue
from tvts_bench.bench.task_card import TaskCard
from tvts_bench.data.records import DatasetIndex, VideoRecord
from tvts_bench.errors import TvtsBenchError
from tvts_bench.zoo.base import Preprocess, VideoAdapter

C, T, H = 3, 4, 16
WORDS = ["red", "green", "blue", "cat", "dog", "ball", "runs", "jumps"]


class TinyVideoNet(nn.Module):
    """[B, C, T, H, W] -> [B, 16]; has ``blocks`` so layer decay and drop path find something."""

    def __init__(self, dim: int = 16):
        super().__init__()
        self.patch_embed = nn.Conv3d(C, dim, kernel_size=(2, 4, 4), stride=(2, 4, 4))
        self.blocks = nn.ModuleList([nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU())
                                     for _ in range(2)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(video).flatten(2).mean(-1)
        for blk in self.blocks:
            x = x + blk(x)
        return self.norm(x)


class BagOfWords(nn.Module):
    """list[str] -> [N, 16]: a trainable bag-of-words text tower."""

    def __init__(self, dim: int = 16):
        super().__init__()
        self.emb = nn.EmbeddingBag(len(WORDS) + 1, dim, mode="mean")

    def forward(self, texts: list[str]) -> torch.Tensor:
        ids, offsets = [], []
        for t in texts:
            offsets.append(len(ids))
            toks = [WORDS.index(w) + 1 if w in WORDS else 0 for w in t.split()] or [0]
            ids.extend(toks)
        dev = self.emb.weight.device
        return self.emb(torch.tensor(ids, device=dev), torch.tensor(offsets, device=dev))


class TinyAdapter(VideoAdapter):
    name = "tiny"
    family = "user"
    preprocess = Preprocess(num_frames=T, size=H, short_side=H)
    feature_dim = 16

    def __init__(self, text: bool):
        torch.manual_seed(0)
        self._video = TinyVideoNet().eval()
        self._text = BagOfWords().eval() if text else None

    def encode_video(self, video):
        with torch.no_grad():
            return self._video(video)

    @property
    def has_text(self):
        return self._text is not None

    def encode_text(self, texts):
        with torch.no_grad():
            return self._text(list(texts))

    def video_backbone(self):
        return self._video

    def text_backbone(self):
        return self._text

    def weights_hash(self):
        return "0" * 16


def _video_for(label: int, i: int, frame_op: str | None = None) -> torch.Tensor:
    """A [C, T, H, W] clip whose colour and motion depend on the class (learnable by tiny models)."""
    g = torch.Generator().manual_seed(i)
    v = 0.5 * torch.randn(C, T, H, H, generator=g)
    v[label % C] += 1.5
    for t in range(T):
        v[:, t, :, (t * (1 + label)) % H] += 2.0 if label % 2 else -2.0
    if frame_op == "shuffle":
        v = v[:, torch.randperm(T, generator=g)]
    elif frame_op == "repeat":
        v = v[:, :1].expand(-1, T, -1, -1).clone()
    elif frame_op == "reverse":
        v = v.flip(1)
    return v


class FakeClips(torch.utils.data.Dataset):
    def __init__(self, records, views: int, frame_op=None):
        self.records, self.views, self.frame_op = records, views, frame_op

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        lab = self.records[i].label if self.records[i].label is not None else i % 4
        v = _video_for(lab, i + (1000 if self.records[i].split == "test" else 0), self.frame_op)
        return {"video": torch.stack([v] * self.views), "index": i, "ok": True, "error": ""}


def collate(items):
    return {"video": torch.stack([it["video"] for it in items]),
            "index": torch.tensor([it["index"] for it in items]), "failed": []}


def make_index(kind: str, n_train: int = 48, n_test: int = 24, classes: int = 4) -> DatasetIndex:
    rng = np.random.default_rng(0)
    splits = {}
    for split, n in (("train", n_train), ("test", n_test)):
        recs = []
        for i in range(n):
            lab = i % classes
            vid = f"{split}{i:03d}"
            if kind == "cls":
                recs.append(VideoRecord(vid, Path(f"/fake/{vid}.mp4"), split, label=lab, label_name=f"c{lab}"))
            else:
                caps = tuple(" ".join(rng.choice(WORDS[:3]) if j == 0 else WORDS[3 + lab] for j in range(3))
                             for _ in range(2 if kind == "multi" else 1))
                recs.append(VideoRecord(vid, Path(f"/fake/{vid}.mp4"), split, captions=caps))
        splits[split] = recs
    names = [f"c{i}" for i in range(classes)] if kind == "cls" else []
    return DatasetIndex(name="fake", root=Path("/fake"), classes=names, splits=splits)


def make_ctx(tmp_path: Path, protocol: str, params: dict | None = None, *, kind: str = "cls",
             text: bool = False, dataset: str = "ssv2", feature_fn=None, sampling: dict | None = None,
             **index_kw) -> ProtocolContext:
    metrics = {"linear": ["top1", "top5"], "ft": ["top1", "top5"], "v2v": ["R@1", "R@5", "R@10", "mAP"],
               "attn": ["top1", "top5"],
               "knn": ["top1", "top5"] + (["top1@k20", "top5@k20"] if 20 in (params or {}).get("ks", [10, 20])
                                          else [])}.get(
        protocol, [f"{d}_{m}" for d in ("t2v", "v2t") for m in ("R@1", "R@5", "R@10", "MedR", "MeanR")])
    task = TaskCard(name=f"{dataset}-{protocol}", dataset=dataset, protocol=protocol,
                    splits={"train": "train", "test": "test"}, metrics=metrics, main_metric=metrics[0],
                    sampling=sampling or {},
                    params={"bootstrap": 200, **(params or {})})
    index = make_index(kind, **index_kw)
    adapter = TinyAdapter(text=text)
    from tvts_bench.bench.context import FRAME_OPS

    def features(split, variant="normal", *, joint=False):
        recs = index.records(split)
        if feature_fn is not None:
            feats = feature_fn(recs, variant)
        else:
            ds = FakeClips(recs, 1, FRAME_OPS[variant])
            with torch.no_grad():
                vids = torch.stack([ds[i]["video"][0] for i in range(len(ds))])
                feats = (adapter.encode_video_joint(vids) if joint else adapter.encode_video(vids)).numpy()
        labels = np.array([r.label for r in recs]) if recs and recs[0].label is not None else None
        return FeatureSet(features=feats.astype(np.float32), records=list(recs), labels=labels, joint=joint)

    def loader(split, train, batch_size=None, clips=1, crops=1, *, shuffle=None, drop_last=False, sampler=None,
               frame_op=None):
        ds = FakeClips(index.records(split), 1 if train else clips * crops, frame_op)
        return torch.utils.data.DataLoader(ds, batch_size=batch_size or 8,
                                           shuffle=bool(train if shuffle is None else shuffle),
                                           drop_last=drop_last, sampler=sampler, collate_fn=collate)

    return ProtocolContext(task=task, adapter=adapter, index=index, seed=0, device="cpu", features=features,
                           loader=loader, progress=None, work_dir=tmp_path / "work", log=lambda s: None)


def assert_well_formed(out: ProtocolOutput, keys):
    assert isinstance(out, ProtocolOutput)
    assert set(out.metrics) == set(keys)
    for k, v in out.metrics.items():
        assert isinstance(v, MetricValue)
        assert np.isfinite(v.value), k
        assert v.ci_low <= v.value <= v.ci_high, k
        assert v.n and v.n > 0
        if "Med" not in k and "Mean" not in k:
            assert 0.0 <= v.value <= 100.0
    assert out.per_sample


def test_registry_has_every_protocol():
    assert set(PROTOCOLS) == {"linear", "knn", "attn", "v2v", "ft", "ret", "ret-ft"}


def test_linear_protocol_on_fake_context(tmp_path):
    ctx = make_ctx(tmp_path, "linear", {"C": [0.01, 1.0], "seeds": 2, "diagnostics": ["shuffled", "repeated"]})
    out = PROTOCOLS["linear"](ctx)
    assert_well_formed(out, ["top1", "top5"])
    assert out.metrics["top1"].value > 60          # the fake classes are separable
    assert set(out.diagnostics) == {"shuffled", "repeated"}
    assert len(out.extra["linear"]["per_seed"]) == 2
    assert len(out.per_sample) == 24 and set(out.per_sample[0]) == {"sample_id", "top1", "top5"}
    # each video's outcome is its hit averaged over the 2 probe seeds: 0, 1/2 or 1 without ties
    assert {r["top1"] for r in out.per_sample} <= {0.0, 0.5, 1.0}


def test_v2v_protocol_on_fake_context(tmp_path):
    ctx = make_ctx(tmp_path, "v2v", {"diagnostics": ["shuffled"]})
    out = PROTOCOLS["v2v"](ctx)
    assert_well_formed(out, ["R@1", "R@5", "R@10", "mAP"])
    assert out.metrics["R@10"].value >= out.metrics["R@1"].value
    assert set(out.diagnostics) == {"shuffled"}
    assert [r["sample_id"] for r in out.per_sample] == [r.video_id for r in ctx.index.records("test")]


def test_v2v_approximate_index_option(tmp_path):
    def feats(recs, variant):
        rng = np.random.default_rng(1)
        centres = rng.normal(size=(4, 8)) * 3
        return centres[[r.label for r in recs]] + rng.normal(size=(len(recs), 8))

    exact = PROTOCOLS["v2v"](make_ctx(tmp_path, "v2v", feature_fn=feats, n_test=200))
    approx = PROTOCOLS["v2v"](make_ctx(tmp_path, "v2v", {"index": "hnsw"}, feature_fn=feats, n_test=200))
    assert approx.extra["v2v"]["recall_at_10_vs_exact"] >= 0.95
    assert abs(approx.metrics["R@1"].value - exact.metrics["R@1"].value) <= 2.0


def test_ret_protocol_multi_caption_and_paragraph(tmp_path):
    keys = [f"{d}_{m}" for d in ("t2v", "v2t") for m in ("R@1", "R@5", "R@10", "MedR", "MeanR")]
    ctx = make_ctx(tmp_path, "ret", {"captions": "all"}, kind="multi", text=True, dataset="msvd")
    out = PROTOCOLS["ret"](ctx)
    assert_well_formed(out, keys)
    assert out.extra["ret"]["queries"] == 2 * 24                # every caption is a query
    assert out.metrics["t2v_R@1"].n == 48 and out.metrics["v2t_R@1"].n == 24
    ctx = make_ctx(tmp_path, "ret", {"captions": "paragraph"}, kind="multi", text=True, dataset="didemo")
    out = PROTOCOLS["ret"](ctx)
    assert out.extra["ret"]["queries"] == 24 and out.metrics["t2v_R@1"].n == 24


def test_ret_without_text_tower_says_what_to_do(tmp_path):
    ctx = make_ctx(tmp_path, "ret", kind="single", text=False, dataset="msrvtt")
    with pytest.raises(TvtsBenchError) as e:
        PROTOCOLS["ret"](ctx)
    assert "no text tower" in str(e.value) and "msrvtt-ret-ft" in str(e.value)


def test_ret_ft_with_own_text_tower_improves_and_resumes(tmp_path):
    keys = [f"{d}_{m}" for d in ("t2v", "v2t") for m in ("R@1", "R@5", "R@10", "MedR", "MeanR")]
    params = {"epochs": 3, "batch_size": 8, "lr": 3e-3, "head_lr": 3e-3, "temperature": "learnable"}
    ctx = make_ctx(tmp_path, "ret-ft", params, kind="single", text=True, dataset="msrvtt")
    before = ctx.adapter.video_backbone().state_dict()["patch_embed.weight"].clone()
    out = PROTOCOLS["ret-ft"](ctx)
    assert_well_formed(out, keys)
    info = out.extra["ret_ft"]
    assert info["train_loss"][-1] < info["train_loss"][0]
    assert "own text tower" in info["text_tower"]
    assert torch.equal(before, ctx.adapter.video_backbone().state_dict()["patch_embed.weight"])  # adapter untouched
    assert (ctx.work_dir / "ret-ft-checkpoint.pt").is_file()
    again = PROTOCOLS["ret-ft"](make_ctx(tmp_path, "ret-ft", params, kind="single", text=True, dataset="msrvtt"))
    assert again.extra["ret_ft"]["resumed_from_epoch"] == 3
    assert again.metrics["t2v_R@1"].value == out.metrics["t2v_R@1"].value


def test_ret_ft_attaches_minilm_to_a_video_only_model(tmp_path):
    params = {"epochs": 1, "batch_size": 8, "lr": 1e-5, "head_lr": 1e-3}
    ctx = make_ctx(tmp_path, "ret-ft", params, kind="single", text=False, dataset="lsmdc", n_train=16, n_test=12)
    out = PROTOCOLS["ret-ft"](ctx)
    assert "MiniLM" in out.extra["ret_ft"]["text_tower"]
    assert out.metrics["t2v_R@1"].n == 12
    assert out.clips == 16


def test_ret_rejects_text_and_video_spaces_of_different_size(tmp_path):
    ctx = make_ctx(tmp_path, "ret", kind="single", text=True, dataset="msrvtt")
    ctx.adapter._text = BagOfWords(dim=8)
    with pytest.raises(TvtsBenchError, match="same space|dimensions"):
        PROTOCOLS["ret"](ctx)


def test_ret_ft_training_text_follows_the_query_protocol():
    from tvts_bench.bench.protocols.retrieval_ft import training_text

    rng = np.random.default_rng(0)
    caps = ("a dog runs.", "it stops", " ")
    assert training_text(caps, "random", True, rng) == "a dog runs. it stops"          # DiDeMo paragraphs
    assert training_text(caps, "first", False, rng) == "a dog runs."
    assert {training_text(caps, "random", False, rng) for _ in range(30)} == {"a dog runs.", "it stops"}
    assert training_text((), "random", False, rng) == ""


def test_v2v_with_only_singleton_classes_is_a_clear_error(tmp_path):
    from tvts_bench.errors import DataFormatError

    ctx = make_ctx(tmp_path, "v2v", n_test=4, classes=4)
    with pytest.raises(DataFormatError, match="nothing to find"):
        PROTOCOLS["v2v"](ctx)
