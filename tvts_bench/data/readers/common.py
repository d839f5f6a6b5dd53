"""Shared helpers of the dataset readers: safe path resolution under a dataset root, case-insensitive
file lookup, and line-numbered CSV/TSV/JSON/text readers that turn every malformation into a
``DataFormatError`` naming the file and the line (or key).

Why so strict: annotation files come from the internet and from users' own conversions. A reader
either returns records whose paths lie under the dataset root, or says exactly which file and line
it could not read. An annotation never makes it return a path outside the root (``..`` and absolute
paths are refused), and a ``KeyError``/``ValueError`` never surfaces as a traceback.

Symbolic links the user made inside the root (``videos -> /mnt/big-disk/ssv2``) are followed: that is
how large datasets are usually laid out, and the link is the user's decision, not the annotation
file's. ``TVTS_BENCH_STRICT_SYMLINKS=1`` refuses them too, for untrusted dataset folders.

Hostile or broken files cost bounded time and memory and end in a short message: every excerpt of file
content in an error is cut to ``EXCERPT_CHARS`` (a 20 MB line echoed whole took minutes to print), an
integer field beyond 64 bits is refused, and JSON that Python cannot turn into values (integers over
the int-to-str digit limit, nesting past the recursion limit) is a ``DataFormatError`` naming the file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import reprlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from ...errors import DataFormatError, MissingPathError
from ..records import VideoRecord

# Annotation files are looked up in the root first, then in these sub-folders (real downloads keep
# them in all of these places).
ANNOTATION_DIRS: tuple[str, ...] = ("", "labels", "annotations", "annotation")

# A listed video missing under its own name is matched to a file with the same stem and one of these
# extensions (re-encoded copies: SSV2 .webm -> .mp4, DiDeMo's mixed extensions, ...).
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".webm", ".mkv", ".mov", ".3gp", ".3g2", ".m4v", ".mpg",
                              ".mpeg", ".wmv", ".flv", ".ogv", ".ts", ".mts", ".m2ts", ".qt"})

# csv's default field limit (128 KiB) is below some real caption files' longest field.
csv.field_size_limit(16 * 1024 * 1024)

# How much of a value read from a file an error message quotes. Enough to recognise the line; a whole
# 20 MB line in a message made printing it take minutes and buried the file name.
EXCERPT_CHARS = 200

# Longest file name and path the system calls accept (Linux; macOS and Windows allow less). Longer
# names from an annotation cannot exist, and stat() on them raises instead of reporting "missing".
NAME_MAX = 255
PATH_MAX = 4096

# No annotation field holds an integer this large (labels, chunk indices, counts); bigger values are
# corruption, and refusing them keeps every later message and computation small.
MAX_ANNOTATION_INT = 2 ** 63


# --------------------------------------------------------------------------------------------- roots

@dataclass
class _Listing:
    """One folder's entries: real name -> is a symlink, and lower-case name -> real name."""

    names: dict[str, bool]
    lower: dict[str, str]
    stems: dict[str, str] | None = None     # lower-case stem -> real name (built on demand)


_WINDOWS_ABS = re.compile(r"^(?:[A-Za-z]:|[\\/]{2})")


@dataclass
class DatasetRoot:
    """A dataset folder: resolves relative paths under it and finds files case-insensitively.

    Folder listings (with symlink flags) and folders' real paths are cached: readers resolve one path
    per record (169k for SSV2) and most records share a handful of folders, so resolving costs a
    dictionary lookup per record instead of several system calls.
    """

    path: Path
    strict_symlinks: bool = field(
        default_factory=lambda: os.environ.get("TVTS_BENCH_STRICT_SYMLINKS", "") not in ("", "0"))
    _real: str = field(init=False, repr=False)
    _listing: dict[str, _Listing | None] = field(default_factory=dict, init=False, repr=False)
    _dir_ok: dict[str, bool] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        root = Path(self.path).expanduser()
        if not root.exists():
            raise MissingPathError(root, "dataset root",
                                   hint="pass the folder holding the dataset's annotation files "
                                        "(e.g. --root DIR), or leave it out to use the built-in world")
        if not root.is_dir():
            raise MissingPathError(root, "dataset root folder",
                                   hint="the root must be a folder, not a file")
        self.path = root.resolve()
        self._real = os.path.realpath(self.path)

    # -- lookup ---------------------------------------------------------------------------------

    def _dir(self, folder: str) -> _Listing | None:
        """The cached listing of ``folder`` (absolute), None if it is not a readable folder."""
        if folder not in self._listing:
            try:
                with os.scandir(folder) as it:
                    names = {e.name: e.is_symlink() for e in it}
            except (OSError, ValueError):
                self._listing[folder] = None
            else:
                lower: dict[str, str] = {}
                for name in sorted(names):
                    lower.setdefault(name.lower(), name)
                self._listing[folder] = _Listing(names, lower)
        return self._listing[folder]

    def _match(self, base: str, parts: Sequence[str], any_extension: bool
               ) -> tuple[str, bool] | None:
        """(existing path, is a symlink) for ``parts`` under ``base``: exact names first, then
        ignoring case, then (``any_extension``, last part only) the same stem. None if absent."""
        current = base
        is_link = False
        last = len(parts) - 1
        for i, part in enumerate(parts):
            listing = self._dir(current)
            if listing is None:
                return None
            if part in listing.names:
                name = part
            else:
                name = listing.lower.get(part.lower())
                if name is None and any_extension and i == last:
                    if listing.stems is None:
                        listing.stems = {}
                        for real in sorted(listing.names):
                            stem, ext = os.path.splitext(real)
                            if ext.lower() in VIDEO_EXTENSIONS:
                                listing.stems.setdefault(stem.lower(), real)
                    name = listing.stems.get(os.path.splitext(part)[0].lower())
                if name is None:
                    return None
            is_link = listing.names[name]
            current = os.path.join(current, name)
        return current, is_link

    def find_dir(self, candidates: Sequence[str]) -> Path | None:
        """The first of ``candidates`` (relative, '' = root) that is a folder, matched case-insensitively."""
        for rel in candidates:
            found = self.lookup(rel) if rel else self.path
            if found is not None and found.is_dir():
                return found
        return None

    def lookup(self, rel: str) -> Path | None:
        """Existing path under the root matching ``rel`` component-wise, ignoring case; else None."""
        hit = self._match(str(self.path), [p for p in rel.split("/") if p], False)
        return Path(hit[0]) if hit else None

    def find_file(self, names: Sequence[str], dirs: Sequence[str] = ANNOTATION_DIRS) -> Path | None:
        """First existing file among ``dirs`` x ``names`` (case-insensitive), searching dir by dir."""
        for d in dirs:
            for name in names:
                found = self.lookup(f"{d}/{name}" if d else name)
                if found is not None and found.is_file():
                    self.check_inside(found, found, None)
                    return found
        return None

    def require_file(self, names: Sequence[str], what: str,
                     dirs: Sequence[str] = ANNOTATION_DIRS) -> Path:
        found = self.find_file(names, dirs)
        if found is None:
            where = ", ".join(f"{d}/" if d else "the root" for d in dirs)
            raise MissingPathError(self.path / names[0], what,
                                   hint=f"looked for {' or '.join(names)} in {where} of {self.path}")
        return found

    def glob_files(self, pattern: str, dirs: Sequence[str] = ANNOTATION_DIRS) -> list[Path]:
        """Files matching a regex (full match on the lower-cased name) in the first dir that has any."""
        rx = re.compile(pattern)
        for d in dirs:
            folder = self.lookup(d) if d else self.path
            if folder is None or not folder.is_dir():
                continue
            listing = self._dir(str(folder))
            hits = sorted(folder / name for name in (listing.names if listing else ())
                          if rx.fullmatch(name.lower()))
            hits = [h for h in hits if h.is_file()]
            if hits:
                for h in hits:
                    self.check_inside(h, h, None)
                return hits
        return []

    # -- resolution -----------------------------------------------------------------------------

    def _inside(self, real: str) -> bool:
        return real == self._real or real.startswith(self._real.rstrip(os.sep) + os.sep)

    def check_inside(self, path: Path | str, source: Path | str, line: int | None,
                     key: str | None = None, *, is_link: bool | None = None) -> None:
        """In strict mode, refuse ``path`` if its real location (after symlinks) is outside the root."""
        if not self.strict_symlinks:
            return
        text = str(path)
        parent = os.path.dirname(text)
        ok = self._dir_ok.get(parent)
        if ok is None:
            ok = self._inside(os.path.realpath(parent))
            self._dir_ok[parent] = ok
        if ok and (os.path.islink(text) if is_link is None else is_link):
            ok = self._inside(os.path.realpath(text))
        if not ok:
            raise DataFormatError(source, f"path {excerpt(text)} resolves outside the dataset root "
                                          f"{self.path} (through a symbolic link); refused",
                                  line=line, key=key,
                                  hint="copy or move the videos under the dataset root")

    def _parts(self, rel: str, source: Path | str, line: int | None, key: str | None) -> list[str]:
        text = rel.strip()
        if not text or "\x00" in text or not _encodable(text):
            raise DataFormatError(source, f"empty or invalid video path {excerpt(rel)}", line=line, key=key)
        posix = text.replace("\\", "/")
        if posix.startswith("/") or _WINDOWS_ABS.match(text):
            raise DataFormatError(source, f"absolute video path {excerpt(rel)} refused; paths must be "
                                          f"relative to the dataset root {self.path}",
                                  line=line, key=key)
        parts = [p for p in posix.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise DataFormatError(source, f"video path {excerpt(rel)} contains '..' and could escape the "
                                          f"dataset root {self.path}; refused", line=line, key=key)
        if not parts:
            raise DataFormatError(source, f"empty video path {excerpt(rel)}", line=line, key=key)
        longest = max(len(os.fsencode(p)) for p in parts)
        if longest > NAME_MAX:
            # no file system stores such a name, and stat() on it raises instead of saying "missing"
            raise DataFormatError(source, f"video path {excerpt(rel)} has a name of {longest} bytes; "
                                          f"file names are at most {NAME_MAX}", line=line, key=key)
        return parts

    def resolve(self, rel: str, source: Path | str, line: int | None = None, key: str | None = None,
                *, base: Path | None = None, any_extension: bool = True) -> Path:
        """Absolute path of the annotation-given ``rel`` under ``base`` (default: the root).

        Refuses absolute paths, ``..`` and symlink escapes with a DataFormatError naming ``source``
        and ``line``/``key``. When the exact file is missing, a case-insensitive match is returned
        (UCF101's ``HandstandPushups/v_HandStandPushups_*``), and with ``any_extension`` (default) a
        video file with the same stem and another video extension (DiDeMo, re-encoded copies). A
        missing file still gets a path: the manifest counts it.
        """
        parts = self._parts(rel, source, line, key)
        base_text = str(self.path if base is None else base)
        hit = self._match(base_text, parts, any_extension)
        if hit is None:
            candidate, is_link = os.path.join(base_text, *parts), False
            if len(os.fsencode(candidate)) >= PATH_MAX:
                raise DataFormatError(source, f"video path {excerpt(rel)} is {len(os.fsencode(candidate))} "
                                              f"bytes long under the root; paths are at most {PATH_MAX}",
                                      line=line, key=key)
        else:
            candidate, is_link = hit
        self.check_inside(candidate, source, line, key, is_link=is_link)
        return Path(candidate)

    def choose_base(self, candidates: Sequence[str], sample: Sequence[str],
                    any_extension: bool = True) -> Path:
        """The candidate folder (relative, '' = root) holding most of the sample's videos.

        Real copies keep videos in the documented folder, in the root or in ``videos/``; probing a
        few listed files picks the right one. Ties go to the earliest candidate that exists.
        """
        best: Path | None = None
        best_hits = -1
        for rel in candidates:
            folder = self.find_dir([rel])
            if folder is None:
                continue
            hits = 0
            for item in sample:
                parts = [p for p in item.replace("\\", "/").split("/") if p not in ("", ".", "..")]
                if parts and self._match(str(folder), parts, any_extension) is not None:
                    hits += 1
            if hits > best_hits:
                best, best_hits = folder, hits
        return best if best is not None else self.path


# ------------------------------------------------------------------------------------------ readers

def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataFormatError(path, f"cannot read file ({e.strerror or e})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DataFormatError(path, "not UTF-8 text", line=line,
                              hint="re-save the file as UTF-8") from None


def _physical_lines(text: str) -> Iterator[str]:
    """Lines as editors count them (\n, \r\n or \r end a line; \u2028 and friends do not)."""
    return iter(io.StringIO(text, newline=""))


def iter_lines(path: Path, *, skip_blank: bool = True) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its line ending) for each line of a UTF-8 text file."""
    text = read_text(path)
    for number, line in enumerate(_physical_lines(text), start=1):
        line = line.rstrip("\r\n")
        if "\x00" in line:
            raise DataFormatError(path, "NUL byte in a text file (binary or corrupt?)", line=number)
        if skip_blank and not line.strip():
            continue
        yield number, line


def _csv_rows(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    text = read_text(path)
    if "\x00" in text:
        line = sum(1 for _ in _physical_lines(text[:text.index("\x00") + 1]))
        raise DataFormatError(path, "NUL byte in a text file (binary or corrupt?)", line=line)
    # Tab-separated dataset files are not quoted (captions contain '"'); CSVs may be.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(_physical_lines(text), delimiter=delimiter, strict=True,
                        quoting=quoting)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise DataFormatError(path, f"malformed {'TSV' if delimiter == chr(9) else 'CSV'} "
                                        f"({e})", line=reader.line_num) from None
        if not row or all(not cell.strip() for cell in row):
            continue
        yield reader.line_num, row


def read_table(path: Path, *, delimiter: str = ",", header: bool = True,
               required: Sequence[str] = (), num_fields: int | None = None
               ) -> tuple[list[str], list[tuple[int, dict[str, str] | list[str]]]]:
    """Read a CSV/TSV file. With ``header``: rows as dicts keyed by the header, after checking that
    the ``required`` columns exist and each row has as many fields as the header. Without: rows as
    lists, each with exactly ``num_fields`` fields when given.
    """
    rows = _csv_rows(path, delimiter)
    out: list[tuple[int, dict[str, str] | list[str]]] = []
    columns: list[str] = []
    if header:
        first = next(rows, None)
        if first is None:
            raise DataFormatError(path, "empty file: expected a header line", line=1,
                                  hint=f"columns expected: {', '.join(required)}")
        number, columns = first
        columns = [c.strip() for c in columns]
        missing = [c for c in required if c not in columns]
        if missing:
            raise DataFormatError(path, f"header lacks column(s) {', '.join(missing)} "
                                        f"(found: {clip(', '.join(columns)) or 'none'})", line=number,
                                  hint="the file should start with the dataset's documented header")
        for number, row in rows:
            if len(row) != len(columns):
                raise DataFormatError(path, f"expected {len(columns)} fields as in the header, "
                                            f"found {len(row)}", line=number)
            out.append((number, dict(zip(columns, row))))
    else:
        for number, row in rows:
            if num_fields is not None:
                end = len(row)
                while end > num_fields and not row[end - 1].strip():
                    end -= 1                # trailing tabs (cut once: a line of tabs is not quadratic)
                row = row[:end]
                if len(row) != num_fields:
                    raise DataFormatError(path, f"expected {num_fields} "
                                                f"{'tab' if delimiter == chr(9) else 'comma'}-separated "
                                                f"fields, found {len(row)}", line=number)
            out.append((number, row))
    return columns, out


def sniff_delimiter(path: Path) -> str:
    """Tab if the first non-blank line has a tab, else comma (split files come both ways)."""
    for _, line in iter_lines(path):
        return "\t" if "\t" in line else ","
    return ","


def read_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataFormatError(path, f"invalid JSON ({e.msg}, column {e.colno})", line=e.lineno) from None
    except RecursionError:
        raise DataFormatError(path, "JSON nested too deeply to read (past Python's recursion limit)",
                              hint="annotation files nest a few levels; this one is corrupt or hostile"
                              ) from None
    except ValueError as e:
        # json turns numbers into ints with int(), which refuses more digits than Python's int-to-str
        # limit: a ValueError without a position, so find the number (\d+ runs: a linear scan).
        limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
        long = next((m for m in re.finditer(r"\d+", text) if m.end() - m.start() > limit), None)
        if long is None:
            raise DataFormatError(path, f"cannot read a JSON value ({clip(str(e), 120)})") from None
        raise DataFormatError(path, f"a JSON number has {long.end() - long.start()} digits, more "
                                    f"than the {limit} Python reads",
                              line=text.count("\n", 0, long.start()) + 1,
                              hint="no annotation field holds a number this long; the file is corrupt"
                              ) from None


# ---------------------------------------------------------------------------------- typed access

def expect(value: Any, kind: type | tuple[type, ...], path: Path, what: str, *,
           line: int | None = None, key: str | None = None) -> Any:
    """``value`` if it has type ``kind`` (bool is never accepted as a number), else DataFormatError."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        names = " or ".join(_type_name(k) for k in kinds)
        raise DataFormatError(path, f"{what} must be {names}, found {_type_name(type(value))} "
                                    f"{_short(value)}", line=line, key=key)
    return value


def field_of(obj: Any, name: str, kind: type | tuple[type, ...], path: Path, *,
             line: int | None = None, key: str | None = None, where: str = "record") -> Any:
    """``obj[name]`` checked to exist and have type ``kind``."""
    if not isinstance(obj, dict):
        raise DataFormatError(path, f"{where} must be a JSON object, found "
                                    f"{_type_name(type(obj))} {_short(obj)}", line=line, key=key)
    if name not in obj:
        raise DataFormatError(path, f"{where} lacks field {name!r}", line=line, key=key)
    return expect(obj[name], kind, path, f"field {name!r}", line=line, key=key)


def to_int(text: Any, path: Path, what: str, *, line: int | None = None,
           key: str | None = None) -> int:
    """Integer from an int or a string like ``"12"``/``"12.0"`` (label indices come as strings).
    Values of magnitude ``MAX_ANNOTATION_INT`` (2**63) or more are refused."""
    value: int | None = None
    if isinstance(text, bool):
        raise DataFormatError(path, f"{what} must be an integer, found {text!r}", line=line, key=key)
    if isinstance(text, int):
        value = text
    elif isinstance(text, float) and math.isfinite(text) and text == int(text):
        value = int(text)
    elif isinstance(text, str):
        s = text.strip()
        try:
            value = int(s)
        except ValueError:          # also: more digits than Python converts (a huge number)
            try:
                f = float(s)
            except ValueError:
                f = math.nan
            if math.isfinite(f) and f == int(f):
                value = int(f)
    if value is None:
        raise DataFormatError(path, f"{what} must be an integer, found {_short(text)}", line=line, key=key)
    if not -MAX_ANNOTATION_INT < value < MAX_ANNOTATION_INT:
        raise DataFormatError(path, f"{what} {_short(value)} is out of range (more than 64 bits)",
                              line=line, key=key)
    return value


def to_float(text: Any, path: Path, what: str, *, line: int | None = None,
             key: str | None = None) -> float:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    elif isinstance(text, str):
        try:
            value = float(text.strip())
        except ValueError:
            value = math.nan
    else:
        value = math.nan
    if not math.isfinite(value):
        raise DataFormatError(path, f"{what} must be a finite number, found {_short(text)}",
                              line=line, key=key)
    return value


def _type_name(kind: type) -> str:
    return {dict: "an object", list: "a list", str: "a string", int: "an integer",
            float: "a number", bool: "true/false", type(None): "null"}.get(kind, kind.__name__)


class _BoundedRepr(reprlib.Repr):
    """reprlib with integers that never hit Python's int-to-str digit limit, and bytes cut before
    conversion (reprlib converts "other" objects whole, then cuts)."""

    def __init__(self, limit: int):
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 3, limit, limit, 40
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 6

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            return f"<integer of {x.bit_length()} bits>"
        return super().repr_int(x, level)

    def repr_bytes(self, x: bytes, level: int) -> str:
        text = repr(x[:self.maxstring])
        return text if len(x) <= self.maxstring else f"{text}... ({len(x)} bytes)"

    repr_bytearray = repr_bytes


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A repr of ``value`` (file content) of at most about ``limit`` characters, in bounded time:
    long strings are cut (their length is given), nesting and long containers elided, huge integers
    described by their size."""
    if isinstance(value, str):
        text = repr(value[:limit])
        if len(text) > limit + 2:                       # escapes (\x00) make a repr longer
            text = text[:limit] + "..."
        return text if len(value) <= limit else f"{text}... ({len(value)} characters)"
    try:
        text = _BoundedRepr(max(limit // 4, 20)).repr(value)
    except (ValueError, RecursionError, MemoryError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def clip(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was (for keys and joined lists, which
    the error formats itself)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _short(value: Any, limit: int = 60) -> str:
    return excerpt(value, limit)


def _encodable(text: str) -> bool:
    try:
        os.fsencode(text)
        text.encode("utf-8")
    except (UnicodeError, ValueError):
        return False
    return True


def sample_of(items: Sequence[str], n: int = 24) -> list[str]:
    """A few items spread over the list, for probing where videos live."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def captioned_clip_splits(droot: DatasetRoot, entries: dict[str, list[tuple]], video_dirs: Sequence[str],
                          ext: str) -> dict[str, list[Any]]:
    """Records of datasets with one caption per clip stored as ``<folder>/<clip><ext>`` (LSMDC, WebVid).

    ``entries`` maps a split to rows ``(clip, folder, caption, duration, source file, line)``; the video
    folder is chosen once from a sample of all splits.
    """
    base = droot.choose_base(video_dirs, sample_of([f"{folder}/{clip}{ext}" for rows in entries.values()
                                                    for clip, folder, *_ in rows]))
    return {split: [VideoRecord(video_id=clip, split=split, captions=(caption,), duration=duration,
                                path=droot.resolve(f"{folder}/{clip}{ext}", source, line=line_no, base=base))
                    for clip, folder, caption, duration, source, line_no in rows]
            for split, rows in entries.items()}


def split_number(value: Any) -> int:
    """The ``split`` option of UCF101/HMDB51 (1, 2 or 3)."""
    from ...errors import ConfigError

    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number not in (1, 2, 3) or isinstance(value, bool):
        raise ConfigError(f"split must be 1, 2 or 3, got {value!r}",
                          hint="UCF101 and HMDB51 have three official train/test splits")
    return number


# ------------------------------------------------------------------------------- listing checks

def require_videos(rows: Sequence[Any], split: str, path: Path, *, hint: str | None = None) -> None:
    """Refuse a split file that lists no videos: every task on that split would fail later with a
    message far from its cause ("no readable video"), or score nothing."""
    if not rows:
        raise DataFormatError(path, f"lists no videos: the {split} split would be empty",
                              hint=hint or f"check that this is the dataset's {split} list and that it "
                                           "is complete (not truncated or filtered to nothing)")


@dataclass(slots=True)
class _Entry:
    split: str
    label: Any
    label_text: str | None
    source: Path
    line: int | None
    key: str | None


def _label(seen: _Entry) -> str:
    return clip(seen.label_text, 80) if seen.label_text is not None else excerpt(seen.label, 80)


def _place(seen: _Entry) -> str:
    where = seen.source.name
    if seen.line is not None:
        where += f" line {seen.line}"
    if seen.key is not None:
        where += f" {clip(seen.key, 80)}"
    return where


@dataclass
class ListedOnce:
    """Checks that each video is listed once: in one split, with one label.

    ``across`` ("error" or "note") is the policy for a video in two splits (train/test leakage in the
    classification benchmarks, whose official splits never share a video), ``within`` for a video
    listed twice in one split (double weight in a score). Web-scale caption sets (WebVid, CC3M) really
    do repeat items, so they only note it (LSMDC notes repeats within a file, one record per line being
    its format); a note is printed by the runner and kept with the results.
    A video with two different labels is always an error: it cannot be both classes.
    """

    dataset: str
    across: str = "error"
    within: str = "error"
    _first: dict[str, _Entry] = field(default_factory=dict, repr=False)
    _examples: dict[str, list[str]] = field(default_factory=lambda: {"across": [], "within": []},
                                            repr=False)
    _counts: dict[str, int] = field(default_factory=lambda: {"across": 0, "within": 0}, repr=False)

    def add(self, identity: str, split: str, source: Path, *, label: Any = None,
            label_text: str | None = None, line: int | None = None, key: str | None = None) -> None:
        seen = _Entry(split, label, label_text, source, line, key)
        first = self._first.get(identity)
        if first is None:
            self._first[identity] = seen
            return
        kind = "across" if split != first.split else "within"
        policy = self.across if kind == "across" else self.within
        if kind == "across" and policy == "error":          # leakage first: it is the graver fault
            raise DataFormatError(
                source, f"video {excerpt(identity, 120)} is in the {split} split here and in the "
                        f"{first.split} split at {_place(first)}: a video in two splits leaks between "
                        "training and testing", line=line, key=key,
                hint="use the dataset's official split files unchanged; each video belongs to one split")
        if label is not None and first.label is not None and label != first.label:
            raise DataFormatError(source, f"video {excerpt(identity, 120)} has label {_label(seen)} here "
                                          f"but {_label(first)} at {_place(first)}", line=line, key=key,
                                  hint="a video has one class; remove or correct one of the two entries")
        if policy == "error":
            raise DataFormatError(source, f"video {excerpt(identity, 120)} is listed twice in the "
                                          f"{split} split (first at {_place(first)})", line=line, key=key,
                                  hint="remove the repeated entry: it would count twice in a score")
        self._counts[kind] += 1
        if len(self._examples[kind]) < 3:
            self._examples[kind].append(f"{excerpt(identity, 60)} ({_place(first)}, {_place(seen)})")

    def notes(self) -> list[str]:
        out = []
        if self._counts["across"]:
            out.append(f"{self.dataset}: {self._counts['across']} video(s) are listed in two splits "
                       f"(e.g. {'; '.join(self._examples['across'])}); all listings are kept, so a score "
                       "on one split may include videos seen in the other")
        if self._counts["within"]:
            out.append(f"{self.dataset}: {self._counts['within']} repeated listing(s) of a video within "
                       f"one split (e.g. {'; '.join(self._examples['within'])}); all are kept")
        return out
