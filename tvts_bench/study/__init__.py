"""The paper's ablations re-run with seeds and paired significance (``tvts-bench study``).

``design`` declares the variants, tables, claims and presets; ``run`` plans and executes the pretraining
and evaluation jobs through the public commands; ``analysis`` reads the result files into tables and
verdicts; ``report`` writes HTML, Markdown, CSV and pandas DataFrames.

    from tvts_bench.study import tables
    frames = tables("quick")          # {"rows": DataFrame, "claims": DataFrame}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def tables(name: str = "quick", *, preset: str | None = None, seeds: tuple[int, ...] | None = None,
           which: str = "all", results_dir: Path | str | None = None, home: Path | str | None = None) -> dict[str, Any]:
    """The study's tables as pandas DataFrames, from the result files that exist (runs nothing).

    ``name``: the study's name (``--name``, default the preset's); ``preset`` (default: ``name`` when it
    is a preset) gives the default seeds; ``results_dir``: default ``<home>/studies/<name>/results``."""
    from ..home import home_dir, runs_dir
    from .analysis import analyse
    from .design import PRESETS, get_preset, select_tables
    from .report import dataframes

    chosen = get_preset(preset or (name if name in PRESETS else "quick"))
    folder = Path(results_dir) if results_dir else home_dir(home) / "studies" / name / "results"
    result = analyse(folder, runs_dir(home), name, select_tables(which), tuple(seeds or chosen.seeds))
    return dataframes(result)
