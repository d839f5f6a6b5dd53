"""torchrun support: detect the environment, init the process group, wrap in DDP, gather with gradient.

Under ``torchrun --nproc_per_node N`` the environment holds RANK / WORLD_SIZE / LOCAL_RANK; without it
everything degrades to a single process. Only rank 0 writes files. The data sharding is done by the
resumable sampler ``EpochBatches`` (``tvts_bench/data/sampler.py``): the same epoch permutation on
every rank, rank r takes the r-th block of each global batch, and it can start mid-epoch.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistEnv:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def detect() -> DistEnv:
    if dist.is_available() and dist.is_initialized():
        return DistEnv(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistEnv(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                   int(os.environ.get("LOCAL_RANK", 0)))


def init(device: str | None = None) -> DistEnv:
    """Initialise the process group when launched by torchrun (gloo on CPU, nccl on CUDA)."""
    env = detect()
    if env.enabled and not dist.is_initialized():
        backend = "nccl" if (device or "").startswith("cuda") and torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(env.local_rank)
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(minutes=30))
    return env


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def wrap(module: nn.Module, env: DistEnv, device: str) -> nn.Module:
    if not env.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [env.local_rank] if device.startswith("cuda") else None
    return DDP(module, device_ids=ids)


def row_counts(n: int, device: torch.device | str = "cpu") -> list[int]:
    """Every rank's row count (one small all_gather); ``[n]`` in a single process."""
    if not active():
        return [int(n)]
    t = torch.tensor([int(n)], device=device)
    sizes = [torch.zeros_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, t)
    return [int(s.item()) for s in sizes]


def gather_with_grad(x: torch.Tensor, counts: list[int] | None = None) -> tuple[torch.Tensor, int]:
    """All ranks' ``x`` concatenated along dim 0, differentiable; and the offset of this rank's rows.

    Ranks may hold different row counts (a failed decode drops a sample): rows are padded to the
    largest count for the collective and the padding removed afterwards. ``counts`` (from
    :func:`row_counts`) saves the size exchange when the caller already has it.

    Backward: ``torch.distributed.nn.functional.all_gather`` returns to each rank the SUM over ranks of
    the gradients flowing into its rows, so rank r's local rows receive d(sum_r' loss_r')/d(rows of r).
    With DDP's averaging of parameter gradients over the W ranks, the parameters then get the gradient
    of ``(1/W) sum_r loss_r``: a per-rank loss is right when that average equals the global loss (see
    ``objectives.infonce``).
    """
    if not active():
        return x, 0
    from torch.distributed.nn.functional import all_gather

    if counts is None:
        counts = row_counts(x.shape[0], x.device)
    pad = max(counts) - x.shape[0]
    xp = torch.cat([x, x.new_zeros((pad,) + tuple(x.shape[1:]))]) if pad else x
    parts = all_gather(xp)
    rank = dist.get_rank()
    return torch.cat([p[:c] for p, c in zip(parts, counts)]), sum(counts[:rank])


def all_reduce_mean(values: dict[str, float], device: str = "cpu") -> dict[str, float]:
    """Average logged scalars over ranks (NaN-free entries only are passed)."""
    if not active() or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist()))


def barrier() -> None:
    if active():
        dist.barrier()
