"""Where tvts-bench keeps things, and where each dataset's files are.

One home folder holds the generated world, feature caches, pretraining runs and results:

    $TVTS_BENCH_HOME/            (default: the user's cache folder, e.g. ~/.cache/tvts-bench)
      world/<preset>-seed<N>/    the built-in world, one folder per dataset short name
      cache/features/            feature cache shards
      runs/<name>/               pretraining runs (checkpoints, metrics.jsonl)
      results/                   one JSON per (model, task, seed)
      config.yaml                optional: data_roots: {ssv2: /data/ssv2, ...}

Every command takes ``--home`` to override it.

Data roots, first match wins: an explicit ``--data-root`` (a folder holding one sub-folder per dataset
short name, or ``name=PATH`` pairs), the environment variable ``TVTS_BENCH_DATA_<NAME>`` (e.g.
``TVTS_BENCH_DATA_SSV2``), ``TVTS_BENCH_DATA_ROOT`` (a folder of dataset folders), ``data_roots`` in
``config.yaml``, and finally the built-in world, generated once on first use. A dataset the built-in world
has no stand-in for (its ``DatasetSpec`` names no world writer) needs one of the others.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from .data.readers import dataset_names, dataset_spec
from .errors import ConfigError, MissingPathError

DEFAULT_WORLD_PRESET = "demo"
DEFAULT_WORLD_SEED = 0


def home_dir(override: Path | str | None = None) -> Path:
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get("TVTS_BENCH_HOME")
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return (base / "tvts-bench").resolve()


def world_dir(preset: str = DEFAULT_WORLD_PRESET, seed: int = DEFAULT_WORLD_SEED,
              home: Path | str | None = None) -> Path:
    return home_dir(home) / "world" / f"{preset}-seed{seed}"


def cache_dir(home: Path | str | None = None) -> Path:
    return home_dir(home) / "cache"


def runs_dir(home: Path | str | None = None) -> Path:
    return home_dir(home) / "runs"


def results_dir(home: Path | str | None = None) -> Path:
    return home_dir(home) / "results"


# models/ sits beside the package in a source checkout (editable install); a wheel may ship the cards
# inside the package as tvts_bench/models/ instead.
_PACKAGE_DIR = Path(__file__).resolve().parent
BUILTIN_MODELS_DIR = next((d for d in (_PACKAGE_DIR.parent / "models", _PACKAGE_DIR / "models") if d.is_dir()),
                          _PACKAGE_DIR.parent / "models")


def models_dirs(home: Path | str | None = None) -> list[Path]:
    """Where model cards are read from, in order: built-in, $TVTS_BENCH_MODELS (os.pathsep list), home."""
    dirs = [BUILTIN_MODELS_DIR]
    extra = os.environ.get("TVTS_BENCH_MODELS")
    if extra:
        dirs += [Path(p).expanduser() for p in extra.split(os.pathsep) if p]
    dirs.append(home_dir(home) / "models")
    return dirs


def default_world_preset() -> str:
    return os.environ.get("TVTS_BENCH_WORLD_PRESET", DEFAULT_WORLD_PRESET)


def ensure_world(preset: str | None = None, seed: int = DEFAULT_WORLD_SEED,
                 home: Path | str | None = None, *, quiet: bool = False) -> Path:
    """Return the built-in world's folder, generating it once (with a one-line notice) if absent."""
    from .world import generate, is_complete  # lazy: the world pulls in video encoders

    preset = preset or default_world_preset()
    out = world_dir(preset, seed, home)
    if not is_complete(out):
        if not quiet:
            from rich.console import Console

            Console(stderr=True).print(
                f"[yellow]notice:[/] no data root configured; generating the built-in world "
                f"(preset {preset}, seed {seed}) once under {out}")
        generate(out, preset=preset, seed=seed)
    return out


@dataclass(frozen=True)
class DataLocation:
    """Where one dataset's files are, and whether they are the built-in stand-in."""

    dataset: str
    root: Path
    builtin: bool


def _parse_data_root(data_root: str | Path) -> dict[str, Path] | Path:
    text = str(data_root)
    if "=" in text:
        pairs: dict[str, Path] = {}
        for part in text.split(","):
            name, sep, path = part.partition("=")
            if not sep or name.strip() not in dataset_names():
                raise ConfigError(f"--data-root: cannot read {part!r}",
                                  hint=f"use DIR or NAME=PATH[,NAME=PATH]; names: {', '.join(dataset_names())}")
            pairs[name.strip()] = Path(path).expanduser()
        return pairs
    return Path(text).expanduser()


def _config_roots(home: Path | str | None) -> dict[str, Path]:
    cfg = home_dir(home) / "config.yaml"
    if not cfg.exists():
        return {}
    try:
        data = yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise ConfigError(f"{cfg}: not UTF-8 text (byte {e.start}: {e.reason})", hint="save it as UTF-8") from None
    except RecursionError:
        raise ConfigError(f"{cfg}: nested too deeply to be a configuration file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{cfg}: not valid YAML ({str(e)[:300]})") from None
    roots = data.get("data_roots", {}) if isinstance(data, dict) else {}
    if not isinstance(roots, dict):
        raise ConfigError(f"{cfg}: key 'data_roots' must map dataset names to folders")
    return {str(k): Path(str(v)).expanduser() for k, v in roots.items()}


def resolve_data(dataset: str, data_root: str | Path | None = None, *,
                 home: Path | str | None = None, world_preset: str | None = None,
                 world_seed: int = DEFAULT_WORLD_SEED) -> DataLocation:
    """Find a dataset's root folder following the order in this module's docstring."""
    spec = dataset_spec(dataset)                # a ConfigError naming the known datasets
    if data_root:
        parsed = _parse_data_root(data_root)
        if isinstance(parsed, dict):
            if dataset in parsed:
                return DataLocation(dataset, parsed[dataset].resolve(), False)
        else:
            sub = parsed / dataset
            return DataLocation(dataset, (sub if sub.is_dir() else parsed).resolve(), False)
    env = os.environ.get(_env_name(dataset))
    if env:
        return DataLocation(dataset, Path(env).expanduser().resolve(), False)
    env_root = os.environ.get("TVTS_BENCH_DATA_ROOT")
    if env_root:
        return DataLocation(dataset, (Path(env_root).expanduser() / dataset).resolve(), False)
    roots = _config_roots(home)
    if dataset in roots:
        return DataLocation(dataset, roots[dataset].resolve(), False)
    if not spec.builtin:
        raise ConfigError(f"no data root for {dataset}, and the built-in world has no {dataset} stand-in "
                          f"(nothing generates one)", hint=_where_to_point(dataset, home))
    preset = world_preset or default_world_preset()
    world = ensure_world(preset, world_seed, home)
    root = world / dataset
    if not root.is_dir():   # a world written by a build whose writers did not cover this dataset
        raise MissingPathError(root, f"{dataset} in the built-in world",
                               hint=f"regenerate it (tvts-bench world generate --preset {preset} --seed "
                                    f"{world_seed} --out {world}), or "
                                    + _where_to_point(dataset, home))
    return DataLocation(dataset, root, True)


def _env_name(dataset: str) -> str:
    return f"TVTS_BENCH_DATA_{dataset.upper()}"


def _where_to_point(dataset: str, home: Path | str | None) -> str:
    return (f"point at the real files: --data-root DIR (a folder holding {dataset}/) or {dataset}=PATH "
            f"(data check: --root PATH), {_env_name(dataset)}=PATH, or data_roots: {{{dataset}: PATH}} in "
            f"{home_dir(home) / 'config.yaml'}")
