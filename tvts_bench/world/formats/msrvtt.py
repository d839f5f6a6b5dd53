"""MSR-VTT layout: MSRVTT_data.json (videos + sentences), the 9k train CSV and the JSFUSION 1k-A-style
test CSV (one sentence per test video), videos/all/video<N>.mp4."""

from __future__ import annotations

import json

from ..captions import paraphrases
from ..plan import DatasetPlan, VideoJob, rng_for, uniform, youtube_id
from ..presets import WorldPreset
from ..scenes import sample_story


def build(preset: WorldPreset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("msrvtt")
    n = preset.msrvtt_train + preset.msrvtt_test
    videos, sentences, train_ids, test_rows = [], [], [], []
    sen_id = 0
    for k in range(n):
        rng = rng_for(seed, "msrvtt", k)
        duration = uniform(rng, preset.retrieval_seconds)
        scene = sample_story(rng, duration, preset.fps, preset.size, lead=(0.2, 0.8))
        vid = f"video{k}"
        split = "train" if k < preset.msrvtt_train else "test"
        start = round(float(rng.uniform(0, 200)), 2)
        videos.append({"category": int(rng.integers(20)), "url": f"https://www.youtube.com/watch?v={youtube_id(rng)}",
                       "video_id": vid, "start time": start, "end time": round(start + duration, 2),
                       "split": split, "id": k})
        caps = paraphrases(scene, rng, preset.msrvtt_captions)
        for cap in caps:
            sentences.append({"caption": cap, "video_id": vid, "sen_id": sen_id})
            sen_id += 1
        plan.jobs.append(VideoJob(f"msrvtt/videos/all/{vid}.mp4", scene))
        if split == "train":
            train_ids.append(vid)
        else:
            test_rows.append((vid, caps[int(rng.integers(len(caps)))]))
    plan.add_text("msrvtt/MSRVTT_data.json", json.dumps({"info": {"contributor": "tvts-bench world"},
                                                         "videos": videos, "sentences": sentences}))
    plan.add_text("msrvtt/MSRVTT_train.9k.csv", "video_id\n" + "".join(v + "\n" for v in train_ids))
    plan.add_text("msrvtt/MSRVTT_JSFUSION_test.csv", "key,vid_key,video_id,sentence\n" + "".join(
        f"ret{i},msr{vid[5:]},{vid},{sent}\n" for i, (vid, sent) in enumerate(test_rows)))
    plan.counts = {"splits": {"train": len(train_ids), "test": len(test_rows)}, "captions": len(sentences)}
    return plan
