"""Fine-tuning's declaration (torch-free): its parameters and metrics. The training: ``finetune.py``.

The defaults are the VideoMAE recipe sized for the built-in world on a CPU (3 epochs, a 10x base lr so
that 3 epochs at batch 8 leave chance); the real-dataset values are in the ``*-ft-paper`` cards.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..protocol_params import CommonParams, Fraction, PositiveFloat
from ..protocol_spec import ProtocolSpec, accuracy_metrics


class TrainingParams(BaseModel):
    """The optimiser schedule of a protocol that trains the model (ft; ret-ft overrides the values)."""

    epochs: int = Field(default=3, ge=1, le=100_000)
    warmup_epochs: float = Field(default=1, ge=0)
    batch_size: int | None = Field(default=None, ge=1)          # None: the run's --batch-size
    lr: PositiveFloat = 1e-2                                    # at batch 256, scaled by batch / 256
    min_lr: float = Field(default=1e-6, ge=0)
    weight_decay: float = Field(default=0.05, ge=0)


class FtParams(CommonParams, TrainingParams):
    layer_decay: float = Field(default=0.75, gt=0, le=1)
    drop_path: Fraction = 0.1
    mixup: float = Field(default=0.8, ge=0)
    cutmix: float = Field(default=1.0, ge=0)
    label_smoothing: Fraction = 0.1
    randaug: str | None = "rand-m7-n4-mstd0.5-inc1"           # a timm RandAugment string; None: off
    reprob: float = Field(default=0.25, ge=0, le=1)             # random erasing
    flip: bool = True                                           # off for SSV2: left/right matters there
    head_only: bool = False                                     # the authors' linear protocol
    val_fraction: Fraction = 0.0                                # > 0: pick the best epoch on held-out train
    # calibration (docs/calibration.md): train and test on shuffled frames, or train a frame-averaged
    # image ViT of the backbone's size from scratch; and score v2v on the fine-tuned features
    frames: Literal["normal", "shuffled", "frame-average"] = "normal"
    trained_v2v: bool = False
    architecture: Literal["model", "cnn3d"] = "model"     # cnn3d: a small 3D CNN from scratch (nn/cnn3d.py)


SPEC = ProtocolSpec(
    name="ft", module="finetune", trains=True, needs_text=False, params=FtParams,
    metrics=accuracy_metrics("softmax scores averaged over the test views"))
