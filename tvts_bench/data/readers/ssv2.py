"""Something-Something v2.

Two naming conventions are read:

* the official files ``something-something-v2-{train,validation,test}.json`` with
  ``something-something-v2-labels.json`` (template without brackets -> index as a STRING); a record's
  class is ``labels[template with "[" and "]" removed]``;
* derived lists (VideoMAE/TSM style) ``<id>.webm <label>`` per line, in ``train.txt``/``train.csv``/
  ``train_list.txt`` and ``val.txt``/``validation.txt``/...; class names then come from the labels JSON
  when present.

Splits: ``train``, ``validation`` (and ``test`` without labels when the official test JSON is there).
Videos: ``20bn-something-something-v2/<id>.webm``, the root, or ``videos/``.

Checks beyond the format: a video in two splits, or twice in one split, is an error (the official
splits never share a video: it would leak between training and testing), as is a split file listing no
video. Without a labels file, the class list is ``0..max label`` read from the lists, so a label must be
below ``max(MIN_IMPLIED_CLASSES, 2 x lines read)``: a two-line list saying ``100000000`` otherwise built
a hundred million class names (8.8 GB). Real SSV2 has 174 classes.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import DataFormatError, MissingPathError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex, VideoRecord
from .common import (DatasetRoot, ListedOnce, clip, excerpt, expect, field_of, iter_lines, read_json,
                     require_videos, sample_of, to_int)

NAME = "ssv2"
VIDEO_DIRS = ("20bn-something-something-v2", "something-something-v2", "videos", "")
OFFICIAL = {"train": "something-something-v2-train.json",
            "validation": "something-something-v2-validation.json",
            "test": "something-something-v2-test.json"}
LABELS = "something-something-v2-labels.json"
LISTS = {"train": ("train.txt", "train.csv", "train_list.txt", "train_videofolder.txt"),
         "validation": ("validation.txt", "val.txt", "val.csv", "validation.csv", "val_list.txt",
                        "validation_list.txt", "val_videofolder.txt")}
# Without a labels file, label indices must stay below max(this, 2 x list lines read); see the docstring.
MIN_IMPLIED_CLASSES = 1000


def strip_brackets(template: str) -> str:
    return template.replace("[", "").replace("]", "")


def _read_labels(path: Path) -> tuple[dict[str, int], list[str]]:
    data = read_json(path)
    expect(data, dict, path, "the labels file (template -> index)")
    if not data:
        raise DataFormatError(path, "no classes listed (expected template -> index)")
    by_name: dict[str, int] = {}
    for name, value in data.items():
        by_name[name] = to_int(value, path, "label index", key=clip(name, 80))
    classes = [""] * len(by_name)
    for name, index in by_name.items():
        if not 0 <= index < len(by_name) or classes[index]:
            raise DataFormatError(path, f"label indices must be 0..{len(by_name) - 1}, each once; "
                                        f"index {index} is out of range or repeated", key=clip(name, 80))
        classes[index] = name
    return by_name, classes


def read(root: Path | str) -> DatasetIndex:
    droot = DatasetRoot(Path(root))
    labels_path = droot.find_file([LABELS, "labels.json"])
    by_name, classes = _read_labels(labels_path) if labels_path else ({}, [])
    files: list[Path] = [labels_path] if labels_path else []

    entries: dict[str, list[tuple[str, str, int | None, str, int | None]]] = {}
    for split, name in OFFICIAL.items():
        path = droot.find_file([name])
        if path is None:
            continue
        if split != "test" and labels_path is None:
            raise MissingPathError(droot.path / LABELS, "SSV2 labels file",
                                   hint=f"{path.name} needs {LABELS} next to it to map templates "
                                        "to class indices")
        files.append(path)
        entries[split] = _official(path, split, by_name, classes)
    if not entries:
        for split, names in LISTS.items():
            path = droot.find_file(list(names))
            if path is None:
                continue
            files.append(path)
            entries[split] = _derived(path, split, classes)
    if not entries:
        raise MissingPathError(droot.path / OFFICIAL["train"], "SSV2 annotation files",
                               hint=f"expected {', '.join(OFFICIAL.values())} (+ {LABELS}) or lists "
                                    "train.txt / val.txt with '<id>.webm <label>' lines, in the root, "
                                    "labels/ or annotations/")
    if not classes:
        classes = _implied_classes(entries)
    listed = ListedOnce(NAME)
    for split, rows in entries.items():
        for file_name, source, label, where, line in rows:
            listed.add(os.path.splitext(file_name.replace("\\", "/"))[0], split, source, label=label,
                       label_text=None if label is None or classes[label] == str(label)
                       else f"{label} ({classes[label]})",
                       line=line, key=None if line is not None else where)

    all_files = [e[0] for rows in entries.values() for e in rows]
    base = droot.choose_base(VIDEO_DIRS, sample_of(all_files))
    splits: dict[str, list[VideoRecord]] = {}
    for split, rows in entries.items():
        records = []
        for file_name, source, label, where, line in rows:
            path = droot.resolve(file_name, source, line=line,
                                 key=None if line is not None else where, base=base)
            records.append(VideoRecord(
                video_id=os.path.splitext(os.path.basename(file_name))[0], path=path, split=split, label=label,
                label_name=classes[label] if label is not None else None))
        splits[split] = records
    return DatasetIndex(NAME, droot.path, classes, splits, files)


def _implied_classes(entries) -> list[str]:
    """Class names "0".."max label" for lists without a labels file, refusing an implausible maximum."""
    rows = [row for split_rows in entries.values() for row in split_rows if row[2] is not None]
    if not rows:
        return []
    top = max(rows, key=lambda row: row[2])
    limit = max(MIN_IMPLIED_CLASSES, 2 * len(rows))
    if top[2] >= limit:
        raise DataFormatError(top[1], f"label index {top[2]} is implausibly large: without "
                                      f"{LABELS} the classes are 0..max label, and {len(rows)} listed "
                                      f"videos cannot need {top[2] + 1} classes (at most {limit} allowed)",
                              line=top[4], hint=f"put {LABELS} (SSV2's 174 class names) next to the "
                                                "lists, or correct the label on this line")
    return [str(i) for i in range(top[2] + 1)]


def _official(path: Path, split: str, by_name: dict[str, int], classes: list[str]):
    data = read_json(path)
    expect(data, list, path, "the annotation file (a list of records)")
    rows = []
    for i, item in enumerate(data):
        where = f"[{i}]"
        vid = field_of(item, "id", (str, int), path, key=where)
        vid = str(vid).strip()
        if not vid or "/" in vid or "\\" in vid:
            raise DataFormatError(path, f"invalid video id {excerpt(vid)}", key=where)
        label = None
        if split != "test" or "template" in item:
            template = field_of(item, "template", str, path, key=f"{where} (id {clip(vid, 80)})")
            name = strip_brackets(template)
            if name not in by_name:
                raise DataFormatError(path, f"template {excerpt(template)} is not in the labels file",
                                      key=f"{where} (id {clip(vid, 80)})",
                                      hint="use the labels JSON of the same SSV2 release")
            label = by_name[name]
        rows.append((f"{vid}.webm", path, label, f"{where} (id {clip(vid, 80)})", None))
    require_videos(rows, split, path)
    return rows


def _derived(path: Path, split: str, classes: list[str]):
    rows = []
    for number, line in iter_lines(path):
        parts = line.replace(",", " ").split()
        if len(parts) == 3 and parts[1].isdigit():
            parts = [parts[0], parts[2]]          # TSM style: <id> <num_frames> <label>
        if len(parts) != 2:
            raise DataFormatError(path, f"expected '<id>.webm <label>', found {excerpt(line.strip())}",
                                  line=number)
        name, label_text = parts
        label = to_int(label_text, path, "label index", line=number)
        if label < 0 or (classes and label >= len(classes)):
            raise DataFormatError(path, f"label index {label} out of range"
                                        + (f" 0..{len(classes) - 1}" if classes else ""), line=number)
        if "." not in Path(name).name:
            name += ".webm"
        rows.append((name, path, label, None, number))
    require_videos(rows, split, path)
    return rows


SPEC = DatasetSpec(
    name=NAME, title="Something-Something v2", kind="classification", splits=tuple(OFFICIAL), read=read,
    world="tvts_bench.world.formats.ssv2:build", sizes="ssv2", notes="174 classes; temporal templates", order=10,
)
