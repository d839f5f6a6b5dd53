"""Transcript windows (paper eq. 1): K consecutive windows of l seconds with 1 s gaps, then shuffled.

``S_k = s_begin + (k-1)(l+1)``, ``E_k = S_k + l``; transcript k = the words with ``S_k < t < E_k``.
As in the authors' code, one l = randint(3, 5) for the K windows of a sample and
``s_begin = randint(0, duration - span - 1) + uniform(0, 1)``. Unlike their code, a draw with an empty
window is redrawn (bounded tries); a video where no draw works is skipped and counted by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WindowSample:
    windows: tuple[tuple[float, float], ...]   # (S_k, E_k) in temporal order
    transcripts: tuple[str, ...]                # in temporal order
    order: tuple[int, ...]                      # order[i] = original slot of the i-th fed transcript
    shuffled: tuple[str, ...]                   # transcripts in fed (shuffled) order
    length: int                                 # l, seconds

    @property
    def start(self) -> float:
        return self.windows[0][0]

    @property
    def end(self) -> float:
        return self.windows[-1][1]


def window_words(words: tuple[tuple[str, float], ...] | list, start: float, end: float) -> list[str]:
    return [w for w, t in words if start < t < end]


def sample_windows(words, duration: float, rng: np.random.Generator, *, k: int = 4,
                   lengths: tuple[int, int] = (3, 5), gap: float = 1.0, max_tries: int = 10,
                   shuffle: bool = True) -> WindowSample | None:
    """Draw K windows that each hold at least one word, or None after ``max_tries`` draws.

    ``duration`` defaults to the last word's time + 1 s when unknown (<= 0).
    """
    if not words:
        return None
    if duration is None or duration <= 0:
        duration = max(t for _, t in words) + 1.0
    # Only lengths whose K windows fit in the video (with the 1 s margin of the authors' draw).
    fits = [ln for ln in range(lengths[0], lengths[1] + 1) if k * ln + (k - 1) * gap + 1 <= duration]
    if not fits:
        return None
    for _ in range(max_tries):
        ln = int(fits[int(rng.integers(0, len(fits)))])
        span = k * ln + (k - 1) * gap
        s_begin = int(rng.integers(0, int(duration - span - 1) + 1)) + float(rng.random())
        s_begin = min(s_begin, duration - span)
        wins = tuple((s_begin + i * (ln + gap), s_begin + i * (ln + gap) + ln) for i in range(k))
        texts = tuple(" ".join(window_words(words, s, e)) for s, e in wins)
        if all(texts):
            perm = rng.permutation(k) if shuffle else np.arange(k)
            order = tuple(int(p) for p in perm)
            return WindowSample(windows=wins, transcripts=texts, order=order,
                                shuffled=tuple(texts[p] for p in order), length=ln)
    return None
