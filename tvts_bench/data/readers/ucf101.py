"""UCF-101.

``ucfTrainTestlist/classInd.txt`` (``1 ApplyEyeMakeup``, 1-based), ``trainlist0{1,2,3}.txt``
(``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``) and ``testlist0{1,2,3}.txt`` (path only: the
label comes from the class folder). Option ``split`` = 1, 2 or 3 (default 1). Splits ``train``/``test``.
Videos ``UCF-101/<Class>/<file>.avi`` (or the root, ``videos/``, ``UCF101/``). File names are matched
case-insensitively: the folder ``HandstandPushups`` holds ``v_HandStandPushups_*``.

A video in both the train and the test list of a split, or twice in one list, is an error (leakage /
double weight; the official lists never do it), as is a list without videos. Class indices are
bounded by classInd.txt itself (1..N without gaps, N <= its line count), so no label in a file can
make the reader allocate more than the file's size.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ...errors import DataFormatError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex, VideoRecord
from .common import (DatasetRoot, ListedOnce, excerpt, iter_lines, require_videos, sample_of,
                     split_number, to_int)

NAME = "ucf101"
ANN_DIRS = ("ucfTrainTestlist", "", "labels", "annotations", "UCF101TrainTestSplits-RecognitionTask",
            "ucfTrainTestlist/ucfTrainTestlist")
VIDEO_DIRS = ("UCF-101", "UCF101", "videos", "")


def read_class_index(path: Path) -> list[str]:
    pairs: dict[int, str] = {}
    seen: dict[str, int] = {}
    for number, line in iter_lines(path):
        parts = line.split()
        if len(parts) != 2:
            raise DataFormatError(path, f"expected '<index> <ClassName>', found {excerpt(line.strip())}",
                                  line=number)
        index = to_int(parts[0], path, "class index", line=number)
        if index in pairs or index < 1:
            raise DataFormatError(path, f"class index {index} repeated or below 1 (classInd is 1-based)",
                                  line=number)
        if parts[1].lower() in seen:
            raise DataFormatError(path, f"class name {excerpt(parts[1])} repeated (first at line "
                                        f"{seen[parts[1].lower()]}); class names are matched ignoring case",
                                  line=number)
        seen[parts[1].lower()] = number
        pairs[index] = parts[1]
    if not pairs:
        raise DataFormatError(path, "no classes listed")
    if sorted(pairs) != list(range(1, len(pairs) + 1)):
        raise DataFormatError(path, f"class indices must run 1..{len(pairs)} without gaps")
    return [pairs[i] for i in range(1, len(pairs) + 1)]


def read(root: Path | str, split: int | str = 1) -> DatasetIndex:
    number = split_number(split)
    droot = DatasetRoot(Path(root))
    class_file = droot.require_file(["classInd.txt"], "UCF101 class index (classInd.txt)", ANN_DIRS)
    classes = read_class_index(class_file)
    by_lower = {name.lower(): i for i, name in enumerate(classes)}
    files = [class_file]
    entries: dict[str, list[tuple[str, int, int, Path]]] = {}
    listed = ListedOnce(NAME)
    for part, stem in (("train", "trainlist"), ("test", "testlist")):
        path = droot.require_file([f"{stem}0{number}.txt"], f"UCF101 {part} list (split {number})",
                                  ANN_DIRS)
        files.append(path)
        rows = []
        for line_no, line in iter_lines(path):
            fields = line.split()
            if not fields or len(fields) > 2:
                raise DataFormatError(path, f"expected '<Class>/<file>.avi [label]', found "
                                            f"{excerpt(line.strip())}", line=line_no)
            rel = fields[0]
            folder = PurePosixPath(rel.replace("\\", "/")).parts
            if len(folder) < 2:
                raise DataFormatError(path, f"expected '<Class>/<file>.avi', found {excerpt(rel)}",
                                      line=line_no)
            class_name = folder[-2]
            if class_name.lower() not in by_lower:
                raise DataFormatError(path, f"class folder {excerpt(class_name)} is not in {class_file.name}",
                                      line=line_no)
            label = by_lower[class_name.lower()]
            if len(fields) == 2:
                given = to_int(fields[1], path, "label", line=line_no)
                if not 1 <= given <= len(classes):
                    raise DataFormatError(path, f"label {given} outside 1..{len(classes)}", line=line_no)
                if given - 1 != label:
                    raise DataFormatError(path, f"label {given} ({excerpt(classes[given - 1], 80)}) "
                                                f"disagrees with the folder {excerpt(class_name)}",
                                          line=line_no)
            rows.append((rel, label, line_no, path))
            listed.add(rel.replace("\\", "/").lower(), part, path, line=line_no)
        require_videos(rows, part, path)
        entries[part] = rows
    base = droot.choose_base(VIDEO_DIRS, sample_of([r[0] for rows in entries.values() for r in rows]))
    splits = {}
    for part, rows in entries.items():
        splits[part] = [
            VideoRecord(video_id=PurePosixPath(rel.replace("\\", "/")).stem,
                        path=droot.resolve(rel, source, line=line_no, base=base),
                        split=part, label=label, label_name=classes[label])
            for rel, label, line_no, source in rows]
    return DatasetIndex(NAME, droot.path, classes, splits, files)


SPEC = DatasetSpec(
    name=NAME, title="UCF-101", kind="classification", splits=("train", "test"), read=read,
    world="tvts_bench.world.formats.ucf101:build", sizes="ucf", notes="101 classes; splits 1-3", order=30,
)
