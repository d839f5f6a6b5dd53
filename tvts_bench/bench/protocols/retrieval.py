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

from ...errors import TvtsBenchError
from ..context import ProtocolContext, ProtocolOutput
from ..metrics import TIE_RULE, build_text_queries, require_finite, text_video_retrieval
from ..protocol_spec import ProtocolSpec
from ..result_schema import MetricValue
from ._common import params_of, rank_metric_values, rank_outcomes, sample_rows, select_metrics
from .retrieval_spec import KS, SPEC


def no_text_tower_error(ctx: ProtocolContext) -> TvtsBenchError:
    dataset = ctx.task.dataset
    return TvtsBenchError(
        f"model {ctx.adapter.name} has no text tower, so it cannot run zero-shot text-to-video retrieval "
        f"({ctx.task.name})",
        hint=f"run {dataset}-ret-ft instead: it attaches a pretrained MiniLM text tower and fine-tunes both "
             "towers on the train split, so video-only models can be compared on text-video retrieval")


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
                    encode: Callable[[list[str]], torch.Tensor], ctx: ProtocolContext, spec: ProtocolSpec = SPEC
                    ) -> tuple[dict[str, MetricValue], list[dict], dict]:
    """Build the queries, embed them, rank both directions, and return metric values with intervals,
    the per-sample rows and details. ``spec``: the protocol scoring (ret, or ret-ft's own)."""
    mode = params_of(ctx, spec).captions
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
    values.update(rank_metric_values(spec, t2v, "t2v_", ctx, salt=0, clusters=owner if several else None))
    values.update(rank_metric_values(spec, v2t, "v2t_", ctx, salt=100))
    described = v2t.extra["videos"]
    metrics = select_metrics(values, ctx)
    # caption queries carry the t2v metrics, id [video, n-th caption of that video] (a cluster per
    # video, which the report resamples whole); described videos carry the v2t metrics
    nth = np.zeros(len(owner), dtype=np.int64)
    for v in np.unique(owner):
        where = np.flatnonzero(owner == v)
        nth[where] = np.arange(len(where))
    per_sample = sample_rows([[video_ids[v], int(n)] for v, n in zip(owner, nth)], rank_outcomes(t2v, "t2v_"),
                             metrics)
    per_sample += sample_rows([video_ids[v] for v in described], rank_outcomes(v2t, "v2t_"), metrics)
    info = {"queries": len(queries), "videos": int(video_emb.shape[0]), "captions": mode,
            "captions_per_video": round(len(queries) / max(1, len(described)), 3),
            "videos_without_caption": int(video_emb.shape[0] - len(described)), "ties": TIE_RULE,
            "v2t": "each video ranks caption groups scored by their best caption (CLIP4Clip)",
            "bootstrap": "videos (with all their captions)" if several else "queries"}
    return metrics, per_sample, info


def run(ctx: ProtocolContext) -> ProtocolOutput:
    if not ctx.adapter.has_text:
        raise no_text_tower_error(ctx)
    test = ctx.features(ctx.task.splits.test, "normal", joint=True)
    metrics, per_sample, info = score_retrieval(
        test.features, [r.video_id for r in test.records], [r.captions for r in test.records],
        ctx.adapter.encode_text, ctx)
    info["frames"] = ctx.task.sampling.frames
    return ProtocolOutput(metrics=metrics, per_sample=per_sample, clips=0, extra={"ret": info})
