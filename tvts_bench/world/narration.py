"""ASR-like narration of a pretraining scene: word-timed, lower case, no punctuation, noisy.

Each event is described (in the narrator's own casual phrasing, never a downstream class name) by
one utterance whose words all fall inside the event's time window, in event order. Noise as in real
YouTube ASR: filler words, timing jitter, skipped events, off-topic chatter, occasional mis-heard words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .events import event_templates, templates
from .scenes import Scene

# Narrator phrasings by event key (``move_left``, ``grow``, ...): a view of the kinds' ``phrases`` in
# ``world/events.py``; {o} = the actor, {p} = the other object, {d} = a direction.
PHRASES: dict[str, tuple[str, ...]] = templates("phrases")

FILLERS_START = ("so", "okay", "um", "uh", "alright", "and", "now", "and now", "so yeah")
FILLERS_MID = ("um", "uh", "like", "you know")
OFF_TOPIC = (
    "hey guys welcome back to the channel",
    "dont forget to like and subscribe",
    "let me know what you think in the comments",
    "i made this one last weekend",
    "hope youre all having a great day",
    "thanks for watching everybody",
    "this is my favorite part",
    "the music for this one is from my friend",
    "sorry my mic is a bit weird today",
    "i think this turned out pretty cool",
)
# Mis-hearings an ASR system makes on this vocabulary.
MISHEARD = {"the": "a", "to": "two", "right": "write", "circle": "circus", "square": "squared",
            "red": "read", "ring": "bring", "blue": "blew", "cross": "across"}


@dataclass(frozen=True)
class Utterance:
    event: int | None  # index into scene.events; None for off-topic chatter
    words: tuple[str, ...]
    times: tuple[float, ...]
    clean: str  # the denoised sentence


def _reference(scene: Scene, i: int, rng: np.random.Generator, last_actor: int | None) -> str:
    obj = scene.objects[i]
    if last_actor == i and rng.random() < 0.35:
        return "it"
    r = rng.random()
    if r < 0.5:
        return f"the {obj.colour} {obj.shape}"
    if r < 0.7:
        return f"the {obj.size} {obj.colour} {obj.shape}"
    if r < 0.85 and obj.texture != "plain":
        return f"the {obj.texture} {obj.shape}"
    return f"that {obj.colour} {obj.shape}"


def _place(words: list[str], t0: float, t1: float, rng: np.random.Generator) -> list[float]:
    """Word start times from t0 at a natural pace (about 3 words/s), squeezed to end before t1."""
    gaps = np.array([0.12 + 0.055 * len(w) for w in words]) * rng.uniform(0.9, 1.2)
    total = float(gaps[:-1].sum()) if len(words) > 1 else 0.0
    room = t1 - t0
    if total > room:
        gaps *= room / max(total, 1e-6)
    times = t0 + np.concatenate([[0.0], np.cumsum(gaps[:-1])])
    return [round(float(t), 3) for t in times]


def _asr(words: list[str], rng: np.random.Generator) -> list[str]:
    out = []
    if rng.random() < 0.4:
        out += FILLERS_START[int(rng.integers(len(FILLERS_START)))].split()
    for w in words:
        if rng.random() < 0.05:
            out += FILLERS_MID[int(rng.integers(len(FILLERS_MID)))].split()
        out.append(MISHEARD[w] if w in MISHEARD and rng.random() < 0.03 else w)
    return out


def _clean(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:] + "."


def narrate(scene: Scene, rng: np.random.Generator, *, miss_rate: float = 0.05,
            off_topic_rate: float = 0.15) -> list[Utterance]:
    """Utterances in time order. Event utterances lie inside [event.start, event.end]."""
    utterances: list[Utterance] = []

    def chatter(t0: float, t1: float) -> None:
        sentence = OFF_TOPIC[int(rng.integers(len(OFF_TOPIC)))]
        words = sentence.split()
        if t1 - t0 < 0.25 * len(words):
            return
        utterances.append(Utterance(None, tuple(words), tuple(_place(words, t0, t1, rng)), _clean(sentence)))

    events = list(scene.events)
    first = events[0].start if events else scene.duration
    if rng.random() < 0.5:
        chatter(0.0, first - 0.1)
    last_actor = None
    for k, ev in enumerate(events):
        if rng.random() < miss_rate:  # the narrator says nothing about this one (or talks off topic)
            if rng.random() < off_topic_rate * 2:
                chatter(ev.start, ev.end)
            continue
        options = event_templates(ev, "phrases")
        template = options[int(rng.integers(len(options)))]
        sentence = template.format(
            o=_reference(scene, ev.actor, rng, last_actor),
            p=_reference(scene, ev.other, rng, None) if ev.other is not None else "",
            d=ev.param("direction"))
        last_actor = ev.actor
        words = _asr(sentence.split(), rng)
        # Speech starts a little after the event begins (jitter), and ends before it is over.
        t0 = ev.start + float(rng.uniform(0.0, min(0.8, 0.3 * (ev.end - ev.start))))
        utterances.append(Utterance(k, tuple(words), tuple(_place(words, t0, ev.end - 0.05, rng)),
                                    _clean(sentence)))
        gap_end = events[k + 1].start if k + 1 < len(events) else scene.duration
        if gap_end - ev.end > 2.0 and rng.random() < off_topic_rate:
            chatter(ev.end + 0.1, gap_end - 0.1)
    return utterances


def transcript_json(scene: Scene, utterances: list[Utterance], title: str) -> dict:
    """The YT-Temporal (MERLOT) per-video annotation.

    ``subtitles``: the noisy ASR words with their start times. ``denoised``: one entry per utterance,
    the clean sentence (``cleanasr``: no fillers, no mis-hearings) with the utterance's start/end.
    Pretraining cuts its transcript windows from the denoised words, each timed by the subtitle word it
    is DTW-aligned to (``tvts_bench.data.readers.yttemporal.transcript_words``); the clean sentences
    are the narrator's phrasings, so they carry no downstream class name either.
    """
    return {
        "info": {"duration": round(scene.duration, 3), "title": title},
        "subtitles": [{"word": w, "time": t} for u in utterances for w, t in zip(u.words, u.times)],
        "denoised": [{"cleanasr": u.clean, "start": u.times[0], "end": round(u.times[-1] + 0.3, 3)}
                     for u in utterances],
    }
