"""MSVD layout: raw-captions.pkl (clip id -> list of token lists, a plain pickle of builtins),
{train,val,test}_list.txt, YouTubeClips/<clip id>.avi."""

from __future__ import annotations

import pickle

from ..captions import paraphrases
from ..plan import DatasetPlan, VideoJob, rng_for, uniform, unique_ids, youtube_id
from ..presets import WorldPreset
from ..scenes import sample_story


def build(preset: WorldPreset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("msvd")
    sizes = {"train": preset.msvd_train, "val": preset.msvd_val, "test": preset.msvd_test}
    ids = iter(unique_ids(rng_for(seed, "msvd", "ids"), sum(sizes.values()), youtube_id))
    captions: dict[str, list[list[str]]] = {}
    k = 0
    for split, n in sizes.items():
        clip_ids = []
        for _ in range(n):
            rng = rng_for(seed, "msvd", k)
            k += 1
            duration = uniform(rng, preset.retrieval_seconds)
            scene = sample_story(rng, duration, preset.fps, preset.size, lead=(0.2, 0.8))
            start = int(rng.integers(0, 300))
            clip_id = f"{next(ids)}_{start}_{start + int(round(duration))}"
            plan.jobs.append(VideoJob(f"msvd/YouTubeClips/{clip_id}.avi", scene))
            captions[clip_id] = [c.split() for c in paraphrases(scene, rng, preset.msvd_captions)]
            clip_ids.append(clip_id)
        plan.add_text(f"msvd/{split}_list.txt", "".join(c + "\n" for c in clip_ids))
    plan.files["msvd/raw-captions.pkl"] = pickle.dumps(captions, protocol=4)
    plan.counts = {"splits": dict(sizes), "captions": sum(len(v) for v in captions.values())}
    return plan
