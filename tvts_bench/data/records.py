"""The one record type every reader yields, and the dataset index it lives in.

Nothing downstream of a reader knows which dataset a record came from: classification tasks use
``label``, retrieval tasks ``captions`` (and ``moments`` for DiDeMo), pretraining ``words``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class VideoRecord:
    video_id: str
    path: Path                      # absolute, resolved under the dataset root
    split: str                      # "train", "val", "test", ...
    label: int | None = None        # class index (classification datasets)
    label_name: str | None = None
    captions: tuple[str, ...] = ()  # retrieval / caption datasets
    moments: tuple[tuple[float, float], ...] = ()   # DiDeMo moment times in seconds, one per caption
    start: float | None = None      # clip start/end in seconds within ``path`` when the record is a segment
    end: float | None = None
    words: tuple[tuple[str, float], ...] = ()       # word-timed ASR (YT-Temporal): (word, start time)
    duration: float | None = None   # from annotations, when they give it


@dataclass
class DatasetIndex:
    """All records of one dataset root, by split, plus what is needed to hash and check it."""

    name: str                                   # short name: ssv2, k400, ...
    root: Path
    classes: list[str] = field(default_factory=list)    # index -> class name ([] for retrieval)
    splits: dict[str, list[VideoRecord]] = field(default_factory=dict)
    annotation_files: list[Path] = field(default_factory=list)   # files read, for the content hash
    # Warnings about how the files were read that change what a number means (e.g. MSR-VTT without the
    # 1k-A lists): the runner prints them and copies them into every result of the dataset.
    notes: list[str] = field(default_factory=list)

    def records(self, split: str) -> list[VideoRecord]:
        from ..errors import ConfigError

        if split not in self.splits:
            raise ConfigError(f"dataset {self.name} at {self.root} has no split {split!r}",
                              hint=f"available: {', '.join(self.splits) or 'none'}")
        return self.splits[split]
