"""MSVD (YouTube2Text).

``raw-captions.pkl``: a dict clip_id -> list of token lists (or of strings), read with a restricted
unpickler that executes no code: only the builtins dict, list, str and tuple may be named, and only to
build plain data from plain data; anything else (functions, classes, ``__reduce__`` payloads, object
construction opcodes) is refused with a DataFormatError. Captions are the tokens joined by spaces.
Splits from ``{train,val,test}_list.txt`` (one clip id per line).
Videos ``YouTubeClips/<clip_id>.avi`` (or ``videos/``, the root).

Bounded cost: the pickle is read by the pure-Python unpickler, whose memo is a dict (the C unpickler
sizes its memo array by the largest index a file names: an 8-byte file asking for index 2**28 took
4 GB and 10 s), so everything it builds is proportional to the file's size (each opcode is at least
one byte and builds at most one object). Shared references are cheap in the file but not once read:
a list referenced a thousand times becomes a thousand captions. So the data is measured as a tree
(every reference counted, every string at its length) before it is used, and refused beyond
``max(MIN_EXPANDED, EXPANSION_RATIO x file bytes)``: a 57 KB file of shared references otherwise took
about 1 GB. Honest pickles measure 0.4-2 units per byte (protocols 0-4, with and without shared word
objects). Measuring costs time linear in the file (each distinct container is measured once); a
container that contains itself is refused.

A clip in two split lists or twice in one is an error (leakage / double weight), as is a split list
without clips.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from ...errors import DataFormatError, MissingPathError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex, VideoRecord
from .common import (DatasetRoot, ListedOnce, clip, excerpt, expect, iter_lines, require_videos,
                     sample_of)

NAME = "msvd"
ANN_DIRS = ("", "annotations", "labels", "msvd_data", "data")
VIDEO_DIRS = ("YouTubeClips", "videos", "")
SPLITS = {"train": ("train_list.txt",), "val": ("val_list.txt",), "test": ("test_list.txt",)}
ALLOWED = {("builtins", "dict"), ("builtins", "list"), ("builtins", "str"), ("builtins", "tuple"),
           ("__builtin__", "dict"), ("__builtin__", "list"), ("__builtin__", "str"),
           ("__builtin__", "tuple"), ("__builtin__", "unicode")}
# Expanded size limit of the unpickled data, in units of one reference or one character (see above).
EXPANSION_RATIO = 32
MIN_EXPANDED = 1 << 22
_TEXT_ENCODINGS = {"utf-8", "utf8", "latin-1", "latin1", "ascii", "iso-8859-1"}


class RefusedPickle(Exception):
    pass


def _make_str(*args: Any) -> str:
    # str(x) of a container is its repr, which expands shared references: refused
    if not args:
        return ""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    if (len(args) in (2, 3) and isinstance(args[0], bytes) and all(isinstance(a, str) for a in args[1:])
            and args[1].lower() in _TEXT_ENCODINGS):
        return str(*args)
    raise RefusedPickle("builtins.str applied to something other than text")


def _container(kind: type):
    def make(*args: Any) -> Any:
        if not args:
            return kind()
        if len(args) == 1 and isinstance(args[0], (list, tuple, dict, str)):
            return kind(args[0])            # a shallow copy: linear in the argument
        raise RefusedPickle(f"builtins.{kind.__name__} applied to something other than plain data")
    make.__name__ = kind.__name__
    return make


_CONSTRUCTORS = {"dict": _container(dict), "list": _container(list), "tuple": _container(tuple),
                 "str": _make_str, "unicode": _make_str}


class _SafeUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """Builds only plain containers and strings; naming any other global is refused."""

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED:
            return _CONSTRUCTORS[name]
        raise RefusedPickle(clip(f"{module}.{name}", 120))

    def persistent_load(self, pid: Any) -> Any:
        raise RefusedPickle(f"persistent id {excerpt(pid, 60)}")


def _refuse_opcode(name: str):
    def refuse(self: _SafeUnpickler) -> None:
        raise RefusedPickle(f"object construction ({name} opcode)")
    return refuse


# Plain data never needs these: they build class instances (a class's __new__/__setstate__ is where
# code runs) and out-of-band buffers.
for _name in ("NEWOBJ", "NEWOBJ_EX", "OBJ", "INST", "BUILD", "NEXT_BUFFER", "READONLY_BUFFER"):
    _SafeUnpickler.dispatch[getattr(pickle, _name)[0]] = _refuse_opcode(_name)


class _Circular(Exception):
    pass


def _children(item: Any) -> Any:
    return (*item.keys(), *item.values()) if isinstance(item, dict) else item


def _expanded_size(value: Any) -> int:
    """Size of ``value`` read as a tree, with every shared reference counted each time it occurs: one
    unit per reference, one per character. Computed once per distinct container (sizes memoised by
    id), so it costs time linear in the file even when the tree is astronomically large. Raises
    _Circular for a container that contains itself."""
    def leaf(item: Any) -> int:
        return 1 + len(item) if isinstance(item, (str, bytes)) else 1

    containers = (list, tuple, dict)
    if not isinstance(value, containers):
        return leaf(value)
    sizes: dict[int, int] = {}
    open_ids: set[int] = set()            # containers entered and not yet left: the current path
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, leaving = stack.pop()
        ident = id(item)
        if leaving:
            open_ids.discard(ident)
            sizes[ident] = 1 + sum(sizes[id(c)] if isinstance(c, containers) else leaf(c)
                                   for c in _children(item))
            continue
        if ident in sizes:
            continue
        if ident in open_ids:
            raise _Circular()
        open_ids.add(ident)
        stack.append((item, True))
        stack.extend((c, False) for c in _children(item)
                     if isinstance(c, containers) and id(c) not in sizes)
    return sizes[id(value)]


def safe_load_pickle(path: Path) -> Any:
    """Unpickle ``path`` without executing code and within bounded memory (see module docstring)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataFormatError(path, f"cannot read file ({e.strerror or e})") from None
    try:
        value = _SafeUnpickler(io.BytesIO(data), encoding="utf-8").load()
    except RefusedPickle as e:
        raise DataFormatError(path, f"refused to unpickle: the file asks to load {e}, but only plain "
                                    "dict/list/str/tuple data is allowed (no code is executed)",
                              hint="re-create raw-captions.pkl as a plain dict of token lists") from None
    except RecursionError:
        raise DataFormatError(path, "not a readable pickle (nested too deeply)") from None
    except Exception as e:     # noqa: BLE001 - any other failure here means a corrupt file
        raise DataFormatError(path, f"not a readable pickle ({type(e).__name__}: "
                                    f"{clip(str(e), 120)})") from None
    budget = max(MIN_EXPANDED, EXPANSION_RATIO * len(data))
    try:
        size = _expanded_size(value)
    except _Circular:
        raise DataFormatError(path, "refused: the pickle holds a list or dict that contains itself",
                              hint="re-create raw-captions.pkl as a plain dict of token lists") from None
    if size > budget:
        raise DataFormatError(path, f"refused: the {len(data)}-byte pickle expands to {size} items and "
                                    f"characters once its shared references are followed (more than "
                                    f"{budget}; an honest captions file expands to about its own size)",
                              hint="re-create raw-captions.pkl as a plain dict of token lists") from None
    return value


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
    for clip_id, caps in data.items():
        expect(clip_id, str, pkl, "a clip id")
        key = clip(clip_id, 80)
        expect(caps, (list, tuple), pkl, "the captions of a clip", key=key)
        captions[clip_id] = tuple(_caption(c, pkl, key) for c in caps)
    files = [pkl]
    entries: dict[str, list[tuple[str, Path, int]]] = {}
    listed = ListedOnce(NAME)
    for split, names in SPLITS.items():
        path = droot.find_file(list(names), ANN_DIRS)
        if path is None:
            continue
        files.append(path)
        rows = []
        for line_no, line in iter_lines(path):
            clip_id = line.strip()
            if " " in clip_id or "\t" in clip_id or "/" in clip_id or "\\" in clip_id:
                raise DataFormatError(path, f"expected one clip id per line, found {excerpt(clip_id)}",
                                      line=line_no)
            if clip_id not in captions:
                raise DataFormatError(path, f"clip {excerpt(clip_id)} has no captions in {pkl.name}",
                                      line=line_no)
            listed.add(clip_id, split, path, line=line_no)
            rows.append((clip_id, path, line_no))
        require_videos(rows, split, path)
        entries[split] = rows
    if not entries:
        raise MissingPathError(droot.path / "train_list.txt", "MSVD split lists",
                               hint="expected train_list.txt, val_list.txt, test_list.txt next to "
                                    "raw-captions.pkl")
    base = droot.choose_base(VIDEO_DIRS, sample_of([f"{c}.avi" for rows in entries.values()
                                                    for c, _, _ in rows]), any_extension=True)
    splits = {split: [VideoRecord(video_id=clip_id, split=split, captions=captions[clip_id],
                                  path=droot.resolve(f"{clip_id}.avi", source, line=line_no, base=base,
                                                     any_extension=True))
                      for clip_id, source, line_no in rows]
              for split, rows in entries.items()}
    return DatasetIndex(NAME, droot.path, [], splits, files)


SPEC = DatasetSpec(
    name=NAME, title="MSVD", kind="text-video", splits=tuple(SPLITS), read=read,
    world="tvts_bench.world.formats.msvd:build", sizes="msvd", notes="multi-caption queries", order=70,
)
