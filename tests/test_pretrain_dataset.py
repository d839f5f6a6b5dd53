"""Pretraining samples from the tiny world: shapes, determinism per (seed, epoch, index), skips counted."""

from __future__ import annotations

import dataclasses

import torch

from tvts_bench.data.readers import read_dataset
from tvts_bench.pretrain.dataset import PretrainDataset, collate
from tvts_bench.pretrain.presets import get_preset


def test_samples_are_deterministic_and_failures_are_dropped(tiny_world, tmp_path):
    records = read_dataset("yttemporal", tiny_world / "yttemporal").records("train")[:3]
    bad_video = tmp_path / "broken.mp4"
    bad_video.write_bytes(b"\x00not a video" * 50)
    records.append(dataclasses.replace(records[0], video_id="broken", path=bad_video))
    records.append(dataclasses.replace(records[0], video_id="silent", words=()))
    pre = get_preset("tiny").preprocess()
    ds = PretrainDataset(records, pre, train=True, seed=0)

    item = ds[(0, 0)]
    assert item["ok"] and item["video"].shape == (3, pre.num_frames, pre.size, pre.size)
    assert len(item["texts"]) == 4 and all(item["texts"]) and sorted(item["order"].tolist()) == [0, 1, 2, 3]
    again = ds[(0, 0)]
    assert torch.equal(item["video"], again["video"]) and item["texts"] == again["texts"]
    other_epoch = ds[(1, 0)]
    assert other_epoch["texts"] != item["texts"] or not torch.equal(other_epoch["video"], item["video"])

    batch = collate([ds[(0, i)] for i in range(len(records))])
    assert batch["size"] == 3 and batch["video"].shape[0] == 3 and batch["order"].shape == (3, 4)
    reasons = {idx: reason for idx, reason, _ in batch["failed"]}
    assert reasons == {3: "decode", 4: "no_words"}

    val = PretrainDataset(records[:1], pre, train=False, seed=0)
    assert torch.equal(val[(0, 0)]["video"], val[(5, 0)]["video"])     # validation ignores the epoch
