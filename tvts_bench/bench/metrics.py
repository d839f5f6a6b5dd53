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
same-class videos are placed before other-class videos of equal score. "Equal" means within
``TIE_EPS`` (1e-6): the same cosine computed in two matmul blocks can differ in its last bits, and a
ranking must not depend on how queries were blocked. Degenerate encoders (constant
features, e.g. a frame-repeated variant of a collapsed model) therefore get the best possible score
rather than an arbitrary one; the temporal diagnostic and the scratch baseline make such cases visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

TIE_EPS = 1e-6      # scores closer than this to the ground truth's count as ties (optimistic)

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
    higher = (s > true_score + TIE_EPS).sum(dim=1)            # classes strictly above the label
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

    Exact: every query's full ranking is accounted for, in query blocks of a blocked matmul (memory
    ~ block x N): one sort of each similarity row and a top-P of its positives give the rank of every
    positive. Optimistic ties: within equal scores, same-class videos rank before other-class videos.
    ``neighbors`` are the plain top-Kmax by score (for display; ties in arbitrary order).
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
        rows = torch.arange(stop - start, device=device)
        sim = x[start:stop] @ x.T                                            # [b, N]
        rel = (y[start:stop, None] == y[None, :])
        rel[rows, rows + start] = False
        sim[rows, rows + start] = float("-inf")                              # self: below everything
        npos = positives[start:stop]                                         # [b]
        pmax = int(npos.max()) if len(npos) else 0
        if neigh.shape[1]:
            neigh[start:stop] = sim.topk(neigh.shape[1], dim=1).indices.cpu().numpy()
        if pmax == 0:
            continue
        # Optimistic ranking without sorting twice: the i-th best positive (score v) sits at 0-based
        # position i + #{negatives scoring strictly above v} (tied negatives go after it).
        pos_scores = torch.where(rel, sim, torch.full_like(sim, float("-inf"))).topk(pmax, dim=1).values  # desc
        all_asc = sim.sort(dim=1).values
        bar = (pos_scores + TIE_EPS).contiguous()                           # "strictly above" = beyond the tie band
        greater_all = n - torch.searchsorted(all_asc, bar, right=True)
        greater_pos = pmax - torch.searchsorted(pos_scores.flip(1).contiguous(), bar, right=True)
        i = torch.arange(pmax, device=device)
        position = (greater_all - greater_pos) + i                           # 0-based
        valid_p = i[None, :] < npos[:, None]
        precision = (i + 1).to(torch.float64)[None, :] / (position + 1).to(torch.float64)
        ap_b = (precision * valid_p).sum(dim=1) / npos.clamp_min(1).to(torch.float64)
        ap[start:stop] = torch.where(npos > 0, ap_b, torch.full_like(ap_b, float("nan"))).cpu().numpy()
        first[start:stop] = torch.where(npos > 0, position[:, 0], torch.full_like(npos, -1)).cpu().numpy()
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
    return (s > true + TIE_EPS).sum(dim=1).numpy().astype(np.int64)


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
    ranks = (s > best[None, :] + TIE_EPS).sum(dim=0)                         # captions strictly above
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
