"""MSVD (YouTube2Text).

``raw-captions.pkl``: a dict clip_id -> list of token lists (or of strings), read with a restricted
unpickler that executes no code: only the builtins dict, list, str and tuple may be named; anything
else (functions, classes, ``__reduce__`` payloads) is refused with a DataFormatError. Captions are the
tokens joined by spaces. Splits from ``{train,val,test}_list.txt`` (one clip id per line).
Videos ``YouTubeClips/<clip_id>.avi`` (or ``videos/``, the root).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from ...errors import DataFormatError, MissingPathError
from ..records import DatasetIndex, VideoRecord
from .common import DatasetRoot, expect, iter_lines, sample_of

NAME = "msvd"
ANN_DIRS = ("", "annotations", "labels", "msvd_data", "data")
VIDEO_DIRS = ("YouTubeClips", "videos", "")
SPLITS = {"train": ("train_list.txt",), "val": ("val_list.txt",), "test": ("test_list.txt",)}
ALLOWED = {("builtins", "dict"), ("builtins", "list"), ("builtins", "str"), ("builtins", "tuple"),
           ("__builtin__", "dict"), ("__builtin__", "list"), ("__builtin__", "str"),
           ("__builtin__", "tuple"), ("__builtin__", "unicode")}


class RefusedPickle(Exception):
    pass


class _SafeUnpickler(pickle.Unpickler):
    """Builds only plain containers and strings; naming any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED:
            return {"dict": dict, "list": list, "str": str, "tuple": tuple, "unicode": str}[name]
        raise RefusedPickle(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise RefusedPickle(f"persistent id {pid!r}")


def safe_load_pickle(path: Path) -> Any:
    """Unpickle ``path`` without executing code (see module docstring)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataFormatError(path, f"cannot read file ({e.strerror or e})") from None
    try:
        return _SafeUnpickler(io.BytesIO(data), encoding="utf-8").load()
    except RefusedPickle as e:
        raise DataFormatError(path, f"refused to unpickle: the file asks to load {e}, but only plain "
                                    "dict/list/str/tuple data is allowed (no code is executed)",
                              hint="re-create raw-captions.pkl as a plain dict of token lists") from None
    except Exception as e:     # noqa: BLE001 - any other failure here means a corrupt file
        raise DataFormatError(path, f"not a readable pickle ({type(e).__name__}: {e})") from None


def _caption(value: Any, path: Path, key: str) -> str:
    if isinstance(value, str):
        return value.strip()
    expect(value, (list, tuple), path, "a caption (a list of tokens)", key=key)
    for token in value:
        expect(token, str, path, "a token", key=key)
    return " ".join(t.strip() for t in value if t.strip())


def read(root: Path | str) -> DatasetIndex:
    droot = DatasetRoot(Path(root))
    pkl = droot.require_file(["raw-captions.pkl", "raw_captions.pkl"], "MSVD captions pickle", ANN_DIRS)
    data = safe_load_pickle(pkl)
    expect(data, dict, pkl, "the captions pickle (clip_id -> list of token lists)")
    captions: dict[str, tuple[str, ...]] = {}
    for clip, caps in data.items():
        expect(clip, str, pkl, "a clip id")
        expect(caps, (list, tuple), pkl, "the captions of a clip", key=clip)
        captions[clip] = tuple(_caption(c, pkl, clip) for c in caps)
    files = [pkl]
    entries: dict[str, list[tuple[str, Path, int]]] = {}
    for split, names in SPLITS.items():
        path = droot.find_file(list(names), ANN_DIRS)
        if path is None:
            continue
        files.append(path)
        rows = []
        for line_no, line in iter_lines(path):
            clip = line.strip()
            if " " in clip or "\t" in clip or "/" in clip or "\\" in clip:
                raise DataFormatError(path, f"expected one clip id per line, found {clip!r}",
                                      line=line_no)
            if clip not in captions:
                raise DataFormatError(path, f"clip {clip!r} has no captions in {pkl.name}", line=line_no)
            rows.append((clip, path, line_no))
        entries[split] = rows
    if not entries:
        raise MissingPathError(droot.path / "train_list.txt", "MSVD split lists",
                               hint="expected train_list.txt, val_list.txt, test_list.txt next to "
                                    "raw-captions.pkl")
    base = droot.choose_base(VIDEO_DIRS, sample_of([f"{c}.avi" for rows in entries.values()
                                                    for c, _, _ in rows]), any_extension=True)
    splits = {split: [VideoRecord(video_id=clip, split=split, captions=captions[clip],
                                  path=droot.resolve(f"{clip}.avi", source, line=line_no, base=base,
                                                     any_extension=True))
                      for clip, source, line_no in rows]
              for split, rows in entries.items()}
    return DatasetIndex(NAME, droot.path, [], splits, files)
