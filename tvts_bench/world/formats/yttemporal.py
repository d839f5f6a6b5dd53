"""YT-Temporal (MERLOT) layout: narrated pretraining videos with word-timed ASR transcripts."""

from __future__ import annotations

import json

from ..narration import narrate, transcript_json
from ..plan import DatasetPlan, VideoJob, rng_for, uniform, unique_ids, youtube_id
from ..presets import WorldPreset
from ..scenes import Scene, sample_story

TITLES = ("shapes doing stuff", "fun with shapes", "my little animation", "watch till the end",
          "satisfying shapes", "shape story", "relaxing animation", "a day in shape town")


def story(preset: WorldPreset, seed: int, k: int) -> tuple[Scene, list]:
    """Scene and narration of pretraining video k (also used by tests to check narration order)."""
    rng = rng_for(seed, "yttemporal", k)
    scene = sample_story(rng, uniform(rng, preset.yt_seconds), preset.fps, preset.size)
    return scene, narrate(scene, rng)


def build(preset: WorldPreset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("yttemporal")
    n = preset.yt_train + preset.yt_val
    ids = unique_ids(rng_for(seed, "yttemporal", "ids"), n, youtube_id)
    names = {"train": [], "val": []}
    for k, vid in enumerate(ids):
        scene, utterances = story(preset, seed, k)
        subset = f"subset_{k // preset.yt_per_subset}"
        title_rng = rng_for(seed, "yttemporal", "title", k)
        title = f"{TITLES[int(title_rng.integers(len(TITLES)))]} {int(title_rng.integers(1, 99))}"
        plan.jobs.append(VideoJob(f"yttemporal/{subset}/data/{vid}.mp4", scene))
        plan.add_text(f"yttemporal/{subset}/annotations/{vid}.json",
                      json.dumps(transcript_json(scene, utterances, title)))
        names["train" if k < preset.yt_train else "val"].append(f"{subset}/data/{vid}.mp4")
    for split, rows in names.items():
        plan.add_text(f"yttemporal/{split}.csv", "Name\n" + "".join(r + "\n" for r in rows))
    plan.counts = {"splits": {s: len(v) for s, v in names.items()}}
    return plan
