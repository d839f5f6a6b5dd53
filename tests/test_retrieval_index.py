"""Tiled exact search (``retrieval_index.exact_search_torch``) against one full matmul + sort.

The reference ranks every row of the full score matrix by (higher score, then lower gallery id), the
documented tie rule. Integer-valued features make every dot product exact in float32, so tiles and the full
matrix agree to the bit and ties are real ties; random float features check the ordinary case.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tvts_bench.bench import retrieval_index as ri
from tvts_bench.bench.retrieval_index import IndexConfig, RetrievalIndex, exact_search_torch, normalize


def _reference(q: np.ndarray, g: np.ndarray, k: int, exclude_self: bool = False):
    s = (torch.from_numpy(q) @ torch.from_numpy(g).T).numpy()
    if exclude_self:
        np.fill_diagonal(s, -np.inf)
    k = min(k, g.shape[0] - (1 if exclude_self else 0))
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]      # stable: equal scores keep ascending ids
    return np.take_along_axis(s, order, 1), order


def _random(n: int, d: int, seed: int) -> np.ndarray:
    return normalize(np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32))


def _integers(n: int, d: int, seed: int, values: int = 2) -> np.ndarray:
    """Few distinct small integers per coordinate: many exactly equal scores."""
    return np.random.default_rng(seed).integers(-values, values + 1, (n, d)).astype(np.float32)


def _assert_same(got, want, exact_scores: bool) -> None:
    (gs, gi), (ws, wi) = got, want
    assert gs.shape == ws.shape and gi.shape == wi.shape
    np.testing.assert_array_equal(gi, wi)
    if exact_scores:
        np.testing.assert_array_equal(gs, ws)
    else:
        np.testing.assert_allclose(gs, ws, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("nq", "ng", "k", "rows", "cols"), [
    (300, 1000, 10, 64, 96),      # gallery not a multiple of the tile (1000 = 10 x 96 + 40), ragged row block
    (50, 777, 25, 7, 16),         # k larger than a tile: every tile gives all its columns
    (120, 5000, 10, 120, 1024),   # one row block, five tiles, last one partial
    (40, 300, 10, None, None),    # default shape: one tile
])
def test_tiled_equals_full_matmul(nq, ng, k, rows, cols):
    g = _random(ng, 16, seed=ng)
    q = _random(nq, 16, seed=nq + 1)
    got = exact_search_torch(q, g, k, block_rows=rows, tile_cols=cols)
    _assert_same(got, _reference(q, g, k), exact_scores=False)


@pytest.mark.parametrize("cols", [13, 64, 1000])
def test_exclude_self_drops_each_row_own_column_in_its_tile(cols):
    g = _random(400, 8, seed=3)
    s, i = exact_search_torch(g, g, 10, exclude_self=True, block_rows=37, tile_cols=cols)
    assert not (i == np.arange(400)[:, None]).any()
    _assert_same((s, i), _reference(g, g, 10, exclude_self=True), exact_scores=False)


@pytest.mark.parametrize(("n", "k", "exclude"), [(3, 10, False), (3, 10, True), (1, 5, True), (11, 10, True)])
def test_tiny_gallery_returns_every_other_item(n, k, exclude):
    g = _random(n, 4, seed=n)
    s, i = exact_search_torch(g, g, k, exclude_self=exclude)
    want = _reference(g, g, k, exclude_self=exclude)
    assert i.shape == (n, min(k, n - exclude))
    _assert_same((s, i), want, exact_scores=False)


def test_ties_rank_lower_ids_first_whatever_the_tile_shape():
    # 600 items over 3 coordinates in {-1, 0, 1}: at most 27 distinct vectors, so every top-10 is ties.
    g = _integers(600, 3, seed=0, values=1)
    want = _reference(g, g, 10)
    for rows, cols in [(600, 600), (64, 50), (7, 3), (100, 32)]:
        got = exact_search_torch(g, g, 10, block_rows=rows, tile_cols=cols)
        _assert_same(got, want, exact_scores=True)
    # by hand: duplicates of the query score the same; the lowest ids come first
    dup = np.array([[1, 0], [0, 1], [1, 0], [1, 0], [0, 1]], dtype=np.float32)
    s, i = exact_search_torch(dup[:1], dup, 4, tile_cols=2)
    assert i.tolist() == [[0, 2, 3, 1]] and s.tolist() == [[1.0, 1.0, 1.0, 0.0]]


@pytest.mark.parametrize("exclude", [False, True])
def test_all_vs_all_symmetric_path(monkeypatch, exclude):
    # Small tile budget: the all-vs-all path runs with 37 x 37 tiles (off-diagonal tiles used twice).
    monkeypatch.setattr(ri, "TILE_SCORE_BYTES", 4 * 37 * 37)
    for g, exact in [(_random(1000, 8, seed=5), False), (_integers(1000, 6, seed=6), True)]:
        want = _reference(g, g, 10, exclude_self=exclude)
        _assert_same(exact_search_torch(g, g, 10, exclude_self=exclude), want, exact)
        # an equal copy (not the same memory) is recognised too, with the same answer
        _assert_same(exact_search_torch(g.copy(), g, 10, exclude_self=exclude), want, exact)


def test_candidate_buffer_compaction(monkeypatch):
    # A candidate buffer too small for all tiles: it is compacted to the k best several times per row.
    monkeypatch.setattr(ri, "CANDIDATE_BYTES", 12 * 64 * 35)
    g = _integers(3000, 4, seed=1)
    q = g[:200].copy()
    got = exact_search_torch(q, g, 10, block_rows=64, tile_cols=100)
    _assert_same(got, _reference(q, g, 10), exact_scores=True)
    monkeypatch.setattr(ri, "TILE_SCORE_BYTES", 4 * 50 * 50)
    _assert_same(exact_search_torch(g, g, 7, exclude_self=True), _reference(g, g, 7, exclude_self=True), True)


def test_default_shapes_follow_the_budgets():
    rows = ri._block_rows()
    cols = ri._tile_cols(1_000_000, rows)
    assert 1 <= rows <= ri.MAX_BLOCK_ROWS
    assert cols >= ri.MIN_TILE_COLS and 4 * rows * cols <= max(ri.TILE_SCORE_BYTES, 4 * rows * ri.MIN_TILE_COLS)
    assert ri._tile_cols(500, rows) == 500                    # never wider than the gallery
    side = ri._self_block(1_000_000)
    assert 4 * side * side <= ri.TILE_SCORE_BYTES and side > 1000


def test_index_search_uses_the_tiled_path_with_exclude_self():
    g = np.random.default_rng(2).standard_normal((500, 12)).astype(np.float32) * 3   # not unit norm
    idx = RetrievalIndex(g, IndexConfig(kind="auto"))
    s, i = idx.search(g, 10, exclude_self=True)
    gn = normalize(g)
    _assert_same((s, i), _reference(gn, gn, 10, exclude_self=True), exact_scores=False)
    assert np.isfinite(s).all()


def test_empty_queries_and_k_zero():
    g = _random(20, 4, seed=0)
    s, i = exact_search_torch(g[:0], g, 5)
    assert s.shape == (0, 5) and i.shape == (0, 5)
    s, i = exact_search_torch(g[:1], g[:1], 5, exclude_self=True)
    assert s.shape == (1, 0)
