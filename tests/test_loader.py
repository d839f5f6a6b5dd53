"""Transforms and the clip loader: shapes, normalisation, crop positions, the frames that come back,
determinism across workers, failed videos reported (never raised), sharding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tvts_bench.world.video_io import FAITHFUL, write_video
from tvts_bench.data.loader import (ClipDataset, ClipSampler, DecodeReport, collate_clips,
                                    make_loader)
from tvts_bench.data.records import VideoRecord
from tvts_bench.data.transforms import ClipTransform, crop_offsets
from tvts_bench.zoo.base import Preprocess

N, H, W, FPS = 24, 48, 64, 12
RAW = Preprocess(num_frames=4, size=32, short_side=48, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def level(i: int) -> int:
    return 8 + 10 * i


def frame_levels(video: torch.Tensor) -> np.ndarray:
    """Mean grey level (0-255) per frame of one view [C, T, S, S] under the RAW preprocess."""
    return (video.mean(dim=(0, 2, 3)) * 255).numpy()


# ---------------------------------------------------------------------------------------- transforms

def test_transform_shapes_and_normalisation():
    frames = np.full((4, 48, 64, 3), 255, np.uint8)
    frames[..., 1] = 0
    pre = Preprocess(num_frames=4, size=32, short_side=40, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))
    out = ClipTransform(pre, train=False)(frames)
    assert out.shape == (1, 3, 4, 32, 32) and out.dtype == torch.float32
    torch.testing.assert_close(out[0, 0], torch.full((4, 32, 32), 2.0))     # (1 - 0.5) / 0.25
    torch.testing.assert_close(out[0, 1], torch.full((4, 32, 32), -1.0))    # (0 - 0.5) / 0.5
    torch.testing.assert_close(out[0, 2], torch.full((4, 32, 32), 0.5))     # (1 - 0.5) / 1


def test_short_side_resize_keeps_aspect_and_three_crops_run_along_long_side():
    pre = Preprocess(num_frames=2, size=20, short_side=24)
    # a horizontal ramp: the mean of a crop tells where along the width it was taken
    ramp = np.tile(np.linspace(0, 255, 96).astype(np.uint8)[None, None, :, None], (2, 48, 1, 3))
    crops = ClipTransform(pre, train=False, crops=3)(ramp)
    assert crops.shape == (3, 3, 2, 20, 20)
    means = crops.mean(dim=(1, 2, 3, 4))
    assert means[0] < means[1] < means[2]                  # left, centre, right
    centre = ClipTransform(pre, train=False, crops=1)(ramp)
    torch.testing.assert_close(centre[0], crops[1])
    # resized to 24 x 48: left crop starts at x=0, right crop ends at x=48
    assert crop_offsets(24, 48, 20, 3) == [(2, 0), (2, 14), (2, 28)]
    assert crop_offsets(48, 24, 20, 3) == [(0, 2), (14, 2), (28, 2)]   # portrait: top/centre/bottom
    portrait = ClipTransform(pre, train=False, crops=3)(np.ascontiguousarray(ramp.transpose(0, 2, 1, 3)))
    pm = portrait.mean(dim=(1, 2, 3, 4))
    assert pm[0] < pm[1] < pm[2]


def test_train_crop_is_random_but_seeded_and_never_flipped():
    pre = Preprocess(num_frames=2, size=16, short_side=32)
    ramp = np.tile(np.arange(64, dtype=np.uint8)[None, None, :, None] * 4, (2, 32, 1, 3))
    t = ClipTransform(pre, train=True)
    a, b = t(ramp, rng=1), t(ramp, rng=1)
    torch.testing.assert_close(a, b)
    outs = {round(float(t(ramp, rng=s).mean()), 4) for s in range(20)}
    assert len(outs) > 5                                   # the crop moves
    for s in range(10):                                    # left-to-right order always kept
        row = t(ramp, rng=s)[0, 0, 0, 0]
        assert torch.all(row[1:] >= row[:-1])


# -------------------------------------------------------------------------------------------- loader

@pytest.fixture(scope="module")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    frames = np.stack([np.full((H, W, 3), level(i), np.uint8) for i in range(N)])
    files = {}
    for k, ext in enumerate(["mp4", "webm", "avi", "mp4"]):
        files[f"ok{k}"] = root / f"ok{k}.{ext}"
        write_video(files[f"ok{k}"], frames, FPS, codecs=FAITHFUL)
    (root / "garbage.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 3000, np.uint8).tobytes())
    files["garbage"] = root / "garbage.mp4"
    (root / "empty.avi").write_bytes(b"")
    files["empty"] = root / "empty.avi"
    rng = np.random.default_rng(1)
    noisy = np.stack([np.full((H, W, 3), 20 + 2 * i, np.uint8) for i in range(90)])
    noisy[:, :16] = rng.integers(0, 256, (90, 16, W, 3), dtype=np.uint8)
    full = root / "long.mp4"
    write_video(full, noisy, 15, codecs=FAITHFUL, options={"g": "12"}, faststart=True)
    data = full.read_bytes()
    (root / "half.mp4").write_bytes(data[: len(data) // 2])
    files["half"] = root / "half.mp4"
    return files


def records_for(files: dict[str, Path], names: list[str]) -> list[VideoRecord]:
    return [VideoRecord(video_id=n, path=files[n], split="test", label=i) for i, n in enumerate(names)]


GOOD_AND_BAD = ["ok0", "garbage", "ok1", "ok2", "empty", "ok3"]


def test_items_return_the_sampled_frames(clip_files):
    ds = ClipDataset(records_for(clip_files, ["ok0", "ok1", "ok2"]), RAW, train=False)
    for i in range(3):
        item = ds[i]
        assert item["ok"] and item["error"] == "" and item["index"] == i and item["label"] == i
        assert item["video"].shape == (1, 3, 4, 32, 32)
        # TSN centres of 24 frames in 4 segments: 3, 9, 15, 21
        np.testing.assert_allclose(frame_levels(item["video"][0]), [level(j) for j in (3, 9, 15, 21)],
                                   atol=4)


def test_segment_records_decode_their_segment(clip_files):
    rec = VideoRecord(video_id="seg", path=clip_files["ok0"], split="test", start=1.0, end=2.0)
    item = ClipDataset([rec], RAW, train=False)[0]                # frames 12 .. 23
    np.testing.assert_allclose(frame_levels(item["video"][0]), [level(j) for j in (13, 16, 19, 22)],
                               atol=4)


def test_failed_videos_are_items_not_exceptions(clip_files):
    ds = ClipDataset(records_for(clip_files, GOOD_AND_BAD), RAW, train=False, clips=2, crops=3)
    bad = ds[1]
    assert not bad["ok"] and "garbage.mp4" in bad["error"]
    assert bad["video"].shape == (6, 3, 4, 32, 32) and not bad["video"].any()
    assert not ds[4]["ok"] and "empty file" in ds[4]["error"]


def test_loader_drops_failed_items_and_report_names_them(clip_files):
    ds = ClipDataset(records_for(clip_files, GOOD_AND_BAD), RAW, train=False)
    report = DecodeReport()
    seen = []
    for batch in make_loader(ds, batch_size=3, workers=0):
        report.update(batch)
        assert batch["video"].shape[1:] == (1, 3, 4, 32, 32)
        assert batch["video"].shape[0] == len(batch["index"]) == len(batch["path"])
        seen += batch["index"].tolist()
    assert seen == [0, 2, 3, 5]
    assert report.ok == 4 and report.failed_items == 2 and report.total == 6
    assert report.failed_paths == sorted([str(clip_files["garbage"]), str(clip_files["empty"])])
    assert "garbage.mp4" in report.summary() and "empty.avi" in report.summary()
    assert report.as_dict()["failed_videos"][0]["error"]


def test_all_failed_batch_is_empty_not_an_error(clip_files):
    ds = ClipDataset(records_for(clip_files, ["garbage", "empty"]), RAW, train=False)
    batch = collate_clips([ds[0], ds[1]])
    assert batch["video"].shape == (0, 1, 3, 4, 32, 32)
    assert [i for i, _ in batch["failed"]] == [0, 1]


def test_truncated_video_is_resampled_over_what_exists(clip_files):
    ds = ClipDataset(records_for(clip_files, ["half"]), RAW, train=False)
    item = ds[0]
    assert item["ok"] and item["truncated"]
    lower = (item["video"][0][:, :, 11:] * 255).mean(dim=(0, 2, 3)).numpy()   # below the noise band
    assert np.all(np.diff(lower) > 0)                      # distinct, increasing frames, no padding
    report = DecodeReport()
    report.update(collate_clips([item]))
    assert report.truncated == [str(clip_files["half"])]


def test_workers_give_the_same_test_batches(clip_files):
    ds = ClipDataset(records_for(clip_files, GOOD_AND_BAD), RAW, train=False, clips=2, crops=3)
    serial = list(make_loader(ds, batch_size=2, workers=0))
    parallel = list(make_loader(ds, batch_size=2, workers=2))
    assert len(serial) == len(parallel) == 3
    for a, b in zip(serial, parallel):
        assert torch.equal(a["video"], b["video"]) and torch.equal(a["index"], b["index"])
        assert a["failed"] == b["failed"]


def test_train_randomness_depends_on_seed_epoch_index_only(clip_files):
    recs = records_for(clip_files, ["ok0", "ok1"])
    ds = ClipDataset(recs, RAW, train=True, seed=7)
    again = ClipDataset(recs, RAW, train=True, seed=7)
    torch.testing.assert_close(ds[(1, 3)]["video"], again[(1, 3)]["video"])
    epochs = [ds[(0, e)]["video"] for e in range(4)]
    assert any(not torch.equal(epochs[0], v) for v in epochs[1:])
    other_seed = ClipDataset(recs, RAW, train=True, seed=8)
    assert any(not torch.equal(ds[(0, e)]["video"], other_seed[(0, e)]["video"]) for e in range(4))
    # through the loader: set_epoch reaches the draws, shuffling is seeded
    loader = make_loader(ds, batch_size=2, workers=0, shuffle=True, seed=3)
    loader.set_epoch(2)
    batch = next(iter(loader))
    for row, index in zip(batch["video"], batch["index"].tolist()):
        torch.testing.assert_close(row, ds[(index, 2)]["video"])


def test_frame_ops(clip_files):
    recs = records_for(clip_files, ["ok0"])
    plain = ClipDataset(recs, RAW, train=False)[0]["video"][0]
    shuffled = ClipDataset(recs, RAW, train=False, frame_op="shuffle", seed=0)[0]["video"][0]
    repeated = ClipDataset(recs, RAW, train=False, frame_op="repeat")[0]["video"][0]
    a, b = frame_levels(plain), frame_levels(shuffled)
    np.testing.assert_allclose(np.sort(a), np.sort(b), atol=1e-4)     # same frames ...
    assert not np.allclose(a, b)                                      # ... in another order
    again = ClipDataset(recs, RAW, train=False, frame_op="shuffle", seed=0)[0]["video"][0]
    torch.testing.assert_close(shuffled, again)                       # fixed permutation
    r = frame_levels(repeated)
    np.testing.assert_allclose(r, np.full(4, a[2]), atol=1e-4)        # middle frame, T times
    reversed_ = ClipDataset(recs, RAW, train=False, frame_op="reverse")[0]["video"][0]
    np.testing.assert_allclose(frame_levels(reversed_), a[::-1], atol=1e-4)   # the same frames, backwards


def test_dense_mode_and_views(clip_files):
    ds = ClipDataset(records_for(clip_files, ["ok1"]), RAW, train=False, mode="dense", stride=2, clips=2)
    video = ds[0]["video"]
    assert video.shape == (2, 3, 4, 32, 32)
    # 24 frames, span 7: starts 0 and 17 -> frames 0,2,4,6 and 17,19,21,23
    np.testing.assert_allclose(frame_levels(video[0]), [level(j) for j in (0, 2, 4, 6)], atol=4)
    np.testing.assert_allclose(frame_levels(video[1]), [level(j) for j in (17, 19, 21, 23)], atol=4)


@pytest.mark.parametrize("kwargs", [dict(mode="slow"), dict(mode="dense"), dict(frame_op="backwards"),
                                    dict(backend="ffmpeg"), dict(clips=0)])
def test_bad_options_raise(clip_files, kwargs):
    with pytest.raises(ValueError):
        ClipDataset(records_for(clip_files, ["ok0"]), RAW, train=False, **kwargs)


# ------------------------------------------------------------------------------------------ sharding

@pytest.mark.parametrize("n, world", [(10, 3), (9, 3), (2, 4)])
def test_shards_cover_every_index_once_without_padding(n, world):
    shards = [[i for i, _ in ClipSampler(n, rank=r, num_replicas=world)] for r in range(world)]
    assert sorted(sum(shards, [])) == list(range(n))
    assert [len(s) for s in shards] == [len(ClipSampler(n, rank=r, num_replicas=world)) for r in range(world)]


def test_padded_shuffled_shards_are_even_and_follow_the_epoch():
    samplers = [ClipSampler(10, shuffle=True, seed=1, rank=r, num_replicas=4, pad=True) for r in range(4)]
    shards = [list(s) for s in samplers]
    assert {len(s) for s in shards} == {3} and all(len(s) == 3 for s in samplers)
    assert set(i for s in shards for i, _ in s) == set(range(10))
    for s in samplers:
        s.set_epoch(1)
    assert [list(s) for s in samplers] != shards
    assert all(e == 1 for s in samplers for _, e in s)


def test_report_merge():
    a, b = DecodeReport(ok=3, failed_items=1, failures={"x.mp4": "bad"}), DecodeReport(ok=2)
    b.failures["y.mp4"] = "worse"
    merged = a.merge(b)
    assert merged.total == 6 and merged.failed_paths == ["x.mp4", "y.mp4"]


def test_make_loader_shards_by_rank_when_distributed(clip_files, monkeypatch):
    from tvts_bench.data import loader as loader_mod

    monkeypatch.setattr(loader_mod, "_dist_world", lambda: (1, 3))
    ds = ClipDataset(records_for(clip_files, GOOD_AND_BAD), RAW, train=False)
    seen = [i for b in make_loader(ds, batch_size=4) for i in b["index"].tolist()]
    failed = [i for b in make_loader(ds, batch_size=4) for i, _ in b["failed"]]
    assert seen == [] and failed == [1, 4]                  # rank 1 of 3: positions 1 and 4 (both bad)
    assert [i for i, _ in make_loader(ds, batch_size=4, distributed=False).sampler] == list(range(6))


def test_report_all_gather_in_a_process_group(tmp_path):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        report = DecodeReport(ok=2, failed_items=1, failures={"a.mp4": "bad"})
        gathered = report.all_gather()
        assert gathered.total == 3 and gathered.failed_paths == ["a.mp4"]
    finally:
        dist.destroy_process_group()


def test_index_fn_hook_picks_a_time_span(clip_files):
    """Pretraining chooses its own frames (TSN over [S_1, E_K]) and keeps the loader's failure handling."""
    from tvts_bench.data.sampling import span_indices

    def span(source, record, rng):
        return span_indices(source.fps, source.num_frames, 0.5, 1.5, 4, train=False, rng=rng)

    ds = ClipDataset(records_for(clip_files, ["ok2", "garbage"]), RAW, train=True, index_fn=span)
    item = ds[(0, 0)]
    # 12 fps, [0.5 s, 1.5 s] -> frames 6 .. 17, centres 7, 10, 13, 16
    np.testing.assert_allclose(frame_levels(item["video"][0]), [level(j) for j in (7, 10, 13, 16)], atol=4)
    assert not ds[(1, 0)]["ok"]
