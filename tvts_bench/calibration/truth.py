"""Ground truth of the built-in world: the scene that generated each clip, as a feature vector.

The world's planner is deterministic and cheap (nothing is rendered), so the scenes are re-planned
from ``world.json``'s preset and seed rather than stored. A clip's features are a binary bag of
tokens: the background; each object's shape, colour, size and texture; and each event's kind, its
parameters (a direction), the sign of every property it changes (moving right vs left, growing vs
shrinking) and its position in the timeline (first, second, third event), so that order is in the
features exactly as it is in the scene.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..world import plan_world, read_world_info
from ..world.scenes import Scene

MAX_EVENT_POSITIONS = 4       # events beyond the fourth are tagged "later"


def scene_tokens(scene: Scene) -> list[str]:
    tokens = [f"bg={scene.background}"]
    for o in scene.objects:
        tokens += [f"shape={o.shape}", f"colour={o.colour}", f"size={o.size}", f"texture={o.texture}"]
        if not o.visible:
            tokens.append("starts-hidden")
    events = sorted(scene.events, key=lambda e: (e.start, e.end))
    for i, e in enumerate(events):
        where = f"ev{i}" if i < MAX_EVENT_POSITIONS else "ev-later"
        parts = [e.kind] + [f"{k}={v}" for k, v in e.params]
        parts += sorted({f"{c.prop}{'+' if c.v1 > c.v0 else '-'}" for c in e.changes if c.v1 != c.v0})
        for p in parts:
            tokens += [f"{where}:{p}", f"any:{p}"]
    return tokens


# -- text-video: scenes and captions in one token space ---------------------------------------------------
# What a caption can say of a scene: the setting, each event's kind (with its direction) and actor, and
# which event comes before which. Order is kept as pairs, so a caption of a moment (DiDeMo: some of the
# video's events) has a subset of its video's tokens.


def retrieval_tokens(scene: Scene) -> list[str]:
    from ..world.events import event_key

    tokens = [f"bg={scene.background}"]
    keys = []
    for ev in sorted(scene.events, key=lambda e: (e.start, e.end)):
        key = event_key(ev)
        actor = scene.objects[ev.actor]
        tokens += [f"event={key}", f"actor={actor.colour} {actor.shape}:{key}"]
        keys.append(key)
    tokens += [f"{a}<{b}" for i, a in enumerate(keys) for b in keys[i + 1:]]
    if not scene.events:
        tokens += [f"object={o.colour} {o.shape}" for o in scene.objects]
    return tokens


@lru_cache(maxsize=1)
def _caption_grammar() -> tuple[list[tuple[str, re.Pattern]], dict[str, str], re.Pattern]:
    """(event key, verb pattern) longest first; background phrase -> background; clause separator."""
    from ..world.captions import BACKGROUND_PHRASES, LINKS, VERBS

    verbs = []
    for key, options in VERBS.items():
        for option in options:
            pattern = re.escape(option).replace(r"\{p\}", "the .+?").replace(r"\{d\}", r"\w+")
            verbs.append((key, re.compile(rf"(?P<actor>.*?) {pattern}$")))
    verbs.sort(key=lambda kv: -len(kv[1].pattern))
    links = re.compile("|".join(re.escape(link) for link in sorted(LINKS, key=len, reverse=True)))
    return verbs, {phrase: bg for bg, phrase in BACKGROUND_PHRASES.items()}, links


def caption_tokens(text: str) -> list[str]:
    """The tokens of ``retrieval_tokens`` that a caption written by ``world.captions`` states."""
    verbs, backgrounds, links = _caption_grammar()
    text = text.strip().rstrip(".").strip().lower()      # LSMDC sentences are capitalised, with a full stop
    tokens = []
    for phrase, bg in backgrounds.items():
        if text.startswith(phrase + " ") or text.endswith(" " + phrase):
            tokens.append(f"bg={bg}")
            text = text[len(phrase) + 1:] if text.startswith(phrase + " ") else text[:-len(phrase) - 1]
    if text.endswith(" sitting still"):
        nouns = text[:-len(" sitting still")].split(" and a ")
        return tokens + [f"object={' '.join(n.split()[-2:])}" for n in nouns]
    keys = []
    for clause in links.split(text):
        for key, pattern in verbs:
            m = pattern.match(clause.strip())
            if m:
                keys.append(key)
                tokens += [f"event={key}", f"actor={' '.join(m.group('actor').split()[-2:])}:{key}"]
                break
    tokens += [f"{a}<{b}" for i, a in enumerate(keys) for b in keys[i + 1:]]
    return tokens


def world_scenes(world_root: Path) -> dict[str, Scene]:
    """relative video path under the world root -> the scene it was rendered from."""
    info = read_world_info(world_root)
    if not info:
        raise ConfigError(f"{world_root} is not a generated built-in world (no world.json)",
                          hint="calibration measures the built-in world; generate it with tvts-bench world generate")
    return {job.relpath: job.scene for plan in plan_world(info["preset"], int(info["seed"])) for job in plan.jobs}


class TruthFeatures:
    """Scene-truth feature vectors for a dataset's records, over one shared token vocabulary."""

    def __init__(self, world_root: Path):
        self.root = Path(world_root).resolve()
        self.scenes = world_scenes(self.root)
        vocab = sorted({t for s in self.scenes.values() for t in scene_tokens(s)})
        self.index = {t: i for i, t in enumerate(vocab)}

    @property
    def dim(self) -> int:
        return len(self.index)

    def scene_of(self, video: Path) -> Scene:
        rel = Path(video).resolve().relative_to(self.root).as_posix()
        if rel not in self.scenes:
            raise ConfigError(f"{video}: not a video of the built-in world at {self.root}")
        return self.scenes[rel]

    def features(self, videos: list[Path]) -> np.ndarray:
        out = np.zeros((len(videos), self.dim), dtype=np.float32)
        for row, video in enumerate(videos):
            for t in scene_tokens(self.scene_of(video)):
                out[row, self.index[t]] = 1.0
        return out

    # text-video: scenes and captions over the retrieval token vocabulary
    @property
    def retrieval_index(self) -> dict[str, int]:
        if not hasattr(self, "_retrieval_index"):
            vocab = sorted({t for s in self.scenes.values() for t in retrieval_tokens(s)})
            self._retrieval_index = {t: i for i, t in enumerate(vocab)}
        return self._retrieval_index

    def video_features(self, videos: list[Path]) -> np.ndarray:
        return self._bags([retrieval_tokens(self.scene_of(v)) for v in videos])

    def caption_features(self, texts: list[str]) -> np.ndarray:
        """Tokens no scene has (a caption the parser cannot read) are dropped, as a probe would."""
        return self._bags([caption_tokens(t) for t in texts])

    def _bags(self, token_lists: list[list[str]]) -> np.ndarray:
        index = self.retrieval_index
        out = np.zeros((len(token_lists), len(index)), dtype=np.float32)
        for row, tokens in enumerate(token_lists):
            for t in tokens:
                if t in index:
                    out[row, index[t]] = 1.0
        return out
