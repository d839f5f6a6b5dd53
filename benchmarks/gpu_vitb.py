"""GPU: ViT-B TVTS pretraining throughput and MFU, and feature extraction clips/s (one script, <= 8 min).

On a CUDA device, in one run:

1. dense peak: a bf16 ``torch.matmul`` of 8192 x 8192 matrices (CUDA-event timed, best of 10);
2. pretraining: the ``vit-b`` preset's TVTS model (ViT-B/16, 16 x 224^2, (2,16,16) tubelets, 75 % frame
   masking, sort module, projections) under bf16 autocast with timm's fused attention
   (``scaled_dot_product_attention``), batch 24 (the paper's per-GPU batch), AdamW as the trainer;
   FLOPs of one step (forward + backward) from ``FlopCounterMode``; clips/s over timed steps; MFU =
   achieved FLOP/s / the bf16 matmul peak;
3. feature extraction: the ViT-B video encoder (eval, no masking, bf16 autocast) on synthetic
   16 x 224^2 clips, batch 64: clips/s of the model (the data pipeline is measured by
   pipeline_efficiency.py).

The text tower is MiniLM-L6 (shipped offline) unless ``--text-model DIR`` names a local DistilBERT (the
paper's); the text part is a small share of the step's FLOPs either way (printed).
Without CUDA it prints "no CUDA device: not measured" and exits 0 (``--allow-cpu`` runs the same code on
the CPU with a small preset, to check the script, never for figures).

    .venv/bin/python benchmarks/gpu_vitb.py [--steps 10] [--batch-size 24] [--text-model DIR]
"""

from __future__ import annotations

import argparse
import sys
import time

import _common  # noqa: F401
from _common import ratio_line, save

BUDGET_S = 8 * 60


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer steps")
    ap.add_argument("--preset", default="vit-b")
    ap.add_argument("--batch-size", type=int, default=None, help="default: the preset's (24 for vit-b)")
    ap.add_argument("--steps", type=int, default=None, help="timed training steps (default 10; quick 3)")
    ap.add_argument("--extract-batch", type=int, default=64)
    ap.add_argument("--text-model", default="minilm")
    ap.add_argument("--matmul-n", type=int, default=8192)
    ap.add_argument("--allow-cpu", action="store_true", help="debug: run on the CPU (small shapes)")
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()

    import torch

    started = time.perf_counter()
    if not torch.cuda.is_available() and not args.allow_cpu:
        print("no CUDA device: not measured")
        return
    on_cuda = torch.cuda.is_available()
    dev = torch.device("cuda" if on_cuda else "cpu")

    from torch.utils.flop_counter import FlopCounterMode

    from tvts_bench.nn.model import PretrainModel
    from tvts_bench.nn.video_vit import VideoViT, random_keep_indices
    from tvts_bench.pretrain.objectives import ObjectiveModule, objective_config
    from tvts_bench.pretrain.presets import get_preset, model_config
    from tvts_bench.pretrain.trainer import make_optimizer
    from pretrain_mfu import flops_by_part, synthetic_batch

    try:
        import timm.layers

        fused = bool(timm.layers.use_fused_attn())
    except (ImportError, AttributeError):
        fused = None
    preset = get_preset(args.preset if on_cuda or args.preset != "vit-b" else "tiny")
    b = args.batch_size or preset.batch_size
    steps = args.steps or (3 if args.quick else 10)
    n = args.matmul_n if on_cuda else 512
    name = torch.cuda.get_device_name(0) if on_cuda else "cpu (debug)"
    print(f"device {name}; preset {preset.name}; batch {b}; bf16 autocast; timm fused attention (SDPA): {fused}",
          flush=True)

    def sync() -> None:
        if on_cuda:
            torch.cuda.synchronize()

    def autocast():
        return torch.autocast(dev.type, dtype=torch.bfloat16)

    # 1) bf16 dense matmul peak
    a = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    bm = torch.randn(n, n, device=dev, dtype=torch.bfloat16)
    for _ in range(3):
        torch.matmul(a, bm)
    sync()
    best = float("inf")
    for _ in range(10 if on_cuda else 2):
        if on_cuda:
            e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            e0.record()
            torch.matmul(a, bm)
            e1.record()
            torch.cuda.synchronize()
            best = min(best, e0.elapsed_time(e1) / 1000)
        else:
            t0 = time.perf_counter()
            torch.matmul(a, bm)
            best = min(best, time.perf_counter() - t0)
    peak = 2.0 * n ** 3 / best
    del a, bm
    print(f"bf16 matmul peak (n={n}): {peak / 1e12:.1f} TFLOP/s", flush=True)

    # 2) pretraining steps
    obj = objective_config("tvts")
    torch.manual_seed(0)
    model = PretrainModel(model_config(preset, obj.name, text_source=args.text_model)).to(dev)
    module = ObjectiveModule(model, obj).train()
    opt = make_optimizer(model, preset.lr, preset.weight_decay)
    batch = synthetic_batch(preset, b, 4, seed=0)
    batch["video"] = batch["video"].to(dev)
    batch["order"] = batch["order"].to(dev)
    grid = model.video_model.cfg.grid

    def step(i: int) -> None:
        gen = torch.Generator().manual_seed(1000 + i)
        batch["keep"] = random_keep_indices(b, grid, obj.mask_ratio, obj.mask_mode, generator=gen).to(dev)
        with autocast():
            out = module(batch)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        if preset.clip_grad:
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.grad is not None], preset.clip_grad)
        opt.step()

    for i in range(2):                                   # warm-up: cuDNN/cuBLAS choices, AdamW state
        step(i)
    sync()
    counter = FlopCounterMode(display=False)
    with counter:
        gen = torch.Generator().manual_seed(1)
        batch["keep"] = random_keep_indices(b, grid, obj.mask_ratio, obj.mask_mode, generator=gen).to(dev)
        with autocast():
            out = module(batch)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
    flops = counter.get_total_flops()
    parts = flops_by_part(counter.get_flop_counts(), flops)
    opt.zero_grad(set_to_none=True)
    sync()
    times = []
    for i in range(steps):
        if time.perf_counter() - started > BUDGET_S * 0.6:
            print(f"time budget: stopping after {i} timed steps")
            break
        t0 = time.perf_counter()
        step(10 + i)
        sync()
        times.append(time.perf_counter() - t0)
    t_step = sorted(times)[len(times) // 2]
    clips_s = b / t_step
    mfu = flops / t_step / peak
    mem = torch.cuda.max_memory_allocated() / 2 ** 30 if on_cuda else 0.0
    print(f"pretraining: {flops / 1e12:.2f} TFLOP per step (fwd+bwd; by part: "
          + ", ".join(f"{k} {v / 1e12:.2f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]))
          + f"); median step {t_step * 1000:.0f} ms over {len(times)}; {clips_s:.1f} clips/s; "
            f"{flops / t_step / 1e12:.1f} TFLOP/s; peak memory {mem:.1f} GiB", flush=True)
    del module, opt, model, batch
    if on_cuda:
        torch.cuda.empty_cache()

    # 3) feature extraction (model side)
    torch.manual_seed(0)
    enc = VideoViT(preset.video).to(dev).eval()
    v = preset.video
    eb = args.extract_batch if on_cuda else 4
    clip = torch.randn(eb, 3, v.num_frames, v.img_size, v.img_size, device=dev)
    with torch.inference_mode(), autocast():
        for _ in range(2):
            enc(clip)
        sync()
        n_batches, t0 = 0, time.perf_counter()
        while n_batches < (10 if on_cuda else 2) and time.perf_counter() - started < BUDGET_S * 0.9:
            enc(clip)
            n_batches += 1
        sync()
        ext_s = time.perf_counter() - t0
    extract = eb * n_batches / ext_s
    print(f"feature extraction (ViT-B encoder, bf16, batch {eb}): {extract:.1f} clips/s", flush=True)
    print(f"total {time.perf_counter() - started:.0f} s")
    ratios = [ratio_line("gpu_vitb_pretrain_mfu", mfu, 0.4)]
    save("gpu_vitb", {
        "device": name, "preset": preset.name, "batch_size": b, "text_model": args.text_model,
        "fused_attention": fused, "bf16_matmul_peak_tflops": round(peak / 1e12, 2),
        "tflop_per_step": round(flops / 1e12, 4), "tflop_by_part": {k: round(x / 1e12, 4) for k, x in parts.items()},
        "step_ms_median": round(t_step * 1000, 1), "timed_steps": len(times), "pretrain_clips_per_s": round(clips_s, 2),
        "achieved_tflops": round(flops / t_step / 1e12, 2), "mfu": round(mfu, 4), "max_memory_gib": round(mem, 2),
        "extract_batch": eb, "extract_clips_per_s": round(extract, 2),
    }, ratios, quick=args.quick or not on_cuda, out_dir=_common.results_dir_arg(args.results_dir))


if __name__ == "__main__":
    sys.exit(main())
