"""Linear probe on cached frozen features: multinomial logistic regression (CLIP-style).

Protocol (docs/protocols.md; never selecting on the test split):

1. A stratified ``val_fraction`` (default 20 %) of the TRAIN split is held out, per seed.
2. For every C of the grid, the classifier is fit on the rest of train and scored (top-1) on the
   held-out part; the best C wins (ties: the smaller C, i.e. the stronger regularisation).
3. The classifier is refit with that C on the whole train split and evaluated ONCE on the test split.
4. Repeated for each seed (``params.seeds``: a count or a list, default 3 seeds from the run's
   seed); the reported numbers are the mean over seeds, with a bootstrap interval over test samples of the per-sample correctness averaged
   over seeds.

The classifier is scikit-learn's ``LogisticRegression(C=C)`` objective (multinomial cross-entropy
summed over samples times C, plus half the squared L2 norm of the weights, bias unpenalised),
minimised in torch by full-batch L-BFGS on z-scored features: much faster than scikit-learn's lbfgs
on 100k x 768 features and usable on a GPU; ``tests/test_protocols_linear.py`` checks it against
scikit-learn. Warm starts along the C grid (small C first) cut the iterations.

Low-shot (``params.low_shot``: a fraction of every class, or ``params.shots`` per class; see
``_lowshot.py``): steps 1-4 run on each of ``params.subsets`` (default 3) class-balanced subsets of the
train split in turn (C is chosen on a held-out part of the subset); the number is the mean over
subsets (and seeds), its interval a two-way bootstrap over subsets and test samples.

Temporal-sensitivity diagnostic (``params.diagnostics``): the probe trained on the normal features
(same C, same seeds) is scored on the test split's ``shuffled``, ``repeated`` and ``reversed`` features;
a model that uses frame order loses accuracy there. Only test features of the variants are extracted.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import TvtsBenchError
from ..context import ProtocolContext, ProtocolOutput
from ..metrics import TIE_RULE, topk_hits
from ._common import (class_labels, labelled_splits, params_of, progress_task, sample_rows, seeds_of,
                      select_metrics, spec_value, torch_device)
from ._lowshot import INTERVAL_RULE, LOW_SHOT_RULE, balanced_subset, low_shot_of, spread, subset_info, two_way_value
from .linear_spec import SPEC


@dataclass
class LogReg:
    """A fitted probe: standardisation statistics and the linear map."""

    mean: torch.Tensor
    std: torch.Tensor
    weight: torch.Tensor        # [D, K]
    bias: torch.Tensor          # [K]
    C: float
    iterations: int = 0

    def logits(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        xt = torch.as_tensor(x, dtype=torch.float32, device=self.weight.device)
        return ((xt - self.mean) / self.std) @ self.weight + self.bias


def standardizer(x: torch.Tensor, enabled: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    if not enabled:
        return torch.zeros(x.shape[1], device=x.device), torch.ones(x.shape[1], device=x.device)
    return x.mean(0), x.std(0, unbiased=False).clamp_min(1e-6)


SMALL_PROBLEM = 20_000_000   # samples x dims x classes below which one thread is faster


@contextlib.contextmanager
def _threads_for(work: int, device: torch.device):
    """Small CPU problems run single-threaded: thread start-up and spinning cost more than they save
    (measured here: 6 fits of 40 x 192 x 4 took 0.2 s on 1 thread, 1.4-7.9 s on 2 busy cores)."""
    if device.type != "cpu" or work >= SMALL_PROBLEM or torch.get_num_threads() == 1:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit_logreg(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, num_classes: int, C: float, *,
               standardize: bool = True, max_iter: int = 1000, device: str | torch.device = "cpu",
               init: LogReg | None = None, tol: float = 1e-7) -> LogReg:
    """Minimise ``C * sum_i CE(x_i, y_i) + 0.5 * ||W||^2`` (scikit-learn's objective) with L-BFGS.

    The objective is divided by ``C * N`` for conditioning; the minimiser does not change.
    """
    dev = torch.device(device)
    xt = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float32).to(dev)
    yt = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y, dtype=torch.long).to(dev)
    mean, std = standardizer(xt, standardize)
    z = (xt - mean) / std
    n, d = z.shape
    w = torch.zeros(d, num_classes, device=dev) if init is None else init.weight.detach().clone().to(dev)
    b = torch.zeros(num_classes, device=dev) if init is None else init.bias.detach().clone().to(dev)
    w.requires_grad_(True)
    b.requires_grad_(True)
    reg = 1.0 / (2.0 * C * n)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=max_iter, history_size=20, tolerance_grad=tol,
                            tolerance_change=tol * 1e-2, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(z @ w + b, yt) + reg * (w * w).sum()
        loss.backward()
        return loss

    with torch.enable_grad(), _threads_for(n * d * num_classes, dev):
        opt.step(closure)
    iters = int(opt.state[opt._params[0]].get("n_iter", 0))
    return LogReg(mean, std, w.detach(), b.detach(), float(C), iters)


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit indices, held-out indices): ``fraction`` of each class with >= 2 samples is held out
    (at least one sample of such a class); singleton classes stay in the fit part."""
    rng = np.random.default_rng(seed)
    fit, held = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        k = int(round(fraction * len(idx))) if len(idx) >= 2 else 0
        k = min(max(k, 1 if len(idx) >= 2 else 0), len(idx) - 1)
        held.extend(idx[:k].tolist())
        fit.extend(idx[k:].tolist())
    return np.sort(np.asarray(fit, dtype=np.int64)), np.sort(np.asarray(held, dtype=np.int64))


def choose_C(x: np.ndarray, y: np.ndarray, num_classes: int, grid: list[float], *, val_fraction: float,
             seed: int, standardize: bool, max_iter: int, device) -> tuple[float, dict[float, float]]:
    """The C of the grid with the best held-out top-1 on a stratified part of TRAIN (ties: smaller C)."""
    fit_idx, held_idx = stratified_holdout(y, val_fraction, seed)
    if len(held_idx) == 0:
        raise TvtsBenchError("the linear probe cannot hold out part of the train split to choose C: "
                             "every class has a single training video",
                             hint="use a larger train split, or give params.C a single value")
    scores: dict[float, float] = {}
    prev = None
    for C in sorted(grid):
        model = fit_logreg(x[fit_idx], y[fit_idx], num_classes, C, standardize=standardize,
                           max_iter=max_iter, device=device, init=prev)
        prev = model
        pred = model.logits(x[held_idx]).argmax(1).cpu().numpy()
        scores[C] = float((pred == y[held_idx]).mean())
    best = max(sorted(grid), key=lambda c: scores[c])      # max keeps the first (smallest) of equal scores
    return best, scores



def run(ctx: ProtocolContext) -> ProtocolOutput:
    train = ctx.features(ctx.task.splits.train, "normal")
    test = ctx.features(ctx.task.splits.test, "normal")
    y_train, y_test, num_classes = labelled_splits(ctx, train, test, "the linear probe")
    p = params_of(ctx, SPEC)
    grid = [float(c) for c in (p.C if isinstance(p.C, list) else [p.C])]
    val_fraction, max_iter, standardize = p.val_fraction, p.max_iter, p.standardize
    device = torch_device(ctx)
    ks = (1, 5)
    variants = list(p.diagnostics)
    variant_feats = {v: ctx.features(ctx.task.splits.test, v) for v in variants}

    seeds = seeds_of(ctx, p)
    test_ids = [r.video_id for r in test.records]
    train_ids = [r.video_id for r in train.records]
    low = low_shot_of(p)
    banks = ([(s, balanced_subset(y_train, train_ids, seed=s, fraction=low.fraction, shots=low.shots))
              for s in low.seeds()] if low else [(None, np.arange(len(y_train)))])
    # outcomes per training set (one row per low-shot subset), averaged over the probe seeds
    hits = {k: np.zeros((len(banks), len(y_test))) for k in ks}
    var_hits = {v: {k: np.zeros((len(banks), len(variant_feats[v].labels))) for k in ks} for v in variants}
    per_seed: list[dict] = []
    subsets: list[dict] = []
    with progress_task(ctx, f"{ctx.task.name}: linear probe", total=len(seeds) * len(banks)) as advance:
        for b, (subset_seed, idx) in enumerate(banks):
            x_fit, y_fit = train.features[idx], y_train[idx]
            for seed in seeds:
                if len(grid) > 1:
                    try:
                        C, held_scores = choose_C(x_fit, y_fit, num_classes, grid, val_fraction=val_fraction,
                                                  seed=seed, standardize=standardize, max_iter=max_iter,
                                                  device=device)
                    except TvtsBenchError as e:
                        if low is None:
                            raise
                        raise TvtsBenchError(f"task {ctx.task.name}: {e.message} (params.low_shot/shots "
                                             f"{low.label} leaves too few videos per class)",
                                             hint="raise params.shots / params.low_shot, or give params.C "
                                                  "a single value") from None
                else:
                    C, held_scores = grid[0], {}
                model = fit_logreg(x_fit, y_fit, num_classes, C, standardize=standardize,
                                   max_iter=max_iter, device=device)
                logits = model.logits(test.features).cpu()
                seed_hits = topk_hits(logits, y_test, ks, what=f"test logits (seed {seed})", ids=test_ids)
                for k in ks:
                    hits[k][b] += seed_hits[k] / len(seeds)
                for v in variants:
                    vf = variant_feats[v]
                    vy = class_labels(vf, f"{v} test", "the linear probe")
                    vh = topk_hits(model.logits(vf.features).cpu(), vy, ks,
                                   what=f"{v} test logits (seed {seed})", ids=[r.video_id for r in vf.records])
                    for k in ks:
                        var_hits[v][k][b] += vh[k] / len(seeds)
                per_seed.append({"seed": seed, "C": C, "heldout_top1": held_scores,
                                 "top1": 100 * float(seed_hits[1].mean()), "top5": 100 * float(seed_hits[5].mean()),
                                 "lbfgs_iterations": model.iterations,
                                 **({"subset_seed": subset_seed} if low else {})})
                advance()
            if low:
                subsets.append({**subset_info(y_train, idx, subset_seed),
                                **{f"top{k}": 100 * float(hits[k][b].mean()) for k in ks}})

    def values(outcomes: dict[int, np.ndarray]) -> dict:
        if low:
            return {f"top{k}": two_way_value(outcomes[k], ctx, salt=k) for k in ks}
        return {f"top{k}": spec_value(SPEC, f"top{k}", outcomes[k][0], ctx, salt=k) for k in ks}

    metrics = select_metrics(values(hits), ctx)
    diagnostics = {v: select_metrics(values(var_hits[v]), ctx) for v in variants}
    # per test video: the expected hit (ties by expectation) averaged over probe seeds and subsets
    per_sample = sample_rows(test_ids, {f"top{k}": hits[k].mean(axis=0) for k in ks}, metrics)
    info = {"seeds": seeds, "per_seed": per_seed, "C_grid": grid, "val_fraction": val_fraction,
            "standardize": standardize, "train_samples": int(len(y_train)),
            "test_samples": int(len(y_test)), "num_classes": num_classes, "ties": TIE_RULE,
            "diagnostic_train": "normal features (variant features only at test time)"}
    if low:
        info["low_shot"] = {"setting": low.label, "fraction": low.fraction, "shots": low.shots,
                            "subsets": subsets, "rule": LOW_SHOT_RULE, "interval": INTERVAL_RULE,
                            **{f"spread_top{k}": spread([s[f"top{k}"] for s in subsets]) for k in ks}}
    return ProtocolOutput(
        metrics=metrics, diagnostics=diagnostics, per_sample=per_sample,
        clips=0,
        extra={"linear": info})
