"""Scenes: a background, a few objects and a timeline of events, as plain picklable data.

A scene is built by ``SceneBuilder``: each event (a kind of ``world/events.py``, which holds each kind's
feasibility, changes, story weight, narration and captions) reads the objects' current state, records the
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
    kind: str  # a name in world.events.EVENTS
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


def _events():
    """The event kinds' table (``world/events.py``, which builds on this module: imported on first use)."""
    from . import events
    return events


class SceneBuilder:
    """Add events one at a time; each event method checks nothing, ``can`` says what is feasible."""

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
    def record(self, kind: str, actor: int, start: float, end: float, changes: list[Change],
               other: int | None = None, **params: str) -> Event:
        """Record an event of ``kind`` and apply its lasting changes to the objects' state."""
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

    def goto(self, i: int, x: float, y: float, t0: float, t1: float, ease: str = "smooth") -> list[Change]:
        """The changes that take object i from where it is to (x, y)."""
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
        """Whether event ``kind`` of object i (with object j, for a relational kind) is feasible now: the
        kind's ``feasible`` check in ``world/events.py``. False for a downstream-only kind (stories never
        stage one) and for a name that is no kind."""
        k = _events().EVENTS.get(kind)
        if k is None or k.feasible is None:
            return False
        if k.relational:
            return j is not None and j != i and k.feasible(self, i, j)
        return k.feasible(self, i)

    # -- events: each kind's changes are its ``make`` in world/events.py ---------------------------------
    def add(self, kind: str, *args, **kwargs) -> Event:
        """Event ``kind`` (a name in ``world.events.EVENTS``): ``add(kind, i, [j,] ..., start, end, ...)``,
        the arguments of the kind's ``make``. Nothing is checked (see ``can``)."""
        return _events().EVENTS[kind].make(self, *args, **kwargs)

    # Shortcuts to the kinds class staging uses (world/classes.py).
    def move(self, i: int, direction: str, start: float, end: float, distance: float | None = None) -> Event:
        return self.add("move", i, direction, start, end, distance)

    def turn(self, i: int, clockwise: bool, start: float, end: float, amount: float = math.pi) -> Event:
        return self.add("turn", i, clockwise, start, end, amount)

    def resize(self, i: int, factor: float, start: float, end: float) -> Event:
        """A grow (factor > 1) or a shrink."""
        return self.add("grow" if factor > 1 else "shrink", i, start, end, factor)

    def appear(self, i: int, start: float, end: float) -> Event:
        return self.add("appear", i, start, end)

    def vanish(self, i: int, start: float, end: float) -> Event:
        return self.add("vanish", i, start, end)

    def fall(self, i: int, start: float, end: float) -> Event:
        return self.add("fall", i, start, end)

    def bounce(self, i: int, start: float, end: float, height: float = 0.15) -> Event:
        return self.add("bounce", i, start, end, height)

    def hop(self, i: int, start: float, end: float, height: float = 0.0) -> Event:
        return self.add("hop", i, start, end, height)

    def pulse(self, i: int, start: float, end: float) -> Event:
        return self.add("pulse", i, start, end)

    def nudge(self, i: int, direction: str, start: float, end: float) -> Event:
        return self.add("nudge", i, direction, start, end)

    def blink(self, i: int, start: float, end: float) -> Event:
        return self.add("blink", i, start, end)

    def stack(self, i: int, j: int, start: float, end: float) -> Event:
        return self.add("stack", i, j, start, end)

    def take_off(self, i: int, j: int, direction: str, start: float, end: float) -> Event:
        """Object i, resting on j, is lifted off to one side and set down on the floor."""
        return self.add("take_off", i, j, direction, start, end)

    def cover(self, i: int, j: int, start: float, end: float) -> Event:
        return self.add("cover", i, j, start, end)

    def uncover(self, i: int, j: int, direction: str, start: float, end: float, distance: float) -> Event:
        return self.add("uncover", i, j, direction, start, end, distance)

    def push(self, i: int, j: int, start: float, end: float, distance: float | None = None) -> Event:
        return self.add("push", i, j, start, end, distance)

    def approach(self, i: int, j: int, start: float, end: float, closer: bool) -> Event:
        """Object i moves horizontally towards (closer) or away from j (a retreat)."""
        return self.add("approach" if closer else "retreat", i, j, start, end)

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
    kinds = _events().sampled_kinds()
    weights = np.array([k.weight for k in kinds])
    for i in order:
        i = int(i)
        ranked = [kinds[k] for k in rng.choice(len(kinds), size=len(kinds), replace=False,
                                                p=weights / weights.sum())]
        for kind in ranked:
            if (i, kind.name) == avoid:
                continue
            if kind.relational:
                partners = [int(j) for j in rng.permutation(n) if b.can(kind.name, i, int(j))]
                if not partners:
                    continue
                return kind.stage(rng, b, i, partners[0], start, end)
            if b.can(kind.name, i):
                return kind.stage(rng, b, i, None, start, end)
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

