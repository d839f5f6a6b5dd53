"""Zero-shot text-video retrieval's declaration (torch-free): its parameters and metrics. The ranking:
``retrieval.py``."""

from __future__ import annotations

from typing import Literal

from ..protocol_params import CommonParams
from ..protocol_spec import ProtocolSpec, rank_metrics

KS = (1, 5, 10)
# text-to-video: one row per caption query; video-to-text: one per described video
METRICS = rank_metrics("t2v_", KS, "caption query") + rank_metrics("v2t_", KS, "video query")


class RetParams(CommonParams):
    # first: one caption per video; all: every caption is a query (MSVD); paragraph: all joined (DiDeMo)
    captions: Literal["first", "all", "paragraph"] = "first"


SPEC = ProtocolSpec(name="ret", module="retrieval", trains=False, needs_text=True, params=RetParams,
                    metrics=METRICS)
