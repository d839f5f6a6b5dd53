"""Something-Something v2 layout: labels JSON (string indices), train/validation JSON, .webm videos."""

from __future__ import annotations

import json

from ..classes import SSV2_CLASSES, ssv2_clip
from ..plan import DatasetPlan, VideoJob, rng_for, uniform
from ..presets import WorldPreset


def _fill(template: str, names: list[str]) -> str:
    out = template
    for name in names:
        out = out.replace("[something]", name, 1)
    return out[:1].upper() + out[1:]


def build(preset: WorldPreset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("ssv2")
    classes = SSV2_CLASSES[:preset.ssv2_classes]
    per_split = {"train": preset.ssv2_train_per_class, "validation": preset.ssv2_val_per_class}
    total = len(classes) * sum(per_split.values())
    # Numeric ids drawn at random: an id says nothing about the class (as in the real release).
    ids = iter(str(int(i) + 1) for i in rng_for(seed, "ssv2", "ids").choice(220_000, total, replace=False))
    records: dict[str, list[dict]] = {}
    for split, n in per_split.items():
        recs = []
        for c, cls in enumerate(classes):
            for j in range(n):
                rng = rng_for(seed, "ssv2", split, c, j)
                scene, names = ssv2_clip(rng, cls, uniform(rng, preset.clip_seconds), preset.fps, preset.size)
                vid = next(ids)
                plan.jobs.append(VideoJob(f"ssv2/20bn-something-something-v2/{vid}.webm", scene))
                recs.append({"id": vid, "label": _fill(cls.template, names), "template": cls.template,
                             "placeholders": names})
        order = rng_for(seed, "ssv2", "order", split).permutation(len(recs))
        records[split] = [recs[int(i)] for i in order]
    labels = {cls.template.replace("[", "").replace("]", ""): str(i) for i, cls in enumerate(classes)}
    plan.add_text("ssv2/labels/something-something-v2-labels.json", json.dumps(labels, indent=1))
    for split, recs in records.items():
        plan.add_text(f"ssv2/labels/something-something-v2-{split}.json", json.dumps(recs, indent=1))
    plan.counts = {"classes": len(classes), "splits": {s: len(r) for s, r in records.items()}}
    return plan
