"""The attentive probe's declaration (torch-free): its parameters and metrics. The probe: ``attn.py``."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from ..protocol_params import FrameOrderParams, PositiveFloat
from ..protocol_spec import ProtocolSpec, accuracy_metrics

NonNegative = Annotated[float, Field(ge=0)]


class AttnParams(FrameOrderParams):
    """Lists of lr / weight_decay are a grid searched on a held-out part of train (V-JEPA's defaults
    are its first values: lr 1e-3, weight decay 0.01)."""

    lr: Union[PositiveFloat, Annotated[list[PositiveFloat], Field(min_length=1)]] = Field(
        default_factory=lambda: [1.0e-3, 3.0e-4])
    weight_decay: Union[NonNegative, Annotated[list[NonNegative], Field(min_length=1)]] = Field(
        default_factory=lambda: [0.01, 0.1])
    epochs: int = Field(default=20, ge=1, le=100_000)
    warmup_epochs: float = Field(default=0, ge=0)
    batch_size: int = Field(default=32, ge=1)
    grad_clip: PositiveFloat = 1.0
    val_fraction: float = Field(default=0.2, gt=0, lt=1)
    heads: int | None = Field(default=None, ge=1)               # None: 16, 12, 8, ... dividing the width
    mlp_ratio: PositiveFloat = 4.0


SPEC = ProtocolSpec(
    name="attn", module="attn", trains=False, needs_text=False, params=AttnParams,
    metrics=accuracy_metrics("logits of the probe, averaged over probe seeds"))
