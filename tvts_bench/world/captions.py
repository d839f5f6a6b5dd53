"""Descriptive captions for the retrieval stand-ins (MSR-VTT, DiDeMo, MSVD, LSMDC).

Captions describe what happens, objects and events in order, in an annotator's style (present
tense, "a ... is ..."), with several paraphrases per video. The phrasings differ from the narrator's,
so a retrieval caption is never a verbatim pretraining sentence.
"""

from __future__ import annotations

import numpy as np

from .events import event_templates, templates
from .scenes import Event, ObjectSpec, Scene

# Caption verbs by event key (``move_left``, ``grow``, ...): a view of the kinds' ``verbs`` in
# ``world/events.py``; {p} = the other object, {d} = a direction.
VERBS: dict[str, tuple[str, ...]] = templates("verbs")

BACKGROUND_PHRASES = {
    "grass": "on a grassy field", "sand": "on sand", "sky": "against the sky", "water": "over water",
    "bricks": "in front of a brick wall", "night": "under a night sky", "wood": "on a wooden floor",
    "snow": "in the snow",
}

LINKS = (" and then ", " then ", " and after that ", " and next ")


def object_noun(obj: ObjectSpec, rng: np.random.Generator) -> str:
    words = []
    if rng.random() < 0.3:
        words.append(obj.size)
    if obj.texture != "plain" and rng.random() < 0.4:
        words.append(obj.texture)
    return " ".join(words + [obj.colour, obj.shape])


def event_clause(scene: Scene, ev: Event, rng: np.random.Generator, article: str = "a") -> str:
    verbs = event_templates(ev, "verbs")
    verb = verbs[int(rng.integers(len(verbs)))]
    other = scene.objects[ev.other] if ev.other is not None else None
    verb = verb.format(p=("the " + object_noun(other, rng)) if other else "", d=ev.param("direction"))
    return f"{article} {object_noun(scene.objects[ev.actor], rng)} {verb}"


def describe(scene: Scene, rng: np.random.Generator, events: list[int] | None = None) -> str:
    """One caption: the events (all, or the given indices) in order, sometimes with the setting."""
    idx = list(range(len(scene.events))) if events is None else list(events)
    if not idx:
        names = " and a ".join(object_noun(o, rng) for o in scene.objects)
        return f"a {names} sitting still {BACKGROUND_PHRASES[scene.background]}"
    clauses = [event_clause(scene, scene.events[k], rng, "a" if n == 0 else "the") for n, k in enumerate(idx)]
    text = clauses[0]
    for c in clauses[1:]:
        text += LINKS[int(rng.integers(len(LINKS)))] + c
    if rng.random() < 0.4:
        text = f"{BACKGROUND_PHRASES[scene.background]} {text}"
    return text


def paraphrases(scene: Scene, rng: np.random.Generator, n: int, events: list[int] | None = None) -> list[str]:
    """n captions of the same video; duplicates are re-drawn a few times, then allowed."""
    out: list[str] = []
    for _ in range(n):
        for _attempt in range(5):
            text = describe(scene, rng, events)
            if text not in out:
                break
        out.append(text)
    return out


def describe_still(scene: Scene, rng: np.random.Generator) -> str:
    """An image caption (CC3M style): the objects and the setting, no events."""
    nouns = [object_noun(o, rng) for o in scene.objects if o.visible]
    things = " and a ".join(nouns) if nouns else "an empty scene"
    return f"a {things} {BACKGROUND_PHRASES[scene.background]}" if nouns else f"{things} {BACKGROUND_PHRASES[scene.background]}"


def stock_title(scene: Scene, rng: np.random.Generator) -> str:
    """A WebVid (stock footage) title: capitalised, with commas and a shot type."""
    text = describe(scene, rng)
    shot = ("close up", "4k footage", "animation", "slow motion", "top view")[int(rng.integers(5))]
    return f"{text[:1].upper()}{text[1:]}, {shot}."
