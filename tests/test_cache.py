"""Feature cache: shared keys, reuse without re-encoding, resume after an interrupt, unreadable videos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tvts_bench.bench.features import FeatureCache
from tvts_bench.bench.registry import load_tasks
from tvts_bench.bench.task_card import Sampling
from tvts_bench.data.readers import read_dataset
from tvts_bench.zoo.base import Preprocess, VideoAdapter


class CountingAdapter(VideoAdapter):
    """A tiny deterministic encoder (per-channel mean/std/temporal change) that counts its calls."""

    name = "counting"
    family = "user"
    feature_dim = 9

    def __init__(self, fail_after: int | None = None):
        self.preprocess = Preprocess(num_frames=4, size=32, short_side=36)
        self.calls = 0
        self.clips = 0
        self.fail_after = fail_after
        self._module = nn.Identity()

    def encode_video(self, video: torch.Tensor) -> torch.Tensor:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt        # the user pressed Ctrl-C in the middle of an extraction
        self.calls += 1
        self.clips += video.shape[0]
        motion = (video[:, :, 1:] - video[:, :, :-1]).abs().mean(dim=(2, 3, 4))
        return torch.cat([video.mean(dim=(2, 3, 4)), video.std(dim=(2, 3, 4)), motion], dim=1)

    def video_backbone(self) -> nn.Module:
        return self._module

    def weights_hash(self) -> str:
        return "counting00000001"


@pytest.fixture()
def ssv2(bench_home: Path):
    from tvts_bench.home import resolve_data

    loc = resolve_data("ssv2")
    return read_dataset("ssv2", loc.root)


def _cache(adapter, index, root, sampling=Sampling(), **kw) -> FeatureCache:
    return FeatureCache(adapter, index, manifest_hash="m0", sampling=sampling, root=root, batch_size=2, **kw)


def test_v2v_and_linear_share_features_and_reuse_extracts_nothing(ssv2, tmp_path: Path) -> None:
    cards = load_tasks()
    v2v, linear = cards["ssv2-v2v"], cards["ssv2-linear"]
    first = CountingAdapter()
    fs1 = _cache(first, ssv2, tmp_path, v2v.sampling).get("validation")
    n = len(ssv2.records("validation"))
    assert fs1.features.shape == (n, 9) and fs1.features.dtype == np.float32
    assert first.clips == n and first.calls > 0
    assert fs1.labels is not None and fs1.labels.tolist() == [r.label for r in fs1.records]

    second = CountingAdapter()
    cache2 = _cache(second, ssv2, tmp_path, linear.sampling)
    fs2 = cache2.get("validation")
    assert second.calls == 0 and cache2.stats.hits == 1         # nothing re-encoded
    assert fs2.key == fs1.key
    np.testing.assert_array_equal(fs1.features, fs2.features)
    assert [r.video_id for r in fs2.records] == [r.video_id for r in fs1.records]
    index = json.loads((tmp_path / fs1.key / "index.json").read_text())
    assert index["complete"] is True

    # anything that changes the numbers changes the key
    keys = {fs1.key,
            cache2.key("validation", "shuffled"), cache2.key("train"), cache2.key("validation", joint=True),
            _cache(second, ssv2, tmp_path, Sampling(frames=8)).key("validation"),
            _cache(second, ssv2, tmp_path, Sampling(clips=2)).key("validation"),
            FeatureCache(second, ssv2, manifest_hash="m1", sampling=Sampling(), root=tmp_path).key("validation")}
    assert len(keys) == 7


def test_resume_after_interrupt_gives_identical_features(ssv2, tmp_path: Path) -> None:
    n = len(ssv2.records("validation"))
    assert n > 4, "the tiny world should have a few validation videos"
    reference = _cache(CountingAdapter(), ssv2, tmp_path / "clean", shard_size=2).get("validation")

    interrupted = CountingAdapter(fail_after=1)      # shard 0 (one batch of 2) completes, then Ctrl-C
    with pytest.raises(KeyboardInterrupt):
        _cache(interrupted, ssv2, tmp_path / "resumed", shard_size=2).get("validation")
    folder = next((tmp_path / "resumed").iterdir())
    assert sorted(p.name for p in folder.glob("shard-*.json")) == ["shard-00000.json"]
    assert not list(folder.glob(".*.tmp"))            # no half-written file

    rest = CountingAdapter()
    resumed = _cache(rest, ssv2, tmp_path / "resumed", shard_size=2).get("validation")
    assert rest.clips == n - 2                        # only the shards that were not done
    np.testing.assert_array_equal(resumed.features, reference.features)
    assert [r.video_id for r in resumed.records] == [r.video_id for r in reference.records]

    # batches that straddle shard boundaries give the same shards
    straddling = FeatureCache(CountingAdapter(), ssv2, manifest_hash="m0", sampling=Sampling(),
                              root=tmp_path / "straddle", batch_size=3, shard_size=2).get("validation")
    np.testing.assert_array_equal(straddling.features, reference.features)
    assert len(list((tmp_path / "straddle" / straddling.key).glob("shard-*.json"))) == -(-n // 2)


def test_multiview_features_are_averaged(ssv2, tmp_path: Path) -> None:
    adapter = CountingAdapter()
    records = ssv2.records("validation")[:3]
    small = type(ssv2)(name=ssv2.name, root=ssv2.root, classes=ssv2.classes, splits={"validation": records})
    fs = _cache(adapter, small, tmp_path, Sampling(clips=2, crops=3)).get("validation")
    assert adapter.clips == 3 * 6 and fs.views == 6 and fs.features.shape == (3, 9)


def test_unreadable_video_is_recorded_and_dropped(ssv2, tmp_path: Path) -> None:
    root = tmp_path / "ssv2"
    shutil.copytree(ssv2.root, root, symlinks=False)
    index = read_dataset("ssv2", root)
    victim = index.records("validation")[1]
    Path(victim.path).write_bytes(b"this is not a video")
    cache = _cache(CountingAdapter(), index, tmp_path / "cache")
    fs = cache.get("validation")
    n = len(index.records("validation"))
    assert fs.features.shape[0] == n - 1 and victim.video_id not in [r.video_id for r in fs.records]
    assert [vid for vid, _ in fs.failed] == [victim.video_id]
    assert victim.video_id in cache.stats.unreadable
    shard = json.loads((tmp_path / "cache" / fs.key / "shard-00000.json").read_text())
    assert shard["failed"][0][1] == victim.video_id
    # the failure is cached too: a second run does not try to decode anything
    again = CountingAdapter()
    assert _cache(again, index, tmp_path / "cache").get("validation").failed == fs.failed and again.calls == 0


def _ddp_worker(rank: int, world: int, rdv: str, ssv2_root: str, cache_root: str, out: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rdv}", rank=rank, world_size=world)
    try:
        index = read_dataset("ssv2", ssv2_root)
        adapter = CountingAdapter()
        fs = _cache(adapter, index, Path(cache_root), shard_size=2).get("validation")
        np.save(Path(out) / f"rank{rank}.npy", fs.features)
        (Path(out) / f"rank{rank}.json").write_text(json.dumps({"clips": adapter.clips}))
    finally:
        dist.destroy_process_group()


@pytest.mark.ddp
def test_distributed_extraction_splits_shards_over_ranks(ssv2, tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    n = len(ssv2.records("validation"))
    reference = _cache(CountingAdapter(), ssv2, tmp_path / "single", shard_size=2).get("validation")
    out = tmp_path / "out"
    out.mkdir()
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "rdv"), str(ssv2.root), str(tmp_path / "ddp"), str(out)),
             nprocs=2, join=True)
    clips = [json.loads((out / f"rank{r}.json").read_text())["clips"] for r in range(2)]
    assert sum(clips) == n and all(c > 0 for c in clips)        # each rank did its part, nothing twice
    for r in range(2):                                          # every rank sees the whole merged set
        np.testing.assert_array_equal(np.load(out / f"rank{r}.npy"), reference.features)
    index = json.loads(next((tmp_path / "ddp").iterdir()).joinpath("index.json").read_text())
    assert index["complete"] is True
