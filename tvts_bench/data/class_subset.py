"""``reader_options.classes_file``: restrict a classification dataset to the classes a file lists.

A class-list file (``tvts_bench/data/class_lists/<name>.txt``, or any path) holds one class name per
line; ``#`` lines are comments and carry the list's source. An optional ``[builtin]`` line starts the
section used on the built-in world, whose stand-in classes have other names: the real-data section
names the real dataset's classes, the ``[builtin]`` section the stand-in's equivalent ones. A source
whose section is empty does not apply (``ClassListNotApplicable``; the runner reports the task n/a).

Names match ignoring case, ``[ ]`` placeholders and repeated spaces (SSV2's label file writes
``Moving something up``, its templates ``Moving [something] up``). The restricted dataset keeps only
videos of listed classes, relabelled 0..C-1 in the dataset's own class order; listed classes the
dataset lacks (a world preset with fewer classes) are named in ``index.notes``, which every result
records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ConfigError, TvtsBenchError
from .records import DatasetIndex

CLASS_LISTS = Path(__file__).parent / "class_lists"
BUILTIN_MARKER = "[builtin]"


class ClassListNotApplicable(TvtsBenchError):
    """The class list has no class of this data source (e.g. a real-data list on the built-in world)."""


@dataclass(frozen=True)
class ClassList:
    path: Path
    real: list[str]
    builtin: list[str]
    header: list[str]

    def for_source(self, builtin: bool) -> list[str]:
        return self.builtin if builtin else self.real


def _norm(name: str) -> str:
    return " ".join(name.replace("[", "").replace("]", "").lower().split())


def resolve(spec: str | Path) -> Path:
    """A bare name (``k400-temporal32`` or ``k400-temporal32.txt``) is looked up in ``class_lists/``."""
    p = Path(spec).expanduser()
    if p.is_file():
        return p
    for candidate in (CLASS_LISTS / str(spec), CLASS_LISTS / f"{spec}.txt"):
        if candidate.is_file():
            return candidate
    shipped = sorted(f.stem for f in CLASS_LISTS.glob("*.txt"))
    raise ConfigError(f"reader_options.classes_file: no class list {str(spec)!r}",
                      hint=f"a file path, or one of the shipped lists: {', '.join(shipped)}")


def load(spec: str | Path) -> ClassList:
    path = resolve(spec)
    real: list[str] = []
    builtin: list[str] = []
    header: list[str] = []
    target = real
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if target is real and not real:
                header.append(line.lstrip("# ").rstrip())
            continue
        if line.lower() == BUILTIN_MARKER:
            target = builtin
            continue
        target.append(line)
    for section in (real, builtin):
        seen: set[str] = set()
        for name in section:
            if _norm(name) in seen:
                raise ConfigError(f"{path}: class {name!r} is listed twice")
            seen.add(_norm(name))
    return ClassList(path, real, builtin, header)


def is_builtin_root(root: Path) -> bool:
    """The built-in world writes ``world.json`` at its root, one level above each dataset's folder."""
    return (Path(root).parent / "world.json").is_file() or (Path(root) / "world.json").is_file()


def restrict(index: DatasetIndex, spec: str | Path, *, builtin: bool | None = None) -> DatasetIndex:
    """``index`` with only the listed classes, relabelled 0..C-1 (rules in the module docstring)."""
    classes = load(spec)
    builtin = is_builtin_root(index.root) if builtin is None else builtin
    where = "the built-in world" if builtin else "real data"
    wanted = classes.for_source(builtin)
    name = classes.path.name
    if not index.classes:
        raise ConfigError(f"reader_options.classes_file: dataset {index.name} has no classes to restrict",
                          hint="classes_file applies to classification datasets")
    if not wanted:
        raise ClassListNotApplicable(f"class list {name} has no classes for {where}",
                                     hint=(classes.header[0] if classes.header else f"see {classes.path}"))
    own = {_norm(c): i for i, c in enumerate(index.classes)}
    keep_old = sorted(own[_norm(c)] for c in wanted if _norm(c) in own)
    absent = [c for c in wanted if _norm(c) not in own]
    if not keep_old:
        raise ClassListNotApplicable(f"none of the {len(wanted)} classes of {name} is a class of {index.name} "
                                     f"at {index.root} ({where})",
                                     hint=f"its first entries: {', '.join(wanted[:3])}; the dataset's: "
                                          f"{', '.join(index.classes[:3])}")
    new_of = {old: new for new, old in enumerate(keep_old)}
    splits = {s: [replace(r, label=new_of[r.label]) for r in recs if r.label in new_of]
              for s, recs in index.splits.items()}
    note = (f"restricted to {len(keep_old)} classes listed in {name} (relabelled 0..{len(keep_old) - 1})"
            + (f"; {len(absent)} listed class(es) not in this dataset: {', '.join(absent[:5])}"
               + (" ..." if len(absent) > 5 else "") if absent else ""))
    return replace(index, classes=[index.classes[i] for i in keep_old], splits=splits,
                   notes=[*index.notes, note])
