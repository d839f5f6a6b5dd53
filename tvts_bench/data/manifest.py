"""The manifest of a dataset root: what the annotations list, what is on disk, and a content hash.

The hash covers the dataset name, each annotation file's RELATIVE path and content, and per split the
sorted RELATIVE video list plus which of those videos are missing. It never includes the absolute
root, so the same data on two machines gives the same hash; any changed annotation byte, or a video
appearing or going missing, changes it. Caches and results are keyed by it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..hashing import HASH_LEN
from .records import DatasetIndex


@dataclass
class SplitManifest:
    listed: int                                   # distinct videos the annotations list
    found: int                                    # of those, present on disk
    missing_videos: list[str] = field(default_factory=list)   # relative paths, sorted

    @property
    def missing(self) -> int:
        return len(self.missing_videos)

    def to_dict(self) -> dict[str, Any]:
        return {"listed": self.listed, "found": self.found, "missing": self.missing,
                "missing_videos": list(self.missing_videos)}


@dataclass
class Manifest:
    dataset: str
    root: Path
    classes: int
    splits: dict[str, SplitManifest]
    hash: str
    annotation_files: list[str] = field(default_factory=list)   # relative to the root

    @property
    def listed(self) -> int:
        return sum(s.listed for s in self.splits.values())

    @property
    def missing(self) -> int:
        return sum(s.missing for s in self.splits.values())

    def to_dict(self) -> dict[str, Any]:
        """The ``data check --json`` object (documented keys: dataset, classes, splits, hash)."""
        return {"dataset": self.dataset, "classes": self.classes,
                "splits": {name: s.to_dict() for name, s in self.splits.items()},
                "hash": self.hash}


def _relative(path: Path, prefix: str) -> str:
    """``path`` relative to the root (``prefix`` = root + separator), with forward slashes."""
    text = str(path)
    if text.startswith(prefix):
        text = text[len(prefix):]
    else:                    # readers never produce this; keep the hash machine-independent anyway
        text = os.path.basename(text)
    return text.replace(os.sep, "/") if os.sep != "/" else text


def build_manifest(index: DatasetIndex) -> Manifest:
    root = Path(index.root)
    prefix = str(root).rstrip(os.sep) + os.sep
    h = hashlib.sha256()
    h.update(f"dataset\0{index.name}\0".encode())
    h.update(("classes\0" + "\0".join(index.classes) + "\0").encode())
    annotation_files = sorted({_relative(p, prefix): Path(p) for p in index.annotation_files}.items())
    for rel, path in annotation_files:
        file_hash = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                file_hash.update(block)
        h.update(f"file\0{rel}\0{file_hash.hexdigest()}\0".encode())
    splits: dict[str, SplitManifest] = {}
    for split in sorted(index.splits):
        records = index.splits[split]
        paths = sorted({_relative(r.path, prefix): r.path for r in records}.items())
        missing = [rel for rel, path in paths if not os.path.isfile(path)]
        splits[split] = SplitManifest(listed=len(paths), found=len(paths) - len(missing),
                                      missing_videos=missing)
        h.update(f"split\0{split}\0".encode())
        for rel, _ in paths:
            h.update(f"{rel}\0".encode())
        h.update(b"missing\0")
        for rel in missing:
            h.update(f"{rel}\0".encode())
    # keep the readers' split order for display (train before test), hash order is sorted
    ordered = {name: splits[name] for name in index.splits}
    return Manifest(dataset=index.name, root=root, classes=len(index.classes), splits=ordered,
                    hash=h.hexdigest()[:HASH_LEN], annotation_files=[rel for rel, _ in annotation_files])
