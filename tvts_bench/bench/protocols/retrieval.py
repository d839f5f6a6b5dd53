"""Zero-shot text-to-video retrieval (``ret``) for models with a text tower.

Videos: the adapter's ``encode_video_joint`` on the task's sampling (4 frames, the Frozen protocol;
the task card sets ``sampling.frames: 4``), cached like every frozen feature. Texts: ``encode_text``.
Similarity = cosine. Queries per ``params.captions`` (see ``metrics.build_text_queries``):

- ``first``: one caption per video: MSR-VTT 1k-A (the JSFUSION sentence), LSMDC.
- ``all``: MSVD, every caption is a query against all test videos; metrics average over all captions.
- ``paragraph``: DiDeMo, all descriptions of a video joined into one query.

Metrics in both directions (``t2v_*``, ``v2t_*``): R@1/5/10, MedR, MeanR; ties by expected rank
(``metrics.TIE_RULE``). v2t follows CLIP4Clip: each video ranks the caption groups of all videos, a
group scored by its best caption. With several captions per video (MSVD) the intervals resample videos,
each with all of its captions, since captions of one video are not independent samples. Videos that failed to decode are left out of the gallery and
their captions out of the queries (the runner reports them as unreadable).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from ...errors import ConfigError, TvtsBenchError
from ..context import ProtocolContext, ProtocolOutput
from ..metrics import QUERY_MODES, TIE_RULE, require_finite, RankResult, build_text_queries, text_video_retrieval
from ..result_schema import MetricValue
from ._common import param, rank_metric_values, select_metrics

KS = (1, 5, 10)


def no_text_tower_error(ctx: ProtocolContext) -> TvtsBenchError:
    dataset = ctx.task.dataset
    return TvtsBenchError(
        f"model {ctx.adapter.name} has no text tower, so it cannot run zero-shot text-to-video retrieval "
        f"({ctx.task.name})",
        hint=f"run {dataset}-ret-ft instead: it attaches a pretrained MiniLM text tower and fine-tunes both "
             "towers on the train split, so video-only models can be compared on text-video retrieval")


def query_mode(ctx: ProtocolContext) -> str:
    mode = str(param(ctx, "captions", "first"))
    if mode not in QUERY_MODES:
        raise ConfigError(f"task {ctx.task.name}: params.captions must be one of {QUERY_MODES}, got {mode!r}")
    return mode


def encode_texts(encode: Callable[[list[str]], torch.Tensor], texts: Sequence[str], batch: int = 256) -> np.ndarray:
    out = []
    with torch.no_grad():
        for s in range(0, len(texts), batch):
            out.append(encode(list(texts[s:s + batch])).detach().float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 0), dtype=np.float32)


def _normalize(x: np.ndarray) -> torch.Tensor:
    t = torch.as_tensor(x, dtype=torch.float32)
    return t / t.norm(dim=1, keepdim=True).clamp_min(1e-12)


def score_retrieval(video_emb: np.ndarray, video_ids: list[str], captions: list[Sequence[str]],
                    encode: Callable[[list[str]], torch.Tensor], ctx: ProtocolContext
                    ) -> tuple[dict[str, MetricValue], list[dict], dict]:
    """Build the queries, embed them, rank both directions, and return metric values with intervals."""
    mode = query_mode(ctx)
    queries, owner = build_text_queries(captions, mode)
    if not queries:
        raise TvtsBenchError(f"task {ctx.task.name}: the {ctx.task.splits.test} split has no captions to query with",
                             hint="check the dataset's caption annotation files")
    text_emb = encode_texts(encode, queries)
    require_finite(video_emb, "joint video features", video_ids)
    require_finite(text_emb, "text features", queries)
    if text_emb.shape[1] != video_emb.shape[1]:
        raise TvtsBenchError(
            f"model {ctx.adapter.name}: text features have {text_emb.shape[1]} dimensions but joint video "
            f"features {video_emb.shape[1]}; they must share one space for retrieval",
            hint="the adapter's encode_video_joint and encode_text must project into the same space")
    sim = _normalize(text_emb) @ _normalize(video_emb).T              # [Q, V]
    res = text_video_retrieval(sim, owner, KS)
    t2v, v2t = res["t2v"], res["v2t"]
    several = len(owner) > len(np.unique(owner))
    values: dict[str, MetricValue] = {}
    values.update(rank_metric_values(t2v, "t2v_", ctx, salt=0, clusters=owner if several else None))
    values.update(rank_metric_values(v2t, "v2t_", ctx, salt=100))
    described = v2t.extra["videos"]

    def outcome(r: RankResult, i: int) -> dict:
        return {"rank": float(r.ranks[i]), **{f"correct_R@{k}": float(h[i]) for k, h in r.hits.items()}}

    per_sample = [{"direction": "t2v", "query": q, "video_id": video_ids[owner[i]], **outcome(t2v, i)}
                  for i, q in enumerate(queries)]
    per_sample += [{"direction": "v2t", "video_id": video_ids[v], **outcome(v2t, j)}
                   for j, v in enumerate(described)]
    info = {"queries": len(queries), "videos": int(video_emb.shape[0]), "captions": mode,
            "captions_per_video": round(len(queries) / max(1, len(described)), 3),
            "videos_without_caption": int(video_emb.shape[0] - len(described)), "ties": TIE_RULE,
            "v2t": "each video ranks caption groups scored by their best caption (CLIP4Clip)",
            "bootstrap": "videos (with all their captions)" if several else "queries"}
    return select_metrics(values, ctx), per_sample, info


def run(ctx: ProtocolContext) -> ProtocolOutput:
    if not ctx.adapter.has_text:
        raise no_text_tower_error(ctx)
    test = ctx.features(ctx.task.splits.test, "normal", joint=True)
    metrics, per_sample, info = score_retrieval(
        test.features, [r.video_id for r in test.records], [r.captions for r in test.records],
        ctx.adapter.encode_text, ctx)
    info["frames"] = ctx.task.sampling.frames
    return ProtocolOutput(metrics=metrics, per_sample=per_sample, clips=0, extra={"ret": info})
