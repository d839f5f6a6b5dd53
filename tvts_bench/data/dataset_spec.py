"""What one dataset is, declared once, beside its reader.

Each ``tvts_bench/data/readers/<name>.py`` ends with one declaration::

    SPEC = DatasetSpec(
        name="ucf101",                                   # folder name, task cards' ``dataset``
        title="UCF-101",
        kind="classification",                           # one of KINDS
        splits=("train", "test"),                        # the split names read() yields, in order
        read=read,                                       # read(root, **options) -> DatasetIndex
        world="tvts_bench.world.formats.ucf101:build",   # the built-in stand-in's writer, or None
        sizes="ucf",                                     # its fields in world/presets.py: ucf_*
        notes="101 classes; splits 1-3",
        order=30,
    )

The reader registry (``data/readers/__init__.py``) collects these declarations from the reader modules
themselves; data roots (``home.py``), ``tvts-bench list datasets``, task-card validation, the built-in
world's planner (``world/__init__.py``) and the report's column order read them instead of keeping
lists of their own. This module imports nothing heavy: the world writer is named by import path and
imported only when the world is planned.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ..world.plan import DatasetPlan
    from ..world.presets import WorldPreset
    from .records import DatasetIndex

# What a dataset is for.
KINDS = ("classification", "text-video", "pretraining", "captions")
# Options read_dataset handles itself for every dataset of a kind (data/class_subset.py).
KIND_OPTIONS: dict[str, tuple[str, ...]] = {"classification": ("classes_file",)}

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class DatasetSpec:
    name: str                   # short name: its folder under a data root or the world, a card's dataset
    title: str                  # the release's own name (SSV2: "Something-Something v2")
    kind: str                   # one of KINDS
    splits: tuple[str, ...]     # every split name read() can yield, in order (a copy may lack some)
    read: Callable[..., "DatasetIndex"]   # read(root, **options) -> DatasetIndex
    # The writer of its built-in stand-in, build(preset, seed) -> DatasetPlan, as "module:function" (imported
    # only when the world is planned) or the function itself; None: the built-in world has no such dataset,
    # and reading it needs a data root.
    world: "str | Callable[[WorldPreset, int], DatasetPlan] | None" = None
    sizes: str | None = None    # prefix of its counts among world/presets.py's fields ("ucf": ucf_*)
    notes: str = ""             # one line for `tvts-bench list datasets`
    order: int = 1000           # position in listings and the report's columns (lower first, then name)

    def __post_init__(self) -> None:
        problems = []
        if not _NAME.match(self.name):
            problems.append("name must be lower-case letters, digits and _ (it names a folder)")
        if self.kind not in KINDS:
            problems.append(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if not self.splits or len(set(self.splits)) != len(self.splits):
            problems.append("splits must name each split once")
        if not callable(self.read):
            problems.append("read must be the reader function")
        if isinstance(self.world, str) and not re.match(r"^[\w.]+:\w+$", self.world):
            problems.append(f"world {self.world!r} must be 'module:function'")
        elif self.world is not None and not isinstance(self.world, str) and not callable(self.world):
            problems.append("world must be 'module:function', the writer function or None")
        if self.sizes is not None and self.world is None:
            problems.append("sizes without a world writer")
        if problems:
            raise RuntimeError(f"DatasetSpec {self.name!r}: " + "; ".join(problems))

    @property
    def builtin(self) -> bool:
        """Whether the built-in world writes a stand-in of this dataset."""
        return self.world is not None

    def world_writer(self) -> Callable[["WorldPreset", int], "DatasetPlan"]:
        """The function that plans this dataset's stand-in (imported now: it pulls in numpy)."""
        if self.world is None:
            raise RuntimeError(f"dataset {self.name!r} has no world writer")
        if callable(self.world):
            return self.world
        module, _, attr = self.world.partition(":")
        return getattr(importlib.import_module(module), attr)

    def world_sizes(self, preset: "str | WorldPreset") -> dict[str, Any]:
        """Its counts in a world preset (``{"classes": 4, "groups": 3, ...}``; {} without a stand-in)."""
        from ..world.presets import preset_sizes

        return preset_sizes(preset, self.sizes) if self.sizes else {}

    def options(self) -> list[str]:
        """Names of the options ``read_dataset`` accepts for this dataset."""
        params = inspect.signature(self.read).parameters
        return [p for p in params if p != "root"] + list(KIND_OPTIONS.get(self.kind, ()))
