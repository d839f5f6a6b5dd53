"""k-nearest-neighbour classification on cached frozen features (DINO's weighted k-NN).

Protocol (Caron et al., "Emerging Properties in Self-Supervised Vision Transformers", ICCV 2021,
``eval_knn.py`` in github.com/facebookresearch/dino; used for video encoders by SVT, V-JEPA and
others):

1. The train split's features are the memory bank; features are L2-normalised, similarity = cosine.
2. Every test video takes its k most similar train videos; neighbour j votes for its class with weight
   ``exp(sim_j / T)`` (``params.temperature``, default 0.07); a class's score is the sum of its votes.
3. top-1 / top-5 = the label among the 1 / 5 highest class scores, for every k of ``params.ks``
   (default [10, 20]). Metric names: ``top1`` and ``top5`` are the FIRST k's, ``top1@k<K>`` and
   ``top5@k<K>`` each k's (so ``top1 == top1@k10`` with the default ks).

No parameter is fitted, so nothing is selected on any split and the result does not depend on the seed.

Ties, so that a constant encoder scores exactly chance (``docs/protocols.md``):

- neighbours: train videos whose similarity equals the k-th largest share the places left among them;
  each votes with its expected weight ``exp(s_k / T) * (places left) / (tied videos)``. A constant
  encoder's neighbours are then the whole train split, each with weight k / N: the class scores are
  proportional to the class sizes, equal on balanced classes;
- classes: scores that tie are ranked by expected rank (``metrics.topk_hits``), as in the linear probe;
- exactness: identical features get bitwise-identical similarities (each distinct feature vector is
  scored once) and every class sums its votes in one fixed order (most similar first), so equal vote
  multisets give equal scores, never scores that differ in the last bit.

Low-shot (``params.low_shot`` / ``params.shots``, see ``_lowshot.py``): the memory bank is each
class-balanced subset of the train split in turn; the result is the mean over subsets with a two-way
bootstrap interval (subsets and test samples).

Temporal-sensitivity diagnostic (``params.diagnostics``): the test split's ``shuffled`` / ``repeated`` /
``reversed`` features query the normal train memory bank.
"""

from __future__ import annotations

import numpy as np
import torch

from ..context import ProtocolContext, ProtocolOutput
from ..metrics import TIE_RULE, l2_normalize, require_finite, topk_hits
from ._common import (class_labels, labelled_splits, params_of, progress_task, sample_rows, select_metrics,
                      spec_value, torch_device)
from ._lowshot import INTERVAL_RULE, LOW_SHOT_RULE, balanced_subset, low_shot_of, spread, subset_info, two_way_value
from .knn_spec import CLASS_KS, EACH_K, FIRST_K, SPEC

NEIGHBOUR_TIES = ("train videos tied with the k-th neighbour share the places left: each votes with weight "
                  "exp(s_k / T) * places left / tied videos")


def metric_names(ks: list[int]) -> dict[tuple[int, int], list[str]]:
    """(neighbours k, top-c) -> the declared metric names (``knn_spec``): each k's ``top<c>@k<K>``; the
    first k also gives the plain ``top<c>``."""
    out: dict[tuple[int, int], list[str]] = {}
    for i, k in enumerate(ks):
        for c, first, each in zip(CLASS_KS, FIRST_K, EACH_K):
            out[(k, c)] = ([first.name] if i == 0 else []) + each.names([k])
    return out


def _distinct(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if len(x) == 0:
        return x, torch.zeros(0, dtype=torch.long, device=x.device)
    return torch.unique(x, dim=0, return_inverse=True)


def knn_votes(train: np.ndarray | torch.Tensor, train_labels: np.ndarray, test: np.ndarray | torch.Tensor,
              ks: list[int], num_classes: int, *, temperature: float = 0.07,
              device: str | torch.device = "cpu", block_size: int | None = None) -> dict[int, np.ndarray]:
    """k -> class scores ``[N_test, num_classes]`` (float64) of DINO's weighted vote, ties as in the
    module docstring. ``k`` larger than the memory bank is clamped to its size."""
    dev = torch.device(device)
    xtr = l2_normalize(torch.as_tensor(np.asarray(train), dtype=torch.float32).to(dev))
    xte = l2_normalize(torch.as_tensor(np.asarray(test), dtype=torch.float32).to(dev))
    ytr = torch.as_tensor(np.asarray(train_labels), dtype=torch.long, device=dev)
    n_train = xtr.shape[0]
    if n_train == 0:
        raise ValueError("the k-NN memory bank (train split) is empty")
    onehot = torch.nn.functional.one_hot(ytr, num_classes).float()                # [N_train, C]
    tr_distinct, tr_copy = _distinct(xtr)
    te_distinct, te_copy = _distinct(xte)
    m = te_distinct.shape[0]
    if block_size is None:  # similarities + masks of a block around 64 MB
        block_size = max(1, min(max(m, 1), (64 << 20) // max(1, n_train * 12)))
    kk = {k: min(int(k), n_train) for k in ks}
    kmax = max(kk.values())
    out = {k: np.zeros((m, num_classes)) for k in ks}
    for start in range(0, m, block_size):
        stop = min(m, start + block_size)
        sim = (te_distinct[start:stop] @ tr_distinct.T)[:, tr_copy]               # [b, N_train]
        top = sim.topk(kmax, dim=1)                                              # sorted, most similar first
        weight = torch.exp(top.values.double() / temperature)                    # [b, kmax]
        for k in ks:
            kth = top.values[:, kk[k] - 1]
            above = (sim > kth[:, None]).sum(dim=1)                              # strictly more similar: < k
            tied = sim == kth[:, None]
            n_tied = tied.sum(dim=1).double()
            votes = torch.zeros(stop - start, num_classes, dtype=torch.float64, device=dev)
            for j in range(kk[k] - 1):       # the k-th place itself is always a tied one
                w = torch.where(above > j, weight[:, j], torch.zeros_like(weight[:, j]))
                votes.scatter_add_(1, ytr[top.indices[:, j]][:, None], w[:, None])
            tied_per_class = (tied.float() @ onehot).double()                    # exact integer counts
            share = torch.exp(kth.double() / temperature) * (kk[k] - above).double() / n_tied
            votes += share[:, None] * tied_per_class
            out[k][start:stop] = votes.cpu().numpy()
    expand = te_copy.cpu().numpy()
    return {k: v[expand] for k, v in out.items()}



def _hits(votes: dict[int, np.ndarray], labels: np.ndarray, ks: list[int], what: str, ids: list[str]
          ) -> dict[tuple[int, int], np.ndarray]:
    out = {}
    for k in ks:
        h = topk_hits(votes[k], labels, CLASS_KS, what=f"{what} k-NN class scores (k={k})", ids=ids)
        out.update({(k, c): h[c] for c in CLASS_KS})
    return out


def run(ctx: ProtocolContext) -> ProtocolOutput:
    name = ctx.task.name
    train = ctx.features(ctx.task.splits.train, "normal")
    test = ctx.features(ctx.task.splits.test, "normal")
    y_train, y_test, _ = labelled_splits(ctx, train, test, "k-NN classification")
    p = params_of(ctx, SPEC)
    ks, temperature = list(p.ks), p.temperature
    num_classes = max(len(ctx.index.classes), int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1)
    device = torch_device(ctx)
    train_ids = [r.video_id for r in train.records]
    test_ids = [r.video_id for r in test.records]
    require_finite(train.features, f"the {ctx.task.splits.train} split's features", train_ids)
    require_finite(test.features, f"the {ctx.task.splits.test} split's features", test_ids)
    variants = list(p.diagnostics)
    variant_feats = {v: ctx.features(ctx.task.splits.test, v) for v in variants}

    low = low_shot_of(p)
    banks = ([(s, balanced_subset(y_train, train_ids, seed=s, fraction=low.fraction, shots=low.shots))
              for s in low.seeds()] if low else [(None, np.arange(len(y_train)))])
    names = metric_names(ks)
    hits = {key: np.zeros((len(banks), len(y_test))) for key in names}
    var_hits = {v: {key: np.zeros((len(banks), len(variant_feats[v].records))) for key in names}
                for v in variants}
    subsets: list[dict] = []
    with progress_task(ctx, f"{name}: k-NN", total=len(banks)) as advance:
        for i, (seed, idx) in enumerate(banks):
            bank_x, bank_y = train.features[idx], y_train[idx]
            votes = knn_votes(bank_x, bank_y, test.features, ks, num_classes, temperature=temperature,
                              device=device)
            for key, h in _hits(votes, y_test, ks, "test", test_ids).items():
                hits[key][i] = h
            for v in variants:
                vf = variant_feats[v]
                vv = knn_votes(bank_x, bank_y, vf.features, ks, num_classes, temperature=temperature,
                               device=device)
                vy = class_labels(vf, f"{v} test", "k-NN classification")
                for key, h in _hits(vv, vy, ks, f"{v} test", [r.video_id for r in vf.records]).items():
                    var_hits[v][key][i] = h
            if seed is not None:
                subsets.append({**subset_info(y_train, idx, seed),
                                **{each[-1]: 100 * float(hits[key][i].mean()) for key, each in names.items()}})
            advance()

    def values(outcomes: dict[tuple[int, int], np.ndarray]) -> dict:
        out = {}
        for j, (key, metric_keys) in enumerate(names.items()):
            o = outcomes[key]
            # one value serves every name of (k, c): top1 is top1@k<first k> to the last bit
            mv = two_way_value(o, ctx, salt=j) if low else spec_value(SPEC, metric_keys[0], o[0], ctx, salt=j)
            out.update({m: mv for m in metric_keys})
        return out

    metrics = select_metrics(values(hits), ctx)
    diagnostics = {v: select_metrics(values(var_hits[v]), ctx) for v in variants}
    # per test video: the expected hit of every kept metric, averaged over low-shot subsets
    per_sample = sample_rows(test_ids, {m: hits[key].mean(axis=0) for key, metric_keys in names.items()
                                        for m in metric_keys}, metrics)
    info = {"ks": ks, "temperature": temperature, "memory_bank": f"{ctx.task.splits.train} split features",
            "similarity": "cosine (L2-normalised features)", "vote": "sum over the k neighbours of exp(sim / T)",
            "metric_names": f"{'/'.join(m.name for m in FIRST_K)}: the first k; "
                            f"{'/'.join(m.name.replace('{k}', '<K>') for m in EACH_K)}: each k",
            "train_samples": int(len(y_train)), "test_samples": int(len(y_test)), "num_classes": num_classes,
            "ties": TIE_RULE, "neighbour_ties": NEIGHBOUR_TIES,
            "diagnostic_train": "normal features (variant features only at test time)"}
    if low:
        info["low_shot"] = {"setting": low.label, "fraction": low.fraction, "shots": low.shots,
                            "subsets": subsets, "rule": LOW_SHOT_RULE, "interval": INTERVAL_RULE,
                            **{f"spread_{m}": spread([s[m] for s in subsets])
                               for m in (names[(ks[0], c)][-1] for c in CLASS_KS)}}
    return ProtocolOutput(metrics=metrics, diagnostics=diagnostics, per_sample=per_sample, clips=0,
                          extra={"knn": info})
