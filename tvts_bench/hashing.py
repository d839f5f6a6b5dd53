"""Content hashes that key caches and results. Short hex sha256 prefixes, stable across machines."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

HASH_LEN = 16


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:HASH_LEN]


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()[:HASH_LEN]


def sha256_json(obj: Any) -> str:
    """Hash of a JSON-serialisable object, independent of dict key order."""
    return sha256_bytes(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode())


def sha256_lines(lines: Iterable[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()[:HASH_LEN]


def state_dict_hash(state: dict) -> str:
    """Hash of a state dict's names, dtypes, shapes and values (order-independent)."""
    import torch

    h = hashlib.sha256()
    for key in sorted(state):
        value = state[key]
        h.update(key.encode())
        if isinstance(value, torch.Tensor):
            t = value.detach().to("cpu").contiguous()
            h.update(f"{t.dtype}{tuple(t.shape)}".encode())
            # reshape(-1): a 0-d tensor (BatchNorm's num_batches_tracked) cannot be viewed as bytes; for
            # every other tensor the bytes are the same
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:HASH_LEN]
