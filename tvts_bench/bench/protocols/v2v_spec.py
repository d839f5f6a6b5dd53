"""Video-to-video retrieval's declaration (torch-free): its parameters and metrics. The search: ``v2v.py``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..protocol_params import FrameOrderParams
from ..protocol_spec import ProtocolSpec, percent


class V2VParams(FrameOrderParams):
    ks: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [1, 5, 10], min_length=1)
    # exact search (``flat-ip`` is another name for it) or an approximate faiss index for R@K
    index: Literal["exact", "flat-ip", "ivf", "hnsw"] = "exact"


SPEC = ProtocolSpec(
    name="v2v", module="v2v", trains=False, needs_text=False, params=V2VParams, k_param="ks",
    metrics=(percent("R@{k}", "expected hit, a same-class video among the query's k nearest "
                              "(0 for a query whose class has no other video)"),
             percent("mAP", "expected average precision of the query over the ranked gallery "
                            "(0 without a same-class video)")))
