"""Atomic writes: normal permissions, and what a killed writer left behind is cleaned up."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tvts_bench.atomic import atomic_path, write_text


def test_written_files_get_the_permissions_of_a_plain_open(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        import importlib

        import tvts_bench.atomic as atomic

        importlib.reload(atomic)
        atomic.write_text(tmp_path / "r.json", "{}")
        assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644
    finally:
        os.umask(old)


def test_orphaned_temporary_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f".r[1].json.{dead.pid}.abc123.tmp"
    orphan.write_text("half")
    live = tmp_path / f".r[1].json.{os.getpid()}.def456.tmp"      # a live writer's file stays
    live.write_text("in progress")
    write_text(tmp_path / "r[1].json", "{}")
    assert not orphan.exists() and live.exists()
    assert (tmp_path / "r[1].json").read_text() == "{}"


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    try:
        with atomic_path(tmp_path / "x.bin") as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("disk full")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []
