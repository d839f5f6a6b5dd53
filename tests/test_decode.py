"""Decoding: both backends return the requested frames (checked by content) for h264, vp9 and mpeg4;
damaged files are reported as VideoDecodeError, never a crash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tvts_bench.data import decode
from tvts_bench.data.decode import PyAVSource, decord_available, open_video
from tvts_bench.world.video_io import FAITHFUL, write_video
from tvts_bench.errors import VideoDecodeError

N, H, W, FPS = 24, 48, 64, 12
# decord has x86_64 wheels only (pyproject installs it there); elsewhere "auto" means PyAV.
needs_decord = pytest.mark.skipif(not decord_available(), reason="decord is not installed")
BACKENDS = [pytest.param("decord", marks=needs_decord), "pyav", "auto"]


def level(i: int) -> int:
    """Grey level of frame i: 10 apart, so a frame is identified despite lossy coding."""
    return 8 + 10 * i


def counter_frames(n: int = N, h: int = H, w: int = W) -> np.ndarray:
    return np.stack([np.full((h, w, 3), level(i), np.uint8) for i in range(n)])


def levels_of(frames: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
    return frames[:, rows].reshape(len(frames), -1).mean(axis=1)


def long_frames(n: int = 90, seed: int = 0) -> np.ndarray:
    """Frames with a noisy top band (so the file is mostly picture data and truncation cuts frames)
    and a flat lower part whose grey level encodes the frame number."""
    rng = np.random.default_rng(seed)
    frames = np.stack([np.full((H, W, 3), 20 + (7 * i) % 200, np.uint8) for i in range(n)])
    frames[:, :16] = rng.integers(0, 256, (n, 16, W, 3), dtype=np.uint8)
    return frames


def long_level(i: int) -> int:
    return 20 + (7 * i) % 200


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("videos")
    frames = counter_frames()
    out = {}
    for ext in ("mp4", "webm", "avi"):
        write_video(root / f"counter.{ext}", frames, FPS, codecs=FAITHFUL)
        out[ext] = root / f"counter.{ext}"
    write_video(root / "long.mp4", long_frames(), 15, codecs=FAITHFUL, options={"g": "12"}, faststart=True)
    out["long"] = root / "long.mp4"
    data = out["long"].read_bytes()
    (root / "half.mp4").write_bytes(data[: len(data) // 2])     # header first: frames are cut
    out["half"] = root / "half.mp4"
    tail_moov = out["mp4"].read_bytes()
    (root / "headless.mp4").write_bytes(tail_moov[: len(tail_moov) // 2])   # moov at the end: lost
    out["headless"] = root / "headless.mp4"
    (root / "garbage.mp4").write_bytes(np.random.default_rng(1).integers(0, 256, 4000, np.uint8).tobytes())
    out["garbage"] = root / "garbage.mp4"
    (root / "empty.webm").write_bytes(b"")
    out["empty"] = root / "empty.webm"
    (root / "notes.avi").write_text("this is not a video\n")
    out["text"] = root / "notes.avi"
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ext", ["mp4", "webm", "avi"])
def test_backends_return_requested_frames(videos, ext, backend):
    source = open_video(videos[ext], backend)
    assert source.num_frames == N
    assert source.fps == pytest.approx(FPS)
    assert source.duration == pytest.approx(N / FPS)
    wanted = [0, 5, 23, 5, 11]
    frames = source.get_frames(wanted)
    assert frames.dtype == np.uint8 and frames.shape == (len(wanted), H, W, 3)
    np.testing.assert_allclose(levels_of(frames), [level(i) for i in wanted], atol=4)


def test_pyav_counts_webm_frames_without_header_count(videos):
    import av

    with av.open(str(videos["webm"])) as container:
        assert container.streams.video[0].frames == 0      # the case the demux count exists for
    assert PyAVSource(videos["webm"]).num_frames == N


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_of_range_indices_are_clamped(videos, backend):
    frames = open_video(videos["mp4"], backend).get_frames([40, -3, 23])
    np.testing.assert_allclose(levels_of(frames), [level(23), level(0), level(23)], atol=4)


@needs_decord
def test_pyav_seek_path_matches_sequential_decode(videos):
    source = PyAVSource(videos["long"])
    wanted = np.array([40, 41, 77, 89])        # 40 / 15 fps > 2 s: the seeking path is taken
    seeked = source._decode(wanted, seek_to=40)
    sequential = source._decode(wanted, seek_to=None)
    assert seeked is not None
    np.testing.assert_array_equal(seeked, sequential)
    np.testing.assert_allclose(levels_of(seeked, slice(16, None)), [long_level(i) for i in wanted], atol=3)
    via_decord = open_video(videos["long"], "decord").get_frames(wanted)
    np.testing.assert_allclose(levels_of(via_decord, slice(16, None)), levels_of(seeked, slice(16, None)),
                               atol=2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_time_segment(videos, backend):
    source = open_video(videos["mp4"], backend, start_s=0.5, end_s=1.5)   # frames 6 .. 17
    assert source.num_frames == 12
    frames = source.get_frames([0, 11, 20])
    np.testing.assert_allclose(levels_of(frames), [level(6), level(17), level(17)], atol=4)


def test_segment_after_the_end_is_reported(videos):
    with pytest.raises(VideoDecodeError, match="after the video ends"):
        open_video(videos["mp4"], "auto", start_s=10.0, end_s=12.0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, problem", [("garbage", "Invalid data"), ("empty", "empty file"),
                                           ("text", "Invalid data"), ("headless", "Invalid data")])
def test_unreadable_files_raise_decode_error(videos, name, backend, problem):
    with pytest.raises(VideoDecodeError, match=problem) as info:
        open_video(videos[name], backend).get_frames([0])
    assert info.value.path == videos[name]
    assert str(videos[name]) in str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_file(tmp_path, backend):
    with pytest.raises(VideoDecodeError, match="file not found"):
        open_video(tmp_path / "nope.mp4", backend)


@needs_decord
def test_garbage_never_reaches_decord(videos, monkeypatch):
    import decord

    calls = []
    monkeypatch.setattr(decord, "VideoReader", lambda *a, **k: calls.append(a))
    with pytest.raises(VideoDecodeError):
        open_video(videos["garbage"], "decord")
    assert calls == []


@pytest.mark.parametrize("backend", ["pyav", "auto"])
def test_truncated_file_decodes_what_exists(videos, backend):
    source = open_video(videos["half"], backend)
    announced = source.num_frames
    assert announced == 90                            # the header survives the cut
    frames = source.get_frames([0, 10, 89])
    assert frames.shape == (3, H, W, 3)
    assert source.num_frames < announced              # the true count is learnt while decoding
    last = source.num_frames - 1
    np.testing.assert_allclose(levels_of(frames, slice(16, None)),
                               [long_level(0), long_level(10), long_level(last)], atol=3)


@needs_decord
def test_truncated_file_with_decord_reports_or_decodes(videos):
    try:
        frames = open_video(videos["half"], "decord").get_frames([0, 89])
    except VideoDecodeError as exc:
        assert "decord" in str(exc)
    else:
        assert frames.shape == (2, H, W, 3)


@needs_decord
def test_decord_off_by_one_end_is_absorbed(videos, monkeypatch):
    """decord may count a last frame it cannot decode: the batch is retried with the tail pulled in."""
    source = open_video(videos["mp4"], "decord")
    reader = source._reader
    real = reader.get_batch

    def failing_last(indices):
        if N - 1 in indices:
            raise RuntimeError("decord: frame does not exist")
        return real(indices)

    monkeypatch.setattr(reader, "get_batch", failing_last)
    frames = source.get_frames([0, N - 1])
    assert source.num_frames == N - 1
    np.testing.assert_allclose(levels_of(frames), [level(0), level(N - 2)], atol=4)


@needs_decord
def test_auto_decodes_short_videos_with_pyav_in_the_probe_container(videos, monkeypatch):
    opens = []
    real_open = decode.PyAVSource._take_container

    def counting(self):
        opens.append(self._held is None)          # True = a fresh open was needed
        return real_open(self)

    monkeypatch.setattr(decode.PyAVSource, "_take_container", counting)
    source = open_video(videos["webm"], "auto")
    assert source.backend == "pyav" and source.num_frames == N     # counted, not estimated
    frames = source.get_frames([3, 20])
    assert opens == [False, False]                # the count and the decode reused the probe's container
    np.testing.assert_array_equal(frames, open_video(videos["webm"], "decord").get_frames([3, 20]))
    assert source.get_frames([5]).shape == (1, H, W, 3)            # a second call reopens the file
    assert opens[-1] is True


@needs_decord
def test_auto_falls_back_to_pyav_when_decord_batch_fails(videos, monkeypatch):
    monkeypatch.setattr(decode, "AUTO_PYAV_MAX_S", 0.0)      # the long-video route goes through decord
    source = open_video(videos["webm"], "auto")
    assert source.backend == "decord"

    def broken(indices):
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(source._reader, "get_batch", broken)
    frames = source.get_frames([3, 20])
    assert source.backend == "decord->pyav"
    np.testing.assert_allclose(levels_of(frames), [level(3), level(20)], atol=4)


@needs_decord
def test_auto_uses_pyav_when_decord_cannot_open(videos, monkeypatch):
    def refuse(*args, **kwargs):
        raise VideoDecodeError(args[0], "decord: nope")

    monkeypatch.setattr(decode, "DecordSource", refuse)
    monkeypatch.setattr(decode, "AUTO_PYAV_MAX_S", 0.0)
    source = open_video(videos["avi"], "auto")
    assert source.backend == "pyav"
    assert source.get_frames([7]).shape == (1, H, W, 3)
    with pytest.raises(VideoDecodeError, match="decord: nope"):
        open_video(videos["avi"], "decord")


def test_unknown_backend_is_a_config_error(videos):
    from tvts_bench.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown video backend"):
        open_video(videos["mp4"], "ffmpeg-cli")


def test_truncated_file_requests_only_past_the_end(videos):
    """The seek path (first wanted frame > 2 s in) must also land on the last frame that exists."""
    source = open_video(videos["half"], "pyav")
    frames = source.get_frames([60, 80])
    assert source.num_frames < 60
    np.testing.assert_allclose(levels_of(frames, slice(16, None)), [long_level(source.num_frames - 1)] * 2,
                               atol=3)


@needs_decord
def test_loading_decord_keeps_pyav_webm_writer_working(tmp_path):
    """decord's bundled ffmpeg, loaded before PyAV's, breaks PyAV's vp9 encoder: checked in a fresh
    interpreter, because this one has long loaded both."""
    import subprocess
    import sys

    code = ("from tvts_bench.data.decode import decord_available\n"
            "import numpy as np\n"
            "assert decord_available()\n"
            "from tvts_bench.world.video_io import write_video\n"
            f"write_video({str(tmp_path / 'a.webm')!r}, np.zeros((4, 16, 16, 3), np.uint8), 12)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "a.webm").stat().st_size > 0


def test_pyav_source_pickles_without_its_open_container(videos):
    import pickle

    source = PyAVSource(videos["webm"])
    assert source._held is not None
    clone = pickle.loads(pickle.dumps(source))
    np.testing.assert_array_equal(clone.get_frames([2, 9]), source.get_frames([2, 9]))


@needs_decord
def test_auto_retries_a_clip_pyav_cannot_finish_with_decord(videos, monkeypatch):
    """PyAV stops at the first damaged packet; decord conceals it. A clip PyAV ends early is retried."""
    real = decode.PyAVSource._decode_pyav

    def stops_early(self, unique):          # as on a file damaged after frame 4
        frames = real(self, np.minimum(unique, 4))
        self.num_frames, self.truncated, self.damage = 5, True, "Invalid data found when processing input"
        return frames

    monkeypatch.setattr(decode.PyAVSource, "_decode_pyav", stops_early)
    source = open_video(videos["webm"], "auto")
    frames = source.get_frames([3, 20])
    assert source.backend == "pyav->decord" and source.num_frames == N and not source.truncated
    np.testing.assert_array_equal(frames, open_video(videos["webm"], "decord").get_frames([3, 20]))

    def refuse(*args, **kwargs):
        raise VideoDecodeError(args[0], "decord: nope")

    monkeypatch.setattr(decode, "DecordSource", refuse)   # decord cannot help: PyAV's frames stand
    source = open_video(videos["webm"], "auto")
    assert source.get_frames([3, 20]).shape == (2, H, W, 3)
    assert source.backend == "pyav" and source.num_frames == 5 and source.truncated


# ------------------------------------------------------------------------ frame-size cap (hostile input)

_WRITE_SQUARE = """
import sys, av
path, side = sys.argv[1], int(sys.argv[2])
container = av.open(path, "w")
stream = container.add_stream("libx264", rate=1)
stream.width = stream.height = side
stream.pix_fmt = "yuv420p"
stream.options = {"crf": "51", "preset": "ultrafast"}
frame = av.VideoFrame(side, side, "yuv420p")
for plane in frame.planes:
    plane.update(bytes(plane.buffer_size))
for _ in range(2):
    for packet in stream.encode(frame):
        container.mux(packet)
for packet in stream.encode():
    container.mux(packet)
container.close()
"""

_OPEN_AND_MEASURE = """
import resource, sys
from tvts_bench.data.decode import read_frames
from tvts_bench.errors import VideoDecodeError
try:
    shape = read_frames(sys.argv[1], [0, 1], backend=sys.argv[2]).shape
    outcome = f"decoded {shape}"
except VideoDecodeError as exc:
    outcome = f"refused: {exc}"
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
print(outcome)
"""


def _open_in_fresh_process(path: Path, backend: str) -> tuple[int, str]:
    """(peak RSS in MB, outcome) of decoding frames 0 and 1 in a new interpreter."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _OPEN_AND_MEASURE, str(path), backend],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rss, outcome = proc.stdout.strip().splitlines()[-2:]
    return int(rss), outcome


def test_8192x8192_video_is_refused_from_its_header_in_bounded_memory(tmp_path):
    """A 198 KB h264 file of two black 8192x8192 frames: decoded, each frame is 100 MB of YUV and
    200 MB of RGB. It is refused before any frame is decoded, with no more memory than a small video."""
    import subprocess
    import sys

    huge, small = tmp_path / "huge.mp4", tmp_path / "small.mp4"
    for path, side in ((huge, 8192), (small, 64)):        # written in a child: encoding takes 700 MB
        subprocess.run([sys.executable, "-c", _WRITE_SQUARE, str(path), str(side)], check=True,
                       timeout=180, capture_output=True)
    assert huge.stat().st_size < 400_000
    baseline, outcome = _open_in_fresh_process(small, "pyav")
    assert outcome.startswith("decoded (2, 64, 64, 3)"), outcome
    for backend in ["pyav", "auto"] + (["decord"] if decord_available() else []):
        rss, outcome = _open_in_fresh_process(huge, backend)
        assert outcome.startswith("refused:") and "8192x8192" in outcome, (backend, outcome)
        assert "TVTS_BENCH_MAX_FRAME_PIXELS" in outcome
        assert rss < baseline + 100, (backend, rss, baseline)


def test_frame_limit_is_configurable_and_refusals_are_counted_by_the_loader(videos, monkeypatch):
    from tvts_bench.data.loader import ClipDataset
    from tvts_bench.data.records import VideoRecord
    from tvts_bench.errors import ConfigError
    from tvts_bench.zoo.base import Preprocess

    monkeypatch.setenv("TVTS_BENCH_MAX_FRAME_PIXELS", str(H * W - 1))
    for backend in ("pyav", "auto"):
        with pytest.raises(decode.FrameTooLargeError, match=f"{W}x{H}"):
            open_video(videos["mp4"], backend)
    pre = Preprocess(num_frames=2, size=16, short_side=16, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    record = VideoRecord(video_id="v", path=videos["mp4"], split="test")
    item = ClipDataset([record], pre, train=False)[0]
    assert not item["ok"] and "exceed the limit" in item["error"]
    monkeypatch.setenv("TVTS_BENCH_MAX_FRAME_PIXELS", str(H * W))
    assert open_video(videos["mp4"], "pyav").get_frames([0]).shape == (1, H, W, 3)
    for bad in ("0", "-5", "lots"):
        monkeypatch.setenv("TVTS_BENCH_MAX_FRAME_PIXELS", bad)
        with pytest.raises(ConfigError, match="TVTS_BENCH_MAX_FRAME_PIXELS"):
            open_video(videos["mp4"], "pyav")


def test_decoded_frames_larger_than_the_header_said_are_refused(videos, monkeypatch):
    """Streams may announce no size (0x0) or change it mid-stream: each decoded frame is checked too,
    and the refusal is not retried with decord."""
    for backend in ("pyav", "auto"):
        source = open_video(videos["mp4"], backend)
        monkeypatch.setenv("TVTS_BENCH_MAX_FRAME_PIXELS", "1000")
        source.width = source.height = 0
        with pytest.raises(decode.FrameTooLargeError):
            source.get_frames([0, 3])
        monkeypatch.delenv("TVTS_BENCH_MAX_FRAME_PIXELS")
        source.close()
