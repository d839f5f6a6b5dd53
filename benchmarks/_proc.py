"""Run a command and measure its wall time and memory: the peak of the summed RSS of its whole process
tree (polled from /proc, so worker processes count together) and ``getrusage(RUSAGE_CHILDREN)`` maxrss
(the largest single process)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(root: int) -> int:
    kids = _children_map()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _rss_bytes(pid)
        stack.extend(kids.get(pid, ()))
    return total


def tvts_bench_exe() -> list[str]:
    """The CLI of this interpreter's environment (``python -m tvts_bench.cli`` when not installed)."""
    exe = Path(sys.executable).with_name("tvts-bench")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tvts_bench.cli"]


def run_measured(cmd: list[str], *, env: dict | None = None, cwd: str | None = None, timeout: float | None = None,
                 poll_s: float = 0.5, log_path: Path | None = None) -> dict:
    """Run ``cmd``; returns {rc, seconds, peak_tree_rss_bytes, children_maxrss_bytes, timed_out, tail}."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    log = open(log_path, "w") if log_path else subprocess.PIPE
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            text=True if log is subprocess.PIPE else None)
    peak = [0]
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(proc.pid))
            done.wait(poll_s)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    timed_out = False
    out = ""
    try:
        if log is subprocess.PIPE:
            out, _ = proc.communicate(timeout=timeout)
        else:
            proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        if log is subprocess.PIPE:
            out, _ = proc.communicate()
        else:
            proc.wait()
    seconds = time.perf_counter() - t0
    done.set()
    thread.join()
    if log_path:
        log.close()
        out = Path(log_path).read_text(errors="replace")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"rc": proc.returncode, "seconds": seconds, "timed_out": timed_out,
            "peak_tree_rss_bytes": peak[0],
            # ru_maxrss is in KiB on Linux and only grows: a value above the previous one is this child's
            "children_maxrss_bytes": after * 1024 if after > before else None,
            "tail": out[-3000:] if out else ""}
