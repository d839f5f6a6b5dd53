"""Data pipeline efficiency: end-to-end feature extraction clips/s / model-forward-only clips/s.

End to end = the real path of feature extraction: ``ClipDataset`` (decode, TSN sampling, resize/crop/
normalise) behind ``make_loader`` with 2 worker processes, feeding ``load_model("scratch").encode_video``
(loader start-up included). Model only = the same model on the same, already decoded batches (kept in
memory from the end-to-end pass). Both are measured twice, alternating, in the same run; the best of
each counts. Target: ratio >= 0.9 on the demo world (decoding hidden behind the model).

Also printed, to explain a gap: decode+transform clips/s in one process without a model.

Multi-epoch case (``--epochs N``, default 3, quick 2; 0 skips it): a fine-tuning-style loader
(``ClipDataset(train=True)``: random crops, a new draw each epoch; ``make_loader(shuffle=True)``, 2
persistent workers) run for N epochs, once without and once with the decoded-frame cache
(``ClipDataset(..., frame_cache=FrameCache(tmp, short_side))``, a fresh cache: epoch 1 fills it),
feeding a fine-tuning step (``--epoch-step train``: the zoo model's ``video_backbone()`` + a linear head,
cross-entropy, backward, AdamW, as the ft protocol's ``Classifier``; or ``encode``: ``encode_video``
as above). Epochs 2..N clips/s against the same step on already-decoded batches (epoch 1's, kept in
memory), measured right after each variant. Target: with the cache >= 0.9 (without: printed, no target).

    .venv/bin/python benchmarks/pipeline_efficiency.py [--quick] [--world PATH] [--dataset ssv2]
                                                       [--epochs 3] [--epoch-step train|encode]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _common  # noqa: F401
from _common import ratio_line, save


def load_records(world: Path, dataset: str, limit: int | None):
    from tvts_bench.data.readers import read_dataset

    index = read_dataset(dataset, world / dataset)
    records = [r for split in index.splits for r in index.records(split)]
    return records[:limit] if limit else records


def end_to_end(adapter, records, batch_size: int, workers: int, keep: list | None):
    import torch

    from tvts_bench.data.loader import ClipDataset, make_loader

    t0 = time.perf_counter()
    dataset = ClipDataset(records, adapter.preprocess, train=False)
    loader = make_loader(dataset, batch_size, workers)
    clips = failed = 0
    first_batch_s = None
    with torch.inference_mode():
        for batch in loader:
            if first_batch_s is None:
                first_batch_s = time.perf_counter() - t0
            failed += len(batch["failed"])
            video = batch["video"]
            if not len(video):
                continue
            video = video.flatten(0, 1)                      # [B, V, C, T, H, W] -> [B*V, ...]
            adapter.encode_video(video)
            clips += video.shape[0]
            if keep is not None:
                keep.append(video.clone())
    seconds = time.perf_counter() - t0
    del loader                                              # stop the persistent workers now
    return clips, seconds, failed, first_batch_s


def model_only(adapter, batches) -> tuple[int, float]:
    import torch

    t0 = time.perf_counter()
    clips = 0
    with torch.inference_mode():
        for video in batches:
            adapter.encode_video(video)
            clips += video.shape[0]
    return clips, time.perf_counter() - t0


def decode_only(adapter, records, n: int) -> tuple[int, float]:
    from tvts_bench.data.loader import ClipDataset

    dataset = ClipDataset(records[:n], adapter.preprocess, train=False)
    t0 = time.perf_counter()
    ok = sum(1 for i in range(len(dataset)) if dataset[i]["ok"])
    return ok, time.perf_counter() - t0


def finetune_step_fn(adapter, num_classes: int, kind: str):
    """``fn(video [N,C,T,S,S], labels [N])``: one step of the consumer the multi-epoch case feeds."""
    import copy

    import torch

    if kind == "encode":
        def encode(video, labels) -> None:
            with torch.inference_mode():
                adapter.encode_video(video)

        return encode
    from tvts_bench.bench.protocols.finetune import Classifier
    from tvts_bench.nn.optim import adamw

    model = Classifier(copy.deepcopy(adapter.video_backbone()), adapter.feature_dim, num_classes,
                       head_only=False).train()
    params = [p for p in model.parameters() if p.requires_grad]
    print(f"multi-epoch step: fine-tuning {sum(p.numel() for p in params) / 1e6:.2f} M trainable parameters "
          f"({num_classes} classes)")
    opt = adamw(params, lr=1e-4, weight_decay=0.05)

    def train(video, labels) -> None:
        loss = torch.nn.functional.cross_entropy(model(video), labels.clamp_min(0))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return train


def multi_epoch(adapter, records, batch_size: int, workers: int, epochs: int, step, frame_cache,
                keep: list | None) -> dict:
    """N epochs of a training loader feeding ``step``; per-epoch clips and seconds (loader start-up in
    epoch 1). ``keep``: epoch 1's batches are appended (the model-only reference's input)."""
    from tvts_bench.data.loader import ClipDataset, make_loader

    dataset = ClipDataset(records, adapter.preprocess, train=True, seed=0, frame_cache=frame_cache)
    loader = make_loader(dataset, batch_size, workers, shuffle=True, seed=0)
    rows = []
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        t0 = time.perf_counter()
        clips = failed = 0
        for batch in loader:
            failed += len(batch["failed"])
            video = batch["video"]
            if not len(video):
                continue
            views = video.shape[1]
            video = video.flatten(0, 1)
            labels = batch["label"].repeat_interleave(views)
            step(video, labels)
            clips += video.shape[0]
            if keep is not None and epoch == 0:
                keep.append((video.clone(), labels.clone()))
        rows.append({"epoch": epoch + 1, "clips": clips, "s": round(time.perf_counter() - t0, 3), "failed": failed})
    del loader                                              # stop the persistent workers now
    return {"epochs": rows}


def model_only_steps(step, batches) -> tuple[int, float]:
    t0 = time.perf_counter()
    clips = 0
    for video, labels in batches:
        step(video, labels)
        clips += video.shape[0]
    return clips, time.perf_counter() - t0


def run_multi_epoch(adapter, records, args, epochs: int) -> tuple[dict, dict]:
    """Both variants (no cache, cache), each followed by the model-only pass; returns figures, ratio."""
    import tempfile

    from tvts_bench.data.frame_cache import FrameCache

    labels = [r.label for r in records if getattr(r, "label", None) is not None]
    num_classes = max([int(x) for x in labels if int(x) >= 0] or [0]) + 1
    step = finetune_step_fn(adapter, max(2, num_classes), args.epoch_step)
    pre = adapter.preprocess
    short = max(pre.short_side, pre.size)
    batches: list = []
    out: dict = {"epochs": epochs, "step": args.epoch_step, "short_side": short}
    with tempfile.TemporaryDirectory(prefix="frame_cache_bench_") as tmp:
        for variant in ("no_cache", "cache"):
            cache = FrameCache(Path(tmp) / f"short{short}", short) if variant == "cache" else None
            res = multi_epoch(adapter, records, args.batch_size, args.workers, epochs, step, cache,
                              batches if not batches else None)
            mclips, msec = model_only_steps(step, batches)
            later = res["epochs"][1:]
            clips, sec = sum(r["clips"] for r in later), sum(r["s"] for r in later)
            e2e, mo = clips / sec if sec else 0.0, mclips / msec
            res.update(e2e_epochs_2_n_clips_per_s=round(e2e, 2), model_clips_per_s=round(mo, 2),
                       ratio=round(e2e / mo, 4) if mo else None)
            if cache is not None:
                res.update(cache_bytes=cache.size_bytes(), cache_full=cache.full)
            out[variant] = res
            per = ", ".join(f"{r['clips'] / r['s']:.1f}" if r["s"] else "-" for r in res["epochs"])
            print(f"multi-epoch {variant.replace('_', ' ')} ({args.epoch_step} step): clips/s per epoch {per}; "
                  f"epochs 2..{epochs}: {e2e:.1f} clips/s; model only on decoded batches {mo:.1f} clips/s; "
                  f"ratio {e2e / mo:.3f}"
                  + (f"; cache {res['cache_bytes'] / 2**20:.1f} MiB" if cache is not None else ""), flush=True)
    return out, {"no_cache": out["no_cache"]["ratio"], "cache": out["cache"]["ratio"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny world, one round")
    ap.add_argument("--world", default=None, help="a world root (default: ensure_world demo, quick: tiny)")
    ap.add_argument("--dataset", default="ssv2")
    ap.add_argument("--model", default="scratch")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="at most this many videos")
    ap.add_argument("--rounds", type=int, default=None, help="alternating e2e/model-only rounds (default 2)")
    ap.add_argument("--epochs", type=int, default=None,
                    help="multi-epoch case: epochs per variant (default 3, quick 2; 0 skips the case; >= 2)")
    ap.add_argument("--epoch-step", choices=("train", "encode"), default="train",
                    help="what the multi-epoch loader feeds: a fine-tuning step (default) or encode_video")
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()
    epochs = (2 if args.quick else 3) if args.epochs is None else args.epochs
    if epochs == 1 or epochs < 0:
        ap.error("--epochs: 0 (skip the multi-epoch case) or >= 2 (epochs 2..N are timed)")

    import torch

    from tvts_bench.home import ensure_world
    from tvts_bench.zoo.registry import load_model

    world = Path(args.world) if args.world else ensure_world("tiny" if args.quick else "demo", quiet=True)
    records = load_records(world, args.dataset, args.limit)
    adapter = load_model(args.model)
    rounds = args.rounds or (1 if args.quick else 2)
    pre = adapter.preprocess
    print(f"world {world} ({args.dataset}, {len(records)} videos); model {args.model} "
          f"({pre.num_frames}x{pre.size}^2); batch {args.batch_size}, workers {args.workers}, "
          f"main-process torch threads {torch.get_num_threads()}")

    e2e_best = mo_best = 0.0
    batches: list = []
    rows = []
    for r in range(rounds):
        keep = batches if r == 0 else None
        clips, sec, failed, first = end_to_end(adapter, records, args.batch_size, args.workers, keep)
        mclips, msec = model_only(adapter, batches)
        e2e, mo = clips / sec, mclips / msec
        e2e_best, mo_best = max(e2e_best, e2e), max(mo_best, mo)
        rows.append({"e2e_clips_per_s": round(e2e, 2), "model_clips_per_s": round(mo, 2),
                     "e2e_s": round(sec, 2), "model_s": round(msec, 2), "first_batch_s": round(first or 0, 2)})
        print(f"round {r + 1}: end to end {clips} clips in {sec:.2f} s = {e2e:.1f} clips/s "
              f"(first batch after {first:.2f} s, {failed} failed); model only {mclips} clips in "
              f"{msec:.2f} s = {mo:.1f} clips/s")
    n_dec = min(len(records), 16 if args.quick else 48)
    dclips, dsec = decode_only(adapter, records, n_dec)
    print(f"decode+sample+transform only (1 process): {dclips / dsec:.1f} clips/s over {n_dec} videos")
    ratio = e2e_best / mo_best
    print(f"end to end {e2e_best:.1f} clips/s / model only {mo_best:.1f} clips/s (best rounds)")
    ratios = [ratio_line("pipeline_efficiency", ratio, 0.9)]
    figures = {
        "world": str(world), "dataset": args.dataset, "videos": len(records), "model": args.model,
        "batch_size": args.batch_size, "workers": args.workers, "rounds": rows,
        "e2e_clips_per_s": round(e2e_best, 2), "model_clips_per_s": round(mo_best, 2),
        "decode_only_clips_per_s_1proc": round(dclips / dsec, 2), "ratio": round(ratio, 4),
    }
    if epochs:
        multi, mratio = run_multi_epoch(adapter, records, args, epochs)
        figures["multi_epoch"] = multi
        print(f"multi-epoch, epochs 2..{epochs} / model only: without the cache {mratio['no_cache']:.3f} "
              f"(reference, no target), with the cache {mratio['cache']:.3f}")
        ratios.append(ratio_line("pipeline_efficiency_multiepoch_cache", mratio["cache"], 0.9))
    save("pipeline_efficiency", figures, ratios, quick=args.quick,
         out_dir=_common.results_dir_arg(args.results_dir))


if __name__ == "__main__":
    main()
