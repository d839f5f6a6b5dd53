"""Scenes: a background, a few objects and a timeline of events, as plain picklable data.

A scene is built by ``SceneBuilder``: each event method reads the objects' current state, records the
property changes it causes (``Change``) and updates the state, so a timeline is always physically
consistent (a fallen object is on the floor, a vanished one is invisible). ``motion.py`` turns the
changes into per-frame tracks and ``render.py`` draws them.

Coordinates are fractions of the frame: x from left (0) to right (1), y from top (0) to bottom (1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from . import vocab

HOP_HEIGHT = 0.2      # temporary events' sizes, as fractions of the frame (radius: a factor)
PULSE_FACTOR = 1.6
NUDGE_DISTANCE = 0.18
FLOOR = 0.9  # y of the floor line: fallen objects rest on it
MARGIN = 0.03
# Offsets that last only for their change's time span (the object returns to its state afterwards):
# hop (upward), dx (sideways), dr (radius), dalpha (opacity). They make the world's temporary events,
# whose frames are the same in any order: only the sequence tells them apart.
TEMPORARY_PROPS = ("hop", "dx", "dr", "dalpha")


@dataclass(frozen=True)
class ObjectSpec:
    shape: str
    colour: str
    size: str
    texture: str
    x: float
    y: float
    visible: bool = True
    angle: float = 0.0
    layer: int = 0  # drawing order: higher layers are drawn over lower ones (then by index)

    @property
    def radius(self) -> float:
        return vocab.SIZES[self.size]


@dataclass(frozen=True)
class Change:
    """Property ``prop`` of object ``obj`` goes from v0 to v1 between t0 and t1 (seconds)."""

    obj: int
    prop: str  # x, y, r, angle, alpha, or one of TEMPORARY_PROPS
    v0: float
    v1: float
    t0: float
    t1: float
    ease: str = "smooth"  # linear, smooth, accel (falling), bounce (0 -> 1 -> 0 twice), plateau (0 -> 1, hold, -> 0)


@dataclass(frozen=True)
class Event:
    kind: str  # one of vocab.EVENT_KINDS, plus downstream-only kinds (take_off, uncover, approach, ...)
    actor: int
    start: float
    end: float
    other: int | None = None
    params: tuple[tuple[str, str], ...] = ()
    changes: tuple[Change, ...] = ()

    def param(self, key: str, default: str = "") -> str:
        return dict(self.params).get(key, default)


@dataclass(frozen=True)
class Scene:
    background: str
    objects: tuple[ObjectSpec, ...]
    events: tuple[Event, ...]
    duration: float
    fps: int
    size: int
    texture_seed: int  # seeds the background's noise pattern

    @property
    def num_frames(self) -> int:
        return max(1, int(round(self.duration * self.fps)))


@dataclass
class _State:
    x: float
    y: float
    r: float
    angle: float
    alpha: float
    covered_by: int | None = None
    resting_on: int | None = None  # set by a stack; cleared when this object moves


class SceneBuilder:
    """Add events one at a time; each method checks nothing, ``can_*`` methods say what is feasible."""

    def __init__(self, background: str, objects: list[ObjectSpec], duration: float, fps: int,
                 size: int, texture_seed: int):
        self.background = background
        self.objects = list(objects)
        self.duration = duration
        self.fps = fps
        self.size = size
        self.texture_seed = texture_seed
        self.state = [_State(o.x, o.y, o.radius, o.angle, 1.0 if o.visible else 0.0) for o in objects]
        self.events: list[Event] = []

    # -- helpers -------------------------------------------------------------------------------
    def _add(self, kind: str, actor: int, start: float, end: float, changes: list[Change],
             other: int | None = None, **params: str) -> Event:
        for ch in changes:
            if ch.prop not in TEMPORARY_PROPS:  # the object returns to its state after a temporary offset
                setattr(self.state[ch.obj], ch.prop, ch.v1)
        event = Event(kind, actor, start, end, other, tuple(sorted(params.items())), tuple(changes))
        self.events.append(event)
        # Moving the actor uncovers whatever it was covering, and lifts it off what it rested on.
        if any(ch.prop in ("x", "y") for ch in changes):
            for s in self.state:
                if s.covered_by == actor:
                    s.covered_by = None
            self.state[actor].resting_on = None
        return event

    def carries(self, i: int) -> bool:
        """Something rests on object i (moving or resizing i would leave it floating)."""
        return any(s.resting_on == i for s in self.state)

    def _goto(self, i: int, x: float, y: float, t0: float, t1: float, ease: str = "smooth") -> list[Change]:
        s = self.state[i]
        out = []
        if abs(x - s.x) > 1e-6:
            out.append(Change(i, "x", s.x, x, t0, t1, ease))
        if abs(y - s.y) > 1e-6:
            out.append(Change(i, "y", s.y, y, t0, t1, ease))
        return out

    def visible(self, i: int) -> bool:
        return self.state[i].alpha > 0.5 and self.state[i].covered_by is None

    def x_range(self, i: int) -> tuple[float, float]:
        r = self.state[i].r
        return r + MARGIN, 1.0 - r - MARGIN

    def y_range(self, i: int) -> tuple[float, float]:
        r = self.state[i].r
        return r + MARGIN, FLOOR - r

    # -- feasibility ---------------------------------------------------------------------------
    def move_room(self, i: int, direction: str) -> float:
        s = self.state[i]
        lo, hi = self.x_range(i) if direction in ("left", "right") else self.y_range(i)
        pos = s.x if direction in ("left", "right") else s.y
        return pos - lo if direction in ("left", "up") else hi - pos

    def can(self, kind: str, i: int, j: int | None = None) -> bool:
        s = self.state[i]
        if kind == "appear":
            return s.alpha < 0.5
        if not self.visible(i):
            return False
        if self.carries(i) and kind in ("move", "grow", "shrink", "fall", "bounce", "stack", "cover",
                                        "push", "vanish", "hop", "pulse", "nudge", "blink"):
            return False
        if kind in ("fall", "bounce") and s.resting_on is not None:
            return False
        if kind == "move":
            return any(self.move_room(i, d) >= 0.22 for d in vocab.DIRECTIONS)
        if kind == "turn":
            return self.objects[i].shape not in vocab.ROUND_SHAPES
        if kind == "grow":
            return s.r * 1.5 <= 0.2 and self.move_room(i, "down") >= 0 and s.y - s.r * 1.5 > 0
        if kind == "shrink":
            return s.r / 1.5 >= 0.045
        if kind == "vanish":
            return True
        if kind == "fall":
            return (FLOOR - s.r) - s.y >= 0.3
        if kind == "bounce":
            return s.y - s.r - 0.15 >= 0.0
        if kind == "hop":
            return s.y - s.r - HOP_HEIGHT >= 0.0
        if kind == "pulse":
            return s.r * PULSE_FACTOR <= 0.21 and s.y - s.r * PULSE_FACTOR > 0 \
                and s.y + s.r * PULSE_FACTOR < 1.0
        if kind == "nudge":
            return max(self.move_room(i, "left"), self.move_room(i, "right")) >= NUDGE_DISTANCE
        if kind == "blink":
            return True
        if j is None or j == i or not self.visible(j):
            return False
        t = self.state[j]
        if self.carries(j) and kind in ("stack", "push"):
            return False
        if kind == "stack":
            return t.y - t.r - 2 * s.r >= MARGIN
        if kind == "cover":
            return (draw_rank(self.objects, i) > draw_rank(self.objects, j) and s.r >= t.r * 0.95
                    and self.objects[i].shape in vocab.SOLID_SHAPES)
        if kind == "push":
            direction = "right" if t.x >= s.x else "left"
            return self.move_room(j, direction) >= 0.15 and abs(t.x - s.x) >= s.r + t.r + 0.05
        return False

    # -- events --------------------------------------------------------------------------------
    def move(self, i: int, direction: str, start: float, end: float, distance: float | None = None) -> Event:
        s = self.state[i]
        room = self.move_room(i, direction)
        d = min(room, distance if distance is not None else room)
        sign = -1.0 if direction in ("left", "up") else 1.0
        if direction in ("left", "right"):
            ch = self._goto(i, s.x + sign * d, s.y, start, end)
        else:
            ch = self._goto(i, s.x, s.y + sign * d, start, end)
        return self._add("move", i, start, end, ch, direction=direction)

    def turn(self, i: int, clockwise: bool, start: float, end: float, amount: float = math.pi) -> Event:
        s = self.state[i]
        # y points down, so a positive angle turns clockwise on screen.
        target = s.angle + (amount if clockwise else -amount)
        ch = [Change(i, "angle", s.angle, target, start, end, "linear")]
        return self._add("turn", i, start, end, ch, direction="clockwise" if clockwise else "counterclockwise")

    def resize(self, i: int, factor: float, start: float, end: float) -> Event:
        s = self.state[i]
        ch = [Change(i, "r", s.r, s.r * factor, start, end)]
        return self._add("grow" if factor > 1 else "shrink", i, start, end, ch)

    def appear(self, i: int, start: float, end: float) -> Event:
        s = self.state[i]
        return self._add("appear", i, start, end, [Change(i, "alpha", s.alpha, 1.0, start, end, "linear")])

    def vanish(self, i: int, start: float, end: float) -> Event:
        s = self.state[i]
        return self._add("vanish", i, start, end, [Change(i, "alpha", s.alpha, 0.0, start, end, "linear")])

    def fall(self, i: int, start: float, end: float) -> Event:
        s = self.state[i]
        return self._add("fall", i, start, end, self._goto(i, s.x, FLOOR - s.r, start, end, "accel"))

    def bounce(self, i: int, start: float, end: float, height: float = 0.15) -> Event:
        return self._add("bounce", i, start, end, [Change(i, "hop", 0.0, height, start, end, "bounce")])

    # Temporary events: an offset that rises over the first sixth of the event, holds, and falls back,
    # so that every frame inside the event shows it (a frame sampled anywhere in it can identify it).
    def hop(self, i: int, start: float, end: float, height: float = 0.0) -> Event:
        h = height or HOP_HEIGHT
        return self._add("hop", i, start, end, [Change(i, "hop", 0.0, h, start, end, "plateau")])

    def pulse(self, i: int, start: float, end: float) -> Event:
        r = self.state[i].r
        return self._add("pulse", i, start, end, [Change(i, "dr", 0.0, r * (PULSE_FACTOR - 1), start, end,
                                                         "plateau")])

    def nudge(self, i: int, direction: str, start: float, end: float) -> Event:
        sign = -1.0 if direction == "left" else 1.0
        return self._add("nudge", i, start, end, [Change(i, "dx", 0.0, sign * NUDGE_DISTANCE, start, end,
                                                         "plateau")], direction=direction)

    def blink(self, i: int, start: float, end: float) -> Event:
        return self._add("blink", i, start, end, [Change(i, "dalpha", 0.0, -1.0, start, end, "plateau")])

    def stack(self, i: int, j: int, start: float, end: float) -> Event:
        t = self.state[j]
        ch = self._goto(i, t.x, t.y - t.r - self.state[i].r, start, end)
        event = self._add("stack", i, start, end, ch, other=j)
        self.state[i].resting_on = j
        return event

    def take_off(self, i: int, j: int, direction: str, start: float, end: float) -> Event:
        """Object i, resting on j, is lifted off to one side and set down on the floor."""
        s, t = self.state[i], self.state[j]
        sign = -1.0 if direction == "left" else 1.0
        lo, hi = self.x_range(i)
        x = float(np.clip(t.x + sign * (t.r + s.r + 0.12), lo, hi))
        ch = self._goto(i, x, FLOOR - s.r, start, end)
        return self._add("take_off", i, start, end, ch, other=j, direction=direction)

    def cover(self, i: int, j: int, start: float, end: float) -> Event:
        t = self.state[j]
        ev = self._add("cover", i, start, end, self._goto(i, t.x, t.y, start, end), other=j)
        self.state[j].covered_by = i
        return ev

    def uncover(self, i: int, j: int, direction: str, start: float, end: float, distance: float) -> Event:
        s = self.state[i]
        sign = -1.0 if direction in ("left", "up") else 1.0
        if direction in ("left", "right"):
            ch = self._goto(i, s.x + sign * distance, s.y, start, end)
        else:
            ch = self._goto(i, s.x, s.y + sign * distance, start, end)
        return self._add("uncover", i, start, end, ch, other=j, direction=direction)

    def push(self, i: int, j: int, start: float, end: float, distance: float | None = None) -> Event:
        s, t = self.state[i], self.state[j]
        direction = "right" if t.x >= s.x else "left"
        sign = 1.0 if direction == "right" else -1.0
        mid = start + 0.45 * (end - start)
        ch = self._goto(i, t.x - sign * (s.r + t.r), t.y, start, mid, "linear")
        d = min(self.move_room(j, direction), distance if distance is not None else 0.25)
        # Both travel together after contact; i stays touching j.
        ch.append(Change(i, "x", t.x - sign * (s.r + t.r), t.x - sign * (s.r + t.r) + sign * d, mid, end, "linear"))
        ch.append(Change(j, "x", t.x, t.x + sign * d, mid, end, "linear"))
        return self._add("push", i, start, end, ch, other=j, direction=direction)

    def approach(self, i: int, j: int, start: float, end: float, closer: bool) -> Event:
        """Object i moves horizontally towards (closer) or away from j; a downstream-only kind."""
        s, t = self.state[i], self.state[j]
        gap_now = abs(s.x - t.x)
        side = 1.0 if s.x >= t.x else -1.0
        lo, hi = self.x_range(i)
        gap_new = s.r + t.r + 0.04 if closer else gap_now + 0.3
        x = float(np.clip(t.x + side * gap_new, lo, hi))
        return self._add("approach" if closer else "retreat", i, start, end,
                         self._goto(i, x, s.y, start, end), other=j)

    def scene(self) -> Scene:
        return Scene(self.background, tuple(self.objects), tuple(self.events), float(self.duration),
                     int(self.fps), int(self.size), int(self.texture_seed))


# -- sampling -----------------------------------------------------------------------------------

def sample_objects(rng: np.random.Generator, n: int, *, shapes=vocab.SHAPES, colours=tuple(vocab.COLOURS),
                   sizes=tuple(vocab.SIZES), textures=vocab.TEXTURES) -> list[ObjectSpec]:
    """n objects with distinct shapes and distinct colours (so "the red square" names one object),
    spread out horizontally."""
    # A single allowed shape (a class defined by shape) repeats; otherwise shapes are distinct.
    shape_pick = rng.choice(len(shapes), size=n, replace=len(shapes) < n)
    colour_pick = rng.choice(len(colours), size=n, replace=False)
    slots = np.sort(rng.permutation(np.linspace(0.2, 0.8, max(n, 3)))[:n])
    objs = []
    for k in range(n):
        size = str(sizes[int(rng.integers(len(sizes)))])
        r = vocab.SIZES[size]
        x = float(np.clip(slots[k] + rng.uniform(-0.05, 0.05), r + MARGIN, 1 - r - MARGIN))
        y = float(rng.uniform(0.3, FLOOR - r))
        objs.append(ObjectSpec(str(shapes[shape_pick[k]]), str(colours[colour_pick[k]]), size,
                               str(textures[int(rng.integers(len(textures)))]), x, y))
    return objs


def with_visibility(obj: ObjectSpec, visible: bool) -> ObjectSpec:
    return replace(obj, visible=visible)


def pick_event(rng: np.random.Generator, b: SceneBuilder, start: float, end: float,
               avoid: tuple[int, str] | None = None) -> Event | None:
    """A feasible event between start and end; ``avoid``: an (actor, kind) not to repeat (a story whose
    consecutive events look and sound the same cannot be put back in order)."""
    n = len(b.objects)
    order = rng.permutation(n)
    kinds = list(vocab.EVENT_KINDS)
    weights = np.array([vocab.EVENT_WEIGHTS[k] for k in kinds])
    for i in order:
        i = int(i)
        ranked = [kinds[k] for k in rng.choice(len(kinds), size=len(kinds), replace=False,
                                                p=weights / weights.sum())]
        for kind in ranked:
            if (i, kind) == avoid:
                continue
            if kind in ("stack", "cover", "push"):
                partners = [int(j) for j in rng.permutation(n) if b.can(kind, i, int(j))]
                if not partners:
                    continue
                j = partners[0]
                return getattr(b, kind)(i, j, start, end)
            if not b.can(kind, i):
                continue
            if kind == "move":
                dirs = [d for d in vocab.DIRECTIONS if b.move_room(i, d) >= 0.22]
                d = dirs[int(rng.integers(len(dirs)))]
                return b.move(i, d, start, end, rng.uniform(0.2, max(0.21, b.move_room(i, d))))
            if kind == "turn":
                return b.turn(i, bool(rng.integers(2)), start, end, float(rng.uniform(0.5, 1.5) * math.pi))
            if kind == "grow":
                return b.resize(i, 1.5, start, end)
            if kind == "shrink":
                return b.resize(i, 1 / 1.5, start, end)
            if kind == "appear":
                return b.appear(i, start, start + min(1.2, end - start))
            if kind == "vanish":
                return b.vanish(i, start, start + min(1.2, end - start))
            if kind == "fall":
                return b.fall(i, start, end)
            if kind == "bounce":
                return b.bounce(i, start, end, float(rng.uniform(0.12, min(0.25, b.state[i].y - b.state[i].r))))
            if kind == "nudge":
                dirs = [d for d in ("left", "right") if b.move_room(i, d) >= NUDGE_DISTANCE]
                return b.nudge(i, dirs[int(rng.integers(len(dirs)))], start, end)
            if kind in ("hop", "pulse", "blink"):
                return getattr(b, kind)(i, start, end)
    return None


def draw_order(objects) -> list[int]:
    return sorted(range(len(objects)), key=lambda k: (objects[k].layer, k))


def draw_rank(objects, i: int) -> int:
    return draw_order(objects).index(i)


def sample_story(rng: np.random.Generator, duration: float, fps: int, size: int,
                 lead: tuple[float, float] = (0.8, 2.5)) -> Scene:
    """A pretraining video: a background, 1-3 objects and a sequence of non-overlapping events
    filling ``duration`` seconds. Events are 2.2-4 s long, with 0.6-2.5 s gaps between them."""
    background = vocab.BACKGROUNDS[int(rng.integers(len(vocab.BACKGROUNDS)))]
    n = int(rng.integers(1, 4))
    objs = sample_objects(rng, n)
    # Some objects start hidden so that their appearance is an event.
    objs = [with_visibility(o, bool(k == 0 or rng.random() > 0.25)) for k, o in enumerate(objs)]
    b = SceneBuilder(background, objs, duration, fps, size, int(rng.integers(2**31)))
    t = float(rng.uniform(*lead))
    while True:
        length = float(rng.uniform(2.2, 4.0))
        if t + length > duration - 0.5:
            break
        last = (b.events[-1].actor, b.events[-1].kind) if b.events else None
        if pick_event(rng, b, round(t, 3), round(t + length, 3), avoid=last) is None:
            # Nothing feasible (e.g. everything vanished): bring something back.
            hidden = [i for i in range(n) if b.can("appear", i)]
            if not hidden:
                break
            b.appear(hidden[0], round(t, 3), round(t + min(1.2, length), 3))
        t += length + float(rng.uniform(0.6, 2.5))
    return b.scene()


def new_builder(rng: np.random.Generator, objects: list[ObjectSpec], duration: float, fps: int, size: int,
                background: str | None = None, backgrounds=vocab.BACKGROUNDS) -> SceneBuilder:
    bg = background or str(backgrounds[int(rng.integers(len(backgrounds)))])
    return SceneBuilder(bg, objects, duration, fps, size, int(rng.integers(2**31)))


def object_phrase(obj: ObjectSpec, *, with_size: bool = False, with_texture: bool = False) -> str:
    words = []
    if with_size:
        words.append(obj.size)
    if with_texture and obj.texture != "plain":
        words.append(obj.texture)
    words += [obj.colour, obj.shape]
    return " ".join(words)

