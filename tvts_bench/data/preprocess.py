"""What a model expects of its input clips (frames, crop, resize, normalisation), and the usual
normalisation constants.

The data layer applies a ``Preprocess`` when it decodes clips; a model adapter declares one. It lives
here, below both, so the loaders need nothing from the model zoo. ``tvts_bench.zoo.base`` re-exports
these names for user code (``from tvts_bench.zoo.base import Preprocess`` keeps working).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class Preprocess:
    """What a model expects of its input clips. Part of the feature-cache key."""

    num_frames: int
    size: int                       # square crop side after the short-side resize
    short_side: int                 # resize the short side to this, then crop ``size``
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def as_dict(self) -> dict:
        return asdict(self)
