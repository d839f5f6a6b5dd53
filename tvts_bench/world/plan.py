"""What a dataset writer hands back: annotation files (exact bytes), videos to render, and counts.

Planning is cheap and happens in the parent process; rendering + encoding the videos is the slow part
and runs in worker processes, one ``VideoJob`` at a time. Every random draw comes from a generator
seeded by (world seed, dataset, keys), so the world does not depend on worker scheduling.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from .scenes import Scene

_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@dataclass(frozen=True)
class VideoJob:
    relpath: str  # path under the world root, with the extension that picks the codec
    scene: Scene


@dataclass
class DatasetPlan:
    name: str
    files: dict[str, bytes] = field(default_factory=dict)  # relpath under the world root -> content
    jobs: list[VideoJob] = field(default_factory=list)
    # {"splits": {split: videos}, "classes": n, ...}: recorded in world.json, checked by the tests
    counts: dict = field(default_factory=dict)

    def add_text(self, relpath: str, text: str) -> None:
        self.files[relpath] = text.encode("utf-8")


def rng_for(seed: int, dataset: str, *keys: int | str) -> np.random.Generator:
    words = [int(seed) & 0xFFFFFFFF, zlib.crc32(dataset.encode())]
    for k in keys:
        words.append(zlib.crc32(k.encode()) if isinstance(k, str) else int(k) & 0xFFFFFFFF)
    return np.random.default_rng(words)


def youtube_id(rng: np.random.Generator) -> str:
    """An 11-character YouTube-style id (random, so it encodes nothing about the content)."""
    return "".join(_ID_CHARS[int(i)] for i in rng.integers(0, len(_ID_CHARS), 11))


def unique_ids(rng: np.random.Generator, n: int, make) -> list[str]:
    seen: set[str] = set()
    out = []
    while len(out) < n:
        value = make(rng)
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out


def uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return round(float(rng.uniform(*bounds)), 3)
