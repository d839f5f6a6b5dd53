"""Real-dataset scale, simulated: annotation trees and feature sets of the real sizes, against budgets.

Everything is synthetic and built in a temporary folder; no video exists (the manifest counts every one
of them missing, as it would before a download finishes). Each case runs in its own fresh Python
process, so its peak memory (``ru_maxrss`` of that process: interpreter, imports, its data and the
work) is its own; times cover the work only (not building the synthetic input).

Cases and budgets (2 cores):

- read + manifest (``data.readers.read_dataset`` + ``data.manifest.build_manifest``) of
  SSV2 (168,913 train / 24,777 validation in the official JSON layout + the 174-class labels JSON),
  K400 (240,000 / 20,000 rows of the official CSV, 400 classes) and MSR-VTT 1k-A
  (``MSRVTT_data.json`` with 10,000 videos x 20 captions, ``MSRVTT_train.9k.csv``, the 1,000-row
  ``MSRVTT_JSFUSION_test.csv``): each <= 60 s and <= 2 GiB peak;
- v2v with exact mAP (``bench.metrics.v2v_retrieval``, the v2v protocol's ranking) on 24,777 queries
  (SSV2 validation, D=768, 174 classes): <= 60 s;
- v2v at 200,000 videos with IVF (``bench.retrieval_index.RetrievalIndex(IndexConfig("ivf"))``, build +
  all-vs-all top-10 with self excluded, as the v2v protocol's ``params.index: ivf`` does for R@K):
  <= 300 s, recall@10 vs exact on 1,000 sampled queries >= 0.99. Printed, no target: the v2v
  protocol still ranks exactly for mAP; its time at 200k extrapolated from the 24,777 case (n^2 log n);
- linear probe (``bench.protocols.linear.fit_logreg``, one C = 1.0, the protocol's max_iter 1000 and
  standardisation) on 168,913 x 768 features, 174 classes: <= 600 s and <= 8 GiB peak; the
  protocol's full cost (6-value C grid on 80 % + the refit, x 3 seeds) is extrapolated and printed;
- the feature cache on disk for SSV2's train + validation features (193,690 x 768), written shard by
  shard with the cache's own writer (``FeatureCache._write_shard``: 256-row ``.npy`` + ``.json``, plus
  ``meta.json``): float32 (what the cache writes) and float16 (the same layout in half precision,
  simulated): each <= 1 GiB.

``--quick`` divides every size by ~100.

    .venv/bin/python benchmarks/scale.py [--quick] [--only read,v2v,ivf,probe,cache] [--tmp DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts the repo on sys.path)
from _common import ratio_line, save

GIB = float(1 << 30)
D = 768
CASES = ("read", "v2v", "ivf", "probe", "cache")

# Real sizes (quick: // 100).
SIZES = {
    "ssv2": {"train": 168_913, "validation": 24_777, "classes": 174},
    "k400": {"train": 240_000, "validate": 20_000, "classes": 400},
    "msrvtt": {"videos": 10_000, "train": 9_000, "test": 1_000, "captions_per_video": 20},
    "v2v": {"n": 24_777, "classes": 174},
    "ivf": {"n": 200_000, "classes": 400, "sample": 1_000},
    "probe": {"n": 168_913, "classes": 174},
    "cache": {"n": 168_913 + 24_777},
}
BUDGETS = {"read_s": 60.0, "read_gib": 2.0, "v2v_s": 60.0, "ivf_s": 300.0, "ivf_recall": 0.99,
           "probe_s": 600.0, "probe_gib": 8.0, "cache_gib": 1.0}


def sizes(quick: bool) -> dict[str, dict[str, int]]:
    if not quick:
        return SIZES
    out = {}
    for name, s in SIZES.items():
        out[name] = {k: (v if k in ("classes", "captions_per_video") else max(10, v // 100)) for k, v in s.items()}
    out["probe"]["classes"] = out["v2v"]["classes"] = 20
    out["ssv2"]["classes"] = 20
    out["k400"]["classes"] = 40
    out["ivf"]["classes"] = 40
    out["ivf"]["sample"] = 100
    return out


# ------------------------------------------------------------------------------------- synthetic data
WORDS = ("a man woman dog cat car is are plays cooking running talking about the in on with of and "
         "video shows people kitchen street song game news").split()


def build_ssv2(root: Path, s: dict[str, int], seed: int = 0) -> Path:
    """The official layout: labels/something-something-v2-{labels,train,validation}.json."""
    rng = random.Random(seed)
    ann = root / "ssv2" / "labels"
    ann.mkdir(parents=True)
    (root / "ssv2" / "20bn-something-something-v2").mkdir()          # empty: every video missing
    templates = [f"Moving [something] {i} times towards [something]" for i in range(s["classes"])]
    (ann / "something-something-v2-labels.json").write_text(json.dumps(
        {t.replace("[", "").replace("]", ""): str(i) for i, t in enumerate(templates)}, indent=1))
    ids = rng.sample(range(1, 220_848), s["train"] + s["validation"])
    for split, chunk in (("train", ids[:s["train"]]), ("validation", ids[s["train"]:])):
        items = []
        for vid in chunk:
            t = rng.choice(templates)
            items.append({"id": str(vid), "label": t.replace("[something]", "a cup").lower(), "template": t,
                          "placeholders": ["a cup", "a table"]})
        (ann / f"something-something-v2-{split}.json").write_text(json.dumps(items, indent=1))
    return root / "ssv2"


def build_k400(root: Path, s: dict[str, int], seed: int = 0) -> Path:
    rng = random.Random(seed)
    d = root / "k400"
    d.mkdir(parents=True)
    classes = [f"class number {i}" for i in range(s["classes"])]
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    seen: set[str] = set()
    for split, name in (("train", "train.csv"), ("validate", "validate.csv")):
        lines = ["label,youtube_id,time_start,time_end,split"]
        for _ in range(s[split]):
            while True:
                ytid = "".join(rng.choice(alphabet) for _ in range(11))
                if ytid not in seen:
                    seen.add(ytid)
                    break
            start = rng.randint(0, 300)
            lines.append(f"{rng.choice(classes)},{ytid},{start},{start + 10},{split}")
        (d / name).write_text("\n".join(lines) + "\n")
    return d


def build_msrvtt(root: Path, s: dict[str, int], seed: int = 0) -> Path:
    rng = random.Random(seed)
    d = root / "msrvtt"
    (d / "videos" / "all").mkdir(parents=True)
    n, per = s["videos"], s["captions_per_video"]
    vids = [f"video{i}" for i in range(n)]
    data = {"info": {"year": 2016},
            "videos": [{"video_id": v, "split": "train" if i < n - s["test"] else "test", "id": i}
                       for i, v in enumerate(vids)],
            "sentences": [{"video_id": vids[j % n], "caption": " ".join(rng.choice(WORDS) for _ in range(9)),
                           "sen_id": j} for j in range(n * per)]}
    (d / "MSRVTT_data.json").write_text(json.dumps(data))
    (d / "MSRVTT_train.9k.csv").write_text("video_id\n" + "\n".join(vids[:s["train"]]) + "\n")
    test = vids[n - s["test"]:]
    (d / "MSRVTT_JSFUSION_test.csv").write_text(
        "key,vid_key,video_id,sentence\n"
        + "\n".join(f"ret{i},msr{7010 + i},{v},{' '.join(rng.choice(WORDS) for _ in range(8))}"
                    for i, v in enumerate(test)) + "\n")
    return d


def synthetic_features(n: int, classes: int, seed: int = 0, d: int = D):
    """Clustered features like real video features (benchmarks/retrieval.py's mixture: N/100 Gaussian
    clusters, unit-variance centres, noise 0.7 per dimension), each cluster belonging to one class."""
    import numpy as np

    rng = np.random.default_rng(seed)
    c = max(classes, n // 100)
    centers = rng.standard_normal((c, d), dtype=np.float32)
    cluster_class = np.concatenate([np.arange(classes), rng.integers(0, classes, c - classes)])
    cl = rng.integers(0, c, n)
    x = np.empty((n, d), dtype=np.float32)
    step = 1 << 16
    for s in range(0, n, step):                          # chunked: no n x d float64 temporaries
        e = min(n, s + step)
        x[s:e] = centers[cl[s:e]] + 0.7 * rng.standard_normal((e - s, d), dtype=np.float32)
    return x, cluster_class[cl].astype(np.int64)


# ------------------------------------------------------------------------------------- cases (child)
def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB   # Linux: KiB


def case_read(p: dict) -> dict:
    from tvts_bench.data.manifest import build_manifest
    from tvts_bench.data.readers import read_dataset

    before = peak_rss_gib()
    t0 = time.perf_counter()
    index = read_dataset(p["dataset"], p["root"])
    t1 = time.perf_counter()
    man = build_manifest(index)
    t2 = time.perf_counter()
    return {"read_s": t1 - t0, "manifest_s": t2 - t1, "s": t2 - t0, "listed": man.listed, "missing": man.missing,
            "splits": {k: v.listed for k, v in man.splits.items()}, "classes": man.classes,
            "peak_before_gib": before}


def case_v2v(p: dict) -> dict:
    from tvts_bench.bench.metrics import v2v_retrieval

    x, y = synthetic_features(p["n"], p["classes"], seed=1)
    before = peak_rss_gib()
    t0 = time.perf_counter()
    res = v2v_retrieval(x, y, ks=(1, 5, 10))
    sec = time.perf_counter() - t0
    return {"s": sec, "n": p["n"], "mAP": float(res.ap.mean()) * 100, "R@1": float(res.hits[1].mean()) * 100,
            "peak_before_gib": before}


def case_ivf(p: dict) -> dict:
    import numpy as np

    from tvts_bench.bench.retrieval_index import IndexConfig, RetrievalIndex, normalize, recall_at_10_vs_exact

    x, y = synthetic_features(p["n"], p["classes"], seed=2)
    x = normalize(x)                                     # the protocol's features: L2-normalised float32
    before = peak_rss_gib()
    t0 = time.perf_counter()
    index = RetrievalIndex(x, IndexConfig(kind="ivf", seed=0))
    t1 = time.perf_counter()
    _, ids = index.search(x, 10, exclude_self=True)
    t2 = time.perf_counter()
    same = y[ids] == y[:, None]
    hits = {k: float(same[:, :k].any(axis=1).mean()) * 100 for k in (1, 5, 10)}
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(p["n"], size=min(p["sample"], p["n"]), replace=False))
    exact = RetrievalIndex(x, IndexConfig(kind="torch"))
    _, eids = exact.search(x[sample], 11)
    own = eids == sample[:, None]
    keep = ~own
    keep[~own.any(axis=1), -1] = False                   # self not retrieved: drop the 11th instead
    eids = eids[keep].reshape(len(sample), 10)
    recall = recall_at_10_vs_exact(ids[sample], eids)
    return {"s": t2 - t0, "build_s": t1 - t0, "search_s": t2 - t1, "n": p["n"], "recall_at_10": recall,
            "nlist": int(index._faiss_index.nlist), "nprobe": int(index._faiss_index.nprobe),
            "hits": hits, "peak_before_gib": before}


def case_probe(p: dict) -> dict:
    from tvts_bench.bench.protocols.linear import fit_logreg

    x, y = synthetic_features(p["n"], p["classes"], seed=3)
    before = peak_rss_gib()
    t0 = time.perf_counter()
    model = fit_logreg(x, y, p["classes"], 1.0, standardize=True, max_iter=p["max_iter"])
    sec = time.perf_counter() - t0
    acc = float((model.logits(x[:20000]).argmax(1).cpu().numpy() == y[:20000]).mean()) * 100
    return {"s": sec, "n": p["n"], "iterations": model.iterations, "train_top1_first_20k": acc,
            "max_iter": p["max_iter"], "peak_before_gib": before}


def case_cache(p: dict) -> dict:
    import types

    import numpy as np

    from tvts_bench.atomic import write_json
    from tvts_bench.bench.features import DEFAULT_SHARD_SIZE, ExtractionStats, FeatureCache

    x, _ = synthetic_features(p["n"], 10, seed=4)
    out: dict[str, Any] = {"n": p["n"], "shard_size": DEFAULT_SHARD_SIZE}
    for dtype in ("float32", "float16"):
        folder = Path(p["dir"]) / dtype
        folder.mkdir(parents=True)
        n = p["n"]
        write_json(folder / "meta.json", {"key": "x" * 64, "n_records": n, "shard_size": DEFAULT_SHARD_SIZE,
                                          "records_hash": "0" * 64, "video_ids": [str(100000 + i) for i in range(n)]})
        stub = types.SimpleNamespace(stats=ExtractionStats())
        t0 = time.perf_counter()
        if dtype == "float32":
            write = FeatureCache._write_shard          # the cache's own writer (float32)
        else:
            def write(self, folder, k, bounds, buf):   # the same layout, rows stored as float16
                feats = np.stack(buf["rows"]).astype(np.float16)
                np.save(folder / f"shard-{k:05d}.npy", feats)
                write_json(folder / f"shard-{k:05d}.json", {"start": bounds[0], "stop": bounds[1], "ok": buf["ok"],
                                                            "failed": []}, indent=None)
        for k, s in enumerate(range(0, n, DEFAULT_SHARD_SIZE)):
            e = min(n, s + DEFAULT_SHARD_SIZE)
            write(stub, folder, k, (s, e), {"ok": list(range(s, e)), "rows": list(x[s:e]), "failed": []})
        sec = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in folder.iterdir())
        out[dtype] = {"bytes": size, "gib": size / GIB, "write_s": sec, "files": len(list(folder.iterdir())),
                      "raw_bytes": n * D * (4 if dtype == "float32" else 2)}
    return out


CHILD = {"read": case_read, "v2v": case_v2v, "ivf": case_ivf, "probe": case_probe, "cache": case_cache}


def run_child(case: str, params: dict, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", case, "--params", json.dumps(params)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"case {case} failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("CHILD_RESULT ")][-1]
    return json.loads(line[len("CHILD_RESULT "):])


def child_main(case: str, params: str) -> None:
    res = CHILD[case](json.loads(params))
    res["peak_gib"] = peak_rss_gib()
    print("CHILD_RESULT " + json.dumps(res), flush=True)


# ------------------------------------------------------------------------------------- parent
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="every size / ~100")
    ap.add_argument("--only", default=None, help=f"comma list of cases ({','.join(CASES)}); default all")
    ap.add_argument("--probe-max-iter", type=int, default=1000, help="L-BFGS iterations (the protocol's default 1000)")
    ap.add_argument("--tmp", default=None, help="where to build the synthetic trees and caches (default: $TMPDIR)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per case")
    ap.add_argument("--results-dir", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--params", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(args.child, args.params or "{}")
        return
    only = (args.only or ",".join(CASES)).split(",")
    bad = [c for c in only if c not in CASES]
    if bad:
        ap.error(f"unknown case(s) {bad}; choose from {','.join(CASES)}")
    S = sizes(args.quick)
    figures: dict[str, Any] = {"sizes": S, "budgets": BUDGETS, "cases": only}
    ratios: list[dict] = []
    print(f"scale ({'quick: sizes / 100' if args.quick else 'real sizes'}), {os.cpu_count()} cores; "
          f"each case in a fresh process; peak = that process's max RSS", flush=True)
    with tempfile.TemporaryDirectory(prefix="tvts_scale_", dir=args.tmp) as tmp:
        tmp = Path(tmp)
        if "read" in only:
            figures["read"] = {}
            for name, build in (("ssv2", build_ssv2), ("k400", build_k400), ("msrvtt", build_msrvtt)):
                t0 = time.perf_counter()
                root = build(tmp / "trees", S[name])
                built = time.perf_counter() - t0
                ann = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
                r = run_child("read", {"dataset": name, "root": str(root)}, args.timeout)
                r.update(annotation_bytes=ann, build_s=built)
                figures["read"][name] = r
                print(f"read + manifest {name}: {r['listed']:,} videos listed ({r['missing']:,} missing; "
                      f"{ann / 2**20:.1f} MiB of annotations; splits {r['splits']}, {r['classes']} classes): "
                      f"read {r['read_s']:.2f} s + manifest {r['manifest_s']:.2f} s = {r['s']:.2f} s; peak "
                      f"{r['peak_gib']:.2f} GiB (before reading {r['peak_before_gib']:.2f})", flush=True)
            for name in ("ssv2", "k400", "msrvtt"):
                r = figures["read"][name]
                ratios.append(ratio_line(f"scale_read_manifest_{name}_s", r["s"], BUDGETS["read_s"],
                                         higher_is_better=False, unit=" s"))
                ratios.append(ratio_line(f"scale_read_manifest_{name}_peak_gib", r["peak_gib"], BUDGETS["read_gib"],
                                         higher_is_better=False, unit=" GiB"))
        if "v2v" in only:
            r = run_child("v2v", S["v2v"], args.timeout)
            figures["v2v_exact"] = r
            print(f"v2v exact (v2v_retrieval, full ranking + mAP): {r['n']:,} queries x D={D}, "
                  f"{S['v2v']['classes']} classes: {r['s']:.1f} s; peak {r['peak_gib']:.2f} GiB "
                  f"(mAP {r['mAP']:.1f}, R@1 {r['R@1']:.1f})", flush=True)
            ratios.append(ratio_line("scale_v2v_exact_s",
                                     r["s"], BUDGETS["v2v_s"], higher_is_better=False, unit=" s"))
        if "ivf" in only:
            r = run_child("ivf", S["ivf"], args.timeout)
            figures["v2v_ivf"] = r
            print(f"v2v IVF at {r['n']:,} (nlist {r['nlist']}, nprobe {r['nprobe']}): build {r['build_s']:.1f} s + "
                  f"all-vs-all top-10 {r['search_s']:.1f} s = {r['s']:.1f} s; recall@10 vs exact "
                  f"{r['recall_at_10']:.4f} ({S['ivf']['sample']:,} sampled queries); peak {r['peak_gib']:.2f} GiB",
                  flush=True)
            if "v2v_exact" in figures:
                n0, t0_ = figures["v2v_exact"]["n"], figures["v2v_exact"]["s"]
                est = t0_ * (r["n"] / n0) ** 2 * math.log(r["n"]) / math.log(n0)
                figures["v2v_ivf"]["exact_map_estimate_s"] = est
                print(f"  (no target) the v2v protocol's mAP still ranks exactly: at {r['n']:,} that is "
                      f"~{est / 60:.0f} min by n^2 log n from the {n0:,}-query case", flush=True)
            ratios.append(ratio_line("scale_v2v_ivf_s", r["s"],
                                     BUDGETS["ivf_s"], higher_is_better=False, unit=" s"))
            ratios.append(ratio_line("scale_v2v_ivf_recall_at_10", r["recall_at_10"], BUDGETS["ivf_recall"]))
        if "probe" in only:
            r = run_child("probe", {**S["probe"], "max_iter": args.probe_max_iter}, args.timeout)
            figures["linear_probe"] = r
            # The protocol: choose_C fits the 6-value grid on 80 % of train, then refits on all; x 3 seeds.
            full = 3 * (6 * 0.8 + 1) * r["s"]
            figures["linear_probe"]["protocol_estimate_s"] = full
            print(f"linear probe (fit_logreg, C=1, standardised, max_iter {r['max_iter']}): {r['n']:,} x {D}, "
                  f"{S['probe']['classes']} classes: {r['s']:.1f} s, {r['iterations']} L-BFGS iterations "
                  f"({r['s'] / max(1, r['iterations']):.2f} s each); peak {r['peak_gib']:.2f} GiB (before the "
                  f"fit, features in memory: {r['peak_before_gib']:.2f}); the protocol's grid of 6 C + refit "
                  f"x 3 seeds would be ~{full / 60:.0f} min at this cost per fit (no target)", flush=True)
            ratios.append(ratio_line("scale_linear_probe_s", r["s"], BUDGETS["probe_s"], higher_is_better=False,
                                     unit=" s"))
            ratios.append(ratio_line("scale_linear_probe_peak_gib", r["peak_gib"], BUDGETS["probe_gib"],
                                     higher_is_better=False, unit=" GiB"))
        if "cache" in only:
            r = run_child("cache", {**S["cache"], "dir": str(tmp / "features")}, args.timeout)
            figures["feature_cache"] = r
            for dtype in ("float32", "float16"):
                c = r[dtype]
                print(f"feature cache {dtype}{' (simulated: the cache writes float32)' if dtype == 'float16' else ''}: "
                      f"{r['n']:,} x {D} in {c['files']} files = {c['bytes'] / 2**20:.1f} MiB "
                      f"({c['bytes'] / c['raw_bytes']:.3f} x the raw array), written in {c['write_s']:.1f} s",
                      flush=True)
            for dtype in ("float32", "float16"):
                ratios.append(ratio_line(f"scale_feature_cache_{dtype}_gib", r[dtype]["gib"], BUDGETS["cache_gib"],
                                         higher_is_better=False, unit=" GiB"))
    save("scale", figures, ratios, quick=args.quick, out_dir=_common.results_dir_arg(args.results_dir))


if __name__ == "__main__":
    main()
