"""WebVid layout: results_2M_{train,val}.csv (videoid,contentUrl,duration,page_dir,name; name = the
caption, stock-footage style), videos videos/<page_dir>/<videoid>.mp4."""

from __future__ import annotations

import csv
import io

from ..captions import stock_title
from ..plan import DatasetPlan, VideoJob, rng_for, uniform
from ..presets import WorldPreset
from ..scenes import sample_story


def build(preset: WorldPreset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("webvid")
    sizes = {"train": preset.webvid_train, "val": preset.webvid_val}
    ids = iter(int(i) + 1_000_000 for i in rng_for(seed, "webvid", "ids").choice(30_000_000, sum(sizes.values()),
                                                                                 replace=False))
    k = 0
    for split, n in sizes.items():
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["videoid", "contentUrl", "duration", "page_dir", "name"])
        for _ in range(n):
            rng = rng_for(seed, "webvid", k)
            k += 1
            duration = uniform(rng, preset.retrieval_seconds)
            scene = sample_story(rng, duration, preset.fps, preset.size, lead=(0.2, 0.8))
            vid = next(ids)
            page = f"{(vid // 50) * 50 % 1_000_000 + 1:06d}_{(vid // 50) * 50 % 1_000_000 + 50:06d}"
            plan.jobs.append(VideoJob(f"webvid/videos/{page}/{vid}.mp4", scene))
            url = f"https://ak.picdn.net/shutterstock/videos/{vid}/preview/stock-footage-{vid}.mp4"
            writer.writerow([vid, url, f"PT00H00M{int(round(duration)):02d}S", page, stock_title(scene, rng)])
        plan.add_text(f"webvid/results_2M_{split}.csv", buf.getvalue())
    plan.counts = {"splits": dict(sizes)}
    return plan
