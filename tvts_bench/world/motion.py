"""Per-frame object state (position, radius, angle, opacity) from a scene's timeline of changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scenes import TEMPORARY_PROPS, Scene


@dataclass
class Tracks:
    """Arrays of shape [num_objects, T] for the frame times ``t``."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray  # temporary offsets (a hop, a nudge, a pulse, a blink) are already included
    r: np.ndarray
    angle: np.ndarray
    alpha: np.ndarray


def _ease(kind: str, p: np.ndarray) -> np.ndarray:
    if kind == "linear":
        return p
    if kind == "accel":  # free fall: distance grows with the square of time
        return p * p
    if kind == "bounce":  # two hops, back on the ground at the end
        return np.abs(np.sin(2.0 * np.pi * p))
    if kind == "plateau":  # up over the first sixth, held, down over the last sixth
        return np.clip(np.minimum(p, 1.0 - p) * 6.0, 0.0, 1.0)
    return p * p * (3.0 - 2.0 * p)  # smoothstep


def frame_times(scene: Scene) -> np.ndarray:
    return np.arange(scene.num_frames, dtype=np.float64) / scene.fps


def compute_tracks(scene: Scene, t: np.ndarray | None = None) -> Tracks:
    t = frame_times(scene) if t is None else np.asarray(t, dtype=np.float64)
    n = len(scene.objects)
    props = {
        "x": np.array([[o.x] for o in scene.objects]).repeat(len(t), 1),
        "y": np.array([[o.y] for o in scene.objects]).repeat(len(t), 1),
        "r": np.array([[o.radius] for o in scene.objects]).repeat(len(t), 1),
        "angle": np.array([[o.angle] for o in scene.objects]).repeat(len(t), 1),
        "alpha": np.array([[1.0 if o.visible else 0.0] for o in scene.objects]).repeat(len(t), 1),
        **{prop: np.zeros((n, len(t))) for prop in TEMPORARY_PROPS},
    }
    changes = sorted((ch for ev in scene.events for ch in ev.changes), key=lambda c: c.t0)
    for ch in changes:
        span = max(ch.t1 - ch.t0, 1e-6)
        p = np.clip((t - ch.t0) / span, 0.0, 1.0)
        value = ch.v0 + (ch.v1 - ch.v0) * _ease(ch.ease, p)
        row = props[ch.prop][ch.obj]
        if ch.prop in TEMPORARY_PROPS:
            row += np.where((t >= ch.t0) & (t <= ch.t1), value, 0.0)
        else:
            # Later changes of the same property overwrite from their start on.
            props[ch.prop][ch.obj] = np.where(t >= ch.t0, value, row)
    return Tracks(t, props["x"] + props["dx"], props["y"] - props["hop"], props["r"] + props["dr"], props["angle"],
                  np.clip(props["alpha"] + props["dalpha"], 0.0, 1.0))
