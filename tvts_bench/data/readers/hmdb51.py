"""HMDB-51.

``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt``, lines ``<video>.avi <code>`` with code
1 = train, 2 = test, 0 = unused. Option ``split`` = 1, 2 or 3 (default 1). Class index = sorted class
names (taken from the split file names). Videos ``<class>/<video>.avi`` under the root (or
``hmdb51_org/``, ``videos/``); file names contain ``( ) ! # &`` and are used verbatim.

A video listed twice in its class's split file (with codes 1 and 2 it would leak between training and
testing; any repeat contradicts itself or counts twice) is an error, as is a split that no line of any
class file gives a video to. Labels are the class files themselves, so no value in a file sizes the
class list.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import DataFormatError, MissingPathError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex, VideoRecord
from .common import DatasetRoot, excerpt, iter_lines, sample_of, split_number

NAME = "hmdb51"
ANN_DIRS = ("testTrainMulti_7030_splits", "", "labels", "annotations", "splits")
VIDEO_DIRS = ("", "hmdb51_org", "videos", "hmdb51")
CODES = {"1": "train", "2": "test", "0": None}


def read(root: Path | str, split: int | str = 1) -> DatasetIndex:
    number = split_number(split)
    droot = DatasetRoot(Path(root))
    pattern = rf"(.+)_test_split{number}\.txt"
    files = droot.glob_files(pattern, ANN_DIRS)
    if not files:
        raise MissingPathError(droot.path / "testTrainMulti_7030_splits", "HMDB51 split files",
                               hint=f"expected <class>_test_split{number}.txt files in "
                                    "testTrainMulti_7030_splits/ (or the root)")
    suffix = f"_test_split{number}.txt"
    class_of = {f: f.name[: -len(suffix)] for f in files}
    classes = sorted(class_of.values())
    index_of = {name: i for i, name in enumerate(classes)}
    entries: dict[str, list[tuple[str, str, int, Path]]] = {"train": [], "test": []}
    for path in files:
        class_name = class_of[path]
        first_line: dict[str, tuple[str, int]] = {}
        for line_no, line in iter_lines(path):
            fields = line.split()
            if len(fields) < 2:
                raise DataFormatError(path, f"expected '<video>.avi <0|1|2>', found "
                                            f"{excerpt(line.strip())}", line=line_no)
            code = fields[-1]
            video = " ".join(fields[:-1])    # names have no spaces, but keep any verbatim
            if code not in CODES:
                raise DataFormatError(path, f"split code must be 0 (unused), 1 (train) or 2 (test), "
                                            f"found {excerpt(code)}", line=line_no)
            if "/" in video or "\\" in video:
                raise DataFormatError(path, f"expected a bare file name, found {excerpt(video)}",
                                      line=line_no)
            part = CODES[code]
            if video in first_line:
                # twice with codes 1 and 2 leaks between training and testing; any repeat contradicts
                # or double-counts
                first_code, first_no = first_line[video]
                raise DataFormatError(path, f"video {excerpt(video)} is listed again (code {code}; first "
                                            f"at line {first_no} with code {first_code})", line=line_no,
                                      hint="each video has one line per split file: 1 train, 2 test, "
                                           "0 unused")
            first_line[video] = (code, line_no)
            if part is not None:
                entries[part].append((class_name, video, line_no, path))
    for part, code in (("train", "1"), ("test", "2")):
        if not entries[part]:
            raise DataFormatError(files[0], f"no line of the {len(files)} split file(s) "
                                            f"*_test_split{number}.txt (this one included) has code {code}: "
                                            f"the {part} split would be empty",
                                  hint="check that the split files are complete (unpacked from "
                                       "test_train_splits.rar, not truncated) and that --split is right")
    base = droot.choose_base(VIDEO_DIRS, sample_of([f"{c}/{v}" for rows in entries.values()
                                                    for c, v, _, _ in rows]))
    splits = {}
    for part, rows in entries.items():
        splits[part] = [
            VideoRecord(video_id=Path(video).stem,
                        path=droot.resolve(f"{class_name}/{video}", source, line=line_no, base=base),
                        split=part, label=index_of[class_name], label_name=class_name)
            for class_name, video, line_no, source in rows]
    return DatasetIndex(NAME, droot.path, classes, splits, sorted(files))


SPEC = DatasetSpec(
    name=NAME, title="HMDB-51", kind="classification", splits=("train", "test"), read=read,
    world="tvts_bench.world.formats.hmdb51:build", sizes="hmdb", notes="51 classes; splits 1-3", order=40,
)
