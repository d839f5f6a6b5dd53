"""Fuzz every dataset reader with seeded mutations of its small fixtures (tests/fixtures/datasets/).

For each reader, each input is one fixture folder with ONE of the annotation files the reader reads
replaced by a mutated copy: byte-level (truncate, flip bytes, insert random / non-UTF-8 bytes or
control characters), line-level (duplicate, delete or swap lines, empty the file, a very long line)
and field-level (swap fields, add or drop one, replace one by a huge integer, a negative number, an
empty string, a path escaping the root, a long string, ...); JSON files also get value-level
mutations (huge integers, deep nesting, wrong types, duplicated entries) and the MSVD pickle
structural ones (shared-reference bombs, huge memo indices, cycles, deep nesting, ``str`` of
containers). Then the reader runs, and the outcome is one of:

* clean error: a ``TvtsBenchError`` whose message (without the temporary folder's path) is at most
  ``MAX_MESSAGE`` characters;
* accepted: the reader returned an index;
* traceback: any other exception (a bug: a user would see a traceback), or an accepted index with a
  video path outside the dataset root;
* unbounded: a clean error or acceptance that took more than ``MAX_SECONDS`` or raised the process's
  peak memory by more than ``MAX_GROWTH_MB``, or a message longer than ``MAX_MESSAGE``.

Prints one row per reader (inputs tried / clean errors / accepted / tracebacks / unbounded) and the
first few tracebacks and unbounded cases; exits 1 if there was any. Everything is seeded: the same
``--seed`` and ``--per-reader`` give the same inputs.

    .venv/bin/python benchmarks/fuzz_readers.py [--per-reader 300] [--seed 0] [--readers ssv2,msvd]

tests/test_readers_hostile.py imports this file and runs 30 inputs per reader.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import resource
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:           # run from anywhere without installing
    sys.path.insert(0, str(REPO))

from tvts_bench.data.readers import READERS, read_dataset  # noqa: E402
from tvts_bench.errors import TvtsBenchError  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "datasets"
# reader -> fixture folders holding its layouts: tests/fixtures/datasets/<name> and <name>_<variant>
FIXTURE_FOLDERS: dict[str, tuple[str, ...]] = {
    name: tuple(sorted(d.name for d in FIXTURES.iterdir()
                       if d.is_dir() and (d.name == name or d.name.startswith(f"{name}_"))))
    for name in READERS}
MAX_MESSAGE = 1500          # characters of an error message, the temporary folder's path removed
MAX_SECONDS = 5.0           # one read of a mutated fixture (they are a few KB, long lines ~1 MB)
MAX_GROWTH_MB = 300         # rise of the process's peak RSS during one read
LONG_LINE = 1 << 20         # characters of the "very long line" mutations

HUGE_INT = "9" * 5000       # over Python's int-to-str digit limit (4300)
FIELD_VALUES = [HUGE_INT, "1" + "0" * 30, "100000000", "-1", "-99999999999", "0", "", " ", "nan", "inf",
                "-inf", "1e309", "3.5", "../../../etc/passwd", "/etc/passwd", "C:\\x.mp4", "\\\\host\\x",
                "x" * 5000, "\x00", "\x1b[31m", "\u2028", "\ufeff", "\udcff".encode("utf-8", "surrogatepass")
                .decode("utf-8", "replace"), '"', "'", "a,b", "a\tb", "[", "{", "✓✓", "𝔘𝔫𝔦"]


# ------------------------------------------------------------------------------------- mutations

def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _delimiter(line: bytes) -> bytes:
    return b"\t" if b"\t" in line else (b"," if b"," in line else b" ")


def m_truncate(rng: random.Random, data: bytes) -> bytes:
    return data[:rng.randrange(len(data) + 1)]


def m_flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] ^= rng.randint(1, 255)
    return bytes(out)


def m_insert_bytes(rng: random.Random, data: bytes) -> bytes:
    pos = rng.randrange(len(data) + 1)
    chunk = rng.choice([bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))),
                        b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82", b"\x80",
                        b"\x00", b"\x01\x02", b"\x1b[2J", b"\r", b"\x0b\x0c", b"\x1c\x1d\x1e",
                        "\u2028\u0085".encode(), b"\xef\xbb\xbf"])
    return data[:pos] + chunk + data[pos:]


def m_duplicate_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    line = lines[i] if lines[i].endswith(b"\n") else lines[i] + b"\n"
    lines.insert(rng.randrange(len(lines) + 1), line)
    return b"".join(lines)


def m_delete_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[rng.randrange(len(lines))]
    return b"".join(lines)


def m_swap_lines(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines)


def m_only_first_line(rng: random.Random, data: bytes) -> bytes:
    return rng.choice([b"", _lines(data)[0], b"\n\n", b" "])


def m_long_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    filler = rng.choice([b"x", b"9", b"a.webm ", b"\t", b",", b" ", b"\"", b"/"])
    body = (filler * (LONG_LINE // len(filler) + 1))[:LONG_LINE]
    line = rng.choice([body, b"a.webm " + body, body + b" 1", b"video0," + body]) + b"\n"
    lines.insert(rng.randrange(len(lines) + 1), line)
    return b"".join(lines)


def _edit_fields(rng: random.Random, data: bytes, edit: Callable[[list[bytes]], list[bytes]]) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    raw = lines[i]
    ending = raw[len(raw.rstrip(b"\r\n")):]
    delim = _delimiter(raw)
    fields = raw.rstrip(b"\r\n").split(delim)
    lines[i] = delim.join(edit(fields)) + (ending or b"\n")
    return b"".join(lines)


def m_swap_fields(rng: random.Random, data: bytes) -> bytes:
    def edit(fields: list[bytes]) -> list[bytes]:
        i, j = rng.randrange(len(fields)), rng.randrange(len(fields))
        fields[i], fields[j] = fields[j], fields[i]
        return fields
    return _edit_fields(rng, data, edit)


def m_replace_field(rng: random.Random, data: bytes) -> bytes:
    def edit(fields: list[bytes]) -> list[bytes]:
        fields[rng.randrange(len(fields))] = rng.choice(FIELD_VALUES).encode("utf-8", "replace")
        return fields
    return _edit_fields(rng, data, edit)


def m_add_or_drop_field(rng: random.Random, data: bytes) -> bytes:
    def edit(fields: list[bytes]) -> list[bytes]:
        if len(fields) > 1 and rng.random() < 0.5:
            del fields[rng.randrange(len(fields))]
        else:
            fields.insert(rng.randrange(len(fields) + 1), rng.choice(FIELD_VALUES).encode("utf-8", "replace"))
        return fields
    return _edit_fields(rng, data, edit)


BYTE_MUTATIONS = [m_truncate, m_flip, m_insert_bytes]
TEXT_MUTATIONS = [m_duplicate_line, m_delete_line, m_swap_lines, m_only_first_line, m_long_line,
                  m_swap_fields, m_replace_field, m_add_or_drop_field]

# -- JSON values ---------------------------------------------------------------------------------
_RAW = "\x00raw:"            # a string standing for raw JSON text (json.dumps cannot write these)
JSON_VALUES: list[Any] = [
    _RAW + HUGE_INT, _RAW + "-" + HUGE_INT, _RAW + "1e999", _RAW + "NaN", _RAW + "-Infinity",
    _RAW + "[" * 50_000 + "]" * 50_000, _RAW + "[" * 500 + "]" * 500, 10 ** 30, 100000000, -1, 0, 3.5,
    "", " ", None, True, [], {}, [[]], "x" * 5000, "../../x", "/etc/passwd", "\x00", "\u2028", "[something]",
    [0, 6], [[0, 6]], [["a", "b"]], {"a": 1},
]


def _paths(value: Any, prefix: tuple = (), out: list | None = None, limit: int = 400) -> list[tuple]:
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    out.append(prefix)
    if isinstance(value, dict):
        for k in value:
            _paths(value[k], prefix + (k,), out, limit)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _paths(v, prefix + (i,), out, limit)
    return out


def _replace_at(value: Any, path: tuple, new: Callable[[Any], Any]) -> Any:
    if not path:
        return new(value)
    copy = value.copy()
    copy[path[0]] = _replace_at(value[path[0]], path[1:], new)
    return copy


def _json_mutation(rng: random.Random, value: Any) -> Any:
    path = rng.choice(_paths(value))
    kind = rng.randrange(5)
    if kind == 0:                                        # replace the node
        return _replace_at(value, path, lambda old: rng.choice(JSON_VALUES))
    if kind == 1:                                        # duplicate a list entry / drop a key
        def dup(old: Any) -> Any:
            if isinstance(old, list) and old:
                i = rng.randrange(len(old))
                return old[:i + 1] + [old[i]] + old[i + 1:]
            if isinstance(old, dict) and old:
                copy = dict(old)
                del copy[rng.choice(list(copy))]
                return copy
            return old
        return _replace_at(value, path, dup)
    if kind == 2:                                        # wrap in a list / unwrap
        return _replace_at(value, path, lambda old: [old] if not isinstance(old, list) or not old
                           else old[0])
    if kind == 3:                                        # same value as a string / number
        return _replace_at(value, path, lambda old: str(old) if not isinstance(old, str)
                           else (int(old) if old.isdigit() and len(old) < 20 else old + old))
    # move an entry between the file's lists (an id appearing twice, or a label appearing elsewhere)
    lists = [p for p in _paths(value) if p and isinstance(_get(value, p[:-1]), list)]
    if len(lists) >= 2:
        a, b = rng.sample(lists, 2)
        return _replace_at(value, a, lambda old: _get(value, b))
    return value


def _get(value: Any, path: tuple) -> Any:
    for p in path:
        value = value[p]
    return value


def _dump_json(value: Any, rng: random.Random) -> bytes:
    raws: list[str] = []

    def walk(v: Any) -> Any:
        if isinstance(v, str) and v.startswith(_RAW):
            raws.append(v[len(_RAW):])
            return f"\x01RAW{len(raws) - 1}\x01"
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v
    text = json.dumps(walk(value), indent=rng.choice([None, 1]), ensure_ascii=rng.random() < 0.5)
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x01RAW{i}\x01"), raw)
    return text.encode("utf-8")


def m_json(rng: random.Random, data: bytes) -> bytes:
    try:
        value = json.loads(data)
    except ValueError:
        return m_flip(rng, data)
    for _ in range(rng.randint(1, 3)):
        value = _json_mutation(rng, value)
    return _dump_json(value, rng)


# -- MSVD pickle ---------------------------------------------------------------------------------

def _pickle_specials(rng: random.Random, data: bytes) -> bytes:
    original = pickle.loads(data)          # our own fixture: a plain dict
    clip = next(iter(original))
    kind = rng.randrange(8)
    if kind == 0:                                          # shared references: tiny file, huge tree
        token = ["x" * 200] * 50
        caption = [token] * 200
        return pickle.dumps({clip: [caption] * 2000}, protocol=rng.choice([2, 4]))
    if kind == 1:                                          # memo index the C unpickler would allocate
        return b"\x80\x04]r\xff\xff\xff\x0f." if rng.random() < 0.5 else b"\x80\x02}q\xffh\xff."
    if kind == 2:                                          # a cycle
        loop: list = []
        loop.append(loop)
        return pickle.dumps({clip: loop}, protocol=rng.choice([0, 2, 4]))
    if kind == 3:                                          # nesting deeper than any recursion limit
        n = 100_000
        return b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b"."
    if kind == 4:                                          # str() of a shared DAG: exponential repr
        dag: Any = "x"
        for _ in range(30):
            dag = [dag, dag]
        inner = pickle.dumps(dag, protocol=2)[2:-1]
        return b"\x80\x02c__builtin__\nstr\n" + inner + b"\x85R."
    if kind == 5:                                          # huge integer
        if rng.random() < 0.3:                             # protocol 0 writes it as decimal text
            return b"L" + HUGE_INT.encode() + b"L\n."
        return pickle.dumps({clip: [[10 ** 20000]]}, protocol=rng.choice([2, 4]))
    if kind == 6:                                          # object construction from allowed names
        return b"\x80\x02c__builtin__\nlist\n)\x81."
    value = original                                       # plain data of the wrong shapes
    for _ in range(rng.randint(1, 3)):
        value = _json_mutation(rng, value)
        value = {k: v for k, v in value.items()} if isinstance(value, dict) else value
    try:
        return pickle.dumps(_strip_raw(value), protocol=rng.randrange(0, pickle.HIGHEST_PROTOCOL + 1))
    except (ValueError, RecursionError):
        return data


def _strip_raw(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_RAW):
        return value[len(_RAW):][:100]
    if isinstance(value, dict):
        return {k: _strip_raw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_raw(v) for v in value]
    return value


def mutate(rng: random.Random, name: str, data: bytes) -> tuple[str, bytes]:
    """(mutation name, mutated bytes) for an annotation file called ``name``."""
    if name.endswith(".pkl"):
        ops: list[Callable] = BYTE_MUTATIONS + [_pickle_specials] * 4
    elif name.endswith(".json"):
        ops = BYTE_MUTATIONS + TEXT_MUTATIONS + [m_json] * 8
    else:
        ops = BYTE_MUTATIONS + TEXT_MUTATIONS * 2
    op = rng.choice(ops)
    return op.__name__, op(rng, data)


# ---------------------------------------------------------------------------------------- running

@dataclass
class Outcome:
    reader: str
    tried: int = 0
    clean: int = 0
    accepted: int = 0
    tracebacks: list[str] = field(default_factory=list)
    unbounded: list[str] = field(default_factory=list)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fuzz_reader(reader: str, n: int, seed: int, workdir: Path) -> Outcome:
    """Read ``n`` mutated copies of ``reader``'s fixtures; see the module docstring."""
    rng = random.Random(f"{seed}:{reader}")
    out = Outcome(reader)
    roots = []
    for folder in FIXTURE_FOLDERS[reader]:
        root = workdir / reader / folder
        shutil.copytree(FIXTURES / folder, root)
        files = sorted(p.resolve().relative_to((FIXTURES / folder).resolve())
                       for p in read_dataset(reader, FIXTURES / folder).annotation_files)
        roots.append((root, files))
    for i in range(n):
        root, files = roots[i % len(roots)]
        rel = rng.choice(files)
        target = root / rel
        original = target.read_bytes()
        op, data = mutate(rng, rel.name, original)
        target.write_bytes(data)
        label = f"#{i} {root.name}/{rel} {op}"
        before = _peak_mb()
        start = time.perf_counter()
        try:
            index = read_dataset(reader, root)
            outcome, message = "accepted", ""
            outside = [r.path for recs in index.splits.values() for r in recs
                       if not str(r.path).startswith(str(root.resolve()) + "/")]
            if outside:
                outcome, message = "traceback", f"accepted a record outside the root: {str(outside[0])[:300]}"
        except TvtsBenchError as e:
            message = str(e).replace(str(root.resolve()), "<root>").replace(str(root), "<root>")
            outcome = "clean"
        except Exception:  # noqa: BLE001 - what we are looking for
            outcome, message = "traceback", traceback.format_exc(limit=6)
        finally:
            target.write_bytes(original)
        seconds = time.perf_counter() - start
        growth = _peak_mb() - before
        out.tried += 1
        if outcome == "traceback":
            out.tracebacks.append(f"{label}\n{message}")
            continue
        problems = []
        if len(message) > MAX_MESSAGE:
            problems.append(f"message of {len(message)} characters: {message[:300]!r}...")
        if seconds > MAX_SECONDS:
            problems.append(f"took {seconds:.1f} s")
        if growth > MAX_GROWTH_MB:
            problems.append(f"peak memory rose by {growth:.0f} MB")
        if problems:
            out.unbounded.append(f"{label}: {'; '.join(problems)}")
        elif outcome == "clean":
            out.clean += 1
        else:
            out.accepted += 1
    return out


def run(readers: list[str], n: int, seed: int) -> list[Outcome]:
    workdir = Path(tempfile.mkdtemp(prefix="tvts-fuzz-"))
    try:
        return [fuzz_reader(r, n, seed, workdir) for r in readers]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def table(outcomes: list[Outcome]) -> str:
    rows = [f"{'reader':<11} {'inputs':>7} {'clean errors':>13} {'accepted':>9} {'tracebacks':>11} "
            f"{'unbounded':>10}"]
    for o in outcomes:
        rows.append(f"{o.reader:<11} {o.tried:>7} {o.clean:>13} {o.accepted:>9} {len(o.tracebacks):>11} "
                    f"{len(o.unbounded):>10}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-reader", type=int, default=300, help="mutated inputs per reader (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--readers", default=",".join(READERS), help="comma-separated (default: all)")
    ap.add_argument("--examples", type=int, default=3, help="tracebacks / unbounded cases shown per reader")
    args = ap.parse_args(argv)
    readers = [r.strip() for r in args.readers.split(",") if r.strip()]
    unknown = [r for r in readers if r not in READERS]
    if unknown:
        ap.error(f"unknown reader(s): {', '.join(unknown)}")
    start = time.perf_counter()
    outcomes = run(readers, args.per_reader, args.seed)
    print(table(outcomes))
    print(f"({time.perf_counter() - start:.1f} s, seed {args.seed})")
    bad = False
    for o in outcomes:
        for kind, cases in (("traceback", o.tracebacks), ("unbounded", o.unbounded)):
            for case in cases[:args.examples]:
                bad = True
                print(f"\n--- {o.reader}: {kind} {case}")
            if len(cases) > args.examples:
                print(f"... and {len(cases) - args.examples} more {kind}(s) in {o.reader}")
            bad = bad or bool(cases)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
