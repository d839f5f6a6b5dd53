"""Pretraining compute efficiency (MFU): model FLOP/s of a TVTS training step / dense matmul FLOP/s.

Both are measured in the same run on the same threads:

- model FLOPs of one training step (forward + backward) counted by ``torch.utils.flop_counter.FlopCounterMode``
  on the real ``compute_losses`` path (``tvts_bench.pretrain.objectives``) of the preset's model, with a
  synthetic batch of the right shapes (video ``[B, 3, T, S, S]``, K=4 transcripts per sample, a random
  order, the preset's frame mask) so no decoding is involved;
- the wall time of full steps (forward, backward, gradient clipping, AdamW, as ``Trainer._train_step``);
- the dense peak: a large fp32 ``torch.matmul`` (2 n^3 FLOPs).

Target: MFU >= 0.5 on CPU for the ``small`` preset (the demo's pretraining preset).

    .venv/bin/python benchmarks/pretrain_mfu.py [--quick] [--preset small] [--steps 6]
"""

from __future__ import annotations

import argparse
import time

import _common  # noqa: F401  (puts the repo on sys.path)
from _common import matmul_peak, ratio_line, save, timed

WORDS = ("the a cut pour mix turn open close hand knife bowl water table left right slowly then now "
         "we you it add put take fold press rotate pan oil salt heat stir wait push pull lift").split()


def synthetic_batch(preset, b: int, k: int, seed: int):
    import torch

    gen = torch.Generator().manual_seed(seed)
    v = preset.video
    video = torch.randn(b, 3, v.num_frames, v.img_size, v.img_size, generator=gen)
    idx = torch.randint(0, len(WORDS), (b, k, 12), generator=gen)
    texts = [[" ".join(WORDS[int(i)] for i in idx[s, j]) for j in range(k)] for s in range(b)]
    order = torch.stack([torch.randperm(k, generator=gen) for _ in range(b)])
    return {"video": video, "texts": texts, "order": order, "size": b}


def flops_by_part(counts: dict, total: int) -> dict[str, int]:
    """Approximate FLOPs per model part (video_model, text_model, pred_model, ...): the count of
    ``ObjectiveModule.model.<part>``, or, for a part reached through a method rather than its
    ``__call__`` (the ViT's ``forward_features``), the sum of its top-most tracked submodules. The module tracker's
    attribution of backward ops is approximate; the total is exact."""
    sums = {name: int(sum(c.values())) for name, c in counts.items()}
    prefix = "ObjectiveModule.model."
    out: dict[str, int] = {}
    for name in sums:
        if not name.startswith(prefix):
            continue
        part = name[len(prefix):].split(".")[0]
        if part in out:
            continue
        if prefix + part in sums:
            out[part] = sums[prefix + part]
        else:
            under = [n for n in sums if n.startswith(prefix + part + ".")]
            top = [n for n in under if not any(n.startswith(m + ".") for m in under)]
            out[part] = sum(sums[n] for n in top)
    out["other"] = total - sum(out.values())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny preset, 2 steps, n=1024 matmul")
    ap.add_argument("--preset", default=None, help="pretraining preset (default small; quick: tiny)")
    ap.add_argument("--objective", default="tvts")
    ap.add_argument("--batch-size", type=int, default=None, help="default: the preset's batch size")
    ap.add_argument("--steps", type=int, default=None, help="timed training steps (best step counts)")
    ap.add_argument("--matmul-n", type=int, default=None)
    ap.add_argument("--text-model", default=None,
                    help="text encoder source (default: the preset's, MiniLM; random-tiny for smoke tests)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()

    import torch

    from tvts_bench.nn.model import PretrainModel
    from tvts_bench.nn.video_vit import random_keep_indices
    from tvts_bench.pretrain.objectives import ObjectiveModule, objective_config
    from tvts_bench.pretrain.presets import get_preset, model_config
    from tvts_bench.pretrain.trainer import make_optimizer

    if args.threads:
        torch.set_num_threads(args.threads)
    preset = get_preset(args.preset or ("tiny" if args.quick else "small"))
    b = args.batch_size or preset.batch_size
    steps = args.steps or (2 if args.quick else 6)
    n = args.matmul_n or (1024 if args.quick else 2048)
    obj = objective_config(args.objective)
    torch.manual_seed(0)
    model = PretrainModel(model_config(preset, obj.name, text_source=args.text_model))
    module = ObjectiveModule(model, obj).train()
    opt = make_optimizer(model, preset.lr, preset.weight_decay)
    batch = synthetic_batch(preset, b, 4, seed=0)
    grid = model.video_model.cfg.grid
    print(f"preset {preset.name}: objective {obj.name}, batch {b}, video {tuple(batch['video'].shape)}, "
          f"grid {grid}, mask {obj.mask_mode} {obj.mask_ratio}, threads {torch.get_num_threads()}")
    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"parameters: {n_params / 1e6:.2f} M ({n_train / 1e6:.2f} M trainable)")

    def step(i: int, split: dict | None = None) -> None:
        gen = torch.Generator().manual_seed(1000 + i)
        batch["keep"] = random_keep_indices(b, grid, obj.mask_ratio, obj.mask_mode, generator=gen)
        t0 = time.perf_counter()
        out = module(batch)
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        t2 = time.perf_counter()
        if preset.clip_grad:
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.grad is not None], preset.clip_grad)
        opt.step()
        t3 = time.perf_counter()
        if split is not None:
            for key, sec in (("forward", t1 - t0), ("backward", t2 - t1), ("optimizer", t3 - t2)):
                split[key] = min(split.get(key, float("inf")), sec)

    # 1) FLOPs of one step (forward + backward), per top-level module.
    from torch.utils.flop_counter import FlopCounterMode

    step(0)                                         # warm-up (allocations, tokenizer, first AdamW state)
    counter = FlopCounterMode(display=False)
    with counter:
        gen = torch.Generator().manual_seed(1)
        batch["keep"] = random_keep_indices(b, grid, obj.mask_ratio, obj.mask_mode, generator=gen)
        out = module(batch)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
    flops = counter.get_total_flops()
    # Per-part shares from a forward-only count: the module tracker attributes forward ops reliably,
    # backward ops only approximately.
    fwd_counter = FlopCounterMode(display=False)
    with fwd_counter, torch.no_grad():
        module(batch)
    per_module = flops_by_part(fwd_counter.get_flop_counts(), fwd_counter.get_total_flops())
    print(f"model FLOPs per step (fwd+bwd): {flops / 1e9:.2f} GFLOP; forward by part: "
          + ", ".join(f"{k} {v / 1e9:.2f}" for k, v in sorted(per_module.items(), key=lambda kv: -kv[1])))

    # 2) timed steps and 3) the dense matmul peak, interleaved so both see the same machine load.
    split: dict[str, float] = {}
    step_times = []
    peaks = []
    for i in range(steps):
        t0 = time.perf_counter()
        step(i + 2, split)
        step_times.append(time.perf_counter() - t0)
        if i % max(1, steps // 3) == 0:
            peaks.append(matmul_peak(n, repeat=2)[0])
    peaks.append(matmul_peak(n, repeat=3)[0])
    best_step = min(step_times)
    median_step = sorted(step_times)[len(step_times) // 2]
    peak = max(peaks)
    achieved = flops / best_step
    mfu = achieved / peak
    mfu_median = (flops / median_step) / peak
    print(f"step time: best {best_step * 1000:.1f} ms, median {median_step * 1000:.1f} ms "
          f"(forward {split['forward'] * 1000:.1f}, backward {split['backward'] * 1000:.1f}, "
          f"clip+AdamW {split['optimizer'] * 1000:.1f} ms; best of {steps})")
    print(f"training throughput: {b / best_step:.1f} clips/s")
    print(f"achieved model FLOP/s: {achieved / 1e9:.1f} GFLOP/s")
    print(f"dense fp32 matmul peak (n={n}): {peak / 1e9:.1f} GFLOP/s (max of {len(peaks)} measurements)")
    print(f"MFU (median step / best matmul): {mfu_median:.3f}")
    ratios = [ratio_line("pretrain_mfu", mfu, 0.5)]
    save("pretrain_mfu", {
        "preset": preset.name, "objective": obj.name, "text_model": args.text_model or preset.text.source, "batch_size": b, "steps": steps,
        "params_m": round(n_params / 1e6, 3), "trainable_params_m": round(n_train / 1e6, 3),
        "gflop_per_step": round(flops / 1e9, 3),
        "forward_gflop_by_part": {k: round(v / 1e9, 3) for k, v in per_module.items()},
        "step_ms_best": round(best_step * 1000, 2), "step_ms_median": round(median_step * 1000, 2),
        "forward_ms": round(split["forward"] * 1000, 2), "backward_ms": round(split["backward"] * 1000, 2),
        "optimizer_ms": round(split["optimizer"] * 1000, 2), "clips_per_s": round(b / best_step, 2),
        "achieved_gflops": round(achieved / 1e9, 2), "matmul_n": n, "matmul_peak_gflops": round(peak / 1e9, 2),
        "mfu": round(mfu, 4), "mfu_median_step": round(mfu_median, 4), "threads": torch.get_num_threads(),
    }, ratios, quick=args.quick, out_dir=_common.results_dir_arg(args.results_dir))


if __name__ == "__main__":
    main()
