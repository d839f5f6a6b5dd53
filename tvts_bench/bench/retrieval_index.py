"""FAISS-backed nearest-neighbour search on L2-normalised features (inner product = cosine).

Backends, chosen by :func:`choose_backend`:

- ``torch`` (exact, default on CPU and on CUDA without faiss-gpu): a blocked ``queries @ gallery.T`` and
  ``topk``. Measured on this project's 2-core CPU, 10k x 10k x 768 took 0.7 s this way and 2.5 s in
  faiss-cpu's ``IndexFlatIP`` (torch's BLAS matmul beats faiss's flat scan there), so exact search
  never goes through faiss-cpu.
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


def _block_rows(n_gallery: int, budget_bytes: int = 512 << 20) -> int:
    # Bigger score blocks amortise the top-k pass; 512 MB keeps peak memory modest next to the gallery.
    return max(1, min(1 << 16, budget_bytes // max(1, 4 * n_gallery)))


def exact_search_torch(queries: np.ndarray, gallery: np.ndarray, k: int, *, exclude_self: bool = False,
                       device: str | torch.device = "cpu", block_rows: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k inner product, blocked over queries so memory stays ~512 MB. Returns (scores, ids)."""
    dev = torch.device(device)
    g = torch.from_numpy(gallery).to(dev)
    nq, ng = queries.shape[0], gallery.shape[0]
    k_eff = min(k, ng - (1 if exclude_self else 0))
    scores = np.empty((nq, k_eff), dtype=np.float32)
    ids = np.empty((nq, k_eff), dtype=np.int64)
    rows = block_rows or _block_rows(ng)
    with torch.inference_mode():
        for s in range(0, nq, rows):
            e = min(nq, s + rows)
            sim = torch.from_numpy(queries[s:e]).to(dev) @ g.T
            if exclude_self:
                r = torch.arange(e - s, device=dev)
                sim[r, r + s] = float("-inf")
            v, i = sim.topk(k_eff, dim=1)
            scores[s:e] = v.cpu().numpy()
            ids[s:e] = i.cpu().numpy()
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
