"""The linear probe's declaration (torch-free): its parameters and metrics. The probe: ``linear.py``."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from ..protocol_params import FrameOrderParams, LowShotParams, PositiveFloat, Seeds
from ..protocol_spec import ProtocolSpec, accuracy_metrics


class LinearParams(FrameOrderParams, LowShotParams):
    seeds: Seeds = 3
    # inverse L2 strength grid (scikit-learn's LogisticRegression C), chosen on held-out train
    C: Union[PositiveFloat, Annotated[list[PositiveFloat], Field(min_length=1)]] = Field(
        default_factory=lambda: [0.001, 0.01, 0.1, 1.0, 10.0, 100.0])
    val_fraction: float = Field(default=0.2, gt=0, lt=1)
    max_iter: int = Field(default=1000, ge=1, le=1_000_000)
    standardize: bool = True                                    # z-score features with train statistics


SPEC = ProtocolSpec(
    name="linear", module="linear", trains=False, needs_text=False, params=LinearParams,
    metrics=accuracy_metrics("logits of the probe, averaged over probe seeds and low-shot subsets"))
