"""FAISS-backed nearest-neighbour search on L2-normalised features (inner product = cosine).

Backends, chosen by :func:`choose_backend`:

- ``torch`` (exact, default on CPU and on CUDA without faiss-gpu): ``queries @ gallery.T`` tiled over
  queries and gallery into one reused cache-sized score buffer, ``topk`` per tile and a merge of the
  per-tile candidates (``exact_search_torch``: why, memory bound, tie rule). Measured on this project's
  2-core CPU, 10k x 10k x 768 took 0.7 s as one blocked matmul and 2.5 s in faiss-cpu's ``IndexFlatIP``
  (torch's BLAS matmul beats faiss's flat scan there), so exact search never goes through faiss-cpu.
- ``faiss-gpu`` (exact): ``GpuIndexFlatIP`` when faiss-gpu is installed and the device is CUDA.
- ``ivf`` / ``hnsw`` (approximate): faiss ``IndexIVFFlat`` / ``IndexHNSWFlat`` (inner-product metric)
  for galleries too large to scan; :func:`recall_at_10_vs_exact` measures what they lose.

Self-exclusion (every video queries the others) assumes query ``i`` IS gallery item ``i``: one more
neighbour is searched and item ``i`` is dropped from row ``i``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

Kind = Literal["auto", "exact", "torch", "faiss-gpu", "ivf", "hnsw"]


def _faiss():
    try:
        import faiss  # noqa: PLC0415
    except ImportError:  # pragma: no cover - faiss-cpu is a dependency
        return None
    return faiss


def faiss_gpu_available() -> bool:
    faiss = _faiss()
    return bool(faiss is not None and hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0)


def choose_backend(kind: Kind = "auto", device: str | torch.device = "cpu") -> str:
    """``auto``/``exact`` -> faiss-gpu on CUDA when installed, else the blocked torch matmul."""
    if kind in ("ivf", "hnsw", "torch", "faiss-gpu"):
        return kind
    if str(device).startswith("cuda") and faiss_gpu_available():
        return "faiss-gpu"
    return "torch"


def normalize(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """Rows scaled to unit L2 norm, as float32 C-contiguous.

    Features that are already unit-norm float32 (what the protocols pass) are returned without a copy:
    at a 1M x 768 gallery a copy is 3 GB and seconds of memory traffic (measured: it was the whole gap
    to a plain matmul in benchmarks/retrieval.py).
    """
    source = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    a = np.ascontiguousarray(source, dtype=np.float32)
    sq = np.einsum("ij,ij->i", a, a)          # squared norms without an N x D temporary
    if a.size and float(np.abs(sq - 1.0).max()) < 2e-4:
        return a
    n = np.sqrt(sq)[:, None]
    if not np.shares_memory(a, source):
        a /= np.maximum(n, 1e-12)      # ``a`` is already our own copy: scale it in place
        return a
    return a / np.maximum(n, 1e-12)    # never modify the caller's array or tensor


# Tile shape of the exact search (see ``exact_search_torch``). Measured on this project's 2-core AVX-512 EPYC
# (benchmarks/retrieval.py, D=256): a plain ``q @ g.T`` at a 1M gallery writes a [268, 1M] score matrix per
# 1 GiB chunk into freshly faulted pages and runs at ~6.5-9 ns per score; into a reused tile of a few MB the
# same matmul + topk run at ~3.5-4 ns per score. Tiles of 4, 8, 16 and 32 MB: 8 MB was fastest at 100k and
# 1M with 1k queries (32 MB already lost at 100k); 1024-8192 columns made no measurable difference.
TILE_SCORE_BYTES = 8 << 20      # one reused score tile
MAX_BLOCK_ROWS = 1024           # query rows per block: more rows buy no matmul speed, only narrower tiles
MIN_TILE_COLS = 1024            # narrower tiles make the per-op overheads of mm and topk dominate
CANDIDATE_BYTES = 64 << 20      # candidate (score, id) buffers; compacted to the k best per row when full
CUDA_TILE_SCORE_BYTES = 256 << 20


def _block_rows() -> int:
    """Query rows per block; a tile of MIN_TILE_COLS gallery columns must fit the score budget (the
    gallery is tiled, so its size does not bound the rows)."""
    return max(1, min(MAX_BLOCK_ROWS, TILE_SCORE_BYTES // (4 * MIN_TILE_COLS)))


def _tile_cols(n_gallery: int, rows: int) -> int:
    """Gallery columns per score tile: what fills the score budget for ``rows`` query rows."""
    return max(1, min(n_gallery, max(MIN_TILE_COLS, TILE_SCORE_BYTES // (4 * max(1, rows)))))


def _self_block(n: int) -> int:
    """Side of the square tiles of an all-vs-all search (queries = gallery)."""
    return max(1, min(n, int((TILE_SCORE_BYTES // 4) ** 0.5)))


def _topk_lowest_id(values: torch.Tensor, ids: torch.Tensor | None, k: int
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The k best of each row by (higher value, then LOWER id); returns (values, column positions).

    ``ids`` [r, n] names each column's gallery id; None means the column index orders the ids. torch.topk
    breaks ties arbitrarily, which would make the answer depend on the tile shape; so rows where the k-th
    and the (k+1)-th value are equal (rare with real features: duplicate videos, all-zero features) are
    redone exactly: everything above the k-th value, then the lowest ids among those equal to it. Rows come
    back sorted by value only (equal values in any order); ``_order_lowest_id`` orders the final answer.
    """
    r, n = values.shape
    if n <= k:
        return values, torch.arange(n, device=values.device).expand(r, n)
    top_v, top_pos = values.topk(k + 1, dim=1)
    out_v, out_pos = top_v[:, :k], top_pos[:, :k]
    tied = (top_v[:, k - 1] == top_v[:, k]).nonzero().squeeze(1)
    if tied.numel():
        sub = values[tied]
        sub_ids = ids[tied] if ids is not None else torch.arange(n, device=values.device).expand(len(tied), n)
        kth = top_v[tied, k - 1:k]
        above = sub > kth
        equal = sub == kth
        need = k - above.sum(1, keepdim=True)                        # >= 1 on a tied row
        eq_ids = torch.where(equal, sub_ids, torch.full_like(sub_ids, torch.iinfo(sub_ids.dtype).max))
        cutoff = eq_ids.sort(dim=1).values.gather(1, need - 1)       # the need-th lowest tied id
        keep = above | (equal & (sub_ids <= cutoff))                 # exactly k per row: ids are unique
        pos = keep.nonzero()[:, 1].view(len(tied), k)
        out_v, out_pos = out_v.clone(), out_pos.clone()
        out_v[tied] = sub.gather(1, pos)
        out_pos[tied] = pos
    return out_v, out_pos


def _order_lowest_id(values: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sort each row by value, descending, equal values by ascending id (two stable sorts of k columns).
    Rows from topk are already strictly decreasing unless they hold equal values: then nothing to reorder."""
    if bool((values[:, 1:] < values[:, :-1]).all()):
        return values, ids
    by_id = ids.sort(dim=1, stable=True).indices
    values, ids = values.gather(1, by_id), ids.gather(1, by_id)
    by_value = values.sort(dim=1, descending=True, stable=True).indices
    return values.gather(1, by_value), ids.gather(1, by_value)


class _Candidates:
    """Per-row (score, id) candidates for rows ``[0, n_rows)``, filled in row ranges that start at the same
    row each time; a range's candidates are compacted to its k best when its buffer is full."""

    def __init__(self, n_rows: int, k: int, per_add: int, n_adds: int, like: torch.Tensor):
        self.k = k
        # Room for every tile's candidates when that fits the budget, else at least k + 2 tiles' worth.
        cols = max(k + 2 * per_add, min(k + n_adds * per_add, CANDIDATE_BYTES // (12 * max(1, n_rows))))
        self.values = torch.empty((n_rows, cols), dtype=like.dtype, device=like.device)
        self.ids = torch.empty((n_rows, cols), dtype=torch.int64, device=like.device)
        self.filled: dict[int, int] = {}

    def add(self, r0: int, r1: int, values: torch.Tensor, ids: torch.Tensor) -> None:
        n, w = self.filled.get(r0, 0), values.shape[1]
        if n + w > self.values.shape[1]:
            v, i = self._best(r0, r1, n)
            n = v.shape[1]
            self.values[r0:r1, :n], self.ids[r0:r1, :n] = v, i
        self.values[r0:r1, n:n + w] = values
        self.ids[r0:r1, n:n + w] = ids
        self.filled[r0] = n + w

    def _best(self, r0: int, r1: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        ids = self.ids[r0:r1, :n]
        v, pos = _topk_lowest_id(self.values[r0:r1, :n], ids, self.k)
        return v.clone(), ids.gather(1, pos)

    def result(self, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
        v, i = _order_lowest_id(*self._best(r0, r1, self.filled.pop(r0)))
        return v.cpu().numpy(), i.cpu().numpy()


def _is_same_matrix(a: np.ndarray, b: np.ndarray) -> bool:
    """True when the queries are the gallery itself (the v2v case), by memory or by value."""
    if a.shape != b.shape:
        return False
    if a.__array_interface__["data"][0] == b.__array_interface__["data"][0] and a.strides == b.strides:
        return True
    return bool(np.array_equal(a, b))       # one read of both: small next to the Q x N x D matmul


def exact_search_torch(queries: np.ndarray, gallery: np.ndarray, k: int, *, exclude_self: bool = False,
                       device: str | torch.device = "cpu", block_rows: int | None = None,
                       tile_cols: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k inner product, tiled over queries AND gallery. Returns (scores, ids), best first.

    Why tiles: a plain ``(q @ g.T).topk(k)`` materialises a [rows, N] score matrix; at N = 1M that is
    gigabytes of freshly faulted pages written by the matmul and read back by topk, and the matmul runs ~3x
    slower than into a cache-sized tile. Here each block of ``block_rows`` queries walks the gallery in
    tiles of ``tile_cols`` columns, scoring into ONE reused buffer (``torch.mm(out=)``: no allocator churn,
    no page faults), keeps each tile's k best and merges them. When the queries are the gallery itself
    (all-vs-all, as in v2v), the score matrix is symmetric: each off-diagonal tile is computed once and
    serves both its row block and (transposed) its column block, which halves the matmul work.

    Memory bound (why it stays small at any N): one score tile of TILE_SCORE_BYTES (8 MB), candidate
    buffers of at most max(CANDIDATE_BYTES = 64 MB, 12 bytes x 3k per held query row: a block of rows, or
    all N rows in the all-vs-all case, whose rows finish at different times), and the [Q, k] output.
    Nothing else grows with the gallery, which is never copied.

    Ties: among exactly equal scores the LOWER gallery id ranks first, whatever the tile shape (so the
    answer is deterministic; a plain torch.topk may order exact ties differently). ``exclude_self``: query
    ``i`` is gallery item ``i``; its score is set to -inf inside the one tile that holds column ``i``.
    Threads: every op is an intra-op parallel torch op (torch.get_num_threads(); the BLAS matmul included).
    """
    dev = torch.device(device)
    nq, ng = queries.shape[0], gallery.shape[0]
    k_eff = max(0, min(k, ng - (1 if exclude_self else 0)))
    if nq == 0 or k_eff == 0:
        return np.empty((nq, k_eff), dtype=np.float32), np.empty((nq, k_eff), dtype=np.int64)
    g = torch.from_numpy(gallery).to(dev)
    with torch.inference_mode():
        if block_rows is None and tile_cols is None and dev.type == "cuda":
            # The 8 MB tile is a CPU cache size; a GPU wants few large launches. Not yet measured on a
            # GPU (none has been available to the developers yet): 256 MB tiles of up to 4096 rows.
            block_rows = min(nq, 4096)
            tile_cols = max(1, min(ng, (CUDA_TILE_SCORE_BYTES // 4) // block_rows))
        if block_rows is None and tile_cols is None:
            if 4 * nq * ng <= 2 * TILE_SCORE_BYTES:            # small: one tile, fewest ops (measured at 2k)
                block_rows, tile_cols = nq, ng
            elif _is_same_matrix(queries, gallery):
                return _search_all_vs_all(g, k_eff, exclude_self, _self_block(ng))
        return _search_blocks(torch.from_numpy(queries).to(dev), g, k_eff, exclude_self,
                              block_rows, tile_cols)


def _search_blocks(q: torch.Tensor, g: torch.Tensor, k: int, exclude_self: bool,
                   block_rows: int | None, tile_cols: int | None) -> tuple[np.ndarray, np.ndarray]:
    nq, ng = q.shape[0], g.shape[0]
    rows = max(1, min(nq, block_rows or _block_rows()))
    cols = max(1, min(ng, tile_cols or _tile_cols(ng, rows)))
    kt = min(k, cols)                                          # candidates kept per tile
    scores = np.empty((nq, k), dtype=np.float32)
    ids = np.empty((nq, k), dtype=np.int64)
    tile_buf = torch.empty(rows * cols, dtype=g.dtype, device=g.device)
    cand = _Candidates(rows, k, kt, -(-ng // cols), g)
    for s in range(0, nq, rows):
        e = min(nq, s + rows)
        for c0 in range(0, ng, cols):
            c1 = min(ng, c0 + cols)
            tile = tile_buf[: (e - s) * (c1 - c0)].view(e - s, c1 - c0)
            torch.mm(q[s:e], g[c0:c1].T, out=tile)
            if exclude_self and max(s, c0) < min(e, c1):       # the rows whose own column is in this tile
                own = torch.arange(max(s, c0), min(e, c1), device=g.device)
                tile[own - s, own - c0] = float("-inf")
            v, pos = _topk_lowest_id(tile, None, kt)
            if cols == ng:                                     # one tile: its k best are the answer
                v, i = _order_lowest_id(v, pos)
                scores[s:e], ids[s:e] = v.cpu().numpy(), i.cpu().numpy()
                break
            cand.add(0, e - s, v, pos + c0)
        else:
            scores[s:e], ids[s:e] = cand.result(0, e - s)
    return scores, ids


def _search_all_vs_all(g: torch.Tensor, k: int, exclude_self: bool, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Queries = gallery: square tiles (I, J) with J >= I only; tile (I, J) feeds rows I, its transpose rows J.
    Row block I is complete after outer step I (blocks before it sent their transposed tiles already)."""
    n = g.shape[0]
    starts = list(range(0, n, block))
    kt = min(k, block)
    scores = np.empty((n, k), dtype=np.float32)
    ids = np.empty((n, k), dtype=np.int64)
    tile_buf = torch.empty(block * block, dtype=g.dtype, device=g.device)
    cand = _Candidates(n, k, kt, len(starts), g)
    for bi, r0 in enumerate(starts):
        r1 = min(n, r0 + block)
        for c0 in starts[bi:]:
            c1 = min(n, c0 + block)
            tile = tile_buf[: (r1 - r0) * (c1 - c0)].view(r1 - r0, c1 - c0)
            torch.mm(g[r0:r1], g[c0:c1].T, out=tile)
            if c0 == r0 and exclude_self:
                tile.fill_diagonal_(float("-inf"))
            v, pos = _topk_lowest_id(tile, None, min(kt, c1 - c0))
            cand.add(r0, r1, v, pos + c0)
            if c0 != r0:                                     # topk of the transposed view: as fast (measured)
                v, pos = _topk_lowest_id(tile.T, None, min(kt, r1 - r0))
                cand.add(c0, c1, v, pos + r0)
        scores[r0:r1], ids[r0:r1] = cand.result(r0, r1)
    return scores, ids


@dataclass
class IndexConfig:
    kind: Kind = "auto"
    nlist: int | None = None        # IVF cells; default ~ 4 sqrt(N)
    # IVF cells visited. Default max(16, nlist // 32): measured at 100k (benchmarks/retrieval.py) nprobe 8-16
    # keeps recall@10 at 0.9999 and is 10-17x faster than exact search, whereas nlist // 4 was slower.
    nprobe: int | None = None
    hnsw_m: int = 32
    ef_search: int = 64             # measured: 32 -> recall@10 0.9994 (8x faster than exact); 64 for margin
    ef_construction: int = 80
    seed: int = 0


class RetrievalIndex:
    """A searchable gallery. ``search(queries, k)`` -> (scores [Q, k], ids [Q, k]), best first."""

    def __init__(self, gallery: np.ndarray | torch.Tensor, config: IndexConfig | None = None, *,
                 device: str | torch.device = "cpu"):
        self.config = config or IndexConfig()
        self.device = str(device)
        self.gallery = normalize(gallery)
        self.backend = choose_backend(self.config.kind, self.device)
        self._faiss_index = None
        if self.backend != "torch":
            self._build_faiss()

    def __len__(self) -> int:
        return self.gallery.shape[0]

    def _build_faiss(self) -> None:
        faiss = _faiss()
        if faiss is None:
            raise RuntimeError("faiss is not installed")
        faiss.omp_set_num_threads(max(1, torch.get_num_threads()))
        n, d = self.gallery.shape
        cfg = self.config
        if self.backend == "faiss-gpu":
            res = faiss.StandardGpuResources()
            dev = torch.device(self.device).index or 0
            gpu_cfg = faiss.GpuIndexFlatConfig()
            gpu_cfg.device = dev
            index = faiss.GpuIndexFlatIP(res, d, gpu_cfg)
            self._gpu_res = res  # keep the resources alive as long as the index
        elif self.backend == "ivf":
            nlist = cfg.nlist or max(1, min(n // 8, int(4 * np.sqrt(n))))
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = cfg.seed
            index.train(self.gallery)
            index.nprobe = min(nlist, cfg.nprobe or max(16, nlist // 32))
            self._quantizer = quantizer
        elif self.backend == "hnsw":
            index = faiss.IndexHNSWFlat(d, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = cfg.ef_construction
            index.hnsw.efSearch = cfg.ef_search
        else:  # pragma: no cover
            raise ValueError(f"unknown index kind {self.backend!r}")
        index.add(self.gallery)
        self._faiss_index = index

    def search(self, queries: np.ndarray | torch.Tensor, k: int, *, exclude_self: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
        q = normalize(queries)
        if exclude_self and q.shape[0] != len(self):
            raise ValueError("exclude_self needs the queries to be the gallery itself (same rows)")
        if self.backend == "torch":
            return exact_search_torch(q, self.gallery, k, exclude_self=exclude_self, device=self.device)
        k_eff = min(k, len(self) - (1 if exclude_self else 0))
        extra = 1 if exclude_self else 0
        if self.backend == "hnsw":
            self._faiss_index.hnsw.efSearch = max(self.config.ef_search, k_eff + extra)
        scores, ids = self._faiss_index.search(q, k_eff + extra)
        if not exclude_self:
            return scores, ids
        return _drop_self(scores, ids, k_eff)


def _drop_self(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove row i's own id (or, when it was not retrieved, the last neighbour)."""
    rows = np.arange(ids.shape[0])[:, None]
    is_self = ids == rows
    keep = ~is_self
    no_self = ~is_self.any(axis=1)
    keep[no_self, -1] = False
    out_s = scores[keep].reshape(ids.shape[0], -1)[:, :k]
    out_i = ids[keep].reshape(ids.shape[0], -1)[:, :k]
    return out_s, out_i


def search_exact(queries, gallery, k: int, *, exclude_self: bool = False, device: str = "cpu"):
    """Convenience: exact top-k with the fastest backend for the device."""
    index = RetrievalIndex(gallery, IndexConfig(kind="auto"), device=device)
    return index.search(queries, k, exclude_self=exclude_self)


def recall_at_10_vs_exact(approx_ids: np.ndarray, exact_ids: np.ndarray, k: int = 10) -> float:
    """Share of the exact top-k neighbours that the approximate search also returns in its top-k."""
    a = np.asarray(approx_ids)[:, :k]
    e = np.asarray(exact_ids)[:, :k]
    found = sum(len(set(ar.tolist()) & set(er.tolist())) for ar, er in zip(a, e))
    return found / max(1, e.size)
