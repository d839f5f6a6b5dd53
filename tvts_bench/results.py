"""Result files as a pandas DataFrame: ``tvts_bench.results.load(dir)``.

One row per model x task x seed x variant x metric: ``variant`` is ``normal`` for the reported metrics
and ``shuffled`` / ``repeated`` / ``reversed`` for the temporal-sensitivity diagnostics. Columns:

- what: ``model``, ``task``, ``dataset``, ``protocol``, ``seed``, ``variant``, ``metric``, ``value``,
  ``ci_low``, ``ci_high``, ``ci_level``, ``n``, ``main`` (the task's main metric, normal variant);
- provenance: ``source`` (builtin | real), ``git_sha``, ``finished_at``, ``device``, ``weights_hash``,
  ``task_hash``, ``manifest_hash``, ``tvts_bench_version``, ``family``, ``checkpoint``, ``views``
  (``frames x clips x crops`` as text, when recorded), ``path`` (the result file).

Files that are not valid result files are skipped with a warning naming them; superseded results
(kept under ``.superseded/``) are not read. The file format itself is ``tvts_bench.bench.results``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from .bench.result_schema import ResultRecord

COLUMNS = ("model", "task", "dataset", "protocol", "seed", "variant", "metric", "value", "ci_low", "ci_high",
           "ci_level", "n", "main", "source", "git_sha", "finished_at", "device", "weights_hash", "task_hash",
           "manifest_hash", "tvts_bench_version", "family", "checkpoint", "views", "path")


def result_files(directory: Path) -> list[Path]:
    """Result JSON files under ``directory`` (not side files, not superseded results)."""
    from .bench.results import SUPERSEDED

    return sorted(p for p in Path(directory).rglob("*.json")
                  if SUPERSEDED not in p.relative_to(directory).parts and p.is_file())


def records(directory: str | Path | None = None) -> list[tuple[Path, "ResultRecord"]]:
    """(path, record) of every readable result file under ``directory`` (default: the home's results/)."""
    from .bench.results import read_result
    from .home import results_dir

    root = Path(directory).expanduser() if directory is not None else results_dir()
    if not root.is_dir():
        raise FileNotFoundError(f"no results folder at {root}")
    out = []
    for path in result_files(root):
        try:
            out.append((path, read_result(path)))
        except Exception as e:  # noqa: BLE001 - one bad file must not hide the others
            warnings.warn(f"{path}: not a readable result file ({str(e).splitlines()[0] if str(e) else e!r}); "
                          "skipped", stacklevel=2)
    return out


def _views(extra: dict) -> str | None:
    v = extra.get("views")
    if not isinstance(v, dict):
        return None
    text = f"{v.get('frames')}x{v.get('clips')}x{v.get('crops')}"
    return text + (f" stride {v['stride']}" if v.get("stride") else "")


def rows(path: Path, record: "ResultRecord") -> list[dict]:
    p = record.provenance
    common = {"model": record.model.name, "task": record.task.name, "dataset": record.task.dataset,
              "protocol": record.task.protocol, "seed": record.seed, "source": record.data.source,
              "git_sha": p.git_sha, "finished_at": p.finished_at, "device": p.device,
              "weights_hash": record.model.weights_hash, "task_hash": record.task.hash,
              "manifest_hash": record.data.manifest_hash, "tvts_bench_version": p.tvts_bench_version,
              "family": record.model.family, "checkpoint": record.model.checkpoint, "views": _views(p.extra),
              "path": str(path)}
    out = []
    for variant, metrics in [("normal", record.metrics), *sorted(record.diagnostics.items())]:
        for metric, mv in metrics.items():
            out.append({**common, "variant": variant, "metric": metric, "value": mv.value,
                        "ci_low": mv.ci_low, "ci_high": mv.ci_high, "ci_level": mv.ci_level, "n": mv.n,
                        "main": variant == "normal" and metric == record.task.main_metric})
    return out


def load(directory: str | Path | None = None) -> "pd.DataFrame":
    """Every result under ``directory`` (default: the home folder's ``results/``) as a long DataFrame
    (columns in the module docstring)."""
    import pandas as pd

    table = [row for path, record in records(directory) for row in rows(path, record)]
    frame = pd.DataFrame(table, columns=list(COLUMNS))
    return frame.astype({"seed": "int64", "value": "float64", "main": "bool"}) if len(frame) else frame
