"""MSR-VTT.

Captions from ``MSRVTT_data.json`` or ``train_val_videodatainfo.json`` (+ ``test_videodatainfo.json``
when present): ``{"videos": [{"video_id", "split"}], "sentences": [{"video_id", "caption"}]}``.
Splits: ``train`` = the videos of ``MSRVTT_train.9k.csv`` (column ``video_id``; option
``train="7k"`` reads ``MSRVTT_train.7k.csv``) with ALL their captions in file order; ``test`` = the
JSFUSION 1k-A rows of ``MSRVTT_JSFUSION_test.csv`` (``key,vid_key,video_id,sentence``), one record per
row with that one sentence. Without the CSVs the JSON's own ``split`` field is used
(train / validate -> val / test, all captions).
Videos ``videos/all/<video_id>.mp4`` (or ``videos/``, ``TrainValVideo/``, the root).

Errors beyond the format: a video in both the train list and the 1k-A test list (the real files never
overlap: it would leak), a video twice in one list, a video given two different splits in the JSON, and
a list file without videos.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import ConfigError, DataFormatError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex, VideoRecord
from .common import (DatasetRoot, ListedOnce, clip, excerpt, expect, field_of, read_json, read_table,
                     require_videos, sample_of)

NAME = "msrvtt"
ANN_DIRS = ("", "annotation", "annotations", "msrvtt_data", "labels", "data")
VIDEO_DIRS = ("videos/all", "videos", "all", "TrainValVideo", "MSRVTT/videos/all", "")
JSON_NAMES = ("MSRVTT_data.json", "train_val_videodatainfo.json")


def _check_id(vid: str, path: Path, **where) -> str:
    vid = vid.strip()
    if not vid or "/" in vid or "\\" in vid or vid in (".", ".."):
        raise DataFormatError(path, f"invalid video_id {excerpt(vid)}", **where)
    return vid


def _read_captions(paths: list[Path]) -> tuple[dict[str, list[str]], dict[str, str]]:
    captions: dict[str, list[str]] = {}
    split_of: dict[str, str] = {}
    for path in paths:
        data = read_json(path)
        expect(data, dict, path, "the annotation file")
        videos = field_of(data, "videos", list, path, where="the annotation file")
        for i, item in enumerate(videos):
            vid = _check_id(field_of(item, "video_id", str, path, key=f"videos[{i}]"), path,
                            key=f"videos[{i}]")
            split = item.get("split", "")
            split = split if isinstance(split, str) else ""
            if split_of.get(vid, split) != split:
                raise DataFormatError(path, f"video {excerpt(vid)} is listed with split "
                                            f"{excerpt(split, 40)} here and {excerpt(split_of[vid], 40)} "
                                            "before", key=f"videos[{i}]",
                                      hint="a video belongs to one split; use the dataset's files unchanged")
            split_of[vid] = split
        sentences = field_of(data, "sentences", list, path, where="the annotation file")
        for i, item in enumerate(sentences):
            vid = _check_id(field_of(item, "video_id", str, path, key=f"sentences[{i}]"), path,
                            key=f"sentences[{i}]")
            caption = field_of(item, "caption", str, path, key=f"sentences[{i}]")
            captions.setdefault(vid, []).append(caption.strip())
    return captions, split_of


def read(root: Path | str, train: str = "9k") -> DatasetIndex:
    if train not in ("9k", "7k"):
        raise ConfigError(f"msrvtt option train must be '9k' or '7k', got {train!r}")
    droot = DatasetRoot(Path(root))
    main = droot.require_file(list(JSON_NAMES), "MSR-VTT caption JSON", ANN_DIRS)
    json_files = [main]
    extra = droot.find_file(["test_videodatainfo.json"], ANN_DIRS)
    if main.name.lower() == "train_val_videodatainfo.json" and extra is not None:
        json_files.append(extra)
    captions, split_of = _read_captions(json_files)
    files = list(json_files)

    # (video_id, captions, split, source, line or None, key or None)
    rows: list[tuple[str, tuple[str, ...], str, Path, int | None, str | None]] = []
    train_csv = droot.find_file([f"MSRVTT_train.{train}.csv"], ANN_DIRS)
    listed = ListedOnce(NAME)
    test_csv = droot.find_file(["MSRVTT_JSFUSION_test.csv"], ANN_DIRS)
    if train_csv is not None:
        files.append(train_csv)
        _, table = read_table(train_csv, required=("video_id",))
        for line_no, row in table:
            vid = _check_id(row["video_id"], train_csv, line=line_no)
            if vid not in captions:
                raise DataFormatError(train_csv, f"video {excerpt(vid)} has no captions in "
                                                 f"{', '.join(p.name for p in json_files)}",
                                      line=line_no,
                                      hint="use MSRVTT_data.json, or add test_videodatainfo.json next "
                                           "to train_val_videodatainfo.json")
            rows.append((vid, tuple(captions[vid]), "train", train_csv, line_no, None))
            listed.add(vid, "train", train_csv, line=line_no)
        require_videos(table, "train", train_csv)
    if test_csv is not None:
        files.append(test_csv)
        _, table = read_table(test_csv, required=("video_id", "sentence"))
        for line_no, row in table:
            vid = _check_id(row["video_id"], test_csv, line=line_no)
            sentence = row["sentence"].strip()
            if not sentence:
                raise DataFormatError(test_csv, "empty sentence", line=line_no)
            rows.append((vid, (sentence,), "test", test_csv, line_no, None))
            listed.add(vid, "test", test_csv, line=line_no)
        require_videos(table, "test", test_csv)
    if train_csv is None and test_csv is None:
        names = {"train": "train", "validate": "val", "val": "val", "test": "test"}
        for vid, split in split_of.items():
            if split not in names:
                raise DataFormatError(main, f"video {excerpt(vid)} has split {excerpt(split)}; expected "
                                            "train, validate or test", key=clip(vid, 80),
                                      hint="or add MSRVTT_train.9k.csv and MSRVTT_JSFUSION_test.csv")
            rows.append((vid, tuple(captions.get(vid, ())), names[split], main, None, clip(vid, 80)))
    if not rows:
        raise DataFormatError(files[-1], "lists no videos",
                              hint="MSR-VTT needs MSRVTT_train.9k.csv and MSRVTT_JSFUSION_test.csv, or "
                                   "a caption JSON whose videos carry a split")
    base = droot.choose_base(VIDEO_DIRS, sample_of([f"{r[0]}.mp4" for r in rows]), any_extension=True)
    splits: dict[str, list[VideoRecord]] = {}
    for vid, caps, split, source, line_no, key in rows:
        path = droot.resolve(f"{vid}.mp4", source, line=line_no, key=key, base=base, any_extension=True)
        splits.setdefault(split, []).append(
            VideoRecord(video_id=vid, path=path, split=split, captions=caps))
    notes: list[str] = []
    if test_csv is None:
        tested = splits.get("test", [])
        notes.append(
            f"MSR-VTT: MSRVTT_JSFUSION_test.csv (the 1k-A test list) was not found under {droot.path}, so the "
            f"test split is the caption JSON's own 'test' split ({len(tested)} videos, "
            f"{sum(len(r.captions) for r in tested)} captions, "
            f"{sum(len(r.captions) for r in tested) / max(1, len(tested)):.1f} per video), not the 1k-A "
            "protocol of the paper: its numbers are not comparable to 1k-A numbers")
    if train_csv is None:
        notes.append(f"MSR-VTT: MSRVTT_train.{train}.csv was not found; the train split is the caption "
                     "JSON's own 'train' split")
    return DatasetIndex(NAME, droot.path, [], splits, files, notes)


SPEC = DatasetSpec(
    name=NAME, title="MSR-VTT", kind="text-video", splits=("train", "val", "test"), read=read,
    world="tvts_bench.world.formats.msrvtt:build", sizes="msrvtt", notes="1k-A test, 20 captions per video",
    order=50,
)
