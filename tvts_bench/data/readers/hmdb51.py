"""HMDB-51.

``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt``, lines ``<video>.avi <code>`` with code
1 = train, 2 = test, 0 = unused. Option ``split`` = 1, 2 or 3 (default 1). Class index = sorted class
names (taken from the split file names). Videos ``<class>/<video>.avi`` under the root (or
``hmdb51_org/``, ``videos/``); file names contain ``( ) ! # &`` and are used verbatim.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import DataFormatError, MissingPathError
from ..records import DatasetIndex, VideoRecord
from .common import DatasetRoot, iter_lines, sample_of, split_number

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
        for line_no, line in iter_lines(path):
            fields = line.split()
            if len(fields) < 2:
                raise DataFormatError(path, f"expected '<video>.avi <0|1|2>', found {line.strip()!r}",
                                      line=line_no)
            code = fields[-1]
            video = " ".join(fields[:-1])    # names have no spaces, but keep any verbatim
            if code not in CODES:
                raise DataFormatError(path, f"split code must be 0 (unused), 1 (train) or 2 (test), "
                                            f"found {code!r}", line=line_no)
            if "/" in video or "\\" in video:
                raise DataFormatError(path, f"expected a bare file name, found {video!r}", line=line_no)
            part = CODES[code]
            if part is not None:
                entries[part].append((class_name, video, line_no, path))
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
