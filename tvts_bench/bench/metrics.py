"""Metric functions: classification accuracy, video-to-video retrieval, text-video retrieval.

Every function returns the *per-query outcomes* (a hit, an average precision, a 0-based rank) as well
as, or instead of, the aggregate, so that ``stats.bootstrap_ci`` can resample queries and the
leaderboard can run paired tests. Aggregates (definitions in ``docs/protocols.md``):

- top-k accuracy: % of samples whose label is among the k highest scores.
- v2v R@K: % of queries with at least one same-class video among the top K, the query itself excluded;
  mAP: mean over queries of the average precision over the whole ranked gallery (self excluded). A
  query whose class has no other video cannot succeed: it counts as a miss (hit 0, AP 0).
- text-video retrieval from a similarity matrix ``sim[q, v]`` (rows = text queries, columns = videos):
  ``r`` = 0-based rank of the ground truth, ``R@K = 100 * mean(hit@K)``, ``MedR = median(r) + 1``,
  ``MeanR = mean(r) + 1``.

Ties (``TIE_RULE``): every outcome is its expectation under a uniformly random order of the items
whose score EXACTLY equals the ground truth's. Ranks are the mean of the optimistic and pessimistic
rank; a hit@K is the probability that the ground truth (or, with several positives, at least one of
them) lands in the top K; AP is its expectation over the tied orders (McSherry & Najork, ECIR 2008).
So an encoder that maps every clip to one feature scores exactly chance, never 100 % as an optimistic
rule would give it, and never 0 % as a pessimistic one would. Only exact ties count: a band such as
1e-6 would merge genuinely different scores.

Scores must be finite: a NaN compares false with everything, so under any rank rule it would silently
decide hits. ``require_finite`` raises ``NonFiniteError`` naming how many rows (and which) hold NaN/inf.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from ..errors import NonFiniteError
from .protocol_params import QUERY_MODES

TIE_RULE = ("expected rank under uniformly random tie-breaking (exact ties only): rank = mean of the "
            "optimistic and pessimistic ranks; hit@K and AP = their expectation over tied orders")


def _tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)


def nonfinite_rows(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """Indices of the rows (axis 0) holding any NaN or inf."""
    t = _tensor(x)
    if t.numel() == 0:
        return np.zeros(0, dtype=np.int64)
    bad = ~torch.isfinite(t.float())
    if t.ndim > 1:
        bad = bad.reshape(t.shape[0], -1).any(dim=1)
    return torch.nonzero(bad).flatten().numpy()


def require_finite(x: np.ndarray | torch.Tensor, what: str, ids: Sequence[str] | None = None) -> None:
    """Raise ``NonFiniteError`` when any row of ``x`` holds NaN/inf; ``ids`` name the rows."""
    rows = nonfinite_rows(x)
    if len(rows):
        names = [str(ids[i]) for i in rows] if ids is not None else [str(int(i)) for i in rows]
        raise NonFiniteError(what, len(rows), int(_tensor(x).shape[0]), names)


def first_positive_hit(gt: torch.Tensor, eq: torch.Tensor, pos: torch.Tensor, k: int) -> torch.Tensor:
    """P(at least one of ``pos`` tied positives lands in the top ``k``) under random tie-breaking.

    ``gt``: items scoring strictly above the best positive (all of them negatives); ``eq``: items tied
    with it (``pos`` positives among them). The ``m = k - gt`` places left are filled by a uniform draw
    from the ``eq`` tied items: the miss probability is C(eq - pos, m) / C(eq, m).
    """
    gt, eq, pos = gt.double(), eq.double(), pos.double()
    m = (k - gt).clamp(min=0)
    m_in = torch.minimum(m, eq)
    neg = eq - pos
    log_miss = (torch.lgamma(neg + 1) - torch.lgamma((neg - m_in).clamp(min=0) + 1)
                - torch.lgamma(eq + 1) + torch.lgamma(eq - m_in + 1))
    miss = torch.where(neg >= m_in, torch.exp(log_miss), torch.zeros_like(log_miss))
    hit = 1.0 - miss
    hit = torch.where(m <= 0, torch.zeros_like(hit), hit)
    return torch.where(pos <= 0, torch.zeros_like(hit), hit).clamp(0.0, 1.0)


def expected_first_rank(gt: torch.Tensor, eq: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Expected 0-based position of the first of ``pos`` positives tied among ``eq`` items after ``gt``
    strictly better ones: the ``eq - pos`` tied negatives split evenly into ``pos + 1`` gaps."""
    gt, eq, pos = gt.double(), eq.double(), pos.double()
    return gt + (eq - pos) / (pos + 1.0)


# ---------------------------------------------------------------------------------------------------
# classification


def topk_hits(scores: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
              ks: Sequence[int] = (1, 5), *, what: str = "class scores",
              ids: Sequence[str] | None = None) -> dict[int, np.ndarray]:
    """Per-sample expected hits: is the label among the k highest scores? ``scores`` [N, C], labels [N].

    k larger than the number of classes is clamped (every sample is then a hit). A label tied with
    other classes is a hit with the probability that random tie-breaking puts it within the top k, so
    constant scores give k / C: chance.
    """
    s = _tensor(scores).float()
    y = _tensor(labels).long()
    if s.ndim != 2 or y.ndim != 1 or s.shape[0] != y.shape[0]:
        raise ValueError(f"scores must be [N, C] and labels [N]; got {tuple(s.shape)} and {tuple(y.shape)}")
    require_finite(s, what, ids)
    true_score = s.gather(1, y[:, None])                      # [N, 1]
    higher = (s > true_score).sum(dim=1)                      # classes strictly above the label
    tied = (s == true_score).sum(dim=1)                       # the label and the classes tied with it
    ones = torch.ones_like(tied)
    return {k: first_positive_hit(higher, tied, ones, k).numpy() for k in ks}


def topk_accuracy(scores, labels, ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Top-k accuracy in percent for each k."""
    return {k: 100.0 * float(h.mean()) if h.size else float("nan") for k, h in topk_hits(scores, labels, ks).items()}



# ---------------------------------------------------------------------------------------------------
# video-to-video retrieval


@dataclass
class V2VResult:
    hits: dict[int, np.ndarray]         # K -> [N] expected hit: a same-class video in the top K
    ap: np.ndarray                      # [N] expected average precision over the ranked gallery (0: no positive)
    first_rank: np.ndarray              # [N] expected 0-based rank of the first same-class video (nan: none)
    neighbors: np.ndarray               # [N, Kmax] gallery ids of the top Kmax (self excluded)
    valid: np.ndarray                   # [N] bool: the query has at least one same-class video

    def metrics(self) -> dict[str, float]:
        """Percentages over ALL queries; a query without a positive is a miss (hit 0, AP 0)."""
        if not len(self.ap):
            return {**{f"R@{k}": float("nan") for k in self.hits}, "mAP": float("nan")}
        out = {f"R@{k}": 100.0 * float(h.mean()) for k, h in self.hits.items()}
        out["mAP"] = 100.0 * float(self.ap.mean())
        return out


def l2_normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(eps)


def _harmonic_span(before: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """sum_{i=1..n} 1 / (before + i) = H(before + n) - H(before), through the digamma function."""
    return torch.digamma(before + n + 1.0) - torch.digamma(before + 1.0)


def tied_ap_terms(gt_all: torch.Tensor, eq_all: torch.Tensor, gt_pos: torch.Tensor,
                  eq_pos: torch.Tensor) -> torch.Tensor:
    """Each positive's expected precision term under random tie-breaking (McSherry & Najork 2008).

    A positive whose score is tied with ``eq_all`` items (``eq_pos`` positives among them, itself
    included) after ``gt_all`` strictly better items (``gt_pos`` positives) sits at each tied position
    i = 1..n with probability 1/n; given that, the positives up to it number on average
    ``gt_pos + 1 + (i - 1)(eq_pos - 1)/(n - 1)``. Its expected precision is the mean over i of that
    count divided by ``gt_all + i``, summed in closed form with harmonic numbers.
    """
    big_n, n = gt_all.double(), eq_all.double()
    r_before, r = gt_pos.double(), eq_pos.double()
    a = r_before + 1.0
    b = torch.where(n > 1, (r - 1.0) / (n - 1.0).clamp(min=1.0), torch.zeros_like(n))
    total = (a - b * (big_n + 1.0)) * _harmonic_span(big_n, n) + b * n
    return total / n.clamp(min=1.0)


def v2v_retrieval(features: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
                  ks: Sequence[int] = (1, 5, 10), *, normalize: bool = True, block_size: int | None = None,
                  device: str | torch.device = "cpu") -> V2VResult:
    """Every video queries all the others (itself excluded) by cosine similarity.

    Exact: every query's full ranking is accounted for, in query blocks of a blocked matmul (memory
    ~ block x N): one sort of each similarity row and a top-P of its positives give, for every
    positive, the items strictly above it and the items tied with it, hence its expected precision
    (``tied_ap_terms``) and the expected hit of the best one (``first_positive_hit``).
    ``neighbors`` are the plain top-Kmax by score (for display; ties in arbitrary order).
    """
    x = _tensor(features)
    require_finite(x, "features")
    x = x.float().to(device)
    y = _tensor(labels).long().to(device)
    n = x.shape[0]
    if normalize:
        x = l2_normalize(x)
    kmax = max(ks) if ks else 1
    if block_size is None:  # keep a block's scores + sort buffers around 64 MB
        block_size = max(1, min(n, (64 << 20) // max(1, n * 24)))
    hits = {k: np.zeros(n) for k in ks}
    ap = np.zeros(n)
    first = np.full(n, np.nan)
    neigh = np.full((n, min(kmax, max(n - 1, 0))), -1, dtype=np.int64)
    positives = torch.bincount(y, minlength=int(y.max()) + 1 if n else 1)[y] - 1   # same-class others
    valid = (positives > 0).cpu().numpy()
    # Identical features must get bitwise-identical scores, or a collapsed encoder's ties would be
    # broken by rounding (matmul kernels differ in the last bits between block shapes): score each
    # distinct feature vector once and give its copies that score.
    distinct, copy_of = torch.unique(x, dim=0, return_inverse=True) if n else (x, torch.zeros(0, dtype=torch.long))
    for start in range(0, n, block_size):
        stop = min(n, start + block_size)
        rows = torch.arange(stop - start, device=device)
        sim = (x[start:stop] @ distinct.T)[:, copy_of]                       # [b, N]
        rel = (y[start:stop, None] == y[None, :])
        rel[rows, rows + start] = False
        sim[rows, rows + start] = float("-inf")                              # self: below everything
        npos = positives[start:stop]                                         # [b]
        pmax = int(npos.max()) if len(npos) else 0
        if neigh.shape[1]:
            neigh[start:stop] = sim.topk(neigh.shape[1], dim=1).indices.cpu().numpy()
        if pmax == 0:
            continue
        # positives' scores, descending; rows with fewer positives are padded with -inf, which no
        # finite score equals or falls below
        pos_desc = torch.where(rel, sim, torch.full_like(sim, float("-inf"))).topk(pmax, dim=1).values
        pos_asc = pos_desc.flip(1).contiguous()
        all_asc = sim.sort(dim=1).values
        right_all = torch.searchsorted(all_asc, pos_desc.contiguous(), right=True)
        left_all = torch.searchsorted(all_asc, pos_desc.contiguous(), right=False)
        right_pos = torch.searchsorted(pos_asc, pos_desc.contiguous(), right=True)
        left_pos = torch.searchsorted(pos_asc, pos_desc.contiguous(), right=False)
        gt_all, eq_all = n - right_all, right_all - left_all
        gt_pos, eq_pos = pmax - right_pos, right_pos - left_pos
        i = torch.arange(pmax, device=device)
        is_pos = i[None, :] < npos[:, None]
        terms = tied_ap_terms(gt_all, eq_all, gt_pos, eq_pos)
        ap_b = (terms * is_pos).sum(dim=1) / npos.clamp_min(1).double()
        ap[start:stop] = torch.where(npos > 0, ap_b, torch.zeros_like(ap_b)).cpu().numpy()
        # the best positive and everything tied with it decide R@K and the first rank
        gt0, eq0, p0 = gt_all[:, 0], eq_all[:, 0], torch.where(npos > 0, eq_pos[:, 0], torch.zeros_like(npos))
        for k in ks:
            hits[k][start:stop] = first_positive_hit(gt0, eq0, p0, k).cpu().numpy()
        fr = expected_first_rank(gt0, eq0, p0.clamp(min=1))
        first[start:stop] = torch.where(npos > 0, fr, torch.full_like(fr, float("nan"))).cpu().numpy()
    return V2VResult(hits=hits, ap=ap, first_rank=first, neighbors=neigh, valid=valid)


# ---------------------------------------------------------------------------------------------------
# text-video retrieval


@dataclass
class RankResult:
    """Expected 0-based ranks of the ground truth and expected hits, one per query."""

    ranks: np.ndarray                   # [Q] float: expected 0-based rank
    hits: dict[int, np.ndarray]         # K -> [Q] expected hit@K
    ks: tuple[int, ...] = (1, 5, 10)
    extra: dict = field(default_factory=dict)

    def metrics(self, prefix: str = "") -> dict[str, float]:
        return rank_metrics(self.ranks, self.hits, prefix=prefix)


def rank_metrics(ranks: np.ndarray, hits: dict[int, np.ndarray], prefix: str = "") -> dict[str, float]:
    """R@K (percent, from expected hits), MedR and MeanR (1-based) from expected 0-based ranks."""
    r = np.asarray(ranks, dtype=np.float64)
    out = {f"{prefix}R@{k}": 100.0 * float(np.mean(h)) for k, h in hits.items()}
    out[f"{prefix}MedR"] = float(np.median(r)) + 1.0
    out[f"{prefix}MeanR"] = float(np.mean(r)) + 1.0
    return out


def _single_positive(sim: torch.Tensor, gt: torch.Tensor, ks: Sequence[int]) -> RankResult:
    """Rows of ``sim`` rank its columns; ``gt[q]`` is row q's one correct column."""
    true = sim.gather(1, gt[:, None])
    higher = (sim > true).sum(dim=1)
    tied = (sim == true).sum(dim=1)
    ranks = (higher.double() + (tied.double() - 1.0) / 2.0).numpy()
    ones = torch.ones_like(tied)
    return RankResult(ranks, {k: first_positive_hit(higher, tied, ones, k).numpy() for k in ks}, tuple(ks))


def _check_sim(sim, query_video) -> tuple[torch.Tensor, torch.Tensor]:
    s = _tensor(sim).float()
    gt = torch.as_tensor(np.asarray(query_video), dtype=torch.long)
    if s.ndim != 2 or gt.shape != (s.shape[0],):
        raise ValueError(f"sim must be [Q, V] and query_video [Q]; got {tuple(s.shape)}, {tuple(gt.shape)}")
    require_finite(s, "text-video similarities")
    return s, gt


def t2v_ranks(sim: np.ndarray | torch.Tensor, query_video: np.ndarray | Sequence[int],
              ks: Sequence[int] = (1, 5, 10)) -> RankResult:
    """Text-to-video: for each text query (row), the expected 0-based rank of its video among all
    columns. Several captions per video (MSVD): every caption is its own query."""
    s, gt = _check_sim(sim, query_video)
    return _single_positive(s, gt, ks)


def v2t_ranks(sim: np.ndarray | torch.Tensor, query_video: np.ndarray | Sequence[int],
              ks: Sequence[int] = (1, 5, 10)) -> RankResult:
    """Video-to-text (CLIP4Clip's convention for several captions per video): each video ranks the
    caption GROUPS of all described videos, each group scored by its best-scoring caption for that
    video; the correct group is the video's own. One caption per video: plain video-to-caption ranking.

    Rows exist only for described videos, in ascending video order (``extra['videos']``).
    """
    s, gt = _check_sim(sim, query_video)
    described = torch.unique(gt)                                              # ascending
    group_of = torch.searchsorted(described, gt)                              # caption -> group
    grouped = torch.full((len(described), s.shape[1]), float("-inf"))
    grouped = grouped.scatter_reduce(0, group_of[:, None].expand_as(s), s, reduce="amax", include_self=True)
    video_by_group = grouped[:, described].T                                  # [video, group]
    res = _single_positive(video_by_group, torch.arange(len(described)), ks)
    res.extra["videos"] = described.numpy()
    return res


def text_video_retrieval(sim: np.ndarray | torch.Tensor, query_video: Sequence[int],
                         ks: Sequence[int] = (1, 5, 10)) -> dict[str, RankResult]:
    """Both directions. ``sim`` [Q, V]: rows text queries, columns videos; ``query_video[q]`` = the
    column that caption ``q`` describes. One caption per video (MSR-VTT 1k-A, LSMDC, DiDeMo paragraphs)
    gives a square problem; MSVD gives Q = all captions, and t2v metrics average over all of them."""
    return {"t2v": t2v_ranks(sim, query_video, ks), "v2t": v2t_ranks(sim, query_video, ks)}


def retrieval_metrics(results: dict[str, RankResult]) -> dict[str, float]:
    """Flat metric dict with the contract's keys: t2v_R@1 ... t2v_MeanR, v2t_R@1 ... v2t_MeanR."""
    out: dict[str, float] = {}
    for direction, res in results.items():
        out.update(res.metrics(prefix=f"{direction}_"))
    return out


# ---------------------------------------------------------------------------------------------------
# building text queries (the dataset protocols; the modes: protocol_params.QueryMode)


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
