"""Task registry: finds YAML task cards, resolves ``include:`` inheritance, groups and overrides.

Where cards live: ``tasks/`` at the repository root (found relative to the package, as in an editable
install; a copy inside the package, ``tvts_bench/tasks/``, is used when the repository one is absent),
plus the folders named in ``$TVTS_BENCH_TASKS`` (``os.pathsep``-separated). A later folder's card with
the same name replaces an earlier one, so users can shadow a shipped card.

Card files:

- A YAML mapping. A mapping with ``name`` is a task; one without is a base meant only to be included.
- ``include:`` a string or a list. Each entry is a path relative to the including file (``_base/linear.yaml``)
  or the name of another task (``ssv2-linear``). Later includes override earlier ones, and the card's
  own keys override all of them. Mappings merge recursively; lists and scalars are replaced.
- ``groups.yaml``: ``groups: {name: [task or group names, or "*" for every task]}``.
"""

from __future__ import annotations

import difflib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, DataFormatError
from .task_card import TaskCard, validate_card

GROUPS_FILE = "groups.yaml"
MAX_INCLUDE_DEPTH = 32              # deeper chains are a mistake (and would exhaust the stack)


def task_dirs() -> list[Path]:
    """Folders searched for cards, in increasing priority."""
    pkg = Path(__file__).resolve().parents[1]          # .../tvts_bench
    dirs: list[Path] = []
    repo_tasks = pkg.parent / "tasks"
    if repo_tasks.is_dir():
        dirs.append(repo_tasks)
    elif (pkg / "tasks").is_dir():
        dirs.append(pkg / "tasks")
    for part in os.environ.get("TVTS_BENCH_TASKS", "").split(os.pathsep):
        if part.strip():
            p = Path(part.strip()).expanduser().resolve()
            if not p.is_dir():
                raise ConfigError(f"$TVTS_BENCH_TASKS names {p}, which is not a folder")
            dirs.append(p)
    return dirs


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise DataFormatError(path, f"not UTF-8 text (byte {e.start}: {e.reason})",
                              hint="save the card as UTF-8") from None
    except RecursionError:
        raise DataFormatError(path, "nested too deeply to be a task card") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise DataFormatError(path, f"not valid YAML ({getattr(e, 'problem', e)})",
                              line=mark.line + 1 if mark else None) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataFormatError(path, "a task card must be a YAML mapping")
    return data


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


class _Loader:
    """Reads every card file once and resolves includes with cycle detection."""

    def __init__(self, dirs: list[Path]):
        self.raw: dict[Path, dict] = {}
        self.by_name: dict[str, Path] = {}
        self.groups: dict[str, list[str]] = {}
        self.groups_source: dict[str, Path] = {}
        for d in dirs:
            for path in sorted(d.rglob("*.yaml")) + sorted(d.rglob("*.yml")):
                path = path.resolve()
                data = _read_yaml(path)
                if path.name == GROUPS_FILE:
                    self._add_groups(path, data)
                    continue
                self.raw[path] = data
                name = data.get("name")
                if name is not None:
                    if not isinstance(name, str) or not name:
                        raise DataFormatError(path, "name must be a non-empty string", key="name")
                    self.by_name[name] = path          # later folders shadow earlier ones
        self.resolved: dict[Path, dict] = {}
        self.origins: dict[Path, dict[str, Path]] = {}   # card -> "key" / "key.sub" -> file that set it
        self.depth: dict[Path, int] = {}                   # card -> length of its longest include chain

    def _add_groups(self, path: Path, data: dict) -> None:
        groups = data.get("groups", {})
        if not isinstance(groups, dict):
            raise DataFormatError(path, "groups must map a group name to a list of task names", key="groups")
        for gname, members in groups.items():
            if isinstance(members, str):
                members = [members]
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise DataFormatError(path, "a group must be a list of task or group names", key=str(gname))
            self.groups[str(gname)] = members
            self.groups_source[str(gname)] = path

    def _include_path(self, path: Path, ref: Any) -> Path:
        if not isinstance(ref, str) or not ref:
            raise DataFormatError(path, f"include entries must be strings, got {ref!r}", key="include")
        if ref.endswith((".yaml", ".yml")) or "/" in ref:
            target = (path.parent / ref).resolve()
            if target not in self.raw:
                raise DataFormatError(path, f"included file {ref!r} not found (looked for {target})",
                                      key="include")
            return target
        if ref in self.by_name:
            return self.by_name[ref]
        raise DataFormatError(path, f"included task {ref!r} is not known" + _suggest(ref, self.by_name),
                              key="include")

    def resolve(self, path: Path, stack: tuple[Path, ...] = ()) -> dict:
        if path in self.resolved:
            return self.resolved[path]
        if path in stack:
            chain = " -> ".join(p.name for p in (*stack, path))
            raise DataFormatError(path, f"include cycle: {chain}", key="include")
        if len(stack) >= MAX_INCLUDE_DEPTH:    # checked before recursing, so the stack stays small
            raise DataFormatError(path, f"include chain deeper than {MAX_INCLUDE_DEPTH} cards "
                                        f"(from {stack[0].name})", key="include")
        data = dict(self.raw[path])
        includes = data.pop("include", None) or []
        if isinstance(includes, str):
            includes = [includes]
        if not isinstance(includes, list):
            raise DataFormatError(path, f"include must be a card name, a file or a list of them, "
                                        f"got {str(includes)[:60]!r}", key="include")
        merged: dict = {}
        origins: dict[str, Path] = {}
        depth = 0
        for ref in includes:
            target = self._include_path(path, ref)
            parent = dict(self.resolve(target, (*stack, path)))
            depth = max(depth, self.depth[target] + 1)
            if depth > MAX_INCLUDE_DEPTH:      # the same verdict whatever order cards are resolved in
                raise DataFormatError(path, f"include chain deeper than {MAX_INCLUDE_DEPTH} cards",
                                      key="include")
            parent.pop("name", None)                 # a name is never inherited
            merged = deep_merge(merged, parent)
            origins.update({k: v for k, v in self.origins[target].items() if k != "name"})
        merged = deep_merge(merged, data)
        origins.update(_field_paths(data, path))
        self.resolved[path] = merged
        self.origins[path] = origins
        self.depth[path] = depth
        return merged


def _field_paths(data: dict, path: Path) -> dict[str, Path]:
    """Top-level keys and their direct sub-keys (``params.C``) -> the file that sets them."""
    out: dict[str, Path] = {}
    for key, value in data.items():
        out[str(key)] = path
        if isinstance(value, dict):
            out.update({f"{key}.{sub}": path for sub in value})
    return out


def _suggest(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


@lru_cache(maxsize=8)
def _load(dirs_key: tuple[str, ...]) -> tuple[dict[str, TaskCard], dict[str, list[str]]]:
    loader = _Loader([Path(d) for d in dirs_key])
    cards: dict[str, TaskCard] = {}
    for name, path in loader.by_name.items():
        merged = loader.resolve(path)
        cards[name] = validate_card(merged, path, origins=loader.origins[path])
    for gname, members in loader.groups.items():
        if gname in cards:
            raise DataFormatError(loader.groups_source[gname], f"group {gname!r} has the name of a task",
                                  key=gname)
        for m in members:
            if m != "*" and m not in cards and m not in loader.groups:
                raise DataFormatError(loader.groups_source[gname],
                                      f"group {gname!r} names unknown task {m!r}"
                                      + _suggest(m, [*cards, *loader.groups]), key=gname)
    return dict(sorted(cards.items())), dict(loader.groups)


def load_tasks() -> dict[str, TaskCard]:
    """Every task card by name (validated, includes resolved)."""
    return dict(_load(tuple(str(d) for d in task_dirs()))[0])


def load_groups() -> dict[str, list[str]]:
    return dict(_load(tuple(str(d) for d in task_dirs()))[1])


def list_tasks() -> list[str]:
    return list(load_tasks())


def clear_cache() -> None:
    _load.cache_clear()


def _expand(name: str, cards: dict[str, TaskCard], groups: dict[str, list[str]],
            stack: tuple[str, ...] = ()) -> list[str]:
    if name == "*":
        return list(cards)
    if name in cards:
        return [name]
    if name in groups:
        if name in stack:
            raise ConfigError(f"task group cycle: {' -> '.join((*stack, name))}")
        out: list[str] = []
        for member in groups[name]:
            out.extend(_expand(member, cards, groups, (*stack, name)))
        return out
    raise ConfigError(f"unknown task or group {name!r}" + _suggest(name, [*cards, *groups]),
                      hint="`tvts-bench list tasks` shows every task and group")


def parse_task_params(items: list[str] | tuple[str, ...]) -> list[tuple[str, str, Any]]:
    """``SCOPE.KEY=VALUE`` overrides -> (scope, key, value). SCOPE is a protocol, a task or ``*``;
    KEY is a protocol parameter, or ``sampling.FIELD`` for the clip sampling (``ft.sampling.clips=1``);
    VALUE is read as YAML (``50``, ``1e-3``, ``[1, 10]``, ``true``)."""
    out = []
    for item in items:
        lhs, sep, rhs = item.partition("=")
        scope, dot, key = lhs.partition(".")          # task names hold '-' but never '.'

        if not sep or not dot or not scope or not key:
            raise ConfigError(f"--task-param {item!r}: expected SCOPE.KEY=VALUE",
                              hint="e.g. ft.epochs=50, ssv2-linear.C=[0.1,1], *.bootstrap=200")
        try:
            value = yaml.safe_load(rhs)
        except yaml.YAMLError:
            value = rhs
        out.append((scope.strip(), key.strip(), value))
    return out


def apply_task_params(card: TaskCard, overrides: list[tuple[str, str, Any]]) -> TaskCard:
    """Apply the overrides whose scope matches this card; the result is re-validated (and re-hashed)."""
    data = card.model_dump()
    changed = False
    for scope, key, value in overrides:
        if scope not in ("*", card.protocol, card.name):
            continue
        section, dot, field = key.partition(".")
        if dot and section in ("sampling", "params", "reader_options"):
            data[section] = {**data[section], field: value}
        else:
            data["params"] = {**data["params"], key: value}
        changed = True
    if not changed:
        return card
    return validate_card(data, f"--task-param (on task {card.name})")


def resolve_tasks(spec: str | list[str], task_params: list[str] | tuple[str, ...] = ()) -> list[TaskCard]:
    """``"a,b,groupname"`` -> cards in order, duplicates removed, overrides applied."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise ConfigError("no tasks given", hint="e.g. --tasks ssv2-linear,msrvtt-ret or --tasks demo")
    cards, groups = load_tasks(), load_groups()
    overrides = parse_task_params(task_params)
    known_scopes = {"*", *cards, *(c.protocol for c in cards.values())}
    for scope, key, _ in overrides:
        if scope not in known_scopes:
            raise ConfigError(f"--task-param {scope}.{key}: {scope!r} is neither a protocol nor a task"
                              + _suggest(scope, known_scopes))
    seen: dict[str, None] = {}
    for n in names:
        for t in _expand(n, cards, groups):
            seen.setdefault(t)
    return [apply_task_params(cards[t], overrides) for t in seen]
