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
``config.yaml``, and finally the built-in world, generated once on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import ConfigError

DATASETS = ("ssv2", "k400", "ucf101", "hmdb51", "msrvtt", "didemo", "msvd", "lsmdc",
            "yttemporal", "webvid", "cc3m")
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
            if not sep or name.strip() not in DATASETS:
                raise ConfigError(f"--data-root: cannot read {part!r}",
                                  hint=f"use DIR or NAME=PATH[,NAME=PATH]; names: {', '.join(DATASETS)}")
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
    if dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {dataset!r}", hint=f"known: {', '.join(DATASETS)}")
    if data_root:
        parsed = _parse_data_root(data_root)
        if isinstance(parsed, dict):
            if dataset in parsed:
                return DataLocation(dataset, parsed[dataset].resolve(), False)
        else:
            sub = parsed / dataset
            return DataLocation(dataset, (sub if sub.is_dir() else parsed).resolve(), False)
    env = os.environ.get(f"TVTS_BENCH_DATA_{dataset.upper()}")
    if env:
        return DataLocation(dataset, Path(env).expanduser().resolve(), False)
    env_root = os.environ.get("TVTS_BENCH_DATA_ROOT")
    if env_root:
        return DataLocation(dataset, (Path(env_root).expanduser() / dataset).resolve(), False)
    roots = _config_roots(home)
    if dataset in roots:
        return DataLocation(dataset, roots[dataset].resolve(), False)
    world = ensure_world(world_preset, world_seed, home)
    return DataLocation(dataset, world / dataset, True)
