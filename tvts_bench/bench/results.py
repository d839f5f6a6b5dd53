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


# -- cheap model identity: skip existing results without loading the model ---------------------------
#
# A result is valid when its record's weights hash and task hash match (``existing_result``). The
# weights hash is a hash of the loaded state dict, so knowing it used to cost importing torch and
# loading the model. After a load, the runner memoises (name, weights hash, text tower) under a key
# made of everything the load reads, taken from file names, sizes and mtimes only: the card YAMLs, the
# run checkpoints, the weights folders, the --checkpoint / path given, this package's sources and the
# versions of the libraries that build the model. An identical later run finds the memo and decides
# every skip without loading; any change to those inputs changes the key, so the model is loaded (and
# hashed) again. Specs whose inputs cannot be listed (``file.py:factory``, entry points) have no key.

MODEL_IDENTITY_VERSION = 2
_MODEL_LIBRARIES = ("torch", "timm", "transformers", "safetensors")
_MODEL_CODE = ("__init__.py", "hashing.py", "home.py", "zoo", "nn", "pretrain")   # below tvts_bench/


def _tree_stat(path: Path) -> list:
    """(path, [relative file, size, mtime_ns, inode, ctime_ns] ...) of a file or folder; a missing path
    counts too. ctime and the inode catch what size + mtime miss: a same-size checkpoint copied over with
    its mtime kept (``cp -p``, ``rsync -a``) or renamed into place; ctime cannot be set by a user."""
    try:
        st = path.stat()
    except OSError:
        return [str(path), "missing"]
    if not path.is_dir():
        return [str(path), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
    rows: list = []
    seen: set[str] = set()
    for root, dirs, files in os.walk(path, followlinks=True):    # weights folders may be links
        real = os.path.realpath(root)
        if real in seen:                                          # a link loop: list it once
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(root, name)
            try:
                s = os.stat(full)
            except OSError:                                       # removed while we list: skip
                continue
            rows.append([os.path.relpath(full, path), s.st_size, s.st_mtime_ns, s.st_ino, s.st_ctime_ns])
    return [str(path), rows]


def _raw_cards() -> tuple[list, dict[str, list[dict]]]:
    """(content hash of every card file, name -> raw YAML dicts), with no validation: a broken or
    duplicated card leaves the model without a key, and the real load reports it."""
    import yaml

    from ..hashing import sha256_bytes

    files: list = []
    by_name: dict[str, list[dict]] = {}
    from ..home import models_dirs

    for folder in models_dirs():
        if not folder.is_dir():
            files.append([str(folder), "missing"])
            continue
        for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
            data = path.read_bytes()
            files.append([str(path), sha256_bytes(data)])
            try:
                raw = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # C: ~10x faster
            except (yaml.YAMLError, RecursionError):
                continue
            if isinstance(raw, dict) and isinstance(raw.get("name"), str):
                by_name.setdefault(raw["name"], []).append(raw)
    return files, by_name


def _path_leaves(obj: object) -> list[Path]:
    """Strings in a raw card that name existing files or folders (weights.path, text model folders)."""
    if isinstance(obj, dict):
        return [p for v in obj.values() for p in _path_leaves(v)]
    if isinstance(obj, list):
        return [p for v in obj for p in _path_leaves(v)]
    if isinstance(obj, str) and (os.sep in obj or obj.startswith(("~", "$"))):
        path = Path(os.path.expandvars(obj)).expanduser()
        return [path] if path.exists() else []
    return []


def model_identity_key(spec: str, checkpoint: str | None = None, device: str = "cpu", *,
                       accept_unused: bool = False) -> str | None:
    """A key for what ``zoo.registry.load_model(spec, checkpoint, device)`` would load, or None when it
    cannot be listed cheaply (user factories, entry points, unknown names). Reads file metadata only."""
    import importlib.metadata
    import sys

    from .. import __file__ as package_init
    from ..hashing import sha256_json
    from ..home import home_dir, runs_dir

    spec = str(spec)
    if ":" in spec:                                   # file.py:factory (user code reads what it likes)
        return None
    card_files, cards = _raw_cards()
    inputs: dict = {"version": MODEL_IDENTITY_VERSION, "spec": spec, "device": device, "cards": card_files,
                    "accept_unused": bool(accept_unused),
                    "checkpoint": _tree_stat(Path(checkpoint).expanduser().resolve()) if checkpoint else None}
    if spec in cards:
        if len(cards[spec]) != 1:
            return None
        inputs["card_paths"] = [_tree_stat(p.resolve()) for p in _path_leaves(cards[spec][0])]
    elif Path(spec).expanduser().exists():
        inputs["spec_path"] = _tree_stat(Path(spec).expanduser().resolve())
    else:
        return None
    # Every run's checkpoints (a card's run, and the run whose architecture `scratch` copies) and the
    # local weights folder: a new step anywhere costs one load, never a stale skip.
    runs = runs_dir()
    inputs["runs"] = ([_tree_stat(r / "checkpoints") for r in sorted(runs.iterdir()) if r.is_dir()]
                      if runs.is_dir() else "missing")
    inputs["weights"] = _tree_stat(home_dir() / "weights")
    # Environment variables the zoo reads (the authors' TVTS loader adds a text tower from this folder).
    text_model = os.environ.get("TVTS_BENCH_TEXT_MODEL")
    inputs["env"] = {"TVTS_BENCH_TEXT_MODEL": _tree_stat(Path(text_model).expanduser().resolve())
                     if text_model else None}
    # The code that builds and hashes the model (random inits depend on it and on torch): the model
    # zoo, the architectures, checkpoint reading and presets, the hash. Not the protocols or data code,
    # whose edits change no weights.
    package = Path(package_init).resolve().parent
    inputs["code"] = [_tree_stat(package / part) for part in _MODEL_CODE]
    versions = {}
    for lib in _MODEL_LIBRARIES:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            versions[lib] = None
    inputs["libraries"] = versions
    inputs["python"] = sys.version
    return sha256_json(inputs)


def model_identity_path(key: str) -> Path:
    from ..home import cache_dir

    return cache_dir() / "model-identity" / f"{key}.json"


def read_model_identity(key: str | None) -> dict | None:
    """The memo written after a load under ``key``: {"name", "weights_hash", "has_text"}, or None."""
    if key is None:
        return None
    try:
        memo = json.loads(model_identity_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(memo, dict) and isinstance(memo.get("name"), str)
            and isinstance(memo.get("weights_hash"), str) and isinstance(memo.get("has_text"), bool)):
        return None
    return {k: memo[k] for k in ("name", "weights_hash", "has_text")}


def write_model_identity(key: str, *, name: str, weights_hash: str, has_text: bool, spec: str) -> Path:
    from ..atomic import write_json

    path = model_identity_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"name": name, "weights_hash": weights_hash, "has_text": bool(has_text), "spec": spec})
    return path
