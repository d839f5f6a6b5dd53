"""Frozen-encoder feature extraction with a sharded, resumable on-disk cache.

Key = sha256 over (adapter weights hash, adapter class and feature description, effective Preprocess,
clip sampling (mode, stride, clips, crops), split, variant, joint space or not, dataset manifest hash,
cache format version, package version). Two tasks that sample clips the same way (ssv2-v2v, ssv2-linear) share a key, so
the second one extracts nothing.

Layout under ``cache_dir()/features/<key>/``::

    meta.json                 what the key was made of, the record ids in order (written first)
    shard-00000.npy           [rows, D] float32 features of the readable videos of records[0:256]
    shard-00000.json          {"start", "stop", "ok": [positions], "failed": [[position, video_id, error]]}
    ...
    index.json                summary, rewritten atomically after every shard; "complete": true at the end

A shard counts as done when its JSON exists (written atomically after its ``.npy``), so an interrupted
extraction resumes at the first shard without one. Under ``torch.distributed`` every rank extracts the
shards ``k`` with ``k % world_size == rank``; after a barrier rank 0 writes the final index and every rank
reads the whole set.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import distributed
from ..atomic import atomic_path, write_json
from ..data.preprocess import Preprocess
from ..data.records import DatasetIndex, VideoRecord
from ..hashing import sha256_json, sha256_lines
from ..zoo.base import VideoAdapter
from .context import FRAME_OPS, VARIANTS, FeatureSet
from .task_card import Sampling


def _precision_name(device: str) -> str:
    from ..nn.precision import precision_name

    return precision_name(device)

if TYPE_CHECKING:
    from rich.progress import Progress

FORMAT_VERSION = 1
DEFAULT_SHARD_SIZE = 256


def effective_preprocess(preprocess: Preprocess, sampling: Sampling) -> Preprocess:
    """The model's Preprocess with the task's frame count / resolution applied where the card sets them."""
    changes: dict[str, Any] = {}
    if sampling.frames is not None:
        changes["num_frames"] = sampling.frames
    if sampling.size is not None:
        changes["size"] = sampling.size
    if sampling.short_side is not None:
        changes["short_side"] = sampling.short_side
    return dataclasses.replace(preprocess, **changes) if changes else preprocess


def _labels(records: list[VideoRecord]) -> np.ndarray | None:
    if records and all(r.label is not None for r in records):
        return np.asarray([r.label for r in records], dtype=np.int64)
    return None


@dataclass
class ExtractionStats:
    """What this process did, for provenance: cache hits vs clips actually encoded."""

    hits: int = 0                   # feature sets served entirely from the cache
    shards_extracted: int = 0
    clips: int = 0                  # clips (views) encoded
    videos: int = 0
    seconds: float = 0.0
    unreadable: dict[str, str] = field(default_factory=dict)   # video_id -> error
    keys: list[str] = field(default_factory=list)


class FeatureCache:
    """Serves ``FeatureSet``s for one (adapter, dataset, sampling), extracting only what is missing."""

    def __init__(self, adapter: VideoAdapter, index: DatasetIndex, *, manifest_hash: str,
                 sampling: Sampling, root: Path | None = None, device: str = "cpu",
                 batch_size: int = 8, workers: int = 0, progress: "Progress | None" = None,
                 shard_size: int = DEFAULT_SHARD_SIZE, backend: str = "auto"):
        from ..home import cache_dir

        self.adapter = adapter
        self.index = index
        self.manifest_hash = manifest_hash
        self.sampling = sampling
        self.preprocess = effective_preprocess(adapter.preprocess, sampling)
        self.root = Path(root) if root is not None else cache_dir() / "features"
        self.device = device
        self.batch_size = batch_size
        self.workers = workers
        self.progress = progress
        self.shard_size = shard_size
        self.backend = backend
        self.stats = ExtractionStats()
        self._memo: dict[str, FeatureSet] = {}

    # -- keys ---------------------------------------------------------------------------------------
    def key_parts(self, split: str, variant: str, joint: bool, tokens: bool = False) -> dict:
        from .. import __version__

        # token sets get their own keys; pooled features keep the keys they always had
        extra = {"tokens": "encode_tokens [L, D] float16"} if tokens else {}
        return {**extra,
            "format": FORMAT_VERSION,
            "code": __version__,            # a release may change decoding or models: never reuse across
            "weights": self.adapter.weights_hash(),
            "adapter": f"{type(self.adapter).__module__}.{type(self.adapter).__qualname__}",
            "feature": getattr(self.adapter, "feature_desc", ""),
            "preprocess": self.preprocess.as_dict(),
            "sampling": {"mode": self.sampling.mode, "stride": self.sampling.stride,
                         "clips": self.sampling.clips, "crops": self.sampling.crops},
            "dataset": self.index.name,
            "manifest": self.manifest_hash,
            "split": split,
            "variant": variant,
            "joint": bool(joint),
            "precision": _precision_name(self.device),
        }

    def key(self, split: str, variant: str = "normal", joint: bool = False, tokens: bool = False) -> str:
        return sha256_json(self.key_parts(split, variant, joint, tokens))

    def folder(self, split: str, variant: str = "normal", joint: bool = False, tokens: bool = False) -> Path:
        return self.root / self.key(split, variant, joint, tokens)

    # -- public -------------------------------------------------------------------------------------
    def __call__(self, split: str, variant: str = "normal", *, joint: bool = False,
                 tokens: bool = False) -> FeatureSet:
        return self.get(split, variant, joint=joint, tokens=tokens)

    def get(self, split: str, variant: str = "normal", *, joint: bool = False, tokens: bool = False) -> FeatureSet:
        from ..errors import ConfigError

        if variant not in VARIANTS:
            raise ConfigError(f"unknown feature variant {variant!r}", hint=f"one of {', '.join(VARIANTS)}")
        if tokens and (joint or self.sampling.clips * self.sampling.crops != 1):
            raise ConfigError("token features are cached for one view per video and the encoder's own space",
                              hint="set sampling clips: 1, crops: 1 for a task that needs tokens")
        self._tokens = tokens
        key = self.key(split, variant, joint, tokens)
        if key in self._memo:
            return self._memo[key]
        records = self.index.records(split)
        folder = self.root / key
        self._prepare(folder, key, split, variant, joint, records, tokens)
        shards = self._shard_ranges(len(records))
        todo = [k for k in range(len(shards)) if not (folder / f"shard-{k:05d}.json").exists()]
        distributed.barrier()          # every rank has the same todo list before any rank writes a shard
        if todo:
            self._extract(folder, key, split, variant, joint, records, shards, todo)
        else:
            self.stats.hits += 1
        fs = self._load(folder, key, records, shards, joint, tokens)
        self.stats.keys.append(key)
        for vid, err in fs.failed:
            self.stats.unreadable[vid] = err
        self._memo[key] = fs
        return fs

    # -- internals ----------------------------------------------------------------------------------
    def _shard_ranges(self, n: int) -> list[tuple[int, int]]:
        return [(s, min(s + self.shard_size, n)) for s in range(0, n, self.shard_size)] or [(0, 0)]

    def _prepare(self, folder: Path, key: str, split: str, variant: str, joint: bool,
                 records: list[VideoRecord], tokens: bool = False) -> None:
        """Check (or start) the folder's meta.json. Collective under torch.distributed: every rank
        decides on the same disk state before rank 0 changes anything."""
        ids_hash = sha256_lines(r.video_id for r in records)
        meta_path = folder / "meta.json"
        distributed.barrier()
        valid = False
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            valid = meta.get("records_hash") == ids_hash and meta.get("shard_size") == self.shard_size
        distributed.barrier()
        rank, _ = distributed.world()
        if not valid and rank == 0:
            # Same key but another record list or shard size: the old shards cannot be trusted.
            for p in folder.glob("shard-*"):
                p.unlink()
            (folder / "index.json").unlink(missing_ok=True)
            write_json(meta_path, {
                "key": key, "parts": self.key_parts(split, variant, joint, tokens), "records_hash": ids_hash,
                "n_records": len(records), "shard_size": self.shard_size,
                "video_ids": [r.video_id for r in records]})
        distributed.barrier()

    def _encode(self, video: Any) -> Any:
        if getattr(self, "_tokens", False):
            return self.adapter.encode_tokens(video)
        if getattr(self, "_joint", False):
            return self.adapter.encode_video_joint(video)
        return self.adapter.encode_video(video)

    def _extract(self, folder: Path, key: str, split: str, variant: str, joint: bool,
                 records: list[VideoRecord], shards: list[tuple[int, int]], todo: list[int]) -> None:
        import torch

        from ..data.loader import ClipDataset, make_loader

        rank, world = distributed.world()
        mine = [k for k in todo if k % world == rank]
        total = sum(shards[k][1] - shards[k][0] for k in mine)
        task_id = None
        if self.progress is not None:
            label = f"features {self.index.name}/{split}" + ("" if variant == "normal" else f" ({variant})")
            task_id = self.progress.add_task(label, total=total)
        t0 = time.perf_counter()
        self._joint = joint
        # One loader over all of this rank's pending shards (workers start once); a shard is written
        # as soon as its last video has come back (the loader keeps order).
        positions = [p for k in mine for p in range(*shards[k])]
        shard_of = {p: k for k in mine for p in range(*shards[k])}
        remaining = {k: shards[k][1] - shards[k][0] for k in mine}
        buffers: dict[int, dict[str, list]] = {k: {"ok": [], "rows": [], "failed": []} for k in mine}
        try:
            for k in [k for k in mine if remaining[k] == 0]:          # empty split: one empty shard
                self._write_shard(folder, k, shards[k], buffers.pop(k))
            if positions:
                dataset = ClipDataset([records[p] for p in positions], self.preprocess, train=False,
                                      clips=self.sampling.clips, crops=self.sampling.crops,
                                      mode=self.sampling.mode, stride=self.sampling.stride,
                                      backend=self.backend, frame_op=FRAME_OPS[variant])
                # distributed=False: shards are already split over ranks here.
                loader = make_loader(dataset, self.batch_size, self.workers, distributed=False)
                with torch.inference_mode():
                    for batch in loader:
                        touched: list[int] = []
                        for i, err in batch.get("failed", []):
                            pos = positions[int(i)]
                            k = shard_of[pos]
                            buffers[k]["failed"].append([pos, records[pos].video_id, str(err)])
                            remaining[k] -= 1
                            touched.append(k)
                        idx = [int(i) for i in batch["index"]]
                        if idx:
                            feats = self._encode_views(batch["video"])
                            for row, i in zip(feats, idx):
                                pos = positions[i]
                                k = shard_of[pos]
                                buffers[k]["ok"].append(pos)
                                buffers[k]["rows"].append(row)
                                remaining[k] -= 1
                                touched.append(k)
                        for k in sorted(set(touched)):
                            if remaining[k] == 0:
                                self._write_shard(folder, k, shards[k], buffers.pop(k))
                                if rank == 0 and world == 1:
                                    self._write_index(folder, key, shards)
                        if self.progress is not None and task_id is not None:
                            self.progress.advance(task_id, len(idx) + len(batch.get("failed", [])))
        finally:
            self.stats.seconds += time.perf_counter() - t0
            if self.progress is not None and task_id is not None:
                self.progress.remove_task(task_id)
        distributed.barrier()
        if rank == 0 and world > 1:
            self._write_index(folder, key, shards)

    def _write_shard(self, folder: Path, k: int, bounds: tuple[int, int], buf: dict[str, list]) -> None:
        order = np.argsort(buf["ok"], kind="stable")                 # rows in record order
        ok = [buf["ok"][i] for i in order]
        dtype = np.float16 if getattr(self, "_tokens", False) else np.float32
        feats = (np.stack([buf["rows"][i] for i in order]).astype(dtype, copy=False) if ok
                 else np.zeros((0, 0), dtype))
        with atomic_path(folder / f"shard-{k:05d}.npy") as tmp:
            with open(tmp, "wb") as f:
                np.save(f, feats)
        # The shard's JSON is its "done" mark: written last, atomically.
        write_json(folder / f"shard-{k:05d}.json",
                   {"start": bounds[0], "stop": bounds[1], "ok": ok, "failed": sorted(buf["failed"])},
                   indent=None)
        self.stats.shards_extracted += 1
        self.stats.videos += len(ok)

    def _encode_views(self, video: Any) -> np.ndarray:
        """[B, C, T, H, W] or [B, V, C, T, H, W] -> [B, D] (views averaged)."""
        import torch

        video = video.to(self.device, non_blocking=True)
        if video.dim() == 5:
            video = video.unsqueeze(1)
        from ..nn.precision import autocast_for

        b, v = video.shape[:2]
        with autocast_for(self.device):
            out = self._encode(video.flatten(0, 1))
        self.stats.clips += b * v
        if getattr(self, "_tokens", False):          # one view (checked in get): [B, L, D] as float16
            return out.float().detach().to("cpu", torch.float16).numpy()
        out = out.float().reshape(b, v, -1).mean(dim=1)
        return out.detach().to("cpu", torch.float32).numpy()

    def _write_index(self, folder: Path, key: str, shards: list[tuple[int, int]]) -> None:
        done = sorted(int(p.stem.split("-")[1]) for p in folder.glob("shard-*.json"))
        n_failed = 0
        for k in done:
            n_failed += len(json.loads((folder / f"shard-{k:05d}.json").read_text())["failed"])
        write_json(folder / "index.json", {
            "key": key, "shards": len(shards), "done": done, "complete": len(done) == len(shards),
            "failed": n_failed, "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    def _load(self, folder: Path, key: str, records: list[VideoRecord], shards: list[tuple[int, int]],
              joint: bool, tokens: bool = False) -> FeatureSet:
        from ..errors import TvtsBenchError

        parts: list[np.ndarray] = []
        positions: list[int] = []
        failed: list[tuple[str, str]] = []
        for k in range(len(shards)):
            meta_path = folder / f"shard-{k:05d}.json"
            if not meta_path.exists():
                raise TvtsBenchError(f"feature cache {folder} is missing shard {k} after extraction",
                                     hint="delete the folder and run again")
            meta = json.loads(meta_path.read_text())
            arr = np.load(folder / f"shard-{k:05d}.npy")
            if len(meta["ok"]) != arr.shape[0]:
                raise TvtsBenchError(f"feature cache shard {folder}/shard-{k:05d} is inconsistent",
                                     hint="delete the folder and run again")
            if arr.shape[0]:
                parts.append(arr)
            positions.extend(meta["ok"])
            failed.extend((vid, err) for _, vid, err in meta["failed"])
        kept = [records[p] for p in positions]
        views = self.sampling.clips * self.sampling.crops
        if tokens:
            feats = np.concatenate(parts) if parts else np.zeros((0, 0, self.adapter.feature_dim), np.float16)
            return FeatureSet(features=feats, records=kept, labels=_labels(kept), views=views, failed=failed,
                              joint=joint, key=key, tokens=True)
        feats = np.concatenate(parts) if parts else np.zeros((0, self.adapter.feature_dim), np.float32)
        return FeatureSet(features=feats.astype(np.float32, copy=False), records=kept, labels=_labels(kept),
                          views=views, failed=failed, joint=joint, key=key)
