"""Write frame arrays to video files with PyAV, one codec per container, deterministically: the one
video writer of the project (the world's datasets, and the test videos).

Every encoder of ``CODECS`` runs single-threaded with fixed settings so that the same frames give the
same bytes (the world is reproducible for a seed), and the container carries no creation time.
``FAITHFUL`` encodes nearly losslessly instead, for videos whose decoded pixels are checked (tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Mapping

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

# Nearly lossless (x264 crf 12, mpeg4 qscale 2, vp9 at libvpx's defaults): decoded frames stay within a
# few grey levels of the written ones.
FAITHFUL: dict[str, Codec] = {
    **{ext: Codec(CODECS[ext].muxer, "libx264", (("crf", "12"),)) for ext in (".mp4", ".mov", ".m4v", ".3gp", ".mkv")},
    ".webm": Codec("webm", "libvpx-vp9"),
    ".avi": Codec("avi", "mpeg4", (("qscale", "2"),)),
}


def write_image(path: Path | str, frame: np.ndarray) -> int:
    """Write one uint8 [H, W, 3] frame as a JPEG (CC3M's images); returns 1."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8)).save(path, format="JPEG", quality=90)
    return 1


def write_video(path: Path | str, frames: Iterable[np.ndarray], fps: float, *,
                codecs: Mapping[str, Codec] = CODECS, options: Mapping[str, str] | None = None,
                faststart: bool = False) -> int:
    """Encode uint8 [H, W, 3] frames (or [T, H, W, 3] chunks, or one [T, H, W, 3] array) into ``path``
    with the codec ``codecs`` gives its extension; returns the frame count.

    ``options`` override the codec's encoder options (``{"g": "12"}``: a keyframe every 12 frames);
    ``faststart`` moves an MP4's index to the front. H and W must be even (yuv420p). The world writes
    into a temporary folder, so a partial file is never seen as complete.
    """
    path = Path(path)
    codec = codecs.get(path.suffix.lower())
    if codec is None:
        raise ValueError(f"{path}: no codec for {path.suffix!r} (known: {', '.join(sorted(codecs))})")
    rate = Fraction(fps).limit_denominator(1001)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    # bitexact flags keep encoder/muxer version strings and timestamps out of the file.
    container_options = {"fflags": "+bitexact", **({"movflags": "+faststart"} if faststart else {})}
    with av.open(str(path), mode="w", format=codec.muxer, options=container_options) as container:
        stream = None
        for chunk in frames:
            chunk = np.asarray(chunk, dtype=np.uint8)
            if chunk.ndim == 3:
                chunk = chunk[None]
            for frame_rgb in chunk:
                if stream is None:
                    height, width = frame_rgb.shape[:2]
                    stream = container.add_stream(codec.encoder, rate=rate)
                    stream.width, stream.height = width, height
                    stream.pix_fmt = "yuv420p"
                    stream.time_base = 1 / rate
                    if codec.bit_rate:
                        stream.bit_rate = codec.bit_rate
                    stream.options = {**dict(codec.options), **dict(options or {})}
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
