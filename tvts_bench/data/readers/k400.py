"""Kinetics-400.

CSV ``label,youtube_id,time_start,time_end,split`` (older copies add ``is_cc``; columns are read by
name). Files ``train.csv`` and ``validate.csv`` or ``val.csv`` (optional ``test.csv``). The split
name used by tasks is ``val`` whatever the file says (``validate`` or ``val``).
Videos ``{youtube_id}_{start:06d}_{end:06d}.mp4``, flat or in class folders (``<label>/`` or
``<label with _ for spaces>/``), under ``train/`` / ``val/`` (or ``validate/``, ``videos/<split>/``,
``videos/``, the root). Class index = alphabetical order of the class names.

A clip (``youtube_id`` + times) listed in two splits, twice in one split, or with two labels is an
error (the official CSVs list each clip once: a repeat leaks between training and testing or counts
twice), as is a split file listing no clip.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import DataFormatError, MissingPathError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex, VideoRecord
from .common import DatasetRoot, ListedOnce, excerpt, read_table, require_videos, sample_of, to_float

NAME = "k400"
COLUMNS = ("label", "youtube_id", "time_start", "time_end")
SPLIT_FILES = {"train": ("train.csv",), "val": ("validate.csv", "val.csv", "validation.csv"),
               "test": ("test.csv",)}
ANN_DIRS = ("", "annotations", "labels", "annotation", "kinetics400", "kinetics-400", "k400")
VIDEO_DIRS = {
    "train": ("train", "videos/train", "train_256", "videos", ""),
    "val": ("val", "validate", "validation", "videos/val", "videos/validate", "val_256", "videos", ""),
    "test": ("test", "videos/test", "videos", ""),
}


def video_name(youtube_id: str, start: float, end: float) -> str:
    return f"{youtube_id}_{int(start):06d}_{int(end):06d}.mp4"


def read(root: Path | str) -> DatasetIndex:
    droot = DatasetRoot(Path(root))
    rows_by_split: dict[str, list[tuple[int, str, str, Path]]] = {}
    files: list[Path] = []
    for split, names in SPLIT_FILES.items():
        path = droot.find_file(list(names), ANN_DIRS)
        if path is None:
            continue
        files.append(path)
        _, rows = read_table(path, required=("youtube_id", "time_start", "time_end")
                             if split == "test" else COLUMNS)
        parsed = []
        for number, row in rows:
            label = row.get("label", "").strip()
            ytid = row["youtube_id"].strip()
            if not ytid or "/" in ytid or "\\" in ytid or ytid in (".", ".."):
                raise DataFormatError(path, f"invalid youtube_id {excerpt(ytid)}", line=number)
            if split != "test" and not label:
                raise DataFormatError(path, "empty label", line=number)
            if "/" in label or "\\" in label or label in (".", ".."):
                raise DataFormatError(path, f"invalid label {excerpt(label)}", line=number)
            start = to_float(row["time_start"], path, "time_start", line=number)
            end = to_float(row["time_end"], path, "time_end", line=number)
            if start < 0 or end < start:
                raise DataFormatError(path, f"time_start {start} / time_end {end} must satisfy "
                                            "0 <= start <= end", line=number)
            parsed.append((number, label, video_name(ytid, start, end), path))
        require_videos(parsed, split, path)
        rows_by_split[split] = parsed
    if "train" not in rows_by_split and "val" not in rows_by_split:
        raise MissingPathError(droot.path / "train.csv", "Kinetics-400 annotation CSV",
                               hint="expected train.csv and validate.csv (or val.csv) with header "
                                    "label,youtube_id,time_start,time_end,split in the root or "
                                    "annotations/")
    classes = sorted({label for split in ("train", "val") for _, label, _, _ in
                      rows_by_split.get(split, ()) if label})
    index_of = {name: i for i, name in enumerate(classes)}
    listed = ListedOnce(NAME)
    for split, rows in rows_by_split.items():
        for number, label, name, source in rows:
            listed.add(name, split, source, label=label or None, line=number)
    splits: dict[str, list[VideoRecord]] = {}
    for split, rows in rows_by_split.items():
        base, folders = _layout(droot, split, rows)
        records = []
        for number, label, name, source in rows:
            rel = name
            if folders and label:
                rel = _class_rel(droot, base, label, name)
            path = droot.resolve(rel, source, line=number, base=base)
            if folders and not os.path.exists(path):
                flat = droot.resolve(name, source, line=number, base=base)
                if os.path.exists(flat):
                    path = flat
            records.append(VideoRecord(video_id=Path(name).stem, path=path, split=split,
                                       label=index_of.get(label) if label else None,
                                       label_name=label or None))
        splits[split] = records
    return DatasetIndex(NAME, droot.path, classes, splits, files)


def _class_rel(droot: DatasetRoot, base: Path, label: str, name: str) -> str:
    for folder in (label, label.replace(" ", "_")):
        if os.path.isdir(base / folder):
            return f"{folder}/{name}"
    return f"{label}/{name}"


def _layout(droot: DatasetRoot, split: str, rows) -> tuple[Path, bool]:
    """(video folder, class sub-folders?) holding most of a sample of the split's videos."""
    sample = sample_of([(label, name) for _, label, name, _ in rows])  # type: ignore[misc]
    best = (droot.path, False)
    best_hits = -1
    for rel in VIDEO_DIRS[split]:
        folder = droot.find_dir([rel])
        if folder is None:
            continue
        for folders in (True, False):
            hits = sum(os.path.exists(folder / (_class_rel(droot, folder, label, name)
                                                if folders and label else name))
                       for label, name in sample)
            if hits > best_hits:
                best, best_hits = (folder, folders), hits
    return best


SPEC = DatasetSpec(
    name=NAME, title="Kinetics-400", kind="classification", splits=tuple(SPLIT_FILES), read=read,
    world="tvts_bench.world.formats.k400:build", sizes="k400", notes="400 classes; appearance and scene", order=20,
)
