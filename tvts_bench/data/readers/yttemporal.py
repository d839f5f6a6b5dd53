"""YT-Temporal (MERLOT layout), the pretraining corpus.

Split files ``train.csv`` / ``val.csv``: tab-separated (comma also accepted) with a header holding
column ``Name`` = ``subset_X/data/<id>.mp4`` (the video, relative to the root). Each video's
annotation is ``subset_X/annotations/<id>.json``:
``{"info": {"duration": s, ...}, "subtitles": [{"word", "time"}], "denoised": [{"cleanasr", ...}]}``.
Records carry ``words`` = (word, time) from ``subtitles`` in file order, ``duration`` =
``info.duration``, and ``captions`` = the ``denoised`` ``cleanasr`` sentences. A video whose JSON is
absent gets a record without words (the manifest still counts the video itself); option
``load_annotations=False`` skips reading the per-video JSONs (fast listing of huge corpora).

Pretraining transcripts (:func:`transcript_words`): when a record has denoised sentences, their words
are aligned to the raw subtitle words by dynamic time warping over an edit-distance cost, as the TVTS
authors' loader does (``align_using_dtw`` in ``v1/base/base_dataset_yt.py``, used by
``v1/data_loader/YTTemporal_dataset.py``): each denoised word takes the time of the subtitle word it is
aligned to (the ``denoised`` entries' own ``start``/``end`` are not used). Without denoised sentences
the raw subtitle words are used. See docs/pretraining_conventions.md.
"""

from __future__ import annotations

import os
import string
from pathlib import Path, PurePosixPath
from typing import Sequence

import numpy as np

from ...errors import DataFormatError, MissingPathError
from ..dataset_spec import DatasetSpec
from ..records import DatasetIndex, VideoRecord
from .common import (DatasetRoot, expect, field_of, read_json, read_table, sniff_delimiter,
                     to_float)

NAME = "yttemporal"
ANN_DIRS = ("", "splits", "labels", "annotations")
SPLIT_FILES = {"train": ("train.csv", "train.tsv", "yttemporal_train.csv"),
               "val": ("val.csv", "val.tsv", "validation.csv", "yttemporal_val.csv")}


def annotation_rel(video_rel: str) -> str:
    """``subset_X/data/<id>.mp4`` -> ``subset_X/annotations/<id>.json``."""
    parts = list(PurePosixPath(video_rel.replace("\\", "/")).parts)
    if len(parts) >= 2 and parts[-2] == "data":
        parts[-2] = "annotations"
    else:
        parts.insert(len(parts) - 1, "annotations")
    parts[-1] = os.path.splitext(parts[-1])[0] + ".json"
    return "/".join(parts)


def read_annotation(path: Path) -> tuple[tuple[tuple[str, float], ...], float | None, tuple[str, ...]]:
    """(words, duration, denoised sentences) of one per-video JSON."""
    data = read_json(path)
    expect(data, dict, path, "the per-video annotation")
    duration = None
    info = data.get("info")
    if info is not None:
        expect(info, dict, path, "field 'info'", key="info")
        if info.get("duration") is not None:
            duration = to_float(info["duration"], path, "duration", key="info.duration")
            if duration < 0:
                raise DataFormatError(path, f"negative duration {duration}", key="info.duration")
    words = []
    subtitles = data.get("subtitles", [])
    expect(subtitles, list, path, "field 'subtitles'", key="subtitles")
    for i, item in enumerate(subtitles):
        key = f"subtitles[{i}]"
        word = field_of(item, "word", str, path, key=key)
        time = to_float(field_of(item, "time", (int, float, str), path, key=key), path, "time", key=key)
        words.append((word, time))
    sentences = []
    denoised = data.get("denoised", [])
    expect(denoised, list, path, "field 'denoised'", key="denoised")
    for i, item in enumerate(denoised):
        sentences.append(field_of(item, "cleanasr", str, path, key=f"denoised[{i}]").strip())
    return tuple(words), duration, tuple(sentences)


def read(root: Path | str, load_annotations: bool = True) -> DatasetIndex:
    droot = DatasetRoot(Path(root))
    files: list[Path] = []
    splits: dict[str, list[VideoRecord]] = {}
    for split, names in SPLIT_FILES.items():
        path = droot.find_file(list(names), ANN_DIRS)
        if path is None:
            continue
        files.append(path)
        _, table = read_table(path, delimiter=sniff_delimiter(path), required=("Name",))
        records = []
        for line_no, row in table:
            rel = row["Name"].strip()
            video = droot.resolve(rel, path, line=line_no)
            words: tuple = ()
            duration = None
            sentences: tuple = ()
            if load_annotations:
                ann = droot.resolve(annotation_rel(rel), path, line=line_no, any_extension=False)
                if ann.is_file():
                    files.append(ann)
                    words, duration, sentences = read_annotation(ann)
            records.append(VideoRecord(video_id=PurePosixPath(rel.replace("\\", "/")).stem,
                                       path=video, split=split, captions=sentences, words=words,
                                       duration=duration))
        splits[split] = records
    if not splits:
        raise MissingPathError(droot.path / "train.csv", "YT-Temporal split file",
                               hint="expected train.csv / val.csv (tab-separated, column Name = "
                                    "subset_X/data/<id>.mp4) in the root")
    return DatasetIndex(NAME, droot.path, [], splits, files)


# -- pretraining transcripts: denoised words aligned to the subtitle times -----------------------------
TRANSCRIPT_MODES = ("auto", "denoised", "subtitles")
TRANSCRIPT_SOURCES = ("denoised", "subtitles", "none")


def _keep_word(word: str) -> bool:
    word = word.strip()
    return bool(word) and not word.startswith("&") and not word.endswith(";")


def clean_subtitles(words: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """Drop HTML-entity fragments (a word starting with ``&`` or ending with ``;``, e.g. ``&gt;&gt;``)
    and empty words, as the authors' ``clean_subtitles`` does (they also run ftfy; not done here)."""
    return [(word.strip(), float(time)) for word, time in words if _keep_word(word)]


def denoised_tokens(sentences: Sequence[str]) -> list[str]:
    """The denoised sentences' words, in order (whitespace-separated, punctuation and case kept)."""
    return [w for sentence in sentences for w in sentence.split()]


_PUNCT = str.maketrans("", "", string.punctuation)


def _norm(word: str) -> str:
    return word.translate(_PUNCT).strip().lower()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute: cost 1 each)."""
    if a == b:
        return 0
    k, n = 0, min(len(a), len(b))          # a common prefix and suffix change nothing
    while k < n and a[k] == b[k]:
        k += 1
    a, b = a[k:], b[k:]
    while a and b and a[-1] == b[-1]:
        a, b = a[:-1], b[:-1]
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        left = i
        for j, cb in enumerate(b, 1):
            sub = prev[j - 1] + (ca != cb)
            up = prev[j] + 1
            left += 1
            left = sub if sub < up and sub < left else up if up < left else left
            cur.append(left)
        prev = cur
    return prev[-1]


_SHORT = 24         # words up to this length go through the vectorised edit distance


def _codes(words: Sequence[str], width: int, pad: int) -> np.ndarray:
    out = np.full((len(words), width), pad, dtype=np.int32)
    for k, w in enumerate(words):
        out[k, :min(len(w), width)] = [ord(c) for c in w[:width]]   # (longer words: not used)
    return out


def pair_edit_distances(a_vocab: Sequence[str], b_vocab: Sequence[str], ia: np.ndarray,
                        ib: np.ndarray) -> np.ndarray:
    """``edit_distance(a_vocab[ia[k]], b_vocab[ib[k]])`` for every k, vectorised over the pairs
    (words longer than 24 characters go through :func:`edit_distance` one by one)."""
    ia, ib = np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)
    out = np.zeros(len(ia), dtype=np.int64)
    la_v = np.array([len(w) for w in a_vocab], dtype=np.int64)
    lb_v = np.array([len(w) for w in b_vocab], dtype=np.int64)
    la, lb = la_v[ia], lb_v[ib]
    long = (la > _SHORT) | (lb > _SHORT)
    for k in np.flatnonzero(long):
        out[k] = edit_distance(a_vocab[ia[k]], b_vocab[ib[k]])
    idx = np.flatnonzero(~long)
    if idx.size == 0:
        return out
    la, lb = la[idx], lb[idx]
    ma, mb = int(la.max()), int(lb.max())
    a_codes = _codes(a_vocab, max(ma, 1), -1)[ia[idx]]
    b_codes = _codes(b_vocab, max(mb, 1), -2)[ib[idx]]
    res = lb.copy()                                           # empty a: distance = len(b)
    prev = [np.full(idx.size, j, dtype=np.int64) for j in range(mb + 1)]
    for i in range(1, ma + 1):
        ai = a_codes[:, i - 1]
        cur = [np.full(idx.size, i, dtype=np.int64)]
        for j in range(1, mb + 1):
            sub = prev[j - 1] + (ai != b_codes[:, j - 1])
            cur.append(np.minimum(np.minimum(prev[j], cur[j - 1]) + 1, sub))
        done = np.flatnonzero(la == i)
        if done.size:
            res[done] = np.stack(cur, axis=1)[done, lb[done]]
        prev = cur
    out[idx] = res
    return out


FAR = 9999.0        # cost outside the band: the path may cross it only when nothing else is possible


def dtw_path(cost: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-cost monotone path from (0, 0) to (n-1, m-1) (steps: diagonal, down, right).

    Accumulated cost ``D[i, j] = cost[i, j] + min(D[i-1, j-1], D[i-1, j], D[i, j-1])``; backtracking
    from the end prefers the diagonal, then ``(i-1, j)``, then ``(i, j-1)`` on ties (the convention of
    tslearn's ``dtw_path_from_metric``, which the authors call). Filled by anti-diagonals (vectorised).
    """
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for d in range(n + m - 1):
        i = np.arange(max(0, d - m + 1), min(n - 1, d) + 1)
        j = d - i
        best = np.minimum(np.minimum(acc[i, j], acc[i, j + 1]), acc[i + 1, j])
        acc[i + 1, j + 1] = cost[i, j] + best
    a = acc[1:, 1:]
    i, j = n - 1, m - 1
    path = [(i, j)]
    while (i, j) != (0, 0):
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:       # the first minimum of (diagonal, up, left), as numpy's argmin
            d, u, left = a[i - 1, j - 1], a[i - 1, j], a[i, j - 1]
            if d <= u and d <= left:
                i, j = i - 1, j - 1
            elif u <= left:
                i -= 1
            else:
                j -= 1
        path.append((i, j))
    return path[::-1]


def align_denoised(subtitles: Sequence[tuple[str, float]], sentences: Sequence[str], *,
                   radius_frac: float = 0.1, radius_min: int = 32) -> tuple[tuple[str, float], ...]:
    """Denoised words with times: each takes the time of the subtitle word DTW aligns it to.

    Following the authors' ``align_using_dtw``: cost = edit distance of the lower-cased,
    punctuation-free words inside a band of ``R = max(0.1 n, 32)`` positions around the diagonal
    (9999 outside); denoised words beyond ``n + R`` are dropped; walking the path, a denoised word
    is given to the FIRST subtitle word it is paired with (a subtitle word can receive none, one or
    several). Returns (denoised word, subtitle time) in order; () when either side is empty.
    """
    asr = clean_subtitles(subtitles)
    den = denoised_tokens(sentences)
    if not asr or not den:
        return ()
    n = len(asr)
    radius = int(max(n * radius_frac, radius_min))
    if len(den) > n:
        den = den[: n + radius]
    m = len(den)
    a_vocab, a_ids = np.unique([_norm(w) for w, _ in asr], return_inverse=True)
    d_vocab, d_ids = np.unique([_norm(w) for w in den], return_inverse=True)
    # the band: subtitle word i against denoised words [i - R, i + R)
    rows = np.repeat(np.arange(n), 2 * radius)
    cols = (np.arange(n)[:, None] + np.arange(-radius, radius)[None, :]).ravel()
    keep = (cols >= 0) & (cols < m)
    rows, cols = rows[keep], cols[keep]
    pairs, inverse = np.unique(a_ids[rows] * len(d_vocab) + d_ids[cols], return_inverse=True)
    dist = pair_edit_distances([str(w) for w in a_vocab], [str(w) for w in d_vocab],
                               pairs // len(d_vocab), pairs % len(d_vocab))
    cost = np.full((n, m), FAR)
    cost[rows, cols] = dist[inverse.ravel()]
    out: list[tuple[str, float]] = []
    seen = -1
    for i, j in dtw_path(cost):
        if j > seen:
            out.append((den[j], asr[i][1]))
            seen = j
    return tuple(out)


def transcript_words(record: VideoRecord, mode: str = "auto") -> tuple[tuple[tuple[str, float], ...], str]:
    """(timed words for the transcript windows, source) of a YT-Temporal record.

    ``mode``: ``auto`` = the DTW-aligned denoised words when the record has denoised sentences (and
    subtitles to take times from), the cleaned subtitle words otherwise; ``denoised`` = only the
    former (records without them give no words); ``subtitles`` = always the subtitle words.
    ``source`` is ``denoised``, ``subtitles`` or ``none`` (no usable words).
    """
    if mode not in TRANSCRIPT_MODES:
        from ...errors import ConfigError

        raise ConfigError(f"unknown transcript mode {mode!r}", hint=f"choose one of: {', '.join(TRANSCRIPT_MODES)}")
    if mode != "subtitles" and record.captions and record.words:
        words = align_denoised(record.words, record.captions)
        if words:
            return words, "denoised"
    if mode == "denoised":
        return (), "none"
    words = tuple(clean_subtitles(record.words))
    return (words, "subtitles") if words else ((), "none")


def transcript_source(record: VideoRecord, mode: str = "auto") -> str:
    """The source :func:`transcript_words` would use, without aligning (cheap: for counting)."""
    has_subs = any(_keep_word(w) for w, _ in record.words)
    if mode != "subtitles" and has_subs and any(s.split() for s in record.captions):
        return "denoised"
    if mode == "denoised":
        return "none"
    return "subtitles" if has_subs else "none"


SPEC = DatasetSpec(
    name=NAME, title="YT-Temporal", kind="pretraining", splits=tuple(SPLIT_FILES), read=read,
    world="tvts_bench.world.formats.yttemporal:build", sizes="yt", notes="word-timed ASR", order=90,
)
