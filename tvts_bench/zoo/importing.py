"""Explicit state-dict key mapping with an account of every tensor.

An importer builds the target model's state dict from a checkpoint through a ``KeyMapper``: each
``take`` marks a source key as used, each ``ignore`` marks keys that are dropped by design (a
pretraining decoder, a classifier head, the sort module) and says why. ``load_into`` then refuses to
load unless the target receives every tensor it has (no silently zero ``q_bias``), and the resulting
``ImportReport`` lists used, ignored and unused source keys for ``check-model``.

A source tensor that is neither used nor ignored by design is *unused*: the file holds something the
importer does not understand (another size, another layout, an extra module). ``refuse_unused``
turns that into an error naming the keys, unless the caller explicitly accepts it
(``load_model(..., accept_unused=True)``, ``tvts-bench run --accept-unused-tensors``); accepted keys
stay listed on the report and in the results (``ModelInfo.unused_tensors``). Missing tensors are
always an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import CheckpointError

ACCEPT_UNUSED_FLAG = "--accept-unused-tensors"

# Standard ViT sizes by embedding width -> number of attention heads (ViT-S/B/L/H/g as used by VideoMAE,
# modeling_finetune.py / modeling_pretrain.py, and VideoMAE V2's ViT-g). Shapes cannot tell the head
# count; a width outside this table needs ``num_heads`` in the card's config.
STANDARD_HEADS = {384: 6, 768: 12, 1024: 16, 1280: 16, 1408: 16}


def heads_for_width(width: int, card_config: dict, source: str,
                    table: dict[int, int] | None = None) -> tuple[int, str]:
    """(number of heads, where it came from) for a checkpoint of embedding width ``width``.

    ``table``: the family's standard sizes (default ``STANDARD_HEADS``; V-JEPA 2's ViT-g has 22 heads
    at width 1408 where VideoMAE V2's has 16).

    The standard table wins for a standard width: a card written for ViT-B (``num_heads: 12``) must
    never give 12 heads to a ViT-S file. A card may set a non-standard head count for a standard
    width only by pinning the width too (``hidden_size: <width>`` next to ``num_heads``).
    """
    standard = STANDARD_HEADS if table is None else table
    given = card_config.get("num_heads")
    pinned = card_config.get("hidden_size", card_config.get("embed_dim"))
    if given is not None and (width not in standard or (pinned is not None and int(pinned) == width)):
        heads = int(given)
        if heads <= 0 or width % heads:
            raise CheckpointError(f"{source}: card config num_heads {heads} does not divide the "
                                  f"checkpoint's width {width}",
                                  hint="set config.num_heads to the model's head count")
        return heads, "card config num_heads"
    if width in standard:
        heads = standard[width]
        if given is not None and int(given) != heads:
            raise CheckpointError(
                f"{source}: the card's config says num_heads {given}, but this checkpoint has width "
                f"{width}, whose standard model has {heads} heads (a card written for another size?)",
                hint=f"remove num_heads from the card, or set config.hidden_size: {width} next to it "
                     "if this model really is a non-standard one")
        return heads, f"standard head count for width {width}"
    raise CheckpointError(
        f"{source}: embedding width {width} is not a standard ViT size "
        f"({', '.join(f'{w}: {h} heads' for w, h in standard.items())}), so the number of "
        "attention heads cannot be known from the file",
        hint="write a card for this model with config.num_heads set (and pass it with --model CARD "
             "--checkpoint PATH)")


@dataclass
class ImportReport:
    source: str                                   # the file or folder read
    format: str                                   # hf | videomae-pth | tvts-authors | project | ...
    used: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)   # source key -> why it is not needed
    unused: list[str] = field(default_factory=list)         # neither used nor ignored: suspicious
    missing: list[str] = field(default_factory=list)        # target tensors the source did not give
    notes: list[str] = field(default_factory=list)

    accepted_unused: bool = False                # unused tensors were accepted by an explicit flag

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


def refuse_unused(report: ImportReport, accept_unused: bool) -> None:
    """Refuse a checkpoint whose report lists unused tensors, unless the caller accepted them."""
    if not report.unused:
        return
    shown = ", ".join(report.unused[:12]) + (f" ... ({len(report.unused)} in all)"
                                              if len(report.unused) > 12 else "")
    if not accept_unused:
        raise CheckpointError(
            f"{report.source}: {len(report.unused)} tensor(s) of the checkpoint would be left unused "
            f"(format {report.format}): {shown}",
            hint="is this the right file for the model (size, layout)? `tvts-bench check-model MODEL "
                 "--show-keys` lists every key; to evaluate it anyway pass "
                 f"{ACCEPT_UNUSED_FLAG} (load_model(..., accept_unused=True)); the unused keys are then "
                 "recorded with the results")
    report.accepted_unused = True
    report.notes.append(f"loaded despite {len(report.unused)} unused tensor(s) (accept_unused, "
                        f"{ACCEPT_UNUSED_FLAG}): {shown}")


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


def block_depth(state: dict[str, torch.Tensor], prefix: str, required: tuple[str, ...] | list[str],
                source: str, *, hint: str) -> int:
    """1 + the highest ``<prefix>blocks.<i>`` index present with all of ``required``.

    Depth is read from the tensors present, never from a key's number alone: one stray
    ``blocks.99999.x`` would otherwise build a 100,000-block model. The stray key then stays unused and
    is refused like any other."""
    indices = {int(m.group(1)) for k in state if (m := re.match(re.escape(prefix) + r"blocks\.(\d{1,9})\.", k))}
    complete = [i for i in indices if all(f"{prefix}blocks.{i}.{t}" in state for t in required)]
    if not complete:
        raise CheckpointError(f"{source}: no complete transformer block under {prefix}blocks.* "
                              f"(each needs {', '.join(required)})", hint=hint)
    depth = 1 + max(complete)
    gaps = [i for i in range(depth) if i not in complete]
    if gaps:
        raise CheckpointError(f"{source}: transformer block(s) {gaps[:8]} of {depth} are missing or incomplete "
                              f"under {prefix}blocks.*", hint=hint)
    return depth
