"""Readers of the real dataset formats, one module per dataset, all yielding ``DatasetIndex``; and the
registry of datasets.

Every module of this package except ``HELPERS`` is a dataset: it declares ``SPEC = DatasetSpec(...)``
(``data/dataset_spec.py``) beside its ``read`` function, and ``dataset_specs()`` finds it there, so a new
dataset is its reader module (plus its world writer and task cards), never an entry in a list here.
``register_dataset`` adds a dataset declared elsewhere (a plugin, a test).

``read_dataset(name, root, **options)`` is the entry point; ``READERS`` maps each short name to its
reader function. Options: ``split`` (1|2|3) for ucf101/hmdb51, ``train`` ("9k"|"7k") for msrvtt,
``load_annotations`` (bool) for yttemporal, ``classes_file`` (a class list, ``data/class_subset.py``) for
the classification datasets. Every record's ``path`` is absolute and under the root;
videos that do not exist still get their path (the manifest counts them as missing).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from ...errors import ConfigError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex

HELPERS = ("common",)          # modules of this package that are not datasets

_REGISTERED: dict[str, DatasetSpec] = {}     # register_dataset: declared outside this package


@lru_cache(maxsize=1)
def _packaged() -> dict[str, DatasetSpec]:
    out: dict[str, DatasetSpec] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in HELPERS or info.name.startswith("_"):
            continue
        spec = getattr(importlib.import_module(f"{__name__}.{info.name}"), "SPEC", None)
        if not isinstance(spec, DatasetSpec) or spec.name != info.name:
            raise RuntimeError(f"data/readers/{info.name}.py must declare SPEC = DatasetSpec(name={info.name!r}, "
                               "...), or be listed in HELPERS")
        out[spec.name] = spec
    return out


def dataset_specs() -> dict[str, DatasetSpec]:
    """Short name -> declaration, in listing order (``order``, then name)."""
    found = {**_packaged(), **_REGISTERED}
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def dataset_names() -> list[str]:
    return list(dataset_specs())


def dataset_spec(name: str) -> DatasetSpec:
    """The declaration of dataset ``name``; a ConfigError listing the known ones."""
    specs = dataset_specs()
    if name not in specs:
        raise ConfigError(f"unknown dataset {name!r}", hint=f"known: {', '.join(specs)}")
    return specs[name]


def known_dataset(name: str) -> str:
    """``name`` if a dataset declares it; ValueError listing the known ones (for pydantic validators)."""
    if name not in dataset_specs():
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(dataset_specs())}")
    return name


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Add a dataset declared outside this package. A name declared twice is a bug."""
    if dataset_specs().get(spec.name, spec) is not spec:
        raise RuntimeError(f"dataset {spec.name!r} is registered twice")
    _REGISTERED[spec.name] = spec
    return spec


class _Readers(Mapping):
    """Short name -> reader function, always in step with the registry."""

    def __getitem__(self, name: str) -> Callable[..., DatasetIndex]:
        return dataset_specs()[name].read

    def __iter__(self) -> Iterator[str]:
        return iter(dataset_specs())

    def __len__(self) -> int:
        return len(dataset_specs())


READERS: Mapping[str, Callable[..., DatasetIndex]] = _Readers()


def reader_options(name: str) -> list[str]:
    """Names of the options ``read_dataset`` accepts for dataset ``name``."""
    return dataset_spec(name).options()


def read_dataset(name: str, root: Path | str, **options: Any) -> DatasetIndex:
    """Read dataset ``name`` from its folder ``root``. Raises TvtsBenchError subclasses only for bad input."""
    spec = dataset_spec(name)
    allowed = spec.options()
    unknown = [k for k in options if k not in allowed]
    if unknown:
        raise ConfigError(f"dataset {name} has no option {', '.join(map(repr, unknown))}",
                          hint=f"its options: {', '.join(allowed) or 'none'}")
    classes_file = options.pop("classes_file", None)
    index = spec.read(Path(root), **options)
    if classes_file is not None:
        from ..class_subset import restrict

        index = restrict(index, classes_file)
    return index
