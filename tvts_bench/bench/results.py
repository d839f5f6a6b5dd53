"""Result files: one validated JSON per (model, task, seed), plus a per-sample side file.

Layout: ``<results>/<model>/<task>/<source>-seed<N>.json`` (source = ``builtin`` or ``real``, so a run on
the built-in world and one on the real dataset never overwrite each other) and
``<source>-seed<N>.samples.jsonl`` next to it (one JSON object per test sample or query: its id and
its outcome per metric, ``sample_rows.py``). Both are written atomically, the side file first, so a
result JSON never points at a side file that is not there.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterable, Literal

from pydantic import ValidationError

from ..atomic import atomic_path, write_text
from ..errors import ConfigError, DataFormatError
from .result_schema import SCHEMA_VERSION, ResultRecord
from .sample_rows import check_rows

OverwriteMode = Literal["never", "always", "only-missing"]
OVERWRITE_MODES: tuple[str, ...] = ("never", "always", "only-missing")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=@-]+")


def safe_name(name: str) -> str:
    """A model or task name as one folder name (user model specs may hold '/', ':' ...)."""
    cleaned = _UNSAFE.sub("_", name).strip("._")
    return cleaned or "model"


def result_path(results_dir: Path | str, model: str, task: str, seed: int,
                source: Literal["builtin", "real"] = "real") -> Path:
    return Path(results_dir) / safe_name(model) / safe_name(task) / f"{source}-seed{seed}.json"


NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=@-]{0,99}$")


def check_result_name(name: str, option: str = "--name") -> str:
    """A user-given name that becomes a folder: letters, digits and ``._+=@-``, no path separators."""
    if not NAME_RULE.match(name) or ".." in name:
        raise ConfigError(f"{option} {name!r} is not a valid name",
                          hint="use 1-100 letters, digits and . _ + = @ -, starting with a letter or digit "
                               "(no / and no ..)")
    return name


SUPERSEDED = ".superseded"


def supersede(path: Path, results_dir: Path) -> Path | None:
    """Move an existing result (and its side file) out of the way before a new one takes its place:
    into ``<results>/.superseded/<same relative path>.<finished time>.json``. Nothing a user computed
    is deleted; the leaderboard does not read dot-folders."""
    if not path.exists():
        return None
    try:
        rel = path.resolve().relative_to(Path(results_dir).resolve())
    except ValueError:
        rel = Path(path.name)
    stamp = str(int(path.stat().st_mtime_ns))
    target = Path(results_dir) / SUPERSEDED / rel.parent / f"{rel.stem}.{stamp}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    side = samples_path(path)
    if side.exists():
        os.replace(side, samples_path(target))
    os.replace(path, target)
    return target


def samples_path(result_json: Path) -> Path:
    return result_json.with_name(result_json.name.removesuffix(".json") + ".samples.jsonl")


def write_samples(path: Path, rows: Iterable[dict]) -> Path:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, separators=(",", ":"), default=_jsonable) + "\n")
    return path


def _jsonable(obj: object) -> object:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(obj)


def write_result(path: Path | str, record: ResultRecord, per_sample: list[dict] | None = None) -> Path:
    """Validate and write ``record`` (and its side file when ``per_sample`` is given: rows in the
    fixed schema of ``sample_rows.py``, one outcome per metric of the record)."""
    path = Path(path)
    if per_sample:
        check_rows(per_sample, record.metrics)
        side = samples_path(path)
        write_samples(side, per_sample)
        record = record.model_copy(update={"per_sample_file": side.name})
    # Round-trip through the schema so nothing unvalidated reaches the disk.
    record = ResultRecord.model_validate(record.model_dump())
    write_text(path, record.model_dump_json(indent=2) + "\n")
    return path


def read_result(path: Path | str) -> ResultRecord:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataFormatError(path, f"not valid JSON ({e.msg})", line=e.lineno) from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise DataFormatError(path, f"result schema version {version!r} is not {SCHEMA_VERSION}",
                              key="schema_version", hint="re-run the task with --overwrite always")
    try:
        return ResultRecord.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise DataFormatError(path, f"not a valid result record: {err['msg']}",
                              key=".".join(str(p) for p in err["loc"])) from None


def read_samples(result_json: Path | str) -> list[dict]:
    side = samples_path(Path(result_json))
    if not side.exists():
        return []
    return [json.loads(line) for line in side.read_text(encoding="utf-8").splitlines() if line.strip()]


def existing_result(path: Path, mode: str, *, weights_hash: str | None = None,
                    task_hash: str | None = None, manifest_hash: str | None = None) -> tuple[bool, str]:
    """Decide whether to (re)compute a result. Returns (skip, reason).

    - ``never``: an existing file is an error (nothing is overwritten).
    - ``always``: always compute (features still come from the cache).
    - ``only-missing``: skip a valid result made with the same weights, task hash and data (the
      manifest hash: annotation contents + the videos found); recompute a missing, unreadable or
      stale one. The runner moves a stale one to ``.superseded/`` (``supersede``) rather than
      overwriting it.
    """
    if mode not in OVERWRITE_MODES:
        raise ConfigError(f"--overwrite {mode!r}: expected one of {', '.join(OVERWRITE_MODES)}")
    if not path.exists():
        return False, "missing"
    if mode == "never":
        raise ConfigError(f"result exists: {path}",
                          hint="use --overwrite only-missing to keep it, or --overwrite always to recompute")
    if mode == "always":
        return False, "overwrite"
    try:
        record = read_result(path)
    except DataFormatError as e:
        return False, f"unreadable ({e.message})"
    if weights_hash is not None and record.model.weights_hash != weights_hash:
        return False, "stale: other weights"
    if task_hash is not None and record.task.hash != task_hash:
        return False, "stale: task card changed"
    if manifest_hash is not None and record.data.manifest_hash != manifest_hash:
        return False, "stale: dataset changed (annotations or videos on disk)"
    return True, "exists"
