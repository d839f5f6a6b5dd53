"""World event kinds (``world/events.py``): every kind is one entry of ``EVENTS``, and every entry works.

The table is the only list of kinds: stories sample its weighted kinds with its weights, the builder's
``can`` and event methods, narration and captions all read it. Each kind is checked on a scene where it
is feasible: it is visible, its narration and captions format, and a temporary kind leaves the object as
it found it.
"""

from __future__ import annotations

import string
from dataclasses import asdict

import numpy as np
import pytest

from tvts_bench.calibration.truth import caption_tokens
from tvts_bench.world import PRESETS
from tvts_bench.world.captions import VERBS, event_clause, paraphrases
from tvts_bench.world.classes import HMDB_CLASSES, K400_CLASSES, SSV2_CLASSES, UCF_CLASSES, cue_clip, k400_clip, \
    ssv2_clip
from tvts_bench.world.events import EVENTS, EventKind, event_key, sampled_kinds
from tvts_bench.world.formats.yttemporal import story
from tvts_bench.world.narration import PHRASES, narrate
from tvts_bench.world.render import render
from tvts_bench.world.scenes import TEMPORARY_PROPS, Change, Event, SceneBuilder, pick_event, sample_objects, \
    sample_story, with_visibility

SAMPLED = [k.name for k in sampled_kinds()]
DOWNSTREAM = [name for name, k in EVENTS.items() if not k.sampled]
# The builder methods class staging (world/classes.py) calls.
BUILDER_API = ("move", "turn", "hop", "pulse", "nudge", "blink", "bounce", "stack", "cover", "uncover", "push",
               "approach", "take_off", "resize", "appear", "vanish", "fall", "can", "move_room")
START, END, DURATION = 1.0, 3.0, 4.0


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _all_templates(kind: EventKind, field: str) -> list[str]:
    options = getattr(kind, field)
    return [t for group in (options.values() if kind.variant else [options]) for t in group]


def _class_scenes():
    for seed in range(3):
        rng = np.random.default_rng(seed)
        for cls in SSV2_CLASSES:
            yield ssv2_clip(rng, cls, 3.0, 8, 64)[0]
        for cls in K400_CLASSES:
            yield k400_clip(rng, cls, 3.0, 8, 64)
        for table in (UCF_CLASSES, HMDB_CLASSES):
            for cls in table:
                yield cue_clip(rng, cls, table, 3.0, 8, 64)


# -- the table covers every kind -----------------------------------------------------------------------

def test_the_table_is_every_kind_stories_sample_narrate_and_caption() -> None:
    story_kinds = {ev.kind for k in range(150) for ev in story(PRESETS["demo"], 0, k)[0].events}
    assert story_kinds == set(SAMPLED)  # stories sample every weighted kind, and no other
    assert {ev.kind for scene in _class_scenes() for ev in scene.events} <= set(EVENTS)
    # Narration and captions are views of the table: phrasings for exactly the sampled kinds (a
    # downstream-only kind is never narrated), caption verbs for every kind.
    assert {key: options for name in SAMPLED for key, options in EVENTS[name].keyed("phrases").items()} == PHRASES
    assert {key: options for kind in EVENTS.values() for key, options in kind.keyed("verbs").items()} == VERBS
    for name in DOWNSTREAM:
        kind = EVENTS[name]
        assert kind.weight == 0 and not kind.phrases and kind.feasible is None and kind.story is None
    for method in BUILDER_API:
        assert callable(getattr(SceneBuilder, method)), method


class _Recorder:
    """A Generator that records the probabilities of its ``choice`` calls."""

    def __init__(self, seed: int):
        self.rng, self.p = np.random.default_rng(seed), []

    def choice(self, *args, **kwargs):
        self.p.append(kwargs.get("p"))
        return self.rng.choice(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.rng, name)


def test_pick_event_ranks_the_sampled_kinds_by_their_table_weights() -> None:
    weights = np.array([EVENTS[name].weight for name in SAMPLED])
    picked = set()
    for seed in range(40):
        rng = _Recorder(seed)
        objs = sample_objects(rng.rng, 3)
        b = SceneBuilder("grass", objs, 10.0, 8, 64, seed)
        ev = pick_event(rng, b, 1.0, 3.0)
        assert ev is not None and ev.kind in SAMPLED
        picked.add(ev.kind)
        assert rng.p, "pick_event drew no kind"
        for p in rng.p:
            np.testing.assert_array_equal(p, weights / weights.sum())
    assert len(picked) > 5


def test_adding_a_kind_is_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kind registered in EVENTS alone is feasible, sampled by stories, narrated and captioned."""
    def fade_half(b: SceneBuilder, i: int, start: float, end: float) -> Event:
        return b.record("wave", i, start, end, [Change(i, "dalpha", 0.0, -0.5, start, end, "plateau")])

    wave = EventKind("wave", fade_half, weight=50.0, temporary=True, feasible=lambda b, i: b.visible(i),
                     phrases=("{o} waves at us",), verbs=("waves hello",))
    monkeypatch.setitem(EVENTS, "wave", wave)
    b = SceneBuilder("grass", sample_objects(np.random.default_rng(0), 1), 4.0, 8, 64, 0)
    assert b.can("wave", 0) and b.add("wave", 0, 1.0, 2.0).kind == "wave"
    found = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        scene = sample_story(rng, 20.0, 8, 64)
        waves = [k for k, ev in enumerate(scene.events) if ev.kind == "wave"]
        found += len(waves)
        said = [u.clean for u in narrate(scene, rng, miss_rate=0.0) if u.event in waves]
        assert all(s.endswith("waves at us.") for s in said) and len(said) == len(waves)
        if waves:
            assert "waves hello" in paraphrases(scene, rng, 1, events=waves[:1])[0]
    assert found > 10


# -- every kind works ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(EVENTS))
def test_templates_of_every_kind_format(name: str) -> None:
    kind = EVENTS[name]
    allowed = {"p", "d"} if kind.relational else {"d"}
    for template in _all_templates(kind, "verbs"):
        assert _fields(template) <= allowed, template
        assert ("p" in _fields(template)) == kind.relational, template  # a relational caption names the other
        assert "{" not in template.format(p="the red circle", d="left")
    for template in _all_templates(kind, "phrases"):
        assert "o" in _fields(template) and _fields(template) <= allowed | {"o"}, template
        assert ("p" in _fields(template)) == kind.relational, template
        assert "{" not in template.format(o="the red circle", p="the blue square", d="left")
    assert bool(kind.phrases) == kind.sampled


def _feasible_builder(name: str) -> tuple[SceneBuilder, int, int | None, np.random.Generator]:
    """A three-object builder (one object hidden in some) where ``name`` is feasible for (i, j)."""
    kind = EVENTS[name]
    for seed in range(500):
        rng = np.random.default_rng([seed, len(name)])
        objs = sample_objects(rng, 3)
        if seed % 2:
            objs[0] = with_visibility(objs[0], False)
        b = SceneBuilder("grass", objs, DURATION, 8, 64, seed)
        pairs = [(i, j) for i in range(3) for j in range(3)] if kind.relational else [(i, None) for i in range(3)]
        for i, j in pairs:
            if b.can(name, i, j):
                return b, i, j, rng
    raise AssertionError(f"no scene found where {name!r} is feasible")


@pytest.mark.parametrize("name", SAMPLED)
def test_every_sampled_kind_is_visible_narrated_and_captioned(name: str) -> None:
    kind = EVENTS[name]
    b, i, j, rng = _feasible_builder(name)
    before = [asdict(s) for s in b.state]
    ev = kind.stage(rng, b, i, j, START, END)
    assert ev.kind == name and ev.actor == i and ev.other == j and ev.changes
    assert all(START <= ch.t0 <= ch.t1 <= END for ch in ev.changes)
    # Visible: the frames during the event differ from the first frame.
    scene = b.scene()
    frames = render(scene).astype(int)
    times = np.arange(len(frames)) / scene.fps
    during = frames[(times > ev.start) & (times < ev.end)]
    assert (np.abs(during - frames[0]).max(axis=-1) > 40).sum() >= 10, f"{name} is not visible"
    # Temporary: only offsets, and the object is back as it was (state and pixels) when the event ends.
    assert kind.temporary == all(ch.prop in TEMPORARY_PROPS for ch in ev.changes)
    if kind.temporary:
        assert [asdict(s) for s in b.state] == before
        np.testing.assert_array_equal(frames[-1], frames[0])
        assert times[-1] > ev.end
    # Narrated (by one of its phrasings) and captioned.
    (said,) = [u for u in narrate(scene, rng, miss_rate=0.0, off_topic_rate=0.0) if u.event == 0]
    assert ev.start <= said.times[0] and said.times[-1] <= ev.end
    clause = event_clause(scene, ev, rng)
    assert "{" not in clause and "{" not in said.clean
    assert f"event={event_key(ev)}" in caption_tokens(clause)  # the caption parses back to the kind
    assert event_key(ev) in PHRASES and event_key(ev) in VERBS


@pytest.mark.parametrize("name", DOWNSTREAM)
def test_downstream_only_kinds_are_never_feasible_for_stories(name: str) -> None:
    b = SceneBuilder("grass", sample_objects(np.random.default_rng(0), 3), DURATION, 8, 64, 0)
    assert not any(b.can(name, i, j) for i in range(3) for j in (None, 0, 1, 2))
    assert event_key(Event(name, 0, 0.0, 1.0, 1)) in VERBS and event_key(Event(name, 0, 0.0, 1.0, 1)) not in PHRASES


def test_can_is_false_for_a_relational_kind_without_a_partner_and_for_unknown_kinds() -> None:
    b, i, j, _ = _feasible_builder("push")
    assert b.can("push", i, j) and not b.can("push", i) and not b.can("push", i, i)
    assert not b.can("no such kind", i)
