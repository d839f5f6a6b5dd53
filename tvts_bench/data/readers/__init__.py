"""Readers of the real dataset formats, one module per dataset, all yielding ``DatasetIndex``.

``read_dataset(name, root, **options)`` is the entry point; ``READERS`` maps each short name to its
reader function. Options: ``split`` (1|2|3) for ucf101/hmdb51, ``train`` ("9k"|"7k") for msrvtt,
``load_annotations`` (bool) for yttemporal, ``classes_file`` (a class list, ``data/class_subset.py``) for
the classification datasets. Every record's ``path`` is absolute and under the root;
videos that do not exist still get their path (the manifest counts them as missing).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable

from ...errors import ConfigError
from ..records import DatasetIndex
from . import (cc3m, didemo, hmdb51, k400, lsmdc, msrvtt, msvd, ssv2, ucf101, webvid, yttemporal)

READERS: dict[str, Callable[..., DatasetIndex]] = {
    "ssv2": ssv2.read,
    "k400": k400.read,
    "ucf101": ucf101.read,
    "hmdb51": hmdb51.read,
    "msrvtt": msrvtt.read,
    "didemo": didemo.read,
    "msvd": msvd.read,
    "lsmdc": lsmdc.read,
    "yttemporal": yttemporal.read,
    "webvid": webvid.read,
    "cc3m": cc3m.read,
}


# Options every classification dataset takes, handled here rather than by each reader.
CLASSIFICATION = ("ssv2", "k400", "ucf101", "hmdb51")
COMMON_OPTIONS = ("classes_file",)          # data/class_subset.py


def reader_options(name: str) -> list[str]:
    """Names of the options ``read_dataset`` accepts for dataset ``name``."""
    params = inspect.signature(READERS[name]).parameters
    common = list(COMMON_OPTIONS) if name in CLASSIFICATION else []
    return [p for p in params if p != "root"] + common


def read_dataset(name: str, root: Path | str, **options: Any) -> DatasetIndex:
    """Read dataset ``name`` from its folder ``root``. Raises TvtsBenchError subclasses only for bad input."""
    if name not in READERS:
        raise ConfigError(f"unknown dataset {name!r}", hint=f"known: {', '.join(READERS)}")
    allowed = reader_options(name)
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise ConfigError(f"dataset {name} has no option {', '.join(map(repr, unknown))}",
                          hint=f"its options: {', '.join(allowed) or 'none'}")
    classes_file = options.pop("classes_file", None)
    index = READERS[name](Path(root), **options)
    if classes_file is not None:
        from ..class_subset import restrict

        index = restrict(index, classes_file)
    return index
