"""The world's vocabulary: what things look like (what can happen to them: ``world/events.py``).

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

# What can happen to objects (event kinds, their narration and captions, how often stories pick them):
# world/events.py.
DIRECTIONS = ("left", "right", "up", "down")
