"""World calibration: the floor and ceilings that make a number on the built-in world mean something.

For every built-in task, reference rows (never ranked with models) say what a broken encoder scores
(``chance``: the protocol run on constant features), how much of the task is solvable from what
generated each clip (``perception ceiling``: the protocol on features of the scene description),
how much is learnable from these pixels (``pixel ceiling``: the same small video architecture trained
supervised on the task's train split with a generous budget) and how much needs temporal order
(``order ceiling``: the pixel ceiling with frames shuffled, and with a frame-averaged model).
See ``docs/calibration.md``.
"""
