"""Fine-tuned text-video retrieval's declaration (torch-free): its parameters and metrics. The training:
``retrieval_ft.py``. A model without a text tower gets a pretrained MiniLM, so the model's own text
tower is not needed."""

from __future__ import annotations

from typing import Literal, Union

from pydantic import Field

from ..protocol_params import PositiveFloat
from ..protocol_spec import ProtocolSpec
from .finetune_spec import TrainingParams
from .retrieval_spec import METRICS, RetParams


class RetFtParams(RetParams, TrainingParams):
    epochs: int = Field(default=2, ge=1, le=100_000)
    warmup_epochs: float = Field(default=0, ge=0)
    lr: PositiveFloat = 3e-5
    min_lr: float = Field(default=0.0, ge=0)
    weight_decay: float = Field(default=0.01, ge=0)
    head_lr: PositiveFloat | None = None                        # None: 10 x lr
    temperature: Union[PositiveFloat, Literal["learnable"]] = 0.05
    train_captions: Literal["random", "first"] = "random"      # one random caption per video per step
    embed_dim: int = Field(default=256, ge=1, le=65_536)


SPEC = ProtocolSpec(name="ret-ft", module="retrieval_ft", trains=True, needs_text=False, params=RetFtParams,
                    metrics=METRICS)
