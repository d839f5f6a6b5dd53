"""UCF101 layout: classInd.txt (1-based), three train/test list pairs split by group, .avi clips."""

from __future__ import annotations

from ..classes import UCF_CLASSES, cue_clip
from ..plan import DatasetPlan, VideoJob, rng_for, uniform
from ..presets import WorldPreset


def test_groups(split: int, groups: int) -> set[int]:
    """Split k tests on the k-th third of the groups (real UCF101: groups 1-7, 8-14, 15-21)."""
    return {g for g in range(1, groups + 1) if (g - 1) * 3 // groups == split - 1}


def build(preset: WorldPreset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("ucf101")
    classes = UCF_CLASSES[:preset.ucf_classes]
    clips: list[tuple[int, int, str]] = []  # (class index, group, relative path)
    for c, cls in enumerate(classes):
        for g in range(1, preset.ucf_groups + 1):
            for k in range(1, preset.ucf_clips_per_group + 1):
                rng = rng_for(seed, "ucf101", c, g, k)
                scene = cue_clip(rng, cls, classes, uniform(rng, preset.clip_seconds), preset.fps, preset.size)
                rel = f"{cls.name}/v_{cls.name}_g{g:02d}_c{k:02d}.avi"
                plan.jobs.append(VideoJob(f"ucf101/UCF-101/{rel}", scene))
                clips.append((c, g, rel))
    lists = "ucf101/ucfTrainTestlist"
    plan.add_text(f"{lists}/classInd.txt", "".join(f"{i + 1} {cls.name}\n" for i, cls in enumerate(classes)))
    folds = {}
    for split in (1, 2, 3):
        tests = test_groups(split, preset.ucf_groups)
        train = [f"{rel} {c + 1}\n" for c, g, rel in clips if g not in tests]
        test = [f"{rel}\n" for c, g, rel in clips if g in tests]
        plan.add_text(f"{lists}/trainlist0{split}.txt", "".join(train))
        plan.add_text(f"{lists}/testlist0{split}.txt", "".join(test))
        folds[split] = {"train": len(train), "test": len(test)}
    plan.counts = {"classes": len(classes), "splits": folds[1], "folds": folds}
    return plan
