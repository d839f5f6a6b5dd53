"""Zero-shot video-to-video retrieval (paper Table 4) on the test split's frozen features.

Every test video queries all the others, itself excluded, by cosine similarity of the frozen encoder's
features (no projection). R@K = % of queries with at least one same-class video in the top K; mAP =
mean average precision over the whole ranked gallery. A query whose class has no other test video
cannot succeed: it counts as a miss (R@K 0, AP 0), as it would in any search engine, and the number
of such queries is in ``extra``. Ties: expected rank under random tie-breaking (``metrics.TIE_RULE``).

Search: exact ranking by a blocked torch matmul (CPU, or the GPU when the run is on CUDA), the fastest
exact path measured here and the one that also yields the full ranking mAP needs. ``params.index``:
``exact`` (default; ``flat-ip`` is another name for it) or ``ivf`` / ``hnsw``: an approximate faiss index gives the R@K neighbour
lists (for galleries too large to scan; its recall@10 against exact search on a sample of queries is
recorded in ``extra``); mAP always comes from the exact ranking.

Temporal-sensitivity diagnostic: the same retrieval on the ``shuffled`` and ``repeated`` variants.
"""

from __future__ import annotations

import numpy as np

from ...errors import DataFormatError
from ..context import ProtocolContext, ProtocolOutput
from ..metrics import TIE_RULE, V2VResult, v2v_retrieval
from ..result_schema import MetricValue
from ..retrieval_index import IndexConfig, RetrievalIndex, recall_at_10_vs_exact
from ._common import params_of, sample_rows, select_metrics, spec_value, torch_device
from .v2v_spec import SPEC


def _approx_hits(features: np.ndarray, labels: np.ndarray, ks, kind: str, seed: int, exact: V2VResult
                 ) -> tuple[dict[int, np.ndarray], float]:
    index = RetrievalIndex(features, IndexConfig(kind=kind, seed=seed))
    _, ids = index.search(features, max(max(ks), 10), exclude_self=True)
    same = labels[ids] == labels[:, None]
    hits = {k: same[:, :k].any(axis=1).astype(np.float64) for k in ks}
    recall = recall_at_10_vs_exact(ids, exact.neighbors) if exact.neighbors.shape[1] >= 10 else float("nan")
    return hits, recall


def score(features: np.ndarray, labels: np.ndarray | None, ctx, *, what: str
          ) -> tuple[dict[str, MetricValue], dict[str, np.ndarray], dict]:
    """(kept metric values, per-query outcomes of every metric, search details)."""
    if labels is None:
        raise DataFormatError(ctx.index.root, f"the {what} features have no class labels; "
                              "video-to-video retrieval needs a classification dataset")
    p = params_of(ctx, SPEC)
    ks, kind = tuple(p.ks), p.index
    labels = np.asarray(labels, dtype=np.int64)
    res = v2v_retrieval(features, labels, ks=tuple(sorted(set(ks) | {10})), device=torch_device(ctx))
    hits = {k: res.hits[k] for k in ks}
    info: dict = {"queries": int(len(labels)), "queries_without_positive": int((~res.valid).sum()),
                  "search": "exact (blocked torch matmul)"}
    if kind in ("ivf", "hnsw"):
        hits, recall = _approx_hits(features, labels, ks, kind, ctx.seed, res)
        info["search"] = f"faiss {kind} (approximate) for R@K; exact ranking for mAP"
        info["recall_at_10_vs_exact"] = recall
    info["ties"] = TIE_RULE
    info["queries_without_positive_count_as"] = "miss (R@K 0, AP 0)"
    if not res.valid.any():
        raise DataFormatError(ctx.index.root, f"no video of the {what} split has another video of its class, "
                              "so video-to-video retrieval has nothing to find",
                              hint="v2v needs at least two videos of some class in the test split")
    outcomes = {**{f"R@{k}": hits[k] for k in ks}, "mAP": res.ap}
    salts = {**{f"R@{k}": k for k in ks}, "mAP": 99}
    values = {m: spec_value(SPEC, m, o, ctx, salt=salts[m]) for m, o in outcomes.items()}
    return select_metrics(values, ctx), outcomes, info


def run(ctx: ProtocolContext) -> ProtocolOutput:
    test = ctx.features(ctx.task.splits.test, "normal")
    metrics, outcomes, info = score(test.features, test.labels, ctx, what="test")
    diagnostics = {}
    for v in params_of(ctx, SPEC).diagnostics:
        vf = ctx.features(ctx.task.splits.test, v)
        diagnostics[v], _, _ = score(vf.features, vf.labels, ctx, what=f"{v} test")
    # per query video: the expected hit@K (R@K) and expected average precision (mAP)
    per_sample = sample_rows([r.video_id for r in test.records], outcomes, metrics)
    return ProtocolOutput(metrics=metrics, diagnostics=diagnostics, per_sample=per_sample, clips=0,
                          extra={"v2v": info})
