"""Per-sample side files: one row per test sample or query, in one fixed schema.

A row is ``{"sample_id": ID, "<metric>": outcome, ...}``: the outcome of every metric measured on that
sample, under the metric's own name, in the unit its ``MetricSpec.statistic`` expects ("percent": a
number in [0, 1], e.g. 1 for a correct top-1 answer, a fraction for an expected hit under ties or an
average over probe seeds; "mean" / "median": the expected 1-based rank). A result's metric is exactly
``statistic(outcomes of the rows that carry it)``, so the report recomputes it, pairs two models'
outcomes by ``sample_id`` and bootstraps them without reading anything else.

``ID`` is a string (the test video; the querying video) or, for samples that come in groups that are
not independent, a pair ``[cluster, n]``: the n-th caption query of a video is ``[video_id, n]``, and
the bootstrap resamples whole clusters (all captions of a video together). Rows of one file may carry
different metrics: in text-video retrieval caption queries carry the ``t2v_*`` metrics and video
queries the ``v2t_*`` ones.

Side files written before this schema (no ``sample_id``) are read by ``rows_from_legacy_layout`` when
they are in the layout tvts-bench last wrote, and refused otherwise (``LegacyLayout``).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Hashable, Iterable, Mapping, Sequence

import numpy as np

SAMPLE_ID = "sample_id"
SampleKey = Hashable            # a string, or a (cluster, n) tuple


class LegacyLayout(ValueError):
    """A side file in a layout that predates the fixed schema and cannot be read as it is."""


def make_rows(ids: Sequence[Any], outcomes: Mapping[str, Sequence[float] | np.ndarray]) -> list[dict]:
    """One row per id: ``{"sample_id": id, metric: float(outcome), ...}`` (arrays aligned with ``ids``)."""
    columns = {m: np.asarray(v, dtype=np.float64) for m, v in outcomes.items()}
    for m, v in columns.items():
        if v.shape != (len(ids),):
            raise ValueError(f"per-sample outcomes of {m} have shape {v.shape}, expected ({len(ids)},)")
    return [{SAMPLE_ID: sid, **{m: float(v[i]) for m, v in columns.items()}} for i, sid in enumerate(ids)]


def check_rows(rows: Sequence[Mapping[str, Any]], metrics: Iterable[str]) -> None:
    """The writer's guard: every row has a ``sample_id`` and only metric outcomes, and every metric has
    rows. ValueError naming the first problem."""
    names = set(metrics)
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if SAMPLE_ID not in row:
            raise ValueError(f"per-sample row {i} has no {SAMPLE_ID!r}")
        extra = set(row) - names - {SAMPLE_ID}
        if extra:
            raise ValueError(f"per-sample row {i} has fields {sorted(extra)} that are not metrics of the result "
                             f"({sorted(names)})")
        seen.update(set(row) - {SAMPLE_ID})
    if rows and seen != names:
        raise ValueError(f"no per-sample outcome of {sorted(names - seen)} in the side file")


def _short(value: Any, limit: int = 40) -> str:
    """A field's value as quoted in an error: its repr, capped (a 1 MB field is not repeated)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key(value: Any, line: int) -> SampleKey:
    if isinstance(value, str):
        return value
    if (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
            and isinstance(value[1], int) and not isinstance(value[1], bool)):
        return (value[0], value[1])
    raise ValueError(f"row {line}: {SAMPLE_ID} must be a string or a [cluster, n] pair, not {_short(value)}")


def _outcome(value: Any, metric: str, line: int) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            out = float(value)
        except OverflowError:
            out = math.inf
        if math.isfinite(out):
            return out
    raise ValueError(f"row {line}: field {metric!r} holds {_short(value)}, not a finite number")


def metric_outcomes(rows: Sequence[Mapping[str, Any]], metric: str) -> tuple[list[SampleKey], np.ndarray]:
    """(sample keys, outcomes) of the rows that carry ``metric``; ValueError for a missing or malformed
    id, a repeated id, or an outcome that is not a finite number."""
    keys: list[SampleKey] = []
    values: list[float] = []
    for i, row in enumerate(rows, 1):
        if metric not in row:
            continue
        if SAMPLE_ID not in row:
            raise ValueError(f"row {i} has no {SAMPLE_ID!r}")
        keys.append(_key(row[SAMPLE_ID], i))
        values.append(_outcome(row[metric], metric, i))
    repeated = [k for k, n in Counter(keys).items() if n > 1]
    if repeated:
        raise ValueError(f"{SAMPLE_ID} {repeated[0]!r} appears {Counter(keys)[repeated[0]]} times for {metric}")
    return keys, np.asarray(values, dtype=np.float64)


def clusters_of(keys: Sequence[SampleKey]) -> list[str] | None:
    """The cluster of each key when some cluster holds several samples (captions of one video), else
    None: independent samples."""
    clusters = [k[0] if isinstance(k, tuple) else str(k) for k in keys]
    return clusters if len(set(clusters)) < len(clusters) else None


def is_legacy(rows: Sequence[Mapping[str, Any]]) -> bool:
    return bool(rows) and not any(SAMPLE_ID in r for r in rows)


def rows_from_legacy_layout(rows: Sequence[Mapping[str, Any]], metrics: Mapping[str, str]) -> list[dict]:
    """Side files tvts-bench wrote before the fixed schema, rewritten into it.

    ``metrics``: metric name -> its statistic kind. That layout had a ``video_id`` per row and
    ``correct_<metric>`` (classification, v2v R@K), ``ap`` (v2v mAP), or, for text-video retrieval, a
    ``direction`` (t2v / v2t) with ``correct_R@K`` and the expected 0-based ``rank``. Any other layout
    raises LegacyLayout: its outcomes cannot be read without guessing, so the result needs recomputing."""
    out: list[dict] = []
    caption_number: Counter = Counter()
    for i, row in enumerate(rows, 1):
        video = row.get("video_id")
        if not isinstance(video, str):
            raise LegacyLayout(f"row {i} has neither {SAMPLE_ID!r} nor a video_id")
        direction = row.get("direction")
        new: dict[str, Any] = {}
        if direction in ("t2v", "v2t"):
            if direction == "t2v":
                new[SAMPLE_ID] = [video, caption_number[video]]
                caption_number[video] += 1
            else:
                new[SAMPLE_ID] = video
            for metric, kind in metrics.items():
                prefix, _, base = metric.partition("_")
                if prefix != direction:
                    continue
                field = f"correct_{base}" if kind == "percent" else "rank"
                if field not in row:
                    raise LegacyLayout(f"row {i} ({direction}) has no {field!r} for {metric}")
                new[metric] = row[field] if kind == "percent" else _outcome(row[field], field, i) + 1.0
        else:
            new[SAMPLE_ID] = video
            for metric, kind in metrics.items():
                field = "ap" if metric == "mAP" else f"correct_{metric}"
                if field not in row:
                    raise LegacyLayout(f"row {i} has no {field!r} for {metric}")
                new[metric] = row[field]
        out.append(new)
    return out
