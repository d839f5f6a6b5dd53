"""Write frame arrays to video files with PyAV, one codec per container, deterministically.

Every encoder runs single-threaded with fixed settings so that the same frames give the same bytes
(the world is reproducible for a seed), and the container carries no creation time.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import av
import numpy as np


@dataclass(frozen=True)
class Codec:
    """How one file extension is written: muxer, encoder and encoder options."""

    muxer: str
    encoder: str
    options: tuple[tuple[str, str], ...] = ()
    bit_rate: int | None = None


# Extensions the world writes. The real datasets ship these containers (DiDeMo mixes many).
CODECS: dict[str, Codec] = {
    ".mp4": Codec("mp4", "libx264", (("preset", "ultrafast"), ("crf", "23"), ("threads", "1"))),
    ".mov": Codec("mov", "libx264", (("preset", "ultrafast"), ("crf", "23"), ("threads", "1"))),
    ".m4v": Codec("ipod", "libx264", (("preset", "ultrafast"), ("crf", "23"), ("threads", "1"))),
    ".3gp": Codec("3gp", "libx264", (("preset", "ultrafast"), ("crf", "23"), ("threads", "1"))),
    ".mkv": Codec("matroska", "libx264", (("preset", "ultrafast"), ("crf", "23"), ("threads", "1"))),
    ".webm": Codec("webm", "libvpx-vp9", (("deadline", "realtime"), ("cpu-used", "8"), ("crf", "32"),
                                          ("b", "0"), ("threads", "1"), ("row-mt", "0"),
                                          ("lag-in-frames", "0"))),
    ".avi": Codec("avi", "mpeg4", (("threads", "1"),), bit_rate=600_000),
}


def write_image(path: Path | str, frame: np.ndarray) -> int:
    """Write one uint8 [H, W, 3] frame as a JPEG (CC3M's images); returns 1."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8)).save(path, format="JPEG", quality=90)
    return 1


def write_video(path: Path | str, frames: Iterable[np.ndarray], fps: int) -> int:
    """Encode uint8 [H, W, 3] frames (or [T, H, W, 3] chunks) into ``path``; returns the frame count.

    The caller writes into a temporary folder, so a partial file is never seen as complete.
    """
    path = Path(path)
    codec = CODECS[path.suffix.lower()]
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    # bitexact flags keep encoder/muxer version strings and timestamps out of the file.
    with av.open(str(path), mode="w", format=codec.muxer,
                 options={"fflags": "+bitexact"}) as container:
        stream = None
        for chunk in frames:
            chunk = np.asarray(chunk, dtype=np.uint8)
            if chunk.ndim == 3:
                chunk = chunk[None]
            for frame_rgb in chunk:
                if stream is None:
                    height, width = frame_rgb.shape[:2]
                    stream = container.add_stream(codec.encoder, rate=Fraction(fps, 1))
                    stream.width, stream.height = width, height
                    stream.pix_fmt = "yuv420p"
                    stream.time_base = Fraction(1, fps)
                    if codec.bit_rate:
                        stream.bit_rate = codec.bit_rate
                    stream.options = dict(codec.options)
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_rgb), format="rgb24")
                frame.pts = count
                for packet in stream.encode(frame):
                    container.mux(packet)
                count += 1
        if stream is None:
            raise ValueError(f"no frames to write to {path}")
        for packet in stream.encode(None):
            container.mux(packet)
    return count
