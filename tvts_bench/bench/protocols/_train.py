"""Training plumbing shared by ``ft`` and ``ret-ft``: the one resumable epoch loop, distributed
loaders, schedules, checkpoints.

``EpochLoop`` is how both protocols train: it resumes from the work folder's checkpoint of the same
configuration, steps the optimizer and the per-update schedule, and after every epoch saves the model,
the optimizer, the protocol's running values and every random state the training draws from (Python's,
NumPy's global and the protocol's own generators, torch's CPU and CUDA). A run interrupted after any
epoch and run again therefore continues exactly where it stopped: its result equals an uninterrupted
run's (``tests/test_protocols_resume.py``).

DDP: when ``torch.distributed`` is initialised (``torchrun``), the runner's loaders shard batches by
rank, models are wrapped in DDP, sharded evaluation outputs are gathered on every rank (deduplicated
by record position), and only rank 0 writes checkpoints.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from ... import distributed as dist_env
from ...errors import CheckpointError, TvtsBenchError
from ...hashing import sha256_json
from ...state_io import load_state, save_state
from ._common import progress_task


def train_loader(ctx, split: str, batch_size: int, *, seed: int, frame_op: str | None = None) -> DataLoader:
    """Shuffled training batches; drop the last short batch when there is more than one batch.

    The runner's loaders (``data.loader.make_loader``) already shard by rank under torch.distributed,
    padding so every rank runs the same number of steps, and draw by (seed, epoch, index).
    ``frame_op`` ("shuffle") permutes each clip's frames (the calibration's order ceiling).
    """
    n = len(ctx.index.records(split))
    if n == 0:
        raise TvtsBenchError(f"task {ctx.task.name}: the {split} split has no videos to train on")
    extra = {"frame_op": frame_op} if frame_op else {}
    world_size = dist_env.world_size()
    return ctx.loader(split, True, batch_size, shuffle=True, drop_last=n >= 2 * batch_size * world_size, **extra)


def eval_loader(ctx, split: str, batch_size: int, clips: int, crops: int, *,
                frame_op: str | None = None) -> DataLoader:
    """Test batches with ``clips x crops`` views; sharded without padding under torch.distributed."""
    extra = {"frame_op": frame_op} if frame_op else {}
    return ctx.loader(split, False, batch_size, clips, crops, shuffle=False, **extra)


def subset_loader(loader: DataLoader, indices, batch_size: int, *, shuffle: bool, seed: int,
                  drop_last: bool = False) -> DataLoader:
    """A loader over some positions of ``loader.dataset`` (hold-out splits of train), sharded by rank."""
    from torch.utils.data import Subset

    subset = Subset(loader.dataset, [int(i) for i in indices])
    rank, size = dist_env.world()
    sampler = DistributedSampler(subset, num_replicas=size, rank=rank, shuffle=shuffle, seed=seed) \
        if dist_env.initialized() else None
    return DataLoader(subset, batch_size=batch_size, sampler=sampler, shuffle=shuffle if sampler is None else False,
                      collate_fn=loader.collate_fn, num_workers=loader.num_workers, drop_last=drop_last,
                      generator=torch.Generator().manual_seed(seed) if shuffle and sampler is None else None)


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Reach the sampler and the dataset (random crops, TSN offsets) with the epoch number."""
    if hasattr(loader, "set_epoch"):
        loader.set_epoch(epoch)
        return
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    dataset = getattr(loader, "dataset", None)
    dataset = getattr(dataset, "dataset", dataset)              # through a Subset
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)


def merge_ranks(rows: list[torch.Tensor], idx: list[int], failed: list, empty_width: int = 0
                ) -> tuple[np.ndarray, list[int], list]:
    """Per-sample rows from every rank, in sample order, each sample once (a distributed sampler pads
    with repeats), plus every rank's failed videos. Returns (rows [N, D], sample indices, failed)."""
    parts = dist_env.all_gather_object((torch.cat(rows).numpy() if rows else None, idx, failed))
    seen: dict[int, np.ndarray] = {}
    all_failed: list = []
    for part, ids, fl in parts:
        all_failed += fl
        if part is not None:
            for row, i in zip(part, ids):
                seen.setdefault(i, row)
    order = sorted(seen)
    merged = np.stack([seen[i] for i in order]) if order else np.zeros((0, empty_width), np.float32)
    return merged, order, all_failed


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model


def cosine_scheduler(optimizer, *, epochs: int, warmup_epochs: float, steps_per_epoch: int, min_lr: float,
                     warmup_lr: float = 1e-6):
    """timm's CosineLRScheduler, stepped per update: ``warmup_epochs`` linear warm-up, then cosine to
    ``min_lr``. Param groups with ``lr_scale`` (layer decay) are scaled by the scheduler."""
    from timm.scheduler import CosineLRScheduler

    total = max(1, epochs * steps_per_epoch)
    warm = min(total - 1, int(round(warmup_epochs * steps_per_epoch))) if total > 1 else 0
    return CosineLRScheduler(optimizer, t_initial=max(1, total - warm), lr_min=min_lr, warmup_t=warm,
                             warmup_lr_init=min(warmup_lr, min(g["lr"] for g in optimizer.param_groups)),
                             warmup_prefix=True, t_in_epochs=False)




def save_checkpoint(path: Path, state: dict) -> None:
    if dist_env.rank() != 0:
        return
    save_state(path, state)


def load_checkpoint(path: Path, fingerprint: str) -> dict | None:
    """The state saved by a previous run of the SAME configuration, or None (absent / other config)."""
    if not path.is_file():
        return None
    try:
        state = load_state(path)
    except Exception as e:  # noqa: BLE001 - a corrupt or unsafe resume file must not look like a bug
        raise CheckpointError(f"cannot read the resume checkpoint {path}: {str(e)[:300]}",
                              hint="delete it to start the fine-tuning from scratch; resume files hold "
                                   "only tensors and plain values, so a file that needs more was not "
                                   "written by tvts-bench") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"the resume checkpoint {path} is not a dict of training state",
                              hint="delete it to start the fine-tuning from scratch")
    return state if state.get("fingerprint") == fingerprint else None


def finite_or_raise(loss: torch.Tensor, what: str) -> None:
    if not math.isfinite(float(loss.detach())):
        raise TvtsBenchError(f"{what}: the training loss became {float(loss.detach())}",
                             hint="lower params.lr (e.g. --task-param lr=1e-4) or check the input data")


def optimizer_update(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scheduler, update: int,
                     what: str) -> int:
    """One optimizer update on ``loss`` (a non-finite loss stops with a clear error); the scheduler is
    stepped per update, as timm's are. Returns the new update count."""
    finite_or_raise(loss, what)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    scheduler.step_update(update + 1)
    return update + 1


# -- the resumable epoch loop ---------------------------------------------------------------------

LOOP_VERSION = 1          # the resume file's layout; a file of another layout is not resumed


def rng_state(generators: dict[str, np.random.Generator], loader: DataLoader | None = None) -> dict:
    """Every random state training draws from: Python's, NumPy's global, ``generators``, torch's, and
    the loader's own generator (a shuffled ``subset_loader`` draws each epoch's order from it)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
             "generators": {k: g.bit_generator.state for k, g in generators.items()}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if getattr(loader, "generator", None) is not None:
        state["loader"] = loader.generator.get_state()
    return state


def set_rng_state(state: dict, generators: dict[str, np.random.Generator], loader: DataLoader | None = None) -> None:
    """Restore ``rng_state``'s result (``generators`` and the loader's generator in place)."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    for k, g in generators.items():
        g.bit_generator.state = state["generators"][k]
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "loader" in state and getattr(loader, "generator", None) is not None:
        loader.generator.set_state(state["loader"])


class EpochLoop:
    """The resumable epoch loop of the training protocols (see the module docstring)::

        loop = EpochLoop(ctx, "ft", model=model, train=ddp, optimizer=optimizer, scheduler=scheduler,
                         loader=loader, epochs=p.epochs, what="fine-tuning", state={"clips": 0})
        for epoch in loop:                     # resumed epochs are skipped
            for batch in loop.batches():
                loss = ...
                loop.step(loss)                # one optimizer update, the schedule stepped per update
                loop.state["clips"] += n       # the protocol's running values, saved every epoch
        # after each epoch's body: the checkpoint <work>/<name>-checkpoint.pt

    ``model``: what is saved and restored; ``train``: what is put in train mode each epoch (the DDP
    wrapper); ``generators``: the protocol's own NumPy generators, restored in place on resume.
    ``fingerprint``: the configuration a resume file must match (task card, starting weights, seed,
    number of processes and this layout); other files are ignored, and the run starts over.
    """

    def __init__(self, ctx, name: str, *, model: nn.Module, train: nn.Module, optimizer, scheduler,
                 loader: DataLoader, epochs: int, what: str, state: dict[str, Any] | None = None,
                 generators: dict[str, np.random.Generator] | None = None):
        self.ctx, self.model, self.train_module = ctx, model, train
        self.optimizer, self.scheduler, self.loader = optimizer, scheduler, loader
        self.epochs, self.what = epochs, what
        self.steps = max(1, len(loader))
        self.generators = dict(generators or {})
        self.state: dict[str, Any] = dict(state or {})
        self.path = ctx.work_dir / f"{name}-checkpoint.pt"
        self.fingerprint = sha256_json({"task": ctx.task.hash, "weights": ctx.adapter.weights_hash(),
                                        "seed": ctx.seed, "world": dist_env.world_size(), "loop": LOOP_VERSION})
        self.start_epoch = 0
        saved = load_checkpoint(self.path, self.fingerprint)
        if saved is not None:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            self.start_epoch = int(saved["epoch"])
            self.state.update(saved["state"])
            set_rng_state(saved["rng"], self.generators, loader)
        self.update = self.start_epoch * self.steps
        scheduler.step_update(self.update)           # applies warm-up / lr_scale from the first step
        self._advance = lambda n=1: None

    def __iter__(self) -> Iterator[int]:
        with progress_task(self.ctx, f"{self.ctx.task.name}: {self.what}", self.epochs * self.steps) as advance:
            advance(self.start_epoch * self.steps)
            self._advance = advance
            for epoch in range(self.start_epoch, self.epochs):
                set_epoch(self.loader, epoch)
                self.train_module.train()
                yield epoch
                save_checkpoint(self.path, {"fingerprint": self.fingerprint, "epoch": epoch + 1,
                                            "state": self.state, "model": self.model.state_dict(),
                                            "optimizer": self.optimizer.state_dict(),
                                            "rng": rng_state(self.generators, self.loader)})

    def batches(self) -> Iterator[dict]:
        """This epoch's training batches (each counted on the progress bar once its step is done)."""
        for batch in self.loader:
            yield batch
            self._advance()

    def step(self, loss: torch.Tensor) -> None:
        """One optimizer update on ``loss`` (see ``optimizer_update``)."""
        self.update = optimizer_update(loss, self.optimizer, self.scheduler, self.update, self.ctx.task.name)
