"""Process-wide CPU runtime defaults, applied before torch is imported (by the CLI and the benchmarks).

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
