"""Conceptual Captions 3M: CAPTION-ONLY (images, not videos).

TSV ``caption<TAB>url``, no header: ``Train_GCC-training.tsv`` (train) and
``Validation_GCC-1.1.0-Validation.tsv`` (val). Records carry the caption; ``video_id`` is the image
URL and ``path`` is ``images/<file name of the URL>`` under the root (a guess at a downloaded copy;
the manifest will usually count these as missing, which is expected: cc3m is read for its captions).
A URL repeated within a file or across train and val is kept and reported as a note (the web-scraped
files do repeat images); a file without rows is an error.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from ...errors import DataFormatError, MissingPathError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex, VideoRecord
from .common import DatasetRoot, ListedOnce, read_table, require_videos

NAME = "cc3m"
ANN_DIRS = ("", "annotations", "labels")
SPLITS = {"train": ("Train_GCC-training.tsv",),
          "val": ("Validation_GCC-1.1.0-Validation.tsv", "Validation_GCC-1.1.0-Validation.tsv")}
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def image_name(url: str, line: int) -> str:
    """A safe file name for the URL's image (its last path part, sanitised; else ``line<N>.jpg``)."""
    try:
        last = unquote(urlparse(url).path).rstrip("/").rsplit("/", 1)[-1]
    except ValueError:
        last = ""
    name = UNSAFE.sub("_", last).strip("._")[:200]
    return name or f"line{line}.jpg"


def read(root: Path | str) -> DatasetIndex:
    droot = DatasetRoot(Path(root))
    files: list[Path] = []
    splits: dict[str, list[VideoRecord]] = {}
    listed = ListedOnce(NAME, across="note", within="note")
    for split, names in SPLITS.items():
        path = droot.find_file(list(names), ANN_DIRS)
        if path is None:
            continue
        files.append(path)
        _, rows = read_table(path, delimiter="\t", header=False, num_fields=2)
        records = []
        for line_no, (caption, url) in rows:
            caption, url = caption.strip(), url.strip()
            if not caption:
                raise DataFormatError(path, "empty caption (field 1)", line=line_no)
            if not url:
                raise DataFormatError(path, "empty url (field 2)", line=line_no)
            listed.add(url, split, path, line=line_no)
            records.append(VideoRecord(
                video_id=url, split=split, captions=(caption,),
                path=droot.resolve(f"images/{image_name(url, line_no)}", path, line=line_no,
                                   any_extension=False)))
        require_videos(records, split, path)
        splits[split] = records
    if not splits:
        raise MissingPathError(droot.path / SPLITS["train"][0], "CC3M TSV",
                               hint="expected Train_GCC-training.tsv and "
                                    "Validation_GCC-1.1.0-Validation.tsv (caption<TAB>url, no header)")
    return DatasetIndex(NAME, droot.path, [], splits, files, listed.notes())


SPEC = DatasetSpec(
    name=NAME, title="CC3M", kind="captions", splits=tuple(SPLITS), read=read,
    world="tvts_bench.world.formats.cc3m:build", sizes="cc3m", notes="image-caption pairs (captions only)",
    order=110,
)
