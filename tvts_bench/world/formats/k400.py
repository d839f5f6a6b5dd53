"""Kinetics-400 layout: CSV with the real header; train videos in class folders, val flat."""

from __future__ import annotations

from ..classes import K400_CLASSES, k400_clip
from ..plan import DatasetPlan, VideoJob, rng_for, uniform, unique_ids, youtube_id
from ..presets import WorldPreset


def build(preset: WorldPreset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("k400")
    classes = K400_CLASSES[:preset.k400_classes]
    per_split = {"train": preset.k400_train_per_class, "validate": preset.k400_val_per_class}
    total = len(classes) * sum(per_split.values())
    ids = iter(unique_ids(rng_for(seed, "k400", "ids"), total, youtube_id))
    counts = {}
    for split, n in per_split.items():
        rows = []
        for c, cls in enumerate(classes):
            for j in range(n):
                rng = rng_for(seed, "k400", split, c, j)
                scene = k400_clip(rng, cls, uniform(rng, preset.clip_seconds), preset.fps, preset.size)
                ytid = next(ids)
                start = int(rng.integers(0, 290))
                fname = f"{ytid}_{start:06d}_{start + 10:06d}.mp4"
                folder = f"train/{cls.name}" if split == "train" else "val"
                plan.jobs.append(VideoJob(f"k400/{folder}/{fname}", scene))
                rows.append(f"{cls.name},{ytid},{start},{start + 10},{split}\n")
        order = rng_for(seed, "k400", "order", split).permutation(len(rows))
        plan.add_text(f"k400/{split}.csv", "label,youtube_id,time_start,time_end,split\n"
                      + "".join(rows[int(i)] for i in order))
        counts["train" if split == "train" else "val"] = len(rows)
    plan.counts = {"classes": len(classes), "splits": counts}
    return plan
