"""DiDeMo.

``{train,val,test}_data.json``: a list of ``{"video": "<file name with extension>", "description",
"times": [[s, e], ...], "annotation_id", ...}`` with times in 5-second chunks (0..5). One record per
video, keeping all its descriptions in file order; ``moments`` holds one (start, end) in seconds per
description: the consensus (most common, ties -> first given) of its annotators' chunk pairs,
converted as [5 s, 5 (e + 1)]. Concatenating descriptions into a paragraph is the evaluator's job.
Videos ``videos/<file>`` (or the root, ``DiDeMo/videos``); extensions vary (mp4, avi, mov, 3gp, ...),
and a file with the same stem and another extension is accepted (re-encoded copies).

A video in two split files is an error (DiDeMo's splits are by video: it would leak between training
and testing), as is a split file without descriptions.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from ...errors import DataFormatError, MissingPathError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex, VideoRecord
from .common import (DatasetRoot, ListedOnce, excerpt, expect, field_of, read_json, require_videos,
                     sample_of, to_int)

NAME = "didemo"
ANN_DIRS = ("", "annotations", "annotation", "labels", "data")
VIDEO_DIRS = ("videos", "DiDeMo/videos", "video", "")
SPLITS = {"train": ("train_data.json",), "val": ("val_data.json",), "test": ("test_data.json",)}
CHUNK_SECONDS = 5.0
MAX_CHUNK = 5


def moment_seconds(times: list, path: Path, key: str, last_chunk: int = MAX_CHUNK
                   ) -> tuple[float, float]:
    pairs = []
    for j, pair in enumerate(times):
        expect(pair, list, path, f"times[{j}]", key=key)
        if len(pair) != 2:
            raise DataFormatError(path, f"times[{j}] must be [start_chunk, end_chunk], found "
                                        f"{excerpt(pair)}", key=key)
        s = to_int(pair[0], path, f"times[{j}] start chunk", key=key)
        e = to_int(pair[1], path, f"times[{j}] end chunk", key=key)
        if not 0 <= s <= e <= last_chunk:
            raise DataFormatError(path, f"times[{j}] = {excerpt(pair)}: chunks must satisfy "
                                        f"0 <= start <= end <= {last_chunk}", key=key)
        pairs.append((s, e))
    if not pairs:
        raise DataFormatError(path, "empty 'times'", key=key)
    counts = Counter(pairs)
    top = max(counts.values())
    s, e = next(p for p in pairs if counts[p] == top)
    return CHUNK_SECONDS * s, CHUNK_SECONDS * (e + 1)


def read(root: Path | str) -> DatasetIndex:
    droot = DatasetRoot(Path(root))
    files: list[Path] = []
    grouped: dict[str, dict[str, tuple[list[str], list[tuple[float, float]], Path, str]]] = {}
    listed = ListedOnce(NAME)
    for split, names in SPLITS.items():
        path = droot.find_file(list(names), ANN_DIRS)
        if path is None:
            continue
        files.append(path)
        data = read_json(path)
        expect(data, list, path, "the annotation file (a list of descriptions)")
        require_videos(data, split, path)
        videos: dict[str, tuple[list[str], list[tuple[float, float]], Path, str]] = {}
        for i, item in enumerate(data):
            key = f"[{i}]"
            video = field_of(item, "video", str, path, key=key).strip()
            if not video:
                raise DataFormatError(path, "empty 'video'", key=key)
            description = field_of(item, "description", str, path, key=key).strip()
            times = field_of(item, "times", list, path, key=key)
            segments = item.get("num_segments")
            last_chunk = MAX_CHUNK
            if isinstance(segments, int) and not isinstance(segments, bool) and 0 < segments < 10_000:
                last_chunk = max(MAX_CHUNK, segments - 1)     # longer videos than the real 30 s
            moment = moment_seconds(times, path, key, last_chunk)
            if video not in videos:
                listed.add(os.path.splitext(video)[0], split, path, key=key)
            entry = videos.setdefault(video, ([], [], path, key))
            entry[0].append(description)
            entry[1].append(moment)
        grouped[split] = videos
    if not grouped:
        raise MissingPathError(droot.path / "train_data.json", "DiDeMo annotation JSON",
                               hint="expected train_data.json / val_data.json / test_data.json in the "
                                    "root or annotations/")
    base = droot.choose_base(VIDEO_DIRS, sample_of([v for g in grouped.values() for v in g]),
                             any_extension=True)
    splits: dict[str, list[VideoRecord]] = {}
    for split, videos in grouped.items():
        records = []
        for video, (captions, moments, source, key) in videos.items():
            path = droot.resolve(video, source, key=f"{key} (video {excerpt(video, 80)})", base=base,
                                 any_extension=True)
            records.append(VideoRecord(video_id=video, path=path, split=split,
                                       captions=tuple(captions), moments=tuple(moments)))
        splits[split] = records
    return DatasetIndex(NAME, droot.path, [], splits, files)


SPEC = DatasetSpec(
    name=NAME, title="DiDeMo", kind="text-video", splits=tuple(SPLITS), read=read,
    world="tvts_bench.world.formats.didemo:build", sizes="didemo", notes="paragraph-to-video", order=60,
)
