"""``tvts-bench pretrain``: parse options, build the trainer, print where the checkpoint is."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time

import click

from ..cli_options import data_root_option, home_option, world_preset_option
from ..errors import ConfigError, TvtsBenchError
from ..nn.order_heads import ORDER_PRETEXTS
from .presets import OBJECTIVES, PRESETS, RUN_NAMES

# `tvts-bench pretrain` with no options: the small preset (80 steps of 32 clips) on the built-in demo
# corpus; measured 3 min 48 s wall on 2 shared CPU cores (see README).
DEFAULT_PRESET = "small"


def default_run_name(objective: str, stop_grad: bool, sort_head: str, mask: str | None, preset: str,
                     base_loss: str = "sum", transcripts: str = "auto", sort_time_code: str | None = None,
                     sort_video_input: str | None = None, mask_ratio: float | None = None) -> str:
    """The run folder's name: the objective, then every option given that changes what is trained."""
    name = RUN_NAMES[objective]
    if objective in ("tvts", "sort", "merlot", "merlot-like") and not stop_grad:
        name += "-nostopgrad"
    if objective in ("tvts", "sort") and sort_head != "kway":
        name += f"-{sort_head}"
    if objective in ("tvts", "sort") and sort_time_code is not None:
        name += f"-time{sort_time_code}"
    if objective in ("tvts", "sort") and sort_video_input is not None:
        name += f"-{sort_video_input}"
    if mask_ratio is not None and objective != "clip":
        name += f"-mask{mask_ratio:g}"
    if mask and objective in ("tvts", "base", "sort", *ORDER_PRETEXTS) and mask != "frame":
        name += f"-{mask}mask"
    if base_loss != "sum" and objective in ("tvts", "base", "clip", *ORDER_PRETEXTS):
        name += f"-{base_loss}base"
    if transcripts != "auto" and objective != "videomae":
        name += f"-{transcripts}"
    if preset not in (DEFAULT_PRESET,):
        name += f"-{preset}"
    return name


@click.command("pretrain")
@home_option
@world_preset_option
@data_root_option
@click.option("--preset", type=click.Choice(list(PRESETS)), default=DEFAULT_PRESET, show_default=True,
              help="Model size: vit-b = the paper; small = 2-CPU demo; tiny = tests.")
@click.option("--objective", type=click.Choice(list(OBJECTIVES)), default="tvts", show_default=True,
              help="tvts = L_base + 2 L_sort; base; sort; baselines videomae and clip; ordering pretexts "
                   "(paper Table 1, each L_base + 2 L_order): vcop, merlot, merlot-like.")
@click.option("--no-stop-grad", is_flag=True, help="Let L_sort update the text encoder (ablation).")
@click.option("--sort-head", type=click.Choice(["kway", "pairwise", "factorial"]), default="kway",
              show_default=True)
@click.option("--sort-time-code", type=click.Choice(["none", "sinusoid"]), default=None,
              help="Give the sort module each video token's time slice as a fixed sinusoid (experimental, "
                   "not in the paper; default none: the encoder's learned temporal embedding is the only clock).")
@click.option("--mask", "mask", type=click.Choice(["frame", "tube"]), default=None,
              help="Masking: frame (independent per time slice, paper; default) or tube (videomae default).")
@click.option("--sort-video-input", type=click.Choice(["tokens", "slices"]), default=None,
              help="What the sort module reads of the video: every token (default, the paper), or one mean token "
                   "per time slice (experimental).")
@click.option("--mask-ratio", type=click.FloatRange(0.0, 0.95), default=None,
              help="Share of video tokens masked (default: 0.75 for tvts/base/sort as the paper, 0.9 for "
                   "videomae).")
@click.option("--base-loss", type=click.Choice(["sum", "mean"]), default="sum", show_default=True,
              help="L_base = sum of the video->text and text->video InfoNCE terms (paper eq. 3, authors), "
                   "or their mean (ablation).")
@click.option("--transcripts", type=click.Choice(["auto", "denoised", "subtitles"]), default="auto",
              show_default=True,
              help="Transcript words: auto = the denoised sentences DTW-aligned to the subtitle times when an "
                   "annotation has them (authors' loader), raw subtitles otherwise; or force one source.")
@click.option("--init", "init", nargs=2, type=(click.Choice(["imagemae"]), click.Path(dir_okay=False)),
              default=None, metavar="imagemae PATH", help="Start the video ViT from ImageMAE/timm weights.")
@click.option("--text-model", default=None, metavar="DIR",
              help="Local HuggingFace text encoder folder (vit-b: distilbert-base-uncased).")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Optimizer steps (default: preset).")
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Passes over the training split (instead of --steps).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Clips per process and step.")
@click.option("--lr", type=float, default=None)
@click.option("--schedule", type=click.Choice(["step", "cosine", "constant"]), default=None,
              help="step = x0.1 at 60 % and 80 % (authors'); cosine with warmup.")
@click.option("--warmup", type=click.IntRange(min=0), default=None, help="Warmup steps.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--name", default=None, help="Run folder name under runs/ (default: from the objective).")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Continue from the run's newest checkpoint, or start over (deletes its checkpoints).")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Data loader processes (default: 1 when there are 2+ CPUs).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Torch threads on CPU (default: CPUs minus workers; all CPUs on a machine with 2 or "
                   "fewer, where the worker sleeps while its queue is full).")
@click.option("--backend", type=click.Choice(["auto", "decord", "pyav"]), default="auto", show_default=True,
              help="Video decoding backend. auto: PyAV for videos up to 60 s (retried with decord "
                   "when a file is damaged), decord for longer ones.")
@click.option("--device", default=None, help="cpu or cuda[:N] (default: cuda when available).")
@click.option("--val-every", type=click.IntRange(min=0), default=None)
@click.option("--ckpt-every", type=click.IntRange(min=1), default=None)
@click.option("--log-every", type=click.IntRange(min=1), default=None)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def pretrain(world_preset, data_root, preset, objective, no_stop_grad, sort_head, sort_time_code, sort_video_input, mask,
             mask_ratio,
             base_loss,
             transcripts,
             init, text_model, steps, epochs, batch_size, lr, schedule, warmup, seed, name, resume, workers,
             threads, backend, device, val_every, ckpt_every, log_every, quiet) -> None:
    """Pretrain TVTS (or an ablation / baseline) on YT-Temporal-layout data.

    With no options: the small model on the built-in demo corpus, a few minutes on 2 CPU cores.
    Under `torchrun --nproc_per_node N` the same command trains with DDP.
    """
    import torch
    from rich.console import Console

    from ..data.readers import read_dataset
    from ..home import resolve_data, runs_dir
    from .. import distributed
    from .objectives import objective_config
    from .presets import get_preset
    from .trainer import TrainConfig, Trainer

    from ..bench.results import check_result_name
    from ..locking import exclusive
    from ..runtime import check_device

    if name is not None:
        check_result_name(name)          # it becomes a folder under runs/: never a path
    if device is not None:
        check_device(device)
    env = distributed.detect()
    console = Console(stderr=True, highlight=False, quiet=not env.is_main)
    p = get_preset(preset)
    if objective in ORDER_PRETEXTS and (sort_time_code is not None or sort_video_input is not None):
        raise ConfigError(f"--sort-time-code and --sort-video-input change the transcript sort (tvts, sort), "
                          f"not {objective}")
    if sort_time_code is not None:
        p = dataclasses.replace(p, sort_time_code=sort_time_code)
    if sort_video_input is not None:
        p = dataclasses.replace(p, sort_video_input=sort_video_input)
    obj = objective_config(objective, stop_grad=not no_stop_grad, sort_head=sort_head, mask_mode=mask,
                           mask_ratio=mask_ratio, base_loss_scale=base_loss)
    if steps is not None and epochs is not None:
        raise ConfigError("give either --steps or --epochs, not both")
    if steps is None and epochs is None:
        steps, epochs = p.steps, p.epochs
    from ..runtime import available_cpus, default_decode_workers

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    cpus = available_cpus()
    if workers is None:
        # CPU training: one decoding process beside the (single-threaded) training process.
        # GPU training: decoding is the bottleneck, use most cores.
        workers = (default_decode_workers(device) if device.startswith("cuda") else 1) if cpus >= 2 else 0
    if threads is None:
        # Measured on 2 idle cores (`small`, 16 steps, 1 worker, OMP_WAIT_POLICY=PASSIVE): 2 threads 18.1-18.6 s,
        # 1 thread 23.3-24.2 s. (Under a load of 6-12 from other jobs one thread had been faster.)
        threads = max(1, cpus - workers) if cpus > 2 else cpus
    if device.startswith("cuda") and env.enabled:
        device = f"cuda:{env.local_rank}"
    run_name = name or default_run_name(objective, not no_stop_grad, sort_head, mask, preset,
                                        base_loss=base_loss, transcripts=transcripts,
                                        sort_time_code=sort_time_code, sort_video_input=sort_video_input,
                                        mask_ratio=mask_ratio)
    run_dir = runs_dir() / run_name

    loc = resolve_data("yttemporal", data_root, world_preset=world_preset)
    index = read_dataset("yttemporal", loc.root)
    train_records = index.records("train")
    val_records = index.splits.get("val", [])
    # One pretraining per run folder: a second one would interleave metrics.jsonl and checkpoints.
    lock = exclusive(run_dir, "the run folder") if env.is_main else contextlib.nullcontext()
    with lock:
        if not resume and env.is_main and run_dir.exists():
            shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
            for f in ("metrics.jsonl", "summary.json"):
                (run_dir / f).unlink(missing_ok=True)
        distributed.init(device)
        distributed.barrier()
        cfg = TrainConfig(
            run_dir=run_dir, objective=obj, preset=p, steps=steps, epochs=epochs,
            batch_size=batch_size or p.batch_size, lr=lr if lr is not None else p.lr, weight_decay=p.weight_decay,
            schedule=schedule or p.schedule, warmup_steps=p.warmup_steps if warmup is None else warmup,
            clip_grad=p.clip_grad, seed=seed, workers=workers, threads=threads, backend=backend,
            log_every=log_every or p.log_every, val_every=p.val_every if val_every is None else val_every,
            ckpt_every=ckpt_every or p.ckpt_every, val_samples=p.val_samples, resume=resume,
            init=tuple(init) if init else None, text_source=text_model, device=device, progress=not quiet,
            transcripts=transcripts)
        console.print(f"pretrain [bold]{objective}[/] ({p.name} preset) on {loc.root}"
                      f"{' (built-in world)' if loc.builtin else ''}: {len(train_records)} train / "
                      f"{len(val_records)} val videos -> {run_dir}")
        if obj.uses_contrastive:
            console.print(f"L_base: {obj.base_loss_scale} of the video->text and text->video InfoNCE terms"
                          f"{' (paper eq. 3)' if obj.base_loss_scale == 'sum' else ' (ablation)'}")
        t0 = time.time()
        trainer = Trainer(cfg, train_records, val_records, console=console)
        try:
            result = trainer.fit()
        except OSError as e:                # full disk, read-only home: training up to here is kept
            from ..cli import describe_os_error
            from .checkpoint import latest_checkpoint

            last = latest_checkpoint(run_dir)
            raise TvtsBenchError(
                f"pretraining stopped at step {trainer.step}: {describe_os_error(e)}",
                hint=(f"the last complete checkpoint is {last}; free space (or fix permissions) and rerun "
                      f"the same command to resume from it" if last is not None else
                      "no checkpoint was completed yet; free space (or fix permissions) and rerun")) from None
    distributed.shutdown()
    if not env.is_main:
        return
    out = Console(highlight=False)
    skipped = ", ".join(f"{v} {k}" for k, v in result.skipped.items() if v) or "none"
    val = result.final
    parts = [f"{k} {val[k]:.3f}" for k in ("sort_acc", "order_acc", "pair_acc", "con_acc", "loss", "recon")
             if val.get(k) is not None]
    if val.get("order_chance") is not None:
        parts.append(f"order chance {val['order_chance']:.3f}")
    out.print(f"steps {result.steps} in {time.time() - t0:.0f} s; skipped samples: {skipped}")
    if parts:
        out.print(f"final val ({val.get('n', 0)} clips): " + ", ".join(parts))
    if result.status != "finished":
        out.print(f"[yellow]{result.status}:[/] {result.message}")
    elif result.message:
        out.print(result.message)
    out.print(f"checkpoint: {result.checkpoint}")
