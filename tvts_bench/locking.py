"""An exclusive lock on a folder for the length of a job, so two jobs never write one folder at once.

``fcntl.flock`` on ``<folder>/.lock``: the kernel releases it when the process ends, however it ends, so
a killed job never leaves a stale lock behind. The file records the holder's pid and host for the
message the second job prints.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import Iterator

from .errors import ConfigError

LOCK_NAME = ".lock"


@contextlib.contextmanager
def exclusive(folder: Path, what: str) -> Iterator[None]:
    """Hold ``folder``'s lock, or raise ``ConfigError`` naming the process that holds it."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise ConfigError(f"{what} {folder} is in use by {holder}",
                              hint="wait for it to finish, or use another --name") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
        yield
    finally:
        os.close(fd)                      # closing releases the lock
