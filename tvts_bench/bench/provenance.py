"""Provenance of a result: which code, which machine, when, how fast."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from .. import __version__
from .result_schema import Provenance


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@lru_cache(maxsize=1)
def git_state() -> tuple[str | None, bool | None]:
    """(commit sha, dirty) of the checkout the package runs from, or (None, None) outside git."""
    repo = Path(__file__).resolve().parents[2]
    if not (repo / ".git").exists():
        return None, None
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                                capture_output=True, text=True, timeout=10, check=True).stdout
        return sha or None, bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@lru_cache(maxsize=4)
def describe_device(device: str) -> str:
    """e.g. ``cpu (2 cores, Intel Xeon ...)`` or ``cuda:0 NVIDIA H100 80GB HBM3``."""
    if device.startswith("cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                idx = torch.device(device).index or 0
                return f"cuda:{idx} {torch.cuda.get_device_name(idx)}"
        except Exception:  # noqa: BLE001 - a description must never fail a run
            pass
        return device
    return f"cpu ({os.cpu_count()} cores, {cpu_name()})"


def build_provenance(*, device: str, started_at: str, finished_at: str, seconds: float,
                     clips: int = 0, extra: dict | None = None) -> Provenance:
    import torch

    sha, dirty = git_state()
    extra = dict(extra or {})
    if dirty is not None:
        extra.setdefault("git_dirty", dirty)
    return Provenance(
        tvts_bench_version=__version__,
        git_sha=sha,
        torch_version=torch.__version__,
        device=describe_device(device),
        hostname=socket.gethostname(),
        started_at=started_at,
        finished_at=finished_at,
        seconds=round(seconds, 3),
        clips_per_second=round(clips / seconds, 3) if clips and seconds > 0 else None,
        extra=extra,
    )
