"""Decoded-frame cache: every frame of a video, decoded once at the model's input resolution.

Work that reads the same videos many times (fine-tuning epochs, calibration's supervised runs)
otherwise pays the decoder again every epoch; on 2 cores decoding costs several times the small
model's own step. The cache stores all frames of a video (or of a record's time segment), resized to
the preprocessing's short side with the same function the transform uses (``resize_short_side``), as
one uint8 ``.npy`` file read back memory-mapped. Its key is the file's identity (resolved path, size,
modification time, inode), the segment and the short side, so a changed video or another resolution
is a miss. ``CachedVideo`` offers the ``VideoSource`` interface, so samplers and transforms are
unchanged: a clip read through the cache is bit-identical to one decoded directly.

A size estimate is taken before the first write (frames x short side^2 x 3 per video, from the first
videos cached); past ``max_bytes`` the cache stops adding files and the loader decodes as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, write_json
from .decode import VideoSource, open_video

DEFAULT_MAX_BYTES = 8 << 30


class CachedVideo(VideoSource):
    """A video's frames from the cache (memory-mapped), behind the ``VideoSource`` interface."""

    def __init__(self, path: Path, frames: np.ndarray, fps: float):
        self.path = path
        self.backend = "frame-cache"
        self._frames = frames
        self.num_frames = int(frames.shape[0])
        self.fps = float(fps)
        self.height, self.width = int(frames.shape[1]), int(frames.shape[2])

    def _decode_sorted(self, unique: np.ndarray) -> np.ndarray:
        return np.asarray(self._frames[unique])


class FrameCache:
    """Decoded frames of videos at one short side, under ``root``."""

    def __init__(self, root: Path | str, short_side: int, *, max_bytes: int = DEFAULT_MAX_BYTES):
        self.root = Path(root)
        self.short_side = int(short_side)
        self.max_bytes = int(max_bytes)
        self.hits = 0
        self.misses = 0
        self.full = False
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:             # loader worker processes get their own lock
        state = dict(self.__dict__)
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _key(self, path: Path, start_s: float | None, end_s: float | None) -> str:
        st = path.stat()
        ident = [str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, start_s, end_s, self.short_side]
        return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:32]

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.glob("*.npy")) if self.root.is_dir() else 0

    def open(self, path: Path | str, backend: str = "auto", *, start_s: float | None = None,
             end_s: float | None = None) -> VideoSource:
        """The cached video, decoding and storing it on a miss (or, when full, the plain decoder)."""
        from .transforms import resize_short_side

        path = Path(path)
        key = self._key(path, start_s, end_s)
        npy, meta = self.root / f"{key}.npy", self.root / f"{key}.json"
        if npy.is_file() and meta.is_file():
            try:
                info = json.loads(meta.read_text())
                frames = np.load(npy, mmap_mode="r")
                self.hits += 1
                return CachedVideo(path, frames, float(info["fps"]))
            except (OSError, ValueError, KeyError):
                pass                                   # a damaged entry is rebuilt below
        source = open_video(path, backend, start_s=start_s, end_s=end_s)
        if self.full:
            return source
        try:
            raw = source.get_frames(np.arange(source.num_frames))
            fps = source.fps
        finally:
            source.close()
        import torch

        resized = resize_short_side(torch.from_numpy(raw).permute(0, 3, 1, 2), self.short_side)
        frames = np.ascontiguousarray(resized.permute(0, 2, 3, 1).numpy())
        with self._lock:
            self.misses += 1
            if self.size_bytes() + frames.nbytes > self.max_bytes:
                self.full = True               # stop growing; this and later videos are decoded each time
                return CachedVideo(path, frames, fps)
            self.root.mkdir(parents=True, exist_ok=True)
            with atomic_path(npy) as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, frames)
            write_json(meta, {"fps": fps, "path": str(path), "frames": int(frames.shape[0]),
                              "short_side": self.short_side, "pid": os.getpid()})
        return CachedVideo(path, frames, fps)

    def estimate_bytes(self, num_videos: int, frames_per_video: float, aspect: float = 1.0) -> int:
        """Bytes for ``num_videos`` videos of ``frames_per_video`` frames at this short side."""
        return int(num_videos * frames_per_video * self.short_side ** 2 * aspect * 3)
