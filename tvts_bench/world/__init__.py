"""The built-in world: procedurally generated videos + annotations in the real datasets' layouts.

``generate(out, preset, seed)`` writes one folder per dataset whose ``DatasetSpec`` names a world
writer (``data/readers/<name>.py``; ``tvts-bench list datasets`` shows which) and, last, ``world.json``.
Everything is built in a temporary sibling folder that is renamed to ``out`` only when complete, so an
interrupted run is never mistaken for a world. The same (preset, seed) gives the same annotation bytes
and the same decoded frames.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .presets import PRESETS, WorldPreset, named_preset

if TYPE_CHECKING:  # the planner pulls in numpy; a run that only checks is_complete() does not need it
    from .plan import DatasetPlan, VideoJob

WORLD_VERSION = 3  # 2: SSV2 event orders, K400 shapes; 3: UCF101 / HMDB51 motion classes only
WORLD_FILE = "world.json"

__all__ = ["PRESETS", "WORLD_VERSION", "WorldPreset", "generate", "is_complete", "plan_world", "read_world_info"]


def plan_world(preset: str | WorldPreset, seed: int = 0) -> list[DatasetPlan]:
    """Every stand-in's annotation files, video jobs and counts (cheap: nothing is rendered), one per
    dataset spec with a world writer: the pretraining corpus first, then in listing order (the order
    world.json has always had)."""
    from ..data.readers import dataset_specs

    p = named_preset(preset)
    specs = sorted((s for s in dataset_specs().values() if s.builtin), key=lambda s: s.kind != "pretraining")
    plans = []
    for spec in specs:
        plan = spec.world_writer()(p, int(seed))
        if plan.name != spec.name:
            raise RuntimeError(f"the world writer {spec.world} of dataset {spec.name!r} plans {plan.name!r}")
        plans.append(plan)
    return plans


def read_world_info(root: Path | str) -> dict | None:
    try:
        info = json.loads((Path(root) / WORLD_FILE).read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def is_complete(root: Path | str) -> bool:
    """True when ``root`` holds a finished world of the current version (world.json is written last)."""
    info = read_world_info(root)
    return bool(info) and info.get("version") == WORLD_VERSION and isinstance(info.get("counts"), dict)


def _render_job(job: VideoJob, root: str) -> tuple[str, int]:
    from .render import render_chunks
    from .video_io import write_image, write_video

    path = Path(root) / job.relpath
    if path.suffix == ".jpg":  # a still image (CC3M)
        frames = write_image(path, next(iter(render_chunks(job.scene)))[0])
    else:
        frames = write_video(path, render_chunks(job.scene), job.scene.fps)
    return job.relpath, frames


def _run_jobs(jobs: list[VideoJob], root: Path, workers: int, progress: bool) -> int:
    # Longest videos first so that two workers finish together.
    jobs = sorted(jobs, key=lambda j: -j.scene.num_frames)
    total_frames = sum(j.scene.num_frames for j in jobs)
    bar = None
    if progress:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("[bold]world[/] rendering videos"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), console=Console(stderr=True))
        task = bar.add_task("videos", total=len(jobs))
        bar.start()
    done: set[str] = set()
    frames = 0

    def finished(relpath: str, count: int) -> None:
        nonlocal frames
        done.add(relpath)
        frames += count
        if bar:
            bar.advance(task)

    try:
        if workers > 1:
            # spawn: the parent may hold torch / OpenMP threads, which do not survive a fork.
            pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
            try:
                futures = [pool.submit(_render_job, job, str(root)) for job in jobs]
                for fut in as_completed(futures):
                    finished(*fut.result())
            except BrokenProcessPool:
                # Workers could not start (e.g. a calling script without a __main__ guard):
                # render the rest here instead.
                pool.shutdown(wait=True, cancel_futures=True)
            except BaseException:
                # Interrupted or a job failed: drop the queued videos instead of rendering them all.
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
        for job in jobs:
            if job.relpath not in done:
                finished(*_render_job(job, str(root)))
    finally:
        if bar:
            bar.stop()
    assert frames == total_frames, (frames, total_frames)
    return frames


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # finished workers only
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_partials(out: Path) -> None:
    """Remove what killed runs (e.g. SIGKILL, no cleanup) left next to ``out``."""
    for pattern in (f".{out.name}.partial-*", f".{out.name}.old-*"):
        for path in out.parent.glob(pattern):
            pid = path.name.rsplit("-", 1)[-1]
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                if path.is_symlink():
                    path.unlink()
                else:
                    shutil.rmtree(path, ignore_errors=True)


def _is_replaceable(out: Path) -> bool:
    if not out.exists():
        return True
    if not out.is_dir():
        return False
    return is_complete(out) or not any(out.iterdir())


def generate(out: Path | str, preset: str = "demo", seed: int = 0, progress: bool = True,
             workers: int | None = None) -> Path:
    """Generate the world into ``out`` (replacing a previous world there) and return ``out``."""
    p = named_preset(preset)
    out = Path(out).expanduser().absolute()
    if not _is_replaceable(out):
        raise ConfigError(f"{out} exists and is not a generated world; refusing to overwrite it",
                          hint="pass an empty or new folder to --out")
    if workers is None:
        workers = int(os.environ.get("TVTS_BENCH_WORLD_WORKERS", p.workers))
    workers = max(1, min(workers, os.cpu_count() or 1))
    started = time.perf_counter()
    cpu_started = _cpu_seconds()
    plans = plan_world(p, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.is_symlink() and not out.exists():   # a link to a world that is gone: replace the link
        out.unlink()
    _remove_stale_partials(out)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        tmp.mkdir()
        for plan in plans:
            for rel, content in plan.files.items():
                path = tmp / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        jobs = [job for plan in plans for job in plan.jobs]
        frames = _run_jobs(jobs, tmp, workers, progress)
        info = {
            "preset": p.name, "seed": int(seed), "version": WORLD_VERSION,
            "counts": {plan.name: plan.counts for plan in plans},
            "videos": sum(1 for j in jobs if not j.relpath.endswith(".jpg")),
            "images": sum(1 for j in jobs if j.relpath.endswith(".jpg")), "frames": frames,
            "seconds": round(time.perf_counter() - started, 2), "workers": workers,
            # CPU time of this process and its workers: comparable across machines that are busy.
            "cpu_seconds": round(_cpu_seconds() - cpu_started, 2),
            "sizes": p.as_dict(),
        }
        # world.json last: its presence marks the folder complete.
        (tmp / WORLD_FILE).write_text(json.dumps(info, indent=2) + "\n")
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            if old.is_symlink():  # a linked world: drop the link, never the target
                old.unlink()
            else:
                shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out
