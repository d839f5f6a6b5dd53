"""Growth: extraction and retrieval time at the ``large`` world preset x1, x2, x4.

Extraction: the real extraction path (``ClipDataset`` + ``make_loader`` with 2 workers + the
``scratch`` model, as in pipeline_efficiency) over N, 2N and 4N videos, where N = the ``large``
preset's SSV2 validation split (16 classes x 32 = 512 videos). The large world itself takes ~40 min to
render on 2 cores, so its N videos are taken from the demo world's SSV2 videos (same 112 px, 8 fps,
2.5-3.5 s clips as the large preset), and 2N / 4N repeat that record list (decoding is CPU work; the
file cache only spares the disk reads). Expected: linear (x2 -> 2.0, x4 -> 4.0).

Retrieval: synthetic clustered features (D=768, the ViT-B width), every video querying all the others
(the v2v protocol) at the same N, 2N, 4N, through both the protocol's exact ranking
(``bench.metrics.v2v_retrieval``: full ranking for mAP) and ``RetrievalIndex.search`` (top-10, self
excluded); plus a larger series (8k x1/x2/x4, D=256) where the quadratic term dominates.

    .venv/bin/python benchmarks/growth.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _common  # noqa: F401
from _common import ratio_line, save, timed
from pipeline_efficiency import end_to_end, load_records
from retrieval import clustered


def retrieval_times(n: int, d: int, n_classes: int, repeat: int = 2) -> tuple[float, float]:
    import numpy as np

    from tvts_bench.bench.metrics import v2v_retrieval
    from tvts_bench.bench.retrieval_index import IndexConfig, RetrievalIndex

    x = clustered(n, d, seed=n, n_clusters=n_classes)
    labels = np.random.default_rng(n).integers(0, n_classes, n)
    t_v2v, _ = timed(lambda: v2v_retrieval(x, labels, ks=(1, 5, 10)), repeat=repeat)
    t_idx, _ = timed(lambda: RetrievalIndex(x, IndexConfig("auto")).search(x, 10, exclude_self=True), repeat=repeat)
    return t_v2v, t_idx


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny world's SSV2 videos, small retrieval series")
    ap.add_argument("--world", default=None, help="world root whose SSV2 videos stand for the large preset's")
    ap.add_argument("--base", type=int, default=None, help="N (default: the large preset's SSV2 validation count)")
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--big-base", type=int, default=None, help="base gallery of the larger retrieval series (8000)")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved extraction rounds (best per scale)")
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()

    from tvts_bench.home import ensure_world
    from tvts_bench.world.presets import PRESETS
    from tvts_bench.zoo.registry import load_model

    large = PRESETS["large"]
    n_base = args.base or (16 if args.quick else large.ssv2_classes * large.ssv2_val_per_class)
    world = Path(args.world) if args.world else ensure_world("tiny" if args.quick else "demo", quiet=True)
    pool = load_records(world, "ssv2", None)
    adapter = load_model("scratch")
    scales = (1, 2, 4)
    print(f"N = {n_base} videos (large preset SSV2 validation), from {len(pool)} SSV2 videos of {world}")
    ext: dict[int, float] = {}
    # Rounds interleave the scales (x1, x2, x4, x1, ...) and keep each scale's best time, so a change
    # of machine load during the run does not read as a change of growth.
    for r in range(args.rounds):
        for s in scales:
            n = n_base * s
            records = [pool[i % len(pool)] for i in range(n)]
            clips, sec, failed, _ = end_to_end(adapter, records, 8, 2, None)
            ext[s] = min(ext.get(s, float("inf")), sec)
            print(f"extraction x{s} (round {r + 1}): {n} videos in {sec:.2f} s ({clips / sec:.1f} clips/s, "
                  f"{failed} failed)", flush=True)
    d = 64 if args.quick else args.dim
    ret = {}
    big = {}
    for s in scales:
        ret[s] = retrieval_times(n_base * s, d, large.ssv2_classes)
        print(f"retrieval x{s}: N={n_base * s} all-vs-all, D={d}: v2v exact ranking {ret[s][0]:.3f} s, "
              f"RetrievalIndex top-10 {ret[s][1]:.3f} s", flush=True)
    big_base = args.big_base or (1000 if args.quick else 8000)
    d_big = min(d, 256)
    for s in scales:
        big[s] = retrieval_times(big_base * s, d_big, 174, repeat=1)
        print(f"retrieval x{s}: N={big_base * s} all-vs-all, D={d_big}: v2v exact ranking {big[s][0]:.3f} s, "
              f"RetrievalIndex top-10 {big[s][1]:.3f} s", flush=True)
    g_ext = {s: ext[s] / ext[1] for s in scales}
    g_v2v = {s: ret[s][0] / ret[1][0] for s in scales}
    g_idx = {s: ret[s][1] / ret[1][1] for s in scales}
    gb_v2v = {s: big[s][0] / big[1][0] for s in scales}
    gb_idx = {s: big[s][1] / big[1][1] for s in scales}
    print("growth factors (time at xS / time at x1):")
    print(f"  extraction             x2 {g_ext[2]:.2f}  x4 {g_ext[4]:.2f}   (linear: 2, 4)")
    print(f"  v2v exact ranking      x2 {g_v2v[2]:.2f}  x4 {g_v2v[4]:.2f}   (N={n_base}..{4 * n_base})")
    print(f"  RetrievalIndex top-10  x2 {g_idx[2]:.2f}  x4 {g_idx[4]:.2f}")
    print(f"  v2v exact ranking      x2 {gb_v2v[2]:.2f}  x4 {gb_v2v[4]:.2f}   (N={big_base}..{4 * big_base}; quadratic: 4, 16)")
    print(f"  RetrievalIndex top-10  x2 {gb_idx[2]:.2f}  x4 {gb_idx[4]:.2f}")
    # Linear extraction: (time x4 / time x1) / 4 within [0.8, 1.25] (time per video constant within 25 %).
    ratios = [ratio_line("growth_extraction_x4_over_4x_linear", g_ext[4] / 4, 1.0, band=(0.8, 1.25)),
              ratio_line("growth_extraction_x2_over_2x_linear", g_ext[2] / 2, 1.0, band=(0.8, 1.25))]
    save("growth", {
        "n_base": n_base, "rounds": args.rounds, "world": str(world), "dim": d, "big_base": big_base,
        "extraction_s": {f"x{s}": round(v, 2) for s, v in ext.items()},
        "v2v_s": {f"x{s}": round(v[0], 3) for s, v in ret.items()},
        "index_s": {f"x{s}": round(v[1], 3) for s, v in ret.items()},
        "big_v2v_s": {f"x{s}": round(v[0], 3) for s, v in big.items()},
        "big_index_s": {f"x{s}": round(v[1], 3) for s, v in big.items()},
        "growth_extraction": {f"x{s}": round(v, 3) for s, v in g_ext.items()},
        "growth_v2v": {f"x{s}": round(v, 3) for s, v in g_v2v.items()},
        "growth_index": {f"x{s}": round(v, 3) for s, v in g_idx.items()},
        "growth_big_v2v": {f"x{s}": round(v, 3) for s, v in gb_v2v.items()},
        "growth_big_index": {f"x{s}": round(v, 3) for s, v in gb_idx.items()},
    }, ratios, quick=args.quick, out_dir=_common.results_dir_arg(args.results_dir))


if __name__ == "__main__":
    main()
