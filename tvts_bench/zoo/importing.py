"""Explicit state-dict key mapping with an account of every tensor.

An importer builds the target model's state dict from a checkpoint through a ``KeyMapper``: each
``take`` marks a source key as used, each ``ignore`` marks keys that are dropped by design (a
pretraining decoder, a classifier head, the sort module) and says why. ``load_into`` then refuses to
load unless the target receives every tensor it has (no silently zero ``q_bias``), and the resulting
``ImportReport`` lists used, ignored and unused source keys for ``check-model``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import CheckpointError


@dataclass
class ImportReport:
    source: str                                   # the file or folder read
    format: str                                   # hf | videomae-pth | tvts-authors | project | ...
    used: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)   # source key -> why it is not needed
    unused: list[str] = field(default_factory=list)         # neither used nor ignored: suspicious
    missing: list[str] = field(default_factory=list)        # target tensors the source did not give
    notes: list[str] = field(default_factory=list)

    @property
    def all_used(self) -> bool:
        return not self.unused and not self.missing

    def summary(self) -> str:
        text = (f"{len(self.used)} tensors used, {len(self.ignored)} ignored by design, "
                f"{len(self.unused)} unused, {len(self.missing)} missing")
        if self.ignored:
            reasons = sorted(set(self.ignored.values()))
            text += " (ignored: " + "; ".join(reasons) + ")"
        return text


class KeyMapper:
    """Pulls tensors out of a source state dict by name, remembering which ones were consumed."""

    def __init__(self, source: dict[str, torch.Tensor], source_name: str, fmt: str):
        self.source = source
        self.report = ImportReport(source=source_name, format=fmt)
        self._used: set[str] = set()

    def has(self, key: str) -> bool:
        return key in self.source

    def take(self, key: str, *, why: str = "") -> torch.Tensor:
        if key not in self.source:
            raise CheckpointError(
                f"{self.report.source}: expected tensor {key!r} is absent"
                + (f" ({why})" if why else ""),
                hint="the file does not match this model family/size; check-model lists its keys")
        self._used.add(key)
        value = self.source[key]
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{self.report.source}: {key!r} is not a tensor")
        return value

    def ignore(self, pattern: str, reason: str) -> int:
        """Mark every not-yet-used key matching the regex ``pattern`` as dropped on purpose."""
        rx = re.compile(pattern)
        n = 0
        for key in self.source:
            if key not in self._used and key not in self.report.ignored and rx.search(key):
                self.report.ignored[key] = reason
                n += 1
        return n

    def finish(self) -> ImportReport:
        self.report.used = sorted(self._used)
        self.report.unused = sorted(k for k in self.source
                                    if k not in self._used and k not in self.report.ignored)
        return self.report


def load_into(module: nn.Module, target: dict[str, torch.Tensor], report: ImportReport, *,
              allow_missing: tuple[str, ...] = ()) -> None:
    """Load ``target`` into ``module`` strictly: every module tensor must be given, with its shape."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in target and not any(re.search(p, k) for p in allow_missing)]
    extra = [k for k in target if k not in expected]
    if extra:  # the importer's mapping is wrong: a bug, but say which keys
        raise CheckpointError(f"{report.source}: mapped keys not in the target model: {extra[:8]}")
    if missing:
        report.missing = missing
        raise CheckpointError(
            f"{report.source}: {len(missing)} tensor(s) of the model are not in the checkpoint: "
            f"{missing[:8]}{' ...' if len(missing) > 8 else ''}",
            hint="refusing to leave them at their initial values; is this the right file for the model?")
    for key, value in target.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise CheckpointError(
                f"{report.source}: tensor for {key!r} has shape {tuple(value.shape)}, the model "
                f"expects {tuple(expected[key].shape)}",
                hint="the checkpoint's architecture differs from the configured one (size, frames, "
                     "patch); set the card's config or pass the matching checkpoint")
    full = dict(expected)
    full.update({k: v.to(expected[k].dtype) for k, v in target.items()})
    module.load_state_dict(full, strict=True)


def strip_prefix(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
