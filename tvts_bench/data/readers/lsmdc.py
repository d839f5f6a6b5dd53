"""LSMDC (Large Scale Movie Description Challenge, 2016 files).

Tab-separated, NO header, 6 fields: ``clip_id, start_aligned, end_aligned, start_extracted,
end_extracted, sentence``. Files ``LSMDC16_annos_training.csv`` (train), ``LSMDC16_annos_val.csv``
(val) and the retrieval test ``LSMDC16_challenge_1000_publictect.csv`` (sic; test). Clip ids end in
``_HH.MM.SS.mmm-HH.MM.SS.mmm``; the movie folder is the clip id without them. Videos
``avi/<movie>/<clip_id>.avi`` (or ``<movie>/`` under the root or ``videos/``). One record per line;
``duration`` comes from the clip id's time stamps.

A clip in two split files is an error (the splits are disjoint sets of movies: it would leak between
training and testing); a clip repeated within one file is kept and reported as a note (one record per
line is the format); a split file without lines is an error.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import DataFormatError, MissingPathError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex
from .common import (DatasetRoot, ListedOnce, captioned_clip_splits, excerpt, read_table,
                     require_videos)

NAME = "lsmdc"
ANN_DIRS = ("", "annotations", "labels", "data")
VIDEO_DIRS = ("avi", "videos", "avi-m-vad-aligned", "")
SPLITS = {"train": ("LSMDC16_annos_training.csv",), "val": ("LSMDC16_annos_val.csv",),
          "test": ("LSMDC16_challenge_1000_publictect.csv", "LSMDC16_challenge_1000_publictest.csv")}
STAMP = re.compile(r"^(?P<movie>.+)_(?P<h1>\d{2})\.(?P<m1>\d{2})\.(?P<s1>\d{2})\.(?P<ms1>\d{3})"
                   r"-(?P<h2>\d{2})\.(?P<m2>\d{2})\.(?P<s2>\d{2})\.(?P<ms2>\d{3})$")


def split_clip_id(clip_id: str) -> tuple[str, float, float] | None:
    """(movie, start s, end s) from a clip id, or None when it carries no time stamps."""
    m = STAMP.match(clip_id)
    if m is None:
        return None
    g = {k: int(v) for k, v in m.groupdict().items() if k != "movie"}
    start_ms = ((g["h1"] * 60 + g["m1"]) * 60 + g["s1"]) * 1000 + g["ms1"]
    end_ms = ((g["h2"] * 60 + g["m2"]) * 60 + g["s2"]) * 1000 + g["ms2"]
    return m.group("movie"), start_ms / 1000, end_ms / 1000


def read(root: Path | str) -> DatasetIndex:
    droot = DatasetRoot(Path(root))
    files: list[Path] = []
    entries: dict[str, list[tuple[str, str, str, float, Path, int]]] = {}
    listed = ListedOnce(NAME, within="note")
    for split, names in SPLITS.items():
        path = droot.find_file(list(names), ANN_DIRS)
        if path is None:
            continue
        files.append(path)
        _, rows = read_table(path, delimiter="\t", header=False, num_fields=6)
        parsed = []
        for line_no, row in rows:
            clip = row[0].strip()
            parts = split_clip_id(clip)
            if parts is None or "/" in clip or "\\" in clip:
                raise DataFormatError(path, f"clip id {excerpt(clip)} does not end in "
                                            "_HH.MM.SS.mmm-HH.MM.SS.mmm time stamps", line=line_no)
            movie, start, end = parts
            sentence = row[5].strip()
            if not sentence:
                raise DataFormatError(path, "empty sentence (field 6)", line=line_no)
            listed.add(clip, split, path, line=line_no)
            parsed.append((clip, movie, sentence, round(max(end - start, 0.0), 3), path, line_no))
        require_videos(parsed, split, path)
        entries[split] = parsed
    if not entries:
        raise MissingPathError(droot.path / SPLITS["train"][0], "LSMDC annotation files",
                               hint="expected LSMDC16_annos_training.csv, LSMDC16_annos_val.csv and "
                                    "LSMDC16_challenge_1000_publictect.csv (tab-separated, no header)")
    splits = captioned_clip_splits(droot, entries, VIDEO_DIRS, ".avi")
    return DatasetIndex(NAME, droot.path, [], splits, files, listed.notes())


SPEC = DatasetSpec(
    name=NAME, title="LSMDC", kind="text-video", splits=tuple(SPLITS), read=read,
    world="tvts_bench.world.formats.lsmdc:build", sizes="lsmdc", notes="1,000 test clips", order=80,
)
