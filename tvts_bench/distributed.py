"""torchrun support for the whole package: the one place that touches ``torch.distributed``.

Under ``torchrun --nproc_per_node N`` the environment holds RANK / WORLD_SIZE / LOCAL_RANK; without it
everything degrades to a single process (rank 0 of 1) and the collectives below return their input.
``bench/`` (evaluation), ``pretrain/`` and ``data/`` (loader sharding, decode reports) all call these
helpers, so the process group is initialised one way (one backend choice, one timeout, one CUDA check).

Importing this module does not import torch: the rank and world-size queries look for a process group
only when ``torch.distributed`` was already imported (a benchmark run that skips every task never
imports torch). Only rank 0 writes files.
"""

from __future__ import annotations

import datetime
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

#: How long a collective waits for the slowest rank (rank 0 may write a feature index meanwhile).
TIMEOUT = datetime.timedelta(minutes=30)


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


def _group() -> Any:
    """``torch.distributed`` when a process group is initialised, else None (never imports torch)."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist
    return None


def initialized() -> bool:
    """A process group exists (possibly of one process)."""
    return _group() is not None


def active() -> bool:
    """A process group of more than one process exists."""
    dist = _group()
    return dist is not None and dist.get_world_size() > 1


def rank() -> int:
    dist = _group()
    return dist.get_rank() if dist is not None else 0


def world_size() -> int:
    dist = _group()
    return dist.get_world_size() if dist is not None else 1


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) without a process group."""
    dist = _group()
    return (dist.get_rank(), dist.get_world_size()) if dist is not None else (0, 1)


def detect() -> DistEnv:
    """This process's place: from the process group when there is one, else from torchrun's environment."""
    local = int(os.environ.get("LOCAL_RANK", 0))
    dist = _group()
    if dist is not None:
        return DistEnv(dist.get_rank(), dist.get_world_size(), local)
    return DistEnv(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), local)


def init(device: str | None = None) -> DistEnv:
    """Join the process group when launched by torchrun with WORLD_SIZE > 1 (once; later calls return
    the environment). nccl when ``device`` is CUDA and CUDA is available (this rank then uses GPU
    LOCAL_RANK), gloo otherwise. A single process imports no torch here."""
    env = detect()
    if not env.enabled:
        return env
    import torch
    import torch.distributed as dist

    if not dist.is_available():
        return DistEnv(local_rank=env.local_rank)
    nccl = (device or "").startswith("cuda") and torch.cuda.is_available()
    if nccl:
        torch.cuda.set_device(env.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if nccl else "gloo", timeout=TIMEOUT)
    return detect()


def rank_device(device: str, env: DistEnv | None = None) -> str:
    """This rank's device under torchrun: ``cuda`` becomes ``cuda:LOCAL_RANK``; others unchanged."""
    env = env or detect()
    if env.enabled and device.startswith("cuda"):
        return f"cuda:{env.local_rank}"
    return device


def shutdown() -> None:
    dist = _group()
    if dist is not None:
        dist.destroy_process_group()


def barrier() -> None:
    dist = _group()
    if dist is not None:
        dist.barrier()


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` without a process group)."""
    dist = _group()
    if dist is None:
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def all_reduce_(t: "torch.Tensor", op: str = "sum") -> "torch.Tensor":
    """Reduce ``t`` in place over ranks (``op``: sum, min, max); unchanged without a process group."""
    dist = _group()
    if dist is not None:
        dist.all_reduce(t, op={"sum": dist.ReduceOp.SUM, "min": dist.ReduceOp.MIN,
                               "max": dist.ReduceOp.MAX}[op])
    return t


def all_reduce_mean(values: dict[str, float], device: str = "cpu") -> dict[str, float]:
    """Average logged scalars over ranks (NaN-free entries only are passed)."""
    if not active() or not values:
        return values
    import torch

    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    all_reduce_(t)
    t /= world_size()
    return dict(zip(keys, t.tolist()))


def row_counts(n: int, device: "torch.device | str" = "cpu") -> list[int]:
    """Every rank's row count (one small all_gather); ``[n]`` in a single process."""
    if not active():
        return [int(n)]
    import torch
    import torch.distributed as dist

    t = torch.tensor([int(n)], device=device)
    sizes = [torch.zeros_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, t)
    return [int(s.item()) for s in sizes]


def gather_with_grad(x: "torch.Tensor", counts: list[int] | None = None) -> "tuple[torch.Tensor, int]":
    """All ranks' ``x`` concatenated along dim 0, differentiable; and the offset of this rank's rows.

    Ranks may hold different row counts (a failed decode drops a sample): rows are padded to the
    largest count for the collective and the padding removed afterwards. ``counts`` (from
    :func:`row_counts`) saves the size exchange when the caller already has it.

    Backward: ``torch.distributed.nn.functional.all_gather`` returns to each rank the SUM over ranks of
    the gradients flowing into its rows, so rank r's local rows receive d(sum_r' loss_r')/d(rows of r).
    With DDP's averaging of parameter gradients over the W ranks, the parameters then get the gradient
    of ``(1/W) sum_r loss_r``: a per-rank loss is right when that average equals the global loss (see
    ``pretrain.objectives.infonce``).
    """
    if not active():
        return x, 0
    import torch
    from torch.distributed.nn.functional import all_gather

    if counts is None:
        counts = row_counts(x.shape[0], x.device)
    pad = max(counts) - x.shape[0]
    xp = torch.cat([x, x.new_zeros((pad,) + tuple(x.shape[1:]))]) if pad else x
    parts = all_gather(xp)
    return torch.cat([p[:c] for p, c in zip(parts, counts)]), sum(counts[:rank()])


def wrap(module: "nn.Module", device: "str | torch.device") -> "nn.Module":
    """``module`` in DistributedDataParallel when more than one process runs (on CUDA: this rank's GPU,
    the device's index or else LOCAL_RANK); ``module`` itself otherwise."""
    if not active():
        return module
    import torch
    from torch.nn.parallel import DistributedDataParallel as DDP

    dev = torch.device(device)
    ids = [dev.index if dev.index is not None else detect().local_rank] if dev.type == "cuda" else None
    return DDP(module, device_ids=ids)
