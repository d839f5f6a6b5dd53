"""Ground truth of the built-in world: the scene that generated each clip, as a feature vector.

The world's planner is deterministic and cheap (nothing is rendered), so the scenes are re-planned
from ``world.json``'s preset and seed rather than stored. A clip's features are a binary bag of
tokens: the background; each object's shape, colour, size and texture; and each event's kind, its
parameters (a direction), the sign of every property it changes (moving right vs left, growing vs
shrinking) and its position in the timeline (first, second, third event), so that order is in the
features exactly as it is in the scene.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..world import plan_world, read_world_info
from ..world.scenes import Scene

MAX_EVENT_POSITIONS = 4       # events beyond the fourth are tagged "later"


def scene_tokens(scene: Scene) -> list[str]:
    tokens = [f"bg={scene.background}"]
    for o in scene.objects:
        tokens += [f"shape={o.shape}", f"colour={o.colour}", f"size={o.size}", f"texture={o.texture}"]
        if not o.visible:
            tokens.append("starts-hidden")
    events = sorted(scene.events, key=lambda e: (e.start, e.end))
    for i, e in enumerate(events):
        where = f"ev{i}" if i < MAX_EVENT_POSITIONS else "ev-later"
        parts = [e.kind] + [f"{k}={v}" for k, v in e.params]
        parts += sorted({f"{c.prop}{'+' if c.v1 > c.v0 else '-'}" for c in e.changes if c.v1 != c.v0})
        for p in parts:
            tokens += [f"{where}:{p}", f"any:{p}"]
    return tokens


def world_scenes(world_root: Path) -> dict[str, Scene]:
    """relative video path under the world root -> the scene it was rendered from."""
    info = read_world_info(world_root)
    if not info:
        raise ConfigError(f"{world_root} is not a generated built-in world (no world.json)",
                          hint="calibration measures the built-in world; generate it with tvts-bench world generate")
    return {job.relpath: job.scene for plan in plan_world(info["preset"], int(info["seed"])) for job in plan.jobs}


class TruthFeatures:
    """Scene-truth feature vectors for a dataset's records, over one shared token vocabulary."""

    def __init__(self, world_root: Path):
        self.root = Path(world_root).resolve()
        self.scenes = world_scenes(self.root)
        vocab = sorted({t for s in self.scenes.values() for t in scene_tokens(s)})
        self.index = {t: i for i, t in enumerate(vocab)}

    @property
    def dim(self) -> int:
        return len(self.index)

    def scene_of(self, video: Path) -> Scene:
        rel = Path(video).resolve().relative_to(self.root).as_posix()
        if rel not in self.scenes:
            raise ConfigError(f"{video}: not a video of the built-in world at {self.root}")
        return self.scenes[rel]

    def features(self, videos: list[Path]) -> np.ndarray:
        out = np.zeros((len(videos), self.dim), dtype=np.float32)
        for row, video in enumerate(videos):
            for t in scene_tokens(self.scene_of(video)):
                out[row, self.index[t]] = 1.0
        return out
