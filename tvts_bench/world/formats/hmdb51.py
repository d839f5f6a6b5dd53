"""HMDB51 layout: class folders of .avi clips (names with ( ) !), and per-class split files with
codes 1 = train, 2 = test, 0 = unused."""

from __future__ import annotations

from ..classes import HMDB_CLASSES, cue_clip
from ..plan import DatasetPlan, VideoJob, rng_for, uniform
from ..presets import WorldPreset

# Source-movie titles as HMDB51 writes them, including its awkward characters.
TITLES = ("April_09", "Fun_(Part_2)", "Wow!", "Home_Movie_(1)", "Best_Day_Ever!!", "Sarah_and_Tom",
          "Funny_Shapes_(HD)", "OMG!_Look", "Summer_Trip", "Clip_#3")
BODY = ("f", "u", "h")
CAMERA = ("cm", "nm")
VIEW = ("fr", "ba", "le", "ri")
QUALITY = ("goo", "med", "bad")


def build(preset: WorldPreset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("hmdb51")
    classes = HMDB_CLASSES[:preset.hmdb_classes]
    folds = {s: {"train": 0, "test": 0} for s in (1, 2, 3)}
    n = preset.hmdb_clips_per_class
    for c, cls in enumerate(classes):
        names = []
        for j in range(n):
            rng = rng_for(seed, "hmdb51", c, j)
            scene = cue_clip(rng, cls, classes, uniform(rng, preset.clip_seconds), preset.fps, preset.size)
            tags = "_".join(str(t[int(rng.integers(len(t)))]) for t in (BODY, CAMERA, ("np1", "np2"), VIEW, QUALITY))
            name = f"{TITLES[j % len(TITLES)]}_{cls.name}_{tags}_{j // len(TITLES)}.avi"
            plan.jobs.append(VideoJob(f"hmdb51/{cls.name}/{name}", scene))
            names.append(name)
        n_test = max(1, round(0.3 * n))
        n_unused = n // 10
        for split in (1, 2, 3):
            order = rng_for(seed, "hmdb51", "split", split, c).permutation(n)
            code = {}
            for rank, idx in enumerate(order):
                code[int(idx)] = 2 if rank < n_test else (0 if rank < n_test + n_unused else 1)
            # Real split files list every clip of the class in name order, with a trailing space.
            lines = [f"{names[i]} {code[i]} \n" for i in sorted(range(n), key=lambda i: names[i])]
            plan.add_text(f"hmdb51/testTrainMulti_7030_splits/{cls.name}_test_split{split}.txt", "".join(lines))
            folds[split]["train"] += sum(1 for v in code.values() if v == 1)
            folds[split]["test"] += sum(1 for v in code.values() if v == 2)
    plan.counts = {"classes": len(classes), "splits": folds[1], "folds": folds}
    return plan
