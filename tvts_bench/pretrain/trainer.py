"""The training loop: AdamW + schedule, clipping, bf16 on CUDA, logging, validation, checkpoints, resume.

Exact resume on CPU: the data order depends only on (seed, epoch) and each sample's randomness on
(seed, epoch, index); the model RNG (masks) is the global torch RNG, saved with the optimizer and
scheduler in every checkpoint; the DataLoader gets its own generator so creating it consumes nothing
from the global RNG. A run killed at any point and resumed from its newest checkpoint therefore
produces bit-identical weights to an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch.utils.data import DataLoader

from .. import distributed
from ..atomic import write_json
from ..data.records import VideoRecord
from ..data.sampler import EpochBatches
from ..errors import ConfigError, TvtsBenchError
from ..nn.model import PretrainModel
from ..nn.optim import adamw
from ..nn.precision import autocast_for
from ..runtime import seed_everything
from .checkpoint import capture_rng, latest_checkpoint, load_trainer_state, restore_rng, save_checkpoint
from .dataset import PretrainDataset, collate, describe_transcripts, transcript_summary
from .objectives import ObjectiveConfig, ObjectiveModule, compute_losses, draw_order
from .presets import Preset, model_config

SCHEDULES = ("step", "cosine", "constant")
# Logged only by the video-ordering pretexts (vcop, merlot, merlot-like): their loss, the share of
# samples whose whole order is right and its chance (1/N!), and for merlot the share of pairs right.
ORDER_KEYS = ("l_order", "order_acc", "order_chance", "pair_acc")
NO_DECAY_NAMES = ("cls_token", "pos_embed", "temporal_embed", "type_embed", "mask_token")


class TrainingDiverged(TvtsBenchError):
    """The loss or the gradient became NaN/inf; the last good checkpoint is kept."""


@dataclass
class TrainConfig:
    run_dir: Path
    objective: ObjectiveConfig
    preset: Preset
    steps: int | None = None
    epochs: float | None = None
    batch_size: int = 8                 # per process
    lr: float = 1e-4
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup_steps: int = 0
    clip_grad: float | None = 1.0
    seed: int = 0
    workers: int = 0
    log_every: int = 10
    val_every: int = 100
    ckpt_every: int = 100
    val_samples: int = 64
    resume: bool = True
    init: tuple[str, str] | None = None     # ("imagemae", PATH)
    text_source: str | None = None
    device: str = "cpu"
    backend: str = "auto"
    keep_last: int = 2
    threads: int | None = None          # torch intra-op threads on CPU (None: leave as is)
    transcripts: str = "auto"           # auto (denoised when present, else subtitles) | denoised | subtitles
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("preset", "objective", "run_dir", "extra")}
        d["run_dir"] = str(self.run_dir)
        d["preset"] = self.preset.name
        d["init"] = list(self.init) if self.init else None
        return d


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Path | None
    steps: int
    status: str                         # finished | did not converge | diverged
    message: str
    final: dict[str, Any]
    seconds: float
    skipped: dict[str, int]


# -- schedule ---------------------------------------------------------------------------------------
def lr_factor(step: int, total: int, schedule: str, warmup: int) -> float:
    """Multiplier of the base lr at ``step`` (0-based). ``step``: x0.1 at 60 % and 80 % (authors')."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "step":
        f = 1.0
        if step >= int(0.6 * total):
            f *= 0.1
        if step >= int(0.8 * total):
            f *= 0.1
        return f
    if schedule == "cosine":
        span = max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / span)))
    return 1.0


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim <= 1 or name.split(".")[-1] in NO_DECAY_NAMES:
            no_decay.append(p)
        else:
            decay.append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return adamw(groups, lr=lr, betas=(0.9, 0.999))


# -- chance levels and the convergence verdict -------------------------------------------------------
def sort_chance(head: str, k: int = 4) -> float:
    # kway / factorial: one permutation out of K!; pairwise: the same event (all pairs right).
    return 1.0 / math.factorial(k)


def sort_converged(acc: float | None, n: int, chance: float) -> bool:
    """Above chance by 3 binomial standard errors (and at least twice chance)."""
    if acc is None or n <= 0 or not math.isfinite(acc):
        return False
    return acc > max(2 * chance, chance + 3 * math.sqrt(chance * (1 - chance) / n))


# -- metrics log ------------------------------------------------------------------------------------
class MetricsLog:
    def __init__(self, path: Path, enabled: bool):
        self.path = path
        self.enabled = enabled

    def truncate_after(self, step: int) -> None:
        """On resume, drop lines a killed run wrote past its checkpoint (they will be re-logged)."""
        if not self.enabled or not self.path.exists():
            return
        keep = []
        for line in self.path.read_text().splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    keep.append(line)
            except json.JSONDecodeError:
                continue
        from ..atomic import write_text

        write_text(self.path, "".join(x + "\n" for x in keep))

    def write(self, entry: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(entry) + "\n")


def _mean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return float(sum(xs) / len(xs)) if xs else None


def _all_ranks_finite(x: torch.Tensor) -> bool:
    """True when ``x`` is finite on every rank (all ranks must stop together, or the others hang)."""
    ok = torch.isfinite(x).all().to(torch.float32).reshape(1)
    distributed.all_reduce_(ok, "min")
    return bool(ok.item() > 0)


# -- the trainer ------------------------------------------------------------------------------------
class Trainer:
    def __init__(self, cfg: TrainConfig, train_records: Sequence[VideoRecord],
                 val_records: Sequence[VideoRecord] = (), *, console=None,
                 step_hook: Callable[[int, dict], None] | None = None):
        self.cfg = cfg
        self.env = distributed.init(cfg.device)
        self.console = console
        self.step_hook = step_hook          # tests: observe or perturb each step's outputs
        seed_everything(cfg.seed)
        mcfg = model_config(cfg.preset, cfg.objective.name, sort_head=cfg.objective.sort_head,
                            text_source=cfg.text_source)
        self.model = PretrainModel(mcfg)
        if cfg.init is not None:
            from .imagemae import load_imagemae

            target = self.model.video_model
            target = getattr(target, "video_model", target)     # CLIP baseline: the per-frame ViT
            report = load_imagemae(target, cfg.init[1])
            self._say(report.summary())
        if cfg.objective.name == "sort" and cfg.objective.stop_grad and self.model.text_model is not None:
            # L_sort alone with stop-gradient gives the text encoder no gradient at all: freeze it
            # rather than carry parameters that never change.
            self.model.text_model._apply_trainable(0)
        self.model.to(cfg.device)
        self.module = distributed.wrap(ObjectiveModule(self.model, cfg.objective), cfg.device)
        self.optimizer = make_optimizer(self.model, cfg.lr, cfg.weight_decay)
        self.preprocess = cfg.preset.preprocess()
        self.train_ds = PretrainDataset(train_records, self.preprocess, train=True, seed=cfg.seed,
                                        backend=cfg.backend, transcripts=cfg.transcripts)
        self.val_ds = PretrainDataset(list(val_records)[: cfg.val_samples], self.preprocess, train=False,
                                      seed=cfg.seed, backend=cfg.backend,
                                      transcripts=cfg.transcripts) if val_records else None
        # Which transcripts the windows are cut from (denoised / subtitles / mixed), with counts.
        self.transcripts = transcript_summary(self.train_ds.records, cfg.transcripts)
        if self.val_ds is not None:
            val = transcript_summary(self.val_ds.records, cfg.transcripts)
            self.transcripts["val"] = {"source": val["source"], "counts": val["counts"]}
        if cfg.objective.name != "videomae":
            self._say(describe_transcripts(self.transcripts))
            if cfg.transcripts == "denoised" and not self.transcripts["counts"]["denoised"]:
                raise ConfigError("--transcripts denoised: no training video's annotation has 'denoised' "
                                  "sentences (and 'subtitles' to time them)",
                                  hint="use --transcripts auto or subtitles")
        per_epoch = len(self.train_ds) // (cfg.batch_size * self.env.world_size)
        if per_epoch < 1:
            raise ConfigError(f"{len(self.train_ds)} training videos cannot fill one batch of "
                              f"{cfg.batch_size * self.env.world_size}",
                              hint="lower --batch-size or use a larger corpus")
        self.batches_per_epoch = per_epoch
        if cfg.steps is not None:
            self.total_steps = int(cfg.steps)
        elif cfg.epochs is not None:
            self.total_steps = max(1, int(round(cfg.epochs * per_epoch)))
        else:
            raise ConfigError("give --steps or --epochs")
        if cfg.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {cfg.schedule!r}", hint=f"choose one of: {', '.join(SCHEDULES)}")
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, self.total_steps, cfg.schedule, cfg.warmup_steps))
        self.step = 0
        self.epoch = 0
        self.pos = 0                        # global batches consumed in the current epoch
        self.skipped = {"no_words": 0, "decode": 0}
        self.failed_examples: list[str] = []
        self.metrics = MetricsLog(cfg.run_dir / "metrics.jsonl", self.env.is_main)
        self._val_cache: list[dict[str, Any]] | None = None
        self.last_ckpt: Path | None = None
        self.last_val: dict[str, Any] = {}

    # -- helpers ------------------------------------------------------------------------------
    def _say(self, msg: str) -> None:
        if self.env.is_main and self.console is not None:
            self.console.print(msg)

    def run_config(self) -> dict[str, Any]:
        return {"objective": self.cfg.objective.name, "objective_config": self.cfg.objective.as_dict(),
                "preset": self.cfg.preset.name, "model": self.model.cfg.as_dict(),
                "preprocess": self.preprocess.as_dict(), "train": self.cfg.describe(),
                "transcript_source": self.transcripts["source"], "transcripts": self.transcripts,
                "total_steps": self.total_steps, "world_size": self.env.world_size}

    def _trainer_state(self) -> dict[str, Any]:
        return {"step": self.step, "epoch": self.epoch, "pos": self.pos,
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "rng": capture_rng(), "skipped": dict(self.skipped), "total_steps": self.total_steps,
                "world_size": self.env.world_size, "last_val": self.last_val}

    def save(self) -> Path | None:
        if self.env.is_main:
            self.last_ckpt = save_checkpoint(self.cfg.run_dir, self.step, self.model, self.run_config(),
                                             self._trainer_state(), keep_last=self.cfg.keep_last)
        else:   # every rank must agree on what was saved (the final save decision depends on it)
            self.last_ckpt = self.cfg.run_dir / "checkpoints" / f"step-{self.step:08d}"
        distributed.barrier()
        return self.last_ckpt

    def try_resume(self) -> bool:
        ckpt = latest_checkpoint(self.cfg.run_dir)
        if ckpt is None:
            return False
        from safetensors.torch import load_file

        cfg = json.loads((ckpt / "config.json").read_text())
        mine = self.run_config()
        for key in ("objective_config", "model", "preset"):
            if cfg.get(key) != json.loads(json.dumps(mine[key])):
                raise ConfigError(f"{ckpt}: this run folder holds a different {key} than requested",
                                  hint="use --no-resume to start over, or --name for a new run folder")
        saved_mode = cfg.get("train", {}).get("transcripts", "auto")
        if saved_mode != self.cfg.transcripts:
            raise ConfigError(f"{ckpt}: this run folder was trained with --transcripts {saved_mode}, "
                              f"not {self.cfg.transcripts}",
                              hint="use --no-resume to start over, or --name for a new run folder")
        self.model.load_state_dict(load_file(str(ckpt / "model.safetensors")))
        state = load_trainer_state(ckpt)
        if state.get("world_size", 1) != self.env.world_size:
            raise ConfigError(f"{ckpt}: saved with {state.get('world_size')} processes, resuming with "
                              f"{self.env.world_size}", hint="resume with the same number of processes")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        restore_rng(state["rng"])
        self.step, self.epoch, self.pos = state["step"], state["epoch"], state["pos"]
        self.skipped = dict(state.get("skipped", self.skipped))
        self.last_val = state.get("last_val", {})
        self.last_ckpt = ckpt
        self.metrics.truncate_after(self.step)
        self._say(f"resumed from {ckpt} (step {self.step})")
        return True

    def _loader(self, ds: PretrainDataset, sampler) -> DataLoader:
        gen = torch.Generator().manual_seed(self.cfg.seed)
        return DataLoader(ds, batch_sampler=sampler, collate_fn=collate, num_workers=self.cfg.workers,
                          generator=gen, persistent_workers=False,
                          prefetch_factor=4 if self.cfg.workers else None)

    def _count_failed(self, batch: dict[str, Any]) -> None:
        for _, reason, err in batch["failed"]:
            self.skipped[reason] = self.skipped.get(reason, 0) + 1
            if len(self.failed_examples) < 5:
                self.failed_examples.append(err)

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        dev = self.cfg.device
        out = dict(batch)
        out["video"] = batch["video"].to(dev, non_blocking=True)
        out["order"] = batch["order"].to(dev)
        return out

    # -- validation ---------------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        if self.val_ds is None or len(self.val_ds) == 0:
            return {}
        if self._val_cache is None:
            # Fixed windows, centre frames and crops: decode once, keep in memory (a few MB).
            n, bs = len(self.val_ds), self.cfg.batch_size
            chunks = [[(0, i) for i in range(s, min(s + bs, n))] for s in range(0, n, bs)]
            self._val_cache = [b for b in self._loader(self.val_ds, chunks) if b["size"]]
        obj = self.cfg.objective
        self.model.eval()
        sums: dict[str, float] = {}
        n = 0
        gen = torch.Generator().manual_seed(self.cfg.seed + 17)    # the same masks at every validation
        for batch in self._val_cache:
            batch = self._to_device(batch)
            b = batch["size"]
            vcfg = self.model.video_model.cfg
            if obj.mask_ratio > 0 and obj.name != "clip":
                from ..nn.video_vit import random_keep_indices

                batch["keep"] = random_keep_indices(b, vcfg.grid, obj.mask_ratio, obj.mask_mode,
                                                    generator=gen).to(self.cfg.device)
            if obj.uses_order:                  # the same shuffles at every validation
                batch["perm"] = draw_order(b, self.model.pred_model.cfg.units, gen).to(self.cfg.device)
            with autocast_for(self.cfg.device):
                out = compute_losses(self.model, batch, obj, gather=False)
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + float(v) * b
            n += b
        self.model.train()
        res = {k: v / n for k, v in sums.items()}
        res["n"] = n
        return res

    # -- main loop ----------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        cfg = self.cfg
        threads = torch.get_num_threads()
        if cfg.threads and not cfg.device.startswith("cuda"):
            torch.set_num_threads(cfg.threads)
        try:
            return self._fit()
        finally:
            torch.set_num_threads(threads)

    def _fit(self) -> TrainResult:
        cfg = self.cfg
        t_start = time.time()
        if cfg.resume:
            self.try_resume()
        if self.env.is_main:
            cfg.run_dir.mkdir(parents=True, exist_ok=True)
            write_json(cfg.run_dir / "run_config.json", self.run_config())
        self.model.train()
        status, message = "finished", ""
        window: dict[str, list[float]] = {}
        clips_done, t_window = 0, time.time()
        progress = self._progress()
        task = progress.add_task("pretrain", total=self.total_steps, completed=self.step, info="") \
            if progress is not None else None
        try:
            if progress is not None:
                progress.start()
            while self.step < self.total_steps:
                sampler = EpochBatches(len(self.train_ds), cfg.batch_size, cfg.seed, self.epoch,
                                       start=self.pos, rank=self.env.rank, world_size=self.env.world_size)
                for batch in self._loader(self.train_ds, sampler):
                    self.pos += 1
                    self._count_failed(batch)
                    if not batch["size"]:
                        continue
                    out = self._train_step(batch)
                    if out is None:                                   # non-finite: stop
                        status, message = self._diverged()
                        break
                    self.step += 1
                    for k, v in out.items():
                        window.setdefault(k, []).append(float(v))
                    clips_done += batch["size"] * self.env.world_size
                    if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                        entry = self._log_entry(window, clips_done, time.time() - t_window)
                        window, clips_done, t_window = {}, 0, time.time()
                        self.metrics.write(entry)
                        if progress is not None:
                            progress.update(task, completed=self.step, info=self._fmt(entry))
                    elif progress is not None:
                        progress.update(task, completed=self.step)
                    if cfg.val_every and (self.step % cfg.val_every == 0 or self.step == self.total_steps):
                        self._validate_and_log()
                    if self.step % cfg.ckpt_every == 0 or self.step == self.total_steps:
                        self.save()
                    if self.step >= self.total_steps:
                        break
                else:
                    self.epoch += 1
                    self.pos = 0
                    continue
                break
        finally:
            if progress is not None:
                progress.stop()
        if status == "finished" and (self.last_ckpt is None
                                     or self.last_ckpt.name != f"step-{self.step:08d}"):
            self.save()
        final = dict(self.last_val)
        if status == "finished" and cfg.objective.uses_sort:
            chance = sort_chance(cfg.objective.sort_head)
            acc = final.get("sort_acc")
            if not sort_converged(acc, int(final.get("n", 0)), chance):
                shown = f"{acc:.3f}" if acc is not None else "n/a"
                if cfg.objective.name == "sort":
                    # The paper's finding for L_sort alone; reported, not raised.
                    status = "did not converge"
                    message = (f"the sorting pretext task did not converge: val sort accuracy {shown} "
                               f"is not clearly above chance {chance:.3f}")
                else:
                    message = (f"note: the sorting pretext task is not yet clearly above chance (val sort "
                               f"accuracy {shown}, chance {chance:.3f}); it needs longer training (--steps)")
        if status == "finished" and cfg.objective.uses_order and final.get("order_acc") is not None:
            chance = float(final.get("order_chance", 0.0))
            n_val = int(final.get("n", 0))
            # twice chance is out of reach when chance is 1/2 (2 units): then 3 standard errors alone
            above = sort_converged(final["order_acc"], n_val, chance) if chance < 0.5 else (
                n_val > 0 and final["order_acc"] > chance + 3 * math.sqrt(chance * (1 - chance) / n_val))
            if not above:
                message = (f"note: the {cfg.objective.name} ordering task is not yet clearly above chance (val "
                           f"order accuracy {final['order_acc']:.3f}, chance {chance:.3f})")
        result = TrainResult(run_dir=cfg.run_dir, checkpoint=self.last_ckpt, steps=self.step, status=status,
                             message=message, final=final, seconds=time.time() - t_start,
                             skipped=dict(self.skipped))
        if self.env.is_main:
            write_json(cfg.run_dir / "summary.json", {
                "status": status, "message": message, "steps": self.step,
                "checkpoint": str(self.last_ckpt) if self.last_ckpt else None, "final_val": final,
                "seconds": round(result.seconds, 2), "skipped": self.skipped,
                "failed_examples": self.failed_examples, "objective": cfg.objective.name})
        return result

    def _train_step(self, batch: dict[str, Any]) -> dict[str, float] | None:
        cfg = self.cfg
        batch = self._to_device(batch)
        obj = cfg.objective
        masked = obj.mask_ratio > 0 and obj.name != "clip"
        if masked or obj.uses_order:
            # Masks (and the ordering pretexts' shuffles, drawn after them) from (seed, step, rank) alone:
            # the same on a resumed run, different on each rank.
            from ..nn.video_vit import random_keep_indices

            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + self.step * 4099 + self.env.rank)
            if masked:
                batch["keep"] = random_keep_indices(batch["size"], self.model.video_model.cfg.grid,
                                                    obj.mask_ratio, obj.mask_mode, generator=gen).to(cfg.device)
            if obj.uses_order:
                batch["perm"] = draw_order(batch["size"], self.model.pred_model.cfg.units, gen).to(cfg.device)
        with autocast_for(self.cfg.device):
            out = self.module(batch)
        if self.step_hook is not None:
            self.step_hook(self.step, out)
        loss = out["loss"]
        if not _all_ranks_finite(loss.detach()):
            self._bad = f"loss became {float(loss.detach())} at step {self.step + 1}"
            return None
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for p in self.model.parameters() if p.grad is not None]
        if cfg.clip_grad:
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad)
        else:
            norm = torch.sqrt(sum((p.grad.detach().float() ** 2).sum() for p in params))
        if not _all_ranks_finite(norm):
            self._bad = f"gradient norm became {float(norm)} at step {self.step + 1}"
            return None
        self.optimizer.step()
        self.scheduler.step()
        vals = {k: float(v.detach()) for k, v in out.items()}
        vals["lr"] = self.optimizer.param_groups[0]["lr"]
        vals["grad_norm"] = float(norm)
        return vals

    def _diverged(self) -> tuple[str, str]:
        where = f"the last good checkpoint is {self.last_ckpt}" if self.last_ckpt else "no checkpoint was written"
        msg = f"training stopped: {self._bad}; {where} (weights after the bad step were not saved)"
        if self.env.is_main:
            self.metrics.write({"step": self.step + 1, "event": "non-finite", "loss": None, "sort_acc": None,
                                "message": msg})
        if self.cfg.objective.name == "sort":
            return "did not converge", f"L_sort alone did not converge ({self._bad}); {where}"
        if self.env.is_main and self.cfg.run_dir.exists():
            write_json(self.cfg.run_dir / "summary.json", {"status": "diverged", "message": msg,
                                                          "steps": self.step, "objective": self.cfg.objective.name})
        raise TrainingDiverged(msg, hint="lower --lr, or enable clipping; resume continues from the "
                                         "last good checkpoint")

    def _log_entry(self, window: dict[str, list[float]], clips: int, seconds: float) -> dict[str, Any]:
        entry: dict[str, Any] = {"step": self.step, "epoch": self.epoch}
        for k in ("loss", "l_base", "l_sort", "recon", "sort_acc", "con_acc", "lr", "grad_norm"):
            entry[k] = _mean(window.get(k, []))
        for k in ORDER_KEYS:                    # ordering pretexts only: other runs' lines stay as they were
            if k in window:
                entry[k] = _mean(window[k])
        entry = {**entry, **{k: v for k, v in distributed.all_reduce_mean(
            {k: v for k, v in entry.items() if isinstance(v, float)}).items()}}
        entry["clips_per_s"] = round(clips / seconds, 2) if seconds > 0 else None
        return entry

    def _validate_and_log(self) -> None:
        if self.env.is_main:
            val = self.validate()
            if val:
                self.last_val = {"step": self.step, **val}
                entry = {"step": self.step, "split": "val", "loss": val.get("loss"),
                         "sort_acc": val.get("sort_acc"), "con_acc": val.get("con_acc"),
                         "l_base": val.get("l_base"), "l_sort": val.get("l_sort"), "recon": val.get("recon"),
                         **{k: val[k] for k in ORDER_KEYS if k in val}, "n": val["n"]}
                self.metrics.write(entry)
                self._say("  val " + self._fmt(entry))
        distributed.barrier()

    @staticmethod
    def _fmt(e: dict[str, Any]) -> str:
        parts = []
        for k, label in (("loss", "loss"), ("sort_acc", "sort"), ("order_acc", "order"), ("con_acc", "con"),
                         ("recon", "recon"), ("clips_per_s", "clips/s")):
            if e.get(k) is not None:
                parts.append(f"{label} {e[k]:.3f}" if k != "clips_per_s" else f"{label} {e[k]:.1f}")
        return "  ".join(parts)

    def _progress(self):
        if not (self.cfg.progress and self.env.is_main):
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn

        return Progress(TextColumn("[bold]pretrain[/]"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                        console=self.console, transient=False)
