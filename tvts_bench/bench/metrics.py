"""Metric functions: classification accuracy, video-to-video retrieval, text-video retrieval.

Every function returns the *per-query outcomes* (a 0/1 hit, an average precision, a 0-based rank) as
well as, or instead of, the aggregate, so that ``stats.bootstrap_ci`` can resample queries and the
leaderboard can run paired tests. Aggregates follow REFERENCE section 3 exactly:

- top-k accuracy: % of samples whose label is among the k highest scores.
- v2v R@K: % of queries with at least one same-class video among the top K, the query itself excluded;
  mAP: mean over queries of the average precision over the whole ranked gallery (self excluded).
- text-video retrieval from a similarity matrix ``sim[q, v]`` (rows = text queries, columns = videos):
  ``r`` = 0-based rank of the ground truth, ``R@K = 100 * mean(r < K)``, ``MedR = median(r) + 1``,
  ``MeanR = mean(r) + 1``.

Ties are ranked OPTIMISTICALLY everywhere: an item whose score equals the ground truth's does not push
the ground truth down (rank = number of items with a strictly higher score), and in v2v rankings
same-class videos are placed before other-class videos of equal score. Degenerate encoders (constant
features, e.g. a frame-repeated variant of a collapsed model) therefore get the best possible score
rather than an arbitrary one; the temporal diagnostic and the scratch baseline make such cases visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

# ---------------------------------------------------------------------------------------------------
# classification


def topk_hits(scores: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
              ks: Sequence[int] = (1, 5)) -> dict[int, np.ndarray]:
    """Per-sample 0/1 outcomes: is the label among the k highest scores? ``scores`` [N, C], labels [N].

    k larger than the number of classes is clamped (every sample is then a hit). Ties are optimistic:
    the label counts as within the top k when fewer than k classes score strictly higher.
    """
    s = torch.as_tensor(np.asarray(scores) if not isinstance(scores, torch.Tensor) else scores).float()
    y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels).long()
    if s.ndim != 2 or y.ndim != 1 or s.shape[0] != y.shape[0]:
        raise ValueError(f"scores must be [N, C] and labels [N]; got {tuple(s.shape)} and {tuple(y.shape)}")
    true_score = s.gather(1, y[:, None])                      # [N, 1]
    higher = (s > true_score).sum(dim=1)                      # classes strictly above the label
    return {k: (higher < k).numpy().astype(np.float64) for k in ks}


def topk_accuracy(scores, labels, ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Top-k accuracy in percent for each k."""
    return {k: 100.0 * float(h.mean()) if h.size else float("nan") for k, h in topk_hits(scores, labels, ks).items()}


# ---------------------------------------------------------------------------------------------------
# video-to-video retrieval


@dataclass
class V2VResult:
    hits: dict[int, np.ndarray]         # K -> [N] 0/1: a same-class video in the top K
    ap: np.ndarray                      # [N] average precision over the ranked gallery (nan: no positive)
    first_rank: np.ndarray              # [N] 0-based rank of the first same-class video (-1: none)
    neighbors: np.ndarray               # [N, Kmax] gallery ids of the top Kmax (self excluded)
    valid: np.ndarray                   # [N] bool: the query has at least one same-class video

    def metrics(self) -> dict[str, float]:
        """Percentages over queries that have at least one positive (a class of one cannot be found)."""
        out = {f"R@{k}": 100.0 * float(h[self.valid].mean()) if self.valid.any() else float("nan")
               for k, h in self.hits.items()}
        out["mAP"] = 100.0 * float(self.ap[self.valid].mean()) if self.valid.any() else float("nan")
        return out


def l2_normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(eps)


def v2v_retrieval(features: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
                  ks: Sequence[int] = (1, 5, 10), *, normalize: bool = True, block_size: int | None = None,
                  device: str | torch.device = "cpu") -> V2VResult:
    """Every video queries all the others (itself excluded) by cosine similarity.

    Exact: the full gallery is ranked, in query blocks of a blocked matmul (memory ~ block x N).
    Optimistic ties: within equal scores, same-class videos rank first (a stable sort by relevance,
    then a stable sort by score).
    """
    x = torch.as_tensor(np.asarray(features) if not isinstance(features, torch.Tensor) else features)
    x = x.float().to(device)
    y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels).long().to(device)
    n = x.shape[0]
    if normalize:
        x = l2_normalize(x)
    kmax = max(ks) if ks else 1
    if block_size is None:  # keep a block's scores + sort buffers around 64 MB
        block_size = max(1, min(n, (64 << 20) // max(1, n * 24)))
    hits = {k: np.zeros(n) for k in ks}
    ap = np.full(n, np.nan)
    first = np.full(n, -1, dtype=np.int64)
    neigh = np.full((n, min(kmax, max(n - 1, 0))), -1, dtype=np.int64)
    positives = torch.bincount(y, minlength=int(y.max()) + 1 if n else 1)[y] - 1   # same-class others
    valid = (positives > 0).cpu().numpy()
    for start in range(0, n, block_size):
        stop = min(n, start + block_size)
        q = torch.arange(start, stop, device=device)
        sim = x[start:stop] @ x.T                                            # [b, N]
        rel = (y[start:stop, None] == y[None, :])
        rel[torch.arange(stop - start, device=device), q] = False
        sim[torch.arange(stop - start, device=device), q] = float("-inf")    # self goes last ...
        # optimistic ties: order by relevance first, then a STABLE sort by score keeps relevant first
        order = torch.argsort(rel.to(torch.int8), dim=1, descending=True, stable=True)
        sim_r = sim.gather(1, order)
        order2 = torch.argsort(sim_r, dim=1, descending=True, stable=True)
        ranked = order.gather(1, order2)[:, : n - 1]                         # ... and is cut off here
        rel_ranked = rel.gather(1, ranked).to(torch.float64)                 # [b, N-1]
        cum = rel_ranked.cumsum(dim=1)
        pos = torch.arange(1, n, device=device, dtype=torch.float64)
        npos = positives[start:stop].to(torch.float64)
        ap_b = (rel_ranked * cum / pos).sum(dim=1) / npos.clamp_min(1)
        has = rel_ranked.sum(dim=1) > 0
        first_b = torch.where(has, rel_ranked.argmax(dim=1), torch.full_like(npos, -1, dtype=torch.long))
        ap[start:stop] = torch.where(npos > 0, ap_b, torch.full_like(ap_b, float("nan"))).cpu().numpy()
        first[start:stop] = first_b.cpu().numpy()
        neigh[start:stop] = ranked[:, : neigh.shape[1]].cpu().numpy()
    for k in ks:
        hits[k] = ((first >= 0) & (first < k)).astype(np.float64)
    return V2VResult(hits=hits, ap=ap, first_rank=first, neighbors=neigh, valid=valid)


# ---------------------------------------------------------------------------------------------------
# text-video retrieval


@dataclass
class RankResult:
    """0-based ranks of the ground truth, one per query, and the metrics they give."""

    ranks: np.ndarray                   # [Q] int
    ks: tuple[int, ...] = (1, 5, 10)
    extra: dict = field(default_factory=dict)

    def metrics(self, prefix: str = "") -> dict[str, float]:
        return rank_metrics(self.ranks, self.ks, prefix=prefix)


def rank_metrics(ranks: np.ndarray, ks: Sequence[int] = (1, 5, 10), prefix: str = "") -> dict[str, float]:
    """R@K (percent), MedR and MeanR (1-based) from 0-based ranks."""
    r = np.asarray(ranks, dtype=np.float64)
    out = {f"{prefix}R@{k}": 100.0 * float(np.mean(r < k)) for k in ks}
    out[f"{prefix}MedR"] = float(np.median(r)) + 1.0
    out[f"{prefix}MeanR"] = float(np.mean(r)) + 1.0
    return out


def _as_sim(sim) -> torch.Tensor:
    return torch.as_tensor(np.asarray(sim) if not isinstance(sim, torch.Tensor) else sim).float()


def t2v_ranks(sim: np.ndarray | torch.Tensor, query_video: np.ndarray | Sequence[int]) -> np.ndarray:
    """Text-to-video: for each text query (row), the 0-based rank of its video among all columns.

    Optimistic ties: rank = number of videos with a strictly higher similarity than the ground truth.
    Works unchanged for several captions per video (MSVD): every caption is its own query.
    """
    s = _as_sim(sim)
    gt = torch.as_tensor(np.asarray(query_video), dtype=torch.long)
    if s.ndim != 2 or gt.shape != (s.shape[0],):
        raise ValueError(f"sim must be [Q, V] and query_video [Q]; got {tuple(s.shape)}, {tuple(gt.shape)}")
    true = s.gather(1, gt[:, None])
    return (s > true).sum(dim=1).numpy().astype(np.int64)


def v2t_ranks(sim: np.ndarray | torch.Tensor, query_video: np.ndarray | Sequence[int]) -> np.ndarray:
    """Video-to-text: each video (column) ranks all text queries; its rank is that of its BEST-ranked
    correct caption (several captions per video: any correct one counts). Optimistic ties.

    Videos that no query describes are skipped (a row of the result exists only for described videos,
    in ascending video order).
    """
    s = _as_sim(sim)
    gt = torch.as_tensor(np.asarray(query_video), dtype=torch.long)
    nv = s.shape[1]
    own = torch.zeros_like(s, dtype=torch.bool)
    own[torch.arange(s.shape[0]), gt] = True                               # [Q, V]: caption q describes v
    best = torch.where(own, s, torch.full_like(s, float("-inf"))).max(dim=0).values   # [V]
    described = own.any(dim=0)
    ranks = (s > best[None, :]).sum(dim=0)                                   # captions strictly above
    return ranks[described].numpy().astype(np.int64) if nv else np.zeros(0, dtype=np.int64)


def text_video_retrieval(sim: np.ndarray | torch.Tensor, query_video: Sequence[int],
                         ks: Sequence[int] = (1, 5, 10)) -> dict[str, RankResult]:
    """Both directions. ``sim`` [Q, V]: rows text queries, columns videos; ``query_video[q]`` = the
    column that caption ``q`` describes. One caption per video (MSR-VTT 1k-A, LSMDC, DiDeMo paragraphs)
    gives a square problem; MSVD gives Q = all captions, and t2v metrics average over all of them."""
    return {"t2v": RankResult(t2v_ranks(sim, query_video), tuple(ks)),
            "v2t": RankResult(v2t_ranks(sim, query_video), tuple(ks))}


def retrieval_metrics(results: dict[str, RankResult]) -> dict[str, float]:
    """Flat metric dict with the contract's keys: t2v_R@1 ... t2v_MeanR, v2t_R@1 ... v2t_MeanR."""
    out: dict[str, float] = {}
    for direction, res in results.items():
        out.update(res.metrics(prefix=f"{direction}_"))
    return out


# ---------------------------------------------------------------------------------------------------
# building text queries (the dataset protocols)

QUERY_MODES = ("first", "all", "paragraph")


def build_text_queries(captions_per_video: Sequence[Sequence[str]], mode: str) -> tuple[list[str], np.ndarray]:
    """Turn each video's captions into text queries.

    - ``first``: one caption per video (MSR-VTT 1k-A's JSFUSION sentence, LSMDC's description).
    - ``all``: every caption is its own query (MSVD multi-caption protocol).
    - ``paragraph``: all of a video's descriptions joined with spaces, in order, into one query (DiDeMo).

    Returns (queries, query_video) with ``query_video[q]`` the video index of query ``q``. Videos without
    a caption get no query (they still sit in the gallery as distractors).
    """
    if mode not in QUERY_MODES:
        raise ValueError(f"unknown query mode {mode!r}; known: {QUERY_MODES}")
    queries: list[str] = []
    owner: list[int] = []
    for v, caps in enumerate(captions_per_video):
        caps = [c.strip() for c in caps if c and c.strip()]
        if not caps:
            continue
        if mode == "first":
            chosen = [caps[0]]
        elif mode == "all":
            chosen = caps
        else:
            chosen = [" ".join(caps)]
        queries.extend(chosen)
        owner.extend([v] * len(chosen))
    return queries, np.asarray(owner, dtype=np.int64)
