"""The protocols: their declarations (``SPECS``) and their entry points (``PROTOCOLS``).

A protocol is two modules: ``<module>_spec.py`` declares ``SPEC`` (name, whether it trains or needs a
text tower, typed parameters, metrics) without importing torch, and ``<module>.py`` holds
``run(ctx) -> ProtocolOutput``. ``PROTOCOL_MODULES`` is the one list of them; everything else (task
card validation, ``--task-param``, the runner, the report) looks a protocol up here by its card name.
The computing module is imported only when its protocol runs (fine-tuning pulls in timm, text-video
fine-tuning transformers), so listing tasks, validating cards or running a linear probe stays light.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

from ..protocol_spec import ProtocolSpec

if TYPE_CHECKING:  # the context module imports torch
    from ..context import ProtocolContext, ProtocolOutput

# Display order too (the leaderboard groups its columns by protocol in this order).
PROTOCOL_MODULES = ("linear", "knn", "attn", "v2v", "finetune", "retrieval", "retrieval_ft")


@lru_cache(maxsize=1)
def _specs() -> dict[str, ProtocolSpec]:
    out: dict[str, ProtocolSpec] = {}
    for module in PROTOCOL_MODULES:
        spec = importlib.import_module(f"{__name__}.{module}_spec").SPEC
        if spec.module != module or spec.name in out:
            raise RuntimeError(f"protocols/{module}_spec.py declares {spec.name!r} for module {spec.module!r}: "
                               "each spec names its own module and a name no other protocol has")
        out[spec.name] = spec
    return out


def specs() -> dict[str, ProtocolSpec]:
    """Card name -> declaration, in ``PROTOCOL_MODULES`` order."""
    return dict(_specs())


def spec_of(protocol: str) -> ProtocolSpec:
    """The declaration of the protocol a card names; KeyError listing the known ones."""
    try:
        return _specs()[protocol]
    except KeyError:
        raise KeyError(f"unknown protocol {protocol!r}; known: {', '.join(_specs())}") from None


def known_protocol(name: str) -> str:
    """``name`` if a protocol declares it; ValueError listing the known ones (for pydantic validators)."""
    if name not in _specs():
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(_specs())}")
    return name


def _lazy(module: str) -> Callable[["ProtocolContext"], "ProtocolOutput"]:
    def run(ctx: "ProtocolContext") -> "ProtocolOutput":
        return importlib.import_module(f"{__name__}.{module}").run(ctx)

    run.__name__ = f"run_{module}"
    run.__doc__ = f"Lazy entry point of tvts_bench.bench.protocols.{module}.run"
    return run


PROTOCOLS: dict[str, Callable[["ProtocolContext"], "ProtocolOutput"]] = {
    name: _lazy(spec.module) for name, spec in _specs().items()}

__all__ = ["PROTOCOLS", "PROTOCOL_MODULES", "known_protocol", "spec_of", "specs"]
