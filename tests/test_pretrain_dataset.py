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


def test_windows_are_cut_from_denoised_words_when_the_annotation_has_them(tiny_world):
    import numpy as np

    from tvts_bench.data.readers.yttemporal import align_denoised
    from tvts_bench.pretrain.dataset import describe_transcripts, transcript_summary
    from tvts_bench.pretrain.windows import sample_windows

    base = read_dataset("yttemporal", tiny_world / "yttemporal").records("train")[0]
    assert base.captions and base.words                    # the built-in world writes both fields
    n = int(base.duration * 2)
    subs = tuple((f"raw{i}", 0.25 + 0.5 * i) for i in range(n))
    sentences = (" ".join(f"Den{i}" for i in range(n // 2)), " ".join(f"Den{i}" for i in range(n // 2, n)))
    both = dataclasses.replace(base, video_id="both", words=subs, captions=sentences)
    subs_only = dataclasses.replace(base, video_id="subs", words=subs, captions=())
    pre = get_preset("tiny").preprocess()

    ds = PretrainDataset([both, subs_only], pre, train=True, seed=0)
    assert ds.words(0) == align_denoised(subs, sentences) == tuple((f"Den{i}", t) for i, (_, t) in enumerate(subs))
    assert ds.words(1) == subs
    item = ds[(0, 0)]
    assert item["ok"] and all(w.startswith("Den") for text in item["texts"] for w in text.split())
    # each fed transcript holds exactly the denoised words timed inside its window (paper eq. 1)
    ws = sample_windows(ds.words(0), both.duration, ds._rng(0, 0), k=4)
    assert list(item["texts"]) == list(ws.shuffled)
    for (s, e), text in zip(ws.windows, ws.transcripts):
        assert text.split() == [f"Den{i}" for i, (_, t) in enumerate(subs) if s < t < e]
    assert all(w.startswith("raw") for text in ds[(0, 1)]["texts"] for w in text.split())

    forced = PretrainDataset([both, subs_only], pre, train=True, seed=0, transcripts="subtitles")
    assert forced.words(0) == subs and all(w.startswith("raw") for t in forced[(0, 0)]["texts"] for w in t.split())
    only_den = PretrainDataset([both, subs_only], pre, train=True, seed=0, transcripts="denoised")
    assert only_den.words(1) == () and only_den[(0, 1)]["reason"] == "no_words"

    summary = transcript_summary([both, subs_only, dataclasses.replace(base, words=(), captions=())])
    assert summary == {"mode": "auto", "source": "mixed", "counts": {"denoised": 1, "subtitles": 1, "none": 1}}
    assert "denoised (DTW-aligned" in describe_transcripts(summary)
    assert transcript_summary([both])["source"] == "denoised"
    assert transcript_summary([both], "subtitles")["source"] == "subtitles"
    world = transcript_summary(read_dataset("yttemporal", tiny_world / "yttemporal").records("train"))
    assert world["source"] == "denoised" and world["counts"]["denoised"] > 0
    np.testing.assert_equal(world["counts"]["subtitles"], 0)


def test_unknown_transcript_mode_is_a_config_error():
    import pytest

    from tvts_bench.errors import ConfigError

    with pytest.raises(ConfigError, match="transcript mode"):
        PretrainDataset([], get_preset("tiny").preprocess(), train=True, seed=0, transcripts="clean")


def test_built_in_world_denoised_words_align_inside_their_utterances():
    """The world's ``denoised`` sentences time well against its noisy subtitles: aligned words land
    inside the utterance they come from (so inside the narrated event's window)."""
    from tvts_bench.data.readers.yttemporal import align_denoised
    from tvts_bench.world.formats.yttemporal import story
    from tvts_bench.world.narration import transcript_json
    from tvts_bench.world.presets import PRESETS

    total = inside = 0
    for k in range(30):
        scene, utterances = story(PRESETS["demo"], 0, k)
        data = transcript_json(scene, utterances, "t")
        assert all({"cleanasr", "start", "end"} <= set(d) for d in data["denoised"])
        words = align_denoised([(w["word"], w["time"]) for w in data["subtitles"]],
                               [d["cleanasr"] for d in data["denoised"]])
        spans = [(u.times[0], u.times[-1]) for u in utterances for _ in u.clean.split()]
        assert [w for w, _ in words] == [w for u in utterances for w in u.clean.split()]
        total += len(words)
        inside += sum(a <= t <= b for (_, t), (a, b) in zip(words, spans))
    assert total > 500 and inside / total > 0.99
