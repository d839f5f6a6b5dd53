"""Data pipeline efficiency: end-to-end feature extraction clips/s / model-forward-only clips/s.

End to end = the real path of feature extraction: ``ClipDataset`` (decode, TSN sampling, resize/crop/
normalise) behind ``make_loader`` with 2 worker processes, feeding ``load_model("scratch").encode_video``
(loader start-up included). Model only = the same model on the same, already decoded batches (kept in
memory from the end-to-end pass). Both are measured twice, alternating, in the same run; the best of
each counts. Target: ratio >= 0.9 on the demo world (decoding hidden behind the model).

Also printed, to explain a gap: decode+transform clips/s in one process without a model.

    .venv/bin/python benchmarks/pipeline_efficiency.py [--quick] [--world PATH] [--dataset ssv2]
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
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()

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
    save("pipeline_efficiency", {
        "world": str(world), "dataset": args.dataset, "videos": len(records), "model": args.model,
        "batch_size": args.batch_size, "workers": args.workers, "rounds": rows,
        "e2e_clips_per_s": round(e2e_best, 2), "model_clips_per_s": round(mo_best, 2),
        "decode_only_clips_per_s_1proc": round(dclips / dsec, 2), "ratio": round(ratio, 4),
    }, ratios, quick=args.quick, out_dir=_common.results_dir_arg(args.results_dir))


if __name__ == "__main__":
    main()
