"""The retrieval index behind v2v: exact search equals brute force; approximate indexes keep recall."""

from __future__ import annotations

import numpy as np
import pytest

from tvts_bench.bench.retrieval_index import (IndexConfig, RetrievalIndex, choose_backend, exact_search_torch,
                                              normalize, recall_at_10_vs_exact)


def _brute(q, g, k, exclude_self):
    s = normalize(q) @ normalize(g).T
    if exclude_self:
        np.fill_diagonal(s, -np.inf)
    ids = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(s, ids, 1), ids


def test_torch_exact_equals_numpy_brute_force():
    rng = np.random.default_rng(0)
    g = rng.normal(size=(300, 16)).astype(np.float32)
    assert choose_backend("auto", "cpu") == "torch"
    idx = RetrievalIndex(g)
    for exclude in (False, True):
        s, i = idx.search(g, 10, exclude_self=exclude)
        bs, bi = _brute(g, g, 10, exclude)
        np.testing.assert_array_equal(i, bi)
        np.testing.assert_allclose(s, bs, rtol=1e-5, atol=1e-6)
        if exclude:
            assert not (i == np.arange(300)[:, None]).any()
    # small blocks give the same answer as one block
    s2, i2 = exact_search_torch(normalize(g[:50]), normalize(g), 5, block_rows=7)
    np.testing.assert_array_equal(i2, _brute(g[:50], g, 5, False)[1])


def _clustered(n=2000, d=32, clusters=40, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d)) * 4
    return (centres[rng.integers(0, clusters, n)] + rng.normal(size=(n, d))).astype(np.float32)


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_recall_at_10(kind):
    g = _clustered()
    exact = RetrievalIndex(g, IndexConfig(kind="exact"))
    approx = RetrievalIndex(g, IndexConfig(kind=kind, seed=0))
    assert approx.backend == kind
    _, ei = exact.search(g, 10, exclude_self=True)
    _, ai = approx.search(g, 10, exclude_self=True)
    assert ai.shape == (2000, 10)
    assert not (ai == np.arange(2000)[:, None]).any()
    assert recall_at_10_vs_exact(ai, ei) >= 0.99


def test_recall_helper_counts_overlap():
    assert recall_at_10_vs_exact(np.array([[1, 2, 3]]), np.array([[3, 4, 1]]), k=3) == pytest.approx(2 / 3)
