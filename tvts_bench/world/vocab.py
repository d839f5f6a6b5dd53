"""The world's vocabulary: what things look like and what can happen to them.

Everything else (scenes, rendering, narration, captions, class definitions) draws from these tables,
so adding a colour or a shape here makes it available everywhere.
"""

from __future__ import annotations

SHAPES = ("circle", "square", "triangle", "diamond", "ring", "cross", "star", "hexagon", "heart", "crescent")
# Shapes whose rotation is invisible; a turn of these would be narrated but not seen.
ROUND_SHAPES = ("circle", "ring")
# Shapes without holes or gaps: only these can hide another object completely.
SOLID_SHAPES = ("circle", "square", "diamond", "hexagon")

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 70),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "purple": (140, 60, 190),
    "orange": (245, 140, 30),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
    "pink": (245, 120, 180),
    "cyan": (40, 200, 210),
}

# Object radius as a fraction of the frame width.
SIZES: dict[str, float] = {"small": 0.075, "medium": 0.10, "big": 0.13}

TEXTURES = ("plain", "striped", "checkered", "dotted")

BACKGROUNDS = ("grass", "sand", "sky", "water", "bricks", "night", "wood", "snow")

# Event kinds of the pretraining corpus (downstream classes compose the same kinds), with how often a
# story picks each when it is feasible (relational events are more interesting than single-object ones).
# hop, pulse, nudge and blink are temporary: the object is back as it was when they end.
EVENT_WEIGHTS: dict[str, float] = {
    "move": 1.0, "turn": 0.8, "grow": 0.7, "shrink": 0.7, "appear": 0.5, "vanish": 0.5, "fall": 0.7,
    "bounce": 0.7, "stack": 1.0, "cover": 0.6, "push": 1.0,
    "hop": 0.7, "pulse": 0.7, "nudge": 0.7, "blink": 0.5,
}
EVENT_KINDS = tuple(EVENT_WEIGHTS)

DIRECTIONS = ("left", "right", "up", "down")
