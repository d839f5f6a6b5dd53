"""UCF-101.

``ucfTrainTestlist/classInd.txt`` (``1 ApplyEyeMakeup``, 1-based), ``trainlist0{1,2,3}.txt``
(``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``) and ``testlist0{1,2,3}.txt`` (path only: the
label comes from the class folder). Option ``split`` = 1, 2 or 3 (default 1). Splits ``train``/``test``.
Videos ``UCF-101/<Class>/<file>.avi`` (or the root, ``videos/``, ``UCF101/``). File names are matched
case-insensitively: the folder ``HandstandPushups`` holds ``v_HandStandPushups_*``.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ...errors import DataFormatError
from ..records import DatasetIndex, VideoRecord
from .common import DatasetRoot, iter_lines, sample_of, split_number, to_int

NAME = "ucf101"
ANN_DIRS = ("ucfTrainTestlist", "", "labels", "annotations", "UCF101TrainTestSplits-RecognitionTask",
            "ucfTrainTestlist/ucfTrainTestlist")
VIDEO_DIRS = ("UCF-101", "UCF101", "videos", "")


def read_class_index(path: Path) -> list[str]:
    pairs: dict[int, str] = {}
    for number, line in iter_lines(path):
        parts = line.split()
        if len(parts) != 2:
            raise DataFormatError(path, f"expected '<index> <ClassName>', found {line.strip()!r}",
                                  line=number)
        index = to_int(parts[0], path, "class index", line=number)
        if index in pairs or index < 1:
            raise DataFormatError(path, f"class index {index} repeated or below 1 (classInd is 1-based)",
                                  line=number)
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
    for part, stem in (("train", "trainlist"), ("test", "testlist")):
        path = droot.require_file([f"{stem}0{number}.txt"], f"UCF101 {part} list (split {number})",
                                  ANN_DIRS)
        files.append(path)
        rows = []
        for line_no, line in iter_lines(path):
            fields = line.split()
            if not fields or len(fields) > 2:
                raise DataFormatError(path, f"expected '<Class>/<file>.avi [label]', found "
                                            f"{line.strip()!r}", line=line_no)
            rel = fields[0]
            folder = PurePosixPath(rel.replace("\\", "/")).parts
            if len(folder) < 2:
                raise DataFormatError(path, f"expected '<Class>/<file>.avi', found {rel!r}", line=line_no)
            class_name = folder[-2]
            if class_name.lower() not in by_lower:
                raise DataFormatError(path, f"class folder {class_name!r} is not in {class_file.name}",
                                      line=line_no)
            label = by_lower[class_name.lower()]
            if len(fields) == 2:
                given = to_int(fields[1], path, "label", line=line_no)
                if not 1 <= given <= len(classes):
                    raise DataFormatError(path, f"label {given} outside 1..{len(classes)}", line=line_no)
                if given - 1 != label:
                    raise DataFormatError(path, f"label {given} ({classes[given - 1]}) disagrees with "
                                                f"the folder {class_name!r}", line=line_no)
            rows.append((rel, label, line_no, path))
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
