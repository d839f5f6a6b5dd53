"""Loading weight files without running code from them.

Every weight load in the zoo goes through this module:

- ``.safetensors``: read with safetensors (no code at all);
- torch pickles (``.pt``, ``.pth``, ``.bin``, ``.ckpt``): ``torch.load(weights_only=True)``, which only
  rebuilds tensors and plain containers;
- only where a caller asks for it (the authors' TVTS file, whose ``config`` is a pickled custom object;
  original VideoMAE files, which carry the training ``args`` as an ``argparse.Namespace``), a
  restricted unpickler: it allows the same globals as ``weights_only`` plus a few inert value types,
  turns any other class into an inert placeholder that records its pickled state, and REFUSES the file
  as soon as the pickle asks to *call* anything else (``os.system``, ``builtins.eval``, a custom
  ``__reduce__``, ...). The refusal happens before the call, so nothing from the file ever runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pickle
import re
import types
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import torch

from ..errors import CheckpointError, MissingPathError

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".tar")

_CONVERT_HINT = (
    "only if you trust where the file came from, convert it once: python -c \"import torch; "
    "ck = torch.load('IN', map_location='cpu', weights_only=False); "
    "torch.save({'state_dict': ck.get('state_dict', ck)}, 'OUT.pth')\" and pass OUT.pth "
    "(or save the tensors with safetensors)")


class UnsafePickleError(CheckpointError):
    """The pickle asked to call something that is not a tensor-rebuild function. Nothing was run."""


@dataclass
class LoadedFile:
    """A weight file's contents and how they were read."""

    path: Path
    content: Any
    method: str                                   # safetensors | weights_only | restricted
    placeholders: list[str] = field(default_factory=list)   # classes kept as inert data (restricted)


# -- the restricted unpickler -------------------------------------------------------------------------

class _InertMeta(type):
    """Metaclass of placeholders: creating one through a *call* (pickle REDUCE/INST) is refused."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise UnsafePickleError(
            f"refusing to load {_current_file()}: its pickle asks to call {cls._pickled_name}(...) "
            "while loading, which would run code from the file. Nothing was executed.",
            hint=_CONVERT_HINT)


class InertObject(metaclass=_InertMeta):
    """Stands in for a pickled instance of a class we do not import. Holds its state as plain data."""

    _pickled_name = "object"

    def __new__(cls, *args: Any, **kwargs: Any) -> "InertObject":   # NEWOBJ path: no user code runs
        obj = object.__new__(cls)
        object.__setattr__(obj, "_pickled_args", args)
        object.__setattr__(obj, "_pickled_state", None)
        return obj

    def __setstate__(self, state: Any) -> None:
        object.__setattr__(self, "_pickled_state", state)

    @property
    def state(self) -> Any:
        return self._pickled_state

    def __repr__(self) -> str:
        return f"<inert {self._pickled_name}>"


_SAFE_FILE = ["<file>"]


def _current_file() -> str:
    return _SAFE_FILE[0]


def _path_from_parts(*parts: Any) -> str:
    # pathlib objects in configs become strings: constructing a Path is harmless, but a str is enough.
    return str(PurePosixPath(*[str(p) for p in parts]))


def _windows_path_from_parts(*parts: Any) -> str:
    return str(PureWindowsPath(*[str(p) for p in parts]))


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    # copyreg._reconstructor (protocol 0/1 object pickles). Only placeholders may be built this way.
    if isinstance(cls, _InertMeta) and base is object:
        return InertObject.__new__(cls)
    raise UnsafePickleError(
        f"refusing to load {_current_file()}: its pickle asks to rebuild {cls!r} from {base!r}. "
        "Nothing was executed.", hint=_CONVERT_HINT)


def _extra_allowed() -> dict[str, Any]:
    allowed: dict[str, Any] = {
        "pathlib.PosixPath": _path_from_parts, "pathlib.PurePosixPath": _path_from_parts,
        "pathlib.Path": _path_from_parts, "pathlib._local.PosixPath": _path_from_parts,
        "pathlib.WindowsPath": _windows_path_from_parts,
        "pathlib.PureWindowsPath": _windows_path_from_parts,
        "datetime.datetime": datetime.datetime, "datetime.date": datetime.date,
        "datetime.timedelta": datetime.timedelta,
        "copyreg._reconstructor": _reconstructor,
        "builtins.object": object, "builtins.frozenset": frozenset, "builtins.set": set,
        "builtins.slice": slice, "builtins.range": range,
        # VideoMAE's utils.save_model stores the training arguments. A Namespace is an attribute bag:
        # pickle rebuilds it with object.__new__ and a __dict__ update (it has no __setstate__), and
        # the only call it could be given, Namespace(*args), takes no positional arguments. Nothing
        # from the file runs.
        "argparse.Namespace": argparse.Namespace,
    }
    try:  # numpy values in configs (arrays, scalars, dtypes): pure constructors
        import numpy as np

        allowed["numpy.dtype"] = np.dtype
        allowed["numpy.ndarray"] = np.ndarray
        for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
            allowed[f"{mod}._reconstruct"] = np._core.multiarray._reconstruct
            allowed[f"{mod}.scalar"] = np._core.multiarray.scalar
    except (ImportError, AttributeError):
        pass
    return allowed


def _torch_allowed() -> dict[str, Any]:
    try:  # the exact allow-list torch uses for weights_only=True
        from torch._weights_only_unpickler import _get_allowed_globals

        return dict(_get_allowed_globals())
    except Exception:  # pragma: no cover - private API moved: fall back to the essentials
        import collections

        from torch import _utils

        return {"collections.OrderedDict": collections.OrderedDict,
                "torch._utils._rebuild_tensor_v2": _utils._rebuild_tensor_v2,
                "torch._utils._rebuild_parameter": _utils._rebuild_parameter,
                "torch.Size": torch.Size, "torch.device": torch.device,
                "torch.storage.UntypedStorage": torch.storage.UntypedStorage,
                **{f"torch.{n}": getattr(torch, n) for n in ("float32", "float16", "bfloat16",
                                                               "float64", "int64", "int32", "bool",
                                                               "uint8", "int8")}}


class RestrictedUnpickler(pickle._Unpickler):  # the Python implementation: its opcodes can be guarded
    """An unpickler that never imports or calls anything outside an allow-list.

    GLOBAL lookups outside the allow-list yield inert placeholder classes; calling one (REDUCE, INST,
    OBJ) is refused. BUILD (setting an object's state) is refused on functions, classes and modules,
    so a pickle cannot rewire an allowed function (e.g. its ``__defaults__``) either.
    """

    placeholders: list[str]
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.placeholders = []

    def find_class(self, module: str, name: str) -> Any:
        key = f"{module}.{name}"
        allowed = _ALLOWED.get(key)
        if allowed is not None:
            return allowed
        if key not in self.placeholders:
            self.placeholders.append(key)
            _PLACEHOLDERS_SEEN.append(key)
        return _placeholder(key)

    def load_build(self) -> None:
        target = self.stack[-2]          # the state is on top, the object below it
        if isinstance(target, (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType,
                               types.MethodType)):
            raise UnsafePickleError(
                f"refusing to load {_current_file()}: its pickle asks to modify {target!r} while "
                "loading. Nothing was executed.", hint=_CONVERT_HINT)
        pickle._Unpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = load_build


_PLACEHOLDER_CLASSES: dict[str, type] = {}
_PLACEHOLDERS_SEEN: list[str] = []


def _placeholder(qualname: str) -> type:
    cls = _PLACEHOLDER_CLASSES.get(qualname)
    if cls is None:
        cls = _InertMeta(f"Inert[{qualname}]", (InertObject,), {"_pickled_name": qualname})
        _PLACEHOLDER_CLASSES[qualname] = cls
    return cls


_ALLOWED: dict[str, Any] = {**_torch_allowed(), **_extra_allowed()}

# torch.load(pickle_module=...) wants a module with Unpickler and load().
restricted_pickle = types.ModuleType("tvts_bench_restricted_pickle")
restricted_pickle.Unpickler = RestrictedUnpickler           # type: ignore[attr-defined]
restricted_pickle.UnpicklingError = pickle.UnpicklingError  # type: ignore[attr-defined]
restricted_pickle.__name__ = "tvts_bench_restricted_pickle"


def _restricted_load(file: Any, **kwargs: Any) -> Any:
    return RestrictedUnpickler(file, **kwargs).load()


restricted_pickle.load = _restricted_load                   # type: ignore[attr-defined]


# -- public API ---------------------------------------------------------------------------------------

def _weights_only_problem(err: Exception) -> str:
    text = str(err)
    m = re.search(r"GLOBAL ([\w.]+)", text)
    if m:
        return f"it references {m.group(1)}"
    m = re.search(r"Unsupported operand (\d+)", text)
    if m:
        return f"it uses pickle opcode {m.group(1)}"
    return text.splitlines()[0][:200] if text else type(err).__name__


def load_weight_file(path: Path | str, *, allow_restricted: bool = False) -> LoadedFile:
    """Read one weight file safely. ``allow_restricted`` enables the restricted unpickler fallback."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise MissingPathError(path, "weight file")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return LoadedFile(path, load_file(str(path), device="cpu"), "safetensors")
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None
    try:
        content = torch.load(path, map_location="cpu", weights_only=True, mmap=False)
        return LoadedFile(path, content, "weights_only")
    except pickle.UnpicklingError as e:
        problem = _weights_only_problem(e)
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        if "weights_only" not in str(e).lower() and "unpickl" not in str(e).lower():
            first = str(e).splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise CheckpointError(f"{path}: not a readable torch checkpoint ({first})",
                                  hint="is the file complete? re-download it") from None
        problem = _weights_only_problem(e)
    if not allow_restricted:
        raise CheckpointError(
            f"refusing to load {path}: it is a pickle that needs more than tensors to load "
            f"({problem}), so loading it could run code from the file. Nothing was executed.",
            hint=_CONVERT_HINT)
    _SAFE_FILE[0] = str(path)
    _PLACEHOLDERS_SEEN.clear()
    try:
        # safe: restricted unpickler (the pickle module below refuses every call a file asks for)
        content = torch.load(path, map_location="cpu", pickle_module=restricted_pickle, weights_only=False)
    except UnsafePickleError:
        raise
    except Exception as e:  # noqa: BLE001 - any byte soup (unknown opcodes: KeyError) is "not a checkpoint"
        problem = (f"unknown pickle opcode {e}" if isinstance(e, KeyError)
                   else (str(e).splitlines()[0][:200] if str(e) else type(e).__name__))
        raise CheckpointError(f"{path}: not a readable checkpoint ({problem})",
                              hint="the file is not a torch checkpoint, or it is truncated or damaged; "
                                   "re-download it") from None
    finally:
        _SAFE_FILE[0] = "<file>"
    return LoadedFile(path, content, "restricted", list(_PLACEHOLDERS_SEEN))


def load_hf_folder_weights(folder: Path | str) -> tuple[dict[str, torch.Tensor], list[Path]]:
    """The state dict of a HuggingFace model folder (single or sharded; safetensors preferred)."""
    folder = Path(folder)
    for index_name, suffix in (("model.safetensors.index.json", ".safetensors"),
                               ("pytorch_model.bin.index.json", ".bin")):
        index = folder / index_name
        if index.is_file():
            try:
                shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise CheckpointError(f"{index}: not a valid shard index ({e})") from None
            state: dict[str, torch.Tensor] = {}
            files = []
            for shard in shards:
                loaded = load_weight_file(folder / shard)
                state.update(loaded.content)
                files.append(folder / shard)
            return state, files
    for name in ("model.safetensors", "pytorch_model.bin"):
        f = folder / name
        if f.is_file():
            loaded = load_weight_file(f)
            if not isinstance(loaded.content, dict):
                raise CheckpointError(f"{f}: expected a dict of tensors")
            return dict(loaded.content), [f]
    raise MissingPathError(folder / "model.safetensors", "model weights",
                           hint="a HuggingFace folder needs model.safetensors or pytorch_model.bin "
                                "next to config.json (save it with save_pretrained)")


def to_plain(obj: Any, depth: int = 0) -> Any:
    """Inert placeholders and containers -> JSON-like data (for reading a pickled config safely)."""
    if depth > 20:
        return None
    if isinstance(obj, InertObject):
        state = obj.state
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}   # (dict state, slot state)
        return to_plain(state, depth + 1)
    if isinstance(obj, argparse.Namespace):
        return {str(k): to_plain(v, depth + 1) for k, v in vars(obj).items()}
    if isinstance(obj, dict):
        return {str(k): to_plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v, depth + 1) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)


__all__ = ["LoadedFile", "UnsafePickleError", "load_weight_file", "load_hf_folder_weights", "to_plain",
           "RestrictedUnpickler", "InertObject"]
