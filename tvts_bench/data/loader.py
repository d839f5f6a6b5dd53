"""Datasets and loaders of clips: records -> decoded, sampled, transformed ``[V, C, T, H, W]`` tensors.

A video that cannot be decoded never stops a run: its item comes back with ``ok=False`` and an error
string, ``collate_clips`` drops it from the batch but lists it under ``failed``, and a ``DecodeReport``
the caller updates from each batch counts and names the unreadable files for the run's report.

Randomness is a pure function of ``(seed, epoch, index)``: the same item gets the same frames and crop
whichever worker decodes it and however many workers there are. Because persistent workers keep their
own copy of the dataset, the epoch travels with each index (``sampler.ClipSampler`` yields
``(index, epoch)`` keys), so ``loader.set_epoch(e)`` takes effect inside running workers too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..distributed import all_gather_object, initialized
from ..distributed import world as _dist_world  # tests shard by patching this name
from ..errors import VideoDecodeError
from .decode import BACKENDS, VideoSource, open_video
from .preprocess import Preprocess
from .records import VideoRecord
from .sampler import ClipSampler  # noqa: F401 - re-exported: callers import the sampler from here
from .sampling import clip_indices
from .transforms import ClipTransform

if TYPE_CHECKING:
    from .frame_cache import FrameCache

FRAME_OPS = (None, "shuffle", "repeat", "reverse")
MODES = ("tsn", "dense")

# Custom frame choice (pretraining spans, ...): (source, record, rng) -> indices [m] or [clips, m].
IndexFn = Callable[[VideoSource, VideoRecord, np.random.Generator], np.ndarray]

_SHUFFLE_STREAM = 0x5EED  # separates the fixed frame-shuffle permutation from the per-epoch draws


class ClipDataset(Dataset):
    """Clips of ``records``: ``clips`` temporal x ``crops`` spatial views per item (clip-major order).

    item = {"video": float [V, C, T, S, S] (V = clips * crops), "index": int, "ok": bool, "error": str,
            "path": str, "label": int (-1 when the record has none), "truncated": bool}
    Records with ``start``/``end`` are decoded as that time segment of their file.
    ``frame_op`` (temporal-sensitivity diagnostic): "shuffle" permutes the sampled frames with a
    permutation fixed per (seed, index); "repeat" repeats the clip's middle frame T times; "reverse"
    plays the sampled frames backwards (the same frames as "normal": only their order changes).
    """

    def __init__(self, records: Sequence[VideoRecord], preprocess: Preprocess, *, train: bool,
                 clips: int = 1, crops: int = 1, mode: str = "tsn", stride: int | None = None,
                 backend: str = "auto", frame_op: str | None = None, seed: int = 0,
                 index_fn: IndexFn | None = None, frame_cache: "FrameCache | None" = None):
        if mode not in MODES:
            raise ValueError(f"unknown sampling mode {mode!r} (use one of {MODES})")
        if mode == "dense" and (stride is None or stride < 1):
            raise ValueError("dense sampling needs stride >= 1")
        if frame_op not in FRAME_OPS:
            raise ValueError(f"unknown frame_op {frame_op!r} (use one of {FRAME_OPS})")
        if backend not in BACKENDS:
            raise ValueError(f"unknown video backend {backend!r} (use one of {BACKENDS})")
        if clips < 1:
            raise ValueError(f"clips must be >= 1, got {clips}")
        self.records = list(records)
        self.preprocess = preprocess
        self.train = train
        self.clips = clips
        self.crops = crops
        self.mode = mode
        self.stride = stride
        self.backend = backend
        self.frame_op = frame_op
        self.seed = seed
        self.index_fn = index_fn
        self.frame_cache = frame_cache        # decoded frames kept across epochs (data/frame_cache.py)
        self.epoch = 0
        self.transform = ClipTransform(preprocess, train=train, crops=crops)

    @property
    def num_views(self) -> int:
        return self.clips * self.crops

    @property
    def item_shape(self) -> tuple[int, int, int, int, int]:
        return self.transform.output_shape(self.num_views)

    def set_epoch(self, epoch: int) -> None:
        """For plain integer indices (no ClipSampler); ClipSampler keys carry the epoch themselves."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.records)

    def rng_for(self, index: int, epoch: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, epoch, index])

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, epoch = (int(key[0]), int(key[1])) if isinstance(key, tuple) else (int(key), self.epoch)
        record = self.records[index]
        item = {"index": index, "path": str(record.path),
                "label": -1 if record.label is None else int(record.label), "truncated": False}
        try:
            video, truncated = self._load(record, index, epoch)
            item.update(video=video, ok=True, error="", truncated=truncated)
        except VideoDecodeError as exc:
            item.update(video=torch.zeros(self.item_shape), ok=False, error=exc.message)
        except Exception as exc:  # noqa: BLE001 - one bad video must never stop a run; the error is kept
            item.update(video=torch.zeros(self.item_shape), ok=False,
                        error=f"cannot decode video {record.path}: {type(exc).__name__}: {exc}")
        return item

    # ------------------------------------------------------------------------------------------------

    def _indices(self, source: VideoSource, record: VideoRecord, rng: np.random.Generator) -> np.ndarray:
        m = self.preprocess.num_frames
        if self.index_fn is not None:
            idx = np.asarray(self.index_fn(source, record, rng), dtype=np.int64)
            return idx.reshape(-1, m)
        return clip_indices(source.num_frames, m, train=self.train, mode=self.mode, stride=self.stride,
                            clips=self.clips, rng=rng)

    def _apply_frame_op(self, idx: np.ndarray, index: int) -> np.ndarray:
        if self.frame_op == "shuffle":
            perm = np.random.default_rng([self.seed, index, _SHUFFLE_STREAM]).permutation(idx.shape[1])
            return idx[:, perm]
        if self.frame_op == "repeat":
            return np.repeat(idx[:, idx.shape[1] // 2: idx.shape[1] // 2 + 1], idx.shape[1], axis=1)
        if self.frame_op == "reverse":
            return idx[:, ::-1].copy()
        return idx

    def _load(self, record: VideoRecord, index: int, epoch: int) -> tuple[torch.Tensor, bool]:
        if self.frame_cache is not None:
            source = self.frame_cache.open(record.path, self.backend, start_s=record.start, end_s=record.end)
        else:
            source = open_video(record.path, self.backend, start_s=record.start, end_s=record.end)
        try:
            rng = self.rng_for(index, epoch)
            announced = source.num_frames
            idx = self._apply_frame_op(self._indices(source, record, rng), index)
            frames = source.get_frames(idx.reshape(-1))
            truncated = source.num_frames < announced
            if truncated:
                # The file ended early (the container announced more frames): sample again over the
                # frames that exist, so the clip is not padded with copies of the last frame.
                rng = self.rng_for(index, epoch)
                idx = self._apply_frame_op(self._indices(source, record, rng), index)
                frames = source.get_frames(idx.reshape(-1))
        finally:
            source.close()
        clips, m = idx.shape
        frames = frames.reshape(clips, m, *frames.shape[1:])
        views = [self.transform(frames[c], rng=rng) for c in range(clips)]
        return torch.cat(views, dim=0), truncated


# ---------------------------------------------------------------------------------------------- collate

def collate_clips(items: list[dict]) -> dict:
    """Stack the decoded items; failed ones are dropped but listed.

    batch = {"video": [B, V, C, T, S, S] (B may be 0), "index": long [B], "label": long [B],
             "path": list[str], "failed": list[(index, error)], "failed_paths": list[str],
             "truncated_paths": list[str]}
    """
    good = [it for it in items if it["ok"]]
    bad = [it for it in items if not it["ok"]]
    if good:
        video = torch.stack([it["video"] for it in good])
    else:
        shape = tuple(items[0]["video"].shape) if items and items[0]["video"] is not None else (0,)
        video = torch.zeros((0, *shape))
    return {
        "video": video,
        "index": torch.tensor([it["index"] for it in good], dtype=torch.long),
        "label": torch.tensor([it["label"] for it in good], dtype=torch.long),
        "path": [it["path"] for it in good],
        "failed": [(it["index"], it["error"]) for it in bad],
        "failed_paths": [it["path"] for it in bad],
        "truncated_paths": [it["path"] for it in good if it.get("truncated")],
    }


# ------------------------------------------------------------------------------------------ decode report

@dataclass
class DecodeReport:
    """What the loader could and could not read, for the run's report. Update it from every batch."""

    ok: int = 0                                               # items decoded (views counted once)
    failed_items: int = 0                                     # items that failed (a file may repeat)
    failures: dict[str, str] = field(default_factory=dict)   # path -> first error message
    truncated: list[str] = field(default_factory=list)       # decoded, but shorter than announced

    def update(self, batch: dict) -> None:
        failed = list(batch.get("failed", ()))
        self.ok += len(batch["index"])
        self.failed_items += len(failed)
        # Batches of other collates may lack "failed_paths": name the item by its index then.
        paths = batch.get("failed_paths") or [f"item {entry[0]}" for entry in failed]
        for path, entry in zip(paths, failed):
            self.failures.setdefault(str(path), str(entry[-1]))
        for path in batch.get("truncated_paths", ()):
            if path not in self.truncated:
                self.truncated.append(path)

    def merge(self, other: "DecodeReport") -> "DecodeReport":
        out = DecodeReport(self.ok + other.ok, self.failed_items + other.failed_items,
                           dict(self.failures), list(self.truncated))
        for path, error in other.failures.items():
            out.failures.setdefault(path, error)
        out.truncated += [p for p in other.truncated if p not in out.truncated]
        return out

    def all_gather(self) -> "DecodeReport":
        """The report summed over all ranks (itself when torch.distributed is not initialised)."""
        if not initialized():
            return self
        total = DecodeReport()
        for part in all_gather_object(self):
            total = total.merge(part)
        return total

    @property
    def total(self) -> int:
        return self.ok + self.failed_items

    @property
    def failed_paths(self) -> list[str]:
        return sorted(self.failures)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "failed": self.failed_items, "total": self.total,
                "failed_videos": [{"path": p, "error": self.failures[p]} for p in self.failed_paths],
                "truncated_videos": sorted(self.truncated)}

    def summary(self, limit: int = 10) -> str:
        text = f"decoded {self.ok}/{self.total} items"
        if self.failures:
            names = ", ".join(self.failed_paths[:limit])
            more = f" and {len(self.failures) - limit} more" if len(self.failures) > limit else ""
            text += f"; {len(self.failures)} unreadable video(s) skipped: {names}{more}"
        if self.truncated:
            text += f"; {len(self.truncated)} truncated video(s) used as far as they decode"
        return text


# ------------------------------------------------------------------------------------------- loading

class ClipLoader(DataLoader):
    """A DataLoader whose ``set_epoch`` reaches the sampler (and so the workers' random draws)."""

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)


def _worker_init(_worker_id: int) -> None:
    # Each worker decodes one video at a time; intra-op threads would only fight over the cores.
    torch.set_num_threads(1)


def make_loader(dataset: Dataset, batch_size: int, workers: int = 0, *, shuffle: bool = False,
                seed: int = 0, drop_last: bool = False, distributed: bool | None = None,
                pad: bool | None = None, pin_memory: bool = False, prefetch_factor: int = 2,
                persistent_workers: bool = True, timeout: float = 0.0,
                multiprocessing_context: str | None = None) -> ClipLoader:
    """A loader over ``dataset`` with ``collate_clips`` and deterministic (seed, epoch, index) draws.

    ``distributed=None`` shards by rank when torch.distributed is initialised. ``pad`` (default: pad
    when shuffling, i.e. training) makes every rank run the same number of steps; evaluation keeps
    ``pad=False`` so no video is counted twice. Call ``loader.set_epoch(e)`` at each training epoch.
    """
    rank, world = _dist_world() if distributed in (None, True) else (0, 1)
    if distributed is True and world == 1 and not initialized():
        raise RuntimeError("distributed=True but torch.distributed is not initialised")
    # The sampler drops the incomplete last *global* batch, so every rank runs the same number of steps
    # (with padding this is what DataLoader's per-rank drop_last did).
    sampler = ClipSampler(len(dataset), shuffle=shuffle, seed=seed, rank=rank, num_replicas=world,
                          pad=shuffle if pad is None else pad, batch_size=batch_size, drop_last=drop_last)
    extra = {}
    if workers > 0:
        extra = dict(persistent_workers=persistent_workers, prefetch_factor=prefetch_factor,
                     worker_init_fn=_worker_init, timeout=timeout)
        if multiprocessing_context:
            extra["multiprocessing_context"] = multiprocessing_context
    return ClipLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      collate_fn=collate_clips, pin_memory=pin_memory, **extra)
