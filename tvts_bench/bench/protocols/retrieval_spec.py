"""Zero-shot text-video retrieval's declaration (torch-free): its parameters and metrics. The ranking:
``retrieval.py``."""

from __future__ import annotations

from ..protocol_params import CommonParams, QueryMode
from ..protocol_spec import ProtocolSpec, rank_metrics

KS = (1, 5, 10)
# text-to-video: one row per caption query; video-to-text: one per described video
METRICS = rank_metrics("t2v_", KS, "caption query") + rank_metrics("v2t_", KS, "video query")


class RetParams(CommonParams):
    captions: QueryMode = "first"        # protocol_params.QueryMode: first, all (MSVD), paragraph (DiDeMo)


SPEC = ProtocolSpec(name="ret", module="retrieval", trains=False, needs_text=True, params=RetParams,
                    metrics=METRICS)
