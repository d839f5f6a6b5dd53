"""DiDeMo layout: {train,val,test}_data.json with one record per description; moments are 5-second
chunk indices [[start_chunk, end_chunk], ...] from four annotators; video file extensions vary."""

from __future__ import annotations

import json

import numpy as np

from ..captions import describe
from ..plan import DatasetPlan, VideoJob, rng_for
from ..presets import WorldPreset
from ..scenes import sample_story

EXTENSIONS = (".mp4", ".avi", ".mov", ".3gp", ".m4v", ".mp4", ".mov")
CHUNK = 5.0


def _chunks(start: float, end: float, n: int) -> tuple[int, int]:
    return min(int(start // CHUNK), n - 1), min(int(max(start, end - 0.5) // CHUNK), n - 1)


def build(preset: WorldPreset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("didemo")
    sizes = {"train": preset.didemo_train, "val": preset.didemo_val, "test": preset.didemo_test}
    annotation_id = 0
    counts, descriptions = {}, {}
    k = 0
    for split, n in sizes.items():
        records = []
        for _ in range(n):
            rng = rng_for(seed, "didemo", k)
            k += 1
            chunks = int(rng.integers(preset.didemo_chunks[0], preset.didemo_chunks[1] + 1))
            scene = sample_story(rng, chunks * CHUNK, preset.fps, preset.size, lead=(0.3, 1.5))
            user = f"{int(rng.integers(10**7, 10**8))}@N0{int(rng.integers(0, 9))}"
            photo = int(rng.integers(10**9, 10**10))
            ext = EXTENSIONS[int(rng.integers(len(EXTENSIONS)))]
            fname = f"{user}_{photo}_{int(rng.integers(16**9, 16**10)):010x}{ext}"
            plan.jobs.append(VideoJob(f"didemo/videos/{fname}", scene))
            events = list(range(len(scene.events)))
            if len(events) > 4:  # annotators describe a few moments, not all
                events = sorted(int(e) for e in rng.choice(events, 4, replace=False))
            for e in events:
                ev = scene.events[e]
                s, t = _chunks(ev.start, ev.end, chunks)
                times = [[s, t]]
                for _a in range(3):  # other annotators disagree by a chunk now and then
                    js, jt = (int(v) for v in rng.integers(-1, 2, 2) * (rng.random(2) < 0.3))
                    a = int(np.clip(s + js, 0, chunks - 1))
                    times.append([a, int(np.clip(t + jt, a, chunks - 1))])
                records.append({"annotation_id": annotation_id, "description": describe(scene, rng, [e]),
                                "video": fname, "times": times, "num_segments": chunks,
                                "dl_link": f"https://www.flickr.com/video_download.gne?id={photo}"})
                annotation_id += 1
            if not events:  # a still video still gets one description, over the whole video
                records.append({"annotation_id": annotation_id, "description": describe(scene, rng),
                                "video": fname, "times": [[0, chunks - 1]] * 4, "num_segments": chunks,
                                "dl_link": f"https://www.flickr.com/video_download.gne?id={photo}"})
                annotation_id += 1
        plan.add_text(f"didemo/{split}_data.json", json.dumps(records))
        counts[split] = n
        descriptions[split] = len(records)
    plan.counts = {"splits": counts, "descriptions": descriptions}
    return plan
