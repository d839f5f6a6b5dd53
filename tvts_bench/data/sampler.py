"""The one sampler of the project: one rank's keys of one epoch, startable mid-epoch.

Pretraining (``pretrain.trainer``), the benchmark's clip loaders (``data.loader.make_loader``: training,
fine-tuning, feature extraction) all draw their keys from :class:`EpochSampler`. The rule:

1. Epoch order: ``np.random.default_rng([seed, epoch, stream]).permutation(n)`` when shuffling, else
   ``0 .. n-1``. Nothing else is random, so the order is the same on every rank, in every worker and
   after a resume.
2. ``pad``: the order is extended by wrapping around (its first keys again) to the shortest length
   that every rank gets as many keys from: a multiple of ``world_size`` ("stride") or of
   ``batch_size * world_size`` ("block"). Training pads so no rank waits for another; evaluation does
   not, so no video counts twice.
3. Global batch j = slots ``[j*G, (j+1)*G)`` of the order, ``G = batch_size * world_size``; the
   union over ranks of their j-th batches is the single-process batch j of size G.
   Rank r's share of it (``layout``): "block" = slots ``[j*G + r*B, j*G + (r+1)*B)``; "stride" =
   slots ``j*G + r + k*W`` for k = 0 .. B-1 (rank r sees every W-th key, as ``DistributedSampler``).
4. ``drop_last``: an incomplete last global batch is dropped (every rank then runs the same number of
   steps). Otherwise its slots are shared out by the same rule, so a rank may get fewer keys or none.
5. ``start``: the first global batch yielded. A run resumed at global batch s yields exactly the tail
   ``[s:]`` of the epoch it would have seen uninterrupted.
6. Keys carry the epoch with the index, so persistent loader workers (which hold their own copy of the
   dataset) still draw by (seed, epoch, index): ``(index, epoch)`` for ``ClipDataset`` or
   ``(epoch, index)`` for ``pretrain.dataset.PretrainDataset`` (``key_order``).

The sampler yields single keys (give it to a ``DataLoader`` with ``batch_size=B``, or batch it with
:meth:`EpochSampler.batches`). Two presets pin the permutation streams and layouts that existing runs
were made with, so their batch orders (and bit-exact pretraining resume) do not change:
:class:`ClipSampler` (clip loaders) and :class:`EpochBatches` (pretraining).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import BatchSampler, Sampler

LAYOUTS = ("block", "stride")
KEY_ORDERS = ("index_epoch", "epoch_index")

# Permutation streams: the third seed word of the epoch order, one per sampler preset. Changing one
# changes the batch order of every run made with that preset.
PRETRAIN_STREAM = 0x6570
CLIP_STREAM = 0xC11D

Key = tuple[int, int]


class EpochSampler(Sampler):
    """Rank ``rank``'s keys of epoch ``epoch`` from global batch ``start`` on (rule in the module doc)."""

    def __init__(self, n: int, *, batch_size: int = 1, seed: int = 0, epoch: int = 0, start: int = 0,
                 rank: int = 0, world_size: int = 1, shuffle: bool = True, stream: int,
                 layout: str = "block", pad: bool = False, drop_last: bool = False,
                 key_order: str = "index_epoch"):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world of size {world_size}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start}")
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r} (use one of {LAYOUTS})")
        if key_order not in KEY_ORDERS:
            raise ValueError(f"unknown key_order {key_order!r} (use one of {KEY_ORDERS})")
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = int(epoch)
        self.start = start
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.stream = stream
        self.layout = layout
        self.pad = pad
        self.drop_last = drop_last
        self.key_order = key_order

    def set_epoch(self, epoch: int) -> None:
        # ``start`` resumes the epoch it was given for; the next epoch is walked from its beginning.
        if int(epoch) != self.epoch:
            self.start = 0
        self.epoch = int(epoch)

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world_size

    def order(self) -> np.ndarray:
        """The epoch order every rank shares (rule 1, padded by rule 2)."""
        order = (np.random.default_rng([self.seed, self.epoch, self.stream]).permutation(self.n)
                 if self.shuffle else np.arange(self.n))
        extra = self._padded_length() - self.n
        return np.concatenate([order, np.resize(order, extra)]) if extra else order

    def _padded_length(self) -> int:
        unit = self.world_size if self.layout == "stride" else self.global_batch
        return self.n + (unit - self.n % unit) % unit if self.pad and self.n else self.n

    def _span(self, total: int) -> tuple[int, int]:
        """The slots ``[begin, end)`` this sampler walks: from global batch ``start`` to the end kept."""
        g = self.global_batch
        end = total - total % g if self.drop_last else total
        return min(self.start * g, end), end

    def _share(self, slots: int) -> int:
        """How many of the first ``slots`` slots of a global batch are this rank's (rule 3)."""
        if self.layout == "block":
            return min(max(slots - self.rank * self.batch_size, 0), self.batch_size)
        return len(range(self.rank, slots, self.world_size))

    def __iter__(self) -> Iterator[Key]:
        epoch, order = self.epoch, self.order()
        begin, end = self._span(len(order))
        within = np.arange(begin, end) % self.global_batch      # position inside the global batch
        mine = (within // self.batch_size if self.layout == "block" else within % self.world_size) == self.rank
        picked = order[begin:end][mine]
        if self.key_order == "index_epoch":
            return iter([(int(i), epoch) for i in picked])
        return iter([(epoch, int(i)) for i in picked])

    def __len__(self) -> int:
        begin, end = self._span(self._padded_length())
        full, rest = divmod(end - begin, self.global_batch)
        return full * self.batch_size + self._share(rest)

    def batches(self) -> BatchSampler:
        """The keys in this rank's batches (lists of at most ``batch_size``; one per global batch)."""
        return BatchSampler(self, self.batch_size, drop_last=False)


# ------------------------------------------------------------------------------------------------ presets

class ClipSampler(EpochSampler):
    """The clip loaders' preset: ``(index, epoch)`` keys, stride layout, stream ``CLIP_STREAM``.

    Interface-compatible with ``DistributedSampler`` (``set_epoch``, ``num_replicas``, ``rank``).
    ``pad=False`` (feature extraction): rank r takes positions r, r + W, ... with no duplicates, so
    shards differ in length by at most one; gather by the batch's "index". ``pad=True`` (training):
    the order is padded by wrapping around so every rank runs the same number of steps.
    """

    def __init__(self, n: int, *, shuffle: bool = False, seed: int = 0, rank: int = 0, num_replicas: int = 1,
                 pad: bool = False, batch_size: int = 1, drop_last: bool = False, start: int = 0):
        super().__init__(n, batch_size=batch_size, seed=seed, start=start, rank=rank, world_size=num_replicas,
                         shuffle=shuffle, stream=CLIP_STREAM, layout="stride", pad=pad, drop_last=drop_last,
                         key_order="index_epoch")

    @property
    def num_replicas(self) -> int:
        return self.world_size


class EpochBatches(BatchSampler):
    """Pretraining's preset, a batch sampler: lists of ``(epoch, index)`` keys, block layout, stream
    ``PRETRAIN_STREAM``, the incomplete last global batch dropped, ``start`` counted in global batches.
    ``batch_size`` is per rank."""

    def __init__(self, n: int, batch_size: int, seed: int, epoch: int, start: int = 0, rank: int = 0,
                 world_size: int = 1, shuffle: bool = True):
        keys = EpochSampler(n, batch_size=batch_size, seed=seed, epoch=epoch, start=start, rank=rank,
                            world_size=world_size, shuffle=shuffle, stream=PRETRAIN_STREAM, layout="block",
                            drop_last=True, key_order="epoch_index")
        super().__init__(keys, batch_size, drop_last=False)
