"""k-NN classification's declaration (torch-free): its parameters and metrics. The vote: ``knn.py``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..protocol_params import FrameOrderParams, LowShotParams, PositiveFloat
from ..protocol_spec import ProtocolSpec, accuracy_metrics

VOTES = "vote totals of the k neighbours, averaged over low-shot subsets"
CLASS_KS = (1, 5)                     # top-c accuracies of the vote


class KnnParams(FrameOrderParams, LowShotParams):
    ks: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [10, 20], min_length=1)
    temperature: PositiveFloat = 0.07                           # DINO's vote temperature


# top1 / top5 are the first k's (so top1 == top1@k10 with the default ks); top1@k<K> / top5@k<K> each k's
FIRST_K = accuracy_metrics(f"{VOTES}, for the first k of params.ks", CLASS_KS)
EACH_K = accuracy_metrics(VOTES, CLASS_KS, suffix="@k{k}")
SPEC = ProtocolSpec(name="knn", module="knn", trains=False, needs_text=False, params=KnnParams, k_param="ks",
                    metrics=FIRST_K + EACH_K)
