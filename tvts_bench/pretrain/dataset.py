"""Pretraining samples: a record -> (clip over [S_1, E_K], K shuffled transcripts, their order).

Every random choice of a sample (windows, shuffle, frame jitter, crop) comes from a generator seeded
by ``(seed, epoch, index)``, never from a worker's RNG: the same sample comes out whatever the number
of workers, and a resumed run sees exactly the batches it would have seen.

Transcripts (``transcripts``: auto | denoised | subtitles): by default the denoised words, DTW-aligned
to the subtitle times as the authors' loader does, for every video whose annotation has ``denoised``
sentences; the raw ``subtitles`` words otherwise (see ``tvts_bench.data.readers.yttemporal``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.preprocess import Preprocess
from ..data.readers.yttemporal import TRANSCRIPT_MODES, TRANSCRIPT_SOURCES, transcript_source, transcript_words
from ..data.records import VideoRecord
from ..data.sampler import EpochBatches  # noqa: F401 - re-exported: the sampler that yields these keys
from ..errors import ConfigError, TvtsBenchError
from .windows import sample_windows


def transcript_summary(records: Sequence[VideoRecord], mode: str = "auto") -> dict[str, Any]:
    """``{"mode", "source": denoised | subtitles | mixed | none, "counts": {source: videos}}``."""
    if mode not in TRANSCRIPT_MODES:
        raise ConfigError(f"unknown transcript mode {mode!r}", hint=f"choose one of: {', '.join(TRANSCRIPT_MODES)}")
    counts = {s: 0 for s in TRANSCRIPT_SOURCES}
    for rec in records:
        counts[transcript_source(rec, mode)] += 1
    used = [s for s in ("denoised", "subtitles") if counts[s]]
    source = used[0] if len(used) == 1 else "mixed" if used else "none"
    return {"mode": mode, "source": source, "counts": counts}


def describe_transcripts(summary: dict[str, Any]) -> str:
    c = summary["counts"]
    parts = []
    if c["denoised"]:
        parts.append(f"denoised (DTW-aligned to subtitle times) for {c['denoised']}")
    if c["subtitles"]:
        parts.append(f"raw subtitles for {c['subtitles']}")
    if c["none"]:
        parts.append(f"none for {c['none']} (skipped)")
    return f"transcripts ({summary['mode']}): {summary['source']}: " + ", ".join(parts or ["no videos"])


class PretrainDataset(Dataset):
    """Items are addressed by ``(epoch, index)`` (see :class:`tvts_bench.data.sampler.EpochBatches`)."""

    # Corpora up to this many subtitle words are aligned once, up front (about 3 ms per built-in world
    # video), so that loader processes inherit the result instead of redoing it every epoch.
    PRECOMPUTE_WORDS = 200_000

    def __init__(self, records: Sequence[VideoRecord], preprocess: Preprocess, *, train: bool, seed: int,
                 k: int = 4, backend: str = "auto", max_tries: int = 10, transcripts: str = "auto",
                 precompute: bool | None = None):
        from ..data.transforms import ClipTransform

        if transcripts not in TRANSCRIPT_MODES:
            raise ConfigError(f"unknown transcript mode {transcripts!r}",
                              hint=f"choose one of: {', '.join(TRANSCRIPT_MODES)}")
        self.transcripts = transcripts
        self._words: dict[int, tuple] = {}      # index -> timed words (aligned once per process)
        self.records = list(records)
        if precompute is None:
            precompute = sum(len(r.words) for r in self.records) <= self.PRECOMPUTE_WORDS
        if precompute:
            for i in range(len(self.records)):
                self.words(i)
        self.preprocess = preprocess
        self.train = train
        self.seed = seed
        self.k = k
        self.backend = backend
        self.max_tries = max_tries
        self.transform = ClipTransform(preprocess, train=train)

    def __len__(self) -> int:
        return len(self.records)

    def _rng(self, epoch: int, index: int) -> np.random.Generator:
        # Validation draws the same windows every time: its seed ignores the epoch.
        return np.random.default_rng([self.seed, epoch if self.train else 0, index, 0x7475])

    def __getitem__(self, key: tuple[int, int] | int) -> dict[str, Any]:
        # Small per-clip tensor ops are many times slower with several intra-op threads on a busy
        # machine (measured: 90 ms vs 20 ms per clip on 2 shared cores); loader workers already run
        # single-threaded, the main process is switched for the duration of one item.
        threads = torch.get_num_threads()
        if threads > 1:
            torch.set_num_threads(1)
        try:
            return self._item(key)
        finally:
            if threads > 1:
                torch.set_num_threads(threads)

    def words(self, index: int) -> tuple[tuple[str, float], ...]:
        """The timed transcript words of record ``index`` (denoised or subtitles, see ``transcripts``)."""
        if index not in self._words:
            self._words[index] = transcript_words(self.records[index], self.transcripts)[0]
        return self._words[index]

    def _item(self, key: tuple[int, int] | int) -> dict[str, Any]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        rec = self.records[index]
        rng = self._rng(epoch, index)
        ws = sample_windows(self.words(index), rec.duration or 0.0, rng, k=self.k, max_tries=self.max_tries)
        if ws is None:
            return {"ok": False, "index": index, "reason": "no_words",
                    "error": f"{rec.video_id}: no {self.k} windows with words found"}
        from ..data.decode import open_video
        from ..data.sampling import span_indices

        try:
            src = open_video(rec.path, self.backend)
            try:
                idx = span_indices(src.fps, src.num_frames, ws.start, ws.end, self.preprocess.num_frames,
                                   train=self.train, rng=rng)
                frames = src.get_frames(idx)
            finally:
                close = getattr(src, "close", None)
                if close:
                    close()
            video = self.transform(frames, rng)[0]                     # [C, T, H, W]
        except (TvtsBenchError, ValueError, RuntimeError, OSError) as e:
            return {"ok": False, "index": index, "reason": "decode", "error": f"{rec.path}: {e}"}
        return {"ok": True, "index": index, "video": video, "texts": list(ws.shuffled),
                "order": torch.tensor(ws.order, dtype=torch.long)}


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the good items; failed ones are dropped and reported in ``failed`` [(index, reason, error)]."""
    good = [it for it in items if it["ok"]]
    failed = [(it["index"], it["reason"], it["error"]) for it in items if not it["ok"]]
    out: dict[str, Any] = {"index": [it["index"] for it in good], "failed": failed, "size": len(good)}
    if good:
        out["video"] = torch.stack([it["video"] for it in good])
        out["texts"] = [it["texts"] for it in good]
        out["order"] = torch.stack([it["order"] for it in good])
    return out
