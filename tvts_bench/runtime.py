"""Process-wide CPU defaults: the OpenMP wait policy (set before torch is imported, by the CLI and the
benchmarks) and how many decode workers a command uses when the user gives none.

OpenMP threads (torch's intra-op pool) spin-wait between parallel regions by default. When DataLoader
workers decode on the same cores as the model, that spinning takes the cycles the decoders need:
measured with ``benchmarks/pipeline_efficiency.py`` on 2 cores, end-to-end extraction ran at 70 clips/s
spinning and 89 clips/s with passive waiting, while a pure training step (``pretrain_mfu.py``) lost ~3 %.
GNU OpenMP reads the variable once, when torch loads it, so this must run before ``import torch``;
a value the user set is kept.
"""

from __future__ import annotations

import os
import sys


def prefer_passive_omp_wait() -> bool:
    """Default ``OMP_WAIT_POLICY=PASSIVE``; returns whether it can still take effect."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return "torch" not in sys.modules


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask under a scheduler, else the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_decode_workers(device: str) -> int:
    """DataLoader workers per process for evaluation (extraction, fine-tuning) and GPU pretraining.

    On CUDA decoding is the bottleneck: most cores. On a CPU the workers share the cores with the
    model's threads. Measured on 2 cores: 2 workers extract 512 SSV2 clips ~15 % faster than decoding
    in-process (benchmarks/pipeline_efficiency.py), but the demo's many small extractions each pay the
    workers' start-up, and `demo --preset tiny` took 1.07 min instead of 0.75 with 2.5x the process-tree
    memory. So small CPU machines decode in-process and large ones give a quarter of their cores to it.
    """
    # Under torchrun every process on the node starts its own workers: share the node's CPUs.
    cpus = max(1, available_cpus() // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    if str(device).startswith("cuda"):
        return min(8, max(0, cpus - 1))
    return 0 if cpus <= 4 else min(8, cpus // 4)


def check_device(device: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` that exists here, else a ConfigError saying what is available."""
    import re

    from .errors import ConfigError

    text = str(device)
    if not re.fullmatch(r"cpu|cuda(:\d{1,3})?", text):
        raise ConfigError(f"--device {text[:40]!r} is not a device", hint="use cpu, cuda or cuda:N")
    if text.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"--device {text}: CUDA is not available here", hint="use --device cpu")
        index = int(text.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"--device {text}: this machine has {torch.cuda.device_count()} CUDA device(s)",
                              hint="use cuda:0 .. cuda:N-1")
    return text


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (torch's on every device) from ``seed``.

    The one seeding of the package: the benchmark runner before each (task, seed), the training
    protocols and the pretraining trainer all call it, so a seed means the same draws everywhere.
    Seeds of any size are accepted (NumPy takes the low 32 bits)."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
