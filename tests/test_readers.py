"""Readers against tiny real-format fixtures (tests/fixtures/datasets/), one per variant/gotcha."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from tvts_bench.data.readers import READERS, read_dataset
from tvts_bench.errors import ConfigError, DataFormatError, MissingPathError

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"


def rel(record, root: Path) -> str:
    return record.path.relative_to(root.resolve()).as_posix()


def copy_fixture(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(FIXTURES / name, dst)
    return dst


def test_registry_has_all_eleven_datasets():
    from tvts_bench.data.readers import dataset_names

    assert set(READERS) == set(dataset_names()) == {
        "ssv2", "k400", "ucf101", "hmdb51", "msrvtt", "didemo", "msvd", "lsmdc", "yttemporal", "webvid", "cc3m"}


# ---------------------------------------------------------------------------------------------- SSV2

def test_ssv2_official_json_string_indices_and_templates():
    root = FIXTURES / "ssv2"
    idx = read_dataset("ssv2", root)
    assert idx.classes == ["Holding something next to something", "Pushing something from left to right",
                           "Pushing something from right to left"]
    assert list(idx.splits) == ["train", "validation"]
    train = {r.video_id: r for r in idx.splits["train"]}
    assert {k: r.label for k, r in train.items()} == {"1": 0, "2": 1, "3": 2, "4": 1}
    assert train["3"].label_name == "Pushing something from right to left"
    assert rel(train["1"], root) == "20bn-something-something-v2/1.webm"
    assert all(r.path.is_absolute() for r in idx.splits["validation"])
    assert [r.video_id for r in idx.splits["validation"]] == ["5", "6"]
    assert [p.name for p in idx.annotation_files][0] == "something-something-v2-labels.json"


def test_ssv2_derived_lists_in_root_and_videos_folder():
    root = FIXTURES / "ssv2_lists"
    idx = read_dataset("ssv2", root)
    assert [(r.video_id, r.label) for r in idx.splits["train"]] == [("10", 0), ("11", 2), ("12", 1)]
    assert [(r.video_id, r.label_name) for r in idx.splits["validation"]] == [
        ("13", "Pushing something from left to right")]
    assert rel(idx.splits["train"][0], root) == "videos/10.webm"


def test_ssv2_test_json_without_labels_and_unknown_template(tmp_path):
    root = copy_fixture("ssv2", tmp_path)
    (root / "labels/something-something-v2-test.json").write_text(json.dumps([{"id": "99"}]))
    idx = read_dataset("ssv2", root)
    assert [(r.video_id, r.label) for r in idx.splits["test"]] == [("99", None)]
    bad = root / "labels/something-something-v2-train.json"
    data = json.loads(bad.read_text())
    data[2]["template"] = "Spinning [something]"
    bad.write_text(json.dumps(data))
    with pytest.raises(DataFormatError) as e:
        read_dataset("ssv2", root)
    assert e.value.path == bad and "[2] (id 3)" in str(e.value) and "Spinning" in str(e.value)


# ---------------------------------------------------------------------------------------- Kinetics

def test_k400_builtin_layout_class_folders_train_flat_val():
    root = FIXTURES / "k400"
    idx = read_dataset("k400", root)
    assert idx.classes == ["abseiling", "air drumming", "zumba"]      # alphabetical, not file order
    assert list(idx.splits) == ["train", "val"]
    train = idx.splits["train"]
    assert [(r.video_id, r.label) for r in train] == [
        ("ccc333_000012_000022", 2), ("aaa111_000000_000010", 0), ("bbb222_000005_000015", 1)]
    assert rel(train[2], root) == "train/air drumming/bbb222_000005_000015.mp4"
    val = idx.splits["val"]
    assert [rel(r, root) for r in val] == ["val/ddd444_000001_000011.mp4", "val/eee555_000003_000013.mp4"]
    assert val[1].label_name == "zumba" and not val[1].path.exists()


def test_k400_is_cc_val_csv_flat_videos_in_annotations_folder():
    root = FIXTURES / "k400_flat"
    idx = read_dataset("k400", root)
    assert idx.classes == ["abseiling", "air drumming", "zumba"]
    assert [(r.video_id, r.label) for r in idx.splits["train"]] == [
        ("aaa111_000000_000010", 0), ("bbb222_000005_000015", 1)]
    assert [rel(r, root) for r in idx.splits["val"]] == ["videos/eee555_000003_000013.mp4"]
    assert all(r.path.exists() for recs in idx.splits.values() for r in recs)


def test_k400_class_folders_with_underscores(tmp_path):
    root = copy_fixture("k400", tmp_path)
    (root / "train" / "air drumming").rename(root / "train" / "air_drumming")
    rec = read_dataset("k400", root).splits["train"][2]
    assert rel(rec, root) == "train/air_drumming/bbb222_000005_000015.mp4" and rec.path.exists()
    assert rec.label_name == "air drumming"


# ------------------------------------------------------------------------------------------ UCF101

def test_ucf101_split1_labels_case_mismatch_and_test_labels_from_folder():
    root = FIXTURES / "ucf101"
    idx = read_dataset("ucf101", root)
    assert idx.classes == ["ApplyEyeMakeup", "HandstandPushups", "YoYo"]
    train = idx.splits["train"]
    assert [r.label for r in train] == [0, 1, 2]
    # the list says v_HandstandPushups_..., the disk holds v_HandStandPushups_...: matched anyway
    assert rel(train[1], root) == "UCF-101/HandstandPushups/v_HandStandPushups_g08_c01.avi"
    assert train[1].path.exists()
    test = idx.splits["test"]
    assert [(r.label, r.label_name) for r in test] == [(0, "ApplyEyeMakeup"), (1, "HandstandPushups"),
                                                        (2, "YoYo")]
    assert [r.path.exists() for r in test] == [True, True, False]


def test_ucf101_split_option():
    idx = read_dataset("ucf101", FIXTURES / "ucf101", split=2)
    assert len(idx.splits["train"]) == 2 and len(idx.splits["test"]) == 3
    assert idx.splits["test"][1].video_id == "v_HandstandPushups_g08_c01"
    with pytest.raises(ConfigError):
        read_dataset("ucf101", FIXTURES / "ucf101", split=4)


def test_ucf101_label_disagreeing_with_folder(tmp_path):
    root = copy_fixture("ucf101", tmp_path)
    lst = root / "ucfTrainTestlist/trainlist01.txt"
    lst.write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\nYoYo/v_YoYo_g08_c01.avi 1\n")
    with pytest.raises(DataFormatError) as e:
        read_dataset("ucf101", root)
    assert e.value.path == lst and e.value.line == 2


# ------------------------------------------------------------------------------------------ HMDB51

def test_hmdb51_codes_sorted_classes_and_special_names():
    root = FIXTURES / "hmdb51"
    idx = read_dataset("hmdb51", root)
    assert idx.classes == ["brush_hair", "cartwheel"]
    assert [(r.video_id, r.label) for r in idx.splits["train"]] == [
        ("April_09_brush_hair_u_nm_np1_ba_goo_0", 0), ("(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0", 1)]
    assert [r.video_id for r in idx.splits["test"]] == [
        "Blonde_being_brushed_brush_hair_f_cm_np2_ri_med_0", "#122_Cartwheel_cartwheel_f_cm_np1_ri_med_0"]
    assert all(r.path.exists() for recs in idx.splits.values() for r in recs)
    assert rel(idx.splits["train"][1], root) == "cartwheel/(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi"
    idx2 = read_dataset("hmdb51", root, split=2)            # code 0 in split 2 drops (Rad)Schlag...
    assert len(idx2.splits["train"]) == 3 and len(idx2.splits["test"]) == 1


def test_hmdb51_bad_code(tmp_path):
    root = copy_fixture("hmdb51", tmp_path)
    f = root / "testTrainMulti_7030_splits/cartwheel_test_split1.txt"
    f.write_text("a.avi 1\nb.avi 3\n")
    with pytest.raises(DataFormatError) as e:
        read_dataset("hmdb51", root)
    assert e.value.path == f and e.value.line == 2 and "0 (unused), 1 (train) or 2 (test)" in str(e.value)


# ------------------------------------------------------------------------------------------ MSR-VTT

def test_msrvtt_9k_train_all_captions_and_jsfusion_test():
    root = FIXTURES / "msrvtt"
    idx = read_dataset("msrvtt", root)
    assert idx.classes == []
    train = {r.video_id: r for r in idx.splits["train"]}
    assert list(train) == ["video0", "video1", "video2"]
    assert train["video0"].captions == ("a man is cooking", "someone cooks food", "a chef in a kitchen")
    assert rel(train["video1"], root) == "videos/all/video1.mp4"
    test = idx.splits["test"]
    assert [(r.video_id, r.captions) for r in test] == [("video3", ("a woman, singing",)),
                                                       ("video4", ("a dog runs in a park",))]


def test_msrvtt_videodatainfo_variant_videos_in_root():
    root = FIXTURES / "msrvtt_vdi"
    idx = read_dataset("msrvtt", root)
    assert [(r.video_id, r.captions) for r in idx.splits["train"]] == [
        ("video0", ("a man is cooking",)), ("video1", ("a cat plays",))]
    assert [rel(r, root) for r in idx.splits["test"]] == ["video7010.mp4"]


def test_msrvtt_without_csvs_uses_json_splits(tmp_path):
    root = copy_fixture("msrvtt_vdi", tmp_path)
    for name in ("MSRVTT_train.9k.csv", "MSRVTT_JSFUSION_test.csv"):
        (root / name).unlink()
    idx = read_dataset("msrvtt", root)
    assert {s: [r.video_id for r in recs] for s, recs in idx.splits.items()} == {
        "train": ["video0"], "val": ["video1"], "test": ["video7010"]}
    assert idx.splits["test"][0].captions == ("a woman sings", "singing on stage")


def test_msrvtt_train_video_without_captions(tmp_path):
    root = copy_fixture("msrvtt_vdi", tmp_path)
    (root / "test_videodatainfo.json").unlink()
    csv = root / "MSRVTT_train.9k.csv"
    csv.write_text("video_id\nvideo0\nvideo7010\n")
    with pytest.raises(DataFormatError) as e:
        read_dataset("msrvtt", root)
    assert e.value.path == csv and e.value.line == 3 and "test_videodatainfo.json" in str(e.value)


# ------------------------------------------------------------------------------------------- DiDeMo

def test_didemo_grouped_descriptions_moments_and_extensions():
    root = FIXTURES / "didemo"
    idx = read_dataset("didemo", root)
    train = idx.splits["train"]
    assert [r.video_id for r in train] == ["11@N00_1_a.mov", "22@N01_2_b.avi"]
    assert train[0].captions == ("a dog runs in", "the dog stops")
    # consensus of the annotators' chunk pairs, [5 s, 5 (e + 1)]
    assert train[0].moments == ((0.0, 5.0), (10.0, 20.0))
    assert train[1].moments == ((25.0, 30.0),)
    assert idx.splits["val"][0].moments == ((5.0, 15.0),)       # tie -> first given
    test = idx.splits["test"]
    assert rel(test[0], root) == "videos/44@N03_4_d.mp4"           # listed .3gp, stored .mp4
    assert rel(test[1], root) == "videos/55@N04_5_e.m4v" and not test[1].path.exists()


def test_didemo_bad_times(tmp_path):
    root = copy_fixture("didemo", tmp_path)
    f = root / "val_data.json"
    f.write_text(json.dumps([{"video": "x.mp4", "description": "d", "times": [[3, 6]]}]))
    with pytest.raises(DataFormatError) as e:
        read_dataset("didemo", root)
    assert e.value.path == f and e.value.key == "[0]"


# --------------------------------------------------------------------------------------------- MSVD

def test_msvd_token_lists_joined():
    root = FIXTURES / "msvd"
    idx = read_dataset("msvd", root)
    assert [r.video_id for r in idx.splits["train"]] == ["-4wsuPCjDBc_5_15", "-7KMZQEsJW4_205_208"]
    assert idx.splits["train"][0].captions == ("a man plays a guitar", "someone plays music")
    assert rel(idx.splits["val"][0], root) == "YouTubeClips/-8y1Q0rA3n8_108_115.avi"
    assert not idx.splits["test"][0].path.exists()


class _Payload:
    """Unpickling this with the standard pickle module creates ``target``."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_msvd_malicious_pickle_is_refused_without_executing(tmp_path):
    root = copy_fixture("msvd", tmp_path)
    target = tmp_path / "pwned.txt"
    payload = pickle.dumps({"-4wsuPCjDBc_5_15": [["a"]], "evil": _Payload(str(target))})
    # the payload is real: the ordinary unpickler would create the file
    control = tmp_path / "control.txt"
    pickle.loads(pickle.dumps(_Payload(str(control)))).close()
    assert control.exists()
    (root / "raw-captions.pkl").write_bytes(payload)
    with pytest.raises(DataFormatError) as e:
        read_dataset("msvd", root)
    assert not target.exists()
    assert e.value.path == root / "raw-captions.pkl"
    assert "refused to unpickle" in str(e.value) and "io.open" in str(e.value)


def test_msvd_pickle_wrong_shape_and_corrupt(tmp_path):
    root = copy_fixture("msvd", tmp_path)
    pkl = root / "raw-captions.pkl"
    pkl.write_bytes(pickle.dumps({"-4wsuPCjDBc_5_15": [[1, 2]]}))
    with pytest.raises(DataFormatError, match="token"):
        read_dataset("msvd", root)
    pkl.write_bytes(pickle.dumps({"a": [["x"]]})[:-3])
    with pytest.raises(DataFormatError, match="not a readable pickle"):
        read_dataset("msvd", root)


# -------------------------------------------------------------------------------------------- LSMDC

def test_lsmdc_no_header_movie_folders_and_sentence():
    root = FIXTURES / "lsmdc"
    idx = read_dataset("lsmdc", root)
    train = idx.splits["train"]
    assert train[0].video_id == "0001_American_Beauty_00.00.51.926-00.00.54.094"
    assert rel(train[0], root) == ("avi/0001_American_Beauty/"
                                   "0001_American_Beauty_00.00.51.926-00.00.54.094.avi")
    assert train[0].captions == ('SOMEONE looks at a "photo".',)
    assert train[0].duration == pytest.approx(2.168)
    assert train[1].captions == ("He smiles.",)                    # trailing tab tolerated
    assert idx.splits["val"][0].captions == ("She runs, fast.",)
    assert rel(idx.splits["test"][0], root).startswith("avi/3001_21_JUMP_STREET/")


def test_lsmdc_wrong_field_count_and_clip_without_stamps(tmp_path):
    root = copy_fixture("lsmdc", tmp_path)
    f = root / "LSMDC16_annos_val.csv"
    f.write_text("1004_Juno_01.02.03.004-01.02.13.004\ta\tb\tc\tShe runs.\n")
    with pytest.raises(DataFormatError) as e:
        read_dataset("lsmdc", root)
    assert e.value.path == f and e.value.line == 1 and "6" in str(e.value)
    f.write_text("\n1004_Juno\ta\tb\tc\td\tShe runs.\n")
    with pytest.raises(DataFormatError) as e:
        read_dataset("lsmdc", root)
    assert e.value.line == 2 and "time stamps" in str(e.value)


# --------------------------------------------------------------------------------------- YT-Temporal

def test_yttemporal_words_duration_and_denoised():
    root = FIXTURES / "yttemporal"
    idx = read_dataset("yttemporal", root)
    train = idx.splits["train"]
    assert [r.video_id for r in train] == ["abcDEF12345", "xyz_-098765"]
    assert train[0].words == (("so", 0.0), ("the", 1.2), ("red", 1.5), ("cube", 1.9))
    assert train[0].duration == 31.5 and train[0].captions == ("so the red cube",)
    assert train[1].words == (("falls", 3.0), ("down", 3.4))
    assert rel(train[1], root) == "subset_1/data/xyz_-098765.mp4"
    val = idx.splits["val"][0]
    assert val.words == () and not val.path.exists()
    assert sum(p.suffix == ".json" for p in idx.annotation_files) == 2
    fast = read_dataset("yttemporal", root, load_annotations=False)
    assert fast.splits["train"][0].words == () and len(fast.annotation_files) == 2


def _yt_root(tmp_path: Path, annotations: dict[str, dict]) -> Path:
    root = tmp_path / "yt"
    (root / "subset_0" / "annotations").mkdir(parents=True)
    (root / "train.csv").write_text("Name\n" + "".join(f"subset_0/data/{v}.mp4\n" for v in annotations))
    for vid, data in annotations.items():
        (root / "subset_0" / "annotations" / f"{vid}.json").write_text(json.dumps(data))
    return root


def test_yttemporal_transcripts_use_denoised_words_at_dtw_aligned_subtitle_times(tmp_path):
    from tvts_bench.data.readers.yttemporal import transcript_source, transcript_words

    subtitles = [("so", 0.0), ("um", 0.4), ("the", 0.8), ("read", 1.2), ("cube", 1.6), ("&gt;&gt;", 1.8),
                 ("falls", 2.0)]
    root = _yt_root(tmp_path, {
        "both": {"info": {"duration": 10}, "subtitles": [{"word": w, "time": t} for w, t in subtitles],
                 # the segment times are NOT used: words take the times of the subtitle words they align to
                 "denoised": [{"cleanasr": "So the red cube.", "start": 5.0, "end": 9.0},
                              {"cleanasr": "Falls down.", "start": 9.0, "end": 9.5}]},
        "subs_only": {"info": {"duration": 10}, "subtitles": [{"word": "falls", "time": 3},
                                                              {"word": "&amp;", "time": 3.2},
                                                              {"word": "down", "time": 3.4}]},
        "empty_denoised": {"subtitles": [{"word": "hi", "time": 1}], "denoised": [{"cleanasr": "  "}]},
    })
    both, subs_only, empty = read_dataset("yttemporal", root).records("train")
    assert both.words == tuple(subtitles)                          # the record keeps the raw subtitles
    assert both.captions == ("So the red cube.", "Falls down.")
    words, source = transcript_words(both)
    assert source == "denoised" == transcript_source(both)
    # "um" gets no word, the mis-heard "read" gives its time to "red", the entity fragment is dropped,
    # and "down." (no subtitle counterpart) shares the time of the last subtitle word
    assert words == (("So", 0.0), ("the", 0.8), ("red", 1.2), ("cube.", 1.6), ("Falls", 2.0), ("down.", 2.0))
    assert transcript_words(both, "denoised") == (words, "denoised")
    assert transcript_words(both, "subtitles") == ((("so", 0.0), ("um", 0.4), ("the", 0.8), ("read", 1.2),
                                                    ("cube", 1.6), ("falls", 2.0)), "subtitles")
    assert transcript_source(both, "subtitles") == "subtitles"
    # only subtitles: the raw words (entity fragments dropped); forcing denoised gives none
    assert transcript_words(subs_only) == ((("falls", 3.0), ("down", 3.4)), "subtitles")
    assert transcript_source(subs_only) == "subtitles"
    assert transcript_words(subs_only, "denoised") == ((), "none")
    assert transcript_source(subs_only, "denoised") == "none"
    # a denoised list with only blank sentences counts as absent
    assert transcript_words(empty) == ((("hi", 1.0),), "subtitles") and transcript_source(empty) == "subtitles"
    with pytest.raises(ConfigError):
        transcript_words(both, "clean")


def test_yttemporal_dtw_alignment_follows_the_authors_rules():
    import numpy as np

    from tvts_bench.data.readers.yttemporal import align_denoised, dtw_path, edit_distance

    assert edit_distance("kitten", "sitting") == 3 and edit_distance("", "abc") == 3
    assert dtw_path(np.zeros((2, 2))) == [(0, 0), (1, 1)]           # ties: the diagonal first
    assert dtw_path(np.zeros((1, 3))) == [(0, 0), (0, 1), (0, 2)]
    assert dtw_path(np.array([[0, 0, 9], [9, 9, 0]], dtype=float)) == [(0, 0), (0, 1), (1, 2)]
    assert dtw_path(np.array([[0, 9], [0, 9], [9, 0]], dtype=float)) == [(0, 0), (1, 0), (2, 1)]
    # a denoised word is given to the FIRST subtitle word it is paired with: after the merged
    # "pancakewaffle", "person" is paired with both "waffle" and "person" and takes waffle's time
    subs = [("much", 0.0), ("of", 0.5), ("a", 1.0), ("pancake", 1.5), ("waffle", 2.0), ("person", 2.5)]
    assert align_denoised(subs, ["much of a pancakewaffle person"]) == (
        ("much", 0.0), ("of", 0.5), ("a", 1.0), ("pancakewaffle", 1.5), ("person", 2.0))
    # a denoised text running far past the subtitles is cut at n + max(0.1 n, 32) words
    long = align_denoised([("go", 0.0)], ["go " * 100])
    assert len(long) == 1 + 32 and {t for _, t in long} == {0.0}
    assert align_denoised([], ["a b"]) == () and align_denoised([("a", 0.0)], []) == ()


def test_yttemporal_vectorised_edit_distances_match_the_plain_one():
    import random

    import numpy as np

    from tvts_bench.data.readers.yttemporal import edit_distance, pair_edit_distances

    rng = random.Random(0)
    a = ["".join(rng.choice("abcé") for _ in range(rng.randint(0, 9))) for _ in range(40)] + ["x" * 30, ""]
    b = ["".join(rng.choice("abcd") for _ in range(rng.randint(0, 9))) for _ in range(30)] + ["ab" * 20]
    ia, ib = np.repeat(np.arange(len(a)), len(b)), np.tile(np.arange(len(b)), len(a))
    got = pair_edit_distances(a, b, ia, ib)
    assert got.tolist() == [edit_distance(a[i], b[j]) for i, j in zip(ia, ib)]


# ------------------------------------------------------------------------------------ WebVid / CC3M

def test_webvid_captions_iso_durations_page_dirs():
    root = FIXTURES / "webvid"
    idx = read_dataset("webvid", root)
    train = idx.splits["train"]
    assert [(r.video_id, r.captions, r.duration) for r in train] == [
        ("31353427", ("Cows grazing, aerial view",), 11.0), ("14781349", ("Waves on a beach",), 62.0)]
    assert rel(train[0], root) == "videos/006001_006050/31353427.mp4"
    assert idx.splits["val"][0].duration == 12.5


def test_cc3m_caption_only():
    root = FIXTURES / "cc3m"
    idx = read_dataset("cc3m", root)
    train = idx.splits["train"]
    assert train[0].captions == ("a very typical bus station",)
    assert train[0].video_id == "http://lh6.example.com/-a/b/bus-station.jpg"
    assert rel(train[0], root) == "images/bus-station.jpg"
    assert train[1].captions[0].endswith('"performing"')
    assert rel(idx.splits["val"][0], root) == "images/img_one.png"


# ----------------------------------------------------------------------------------- path safety etc

@pytest.mark.parametrize("name", ["../outside.mp4", "subset_0/../../outside.mp4", "/etc/passwd",
                                  "C:\\videos\\a.mp4"])
def test_paths_escaping_the_root_are_refused(tmp_path, name):
    root = copy_fixture("yttemporal", tmp_path)
    csv = root / "train.csv"
    csv.write_text(f"Name\tNumWords\nsubset_0/data/abcDEF12345.mp4\t4\n{name}\t1\n")
    with pytest.raises(DataFormatError) as e:
        read_dataset("yttemporal", root)
    assert e.value.path == csv and e.value.line == 3 and "refused" in str(e.value)


def test_symlink_leaving_the_root_is_followed_by_default(tmp_path, monkeypatch):
    # Users link big video folders from other disks into a dataset root: that must work.
    monkeypatch.delenv("TVTS_BENCH_STRICT_SYMLINKS", raising=False)
    root = copy_fixture("ucf101", tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "v_YoYo_g01_c01.avi").write_bytes(b"")
    (root / "UCF-101/YoYo/v_YoYo_g01_c01.avi").symlink_to(outside / "v_YoYo_g01_c01.avi")
    rec = read_dataset("ucf101", root).splits["test"][2]
    assert rec.path.name == "v_YoYo_g01_c01.avi" and rec.path.exists()


def test_symlink_escaping_the_root_is_refused_in_strict_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("TVTS_BENCH_STRICT_SYMLINKS", "1")
    root = copy_fixture("ucf101", tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "v_YoYo_g01_c01.avi").write_bytes(b"")
    (root / "UCF-101/YoYo/v_YoYo_g01_c01.avi").symlink_to(outside / "v_YoYo_g01_c01.avi")
    with pytest.raises(DataFormatError) as e:
        read_dataset("ucf101", root)
    assert e.value.path.name == "testlist01.txt" and e.value.line == 3
    assert "outside the dataset root" in str(e.value)
    # a folder symlink escaping the root is refused too
    (root / "UCF-101/YoYo/v_YoYo_g01_c01.avi").unlink()
    shutil.rmtree(root / "UCF-101/ApplyEyeMakeup")
    (root / "UCF-101/ApplyEyeMakeup").symlink_to(outside, target_is_directory=True)
    with pytest.raises(DataFormatError, match="outside the dataset root"):
        read_dataset("ucf101", root)


def test_symlink_inside_the_root_is_fine(tmp_path):
    root = copy_fixture("ucf101", tmp_path)
    link = root / "UCF-101/YoYo/v_YoYo_g01_c01.avi"
    link.symlink_to(root / "UCF-101/YoYo/v_YoYo_g08_c01.avi")
    rec = read_dataset("ucf101", root).splits["test"][2]
    assert rec.path == link.resolve().parent / "v_YoYo_g01_c01.avi" and rec.path.exists()


def test_root_through_a_symlink_is_fine(tmp_path):
    link = tmp_path / "data"
    link.symlink_to(FIXTURES / "k400", target_is_directory=True)
    idx = read_dataset("k400", link)
    assert idx.root == (FIXTURES / "k400").resolve() and len(idx.splits["train"]) == 3


def test_missing_root_unknown_dataset_unknown_option(tmp_path):
    with pytest.raises(MissingPathError, match="dataset root"):
        read_dataset("ssv2", tmp_path / "nope")
    with pytest.raises(ConfigError, match="unknown dataset"):
        read_dataset("kinetics", FIXTURES / "k400")
    with pytest.raises(ConfigError, match="no option 'split'"):
        read_dataset("k400", FIXTURES / "k400", split=1)
    with pytest.raises(MissingPathError, match="classInd"):
        read_dataset("ucf101", tmp_path)


def test_invalid_utf8_names_file_and_line(tmp_path):
    root = copy_fixture("msvd", tmp_path)
    f = root / "val_list.txt"
    f.write_bytes(b"ok\n\xff\xfe\n")
    with pytest.raises(DataFormatError) as e:
        read_dataset("msvd", root)
    assert e.value.path == f and e.value.line == 2


def test_builtin_world_reads_with_default_options(request):
    """The world writes every stand-in in the real layout; each reads back with default options,
    with the counts world.json documents and nothing missing."""
    world = pytest.importorskip("tvts_bench.world")
    if not hasattr(world, "generate"):
        pytest.skip("the built-in world generator is not in this build yet")
    tiny_world = request.getfixturevalue("tiny_world")
    from tvts_bench.data.manifest import build_manifest

    counts = json.loads((tiny_world / "world.json").read_text())["counts"]
    assert counts, "world.json lists no datasets"
    for name, documented in counts.items():
        idx = read_dataset(name, tiny_world / name)
        manifest = build_manifest(idx)
        assert {s: m.listed for s, m in manifest.splits.items()} == documented["splits"], name
        assert manifest.missing == 0, (name, {s: m.missing_videos for s, m in manifest.splits.items()})
        if "classes" in documented:
            assert manifest.classes == documented["classes"], name
    yt = read_dataset("yttemporal", tiny_world / "yttemporal")
    assert all(r.words and r.duration for r in yt.splits["train"])


# (dataset, moves: (from, to) relative to the fixture root; "*" moves a folder's content)
RELAYOUTS = [
    ("ucf101", [("ucfTrainTestlist/*", ""), ("UCF-101/*", "")]),
    ("hmdb51", [("testTrainMulti_7030_splits/*", "annotations"), ("brush_hair", "videos/brush_hair"),
                ("cartwheel", "videos/cartwheel")]),
    ("msrvtt", [("MSRVTT_data.json", "annotations/MSRVTT_data.json"),
                ("MSRVTT_train.9k.csv", "annotations/MSRVTT_train.9k.csv"),
                ("MSRVTT_JSFUSION_test.csv", "annotations/MSRVTT_JSFUSION_test.csv"), ("videos/all/*", "videos")]),
    ("msvd", [("raw-captions.pkl", "labels/raw-captions.pkl"), ("YouTubeClips/*", "")]),
    ("lsmdc", [("avi/*", "")]),
    ("didemo", [("train_data.json", "annotations/train_data.json"), ("videos/*", "")]),
    ("ssv2", [("labels/*", ""), ("20bn-something-something-v2/*", "videos")]),
    ("webvid", [("videos/*", "")]),
    ("k400", [("train.csv", "annotations/train.csv"), ("train/*", "videos/train"), ("val/*", "videos/val")]),
]


@pytest.mark.parametrize("name,moves", RELAYOUTS, ids=[r[0] for r in RELAYOUTS])
def test_real_layout_variants_find_the_same_videos(tmp_path, name, moves):
    """Annotations in the root or labels/ / annotations/; videos in their folder, the root or videos/."""
    original = read_dataset(name, FIXTURES / name)
    root = copy_fixture(name, tmp_path)
    for src, dst in moves:
        (root / dst).mkdir(parents=True, exist_ok=True) if (src.endswith("*") or dst == "") else None
        if src.endswith("*"):
            folder = root / src[:-2]
            for item in sorted(folder.iterdir()):
                shutil.move(str(item), str(root / dst / item.name))
            folder.rmdir()
        else:
            (root / dst).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(root / src), str(root / dst))
    moved = read_dataset(name, root)
    assert list(moved.splits) == list(original.splits)
    for split in original.splits:
        before, after = original.splits[split], moved.splits[split]
        assert [r.video_id for r in after] == [r.video_id for r in before]
        assert [r.path.exists() for r in after] == [r.path.exists() for r in before]
        assert [(r.label, r.captions, r.moments) for r in after] == [(r.label, r.captions, r.moments)
                                                                     for r in before]


def test_reencoded_copies_with_another_video_extension_are_found(tmp_path):
    root = copy_fixture("ssv2", tmp_path)
    videos = root / "20bn-something-something-v2"
    (videos / "2.webm").rename(videos / "2.mp4")
    (videos / "3.json").write_text("{}")          # not a video: never taken for 3.webm
    (videos / "3.webm").unlink()
    train = {r.video_id: r for r in read_dataset("ssv2", root).splits["train"]}
    assert rel(train["2"], root) == "20bn-something-something-v2/2.mp4"
    assert rel(train["3"], root) == "20bn-something-something-v2/3.webm" and not train["3"].path.exists()
