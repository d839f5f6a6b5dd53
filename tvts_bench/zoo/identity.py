"""Model identity: what a run must know about a model to decide its skips, known without loading it.

A result is valid when its record's weights hash and task hash match (``bench.results.existing_result``).
The weights hash is a hash of the loaded state dict, so knowing it costs importing torch and loading
the model. ``ModelHandle`` knows it cheaper: after a load it memoises (name, weights hash, text tower)
under a key made of everything ``registry.load_model`` reads, taken from file names, sizes and mtimes
only: the card YAMLs, the run checkpoints, the weights folders, the ``--checkpoint`` / path given, this
package's model code and the versions of the libraries that build the model. An identical later run
finds the memo and decides every skip without loading; any change to those inputs changes the key, so
the model is loaded (and hashed) again. Specs whose inputs cannot be listed (``file.py:factory``, entry
points, an adapter already in memory) have no key and are always loaded.

Torch-free: a no-op run decides every skip without importing torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_IDENTITY_VERSION = 2
_MODEL_LIBRARIES = ("torch", "timm", "transformers", "safetensors")
_MODEL_CODE = ("__init__.py", "hashing.py", "home.py", "zoo", "nn", "pretrain")   # below tvts_bench/


@dataclass(frozen=True)
class ModelIdentity:
    """What the skip decision needs from a model: its name, weights hash, and text tower."""

    name: str
    weights_hash: str
    has_text: bool

    @classmethod
    def of(cls, adapter: Any, default_name: str) -> "ModelIdentity":
        """The identity of a loaded adapter (its weights hashed now)."""
        return cls(getattr(adapter, "name", None) or default_name, adapter.weights_hash(),
                   bool(getattr(adapter, "has_text", False)))


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


def raw_cards() -> tuple[list, dict[str, list[dict]]]:
    """(content hash of every card file, name -> raw YAML dicts), with no validation: a broken or
    duplicated card leaves the model without a key, and the real load reports it."""
    import yaml

    from ..hashing import sha256_bytes
    from ..home import models_dirs

    files: list = []
    by_name: dict[str, list[dict]] = {}
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


def card_names() -> set[str]:
    """The names of every card, read without validation (torch-free)."""
    return set(raw_cards()[1])


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
    """A key for what ``registry.load_model(spec, checkpoint, device)`` would load, or None when it
    cannot be listed cheaply (user factories, entry points, unknown names). Reads file metadata only."""
    import importlib.metadata
    import sys

    from .. import __file__ as package_init
    from ..hashing import sha256_json
    from ..home import home_dir, runs_dir

    spec = str(spec)
    if ":" in spec:                                   # file.py:factory (user code reads what it likes)
        return None
    card_files, cards = raw_cards()
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


def read_model_identity(key: str | None) -> ModelIdentity | None:
    """The memo written after a load under ``key``, or None (no key, no memo, or a malformed one)."""
    if key is None:
        return None
    try:
        memo = json.loads(model_identity_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(memo, dict) and isinstance(memo.get("name"), str)
            and isinstance(memo.get("weights_hash"), str) and isinstance(memo.get("has_text"), bool)):
        return None
    return ModelIdentity(memo["name"], memo["weights_hash"], memo["has_text"])


def write_model_identity(key: str, identity: ModelIdentity, spec: str) -> Path:
    from ..atomic import write_json

    path = model_identity_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"name": identity.name, "weights_hash": identity.weights_hash,
                      "has_text": bool(identity.has_text), "spec": spec})
    return path


class ModelHandle:
    """One model a run may need: its identity known before any load when an identical load was seen
    before (the memo), the model itself loaded at most once, and only when ``load`` is called.

    ``adapter``: a model already in memory (``tvts_bench.evaluate`` with a VideoAdapter); never
    memoised, its weights are hashed. ``memoise=False``: neither read nor write the memo (under
    torchrun every rank must take the same skip decisions, and ranks reading a memo at different
    moments, around a checkpoint write, could disagree and hang in a collective).
    """

    def __init__(self, spec: str, checkpoint: str | None = None, device: str = "cpu", *,
                 accept_unused: bool = False, adapter: Any = None, memoise: bool = True, log: Any = None):
        self.spec, self.checkpoint, self.device = str(spec), checkpoint, device
        self.accept_unused = accept_unused
        self._given = adapter
        self._memoise = memoise and adapter is None
        self._log = log or (lambda message: None)
        self._key: str | None = None
        self._memo: ModelIdentity | None = None
        self._looked_up = False
        self.adapter: Any = None
        self.loaded: ModelIdentity | None = None

    def key(self) -> str | None:
        if not self._memoise:
            return None
        return model_identity_key(self.spec, self.checkpoint, self.device, accept_unused=self.accept_unused)

    def memo(self) -> ModelIdentity | None:
        """The identity an identical earlier load memoised, or None (read once)."""
        if not self._looked_up:
            self._looked_up = True
            self._key = self.key()
            self._memo = read_model_identity(self._key)
        return self._memo

    def identity(self) -> ModelIdentity:
        """The loaded model's identity; before any load, the memo's; with neither, load the model now."""
        if self.loaded is not None:
            return self.loaded
        memo = self.memo()
        if memo is not None:
            return memo
        self.load()
        assert self.loaded is not None
        return self.loaded

    @property
    def memo_was_wrong(self) -> bool:
        """The model was loaded and is not the one the memo described (an input the key does not list
        changed); the memo has been rewritten."""
        return self.loaded is not None and self._memo is not None and self.loaded != self._memo

    def load(self) -> Any:
        """The adapter (loaded on the first call, through ``registry.load_model``), its identity
        memoised when nothing the key lists changed while loading (a run writing a checkpoint)."""
        if self.adapter is not None:
            return self.adapter
        key = None
        if self._given is not None:
            adapter = self._given
        else:
            from . import registry

            key = self._key if self._looked_up else self.key()
            adapter = registry.load_model(self.spec, checkpoint=self.checkpoint, device=self.device,
                                          accept_unused=self.accept_unused)
        if self.device != "cpu":
            adapter.to(self.device)
        loaded = ModelIdentity.of(adapter, self.spec)
        if key is not None and self.key() == key and loaded != self._memo:
            try:
                write_model_identity(key, loaded, self.spec)
            except OSError as e:          # the memo only saves a later load: never a reason to stop
                self._log(f"note: cannot write the model-identity memo ({e}); later runs load the model")
        self.adapter, self.loaded = adapter, loaded
        return adapter


__all__ = ["ModelHandle", "ModelIdentity", "card_names", "model_identity_key", "model_identity_path",
           "raw_cards", "read_model_identity", "write_model_identity"]
