"""The torch L-BFGS linear probe against scikit-learn's LogisticRegression on the same features."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from tvts_bench.bench.protocols.linear import choose_C, fit_logreg, stratified_holdout


def _data(n_train=500, n_test=300, d=24, k=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 0.8
    scale = rng.uniform(0.5, 5.0, size=d)             # unequal feature scales: standardisation matters
    def draw(n):
        y = rng.integers(0, k, n)
        return ((centres[y] + rng.normal(size=(n, d))) * scale + 3.0).astype(np.float32), y
    return (*draw(n_train), *draw(n_test), k)


def _sk_fit(x, y, C):
    mu, sd = x.mean(0), x.std(0)
    clf = LogisticRegression(C=C, max_iter=5000, tol=1e-8).fit((x - mu) / sd, y)
    return clf, mu, sd


@pytest.mark.parametrize("C", [0.01, 1.0])
def test_same_objective_as_sklearn(C):
    xtr, ytr, xte, yte, k = _data()
    ours = fit_logreg(xtr, ytr, k, C)
    clf, mu, sd = _sk_fit(xtr, ytr, C)
    p_ours = torch.softmax(ours.logits(xte), 1).numpy()
    p_sk = clf.predict_proba((xte - mu) / sd)
    assert np.abs(p_ours - p_sk).max() < 2e-3
    acc_ours = (p_ours.argmax(1) == yte).mean()
    acc_sk = (p_sk.argmax(1) == yte).mean()
    assert abs(acc_ours - acc_sk) * 100 <= 1.0


def test_selection_on_train_holdout_matches_sklearn():
    xtr, ytr, xte, yte, k = _data(seed=1)
    grid = [0.001, 0.01, 0.1, 1.0, 10.0]
    C_ours, scores = choose_C(xtr, ytr, k, grid, val_fraction=0.2, seed=0, standardize=True,
                              max_iter=1000, device="cpu")
    fit_idx, held_idx = stratified_holdout(ytr, 0.2, 0)
    sk_scores = {}
    for C in grid:
        clf, mu, sd = _sk_fit(xtr[fit_idx], ytr[fit_idx], C)
        sk_scores[C] = clf.score((xtr[held_idx] - mu) / sd, ytr[held_idx])
    C_sk = max(grid, key=lambda c: sk_scores[c])
    # same chosen C, or one whose held-out accuracy is within a point of sklearn's choice
    assert C_ours == C_sk or abs(sk_scores[C_ours] - sk_scores[C_sk]) <= 0.01
    ours = fit_logreg(xtr, ytr, k, C_ours)
    clf, mu, sd = _sk_fit(xtr, ytr, C_sk)
    acc_ours = 100 * (ours.logits(xte).argmax(1).numpy() == yte).mean()
    acc_sk = 100 * clf.score((xte - mu) / sd, yte)
    assert abs(acc_ours - acc_sk) <= 2.0
    assert acc_ours > 100 / k + 20                     # far above chance: the probe learns


def test_stratified_holdout_never_empties_a_class():
    y = np.array([0] * 10 + [1] * 3 + [2])
    fit, held = stratified_holdout(y, 0.2, seed=0)
    assert sorted(np.concatenate([fit, held]).tolist()) == list(range(14))
    assert set(y[fit]) == {0, 1, 2}                     # every class keeps training samples
    assert (y[held] == 0).sum() == 2 and (y[held] == 1).sum() == 1 and (y[held] == 2).sum() == 0
    a, b = stratified_holdout(y, 0.2, seed=0)
    assert a.tolist() == fit.tolist()
