"""Retrieval: the project's search path (``tvts_bench.bench.retrieval_index``) vs a plain torch matmul + topk.

On the same L2-normalised synthetic features (clustered, like real video features: a mixture of
``N/100`` Gaussian clusters in D dimensions), for galleries of 10k, 100k and 1M:

- plain: ``(q @ g.T).topk(10)`` in torch, queries in chunks so the score matrix stays <= 1 GiB;
- ours: ``RetrievalIndex(gallery, IndexConfig("auto")).search(q, 10)`` (index build included: the
  norm check it makes is part of what a user pays). At 10k the queries are the gallery itself (the v2v
  case), which ours detects and searches as a symmetric score matrix (each off-diagonal tile once);
- approximate: ``IndexConfig("ivf")`` and ``("hnsw")`` with their defaults: build s, search s, and
  recall@10 against the exact ids (target >= 0.99).

Queries: all 10k at 10k (the v2v case: every video queries the gallery; any gallery up to
``--all-vs-all-max``), 1k (``--queries``) at 100k and 1M.
Target: ours / plain time <= 1.0 at every size ("never slower"; no noise allowance: the ratio is printed
as is). Both are run ``--repeat`` times, interleaved (alternating which goes first, so both see the same
machine load); two RATIO lines per size: the best-of ratio and the median of the per-repetition ratios.
Results are checked too: share of identical ids, and the largest top-10 score difference (BLAS rounds a
tile's dot products and a full matrix's differently by ~1 ulp, so ids may swap only between scores that
close). Memory: 1M x 256 fp32 = 1 GiB (x 768 = 3 GiB); plain adds a 1 GiB score chunk, ours ~100 MB.
Whole default run (10k, 100k, 1M; IVF/HNSW up to 100k): see benchmarks/RESULTS.md for its duration.

    .venv/bin/python benchmarks/retrieval.py [--quick] [--dim 256] [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import _common  # noqa: F401
from _common import load_average, ratio_line, save, timed

K = 10


def clustered(n: int, d: int, seed: int, n_clusters: int | None = None):
    import numpy as np

    rng = np.random.default_rng(seed)
    c = n_clusters or max(8, n // 100)
    centers = rng.standard_normal((c, d), dtype=np.float32)
    x = np.empty((n, d), dtype=np.float32)
    step = 1 << 16
    for s in range(0, n, step):                          # chunked: no n x d float64 temporaries
        e = min(n, s + step)
        x[s:e] = centers[rng.integers(0, c, e - s)] + 0.7 * rng.standard_normal((e - s, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def plain_topk(q, g, k: int, budget_bytes: int = 1 << 30):
    """(scores, ids) of ``(q @ g.T).topk(k)``, queries in chunks whose score matrix is <= 1 GiB."""
    import torch

    gt = torch.from_numpy(g)
    rows = max(1, budget_bytes // (4 * g.shape[0]))
    scores, ids = [], []
    with torch.inference_mode():
        for s in range(0, q.shape[0], rows):
            top = (torch.from_numpy(q[s:s + rows]) @ gt.T).topk(k, dim=1)
            scores.append(top.values)
            ids.append(top.indices)
    return torch.cat(scores).numpy(), torch.cat(ids).numpy()


def ours_exact(q, g, k: int):
    from tvts_bench.bench.retrieval_index import IndexConfig, RetrievalIndex

    index = RetrievalIndex(g, IndexConfig(kind="auto"))
    return index.search(q, k), index.backend


def ours_split(q, g, k: int) -> tuple[float, float]:
    """Build (gallery copy + normalisation) and search seconds of the exact index, separately."""
    from tvts_bench.bench.retrieval_index import IndexConfig, RetrievalIndex

    t0 = time.perf_counter()
    index = RetrievalIndex(g, IndexConfig(kind="auto"))
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    index.search(q, k)
    return build, time.perf_counter() - t0


SWEEP = {"ivf": (8, 16, 32, 64), "hnsw": (16, 32, 64)}


def approx(kind: str, q, g, k: int, exact_ids, sweep: bool):
    """Build once with the defaults; search with the defaults and (``sweep``) with cheaper settings."""
    from tvts_bench.bench.retrieval_index import IndexConfig, RetrievalIndex, recall_at_10_vs_exact

    t0 = time.perf_counter()
    index = RetrievalIndex(g, IndexConfig(kind=kind))
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, ids = index.search(q, k)
    search = time.perf_counter() - t0
    extra: dict = {}
    fi = index._faiss_index
    if kind == "ivf":
        extra = {"nlist": int(fi.nlist), "nprobe": int(fi.nprobe)}
    elif kind == "hnsw":
        extra = {"M": index.config.hnsw_m, "efSearch": int(fi.hnsw.efSearch)}
    out = {"build_s": round(build, 3), "search_s": round(search, 3),
           "recall_at_10": round(recall_at_10_vs_exact(ids, exact_ids, k), 4), **extra}
    if sweep:
        points = []
        for value in SWEEP[kind]:
            if kind == "ivf":
                fi.nprobe = value
            else:
                index.config.ef_search = value        # search() sets efSearch from the config
            t0 = time.perf_counter()
            _, ids = index.search(q, k)
            sec = time.perf_counter() - t0
            points.append({"nprobe" if kind == "ivf" else "efSearch": value, "search_s": round(sec, 3),
                           "recall_at_10": round(recall_at_10_vs_exact(ids, exact_ids, k), 4)})
        out["sweep"] = points
    del index
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="galleries 2k and 10k, D=64, approximate kinds at 2k only")
    ap.add_argument("--dim", type=int, default=None, help="feature dimension (default 256; quick 64)")
    ap.add_argument("--sizes", default=None, help="comma list of gallery sizes")
    ap.add_argument("--queries", type=int, default=1000, help="queries for galleries above --all-vs-all-max")
    ap.add_argument("--all-vs-all-max", type=int, default=10_000,
                    help="galleries up to this size: every item queries the gallery (the v2v case)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved repetitions (ours, plain alternating)")
    ap.add_argument("--ann", default="ivf,hnsw", help="approximate kinds to measure ('' = none)")
    ap.add_argument("--ann-max", type=int, default=100_000, help="largest gallery for the approximate kinds")
    ap.add_argument("--results-dir", default=None)
    args = ap.parse_args()

    import numpy as np
    import torch

    d = args.dim or (64 if args.quick else 256)
    sizes = [int(s) for s in (args.sizes or ("2000,10000" if args.quick else "10000,100000,1000000")).split(",")]
    kinds = [k for k in args.ann.split(",") if k]
    ann_max = min(args.ann_max, sizes[0]) if args.quick else args.ann_max
    print(f"D={d}, k={K}, torch threads {torch.get_num_threads()}; clustered synthetic features; "
          f"load average {load_average()}", flush=True)
    rows = []
    ratios = []
    for n in sizes:
        g = clustered(n, d, seed=n)
        all_vs_all = n <= args.all_vs_all_max           # not "the first size": --sizes 1000000 alone stays 1k
        nq = n if all_vs_all else min(args.queries, n)
        if all_vs_all:
            q = g                                          # every gallery item queries (the v2v case)
        else:
            # queries from the same distribution: slightly perturbed gallery items
            noise = np.random.default_rng(n + 1).standard_normal((nq, d), dtype=np.float32)
            q = g[:nq] + 0.05 * noise / d ** 0.5
            q /= np.linalg.norm(q, axis=1, keepdims=True)
        reps = args.repeat
        # Interleaved (alternating which goes first), so both see the same machine load; best of each.
        plain_t, ours_t = [], []
        for r in range(reps):
            order = ("plain", "ours") if r % 2 == 0 else ("ours", "plain")
            for which in order:
                if which == "plain":
                    sec, (plain_scores, plain_ids) = timed(lambda: plain_topk(q, g, K))
                    plain_t.append(sec)
                else:
                    sec, ((ours_scores, ours_ids), backend) = timed(lambda: ours_exact(q, g, K))
                    ours_t.append(sec)
        t_plain, t_ours = min(plain_t), min(ours_t)
        median_ratio = statistics.median(o / p for o, p in zip(ours_t, plain_t))
        agree = float((plain_ids == ours_ids).mean())
        score_diff = float(np.abs(plain_scores - ours_scores).max())
        t_build, t_search = ours_split(q, g, K)
        row = {"gallery": n, "queries": nq, "all_vs_all": all_vs_all, "dim": d, "plain_s": round(t_plain, 3), "ours_s": round(t_ours, 3),
               "ours_backend": backend, "ours_build_s": round(t_build, 3), "ours_search_s": round(t_search, 3),
               "ids_agree": round(agree, 4), "max_score_diff": score_diff,
               "ratio_ours_over_plain": round(t_ours / t_plain, 3),
               "median_rep_ratio": round(median_ratio, 3), "reps": reps,
               "plain_runs_s": [round(t, 3) for t in plain_t], "ours_runs_s": [round(t, 3) for t in ours_t],
               "plain_qps": round(nq / t_plain, 1), "ours_qps": round(nq / t_ours, 1)}
        print(f"gallery {n:>8} x {d}, {nq} queries: plain torch {t_plain:.3f} s ({nq / t_plain:.0f} q/s), "
              f"ours [{backend}] {t_ours:.3f} s ({nq / t_ours:.0f} q/s); ours/plain {t_ours / t_plain:.3f} "
              f"(best of {reps} interleaved; median per-repetition ratio {median_ratio:.3f}); "
              f"same ids {agree:.4f}, top-{K} scores differ by <= {score_diff:.1e}; "
              f"ours = build {t_build:.3f} s + search {t_search:.3f} s (timed apart); load {load_average()}",
              flush=True)
        ratios.append(ratio_line(f"retrieval_time_ours_over_plain_{n}", t_ours / t_plain, 1.0,
                                 higher_is_better=False))
        ratios.append(ratio_line(f"retrieval_time_ours_over_plain_median_{n}", median_ratio, 1.0,
                                 higher_is_better=False))
        for kind in kinds:
            if n > ann_max:
                continue
            a = approx(kind, q, g, K, plain_ids, sweep=not args.quick)
            row[kind] = a
            print(f"  {kind}: build {a['build_s']:.2f} s, search {a['search_s']:.3f} s "
                  f"({nq / max(a['search_s'], 1e-9):.0f} q/s, {t_plain / max(a['search_s'], 1e-9):.2f}x plain), "
                  f"recall@10 vs exact {a['recall_at_10']:.4f} "
                  + " ".join(f"{k}={v}" for k, v in a.items() if k not in ('build_s', 'search_s', 'recall_at_10')),
                  flush=True)
            for pt in a.get("sweep", ()):
                print(f"    {kind} " + ", ".join(f"{k2} {v}" for k2, v in pt.items())
                      + f" ({t_plain / max(pt['search_s'], 1e-9):.2f}x plain)", flush=True)
            ratios.append(ratio_line(f"retrieval_{kind}_recall_at_10_{n}", a["recall_at_10"], 0.99))
        rows.append(row)
        del g, q
        gc.collect()
    save("retrieval", {"dim": d, "k": K, "rows": rows}, ratios, quick=args.quick,
         out_dir=_common.results_dir_arg(args.results_dir))


if __name__ == "__main__":
    main()
