"""Shared fixtures. The tiny built-in world is generated once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests must never reach a model hub, and must not fight over the 2 cores of CI.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny preset of the built-in world (seed 0), generated once for the whole session."""
    from tvts_bench.world import generate

    out = tmp_path_factory.mktemp("world") / "tiny-seed0"
    generate(out, preset="tiny", seed=0)
    return out


@pytest.fixture()
def bench_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_world: Path) -> Path:
    """A fresh TVTS_BENCH_HOME whose built-in world is the session's tiny world (no regeneration)."""
    home = tmp_path / "home"
    world = home / "world" / "tiny-seed0"
    world.parent.mkdir(parents=True)
    world.symlink_to(tiny_world, target_is_directory=True)
    monkeypatch.setenv("TVTS_BENCH_HOME", str(home))
    monkeypatch.setenv("TVTS_BENCH_WORLD_PRESET", "tiny")
    for name in list(os.environ):
        if name.startswith("TVTS_BENCH_DATA_"):
            monkeypatch.delenv(name)
    return home
