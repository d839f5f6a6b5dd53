"""The world's event kinds: one ``EventKind`` per kind in ``EVENTS``, the only list of kinds.

An entry holds everything the world knows about its kind:

- ``make``: the property changes it causes, recorded on a ``SceneBuilder`` (which keeps the objects'
  state); ``b.add(name, ...)`` calls it, and the builder's named methods (``b.hop(...)``, ``b.push(...)``,
  the API class staging uses) are shortcuts to it;
- ``feasible``: whether the builder's current state allows it (``b.can``);
- ``weight`` and ``story``: how often a pretraining story picks it when it is feasible, and the arguments
  the story draws for it (``scenes.pick_event``). A kind of weight 0 is downstream-only: class staging
  uses it, stories never do, so it has no feasibility check, no story and no narration;
- ``phrases``: the narrator's phrasings (``narration.py``), never a downstream class name;
- ``verbs``: the caption verbs (``captions.py``), in an annotator's words, never a narrator's phrasing.

Templates use ``{o}`` (the actor, narration only), ``{p}`` (the other object of a relational kind) and
``{d}`` (the event's direction). A kind with a ``variant`` (a param name) has phrasings per value of that
param, keyed ``<kind>_<value>`` in ``PHRASES`` / ``VERBS`` (``move_left``); the others are keyed by kind.

Stories sample the weighted kinds in table order with ``rng.choice``: reordering the table, or changing a
weight or a ``story``'s draws, changes every generated world (bump ``WORLD_VERSION``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Union

import numpy as np

from . import vocab
from .scenes import FLOOR, HOP_HEIGHT, MARGIN, NUDGE_DISTANCE, PULSE_FACTOR, Change, Event, SceneBuilder, \
    draw_rank

Templates = Union[tuple[str, ...], Mapping[str, tuple[str, ...]]]  # one set, or one per variant value

GROW_FACTOR = 1.5     # a story's grow (and 1 / it, a shrink)
MOVE_MIN_ROOM = 0.22  # a story moves an object only with this much room in the chosen direction


@dataclass(frozen=True)
class EventKind:
    name: str
    # (b, i, [j,] ...) -> the recorded Event; relational kinds take the other object j after i.
    make: Callable[..., Event]
    verbs: Templates
    phrases: Templates = ()
    # (b, i) or (b, i, j) -> bool, with i != j given; None: downstream-only, ``b.can`` says False.
    feasible: Callable[..., bool] | None = None
    weight: float = 0.0  # story sampling weight (relational events are more interesting); 0: never sampled
    # (rng, b, i, [j,] start, end) -> Event: a story's staging; None: make(b, i, [j,] start, end).
    story: Callable[..., Event] | None = None
    relational: bool = False  # the event involves another object j
    temporary: bool = False   # the object is back as it was when the event ends
    variant: str = ""         # the param whose value picks the phrasings (move: "direction")

    def __post_init__(self) -> None:
        if self.weight and (self.feasible is None or not self.phrases):
            raise ValueError(f"event kind {self.name!r}: a sampled kind needs a feasibility check and phrases")
        if not self.weight and self.phrases:
            raise ValueError(f"event kind {self.name!r}: a downstream-only kind is never narrated")

    @property
    def sampled(self) -> bool:
        return self.weight > 0

    def stage(self, rng: np.random.Generator, b: SceneBuilder, i: int, j: int | None, start: float,
              end: float) -> Event:
        """The event a story stages (drawing its free arguments from rng); j: the partner, if relational."""
        objects = (i, j) if self.relational else (i,)
        if self.story is not None:
            return self.story(rng, b, *objects, start, end)
        return self.make(b, *objects, start, end)

    def keyed(self, field: str) -> dict[str, tuple[str, ...]]:
        """``phrases`` or ``verbs`` keyed as in ``PHRASES`` / ``VERBS``."""
        options = getattr(self, field)
        if not self.variant:
            return {self.name: tuple(options)} if options else {}
        return {f"{self.name}_{value}": tuple(group) for value, group in options.items()}


def event_key(ev: Event) -> str:
    """The key of an event's phrasings: its kind, or ``<kind>_<variant value>``."""
    variant = EVENTS[ev.kind].variant
    return f"{ev.kind}_{ev.param(variant)}" if variant else ev.kind


def event_templates(ev: Event, field: str) -> tuple[str, ...]:
    """An event's ``phrases`` or ``verbs`` (those of its variant value, for a kind with a variant)."""
    kind = EVENTS[ev.kind]
    options = getattr(kind, field)
    options = tuple(options[ev.param(kind.variant)] if kind.variant else options)
    if not options:
        raise KeyError(f"event kind {ev.kind!r} has no {field}")
    return options


def templates(field: str) -> dict[str, tuple[str, ...]]:
    """Every kind's ``phrases`` or ``verbs`` by key (``move_left``, ``grow``, ...), in table order."""
    return {key: options for kind in EVENTS.values() for key, options in kind.keyed(field).items()}


def sampled_kinds() -> list[EventKind]:
    """The kinds a story samples, in table order."""
    return [kind for kind in EVENTS.values() if kind.sampled]


# -- preconditions ------------------------------------------------------------------------------------

def _free(b: SceneBuilder, i: int) -> bool:
    """Object i is visible and carries nothing (moving or resizing it would leave something floating)."""
    return b.visible(i) and not b.carries(i)


def _grounded(b: SceneBuilder, i: int) -> bool:
    """Object i is free and not resting on another one (it would fall or bounce off its support)."""
    return _free(b, i) and b.state[i].resting_on is None


def _push_direction(b: SceneBuilder, i: int, j: int) -> str:
    return "right" if b.state[j].x >= b.state[i].x else "left"


# -- changes (a kind's ``make``) -----------------------------------------------------------------

def _shift(b: SceneBuilder, i: int, direction: str, distance: float, start: float, end: float) -> list[Change]:
    s = b.state[i]
    sign = -1.0 if direction in ("left", "up") else 1.0
    if direction in ("left", "right"):
        return b.goto(i, s.x + sign * distance, s.y, start, end)
    return b.goto(i, s.x, s.y + sign * distance, start, end)


def _move(b: SceneBuilder, i: int, direction: str, start: float, end: float,
          distance: float | None = None) -> Event:
    room = b.move_room(i, direction)
    d = min(room, distance if distance is not None else room)
    return b.record("move", i, start, end, _shift(b, i, direction, d, start, end), direction=direction)


def _turn(b: SceneBuilder, i: int, clockwise: bool, start: float, end: float, amount: float = math.pi) -> Event:
    s = b.state[i]
    # y points down, so a positive angle turns clockwise on screen.
    target = s.angle + (amount if clockwise else -amount)
    ch = [Change(i, "angle", s.angle, target, start, end, "linear")]
    return b.record("turn", i, start, end, ch, direction="clockwise" if clockwise else "counterclockwise")


def _resize(b: SceneBuilder, i: int, factor: float, start: float, end: float) -> Event:
    s = b.state[i]
    return b.record("grow" if factor > 1 else "shrink", i, start, end, [Change(i, "r", s.r, s.r * factor, start, end)])


def _fade(kind: str, alpha: float) -> Callable[..., Event]:
    def make(b: SceneBuilder, i: int, start: float, end: float) -> Event:
        return b.record(kind, i, start, end, [Change(i, "alpha", b.state[i].alpha, alpha, start, end, "linear")])
    return make


def _fall(b: SceneBuilder, i: int, start: float, end: float) -> Event:
    s = b.state[i]
    return b.record("fall", i, start, end, b.goto(i, s.x, FLOOR - s.r, start, end, "accel"))


def _bounce(b: SceneBuilder, i: int, start: float, end: float, height: float = 0.15) -> Event:
    return b.record("bounce", i, start, end, [Change(i, "hop", 0.0, height, start, end, "bounce")])


# Temporary events: an offset that rises over the first sixth of the event, holds, and falls back,
# so that every frame inside the event shows it (a frame sampled anywhere in it can identify it).
def _hop(b: SceneBuilder, i: int, start: float, end: float, height: float = 0.0) -> Event:
    return b.record("hop", i, start, end, [Change(i, "hop", 0.0, height or HOP_HEIGHT, start, end, "plateau")])


def _pulse(b: SceneBuilder, i: int, start: float, end: float) -> Event:
    r = b.state[i].r
    return b.record("pulse", i, start, end, [Change(i, "dr", 0.0, r * (PULSE_FACTOR - 1), start, end, "plateau")])


def _nudge(b: SceneBuilder, i: int, direction: str, start: float, end: float) -> Event:
    sign = -1.0 if direction == "left" else 1.0
    return b.record("nudge", i, start, end, [Change(i, "dx", 0.0, sign * NUDGE_DISTANCE, start, end, "plateau")],
                    direction=direction)


def _blink(b: SceneBuilder, i: int, start: float, end: float) -> Event:
    return b.record("blink", i, start, end, [Change(i, "dalpha", 0.0, -1.0, start, end, "plateau")])


def _stack(b: SceneBuilder, i: int, j: int, start: float, end: float) -> Event:
    t = b.state[j]
    event = b.record("stack", i, start, end, b.goto(i, t.x, t.y - t.r - b.state[i].r, start, end), other=j)
    b.state[i].resting_on = j
    return event


def _take_off(b: SceneBuilder, i: int, j: int, direction: str, start: float, end: float) -> Event:
    """Object i, resting on j, is lifted off to one side and set down on the floor."""
    s, t = b.state[i], b.state[j]
    sign = -1.0 if direction == "left" else 1.0
    lo, hi = b.x_range(i)
    x = float(np.clip(t.x + sign * (t.r + s.r + 0.12), lo, hi))
    return b.record("take_off", i, start, end, b.goto(i, x, FLOOR - s.r, start, end), other=j, direction=direction)


def _cover(b: SceneBuilder, i: int, j: int, start: float, end: float) -> Event:
    t = b.state[j]
    event = b.record("cover", i, start, end, b.goto(i, t.x, t.y, start, end), other=j)
    b.state[j].covered_by = i
    return event


def _uncover(b: SceneBuilder, i: int, j: int, direction: str, start: float, end: float, distance: float) -> Event:
    return b.record("uncover", i, start, end, _shift(b, i, direction, distance, start, end), other=j,
                    direction=direction)


def _push(b: SceneBuilder, i: int, j: int, start: float, end: float, distance: float | None = None) -> Event:
    s, t = b.state[i], b.state[j]
    direction = _push_direction(b, i, j)
    sign = 1.0 if direction == "right" else -1.0
    mid = start + 0.45 * (end - start)
    ch = b.goto(i, t.x - sign * (s.r + t.r), t.y, start, mid, "linear")
    d = min(b.move_room(j, direction), distance if distance is not None else 0.25)
    # Both travel together after contact; i stays touching j.
    ch.append(Change(i, "x", t.x - sign * (s.r + t.r), t.x - sign * (s.r + t.r) + sign * d, mid, end, "linear"))
    ch.append(Change(j, "x", t.x, t.x + sign * d, mid, end, "linear"))
    return b.record("push", i, start, end, ch, other=j, direction=direction)


def _approach(closer: bool) -> Callable[..., Event]:
    def make(b: SceneBuilder, i: int, j: int, start: float, end: float) -> Event:
        """Object i moves horizontally towards (closer) or away from j."""
        s, t = b.state[i], b.state[j]
        side = 1.0 if s.x >= t.x else -1.0
        lo, hi = b.x_range(i)
        gap = s.r + t.r + 0.04 if closer else abs(s.x - t.x) + 0.3
        x = float(np.clip(t.x + side * gap, lo, hi))
        return b.record("approach" if closer else "retreat", i, start, end, b.goto(i, x, s.y, start, end), other=j)
    return make


# -- stories' stagings (a kind's ``story``: the arguments drawn from the story's rng) -------------------

def _story_move(rng: np.random.Generator, b: SceneBuilder, i: int, start: float, end: float) -> Event:
    dirs = [d for d in vocab.DIRECTIONS if b.move_room(i, d) >= MOVE_MIN_ROOM]
    d = dirs[int(rng.integers(len(dirs)))]
    return _move(b, i, d, start, end, rng.uniform(0.2, max(0.21, b.move_room(i, d))))


def _story_turn(rng: np.random.Generator, b: SceneBuilder, i: int, start: float, end: float) -> Event:
    clockwise = bool(rng.integers(2))
    return _turn(b, i, clockwise, start, end, float(rng.uniform(0.5, 1.5) * math.pi))


def _story_fade(make: Callable[..., Event]) -> Callable[..., Event]:
    """Appearing and vanishing take at most 1.2 s of the story's slot."""
    def story(rng: np.random.Generator, b: SceneBuilder, i: int, start: float, end: float) -> Event:
        return make(b, i, start, start + min(1.2, end - start))
    return story


def _story_bounce(rng: np.random.Generator, b: SceneBuilder, i: int, start: float, end: float) -> Event:
    return _bounce(b, i, start, end, float(rng.uniform(0.12, min(0.25, b.state[i].y - b.state[i].r))))


def _story_nudge(rng: np.random.Generator, b: SceneBuilder, i: int, start: float, end: float) -> Event:
    dirs = [d for d in ("left", "right") if b.move_room(i, d) >= NUDGE_DISTANCE]
    return _nudge(b, i, dirs[int(rng.integers(len(dirs)))], start, end)


# -- the table ----------------------------------------------------------------------------------------------

_appear, _vanish = _fade("appear", 1.0), _fade("vanish", 0.0)

EVENTS: dict[str, EventKind] = {kind.name: kind for kind in (
    EventKind(
        "move", _move, weight=1.0, story=_story_move, variant="direction",
        feasible=lambda b, i: _free(b, i) and any(b.move_room(i, d) >= MOVE_MIN_ROOM for d in vocab.DIRECTIONS),
        phrases={
            "left": ("{o} slides over to the left", "{o} scoots left", "now {o} heads over left",
                     "{o} drifts off to the left side"),
            "right": ("{o} slides over to the right", "{o} scoots right", "now {o} heads over right",
                      "{o} drifts off to the right side"),
            "up": ("{o} floats upward", "{o} rises up a bit", "{o} goes higher"),
            "down": ("{o} sinks lower", "{o} drops down a little", "{o} slides down a bit"),
        },
        verbs={
            "left": ("moves to the left", "is moving toward the left edge", "travels leftward"),
            "right": ("moves to the right", "is moving toward the right edge", "travels rightward"),
            "up": ("moves up", "is rising toward the top", "travels upward"),
            "down": ("moves down", "is lowering toward the bottom", "travels downward"),
        }),
    EventKind(
        "turn", _turn, weight=0.8, story=_story_turn, variant="direction",
        # A turn of a round shape would be narrated but not seen.
        feasible=lambda b, i: b.visible(i) and b.objects[i].shape not in vocab.ROUND_SHAPES,
        phrases={
            "clockwise": ("{o} spins clockwise", "{o} does a clockwise spin", "watch {o} rotate clockwise"),
            "counterclockwise": ("{o} spins anticlockwise", "{o} rotates the other way anticlockwise",
                                 "watch {o} twist anticlockwise"),
        },
        verbs={
            "clockwise": ("rotates clockwise", "is turning clockwise", "turns in a clockwise direction"),
            "counterclockwise": ("rotates counterclockwise", "is turning counterclockwise",
                                 "turns in a counterclockwise direction"),
        }),
    EventKind(
        "grow", lambda b, i, start, end, factor=GROW_FACTOR: _resize(b, i, factor, start, end), weight=0.7,
        feasible=lambda b, i: (_free(b, i) and b.state[i].r * GROW_FACTOR <= 0.2 and b.move_room(i, "down") >= 0
                               and b.state[i].y - b.state[i].r * GROW_FACTOR > 0),
        phrases=("{o} gets bigger", "{o} puffs up", "{o} swells up nice and big"),
        verbs=("becomes larger", "is growing in size", "expands")),
    EventKind(
        "shrink", lambda b, i, start, end, factor=1 / GROW_FACTOR: _resize(b, i, factor, start, end), weight=0.7,
        feasible=lambda b, i: _free(b, i) and b.state[i].r / GROW_FACTOR >= 0.045,
        phrases=("{o} gets smaller", "{o} shrinks down", "{o} gets tiny"),
        verbs=("becomes smaller", "is shrinking in size", "contracts")),
    EventKind(
        "appear", _appear, weight=0.5, story=_story_fade(_appear),
        feasible=lambda b, i: b.state[i].alpha < 0.5,
        phrases=("here comes {o}", "{o} pops in", "{o} shows up"),
        verbs=("appears", "comes into view", "is appearing on screen")),
    EventKind(
        "vanish", _vanish, weight=0.5, story=_story_fade(_vanish),
        feasible=_free,
        phrases=("{o} disappears", "poof {o} is gone", "{o} fades out"),
        verbs=("vanishes", "goes out of view", "is disappearing from the screen")),
    EventKind(
        "fall", _fall, weight=0.7,
        feasible=lambda b, i: _grounded(b, i) and (FLOOR - b.state[i].r) - b.state[i].y >= 0.3,
        phrases=("{o} falls down to the floor", "{o} drops to the ground", "down goes {o}"),
        verbs=("falls to the bottom", "is falling down", "drops onto the floor")),
    EventKind(
        "bounce", _bounce, weight=0.7, story=_story_bounce, temporary=True,
        feasible=lambda b, i: _grounded(b, i) and b.state[i].y - b.state[i].r - 0.15 >= 0.0,
        phrases=("{o} hops up and down", "{o} bounces a couple times", "{o} does a little hop"),
        verbs=("is bouncing", "is bouncing up and down", "jumps twice")),
    EventKind(
        "stack", _stack, weight=1.0, relational=True,
        feasible=lambda b, i, j: (_free(b, i) and _free(b, j)
                                  and b.state[j].y - b.state[j].r - 2 * b.state[i].r >= MARGIN),
        phrases=("{o} hops onto {p}", "{o} goes and sits on {p}", "{o} lands right on {p}"),
        verbs=("is placed on top of {p}", "moves on top of {p}", "ends up resting on {p}")),
    EventKind(
        "cover", _cover, weight=0.6, relational=True,
        # Only a solid object drawn over the other one, and as big, hides it completely.
        feasible=lambda b, i, j: (_free(b, i) and b.visible(j)
                                  and draw_rank(b.objects, i) > draw_rank(b.objects, j)
                                  and b.state[i].r >= b.state[j].r * 0.95
                                  and b.objects[i].shape in vocab.SOLID_SHAPES),
        phrases=("{o} parks itself over {p}", "{o} sits over {p} so we cant see it", "{o} blocks {p} completely"),
        verbs=("covers {p}", "moves over {p} and hides it", "is placed over {p}")),
    EventKind(
        "push", _push, weight=1.0, relational=True,
        feasible=lambda b, i, j: (_free(b, i) and _free(b, j) and b.move_room(j, _push_direction(b, i, j)) >= 0.15
                                  and abs(b.state[j].x - b.state[i].x)
                                  >= b.state[i].r + b.state[j].r + 0.05),
        phrases=("{o} bumps into {p} and shoves it {d}", "{o} knocks {p} over to the {d}",
                 "{o} rams {p} and they both go {d}"),
        verbs=("pushes {p} to the {d}", "is pushing {p} {d}ward", "shoves {p} toward the {d}")),
    EventKind(
        "hop", _hop, weight=0.7, temporary=True,
        feasible=lambda b, i: _free(b, i) and b.state[i].y - b.state[i].r - HOP_HEIGHT >= 0.0,
        phrases=("{o} jumps up for a second", "{o} springs up and lands again", "{o} leaps up once"),
        verbs=("jumps once", "leaps up and comes back down", "makes a single jump")),
    EventKind(
        "pulse", _pulse, weight=0.7, temporary=True,
        feasible=lambda b, i: (_free(b, i) and b.state[i].r * PULSE_FACTOR <= 0.21
                               and b.state[i].y - b.state[i].r * PULSE_FACTOR > 0
                               and b.state[i].y + b.state[i].r * PULSE_FACTOR < 1.0),
        phrases=("{o} puffs up for a moment and goes back", "{o} swells for a bit then back to normal",
                 "{o} balloons out for a second"),
        verbs=("briefly becomes larger", "swells and returns to its size", "expands for a moment")),
    EventKind(
        "nudge", _nudge, weight=0.7, story=_story_nudge, temporary=True,
        feasible=lambda b, i: _free(b, i) and max(b.move_room(i, "left"), b.move_room(i, "right")) >= NUDGE_DISTANCE,
        phrases=("{o} wiggles over to the {d} and back", "{o} scoots {d} for a sec then returns",
                 "{o} leans {d} and comes right back"),
        verbs=("shifts to the {d} and back", "moves {d}ward for a moment and back", "sways to the {d}")),
    EventKind(
        "blink", _blink, weight=0.5, temporary=True,
        feasible=_free,
        phrases=("{o} blinks out for a moment", "{o} flickers off and on again", "{o} goes invisible for a second"),
        verbs=("turns invisible briefly", "briefly disappears", "flickers out and back in")),
    # Downstream-only kinds: class staging uses them; stories never sample them, so nobody narrates them.
    EventKind(
        "take_off", _take_off, relational=True,
        verbs=("is taken off {p}", "moves off of {p}", "leaves the top of {p}")),
    EventKind(
        "uncover", _uncover, relational=True,
        verbs=("uncovers {p}", "moves away revealing {p}", "stops hiding {p}")),
    EventKind(
        "approach", _approach(closer=True), relational=True,
        verbs=("moves closer to {p}", "approaches {p}", "is moving near {p}")),
    EventKind(
        "retreat", _approach(closer=False), relational=True,
        verbs=("moves away from {p}", "is leaving {p} behind", "backs away from {p}")),
)}
