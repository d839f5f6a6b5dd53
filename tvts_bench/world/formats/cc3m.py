"""Conceptual Captions layout: Train_GCC-training.tsv and Validation_GCC-1.1.0-Validation.tsv
(caption<TAB>url, no header). The world also writes the images, images/<file name of the URL>."""

from __future__ import annotations

from ..captions import describe_still
from ..plan import DatasetPlan, VideoJob, rng_for
from ..presets import WorldPreset
from ..scenes import new_builder, sample_objects

FILES = {"train": "Train_GCC-training.tsv", "val": "Validation_GCC-1.1.0-Validation.tsv"}
HOSTS = ("i.pinimg.com/736x", "media.gettyimages.com/photos", "thumb1.shutterstock.com/display_pic",
         "images.example.org/photos")


def build(preset: WorldPreset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("cc3m")
    sizes = {"train": preset.cc3m_train, "val": preset.cc3m_val}
    k = 0
    for split, n in sizes.items():
        lines = []
        for _ in range(n):
            rng = rng_for(seed, "cc3m", k)
            k += 1
            objs = sample_objects(rng, int(rng.integers(1, 4)))
            scene = new_builder(rng, objs, 1.0 / preset.fps, preset.fps, preset.size).scene()
            name = f"{int(rng.integers(16**11, 16**12)):012x}.jpg"
            plan.jobs.append(VideoJob(f"cc3m/images/{name}", scene))
            lines.append(f"{describe_still(scene, rng)}\thttp://{HOSTS[int(rng.integers(len(HOSTS)))]}/{name}\n")
        plan.add_text(f"cc3m/{FILES[split]}", "".join(lines))
    plan.counts = {"splits": dict(sizes)}
    return plan
