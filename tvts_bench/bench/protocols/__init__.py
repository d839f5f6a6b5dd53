"""The protocols. ``PROTOCOLS[task.protocol](ctx) -> ProtocolOutput`` (see ``bench.context``).

Each protocol module is imported only when its protocol runs (fine-tuning pulls in timm, text-video
fine-tuning transformers), so listing tasks or running a linear probe stays light.
"""

from __future__ import annotations

import importlib
from typing import Callable

from ..context import ProtocolContext, ProtocolOutput

_MODULES = {"linear": "linear", "knn": "knn", "attn": "attn", "v2v": "v2v", "ft": "finetune", "ret": "retrieval",
            "ret-ft": "retrieval_ft"}


def _lazy(module: str) -> Callable[[ProtocolContext], ProtocolOutput]:
    def run(ctx: ProtocolContext) -> ProtocolOutput:
        return importlib.import_module(f"{__name__}.{module}").run(ctx)

    run.__name__ = f"run_{module}"
    run.__doc__ = f"Lazy entry point of tvts_bench.bench.protocols.{module}.run"
    return run


PROTOCOLS: dict[str, Callable[[ProtocolContext], ProtocolOutput]] = {k: _lazy(m) for k, m in _MODULES.items()}

__all__ = ["PROTOCOLS"]
