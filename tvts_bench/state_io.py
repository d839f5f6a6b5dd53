"""Training state (optimizer, scheduler, RNG) saved in a form that loads with ``weights_only=True``.

A resume file is read back by this project, so it must never be able to run code: ``torch.load`` with
its weights-only guard switched off unpickles arbitrary objects, and a file planted in a run folder
would execute on the next resume. ``weights_only=True`` accepts only tensors and plain containers of numbers and
strings, so the few other values training state holds are converted on the way out and back:
numpy arrays (numpy's RNG state) become tensors under a marker key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from .atomic import atomic_path

_NDARRAY = "__ndarray__"


def to_safe(obj: Any) -> Any:
    """``obj`` with numpy arrays and numpy scalars replaced by what ``weights_only`` loads."""
    if isinstance(obj, np.ndarray):
        return {_NDARRAY: torch.from_numpy(np.ascontiguousarray(obj)).clone()}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: to_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        out = [to_safe(v) for v in obj]
        return tuple(out) if isinstance(obj, tuple) else out
    return obj


def from_safe(obj: Any) -> Any:
    """The inverse of ``to_safe``."""
    if isinstance(obj, dict):
        if set(obj) == {_NDARRAY} and isinstance(obj[_NDARRAY], torch.Tensor):
            return obj[_NDARRAY].numpy()
        return {k: from_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        out = [from_safe(v) for v in obj]
        return tuple(out) if isinstance(obj, tuple) else out
    return obj


def save_state(path: Path | str, state: dict) -> None:
    """Write ``state`` atomically in a form ``load_state`` reads with ``weights_only=True``."""
    with atomic_path(path) as tmp:
        torch.save(to_safe(state), tmp)


def load_state(path: Path | str) -> Any:
    """Read a file written by ``save_state``; nothing in it can run code (``weights_only=True``).

    Raises whatever ``torch.load`` raises (the caller turns it into an error naming the file)."""
    return from_safe(torch.load(path, map_location="cpu", weights_only=True))
