"""Run tasks for one model: resolve tasks and data, build each protocol's context, write result files.

Every (task, seed) is decided first: skipped (a valid result exists), n/a, or to compute. The decisions
read the model's identity (``zoo.identity``): the memo of an identical earlier load when there is one
(file metadata of the cards, checkpoints and code), so an identical second run decides every skip
without importing torch or loading weights. The model is then loaded at most once, and only when some
task must be computed; when it is not the one the memo described, its own identity decides every task
again, once, before anything is computed. For each (task, seed) to compute: find the data
(built-in world or real), read the dataset, build its manifest, drop videos that are not on disk
(counted as missing), build a ``ProtocolContext`` with a feature cache and a loader factory, call
``PROTOCOLS[task.protocol](ctx)``, and write ``<results>/<model>/<task>/seed<N>.json`` with provenance.
One failing task is reported and the others still run.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .. import distributed
from ..errors import NonFiniteError, TvtsBenchError
from ..hashing import sha256_json
from ..runtime import seed_everything
from ..zoo.identity import ModelIdentity, card_names
from .provenance import build_provenance, utc_now
from .result_schema import DataInfo, MetricValue, ModelInfo, ResultRecord, TaskInfo
from .results import existing_result, read_result, result_path, safe_name, supersede, write_result
from .task_card import TaskCard

if TYPE_CHECKING:  # the protocol and feature modules import torch: only the compute path loads them
    from .context import ProtocolContext, ProtocolOutput
    from .features import FeatureCache

ProtocolFn = Callable[["ProtocolContext"], "ProtocolOutput"]


@dataclass
class RunOptions:
    model: str
    tasks: str | list[str]
    checkpoint: str | None = None
    task_params: tuple[str, ...] = ()
    data_root: str | None = None
    results_dir: Path | None = None          # default: $TVTS_BENCH_HOME/results
    seeds: tuple[int, ...] = (0,)
    overwrite: str = "only-missing"
    device: str = "cpu"
    batch_size: int = 8
    workers: int = 0
    world_preset: str | None = None
    shard_size: int | None = None            # feature cache shard size (None: features.DEFAULT_SHARD_SIZE)
    backend: str = "auto"
    name: str | None = None                  # --name: the result name (default: see _Runner.result_name)
    accept_unused: bool = False              # --accept-unused-tensors: load a checkpoint with unused tensors
    frame_cache: bool = False                # --frame-cache: training loaders read decoded frames once
    # An adapter already in memory (tvts_bench.evaluate with a VideoAdapter or nn.Module): used instead
    # of loading ``model``, which is then only its name. Never memoised: its weights are hashed per run.
    adapter: Any = None


@dataclass
class TaskOutcome:
    task: str
    seed: int
    status: str                              # "ok" | "skipped" | "failed" | "n/a" (does not apply)
    main_metric: str = ""
    value: MetricValue | None = None
    seconds: float = 0.0
    path: Path | None = None
    reason: str = ""                         # why skipped / recomputed
    error: str | None = None


@dataclass
class RunSummary:
    model: str
    outcomes: list[TaskOutcome] = field(default_factory=list)
    results_dir: Path | None = None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        return out

    @property
    def failed(self) -> list[TaskOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class PreparedData:
    """A dataset read once per run (per reader options), with missing videos set aside."""

    location: Any                            # home.DataLocation
    index: Any                               # DatasetIndex with only the videos found on disk
    manifest_hash: str
    listed: dict[str, int]
    missing: dict[str, list[str]]            # split -> videos not on disk (paths relative to the root)


def load_protocols() -> dict[str, ProtocolFn]:
    from .protocols import PROTOCOLS  # the protocols engineer's registry

    return PROTOCOLS


def prepare_data(task: TaskCard, opts: RunOptions) -> PreparedData:
    """Read the task's dataset once; videos missing on disk are counted (manifest) and set aside."""
    import os
    from dataclasses import replace

    from ..data.manifest import build_manifest
    from ..data.readers import read_dataset
    from ..home import resolve_data

    loc = resolve_data(task.dataset, opts.data_root, world_preset=opts.world_preset)
    index = read_dataset(task.dataset, loc.root, **task.reader_options)
    manifest = build_manifest(index)
    listed = {split: m.listed for split, m in manifest.splits.items()}
    missing = {split: list(m.missing_videos) for split, m in manifest.splits.items()}
    present = {split: [r for r in records if os.path.isfile(r.path)] for split, records in index.splits.items()}
    return PreparedData(loc, replace(index, splits=present), manifest.hash, listed, missing)


@dataclass
class Decision:
    """What one (task, seed) will do, decided before any model is loaded: an outcome already known
    (skipped, n/a, failed), or a computation writing ``path`` (``reason``: why it is computed)."""

    task: TaskCard
    seed: int
    outcome: TaskOutcome | None = None
    data: PreparedData | None = None
    path: Path | None = None
    reason: str = ""


class _Runner:
    def __init__(self, opts: RunOptions, *, console: Any = None, protocols: dict[str, ProtocolFn] | None = None,
                 progress: Any = None):
        from rich.console import Console

        from ..home import results_dir
        from ..zoo.identity import ModelHandle

        self.opts = opts
        self.console = console or Console(stderr=True)
        self._protocols = protocols
        self.progress = progress
        self.results_dir = Path(opts.results_dir) if opts.results_dir else results_dir()
        self.data: dict[str, PreparedData] = {}
        # Under torchrun every rank loads (no memo): see ModelHandle.
        self.model = ModelHandle(opts.model, opts.checkpoint, opts.device, accept_unused=opts.accept_unused,
                                 adapter=opts.adapter, memoise=int(os.environ.get("WORLD_SIZE", "1")) <= 1,
                                 log=self._log)

    @property
    def protocols(self) -> dict[str, ProtocolFn]:
        if self._protocols is None:
            self._protocols = load_protocols()
        return self._protocols

    @property
    def adapter(self) -> Any:
        return self.model.adapter

    def load_model(self) -> Any:
        first = self.model.adapter is None
        adapter = self.model.load()
        unused = getattr(adapter, "unused_tensors", None)
        if first and unused:
            self._log(f"warning: {len(unused)} tensor(s) of the checkpoint were not used "
                      f"(--accept-unused-tensors): {', '.join(unused[:8])}"
                      + (" ..." if len(unused) > 8 else "") + "; every result records them")
        return adapter

    def model_name(self) -> str:
        return self.result_name(self.model.identity())

    def result_name(self, known: ModelIdentity) -> str:
        """The name results are filed and shown under. Weights given by path (``--checkpoint``, or a
        path as the model) that the card's loader renamed carry a short weights hash, so two
        checkpoints loaded with one card never share a result path; ``--name`` overrides."""
        if self.opts.name:
            return self.opts.name
        by_path = self.opts.adapter is None and (self.opts.checkpoint is not None or (
            self.opts.model not in card_names() and Path(self.opts.model).expanduser().exists()))
        if by_path and known.name != self.opts.model and known.weights_hash:
            return f"{known.name}-{known.weights_hash[:8]}"
        return known.name

    def data_for(self, task: TaskCard) -> PreparedData:
        key = f"{task.dataset}:{sha256_json(task.reader_options)}"
        if key not in self.data:
            self.data[key] = prepare_data(task, self.opts)
            for note in self.data[key].index.notes:
                self._log(f"warning: {note}")
        return self.data[key]

    # -- deciding, then computing ------------------------------------------------------------------
    def decide(self, task: TaskCard, seed: int, known: ModelIdentity) -> Decision:
        """Skip, n/a or compute, from the model's identity (the memo's before any load)."""
        from ..data.class_subset import ClassListNotApplicable

        try:
            data = self.data_for(task)
        except ClassListNotApplicable as e:
            # Not a failure: a real-data class list on the built-in world (or the reverse).
            return Decision(task, seed, TaskOutcome(task.name, seed, "n/a", task.main_metric, None, 0.0, None,
                                                    e.message))
        path = result_path(self.results_dir, self.result_name(known), task.name, seed,
                           "builtin" if data.location.builtin else "real")
        skip, reason = existing_result(path, self.opts.overwrite, weights_hash=known.weights_hash,
                                       task_hash=task.hash, manifest_hash=data.manifest_hash)
        if skip:
            record = read_result(path)
            return Decision(task, seed, TaskOutcome(task.name, seed, "skipped", task.main_metric,
                                                    record.metrics.get(task.main_metric), 0.0, path, reason))
        if task.spec.needs_text and not known.has_text:
            # Not a failure: a protocol that needs the model's text tower does not apply to a video-only
            # model (zero-shot text retrieval; the -ret-ft task attaches a text tower instead).
            return Decision(task, seed, TaskOutcome(task.name, seed, "n/a", task.main_metric, None, 0.0, None,
                                                    f"no text tower; {task.dataset}-ret-ft applies"))
        return Decision(task, seed, data=data, path=path, reason=reason)

    def run_one(self, decision: Decision) -> TaskOutcome:
        """Compute one decided (task, seed) with the loaded model and write its result."""
        task, seed, data, path, reason = decision.task, decision.seed, decision.data, decision.path, decision.reason
        assert data is not None and path is not None
        adapter = self.load_model()
        model = self.result_name(self.model.identity())
        from .context import ProtocolContext, ProtocolOutput
        from .features import DEFAULT_SHARD_SIZE, FeatureCache

        if task.protocol not in self.protocols:
            raise TvtsBenchError(f"task {task.name}: protocol {task.protocol!r} is not available",
                                 hint=f"available: {', '.join(sorted(self.protocols))}")
        started, t0 = utc_now(), time.perf_counter()
        cache = FeatureCache(adapter, data.index, manifest_hash=data.manifest_hash, sampling=task.sampling,
                             device=self.opts.device, batch_size=self.opts.batch_size,
                             workers=self.opts.workers, progress=self.progress,
                             shard_size=self.opts.shard_size or DEFAULT_SHARD_SIZE, backend=self.opts.backend)
        from ..data.loader import DecodeReport

        decode_report = DecodeReport()
        feature_notes: list[str] = []
        work_dir = _work_dir(model, task, seed, data.manifest_hash, adapter.weights_hash())
        ctx = ProtocolContext(
            task=task, adapter=adapter, index=data.index, seed=seed, device=self.opts.device,
            features=_finite_features(cache, feature_notes),
            loader=self._loader_factory(task, data, cache, seed, decode_report),
            progress=self.progress, work_dir=work_dir, preprocess=cache.preprocess,
            batch_size=self.opts.batch_size, workers=self.opts.workers, rank=distributed.rank(),
            world_size=distributed.world_size(), log=self._log, decode_report=decode_report)
        seed_everything(seed)
        snapshot = _snapshot(adapter) if task.spec.trains else None
        try:
            output = self.protocols[task.protocol](ctx)
        except NonFiniteError as e:      # say whose numbers were not finite; no result is written
            raise e.within(f"model {model}, task {task.name} (seed {seed})") from None
        finally:
            if snapshot is not None:
                _restore(adapter, snapshot)
        seconds = time.perf_counter() - t0
        if not isinstance(output, ProtocolOutput):
            raise TypeError(f"protocol {task.protocol} returned {type(output).__name__}, not ProtocolOutput")
        missing_metrics = [m for m in task.metrics if m not in output.metrics]
        if missing_metrics:
            raise TvtsBenchError(f"task {task.name}: protocol {task.protocol} did not compute "
                                 f"{', '.join(missing_metrics)}")
        if distributed.rank() != 0:                     # under torchrun only rank 0 writes results
            return TaskOutcome(task.name, seed, "ok", task.main_metric,
                               output.metrics[task.main_metric], seconds, None, reason)
        for note in dict.fromkeys(feature_notes):
            self._log(f"warning: {model}, {task.name}: {note}")
        if feature_notes:
            output.extra = {**output.extra, "feature_warnings": list(dict.fromkeys(feature_notes))}
        record = self._record(task, seed, output, data, cache, decode_report, started, seconds)
        if self.opts.overwrite != "always":
            moved = supersede(path, self.results_dir)     # a stale result is kept, never overwritten
            if moved is not None:
                self._log(f"note: the earlier result ({reason}) was moved to {moved}")
        write_result(path, record, output.per_sample)
        return TaskOutcome(task.name, seed, "ok", task.main_metric, output.metrics[task.main_metric],
                           seconds, path, reason)

    def _loader_factory(self, task: TaskCard, data: PreparedData, cache: FeatureCache, seed: int,
                        report: Any) -> Callable[..., Any]:
        from ..data.loader import ClipDataset, make_loader

        opts = self.opts

        frames = None
        if opts.frame_cache:
            from ..data.frame_cache import FrameCache
            from ..home import cache_dir

            short = max(cache.preprocess.short_side, cache.preprocess.size)
            frames = FrameCache(cache_dir() / "frames" / f"short{short}", short)

        def loader(split: str, train: bool, batch_size: int | None = None, clips: int = 1, crops: int = 1,
                   **kwargs: Any) -> Any:
            dataset = ClipDataset(data.index.records(split), cache.preprocess, train=train, clips=clips,
                                  crops=crops, mode=task.sampling.mode, stride=task.sampling.stride,
                                  backend=opts.backend, frame_op=kwargs.pop("frame_op", None), seed=seed,
                                  frame_cache=frames)
            kwargs.setdefault("shuffle", train)
            kwargs.setdefault("seed", seed)
            dl = make_loader(dataset, batch_size or opts.batch_size, opts.workers, **kwargs)
            dl.__class__ = _reporting_class(type(dl))
            dl._decode_report = report
            return dl

        return loader

    def _record(self, task: TaskCard, seed: int, output: ProtocolOutput, data: PreparedData,
                cache: FeatureCache, decode_report: Any, started: str, seconds: float) -> ResultRecord:
        adapter = self.adapter
        if hasattr(adapter, "model_info"):
            model_info = ModelInfo(**{**adapter.model_info(), "name": self.model_name()})
        else:
            model_info = ModelInfo(name=self.model_name(), family=getattr(adapter, "family", "user"),
                                   weights_hash=adapter.weights_hash(), checkpoint=self.opts.checkpoint,
                                   num_params=_safe_num_params(adapter),
                                   unused_tensors=list(getattr(adapter, "unused_tensors", None) or []))
        splits = sorted({task.splits.train, task.splits.test} & set(data.listed))
        unreadable = dict(cache.stats.unreadable)           # video_id -> error
        failures = getattr(decode_report, "failures", {})    # path -> error (training loaders)
        if failures:
            ids = {str(r.path): r.video_id for recs in data.index.splits.values() for r in recs}
            for p, err in failures.items():
                unreadable.setdefault(ids.get(p, Path(p).name), err)
        data_info = DataInfo(
            source="builtin" if data.location.builtin else "real", root=str(data.location.root),
            manifest_hash=data.manifest_hash, listed=sum(data.listed[s] for s in splits),
            missing=sum(len(data.missing[s]) for s in splits), unreadable=len(unreadable),
            unreadable_videos=sorted(unreadable)[:1000])
        clips = output.clips + cache.stats.clips
        extra = {
            "seeds": list(self.opts.seeds),
            "task_params_overrides": list(self.opts.task_params),
            "data_root": self.opts.data_root,
            "world_preset": self.opts.world_preset if data.location.builtin else None,
            "preprocess": cache.preprocess.as_dict(),
            "views": views_of(task, cache.preprocess),
            "feature_cache": {"keys": sorted(set(cache.stats.keys)), "hits": cache.stats.hits,
                              "shards_extracted": cache.stats.shards_extracted,
                              "clips_extracted": cache.stats.clips,
                              "seconds": round(cache.stats.seconds, 3)},
            "protocol_clips": output.clips,
            "missing_videos": {s: data.missing[s][:100] for s in splits if data.missing[s]},
            **({"data_notes": list(data.index.notes)} if data.index.notes else {}),
            "batch_size": self.opts.batch_size,
            "world_size": distributed.world_size(),
            **({"protocol": output.extra} if output.extra else {}),
        }
        return ResultRecord(
            model=model_info,
            task=TaskInfo(name=task.name, dataset=task.dataset, protocol=task.protocol, hash=task.hash,
                          main_metric=task.main_metric, card=task.as_dict()),
            seed=seed, metrics=output.metrics, diagnostics=output.diagnostics, data=data_info,
            provenance=build_provenance(device=self.opts.device, started_at=started, finished_at=utc_now(),
                                        seconds=seconds, clips=clips, extra=extra))

    def _log(self, message: str) -> None:
        from rich.markup import escape

        self.console.print(escape(message))


def views_of(task: TaskCard, preprocess: Any) -> dict:
    """How each test video was sampled: frames x clips x crops, and the frame stride. TSN has no fixed
    stride (one frame per 1/frames of the video, so it grows with the video's length): null there."""
    s = task.sampling
    return {"frames": int(preprocess.num_frames), "clips": s.clips, "crops": s.crops,
            "stride": s.stride if s.mode == "dense" else None, "mode": s.mode}


COLLAPSE_SPREAD = 1e-4   # relative spread of a split's features below which the encoder has collapsed


def _finite_features(cache: Any, notes: list[str] | None = None) -> Callable[..., Any]:
    """``cache`` as the protocols' feature function, refusing feature sets that hold NaN or inf (a
    NaN row would otherwise decide ranks and hits arbitrarily), and noting collapsed ones in ``notes``.

    Collapse: when every clip gets (nearly) the same feature, scores are decided by exact ties (chance)
    or by the last bits of rounding, which differ between rows of one matmul; the note says so, so
    that a number near chance is read as what it is."""
    import numpy as np

    from .metrics import require_finite

    def features(split: str, variant: str = "normal", *, joint: bool = False, tokens: bool = False) -> Any:
        fs = cache(split, variant, joint=joint, tokens=tokens) if tokens else cache(split, variant, joint=joint)
        what = f"the {split} split's {variant}{' joint' if joint else ''} video {'tokens' if tokens else 'features'}"
        require_finite(fs.features, what, [r.video_id for r in fs.records])
        # tokens: the collapse check looks at each video's mean token (a float64 copy of all would be huge)
        x = np.asarray(fs.features.astype(np.float32).mean(axis=1) if tokens else fs.features, dtype=np.float64)
        if notes is not None and len(x) > 1:
            scale = float(np.linalg.norm(x, axis=1).mean())
            spread = float(np.sqrt(((x - x.mean(0)) ** 2).sum(1).mean())) / max(scale, 1e-30)
            if spread < COLLAPSE_SPREAD:
                notes.append(f"collapsed features: the {split} split's {variant} features of {len(x)} clips are "
                             f"(nearly) identical (relative spread {spread:.2g}); scores are at chance or "
                             "decided by rounding")
        return fs

    return features


def _safe_num_params(adapter: Any) -> int | None:
    try:
        return int(adapter.num_params())
    except Exception:  # noqa: BLE001 - the count is informative only
        return None


_REPORTING: dict[type, type] = {}


def _reporting_class(base: type) -> type:
    """A subclass of the loader's class whose iteration also feeds the run's DecodeReport."""
    if base not in _REPORTING:
        def __iter__(self):  # noqa: N807
            for batch in base.__iter__(self):
                report = getattr(self, "_decode_report", None)
                if report is not None:
                    report.update(batch)
                yield batch

        _REPORTING[base] = type(f"Reporting{base.__name__}", (base,), {"__iter__": __iter__})
    return _REPORTING[base]


def _work_dir(model: str, task: TaskCard, seed: int, manifest_hash: str, weights_hash: str) -> Path:
    """Where a training protocol keeps its resume files: keyed by everything its training reads (the
    task card, the data and the starting weights), so a resume never continues a run on other inputs."""
    from ..home import cache_dir

    key = f"{safe_name(task.name)}-{task.hash}-data{manifest_hash[:8]}-weights{weights_hash[:8]}"
    d = cache_dir() / "work" / safe_name(model) / key / f"seed{seed}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _modules(adapter: Any) -> dict[str, Any]:
    mods = {"video": adapter.video_backbone(), "text": adapter.text_backbone()}
    proj = getattr(adapter, "video_projection", None)
    if callable(proj):
        mods["video_proj"] = proj()
    return {k: m for k, m in mods.items() if m is not None and hasattr(m, "state_dict")}


def _snapshot(adapter: Any) -> dict[str, dict]:
    """Copies of the adapter's weights, modes and requires_grad flags, so a fine-tuning protocol cannot
    leak into the next task (the feature cache is keyed by the weights hash computed at load time)."""
    return {name: {"state": {k: v.detach().clone() for k, v in m.state_dict().items()},
                   "training": m.training,
                   "grad": {n: p.requires_grad for n, p in m.named_parameters()}}
            for name, m in _modules(adapter).items()}


def _restore(adapter: Any, snapshot: dict[str, dict]) -> None:
    for name, m in _modules(adapter).items():
        if name not in snapshot:
            continue
        saved = snapshot[name]
        m.load_state_dict(saved["state"])
        m.train(saved["training"])
        for n, p in m.named_parameters():
            p.requires_grad_(saved["grad"].get(n, p.requires_grad))


def run_tasks(opts: RunOptions, *, console: Any = None, protocols: dict[str, ProtocolFn] | None = None,
              show_progress: bool = True) -> RunSummary:
    """Run every (task, seed); never stops at a failing task. Prints a panel per failure."""
    from rich.panel import Panel
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn)

    from .registry import resolve_tasks

    tasks = resolve_tasks(opts.tasks, opts.task_params)
    device = distributed.rank_device(opts.device, distributed.init(opts.device))
    if device != opts.device:
        opts = replace(opts, device=device)
    if distributed.rank() != 0:
        show_progress = False                # one progress display (rank 0's) under torchrun
    runner = _Runner(opts, console=console, protocols=protocols)
    console = runner.console

    def failed(task: TaskCard, seed: int, e: Exception, t0: float) -> TaskOutcome:
        """One failing task is reported in a panel; the others still run."""
        if isinstance(e, TvtsBenchError):
            text = str(e)
        elif isinstance(e, OSError):         # full disk, read-only folder: name the file
            from ..cli import describe_os_error

            text = (f"{describe_os_error(e)}\n  hint: check free space and permissions there; "
                    "no result was written for this task, the others go on")
        else:
            text = "".join(traceback.format_exception(type(e), e, e.__traceback__)[-6:]).rstrip()
        from rich.markup import escape

        console.print(Panel(escape(text), title=f"[bold red]{task.name} (seed {seed}) failed",
                            border_style="red", expand=False))
        return TaskOutcome(task.name, seed, "failed", task.main_metric, seconds=time.perf_counter() - t0,
                           error=text)

    def decide_all(known: ModelIdentity) -> list[Decision]:
        plan = []
        for task in tasks:
            for seed in opts.seeds:
                t0 = time.perf_counter()
                try:
                    plan.append(runner.decide(task, seed, known))
                except KeyboardInterrupt:
                    raise
                except Exception as e:  # noqa: BLE001 - one failing task must not stop the others
                    plan.append(Decision(task, seed, failed(task, seed, e, t0)))
        return plan

    # Every skip is decided up front from the model's identity: the memo of an identical earlier load
    # when there is one (no load, no torch), else the model loaded now (a model that cannot load stops
    # the run here, before any task). The model is loaded only when some task must be computed; if it
    # is not the one the memo described (an input the memo's key does not list changed), the loaded
    # identity decides every task once more, before anything is computed.
    plan = decide_all(runner.model.identity())
    if any(d.outcome is None for d in plan):
        t0 = time.perf_counter()
        try:
            runner.load_model()
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - the skips decided from the memo still stand
            plan = [d if d.outcome is not None else replace(d, outcome=failed(d.task, d.seed, e, t0))
                    for d in plan]
        else:
            if runner.model.memo_was_wrong:
                runner._log(f"note: model {opts.model!r} is not the one memoised; deciding again")
                plan = decide_all(runner.model.identity())
    summary = RunSummary(model=runner.model_name(), results_dir=runner.results_dir)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=True, disable=not show_progress)
    runner.progress = progress if show_progress else None
    with progress:
        overall = progress.add_task(f"{summary.model}: {len(tasks)} task(s) x {len(opts.seeds)} seed(s)",
                                    total=len(plan))
        for decision in plan:
            outcome = decision.outcome
            if outcome is None:
                task, seed = decision.task, decision.seed
                progress.update(overall, description=f"{summary.model}: {task.name} seed {seed}")
                t0 = time.perf_counter()
                try:
                    outcome = runner.run_one(decision)
                except KeyboardInterrupt:
                    raise
                except Exception as e:  # noqa: BLE001 - one failing task must not stop the others
                    outcome = failed(task, seed, e, t0)
            summary.outcomes.append(outcome)
            progress.advance(overall)
    return summary


def summary_table(summary: RunSummary) -> Any:
    from rich.table import Table

    table = Table(title=f"results: {summary.model}", show_lines=False)
    for col, justify in (("task", "left"), ("seed", "right"), ("metric", "left"), ("value [95% CI]", "right"),
                         ("seconds", "right"), ("status", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for o in summary.outcomes:
        if o.value is not None:
            v = o.value
            ci = f" [{v.ci_low:.1f}, {v.ci_high:.1f}]" if v.ci_low is not None and v.ci_high is not None else ""
            value = f"{v.value:.2f}{ci}"
        else:
            value = "-"
        status = {"ok": "[green]ok", "skipped": f"[dim]skipped ({o.reason})", "failed": "[red]failed",
                  "n/a": f"[yellow]n/a ({o.reason})"}[o.status]
        table.add_row(o.task, str(o.seed), o.main_metric, value, f"{o.seconds:.1f}", status)
    return table
