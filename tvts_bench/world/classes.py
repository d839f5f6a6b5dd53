"""Class definitions of the classification stand-ins, and how one clip of a class is staged.

- SSV2: templates with [something] placeholders; every class is an order of the same three temporary
  events, and classes come in pairs that are each other's time reversal. Objects and backgrounds are
  random, so appearance says nothing about the class, and neither does any single frame.
- K400: classes are object shapes, on any background, in any colours; motion is incidental (random
  events). Recognising the class means recognising the objects, not the scene's colour statistics.
- UCF101 / HMDB51: motion classes only: each class is one reserved event kind, done by one of two
  objects whose shapes, colours, sizes and textures are random, on a random background, so appearance
  says nothing about the class (world version 2 also had appearance classes, a reserved background or
  texture, which random features read: 45 % with 10 % chance). Each clip has exactly one class.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from . import vocab
from .scenes import FLOOR, MARGIN, ObjectSpec, Scene, SceneBuilder, new_builder, object_phrase, pick_event, \
    sample_objects

NON_ROUND = tuple(s for s in vocab.SHAPES if s not in vocab.ROUND_SHAPES)


@dataclass(frozen=True)
class Ssv2Class:
    template: str
    action: str  # how the clip is staged (see ``_stage`` / ``_perform``)
    objects: int  # objects named by the placeholders


# The SSV2 stand-in's classes are orders of the same three temporary events (each leaves the object as it
# was), so every class shows the same frames and only their sequence tells the classes apart: a model
# that ignores order scores chance. Each class's time reversal is another class (pairs k, k + 1).
# Three events, not four: with the 8 frames the demo models read, four events (24 orders) left a 3D CNN
# trained on 384 clips at 21 % top-1 over 16 classes; each event needs more than two frames.
ORDER_EVENTS = ("hop", "pulse", "blink")
_ORDER_VERBS = {"hop": "lifting", "pulse": "inflating", "nudge": "nudging", "blink": "hiding"}


def _order_template(order: tuple[str, ...]) -> str:
    verbs = [_ORDER_VERBS[k] for k in order]
    middle = f"{', '.join(verbs[1:-1])} and " if len(verbs) > 2 else ""
    return f"{verbs[0].capitalize()} [something], then {middle}{verbs[-1]} it"


def _order_classes() -> tuple[Ssv2Class, ...]:
    """Reversal pairs of event orders, in lexicographic order of the first of each pair."""
    classes: list[Ssv2Class] = []
    taken: set[tuple[str, ...]] = set()
    for order in itertools.permutations(ORDER_EVENTS):
        if order in taken:
            continue
        for o in (order, order[::-1]):
            taken.add(o)
            classes.append(Ssv2Class(_order_template(o), "order:" + ",".join(o), 1))
    return tuple(classes)


SSV2_CLASSES: tuple[Ssv2Class, ...] = _order_classes()
# Class pairs whose clips are each other's time reversal.
SSV2_PAIRS: tuple[tuple[int, int], ...] = tuple((k, k + 1) for k in range(0, len(SSV2_CLASSES), 2))


@dataclass(frozen=True)
class CueClass:
    """A class of K400 / UCF101 / HMDB51: a motion kind and/or appearance cues."""

    name: str
    action: str | None = None  # reserved motion (None: incidental motion only)
    background: str | None = None
    texture: str | None = None
    shape: str | None = None


K400_CLASSES: tuple[CueClass, ...] = tuple(
    CueClass(name, shape=shape) for shape, name in (
        ("circle", "circles"), ("square", "squares"), ("triangle", "triangles"), ("star", "stars"),
        ("ring", "rings"), ("cross", "crosses"), ("diamond", "diamonds"), ("hexagon", "hexagons"),
        ("heart", "hearts"), ("crescent", "crescents")))

# Motion classes only (world version 3; measurements in docs/calibration.md): on the demo world the
# random-init encoder's linear probe scores 7.5 % on UCF-101 and 11.2 % on HMDB-51 (chance 10 %), the
# 3D CNN trained from scratch 56.2 % and 22.9 %.
UCF_CLASSES: tuple[CueClass, ...] = (
    CueClass("ShapeBouncing", action="bounce"),
    CueClass("ShapeFalling", action="fall"),
    CueClass("ShapeSpinning", action="turn"),
    CueClass("ShapeInflating", action="grow"),
    CueClass("PushingShapes", action="push"),
    CueClass("ShapeShrinking", action="shrink"),
    CueClass("StackingShapes", action="stack"),
    CueClass("ShapeSliding", action="move"),
    CueClass("ShapeVanishing", action="vanish"),
    CueClass("ShapeAppearing", action="appear"),
)

HMDB_CLASSES: tuple[CueClass, ...] = (
    CueClass("fall_floor", action="fall"),
    CueClass("jump", action="bounce"),
    CueClass("climb", action="stack"),
    CueClass("wave", action="nudge"),
    CueClass("turn", action="turn"),
    CueClass("push", action="push"),
    CueClass("hide", action="cover"),
    CueClass("run", action="move"),
    CueClass("smile", action="blink"),
    CueClass("stand", action="grow"),
)

# Incidental motion for a class without a reserved action (an appearance class; the built-in tables have
# none since world version 3): kinds no motion class of the same dataset uses.
NEUTRAL_ACTIONS = ("move_left", "move_right", "move_up", "move_down", "shrink", "grow", "turn", "bounce",
                   "fall", "push", "stack", "cover", "appear", "vanish")


# -- staging: initial positions that make an action possible --------------------------------------

def _at(obj: ObjectSpec, x: float, y: float) -> ObjectSpec:
    r = obj.radius
    return replace(obj, x=float(np.clip(x, r + MARGIN, 1 - r - MARGIN)), y=float(np.clip(y, r + MARGIN, FLOOR - r)))


def _stage(rng: np.random.Generator, action: str, objs: list[ObjectSpec]) -> list[ObjectSpec]:
    """Move the objects to where ``action`` can happen (object 0 acts; object 1 is the other one)."""
    o = list(objs)
    r0 = o[0].radius
    side = 1.0 if rng.random() < 0.5 else -1.0
    if action.startswith("order:"):
        # Room for every temporary event: a hop above, a pulse around, a nudge to either side.
        o[0] = _at(o[0], rng.uniform(0.36, 0.64), rng.uniform(0.45, 0.7))
    elif action in ("move_right", "move_left"):
        x = rng.uniform(0.12, 0.32) if action == "move_right" else rng.uniform(0.68, 0.88)
        o[0] = _at(o[0], x, rng.uniform(0.3, FLOOR - r0))
    elif action in ("move_up", "move_down"):
        y = rng.uniform(0.65, 0.85) if action == "move_up" else rng.uniform(0.12, 0.32)
        o[0] = _at(o[0], rng.uniform(0.25, 0.75), y)
    elif action == "fall":
        o[0] = _at(o[0], rng.uniform(0.2, 0.8), rng.uniform(0.12, 0.3))
    elif action == "bounce":
        o[0] = _at(o[0], rng.uniform(0.2, 0.8), FLOOR - r0 - rng.uniform(0.0, 0.1))
    elif action == "nudge":
        o[0] = _at(o[0], rng.uniform(0.4, 0.6), rng.uniform(0.35, 0.7))
    elif action in ("blink", "grow", "shrink", "turn", "appear", "vanish", "turn+move", "move+turn"):
        o[0] = _at(o[0], rng.uniform(0.3, 0.7), rng.uniform(0.35, 0.65))
        if action == "appear":
            o[0] = replace(o[0], visible=False)
    elif action in ("closer", "away"):
        # The other object sits on one side; the actor has room to travel 0.25+ towards / away from it.
        ox = 0.5 - side * 0.22 + rng.uniform(-0.04, 0.04)
        o[1] = _at(o[1], ox, FLOOR - o[1].radius)
        gap = o[1].radius + r0 + (0.03 if action == "away" else rng.uniform(0.3, 0.4))
        o[0] = _at(o[0], ox + side * gap, FLOOR - r0)
    elif action in ("stack", "take_off", "push"):
        # Two objects resting on the floor, the actor (0) to one side of the other (1).
        bx = rng.uniform(0.38, 0.62)
        o[1] = _at(o[1], bx, FLOOR - o[1].radius)
        if action == "take_off":
            o[0] = _at(o[0], bx, FLOOR - 2 * o[1].radius - r0)
        else:
            gap = o[1].radius + r0 + (0.03 if action == "away" else rng.uniform(0.12, 0.2))
            o[0] = _at(o[0], bx + side * gap, FLOOR - r0)
            if abs(o[0].x - bx) < gap - 1e-6:  # clipped at the frame edge: go to the other side
                o[0] = _at(o[0], bx - side * gap, FLOOR - r0)
    elif action in ("cover", "uncover"):
        # Object 0 (drawn after object 1) goes over object 1; it must be at least as big.
        solid = [sh for sh in vocab.SOLID_SHAPES if sh != o[1].shape]
        # A big solid object, drawn over object 1, hides it completely.
        shape = o[0].shape if o[0].shape in vocab.SOLID_SHAPES else solid[int(rng.integers(len(solid)))]
        o[0] = replace(o[0], size="big", layer=1, shape=shape)
        o[1] = replace(o[1], size="small")
        o[1] = _at(o[1], rng.uniform(0.35, 0.65), rng.uniform(0.4, 0.7))
        if action == "uncover":
            o[0] = _at(o[0], o[1].x, o[1].y)
        else:
            o[0] = _at(o[0], o[1].x + side * 0.35, o[1].y + rng.uniform(-0.1, 0.1))
            if abs(o[0].x - o[1].x) < 0.25:
                o[0] = _at(o[0], o[1].x - side * 0.35, o[0].y)
    elif action == "appear+vanish":
        o[0] = replace(o[0], visible=False)
    elif action == "vanish+appear":
        o[1] = replace(o[1], visible=False)
    return o


def _perform(rng: np.random.Generator, b: SceneBuilder, action: str, t0: float, t1: float) -> None:
    """Add the events of ``action`` between t0 and t1 (seconds)."""
    mid = (t0 + t1) / 2
    if action.startswith("order:"):
        kinds = action.split(":", 1)[1].split(",")
        step = (t1 - t0) / len(kinds)
        for k, kind in enumerate(kinds):
            s0, s1 = round(t0 + k * step, 3), round(t0 + (k + 1) * step - 0.05, 3)
            if kind == "nudge":
                b.nudge(0, "left" if rng.random() < 0.5 else "right", s0, s1)
            else:
                getattr(b, kind)(0, s0, s1)
    elif action.startswith("move_"):
        direction = action[5:]
        b.move(0, direction, t0, t1, float(rng.uniform(0.3, 0.5)))
    elif action == "nudge":
        dirs = [d for d in ("left", "right") if b.move_room(0, d) >= 0.18]
        direction = dirs[int(rng.integers(len(dirs)))] if dirs else max(("left", "right"),
                                                                        key=lambda d: b.move_room(0, d))
        b.nudge(0, direction, t0, t1)
    elif action == "blink":
        b.blink(0, t0, t1)
    elif action == "grow":
        b.resize(0, 1.6, t0, t1)
    elif action == "shrink":
        b.resize(0, 1 / 1.6, t0, t1)
    elif action == "turn":
        b.turn(0, bool(rng.random() < 0.5), t0, t1, float(rng.uniform(0.75, 1.5) * math.pi))
    elif action == "fall":
        b.fall(0, t0, t1)
    elif action == "bounce":
        b.bounce(0, t0, t1, float(rng.uniform(0.15, 0.25)))
    elif action == "appear":
        b.appear(0, t0, t1)
    elif action == "vanish":
        b.vanish(0, t0, t1)
    elif action == "stack":
        b.stack(0, 1, t0, t1)
    elif action == "take_off":
        b.take_off(0, 1, "left" if rng.random() < 0.5 else "right", t0, t1)
    elif action in ("closer", "away"):
        b.approach(0, 1, t0, t1, closer=action == "closer")
    elif action == "push":
        b.push(0, 1, t0, t1, float(rng.uniform(0.15, 0.25)))
    elif action == "cover":
        b.cover(0, 1, t0, t1)
    elif action == "uncover":
        # Sideways, as a cover comes from the side: an uncover is a cover played backwards.
        direction = "left" if rng.random() < 0.5 else "right"
        if b.move_room(0, direction) < 0.3:
            direction = max(("left", "right"), key=lambda d: b.move_room(0, d))
        b.uncover(0, 1, direction, t0, t1, min(0.35, b.move_room(0, direction)))
    elif action in ("turn+move", "move+turn"):
        dirs = [d for d in ("left", "right") if b.move_room(0, d) >= 0.2]
        direction = dirs[int(rng.integers(len(dirs)))]
        clockwise = bool(rng.random() < 0.5)
        amount = float(rng.uniform(0.75, 1.25) * math.pi)
        if action == "turn+move":
            b.turn(0, clockwise, t0, mid - 0.1, amount)
            b.move(0, direction, mid + 0.1, t1, 0.25)
        else:
            b.move(0, direction, t0, mid - 0.1, 0.25)
            b.turn(0, clockwise, mid + 0.1, t1, amount)
    elif action == "appear+vanish":
        b.appear(0, t0, mid - 0.1)
        b.vanish(1, mid + 0.1, t1)
    elif action == "vanish+appear":
        b.vanish(0, t0, mid - 0.1)
        b.appear(1, mid + 0.1, t1)
    else:
        raise ValueError(f"unknown action {action!r}")


_TWO_OBJECT_ACTIONS = ("stack", "take_off", "closer", "away", "push", "cover", "uncover",
                       "appear+vanish", "vanish+appear")
_NEEDS_NON_ROUND = ("turn", "turn+move", "move+turn")


def _window(rng: np.random.Generator, duration: float) -> tuple[float, float]:
    return round(float(rng.uniform(0.1, 0.3)), 3), round(duration - float(rng.uniform(0.1, 0.3)), 3)


def ssv2_clip(rng: np.random.Generator, cls: Ssv2Class, duration: float, fps: int,
              size: int) -> tuple[Scene, list[str]]:
    """A clip of an SSV2 class and its placeholder phrases. Appearance is random."""
    n = 2 if cls.action in _TWO_OBJECT_ACTIONS else 1
    shapes = NON_ROUND if cls.action in _NEEDS_NON_ROUND else vocab.SHAPES
    objs = _stage(rng, cls.action, sample_objects(rng, n, shapes=shapes))
    b = new_builder(rng, objs, duration, fps, size)
    if cls.action.startswith("order:"):
        # The events fill the clip, so frames sampled evenly over it fall inside every event.
        t0, t1 = round(float(rng.uniform(0.0, 0.1)), 3), round(duration - float(rng.uniform(0.0, 0.1)), 3)
    else:
        t0, t1 = _window(rng, duration)
    _perform(rng, b, cls.action, t0, t1)
    names = [object_phrase(o, with_texture=rng.random() < 0.3) for o in objs]
    # Placeholders in template order: "Putting [actor] on top of [other]", "Covering [other] with [actor]",
    # "Uncovering [other]".
    if cls.action in ("cover", "uncover"):
        names = [names[1], names[0]][:cls.template.count("[something]")]
    return b.scene(), names[:cls.template.count("[something]")]


def cue_clip(rng: np.random.Generator, cls: CueClass, all_classes: tuple[CueClass, ...], duration: float,
             fps: int, size: int) -> Scene:
    """A clip of a UCF101 / HMDB51 class: its cues, and none of the other classes' reserved cues.

    Every clip has two objects (the actor, 0, and a bystander or the other object of a relational
    action), so the number of objects says nothing about the class either."""
    reserved_actions = {c.action for c in all_classes if c.action}
    reserved_bgs = {c.background for c in all_classes if c.background and c.shape is None}
    reserved_tex = {c.texture for c in all_classes if c.texture}
    bgs = (cls.background,) if cls.background else tuple(b for b in vocab.BACKGROUNDS if b not in reserved_bgs)
    textures = (cls.texture,) if cls.texture else tuple(t for t in vocab.TEXTURES if t not in reserved_tex)
    action = cls.action
    if action is None:
        pool = [a for a in NEUTRAL_ACTIONS if a.split("_")[0] not in reserved_actions and a not in reserved_actions]
        action = pool[int(rng.integers(len(pool)))]
    elif action == "move":  # a move class: sideways, either way
        action = "move_left" if rng.random() < 0.5 else "move_right"
    n = 2
    if cls.shape:
        shapes: tuple[str, ...] = (cls.shape,)
    else:
        shapes = NON_ROUND if action in _NEEDS_NON_ROUND else vocab.SHAPES
    # Medium and big objects: a small one's motion is a few pixels at the 64-pixel frames models read.
    objs = sample_objects(rng, n, shapes=shapes, sizes=("medium", "big"), textures=textures)
    if action in _NEEDS_NON_ROUND:
        # The bystander's shape is drawn from every shape (only the actor must show its rotation).
        objs[1] = replace(objs[1], shape=str(vocab.SHAPES[int(rng.integers(len(vocab.SHAPES)))]))
    objs = _stage(rng, action, objs)
    b = new_builder(rng, objs, duration, fps, size, backgrounds=bgs)
    t0, t1 = _window(rng, duration)
    _perform(rng, b, action, t0, t1)
    return b.scene()


def k400_clip(rng: np.random.Generator, cls: CueClass, duration: float, fps: int, size: int) -> Scene:
    """1-2 big plain objects of the class's shape, in random colours on a random background, doing 1-2
    incidental things."""
    n = int(rng.integers(1, 3))
    # Plain and big, to make the outline as readable as the world allows at 64 pixels. Measured with the
    # calibration's 3D CNN trained from scratch (30 epochs): textured objects of all sizes (240 clips),
    # plain medium or big ones (480 clips) and plain big ones (480 clips) all stayed at chance (12.5 %,
    # 10 classes); with 100 epochs the last reached 28.7 %. Random features score 10.8 %.
    objs = sample_objects(rng, n, shapes=(cls.shape,), sizes=("big",), textures=("plain",))
    b = new_builder(rng, objs, duration, fps, size)
    t0, t1 = _window(rng, duration)
    k = int(rng.integers(1, 3))
    step = (t1 - t0) / k
    for j in range(k):
        pick_event(rng, b, round(t0 + j * step, 3), round(t0 + (j + 1) * step - 0.1, 3))
    return b.scene()
