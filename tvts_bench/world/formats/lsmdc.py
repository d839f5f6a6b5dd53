"""LSMDC layout: tab-separated, no header, six fields (clip id, aligned start/end, extracted start/end,
sentence); clip ids are <movie>_<HH.MM.SS.mmm>-<HH.MM.SS.mmm>; videos avi/<movie>/<clip id>.avi.
Movies do not cross splits, as in the real release."""

from __future__ import annotations

from ..captions import describe
from ..plan import DatasetPlan, VideoJob, rng_for, uniform
from ..presets import WorldPreset
from ..scenes import sample_story

FILES = {"train": "LSMDC16_annos_training.csv", "val": "LSMDC16_annos_val.csv",
         "test": "LSMDC16_challenge_1000_publictect.csv"}
MOVIE_WORDS = ("Shapes", "Of", "Spring", "Red", "Square", "Night", "Circle", "Journey", "Little", "Ring",
               "The", "Return", "Bricks", "Snow", "Diamond", "Story")
CLIPS_PER_MOVIE = 12


def stamp(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}.{m:02d}.{s:02d}.{ms:03d}"


def build(preset: WorldPreset, seed: int) -> DatasetPlan:
    plan = DatasetPlan("lsmdc")
    sizes = {"train": preset.lsmdc_train, "val": preset.lsmdc_val, "test": preset.lsmdc_test}
    movie_no, k = 0, 0
    for split, n in sizes.items():
        lines = []
        clock, movie = 0.0, ""
        for j in range(n):
            rng = rng_for(seed, "lsmdc", k)
            k += 1
            if j % CLIPS_PER_MOVIE == 0:  # next movie
                movie_no += 1
                name_rng = rng_for(seed, "lsmdc", "movie", movie_no)
                words = [MOVIE_WORDS[int(i)] for i in name_rng.choice(len(MOVIE_WORDS), 3, replace=False)]
                movie = f"{movie_no:04d}_{'_'.join(words)}"
                clock = float(name_rng.uniform(30, 120))
            duration = uniform(rng, preset.retrieval_seconds)
            scene = sample_story(rng, duration, preset.fps, preset.size, lead=(0.2, 0.8))
            start = clock + float(rng.uniform(2, 40))
            end = start + duration
            clock = end
            clip_id = f"{movie}_{stamp(start)}-{stamp(end)}"
            # Aligned times differ slightly from the extracted clip boundaries, as in the release.
            a0, a1 = start + float(rng.uniform(0, 0.3)), end - float(rng.uniform(0, 0.3))
            text = describe(scene, rng)
            sentence = text[:1].upper() + text[1:] + "."
            lines.append(f"{clip_id}\t{stamp(a0)}\t{stamp(a1)}\t{stamp(start)}\t{stamp(end)}\t{sentence}\n")
            plan.jobs.append(VideoJob(f"lsmdc/avi/{movie}/{clip_id}.avi", scene))
        plan.add_text(f"lsmdc/{FILES[split]}", "".join(lines))
    plan.counts = {"splits": dict(sizes)}
    return plan
