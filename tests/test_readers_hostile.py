"""Hostile and broken annotation files: every reader answers with a short DataFormatError naming the
file (and line or key), in bounded time and memory, or reads the file; never a traceback.

The fuzz test runs benchmarks/fuzz_readers.py's seeded mutations (30 per reader); the others are the
cases an adversarial tester found, one by one.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import pickle
import re
import shutil
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from tvts_bench.data.readers import read_dataset
from tvts_bench.data.readers.common import EXCERPT_CHARS, excerpt
from tvts_bench.errors import DataFormatError

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"
FUZZ_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz_readers.py"
SHORT = 1000            # characters: an error message quoting file content stays below this


def copy_fixture(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(FIXTURES / name, dst)
    return dst


def read_failing(name: str, root: Path, **options) -> DataFormatError:
    with pytest.raises(DataFormatError) as e:
        read_dataset(name, root, **options)
    return e.value


def peak_traced(fn) -> tuple[float, object]:
    """(peak MB of Python allocations while ``fn`` runs, its result or exception). Tracing slows
    Python code several times over: time limits around it are generous."""
    tracemalloc.start()
    try:
        try:
            result: object = fn()
        except Exception as exc:  # noqa: BLE001 - returned for the caller to check
            result = exc
        return tracemalloc.get_traced_memory()[1] / 2 ** 20, result
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------------------------------- fuzzing

@functools.lru_cache(maxsize=None)
def _fuzz_module():
    """benchmarks/fuzz_readers.py, imported once (its dataclasses need it in sys.modules)."""
    spec = importlib.util.spec_from_file_location("fuzz_readers", FUZZ_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_readers"] = module
    spec.loader.exec_module(module)
    return module


def test_fuzzed_fixtures_give_clean_bounded_errors_or_read(tmp_path):
    fuzz = _fuzz_module()
    outcomes = [fuzz.fuzz_reader(r, 30, 0, tmp_path) for r in fuzz.FIXTURE_FOLDERS]
    print(fuzz.table(outcomes))
    assert all(o.tried == 30 for o in outcomes)
    problems = [f"{o.reader}: {case}" for o in outcomes for case in o.tracebacks + o.unbounded]
    assert not problems, "\n\n".join(problems[:5])
    # the mutations reach the readers' checks: some inputs of every reader are refused
    assert all(o.clean > 0 for o in outcomes)


def test_fuzz_script_exits_non_zero_on_a_traceback(monkeypatch, capsys):
    fuzz = _fuzz_module()
    assert fuzz.main(["--per-reader", "2", "--readers", "cc3m"]) == 0

    def broken_reader(name, root, **options):
        if Path(root).resolve().is_relative_to(FIXTURES.resolve()):
            return read_dataset(name, root, **options)          # the pristine fixture lists its files
        raise KeyError("boom")

    monkeypatch.setattr(fuzz, "read_dataset", broken_reader)
    assert fuzz.main(["--per-reader", "2", "--readers", "cc3m"]) == 1
    out = capsys.readouterr().out
    assert "KeyError: 'boom'" in out and "cc3m" in out


# ---------------------------------------------------------------------------------- integer labels

def test_huge_ssv2_label_without_labels_file_is_refused_in_bounded_memory(tmp_path):
    root = tmp_path / "ssv2"
    root.mkdir()
    (root / "train.txt").write_text("1.webm 0\n2.webm 100000000\n")
    start = time.perf_counter()
    peak, error = peak_traced(lambda: read_dataset("ssv2", root))
    assert time.perf_counter() - start < 5 and peak < 20, peak
    assert isinstance(error, DataFormatError), error
    assert error.path == root / "train.txt" and error.line == 2
    assert "100000000" in str(error) and "something-something-v2-labels.json" in str(error)
    # a plausible maximum still reads: classes are 0..max label
    (root / "train.txt").write_text("1.webm 0\n2.webm 173\n")
    assert len(read_dataset("ssv2", root).classes) == 174


def test_huge_labels_with_class_lists_are_out_of_range(tmp_path):
    ssv2 = copy_fixture("ssv2_lists", tmp_path)
    (ssv2 / "train.txt").write_text("10.webm 100000000\n")
    error = read_failing("ssv2", ssv2)
    assert error.line == 1 and "out of range" in str(error)
    (ssv2 / "train.txt").write_text("10.webm " + "9" * 5000 + "\n")
    error = read_failing("ssv2", ssv2)
    assert error.line == 1 and len(str(error)) < SHORT
    ucf = copy_fixture("ucf101", tmp_path)
    (ucf / "ucfTrainTestlist/trainlist01.txt").write_text("YoYo/v_YoYo_g08_c01.avi 100000000\n")
    error = read_failing("ucf101", ucf)
    assert error.line == 1 and "outside 1..3" in str(error)
    (ucf / "ucfTrainTestlist/classInd.txt").write_text("1 ApplyEyeMakeup\n100000000 YoYo\n")
    assert "without gaps" in str(read_failing("ucf101", ucf))
    hmdb = copy_fixture("hmdb51", tmp_path)
    (hmdb / "testTrainMulti_7030_splits/cartwheel_test_split1.txt").write_text("a.avi 100000000\n")
    assert read_failing("hmdb51", hmdb).line == 1


def test_integers_beyond_64_bits_are_refused(tmp_path):
    root = copy_fixture("didemo", tmp_path)
    f = root / "val_data.json"
    f.write_text(json.dumps([{"video": "x.mp4", "description": "d", "times": [[0, 2 ** 70]]}]))
    error = read_failing("didemo", root)
    assert error.path == f and "64 bits" in str(error) and len(str(error)) < SHORT


# ------------------------------------------------------------------------------------- MSVD pickle

def _shared_reference_bomb(clip: str) -> bytes:
    token = ["x" * 200] * 50
    caption = [token] * 200
    return pickle.dumps({clip: [caption] * 2000}, protocol=4)


def test_shared_reference_pickle_is_refused_quickly_in_bounded_memory(tmp_path):
    root = copy_fixture("msvd", tmp_path)
    pkl = root / "raw-captions.pkl"
    pkl.write_bytes(_shared_reference_bomb("-4wsuPCjDBc_5_15"))
    assert pkl.stat().st_size < 60_000                     # read naively: 4 billion characters
    start = time.perf_counter()
    peak, error = peak_traced(lambda: read_dataset("msvd", root))
    assert time.perf_counter() - start < 10, time.perf_counter() - start
    assert peak < 100, f"{peak:.0f} MB"
    assert isinstance(error, DataFormatError), error
    assert error.path == pkl and re.search(r"expands to \d{10,} items", str(error)), str(error)


@pytest.mark.parametrize("payload,expected", [
    # LONG_BINPUT 2**28: the C unpickler allocates a 2 GB memo array for these 8 bytes
    (b"\x80\x04]r\xff\xff\xff\x0f.", "captions pickle"),
    # str() of a shared DAG of depth 30: its repr is 2**30 characters
    (None, "builtins.str applied to something other than text"),
    # NEWOBJ from an allowed name
    (b"\x80\x02c__builtin__\nlist\n)\x81.", "NEWOBJ"),
    # 100 000 nested lists: no recursion anywhere
    (b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b".", "captions pickle"),
    # a huge integer (its repr would exceed Python's int-to-str limit)
    (pickle.dumps({"-4wsuPCjDBc_5_15": [[10 ** 20000]]}, protocol=2), "token"),
    (b"L" + b"9" * 5000 + b"L\n.", "not a readable pickle"),
])
def test_hostile_pickles_are_refused_cheaply(tmp_path, payload, expected):
    if payload is None:
        dag: object = "x"
        for _ in range(30):
            dag = [dag, dag]
        payload = b"\x80\x02c__builtin__\nstr\n" + pickle.dumps(dag, protocol=2)[2:-1] + b"\x85R."
    root = copy_fixture("msvd", tmp_path)
    (root / "raw-captions.pkl").write_bytes(payload)
    start = time.perf_counter()
    peak, error = peak_traced(lambda: read_dataset("msvd", root))
    assert time.perf_counter() - start < 15 and peak < 100, (time.perf_counter() - start, peak)
    assert isinstance(error, DataFormatError), error
    assert expected in str(error) and len(str(error)) < SHORT


def test_cyclic_pickle_is_refused(tmp_path):
    root = copy_fixture("msvd", tmp_path)
    loop: list = []
    loop.append(loop)
    (root / "raw-captions.pkl").write_bytes(pickle.dumps({"-4wsuPCjDBc_5_15": loop}))
    assert "contains itself" in str(read_failing("msvd", root))


def test_large_honest_pickle_still_reads(tmp_path):
    """2000 clips x 40 captions x 8 tokens, shared word objects (the pickler memoizes them): a real
    MSVD-sized file is far inside the expansion limit."""
    root = copy_fixture("msvd", tmp_path)
    words = ["a", "man", "is", "playing", "guitar", "the", "woman", "cooking", "someone"]
    data = {f"clip{i}": [[words[(i + j + k) % len(words)] for k in range(8)] for j in range(40)]
            for i in range(2000)}
    data.update(pickle.loads((root / "raw-captions.pkl").read_bytes()))      # our own fixture
    (root / "raw-captions.pkl").write_bytes(pickle.dumps(data, protocol=4))
    (root / "train_list.txt").write_text("-4wsuPCjDBc_5_15\nclip7\n")
    start = time.perf_counter()
    idx = read_dataset("msvd", root)
    assert time.perf_counter() - start < 10
    assert idx.splits["train"][1].captions[0] == " ".join(data["clip7"][0])


# ------------------------------------------------------------------------------------- long lines

LONG = 20 * 1024 * 1024
LONG_LINE_CASES = [
    ("ssv2", "ssv2_lists", "train.txt", lambda x: f"10.webm {x}"),
    ("ucf101", "ucf101", "ucfTrainTestlist/trainlist01.txt", lambda x: x),
    ("hmdb51", "hmdb51", "testTrainMulti_7030_splits/brush_hair_test_split1.txt", lambda x: f"{x} 9"),
    ("msvd", "msvd", "train_list.txt", lambda x: x),
    ("msrvtt", "msrvtt", "MSRVTT_JSFUSION_test.csv", lambda x: x),
    ("k400", "k400", "train.csv", lambda x: f"abseiling,{x},0,10,train"),
    # 5 million trailing tabs (once trimmed one at a time: quadratic), then a clip id without stamps
    ("lsmdc", "lsmdc", "LSMDC16_annos_training.csv",
     lambda x: "x\ta\tb\tc\td\tsentence" + "\t" * (LONG // 4)),
]


@pytest.mark.parametrize("dataset,folder,name,line", LONG_LINE_CASES, ids=[c[0] for c in LONG_LINE_CASES])
def test_20mb_line_gives_a_short_error_quickly(tmp_path, dataset, folder, name, line):
    root = copy_fixture(folder, tmp_path)
    target = root / name
    target.write_text(target.read_text() + line("x" * LONG) + "\n")
    start = time.perf_counter()
    error = read_failing(dataset, root)
    assert time.perf_counter() - start < 10
    assert error.path == target and error.line is not None
    assert len(str(error)) < SHORT, str(error)[:2000]


def test_excerpt_is_bounded_for_any_value():
    assert len(excerpt("x" * 10 ** 6)) < EXCERPT_CHARS + 40 and "1000000 characters" in excerpt("x" * 10 ** 6)
    assert len(excerpt("\x00" * 10 ** 5)) < EXCERPT_CHARS + 40
    assert "bits" in excerpt(10 ** 20000)
    nested: list = []
    for _ in range(10_000):
        nested = [nested]
    assert len(excerpt(nested)) < EXCERPT_CHARS + 10
    assert len(excerpt({str(i): list(range(1000)) for i in range(1000)})) < EXCERPT_CHARS + 10
    assert len(excerpt(b"\xff" * 10 ** 6)) < EXCERPT_CHARS * 5


# ------------------------------------------------------------------------------------------- JSON

@pytest.mark.parametrize("dataset,folder,name", [
    ("msrvtt", "msrvtt", "MSRVTT_data.json"), ("didemo", "didemo", "train_data.json"),
    ("ssv2", "ssv2", "labels/something-something-v2-train.json"),
    ("ssv2", "ssv2", "labels/something-something-v2-labels.json"),
])
def test_json_integer_over_the_digit_limit_names_the_file_and_line(tmp_path, dataset, folder, name):
    root = copy_fixture(folder, tmp_path)
    target = root / name
    text = target.read_text()
    if name.endswith("labels.json"):                       # an object; the others are lists
        target.write_text('{\n"a": 0,\n"b": ' + "7" * 5000 + "}")
    else:
        target.write_text('[\n\n{"x": ' + "7" * 5000 + "}]")
    error = read_failing(dataset, root)
    assert error.path == target and error.line == 3, str(error)
    assert "5000 digits" in str(error) and len(str(error)) < SHORT
    target.write_text(text)
    read_dataset(dataset, root)


@pytest.mark.parametrize("depth", [100_000, 900])
def test_deeply_nested_json_is_a_clear_error(tmp_path, depth):
    root = copy_fixture("didemo", tmp_path)
    target = root / "val_data.json"
    target.write_text("[" * depth + "]" * depth)
    error = read_failing("didemo", root)
    assert error.path == target and len(str(error)) < SHORT
    if depth > 10_000:
        assert "nested too deeply" in str(error)


# ------------------------------------------------------------------------------- duplicates / leaks

def test_ssv2_video_in_train_and_validation_is_leakage(tmp_path):
    root = copy_fixture("ssv2", tmp_path)
    val = root / "labels/something-something-v2-validation.json"
    data = json.loads(val.read_text())
    data.append({"id": "2", "template": data[0]["template"]})
    val.write_text(json.dumps(data))
    error = read_failing("ssv2", root)
    assert error.path == val and error.key is not None and "(id 2)" in error.key
    assert "train" in str(error) and "validation" in str(error) and "leak" in str(error)


def test_ssv2_conflicting_labels_name_both(tmp_path):
    root = copy_fixture("ssv2_lists", tmp_path)
    (root / "train.txt").write_text("10.webm 0\n11.webm 1\n10.webm 2\n")
    error = read_failing("ssv2", root)
    assert error.path == root / "train.txt" and error.line == 3
    assert "label 2" in str(error) and "train.txt line 1" in str(error)


def test_ssv2_same_video_twice_in_a_split(tmp_path):
    root = copy_fixture("ssv2_lists", tmp_path)
    (root / "val.txt").write_text("13.webm 1\n13 1\n")
    error = read_failing("ssv2", root)
    assert error.line == 2 and "listed twice" in str(error)


def test_ucf101_video_in_train_and_test_list(tmp_path):
    root = copy_fixture("ucf101", tmp_path)
    test = root / "ucfTrainTestlist/testlist01.txt"
    test.write_text(test.read_text() + "applyeyemakeup/V_ApplyEyeMakeup_g08_c01.avi\n")
    error = read_failing("ucf101", root)
    assert error.path == test and error.line == 4 and "trainlist01.txt line 1" in str(error)


def test_k400_clip_with_two_labels_and_in_two_splits(tmp_path):
    root = copy_fixture("k400", tmp_path)
    train = root / "train.csv"
    lines = train.read_text().splitlines()
    train.write_text("\n".join(lines + ["zumba,aaa111,0,10,train"]) + "\n")
    error = read_failing("k400", root)
    assert error.path == train and error.line == len(lines) + 1
    assert "'zumba'" in str(error) and "'abseiling'" in str(error)
    train.write_text("\n".join(lines) + "\n")
    val = root / "validate.csv"
    val.write_text(val.read_text().rstrip("\n") + "\nabseiling,aaa111,0,10,val\n")
    error = read_failing("k400", root)
    assert error.path == val and "leak" in str(error)


def test_hmdb51_video_with_two_codes(tmp_path):
    root = copy_fixture("hmdb51", tmp_path)
    f = root / "testTrainMulti_7030_splits/brush_hair_test_split1.txt"
    f.write_text(f.read_text() + "April_09_brush_hair_u_nm_np1_ba_goo_0.avi 2\n")
    error = read_failing("hmdb51", root)
    assert error.path == f and error.line == 4 and "line 1" in str(error)


def test_msrvtt_train_video_in_the_1ka_test_list(tmp_path):
    root = copy_fixture("msrvtt", tmp_path)
    test = root / "MSRVTT_JSFUSION_test.csv"
    test.write_text(test.read_text() + "ret2,msr0,video1,a cat plays\n")
    error = read_failing("msrvtt", root)
    assert error.path == test and error.line == 4 and "MSRVTT_train.9k.csv line 3" in str(error)


def test_msrvtt_json_video_with_two_splits(tmp_path):
    root = copy_fixture("msrvtt", tmp_path)
    f = root / "MSRVTT_data.json"
    data = json.loads(f.read_text())
    data["videos"].append({"video_id": "video0", "split": "test", "id": 9})
    f.write_text(json.dumps(data))
    error = read_failing("msrvtt", root)
    assert error.path == f and error.key == "videos[5]"


def test_msvd_and_didemo_clip_in_two_splits(tmp_path):
    msvd = copy_fixture("msvd", tmp_path)
    (msvd / "test_list.txt").write_text("-4wsuPCjDBc_5_15\n")
    error = read_failing("msvd", msvd)
    assert error.path == msvd / "test_list.txt" and error.line == 1 and "train_list.txt line" in str(error)
    didemo = copy_fixture("didemo", tmp_path)
    val = didemo / "val_data.json"
    train = json.loads((didemo / "train_data.json").read_text())
    val.write_text(json.dumps(json.loads(val.read_text()) + [train[0]]))
    error = read_failing("didemo", didemo)
    assert error.path == val and "leak" in str(error)


def test_lsmdc_repeat_within_a_file_is_a_note_across_files_an_error(tmp_path):
    root = copy_fixture("lsmdc", tmp_path)
    train = root / "LSMDC16_annos_training.csv"
    first = train.read_text().splitlines()[0]
    train.write_text(train.read_text() + first + "\n")
    idx = read_dataset("lsmdc", root)
    assert len(idx.notes) == 1 and "repeated listing" in idx.notes[0]
    val = root / "LSMDC16_annos_val.csv"
    val.write_text(val.read_text() + first + "\n")
    assert read_failing("lsmdc", root).path == val


def test_web_caption_sets_note_repeats_instead_of_failing(tmp_path):
    webvid = copy_fixture("webvid", tmp_path)
    val = webvid / "results_2M_val.csv"
    row = (webvid / "results_2M_train.csv").read_text().splitlines()[1]
    val.write_text(val.read_text() + row + "\n")
    idx = read_dataset("webvid", webvid)
    assert len(idx.notes) == 1 and "listed in two splits" in idx.notes[0] and "31353427" in idx.notes[0]
    assert len(idx.splits["val"]) == 2                                 # nothing dropped
    cc3m = copy_fixture("cc3m", tmp_path)
    train = cc3m / "Train_GCC-training.tsv"
    train.write_text(train.read_text() + train.read_text().splitlines()[0] + "\n")
    idx = read_dataset("cc3m", cc3m)
    assert len(idx.notes) == 1 and "repeated listing" in idx.notes[0]


# ----------------------------------------------------------------------------------- empty splits

@pytest.mark.parametrize("dataset,folder,name,content,split", [
    ("ucf101", "ucf101", "ucfTrainTestlist/testlist01.txt", "\n", "test"),
    ("msvd", "msvd", "test_list.txt", "", "test"),
    ("k400", "k400", "validate.csv", "label,youtube_id,time_start,time_end,split\n", "val"),
    ("msrvtt", "msrvtt", "MSRVTT_JSFUSION_test.csv", "key,vid_key,video_id,sentence\n", "test"),
    ("didemo", "didemo", "test_data.json", "[]", "test"),
    ("ssv2", "ssv2_lists", "val.txt", "", "validation"),
    ("lsmdc", "lsmdc", "LSMDC16_challenge_1000_publictect.csv", "", "test"),
])
def test_empty_split_file_says_which_split(tmp_path, dataset, folder, name, content, split):
    root = copy_fixture(folder, tmp_path)
    (root / name).write_text(content)
    error = read_failing(dataset, root)
    assert error.path == root / name
    assert f"the {split} split would be empty" in str(error) and "hint" in str(error)


def test_hmdb51_split_without_test_codes(tmp_path):
    root = copy_fixture("hmdb51", tmp_path)
    for f in (root / "testTrainMulti_7030_splits").glob("*_split1.txt"):
        f.write_text(f.read_text().replace(" 2 ", " 0 "))
    error = read_failing("hmdb51", root)
    assert "has code 2" in str(error) and "the test split would be empty" in str(error)


# ------------------------------------------------------------------------------------- path lengths

@pytest.mark.parametrize("dataset,folder,name,line", [
    ("yttemporal", "yttemporal", "val.csv", "Name\nsubset_0/data/" + "9" * 300 + ".mp4\n"),
    ("ssv2", "ssv2_lists", "val.txt", "a" * 300 + ".webm 1\n"),
    ("msvd", "msvd", "raw-captions.pkl", None),
])
def test_names_no_file_system_can_hold_are_refused(tmp_path, dataset, folder, name, line):
    """stat() on a name over 255 bytes raises ENAMETOOLONG (Path.is_file() does not catch it)."""
    root = copy_fixture(folder, tmp_path)
    if line is None:
        long_id = "c" * 300
        data = pickle.loads((root / name).read_bytes())            # our own fixture
        data[long_id] = [["a"]]
        (root / name).write_bytes(pickle.dumps(data))
        (root / "test_list.txt").write_text(long_id + "\n")
        name = "test_list.txt"
    else:
        (root / name).write_text(line)
    error = read_failing(dataset, root)
    assert error.path == root / name and "at most 255" in str(error) and len(str(error)) < SHORT
