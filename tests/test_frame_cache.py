"""The decoded-frame cache gives bit-identical clips, hits on the second read, and misses when the file
or the resolution changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from tvts_bench.data.frame_cache import FrameCache
from tvts_bench.data.loader import ClipDataset
from tvts_bench.data.readers import read_dataset
from tvts_bench.zoo.base import Preprocess


def test_clips_from_the_cache_equal_decoded_clips(tiny_world: Path, tmp_path: Path) -> None:
    records = read_dataset("ssv2", tiny_world / "ssv2").records("train")[:4]
    pre = Preprocess(num_frames=4, size=32, short_side=36)
    cache = FrameCache(tmp_path / "frames", 36)
    plain = ClipDataset(records, pre, train=True, seed=3)
    cached = ClipDataset(records, pre, train=True, seed=3, frame_cache=cache)
    for epoch in (0, 1):
        plain.set_epoch(epoch)
        cached.set_epoch(epoch)
        for i in range(len(records)):
            assert torch.equal(plain[i]["video"], cached[i]["video"])
    assert cache.misses == len(records) and cache.hits == len(records)
    assert len(list((tmp_path / "frames").glob("*.npy"))) == len(records)


def test_a_changed_file_or_resolution_is_a_miss(tiny_world: Path, tmp_path: Path) -> None:
    src = read_dataset("ssv2", tiny_world / "ssv2").records("train")[0].path
    video = tmp_path / src.name
    shutil.copy(src, video)
    cache = FrameCache(tmp_path / "frames", 36)
    first = cache.open(video)
    assert cache.misses == 1 and first.get_frames([0]).shape[1:3] == (36, 36)
    cache.open(video)
    assert cache.hits == 1
    other = read_dataset("ssv2", tiny_world / "ssv2").records("train")[1].path
    shutil.copy(other, video)                                  # same name, other content
    cache.open(video)
    assert cache.misses == 2
    assert FrameCache(tmp_path / "frames", 48).open(video).get_frames([0]).shape[1:3] == (48, 48)


def test_a_full_cache_stops_growing_but_still_serves(tiny_world: Path, tmp_path: Path) -> None:
    records = read_dataset("ssv2", tiny_world / "ssv2").records("train")[:3]
    cache = FrameCache(tmp_path / "frames", 36, max_bytes=1)
    frames = cache.open(records[0].path).get_frames(np.arange(2))
    assert cache.full and frames.shape == (2, 36, 36, 3)
    assert not list((tmp_path / "frames").glob("*.npy"))
