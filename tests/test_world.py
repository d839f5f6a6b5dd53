"""The built-in world: layouts, determinism, the narration premise, no label leaks, decodable videos."""

from __future__ import annotations

import csv
import json
import math
import pickle
import re
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from tvts_bench.errors import ConfigError
from tvts_bench.world import PRESETS, generate, is_complete, plan_world
from tvts_bench.world.classes import HMDB_CLASSES, K400_CLASSES, SSV2_CLASSES, SSV2_PAIRS, UCF_CLASSES, \
    ssv2_clip
from tvts_bench.world.formats.yttemporal import story
from tvts_bench.world.motion import compute_tracks
from tvts_bench.world.narration import FILLERS_MID, FILLERS_START, OFF_TOPIC

TINY = PRESETS["tiny"]

DOCUMENTED_FILES = {
    "yttemporal": ["train.csv", "val.csv"],
    "ssv2": ["labels/something-something-v2-train.json", "labels/something-something-v2-validation.json",
             "labels/something-something-v2-labels.json"],
    "k400": ["train.csv", "validate.csv"],
    "ucf101": ["ucfTrainTestlist/classInd.txt"] + [f"ucfTrainTestlist/{k}list0{s}.txt"
                                                   for k in ("train", "test") for s in (1, 2, 3)],
    "hmdb51": [f"testTrainMulti_7030_splits/{c.name}_test_split{s}.txt"
               for c in HMDB_CLASSES[:TINY.hmdb_classes] for s in (1, 2, 3)],
    "msrvtt": ["MSRVTT_data.json", "MSRVTT_train.9k.csv", "MSRVTT_JSFUSION_test.csv"],
    "didemo": ["train_data.json", "val_data.json", "test_data.json"],
    "msvd": ["raw-captions.pkl", "train_list.txt", "val_list.txt", "test_list.txt"],
    "lsmdc": ["LSMDC16_annos_training.csv", "LSMDC16_annos_val.csv", "LSMDC16_challenge_1000_publictect.csv"],
    "webvid": ["results_2M_train.csv", "results_2M_val.csv"],
    "cc3m": ["Train_GCC-training.tsv", "Validation_GCC-1.1.0-Validation.tsv"],
}
VIDEO_EXT = {"yttemporal": {".mp4"}, "ssv2": {".webm"}, "k400": {".mp4"}, "ucf101": {".avi"},
             "hmdb51": {".avi"}, "msrvtt": {".mp4"}, "msvd": {".avi"}, "lsmdc": {".avi"}, "webvid": {".mp4"}, "cc3m": {".jpg"}}


def _annotation_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in (".json", ".csv", ".tsv", ".txt", ".pkl") and p.name != "world.json"}


def _videos(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and p.suffix in (".mp4", ".webm", ".avi", ".mov", ".m4v", ".3gp", ".mkv", ".jpg"))


def _decode(path: Path) -> np.ndarray:
    if path.suffix == ".jpg":
        from PIL import Image

        return np.asarray(Image.open(path).convert("RGB"))[None]
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def _transcripts(root: Path) -> list[str]:
    out = []
    for path in sorted((root / "yttemporal").rglob("annotations/*.json")):
        data = json.loads(path.read_text())
        out.append(" ".join(w["word"] for w in data["subtitles"]))
        out.extend(d["cleanasr"].lower() for d in data["denoised"])
    return out


# -- layout -----------------------------------------------------------------------------------------

def test_world_has_every_documented_file_and_counts(tiny_world: Path) -> None:
    assert is_complete(tiny_world)
    info = json.loads((tiny_world / "world.json").read_text())
    assert info["preset"] == "tiny" and info["seed"] == 0
    for dataset, files in DOCUMENTED_FILES.items():
        for rel in files:
            assert (tiny_world / dataset / rel).is_file(), f"{dataset}/{rel} missing"
    counts = info["counts"]
    assert counts["yttemporal"]["splits"] == {"train": TINY.yt_train, "val": TINY.yt_val}
    assert counts["ssv2"]["splits"] == {"train": 4 * TINY.ssv2_train_per_class,
                                        "validation": 4 * TINY.ssv2_val_per_class}
    assert counts["msrvtt"]["splits"] == {"train": TINY.msrvtt_train, "test": TINY.msrvtt_test}
    # Every video of every dataset is where the plan says, with the dataset's container.
    planned = sorted(job.relpath for plan in plan_world("tiny", 0) for job in plan.jobs)
    assert _videos(tiny_world) == planned
    assert info["videos"] + info["images"] == len(planned)
    assert info["images"] == TINY.cc3m_train + TINY.cc3m_val
    for rel in planned:
        dataset = rel.split("/")[0]
        if dataset in VIDEO_EXT:
            assert Path(rel).suffix in VIDEO_EXT[dataset], rel


def test_formats_follow_the_real_releases(tiny_world: Path) -> None:
    labels = json.loads((tiny_world / "ssv2/labels/something-something-v2-labels.json").read_text())
    assert all(isinstance(v, str) and v.isdigit() for v in labels.values())  # indices are STRINGS
    assert all("[" not in k for k in labels)
    train = json.loads((tiny_world / "ssv2/labels/something-something-v2-train.json").read_text())
    for rec in train:
        assert set(rec) == {"id", "label", "template", "placeholders"}
        assert rec["id"].isdigit()  # numeric ids: a file name says nothing about the class
        assert rec["template"].replace("[", "").replace("]", "") in labels
        assert len(rec["placeholders"]) == rec["template"].count("[something]")
        assert (tiny_world / "ssv2/20bn-something-something-v2" / f"{rec['id']}.webm").is_file()

    with open(tiny_world / "k400/validate.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["label", "youtube_id", "time_start", "time_end", "split"]
    assert {r["split"] for r in rows} == {"validate"}
    r = rows[0]
    assert (tiny_world / "k400/val" / f"{r['youtube_id']}_{int(r['time_start']):06d}_{int(r['time_end']):06d}.mp4").is_file()

    class_ind = (tiny_world / "ucf101/ucfTrainTestlist/classInd.txt").read_text().splitlines()
    assert class_ind[0] == f"1 {UCF_CLASSES[0].name}"
    first = (tiny_world / "ucf101/ucfTrainTestlist/trainlist01.txt").read_text().splitlines()[0]
    assert re.fullmatch(r"([A-Za-z]+)/v_\1_g\d\d_c\d\d\.avi \d+", first)
    test1 = (tiny_world / "ucf101/ucfTrainTestlist/testlist01.txt").read_text().splitlines()
    assert all(" " not in line for line in test1)

    hmdb_lines = [line for p in (tiny_world / "hmdb51/testTrainMulti_7030_splits").glob("*_split1.txt")
                  for line in p.read_text().splitlines()]
    assert {line.split()[1] for line in hmdb_lines} <= {"0", "1", "2"}
    assert any(set("()!") & set(line.split()[0]) for line in hmdb_lines)

    data = json.loads((tiny_world / "msrvtt/MSRVTT_data.json").read_text())
    per_video: dict[str, int] = {}
    for s in data["sentences"]:
        per_video[s["video_id"]] = per_video.get(s["video_id"], 0) + 1
    assert set(per_video.values()) == {TINY.msrvtt_captions}
    assert (tiny_world / "msrvtt/MSRVTT_JSFUSION_test.csv").read_text().startswith("key,vid_key,video_id,sentence\n")

    didemo = [r for s in ("train", "val", "test") for r in json.loads((tiny_world / f"didemo/{s}_data.json").read_text())]
    for rec in didemo:
        assert all(0 <= a <= b < rec["num_segments"] for a, b in rec["times"])  # 5-s chunk indices
        assert (tiny_world / "didemo/videos" / rec["video"]).is_file()
    videos = {r["video"] for r in didemo}
    assert len(didemo) > len(videos)  # several descriptions per video

    captions = pickle.loads((tiny_world / "msvd/raw-captions.pkl").read_bytes())
    assert all(isinstance(toks, list) and all(isinstance(t, str) for t in toks)
               for caps in captions.values() for toks in caps)

    for line in (tiny_world / "lsmdc/LSMDC16_annos_training.csv").read_text().splitlines():
        fields = line.split("\t")
        assert len(fields) == 6
        m = re.fullmatch(r"(.+)_(\d\d\.\d\d\.\d\d\.\d{3})-(\d\d\.\d\d\.\d\d\.\d{3})", fields[0])
        assert m and fields[3] == m.group(2) and fields[4] == m.group(3)
        assert (tiny_world / "lsmdc/avi" / m.group(1) / f"{fields[0]}.avi").is_file()


# -- determinism ------------------------------------------------------------------------------------

def test_same_seed_same_world_through_the_cli(tiny_world: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    result = CliRunner().invoke(_world_cli(), ["generate", "--out", str(out), "--preset", "tiny", "--seed", "0",
                                               "--home", str(tmp_path / "home")])
    assert result.exit_code == 0, result.output
    assert "yttemporal" in result.output and "generated in" in result.output
    assert _annotation_files(out) == _annotation_files(tiny_world)
    assert _videos(out) == _videos(tiny_world)
    for rel in _videos(tiny_world)[::15]:  # decoded frames are the same too
        np.testing.assert_array_equal(_decode(out / rel), _decode(tiny_world / rel))


def test_different_seed_differs() -> None:
    files0 = {k: v for plan in plan_world("tiny", 0) for k, v in plan.files.items()}
    files1 = {k: v for plan in plan_world("tiny", 1) for k, v in plan.files.items()}
    same = [k for k in files0 if files1.get(k) == files0[k]]
    # Only files fixed by the preset's structure can coincide: class lists, UCF101's group-based
    # split lists and MSR-VTT's video0..N train list. Everything with content differs.
    structural = {"ssv2/labels/something-something-v2-labels.json", "msrvtt/MSRVTT_train.9k.csv"} | {
        k for k in files0 if k.startswith("ucf101/ucfTrainTestlist/")}
    assert same and set(same) <= structural


def _world_cli():
    from tvts_bench.world.commands import world

    return world


def test_interrupted_generation_is_never_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tvts_bench.world as world_mod

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(world_mod, "_run_jobs", boom)
    out = tmp_path / "w"
    with pytest.raises(KeyboardInterrupt):
        generate(out, preset="tiny", seed=0, progress=False)
    assert not out.exists() and not is_complete(out)
    assert list(tmp_path.iterdir()) == []  # no partial folder left behind

    # A run killed without cleanup leaves a partial folder; the next run removes it.
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".w.partial-{dead.pid}"
    (stale / "ssv2").mkdir(parents=True)
    # (videos skipped: this checks the folder handling, not the rendering)
    monkeypatch.setattr(world_mod, "_run_jobs", lambda jobs, *a: sum(j.scene.num_frames for j in jobs))
    generate(out, preset="tiny", seed=0, progress=False)
    assert is_complete(out) and not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]
    import shutil

    shutil.rmtree(out)

    (out / "mine").mkdir(parents=True)
    with pytest.raises(ConfigError):  # never overwrite a folder that is not a world
        generate(out, preset="tiny", seed=0, progress=False)
    with pytest.raises(ConfigError):
        generate(tmp_path / "x", preset="huge")


# -- pretraining corpus ----------------------------------------------------------------------------

def test_yttemporal_schema_and_word_times(tiny_world: Path) -> None:
    root = tiny_world / "yttemporal"
    for split in ("train", "val"):
        with open(root / f"{split}.csv", newline="") as f:
            names = [row["Name"] for row in csv.DictReader(f, delimiter="\t")]
        assert names
        for name in names:
            assert re.fullmatch(r"subset_\d+/data/[\w-]{11}\.mp4", name)
            assert (root / name).is_file()
            ann = root / name.replace("/data/", "/annotations/").replace(".mp4", ".json")
            data = json.loads(ann.read_text())
            duration = data["info"]["duration"]
            assert TINY.yt_seconds[0] <= duration <= TINY.yt_seconds[1]
            times = [w["time"] for w in data["subtitles"]]
            assert times == sorted(times) and 0 <= times[0] and times[-1] < duration
            assert all(set(w) == {"word", "time"} and w["word"] == w["word"].lower()
                       and re.fullmatch(r"[a-z]+", w["word"]) for w in data["subtitles"])
            assert all(set(d) >= {"cleanasr", "start", "end"} for d in data["denoised"])
    durations = [story(PRESETS["demo"], 0, k)[0].duration for k in range(40)]  # demo spans 20-60 s
    assert 20 <= min(durations) < 30 and 50 < max(durations) <= 60


def test_narration_follows_event_order_with_asr_noise(tiny_world: Path) -> None:
    fillers = {w for f in FILLERS_START + FILLERS_MID for w in f.split()}
    narrated = missed = off_topic = filler_hits = 0
    preset = PRESETS["demo"]
    for k in range(60):
        scene, utterances = story(preset, 0, k)
        events = [u.event for u in utterances if u.event is not None]
        assert events == sorted(events) and len(set(events)) == len(events)  # in order, once each
        for u in utterances:
            assert list(u.times) == sorted(u.times)
            if u.event is not None:
                ev = scene.events[u.event]
                assert ev.start <= u.times[0] and u.times[-1] <= ev.end  # inside the event's window
            else:
                off_topic += 1
            filler_hits += sum(w in fillers for w in u.words)
        starts = [u.times[0] for u in utterances]
        assert starts == sorted(starts)
        narrated += len(events)
        missed += len(scene.events) - len(events)
    assert narrated > 5 * missed > 0 and off_topic > 0 and filler_hits > 0
    # The files carry exactly these utterances.
    scene, utterances = story(TINY, 0, 0)
    names = (tiny_world / "yttemporal/train.csv").read_text().splitlines()
    data = json.loads((tiny_world / "yttemporal" / names[1].replace("/data/", "/annotations/")
                       .replace(".mp4", ".json")).read_text())
    assert [(w["word"], w["time"]) for w in data["subtitles"]] == [
        (w, t) for u in utterances for w, t in zip(u.words, u.times)]
    assert data["info"]["duration"] == round(scene.duration, 3)


def _class_texts() -> list[str]:
    texts = []
    for cls in SSV2_CLASSES:
        plain = cls.template.replace("[something]", "something").lower()
        texts.append(plain)
        texts += [frag.strip().lower() for frag in cls.template.split("[something]") if len(frag.split()) >= 2]
    texts += [c.name.lower() for c in K400_CLASSES]
    texts += [re.sub(r"(?<!^)(?=[A-Z])", " ", c.name).lower() for c in UCF_CLASSES]
    texts += [c.name.replace("_", " ") for c in HMDB_CLASSES]
    return texts


def test_no_downstream_class_text_in_any_transcript(tiny_world: Path) -> None:
    transcripts = _transcripts(tiny_world)
    # The demo corpus's narration too (cheap: narration needs no rendering).
    for k in range(150):
        _, utterances = story(PRESETS["demo"], 0, k)
        transcripts += [" ".join(u.words) for u in utterances] + [u.clean.lower() for u in utterances]
    ssv2_labels = [r["label"].lower() for r in json.loads(
        (tiny_world / "ssv2/labels/something-something-v2-train.json").read_text())]
    for text in _class_texts() + ssv2_labels:
        pattern = re.compile(rf"\b{re.escape(text)}\b")
        hits = [t for t in transcripts if pattern.search(t)]
        assert not hits, f"class text {text!r} appears in narration: {hits[0]!r}"
    assert any(o in " ".join(transcripts) for o in OFF_TOPIC)  # the check saw real transcripts


def test_retrieval_captions_are_not_narration_sentences(tiny_world: Path) -> None:
    from tvts_bench.world.captions import VERBS
    from tvts_bench.world.narration import PHRASES

    narrator = [p.format(o="X", p="Y", d="left") for options in PHRASES.values() for p in options]
    for options in VERBS.values():
        for verb in options:
            verb = verb.format(p="Y", d="left")
            assert not any(re.search(rf"\b{re.escape(verb)}\b", n) for n in narrator), verb
    transcripts = " | ".join(_transcripts(tiny_world))
    data = json.loads((tiny_world / "msrvtt/MSRVTT_data.json").read_text())
    captions = [s["caption"] for s in data["sentences"]]
    captions += [line.split("\t")[5].rstrip(".").lower()
                 for line in (tiny_world / "lsmdc/LSMDC16_annos_training.csv").read_text().splitlines()]
    assert captions and not [c for c in captions if c in transcripts]


# -- downstream stand-ins ---------------------------------------------------------------------------

def _reverse(tr):
    """The same clip played backwards."""
    return type(tr)(tr.t, *(a[:, ::-1] for a in (tr.x, tr.y, tr.r, tr.angle, tr.alpha)))


def _active_kinds(tr, base) -> list[str]:
    """Per frame, which temporary offset shows (object 0 against its resting state ``base``)."""
    x0, y0, r0 = base
    out = []
    for t in range(tr.x.shape[1]):
        active = [kind for kind, on in (("hop", tr.y[0, t] < y0 - 0.05), ("pulse", tr.r[0, t] > r0 * 1.2),
                                        ("nudge", abs(tr.x[0, t] - x0) > 0.05), ("blink", tr.alpha[0, t] < 0.5))
                  if on]
        assert len(active) <= 1
        out += active
    return [k for n, k in enumerate(out) if n == 0 or out[n - 1] != k]   # runs


def test_ssv2_classes_are_orders_of_the_same_frames_and_pairs_are_reversals() -> None:
    """Every clip shows the same four temporary events, in its class's order; played backwards, a clip
    of one class of a pair is a clip of the other. Neither appearance nor any frame predicts the class."""
    from tvts_bench.world.classes import ORDER_EVENTS

    assert len({c.template for c in SSV2_CLASSES}) == len(SSV2_CLASSES) == math.factorial(len(ORDER_EVENTS))
    for a, b in SSV2_PAIRS:
        for c, partner in ((a, b), (a, b)[::-1]):
            order = SSV2_CLASSES[c].action.split(":")[1].split(",")
            assert order[::-1] == SSV2_CLASSES[partner].action.split(":")[1].split(",")
            assert sorted(order) == sorted(ORDER_EVENTS)
            backgrounds, colours = set(), set()
            for s in range(6):
                scene, names = ssv2_clip(np.random.default_rng(1000 * c + s), SSV2_CLASSES[c], 3.0, 8, 64)
                backgrounds.add(scene.background)
                colours.add(scene.objects[0].colour)
                o = scene.objects[0]
                tr = compute_tracks(scene)
                base = (o.x, o.y, o.radius)
                assert _active_kinds(tr, base) == order, (SSV2_CLASSES[c].template, s)
                assert _active_kinds(_reverse(tr), base) == order[::-1]
                # Back to the resting state at the end: the frames say nothing about which came first.
                after = compute_tracks(scene, [max(e.end for e in scene.events) + 0.01])
                assert np.allclose([after.x[0, 0], after.y[0, 0], after.r[0, 0], after.alpha[0, 0]],
                                   [o.x, o.y, o.radius, 1.0])
                # Frames sampled evenly (8 from the clip) see every event.
                idx = np.linspace(0, tr.x.shape[1] - 1, 8).round().astype(int)
                sampled = type(tr)(tr.t[idx], *(arr[:, idx] for arr in (tr.x, tr.y, tr.r, tr.angle, tr.alpha)))
                assert _active_kinds(sampled, base) == order, (SSV2_CLASSES[c].template, s, "8 frames")
            assert len(backgrounds) >= 3 and len(colours) >= 3  # appearance does not predict the class


def test_tiny_ssv2_has_a_reversal_pair(tiny_world: Path) -> None:
    labels = json.loads((tiny_world / "ssv2/labels/something-something-v2-labels.json").read_text())
    pair = {SSV2_CLASSES[k].template.replace("[something]", "something") for k in SSV2_PAIRS[0]}
    assert pair <= set(labels)


def test_videos_decode_to_the_planned_frames(tiny_world: Path) -> None:
    for plan in plan_world("tiny", 0):
        for job in plan.jobs[:: max(1, len(plan.jobs) // 4)]:
            frames = _decode(tiny_world / job.relpath)
            assert frames.shape == (job.scene.num_frames, TINY.size, TINY.size, 3), job.relpath
            assert frames.std() > 5  # not blank


# -- read back through the readers -----------------------------------------------------------------

def test_every_stand_in_reads_back_with_the_documented_counts(tiny_world: Path) -> None:
    readers = pytest.importorskip("tvts_bench.data.readers")
    info = json.loads((tiny_world / "world.json").read_text())
    for name, counts in info["counts"].items():
        index = readers.read_dataset(name, tiny_world / name)
        videos = {split: {r.path for r in recs} for split, recs in index.splits.items()}
        assert {s: len(v) for s, v in videos.items()} == counts["splits"], name
        assert all(Path(p).is_file() for v in videos.values() for p in v), f"{name}: missing videos"
        if "classes" in counts:
            assert len(index.classes) == counts["classes"], name
    for split in (2, 3):
        for name in ("ucf101", "hmdb51"):
            index = readers.read_dataset(name, tiny_world / name, split=split)
            assert {s: len(v) for s, v in index.splits.items()} == info["counts"][name]["folds"][str(split)]


def _cues_match(cls, scene) -> bool:
    kinds = {e.kind for e in scene.events}
    return ((cls.action is None or cls.action in kinds)
            and (cls.background is None or scene.background == cls.background)
            and (cls.texture is None or all(o.texture == cls.texture for o in scene.objects))
            and (cls.shape is None or all(o.shape == cls.shape for o in scene.objects)))


@pytest.mark.parametrize("dataset", ["k400", "ucf101", "hmdb51"])
def test_each_classification_clip_carries_the_cues_of_exactly_its_class(dataset: str) -> None:
    from tvts_bench.world.classes import cue_clip, k400_clip

    classes = {"k400": K400_CLASSES, "ucf101": UCF_CLASSES, "hmdb51": HMDB_CLASSES}[dataset]
    for c, cls in enumerate(classes):
        for s in range(6):
            rng = np.random.default_rng(100 * c + s)
            scene = (k400_clip(rng, cls, 3.0, 8, 64) if dataset == "k400"
                     else cue_clip(rng, cls, classes, 3.0, 8, 64))
            matching = [k.name for k in classes if _cues_match(k, scene)]
            assert matching == [cls.name], (cls.name, matching, scene.background,
                                            [e.kind for e in scene.events])


@pytest.mark.parametrize("table", [UCF_CLASSES, HMDB_CLASSES], ids=["ucf101", "hmdb51"])
def test_ucf_and_hmdb_classes_are_motion_classes_whose_appearance_is_random(table) -> None:
    from tvts_bench.world.classes import cue_clip

    # Each class is one reserved event kind and nothing else (random features read a reserved background
    # or texture: world version 2's appearance classes gave them 45 % against 10 % chance).
    assert all(c.action and c.background is None and c.texture is None and c.shape is None for c in table)
    assert len({c.action for c in table}) == len(table)
    backgrounds: dict[str, set[str]] = {}
    for c, cls in enumerate(table):
        for s in range(10):
            scene = cue_clip(np.random.default_rng(1000 * c + s), cls, table, 3.0, 8, 64)
            assert len(scene.objects) == 2  # the object count says nothing either
            backgrounds.setdefault(cls.name, set()).add(scene.background)
    assert all(len(b) >= 3 for b in backgrounds.values()), backgrounds


def test_a_covered_object_is_hidden_at_the_end_of_a_cover_clip() -> None:
    from dataclasses import replace

    from tvts_bench.world.render import render

    from tvts_bench.world.classes import Ssv2Class

    cover = Ssv2Class("Covering [something] with [something]", "cover", 2)
    for s in range(4):
        scene, _ = ssv2_clip(np.random.default_rng(s), cover, 2.0, 8, 64)
        without = replace(scene, objects=(scene.objects[0], replace(scene.objects[1], visible=False)),
                          events=tuple(replace(e, changes=tuple(ch for ch in e.changes if ch.obj == 0))
                                       for e in scene.events))
        with_obj, alone = render(scene), render(without)
        assert np.abs(with_obj[0].astype(int) - alone[0].astype(int)).max() > 50  # visible at first
        np.testing.assert_array_equal(with_obj[-1], alone[-1])  # completely hidden at the end


def test_stacked_objects_stay_supported_in_the_pretraining_stories() -> None:
    """After X is put on Y, Y does not move, resize or vanish until X has left it."""
    checked = 0
    for k in range(80):
        scene, _ = story(PRESETS["demo"], 0, k)
        for n, ev in enumerate(scene.events):
            if ev.kind != "stack":
                continue
            top, bottom = ev.actor, ev.other
            for later in scene.events[n + 1:]:
                if any(ch.obj == top and ch.prop in ("x", "y") for ch in later.changes):
                    break  # the top object left
                assert not any(ch.obj == bottom and ch.prop != "angle" for ch in later.changes), (k, later.kind)
            checked += 1
    assert checked >= 5
