"""YT-Temporal (MERLOT layout), the pretraining corpus.

Split files ``train.csv`` / ``val.csv``: tab-separated (comma also accepted) with a header holding
column ``Name`` = ``subset_X/data/<id>.mp4`` (the video, relative to the root). Each video's
annotation is ``subset_X/annotations/<id>.json``:
``{"info": {"duration": s, ...}, "subtitles": [{"word", "time"}], "denoised": [{"cleanasr", ...}]}``.
Records carry ``words`` = (word, time) from ``subtitles`` in file order, ``duration`` =
``info.duration``, and ``captions`` = the ``denoised`` ``cleanasr`` sentences. A video whose JSON is
absent gets a record without words (the manifest still counts the video itself); option
``load_annotations=False`` skips reading the per-video JSONs (fast listing of huge corpora).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from ...errors import DataFormatError, MissingPathError
from ..records import DatasetIndex, VideoRecord
from .common import (DatasetRoot, expect, field_of, read_json, read_table, sniff_delimiter,
                     to_float)

NAME = "yttemporal"
ANN_DIRS = ("", "splits", "labels", "annotations")
SPLIT_FILES = {"train": ("train.csv", "train.tsv", "yttemporal_train.csv"),
               "val": ("val.csv", "val.tsv", "validation.csv", "yttemporal_val.csv")}


def annotation_rel(video_rel: str) -> str:
    """``subset_X/data/<id>.mp4`` -> ``subset_X/annotations/<id>.json``."""
    parts = list(PurePosixPath(video_rel.replace("\\", "/")).parts)
    if len(parts) >= 2 and parts[-2] == "data":
        parts[-2] = "annotations"
    else:
        parts.insert(len(parts) - 1, "annotations")
    parts[-1] = os.path.splitext(parts[-1])[0] + ".json"
    return "/".join(parts)


def read_annotation(path: Path) -> tuple[tuple[tuple[str, float], ...], float | None, tuple[str, ...]]:
    """(words, duration, denoised sentences) of one per-video JSON."""
    data = read_json(path)
    expect(data, dict, path, "the per-video annotation")
    duration = None
    info = data.get("info")
    if info is not None:
        expect(info, dict, path, "field 'info'", key="info")
        if info.get("duration") is not None:
            duration = to_float(info["duration"], path, "duration", key="info.duration")
            if duration < 0:
                raise DataFormatError(path, f"negative duration {duration}", key="info.duration")
    words = []
    subtitles = data.get("subtitles", [])
    expect(subtitles, list, path, "field 'subtitles'", key="subtitles")
    for i, item in enumerate(subtitles):
        key = f"subtitles[{i}]"
        word = field_of(item, "word", str, path, key=key)
        time = to_float(field_of(item, "time", (int, float, str), path, key=key), path, "time", key=key)
        words.append((word, time))
    sentences = []
    denoised = data.get("denoised", [])
    expect(denoised, list, path, "field 'denoised'", key="denoised")
    for i, item in enumerate(denoised):
        sentences.append(field_of(item, "cleanasr", str, path, key=f"denoised[{i}]").strip())
    return tuple(words), duration, tuple(sentences)


def read(root: Path | str, load_annotations: bool = True) -> DatasetIndex:
    droot = DatasetRoot(Path(root))
    files: list[Path] = []
    splits: dict[str, list[VideoRecord]] = {}
    for split, names in SPLIT_FILES.items():
        path = droot.find_file(list(names), ANN_DIRS)
        if path is None:
            continue
        files.append(path)
        _, table = read_table(path, delimiter=sniff_delimiter(path), required=("Name",))
        records = []
        for line_no, row in table:
            rel = row["Name"].strip()
            video = droot.resolve(rel, path, line=line_no)
            words: tuple = ()
            duration = None
            sentences: tuple = ()
            if load_annotations:
                ann = droot.resolve(annotation_rel(rel), path, line=line_no, any_extension=False)
                if ann.is_file():
                    files.append(ann)
                    words, duration, sentences = read_annotation(ann)
            records.append(VideoRecord(video_id=PurePosixPath(rel.replace("\\", "/")).stem,
                                       path=video, split=split, captions=sentences, words=words,
                                       duration=duration))
        splits[split] = records
    if not splits:
        raise MissingPathError(droot.path / "train.csv", "YT-Temporal split file",
                               hint="expected train.csv / val.csv (tab-separated, column Name = "
                                    "subset_X/data/<id>.mp4) in the root")
    return DatasetIndex(NAME, droot.path, [], splits, files)
