"""Open a video file and decode chosen frames, with PyAV or decord (seeks frame by frame).

``auto`` (the default) probes every file with PyAV; a video up to ``AUTO_PYAV_MAX_S`` long is then
decoded by PyAV in that same container (one open per clip), a longer one by decord.

``open_video(path, backend)`` returns a ``VideoSource``: ``.num_frames``, ``.fps``, ``.duration``,
``.get_frames(indices) -> uint8 [T, H, W, 3]``. Every failure (missing, empty, truncated, garbage,
no frames) is raised as ``VideoDecodeError(path, problem)`` so loaders can count and skip it.

What we found on this machine (decord 0.6.0, av 18.1) and why the code looks the way it does:
- decord prints ffmpeg and its own log lines to stderr on bad files (``moov atom not found``,
  ``ERROR opening``); its ffmpeg logging is set to QUIET on import (the errors still reach us as
  exceptions, whose text we keep). Garbage, empty and moov-less truncated files raise a Python ``RuntimeError``
  rather than crash, but decord is a C++ library with a history of segfaults on odd input, so a file is
  first probed with PyAV (pure Python exceptions, ffmpeg logging off by default) and only a file that
  PyAV can open is handed to decord. The probe costs one container open (about a millisecond here).
- decord's threaded decoder fails on a file with a damaged middle either at open time or at the first
  batch, not always the same way from run to run; both paths end in the PyAV fallback.
- Import order matters: if decord's bundled ffmpeg loads before PyAV's, PyAV can no longer open the
  libvpx-vp9 encoder in that process (WebM writing fails; decoding works). ``_import_decord`` imports
  av first; other modules should import decord only through it.
- A file truncated after a "faststart" header opens in PyAV with the full frame count but stops
  decoding half way (``InvalidDataError``); decord refuses it at open time. In "auto" mode such files
  fall back to PyAV, which returns the frames that exist (requested indices past the end are clamped
  to the last decodable frame) and lowers ``num_frames`` to the true count, so callers can re-sample.
- PyAV reports ``frames == 0`` for WebM/VP9 streams: the count then comes from demuxing the packets
  (no decoding). decord can count one frame too many at the end of some files: a failing batch is
  retried with the last index pulled in, then handed to PyAV.
- Fuzzing 90 damaged copies of small h264/vp9/mpeg4 files (random byte flips, an overwritten block,
  random truncation) gave Python exceptions or (error-concealed) frames in both libraries: no crash
  and no hang, with or without the probe. A hard crash inside a DataLoader worker would still end the
  run ("worker exited unexpectedly"); the probe is the cheap guard we keep.
- Memory: decord decodes only the requested frames (it seeks); PyAV decodes sequentially from the
  nearest key frame before the first requested frame and keeps only the requested ones.
- Frame size: a file's size says nothing about its frames'. A 198 KB h264 file of 8192x8192 frames
  decodes to 100 MB (YUV) + 200 MB (RGB) per frame, per clip, per worker: it tripled a run's memory.
  Videos whose frames exceed ``MAX_FRAME_PIXELS`` are refused from the stream header, before any frame
  is decoded (and again per decoded frame, for streams that announce no size or change it).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import VideoDecodeError

BACKENDS = ("auto", "decord", "pyav")

# "auto" decodes videos up to this long with PyAV in the container it opened to probe, and hands longer
# ones to decord, whose per-frame seeking skips most of a long video when a few frames are sampled
# across it. Measured on this project's 2-core machine: on the built-in world's 112^2 clips PyAV this
# way was 1.2-2x faster than the PyAV probe + decord; on a 30 s 640x480 h264 file (x264 defaults,
# keyint 250) 238 ms vs 288 ms for 8 TSN frames and 238 vs 372 ms for 16.
AUTO_PYAV_MAX_S = 60.0

# Seeking in PyAV is only worth it (and only risked) when the first wanted frame lies this many seconds
# into the video; short clips are decoded from the start, which is always exact.
_PYAV_SEEK_MIN_S = 2.0

# Largest frame (width x height) a video may have; larger ones are refused with a VideoDecodeError,
# which loaders count and skip like any unreadable video. 4096 x 4096 admits every benchmark dataset
# (4K UHD is 3840 x 2160) and bounds one RGB frame at 48 MiB. TVTS_BENCH_MAX_FRAME_PIXELS overrides it
# (a positive integer) for collections of larger videos.
MAX_FRAME_PIXELS = 4096 * 4096


def max_frame_pixels() -> int:
    """``MAX_FRAME_PIXELS``, or ``TVTS_BENCH_MAX_FRAME_PIXELS`` when set."""
    text = os.environ.get("TVTS_BENCH_MAX_FRAME_PIXELS", "").strip()
    if not text:
        return MAX_FRAME_PIXELS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        from ..errors import ConfigError

        raise ConfigError(f"TVTS_BENCH_MAX_FRAME_PIXELS must be a positive integer, got {text[:40]!r}",
                          hint=f"unset it for the default {MAX_FRAME_PIXELS} (4096 x 4096)")
    return value


class FrameTooLargeError(VideoDecodeError):
    """A video refused for its frame size: never retried with another backend."""


def _check_frame_size(path: Path, width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise FrameTooLargeError(path, f"frames of {width}x{height} pixels exceed the limit of {limit} "
                                     f"pixels per frame; refused before decoding (set "
                                     "TVTS_BENCH_MAX_FRAME_PIXELS to allow larger frames)")


_decord_module = None


def _import_decord():
    """Import decord once and silence its bundled ffmpeg's log lines (failures reach us as exceptions)."""
    global _decord_module
    if _decord_module is None:
        # PyAV must be loaded first: decord bundles its own ffmpeg libraries, and when they load first
        # PyAV's libvpx-vp9 encoder fails to open ("avcodec_open2 returned 22"), which breaks writing
        # WebM (the world generator, test fixtures) later in the same process. Decoding is unaffected.
        try:
            import av  # noqa: F401
        except ImportError:
            pass
        import decord

        try:
            decord.logging.set_level(decord.logging.QUIET)
        except Exception:  # noqa: BLE001 - older decord builds lack the logging module; noise only
            pass
        _decord_module = decord
    return _decord_module


def decord_available() -> bool:
    try:
        _import_decord()
    except Exception:  # noqa: BLE001 - any import failure (missing wheel, bad libs) means "not available"
        return False
    return True


def _count_packets(container, stream) -> int:
    """Frames of a stream whose header has no count (WebM/MKV, some AVI): its packets, not decoded."""
    return sum(1 for packet in container.demux(stream) if packet.size)


class VideoSource:
    """One opened video (or a time segment of one). Indices are 0-based frame numbers."""

    path: Path
    backend: str
    num_frames: int
    fps: float
    height: int
    width: int

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps if self.fps > 0 else 0.0

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Frames at ``indices`` (any order, repeats allowed) as uint8 ``[T, H, W, 3]``.

        Indices outside ``[0, num_frames)`` are clamped: containers misreport counts, and a sampler
        asking for "the last frame" must get the last frame that exists, not an error.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size == 0:
            return np.zeros((0, self.height, self.width, 3), np.uint8)
        idx = np.clip(idx, 0, max(self.num_frames - 1, 0))
        unique, inverse = np.unique(idx, return_inverse=True)
        frames = self._decode_sorted(unique)
        return np.ascontiguousarray(frames[inverse])

    def _decode_sorted(self, unique: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release file handles. A dropped source is closed only by the garbage collector (PyAV's
        containers sit in reference cycles), so callers close what they open."""

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({str(self.path)!r}, backend={self.backend!r}, "
                f"num_frames={self.num_frames}, fps={self.fps:.3f}, size={self.width}x{self.height})")


# ---------------------------------------------------------------------------------------------- PyAV

_LOG_PREFIX = re.compile(r"\[\d\d:\d\d:\d\d\] \S+:\d+: ")     # decord/dmlc "[hh:mm:ss] file.cc:83: "
_ERRNO_PREFIX = re.compile(r"^\[Errno -?\d+\] ")
_QUOTED_TAIL = re.compile(r": '[^']*'$")                           # PyAV repeats the path at the end


def _av_error_text(exc: BaseException) -> str:
    """A one-line problem description from a PyAV/decord exception (the path is named elsewhere)."""
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    text = _ERRNO_PREFIX.sub("", _LOG_PREFIX.sub("", text))
    return _QUOTED_TAIL.sub("", text).strip()[:300] or type(exc).__name__


class PyAVSource(VideoSource):
    """PyAV backend. Holds at most the container it opened for the header, until the first decode or
    ``close()``; it is dropped when pickled, so a source can still cross processes.

    ``count=False`` makes a cheap probe: when the header has no frame count, ``num_frames`` is only an
    estimate from duration x fps instead of a count of the packets (which reads the whole file).
    """

    backend = "pyav"

    def __init__(self, path: Path | str, *, threads: int = 1, count: bool = True):
        import av

        self.path = Path(path)
        self.threads = threads
        self.truncated = False
        self.counted = True
        # The container opened to read the header is kept for the first decode: a second open costs as
        # much as decoding a few small frames (measured 0.4 ms per open, 0.1 ms per 112^2 VP9 frame).
        self._held = None
        self._held_at_start = False
        # "auto" sets this: a clip that PyAV cannot decode to its end is retried with decord.
        self.fallback_to_decord = False
        self.damage = ""             # why the last decode stopped early ("" when it did not)
        limit = max_frame_pixels()   # outside the try below: a bad setting is a ConfigError, not a bad video
        try:
            container = av.open(str(self.path), metadata_errors="ignore")
        except Exception as exc:  # noqa: BLE001 - av raises many error types; all mean "unreadable"
            raise VideoDecodeError(self.path, _av_error_text(exc)) from None
        keep = False
        try:
            if not container.streams.video:
                raise VideoDecodeError(self.path, "the file has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            self.fps = float(rate) if rate else 0.0
            self.time_base = stream.time_base or Fraction(1, 1)
            self.start_pts = stream.start_time or 0
            self.height = int(stream.codec_context.height or 0)
            self.width = int(stream.codec_context.width or 0)
            _check_frame_size(self.path, self.width, self.height, limit)
            if stream.duration is not None and stream.time_base is not None:
                self._container_duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                self._container_duration = container.duration / 1_000_000
            else:
                self._container_duration = 0.0
            n = int(stream.frames or 0)
            at_start = True
            if n <= 0 and count:
                n = _count_packets(container, stream)
                at_start = False
            elif n <= 0:
                self.counted = False
                n = max(1, int(round(self._container_duration * self.fps))) if self.fps > 0 else 1
            self._held, self._held_at_start, keep = container, at_start, True
        except VideoDecodeError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise VideoDecodeError(self.path, _av_error_text(exc)) from None
        finally:
            if not keep:
                container.close()
        if n <= 0:
            self.close()
            raise VideoDecodeError(self.path, "the video stream has no frames")
        if self.fps <= 0:
            self.fps = n / self._container_duration if self._container_duration > 0 else 25.0
        self.num_frames = n

    def count_frames(self) -> None:
        """Replace an estimated frame count (a ``count=False`` probe) by the packet count."""
        if self.counted:
            return
        container = self._take_container()
        try:
            stream = container.streams.video[0]
            n = _count_packets(container, stream)
        except Exception as exc:  # noqa: BLE001
            container.close()
            raise VideoDecodeError(self.path, _av_error_text(exc)) from None
        self._held, self._held_at_start = container, False
        if n <= 0:
            self.close()
            raise VideoDecodeError(self.path, "the video stream has no frames")
        self.num_frames, self.counted = n, True

    def _take_container(self):
        """The held container (rewound if it was read), else a fresh open. The caller closes it."""
        import av

        container, at_start = self._held, self._held_at_start
        self._held = None
        if container is not None and not at_start:
            try:
                container.seek(0)
            except Exception:  # noqa: BLE001 - a file that cannot rewind is simply opened again
                container.close()
                container = None
        if container is None:
            try:
                container = av.open(str(self.path), metadata_errors="ignore")
            except Exception as exc:  # noqa: BLE001
                raise VideoDecodeError(self.path, _av_error_text(exc)) from None
        return container

    def close(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_held"] = None            # an open container cannot cross processes; reopened on demand
        return state

    def _frame_index(self, frame) -> int | None:
        if frame.pts is None:
            return None
        return int(round(float((frame.pts - self.start_pts) * self.time_base) * self.fps))

    def _decode_sorted(self, unique: np.ndarray) -> np.ndarray:
        if not self.fallback_to_decord:
            return self._decode_pyav(unique)
        announced = self.num_frames
        self.damage = ""
        try:
            frames = self._decode_pyav(unique)
        except FrameTooLargeError:
            raise
        except VideoDecodeError as exc:
            frames, error = None, exc
        if frames is not None and not self.damage:
            return frames
        # PyAV stops at the first damaged packet; decord conceals the error and decodes on (measured on
        # fuzzed files: 60 of 60 frames where PyAV gave 30). Healthy files never come here.
        better = self._decode_with_decord(unique, announced)
        if better is not None:
            return better
        if frames is None:
            raise error
        return frames

    def _decode_with_decord(self, unique: np.ndarray, announced: int) -> np.ndarray | None:
        if not decord_available():
            return None
        try:
            alt = DecordSource(self.path, threads=self.threads, size=(self.height, self.width))
            try:
                frames = alt._decode_sorted(np.clip(unique, 0, alt.num_frames - 1))
            finally:
                alt.close()
        except VideoDecodeError:
            return None
        self.num_frames, self.truncated = min(announced, alt.num_frames), False
        self.backend = "pyav->decord"
        return frames

    def _decode_pyav(self, unique: np.ndarray) -> np.ndarray:
        first = int(unique[0])
        if first / self.fps >= _PYAV_SEEK_MIN_S:
            got = self._decode(unique, seek_to=first)
            if got is not None:
                return got
        got = self._decode(unique, seek_to=None)
        assert got is not None
        return got

    def _decode(self, unique: np.ndarray, seek_to: int | None) -> np.ndarray | None:
        """Decode forward and keep the wanted frames. Returns None when a seek did not land at or before
        the first wanted frame (the caller then decodes from the start, which is always exact)."""
        import av
        from av.video.reformatter import VideoReformatter

        wanted = set(int(i) for i in unique)
        first_wanted, last_wanted = int(unique[0]), int(unique[-1])
        kept: dict[int, np.ndarray] = {}
        newest = None            # the most recent decoded frame: stands in for frames past a short end
        newest_index = -1
        stop_reason = ""
        # One converter for all kept frames: a frame's own ``to_ndarray`` builds a new swscale context
        # each time (measured 1.5 ms of 4.6 ms per 8-frame 112^2 clip); the output is identical.
        rgb = VideoReformatter()
        limit = max_frame_pixels()
        container = self._take_container()
        try:
            stream = container.streams.video[0]
            if self.threads != 1:
                stream.thread_type = "AUTO"
                stream.codec_context.thread_count = max(self.threads, 0)
            if seek_to is not None:
                target = int(seek_to / self.fps / self.time_base) + self.start_pts
                try:
                    container.seek(target, stream=stream, backward=True, any_frame=False)
                except Exception:  # noqa: BLE001 - e.g. seeking into a truncated tail: decode from the start
                    return None
            counter = 0
            try:
                for frame in container.decode(stream):
                    if seek_to is not None:
                        index = self._frame_index(frame)
                        if index is None or (newest_index < 0 and index > first_wanted):
                            return None
                    else:
                        index = counter
                    counter += 1
                    if frame.width * frame.height > self.width * self.height:
                        _check_frame_size(self.path, frame.width, frame.height, limit)
                    newest, newest_index = frame, max(newest_index, index)
                    if index in wanted:
                        kept[index] = rgb.reformat(frame, format="rgb24").to_ndarray()
                    if index >= last_wanted:
                        break
            except (av.error.FFmpegError, OSError) as exc:
                # A truncated or damaged stream: keep what decoded; there are fewer frames than announced.
                stop_reason = _av_error_text(exc)
            if newest_index < last_wanted:
                if seek_to is not None and not kept:
                    return None
                self.damage = stop_reason or "the stream ended before the last wanted frame"
                if newest_index < 0:
                    raise VideoDecodeError(self.path, "no frame could be decoded"
                                           + (f" ({stop_reason})" if stop_reason else ""))
                if newest_index + 1 < self.num_frames:
                    self.num_frames = newest_index + 1
                    self.truncated = True
            # The newest frame stands in for wanted frames past a short end; converted only then.
            tail = (rgb.reformat(newest, format="rgb24").to_ndarray()
                    if newest is not None and len(kept) < len(wanted) else None)
        except VideoDecodeError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise VideoDecodeError(self.path, _av_error_text(exc)) from None
        finally:
            container.close()
        # Wanted frames that never came (past a short end, or pts gaps) take the nearest earlier frame.
        available = sorted(kept)
        out = []
        for i in (int(i) for i in unique):
            if i in kept:
                out.append(kept[i])
                continue
            below = [a for a in available if a < i]
            if i > newest_index or not below:
                out.append(tail if i > newest_index or not available else kept[available[0]])
            else:
                out.append(kept[below[-1]])
        return np.stack(out)


# -------------------------------------------------------------------------------------------- decord

class DecordSource(VideoSource):
    """decord backend: seeks and decodes only requested frames. Falls back to PyAV on a bad batch when
    ``fallback`` is set (the "auto" backend)."""

    backend = "decord"

    def __init__(self, path: Path | str, *, threads: int = 1, fallback: bool = False,
                 size: tuple[int, int] | None = None):
        decord = _import_decord()

        limit = max_frame_pixels()
        self.path = Path(path)
        self.threads = threads
        self._fallback_allowed = fallback
        self._delegate: PyAVSource | None = None
        try:
            self._reader = decord.VideoReader(str(self.path), ctx=decord.cpu(0), num_threads=threads)
            n = len(self._reader)
            self.fps = float(self._reader.get_avg_fps() or 0.0)
            if size is not None and min(size) > 0:
                self.height, self.width = size       # from the PyAV probe: no frame decoded here
            elif n > 0:
                shape = self._reader[0].shape
                self._reader.seek(0)
                self.height, self.width = int(shape[0]), int(shape[1])
        except Exception as exc:  # noqa: BLE001 - decord raises RuntimeError / DECORDError / TVMError
            raise VideoDecodeError(self.path, f"decord: {_av_error_text(exc)}") from None
        _check_frame_size(self.path, getattr(self, "width", 0), getattr(self, "height", 0), limit)
        if n <= 0:
            raise VideoDecodeError(self.path, "the video stream has no frames")
        if self.fps <= 0:
            self.fps = 25.0
        self.num_frames = n

    @property
    def truncated(self) -> bool:
        return bool(self._delegate and self._delegate.truncated)

    def _decode_sorted(self, unique: np.ndarray) -> np.ndarray:
        if self._delegate is not None:
            return self._delegate._decode_sorted(np.clip(unique, 0, self._delegate.num_frames - 1))
        try:
            return self._reader.get_batch(unique.tolist()).asnumpy()
        except Exception as first_exc:  # noqa: BLE001
            problem = _av_error_text(first_exc)
        # decord sometimes counts a frame that is not there at the end: pull the tail in and retry.
        for drop in (1, 2):
            if self.num_frames - drop < 1:
                break
            try:
                clamped = np.minimum(unique, self.num_frames - 1 - drop)
                frames = self._reader.get_batch(clamped.tolist()).asnumpy()
                self.num_frames -= drop
                return frames
            except Exception:  # noqa: BLE001
                continue
        if not self._fallback_allowed:
            raise VideoDecodeError(self.path, f"decord: {problem}")
        self._delegate = PyAVSource(self.path, threads=self.threads)
        self._reader = None  # free decord's decoder now; PyAV takes over this file
        frames = self._delegate._decode_sorted(np.clip(unique, 0, self._delegate.num_frames - 1))
        self.num_frames = min(self.num_frames, self._delegate.num_frames)
        self.backend = "decord->pyav"
        return frames

    def close(self) -> None:
        self._reader = None
        if self._delegate is not None:
            self._delegate.close()


# ------------------------------------------------------------------------------------------- segments

class SegmentSource(VideoSource):
    """A time segment ``[start_s, end_s]`` of another source; indices are relative to the segment."""

    def __init__(self, base: VideoSource, start_s: float | None, end_s: float | None):
        self.base = base
        self.path = base.path
        self.fps = base.fps
        self.height, self.width = base.height, base.width
        n = base.num_frames
        start = 0 if start_s is None else int(math.floor(max(start_s, 0.0) * base.fps))
        stop = n if end_s is None else int(math.ceil(end_s * base.fps))
        if start >= n:
            raise VideoDecodeError(base.path, f"segment starts at {start_s:.2f} s, after the video ends "
                                              f"({base.duration:.2f} s, {n} frames)")
        stop = min(max(stop, start + 1), n)
        self.offset = start
        self.num_frames = stop - start

    @property
    def backend(self) -> str:  # type: ignore[override]
        return self.base.backend

    @property
    def truncated(self) -> bool:
        return bool(getattr(self.base, "truncated", False))

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        idx = np.clip(idx, 0, self.num_frames - 1) + self.offset
        frames = self.base.get_frames(idx)
        # The base may have discovered it is shorter than announced (truncated file).
        self.num_frames = max(1, min(self.num_frames, self.base.num_frames - self.offset))
        return frames

    def close(self) -> None:
        self.base.close()


# ------------------------------------------------------------------------------------------ open_video

def _check_file(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise VideoDecodeError(path, "file not found") from None
    except OSError as exc:
        raise VideoDecodeError(path, f"cannot stat the file ({exc.strerror or exc})") from None
    if not path.is_file():
        raise VideoDecodeError(path, "not a regular file")
    if st.st_size == 0:
        raise VideoDecodeError(path, "empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise VideoDecodeError(path, "file is not readable (permissions)")


def open_video(path: Path | str, backend: str = "auto", *, start_s: float | None = None,
               end_s: float | None = None, threads: int = 1) -> VideoSource:
    """Open ``path`` for frame access, optionally restricted to the time segment ``[start_s, end_s]``.

    backend: "decord" (fast seeking), "pyav", or "auto" (decord if installed and it opens the file,
    else PyAV; a decord batch failure later also falls back to PyAV). ``threads`` is decord's decoder
    thread count: 1 by default, because DataLoader workers already parallelise over videos.
    """
    if backend not in BACKENDS:
        from ..errors import ConfigError

        raise ConfigError(f"unknown video backend {backend!r}", hint=f"use one of {', '.join(BACKENDS)}")
    path = Path(path)
    _check_file(path)

    source: VideoSource
    if backend == "auto" and not decord_available():
        backend = "pyav"
    if backend == "pyav":
        source = PyAVSource(path, threads=threads)
    else:
        if not decord_available():
            raise VideoDecodeError(path, "decord is not installed; use backend 'pyav' or 'auto'")
        # Probe with PyAV first: files it cannot even open never reach decord's C++ code.
        probe = PyAVSource(path, threads=threads, count=False)
        if backend == "auto" and probe.duration <= AUTO_PYAV_MAX_S:
            probe.count_frames()
            probe.fallback_to_decord = True
            source = probe
        else:
            try:
                source = DecordSource(path, threads=threads, fallback=(backend == "auto"),
                                      size=(probe.height, probe.width))
                probe.close()
            except VideoDecodeError:
                if backend == "decord":
                    probe.close()
                    raise
                probe.count_frames()
                source = probe
    if start_s is not None or end_s is not None:
        try:
            source = SegmentSource(source, start_s, end_s)
        except VideoDecodeError:
            source.close()
            raise
    return source


def read_frames(path: Path | str, indices: Sequence[int], backend: str = "auto") -> np.ndarray:
    """Convenience: open, decode ``indices``, close."""
    source = open_video(path, backend)
    try:
        return source.get_frames(indices)
    finally:
        source.close()
