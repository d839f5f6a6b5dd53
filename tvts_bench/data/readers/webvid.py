"""WebVid (2M / 10M) captions.

CSV ``videoid,contentUrl,duration,page_dir,name`` (name = the caption; duration as seconds or ISO
``PT00H00M11S``). Files ``results_2M_train.csv`` / ``results_2M_val.csv`` (or the 10M names).
Videos ``videos/<page_dir>/<videoid>.mp4`` (or ``<page_dir>/<videoid>.mp4`` under the root).

A video repeated within a file or across train and val is kept and reported as a note: web-scale
scrapes do repeat items, and WebVid is read for pretraining, where a repeat costs little. A split file
without rows is an error.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from ...errors import DataFormatError, MissingPathError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex
from .common import (DatasetRoot, ListedOnce, captioned_clip_splits, excerpt, read_table,
                     require_videos, to_float)

NAME = "webvid"
ANN_DIRS = ("", "annotations", "metadata", "labels")
VIDEO_DIRS = ("videos", "data/videos", "")
SPLITS = {"train": ("results_2M_train.csv", "results_10M_train.csv"),
          "val": ("results_2M_val.csv", "results_10M_val.csv")}
COLUMNS = ("videoid", "page_dir", "name")
ISO = re.compile(r"^P(?:T)?(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


def parse_duration(text: str, path: Path, line: int) -> float | None:
    text = text.strip()
    if not text:
        return None
    m = ISO.match(text)
    if m and any(m.groups()):
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        value = h * 3600 + mi * 60 + s
        if not math.isfinite(value):
            raise DataFormatError(path, f"duration {excerpt(text, 60)} is not a finite number", line=line)
        return value
    value = to_float(text, path, "duration", line=line)
    if value < 0:
        raise DataFormatError(path, f"negative duration {value}", line=line)
    return value


def _safe_part(text: str, what: str, path: Path, line: int) -> str:
    text = text.strip()
    if not text or "/" in text or "\\" in text or text in (".", ".."):
        raise DataFormatError(path, f"invalid {what} {excerpt(text)}", line=line)
    return text


def read(root: Path | str) -> DatasetIndex:
    droot = DatasetRoot(Path(root))
    files: list[Path] = []
    entries: dict[str, list[tuple[str, str, str, float | None, Path, int]]] = {}
    listed = ListedOnce(NAME, across="note", within="note")
    for split, names in SPLITS.items():
        path = droot.find_file(list(names), ANN_DIRS)
        if path is None:
            continue
        files.append(path)
        _, rows = read_table(path, required=COLUMNS)
        parsed = []
        for line_no, row in rows:
            vid = _safe_part(row["videoid"], "videoid", path, line_no)
            page = _safe_part(row["page_dir"], "page_dir", path, line_no)
            caption = row["name"].strip()
            if not caption:
                raise DataFormatError(path, "empty caption (column name)", line=line_no)
            duration = parse_duration(row.get("duration", ""), path, line_no)
            listed.add(vid, split, path, line=line_no)
            parsed.append((vid, page, caption, duration, path, line_no))
        require_videos(parsed, split, path)
        entries[split] = parsed
    if not entries:
        raise MissingPathError(droot.path / SPLITS["train"][0], "WebVid CSV",
                               hint="expected results_2M_train.csv / results_2M_val.csv with header "
                                    "videoid,contentUrl,duration,page_dir,name")
    splits = captioned_clip_splits(droot, entries, VIDEO_DIRS, ".mp4")
    return DatasetIndex(NAME, droot.path, [], splits, files, listed.notes())


SPEC = DatasetSpec(
    name=NAME, title="WebVid", kind="captions", splits=tuple(SPLITS), read=read,
    world="tvts_bench.world.formats.webvid:build", sizes="webvid", notes="video-caption pairs", order=100,
)
