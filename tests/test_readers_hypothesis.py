"""Property tests: malformed annotation files give a DataFormatError naming the file (and the line for
line-oriented formats), never another exception.

Each test copies one fixture dataset to a temporary folder once, then overwrites one annotation file
per example with generated content and reads the dataset again.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tvts_bench.data.readers import read_dataset
from tvts_bench.errors import DataFormatError

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"
# CI runs a fixed, small set of examples; TVTS_HYPOTHESIS_EXAMPLES=500 explores at random for longer.
_EXAMPLES = int(os.environ.get("TVTS_HYPOTHESIS_EXAMPLES", "0"))
SETTINGS = settings(max_examples=_EXAMPLES or 25, deadline=None, derandomize=not _EXAMPLES,
                    suppress_health_check=[HealthCheck.too_slow])

# problems of a whole file, which have no one line to name
WHOLE_FILE_PROBLEMS = ("no classes listed", "empty file", "without gaps", "lists no videos")

# (dataset, fixture folder, annotation file inside it)
LINE_FILES = [
    ("ssv2", "ssv2_lists", "train.txt"),
    ("k400", "k400", "train.csv"),
    ("k400", "k400_flat", "annotations/val.csv"),
    ("ucf101", "ucf101", "ucfTrainTestlist/classInd.txt"),
    ("ucf101", "ucf101", "ucfTrainTestlist/trainlist01.txt"),
    ("ucf101", "ucf101", "ucfTrainTestlist/testlist01.txt"),
    ("hmdb51", "hmdb51", "testTrainMulti_7030_splits/brush_hair_test_split1.txt"),
    ("msrvtt", "msrvtt", "MSRVTT_train.9k.csv"),
    ("msrvtt", "msrvtt", "MSRVTT_JSFUSION_test.csv"),
    ("msvd", "msvd", "train_list.txt"),
    ("lsmdc", "lsmdc", "LSMDC16_annos_training.csv"),
    ("yttemporal", "yttemporal", "train.csv"),
    ("webvid", "webvid", "results_2M_train.csv"),
    ("cc3m", "cc3m", "Train_GCC-training.tsv"),
]
JSON_FILES = [
    ("ssv2", "ssv2", "labels/something-something-v2-labels.json"),
    ("ssv2", "ssv2", "labels/something-something-v2-train.json"),
    ("msrvtt", "msrvtt", "MSRVTT_data.json"),
    ("msrvtt", "msrvtt_vdi", "train_val_videodatainfo.json"),
    ("didemo", "didemo", "train_data.json"),
    ("yttemporal", "yttemporal", "subset_0/annotations/abcDEF12345.json"),
]


def _ids(cases):
    return [f"{c[1]}:{c[2]}" for c in cases]


def _workspace(folder: str, tmp_path: Path) -> Path:
    root = tmp_path / folder
    shutil.copytree(FIXTURES / folder, root)
    return root


def _annotation_files(dataset: str, folder: str) -> set[Path]:
    return {p.resolve() for p in read_dataset(dataset, FIXTURES / folder).annotation_files}


def _read_expecting_clear_error(dataset: str, root: Path, target: Path, *, line_oriented: bool,
                                 must_fail: bool) -> None:
    allowed = {root.resolve() / p.relative_to(FIXTURES.resolve() / root.name)
               for p in _annotation_files(dataset, root.name)} | {target.resolve()}
    try:
        read_dataset(dataset, root)
    except DataFormatError as e:
        assert e.path.resolve() in allowed, f"error names {e.path}, not an annotation file"
        assert str(e.path) in str(e)
        if e.path.resolve() == target.resolve() and line_oriented and not any(
                w in e.message for w in WHOLE_FILE_PROBLEMS):
            assert e.line is not None and e.line >= 1, f"no line number in: {e}"
        if must_fail:
            assert e.path.resolve() == target.resolve(), f"expected an error naming {target}: {e}"
        return
    assert not must_fail, "malformed file was accepted"


line_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
garbage_lines = st.lists(st.one_of(
    line_text,
    st.lists(st.sampled_from(["a", "1", "-1", "x.avi", "../x", "/abs", "", " ", "\"", "3.5", "nan",
                              "video0", "Name", "label"]), max_size=8).map(lambda p: "\t".join(p)),
    st.lists(st.sampled_from(["a", "1", "x.mp4", "", "\"q\"", "1e9", "video_id"]), max_size=8)
      .map(lambda p: ",".join(p)),
), min_size=1, max_size=6)


@pytest.mark.parametrize("dataset,folder,name", LINE_FILES, ids=_ids(LINE_FILES))
def test_garbage_lines_give_a_clear_error_or_read(dataset, folder, name, tmp_path):
    root = _workspace(folder, tmp_path)
    target = root / name
    original = target.read_text()

    @SETTINGS
    @given(lines=garbage_lines, keep_header=st.booleans())
    def check(lines, keep_header):
        first = original.splitlines()[0] if keep_header else None
        body = ([first] if first is not None else []) + lines
        target.write_text("\n".join(body) + "\n")
        _read_expecting_clear_error(dataset, root, target, line_oriented=True, must_fail=False)

    check()


@pytest.mark.parametrize("dataset,folder,name", LINE_FILES, ids=_ids(LINE_FILES))
def test_wrong_field_counts_name_the_line(dataset, folder, name, tmp_path):
    """Append a line with a wrong number of fields to a valid file: the error names that line."""
    root = _workspace(folder, tmp_path)
    target = root / name
    original = target.read_text()
    lines = original.splitlines()
    delimiter = "\t" if "\t" in lines[-1] else ("," if "," in lines[-1] else " ")
    width = len(lines[-1].split(delimiter))

    @SETTINGS
    @given(n=st.integers(min_value=1, max_value=9).filter(lambda n: n != width),
           blank_lines=st.integers(min_value=0, max_value=2))
    def check(n, blank_lines):
        if delimiter == " " and n == 1 and dataset in ("ucf101",) and name.startswith("ucfTrainTestlist/test"):
            return                      # testlist lines legitimately have one field
        fields = [f"f{i}" for i in range(n)]
        target.write_text(original + "\n" * blank_lines + delimiter.join(fields) + "\n")
        expected_line = len(lines) + blank_lines + 1
        try:
            read_dataset(dataset, root)
        except DataFormatError as e:
            if e.path.resolve() == target.resolve():
                assert e.line == expected_line, str(e)
                return
            raise
        if dataset in ("msvd",) or (dataset == "hmdb51" and n > 2):
            return   # one clip id per line / names joined: not a field-count format at that width
        raise AssertionError(f"line with {n} fields accepted in {name}")

    check()


@pytest.mark.parametrize("dataset,folder,name", JSON_FILES, ids=_ids(JSON_FILES))
def test_truncated_json_names_file_and_line(dataset, folder, name, tmp_path):
    root = _workspace(folder, tmp_path)
    target = root / name
    original = target.read_text().rstrip()

    @SETTINGS
    @given(cut=st.integers(min_value=1, max_value=len(original) - 1))
    def check(cut):
        target.write_text(original[:cut])
        with pytest.raises(DataFormatError) as e:
            read_dataset(dataset, root)
        assert e.value.path.resolve() == target.resolve()
        assert e.value.line == original[:cut].count("\n") + 1
        assert "invalid JSON" in str(e.value)

    check()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8) | st.sampled_from(["video0", "1", "0", "x.mp4", "../up", "/abs", "[something]"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "label", "template", "video", "description", "times",
                                       "videos", "sentences", "video_id", "caption", "split", "info",
                                       "duration", "subtitles", "word", "time", "denoised", "cleanasr",
                                       "Holding something next to something"]) | st.text(max_size=5),
                      children, max_size=5),
    max_leaves=20)


@pytest.mark.parametrize("dataset,folder,name", JSON_FILES, ids=_ids(JSON_FILES))
def test_wrong_json_structure_gives_a_clear_error_or_reads(dataset, folder, name, tmp_path):
    root = _workspace(folder, tmp_path)
    target = root / name

    @SETTINGS
    @given(value=json_values)
    def check(value):
        target.write_text(json.dumps(value))
        _read_expecting_clear_error(dataset, root, target, line_oriented=False, must_fail=False)

    check()


def test_random_bytes_as_msvd_pickle(tmp_path):
    """Random bytes and truncated pickles: refused or unreadable, always a DataFormatError."""
    root = _workspace("msvd", tmp_path)
    target = root / "raw-captions.pkl"
    valid = target.read_bytes()

    @SETTINGS
    @given(data=st.binary(max_size=200) | st.integers(1, len(valid) - 1).map(lambda n: valid[:n]))
    def check(data):
        target.write_bytes(data)
        _read_expecting_clear_error("msvd", root, target, line_oriented=False, must_fail=True)

    check()


@pytest.mark.parametrize("dataset,folder,name", LINE_FILES[:6], ids=_ids(LINE_FILES[:6]))
def test_invalid_utf8_names_the_line(dataset, folder, name, tmp_path):
    root = _workspace(folder, tmp_path)
    target = root / name
    original = target.read_bytes()

    @SETTINGS
    @given(bad=st.sampled_from([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80"]),
           extra=st.integers(0, 3))
    def check(bad, extra):
        target.write_bytes(original + b"ok\n" * extra + b"x" + bad + b"\n")
        with pytest.raises(DataFormatError) as e:
            read_dataset(dataset, root)
        assert e.value.path.resolve() == target.resolve()
        assert e.value.line == original.count(b"\n") + extra + 1

    check()
