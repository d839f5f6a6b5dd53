"""tvts-bench: TVTS pretraining and a transfer benchmark for video encoders.

``tvts_bench.evaluate(model, tasks, **options)`` runs tasks from Python (``tvts_bench.api``);
``tvts_bench.results.load(dir)`` reads result files into a pandas DataFrame. Both load lazily:
importing ``tvts_bench`` imports neither torch nor pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "evaluate", "results", "EvaluationError"]


def __getattr__(name: str) -> Any:
    if name in ("evaluate", "EvaluationError"):
        return getattr(importlib.import_module(".api", __name__), name)
    if name == "results":
        return importlib.import_module(".results", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
