"""Read result files and turn them into leaderboard columns.

Rules the renderers rely on:

- Every ``*.json`` under the results folder (recursively) is read and validated as a ResultRecord;
  a file that is not valid JSON (or not UTF-8, or holds an integer too long to convert, or is nested
  deeper than MAX_JSON_DEPTH), has an unknown ``schema_version`` or fails validation is skipped with a
  warning naming the file. No file, however broken, stops the report.
- Side files (``*.samples.jsonl``) are only read through ``per_sample_file``, and only when that path is
  relative and, after following links, inside the results folder: a result file cannot make the report
  open ``../../etc/passwd``. They are read as their fixed schema says (``bench/sample_rows.py``: a
  ``sample_id`` and one outcome per metric): the rows that carry the main metric give its per-sample
  outcomes, and the statistic its protocol declares must reproduce the recorded value. A side file that
  cannot be read, breaks the schema or does not reproduce its metric is named in a warning and its model
  is compared by interval overlap instead; one in the layout before the schema is rewritten by
  ``sample_rows.rows_from_legacy_layout`` where that layout is known, and otherwise named as needing a
  re-run.
- A column is (task, data source). Results on the built-in world and on the real dataset never share a
  column: their keys are ``"<task> [built-in world]"`` and ``"<task>"``. The paper's reported numbers
  are attached to real-dataset columns only.
- Seeds of one (model, column) are averaged; the interval is the wider of the seed t-interval and the
  mean per-seed bootstrap interval (so it never claims less uncertainty than one test set gives).
- Per column, the best model (by the task's main metric, in the direction its protocol declares) is compared
  with every other: a paired bootstrap over the per-sample side files when both have them, else
  interval overlap. The rule used is recorded with the verdict. Every other pair of models in a column
  is compared the same way (``Column.pairs``), for the page's "compare two models" control.
- Reference rows (``model.family == "reference"``: chance, perception / pixel / order ceilings) are kept
  apart from the models (``Column.references``): never ranked, never best, never in the average rank.
  They set each column's shading scale (``Scale``): the floor is the best "floor" row (chance), else
  the ``scratch`` model, else 0 (the worst measured value for lower-is-better metrics); the ceiling is
  the best "ceiling" row, else the best model.
- Temporal-minus-static gaps (``Leaderboard.gaps``, computed in ``gaps.py``): for every pair of
  temporal / static subset columns of one dataset, protocol and source, each model's gap on the main
  metric, with an interval that treats the two subsets' test sets as independent.
- Average rank (``Leaderboard.ranks``): per column the models are ranked on the main metric (1 = best,
  ties share the mean of their ranks); a model's average is over the columns it has a result in, shown
  with that count. Models are ordered by coverage first, then average rank, so a model never gains a
  place by missing a task.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np
from pydantic import ValidationError

from tvts_bench.bench.protocol_params import DIAGNOSTICS
from tvts_bench.bench.protocols import spec_of, specs
from tvts_bench.bench.result_schema import SCHEMA_VERSION, MetricValue, ModelInfo, ResultRecord
from tvts_bench.bench.sample_rows import (LegacyLayout, clusters_of, is_legacy, metric_outcomes,
                                          rows_from_legacy_layout)
from tvts_bench.data.readers import dataset_names

from . import paper as paper_numbers
from .bootstrap import PairedDiff, paired_bootstrap, paired_bootstrap_all

if TYPE_CHECKING:
    from .gaps import SubsetPair

BUILTIN_SUFFIX = " [built-in world]"
# A metric recomputed from its side file must equal the recorded value: both come from the same
# outcomes, so only float summation order separates them; more is a file that is not its result's.
AGREEMENT = 1e-9
# Real result files nest about 6 deep; far deeper is a broken or hostile file, and walking it (to
# validate, render or copy) would exhaust Python's recursion limit.
MAX_JSON_DEPTH = 64
# Reference rows (world calibration): results of this model family are never ranked.
REFERENCE_FAMILY = "reference"
REFERENCE_KINDS = ("chance", "perception", "pixel", "order-shuffled", "order-frame-average")
REFERENCE_NAME_KINDS = {"chance": "chance", "perception ceiling": "perception", "pixel ceiling": "pixel",
                        "order ceiling (shuffled)": "order-shuffled",
                        "order ceiling (frame-averaged)": "order-frame-average"}
REFERENCE_ROLES = ("floor", "ceiling", "diagnostic")
SCRATCH = "scratch"
# Longest piece of a file's own text quoted in a warning (a 1 MB "model name" is not repeated).
QUOTE_LIMIT = 120


def column_key(task: str, source: str) -> str:
    return task + (BUILTIN_SUFFIX if source == "builtin" else "")


class UnsafeSideFile(ValueError):
    """A ``per_sample_file`` the report refuses to open (absolute, or outside the results folder)."""


def _quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


@dataclass
class LoadedResult:
    path: Path
    record: ResultRecord
    root: Path | None = None        # the results folder; side files must lie inside it

    @property
    def side_path(self) -> Path | None:
        """The side file's real path; raises UnsafeSideFile for one the report must not open."""
        name = self.record.per_sample_file
        if not name:
            return None
        if "\x00" in name:
            raise UnsafeSideFile(f"per_sample_file {_quote(name)} is not a valid file name")
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[0].isalpha() and name[1] == ":"):
            raise UnsafeSideFile(f"per_sample_file {_quote(name)} is not a relative path; "
                                 "side files are named relative to their result file")
        root = (self.root or self.path.parent).resolve()
        try:
            real = (self.path.parent / name).resolve()
        except (OSError, ValueError, RuntimeError) as e:   # RuntimeError: a symlink loop
            raise UnsafeSideFile(f"per_sample_file {_quote(name)} cannot be resolved ({e})") from None
        if not _inside(real, root):
            raise UnsafeSideFile(f"per_sample_file {_quote(name)} points outside the results folder "
                                 f"{root} (after following links); not opened")
        return real


@dataclass
class Agg:
    """One metric of one (model, column), aggregated over seeds."""

    value: float
    ci_low: float | None
    ci_high: float | None
    n_seeds: int
    per_seed: list[float]
    std: float | None
    rule: str
    ci_level: float = 0.95

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None


@dataclass
class Separation:
    """The verdict of comparing a model with its column's best model."""

    against: str
    separable: bool | None          # None: cannot tell (no interval, no side files)
    rule: str                       # "paired bootstrap", "interval overlap" or "none"
    detail: str
    test: PairedDiff | None = None


@dataclass
class Cell:
    model: str
    results: list[LoadedResult]     # one per seed, sorted by seed
    metrics: dict[str, Agg]
    diagnostics: dict[str, dict[str, Agg]]
    contaminated: bool
    paper_row: paper_numbers.PaperRow | None
    is_best: bool = False
    separation: Separation | None = None
    rank: float | None = None       # 1 = best in the column; ties share the mean rank; None: unranked
    position: float | None = None   # 0 = the column's floor, 1 = its ceiling (not clamped); None: no scale

    @property
    def info(self) -> ModelInfo:
        return self.results[-1].record.model

    @property
    def seeds(self) -> list[int]:
        return [r.record.seed for r in self.results]

    @property
    def seeds_text(self) -> str:
        """'3 seeds: 0, 1, 2' / '1 seed: 0' (the count first: a seed id never reads as a count)."""
        n = len(self.results)
        return f"{n} seed{'s' if n != 1 else ''}: " + ", ".join(str(s) for s in self.seeds)

    @property
    def is_reference(self) -> bool:
        return self.info.family == REFERENCE_FAMILY

    @property
    def reference_kind(self) -> str | None:
        if not self.is_reference:
            return None
        kind = self.info.card.get("reference_kind")
        if isinstance(kind, str) and kind:
            return kind
        return REFERENCE_NAME_KINDS.get(self.model.strip().lower(), "other")

    @property
    def reference_role(self) -> str | None:
        """floor | ceiling | diagnostic (from the card; else chance is the floor, '... ceiling' a ceiling)."""
        if not self.is_reference:
            return None
        role = self.info.card.get("role")
        if isinstance(role, str) and role in REFERENCE_ROLES:
            return role
        if self.reference_kind == "chance":
            return "floor"
        return "ceiling" if self.model.strip().lower().endswith("ceiling") else "diagnostic"

    @property
    def is_scratch(self) -> bool:
        return not self.is_reference and (self.info.family == SCRATCH or self.model == SCRATCH)

    @property
    def views(self) -> "Views":
        return Views.of(self.results[-1].record)

    @property
    def finished_at(self) -> str:
        return max(r.record.provenance.finished_at for r in self.results)

    @property
    def git_shas(self) -> list[str]:
        return list(dict.fromkeys(r.record.provenance.git_sha for r in self.results if r.record.provenance.git_sha))

    def main_value(self, metric: str) -> float | None:
        agg = self.metrics.get(metric)
        return agg.value if agg is not None and math.isfinite(agg.value) else None


def _count(value: object) -> int | None:
    """A positive integer from a card or provenance field (anything else, bools included: unknown)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if 0 < value < 10**6 else None


@dataclass(frozen=True)
class Views:
    """The test views of a result: frames per clip x clips x crops (None: not recorded)."""

    frames: int | None
    clips: int | None
    crops: int | None

    @classmethod
    def of(cls, record: ResultRecord) -> "Views":
        preprocess = record.provenance.extra.get("preprocess")
        sampling = record.task.card.get("sampling")
        frames = _count(preprocess.get("num_frames")) if isinstance(preprocess, dict) else None
        clips = crops = None
        if isinstance(sampling, dict):
            if frames is None:
                frames = _count(sampling.get("frames"))
            # the task card's defaults (Sampling): one clip, one centre crop
            clips = _count(sampling.get("clips", 1))
            crops = _count(sampling.get("crops", 1))
        return cls(frames, clips, crops)

    @property
    def known(self) -> bool:
        return any(x is not None for x in (self.frames, self.clips, self.crops))

    @property
    def short(self) -> str:
        return "\u00d7".join("?" if x is None else str(x) for x in (self.frames, self.clips, self.crops))

    @property
    def long(self) -> str:
        def part(x: int | None, word: str) -> str:
            return f"? {word}s" if x is None else f"{x} {word}{'s' if x != 1 else ''}"
        return " \u00d7 ".join((part(self.frames, "frame"), part(self.clips, "clip"), part(self.crops, "crop")))


@dataclass(frozen=True)
class Scale:
    """Where a column's values sit between its floor (chance) and its ceiling (best possible)."""

    floor: float | None
    floor_label: str
    ceiling: float | None
    ceiling_label: str

    @property
    def usable(self) -> bool:
        return (self.floor is not None and self.ceiling is not None and self.ceiling != self.floor
                and math.isfinite(self.floor) and math.isfinite(self.ceiling))

    def position(self, value: float | None) -> float | None:
        """0 at the floor, 1 at the ceiling (either direction of metric); None without a scale."""
        if value is None or not math.isfinite(value) or not self.usable:
            return None
        return (value - self.floor) / (self.ceiling - self.floor)  # type: ignore[operator]

    @property
    def text(self) -> str:
        if self.floor is None or self.ceiling is None:
            return "no shading scale (no value to anchor it)"
        if not self.usable:
            return (f"no shading: the ceiling ({self.ceiling_label}) equals the floor ({self.floor_label})")
        return f"floor {self.floor_label} \u2192 ceiling {self.ceiling_label}"


@dataclass
class PairResult:
    """Model ``a`` minus model ``b`` on one column's main metric."""

    a: str
    b: str
    diff: float
    low: float | None               # interval of the difference (paired bootstrap only)
    high: float | None
    rule: str                       # "paired bootstrap" | "interval overlap" | "none"
    separable: bool | None
    detail: str


@dataclass
class PaperRef:
    """One paper row's numbers for one real-dataset column (keys are the column's metric names)."""

    row: paper_numbers.PaperRow
    numbers: dict[str, paper_numbers.PaperNumber]
    models: list[str] = field(default_factory=list)   # measured models whose card names this row

    @property
    def tables(self) -> list[int]:
        return sorted({n.table for n in self.numbers.values()})


@dataclass
class Column:
    key: str
    task: str
    dataset: str
    protocol: str
    source: str                     # "builtin" | "real"
    main_metric: str
    higher_is_better: bool          # the main metric's direction, as its protocol declares it
    metric_names: list[str]
    cells: list[Cell]               # best first
    paper: list[PaperRef] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    references: list[Cell] = field(default_factory=list)   # reference rows: never ranked
    scale: Scale = field(default_factory=lambda: Scale(None, "", None, ""))
    pairs: dict[tuple[str, str], PairResult] = field(default_factory=dict)

    @property
    def builtin(self) -> bool:
        return self.source == "builtin"

    def cell(self, model: str) -> Cell | None:
        return next((c for c in self.cells if c.model == model), None)

    def reference(self, name: str) -> Cell | None:
        return next((c for c in self.references if c.model == name), None)

    @property
    def label(self) -> str:
        """The column's short name under its protocol group: the dataset (and any task variant)."""
        stem = f"{self.dataset}-{self.protocol}"
        if self.task.startswith(stem):
            return self.dataset + self.task[len(stem):]
        return self.task

    @property
    def views(self) -> list[Views]:
        """The distinct test views of the column's results (models and references)."""
        return list(dict.fromkeys(c.views for c in self.cells + self.references))

    def pair(self, a: str, b: str) -> PairResult | None:
        """``a`` minus ``b`` (the stored pair, turned round if it was stored as ``b`` minus ``a``)."""
        found = self.pairs.get((a, b))
        if found is not None:
            return found
        other = self.pairs.get((b, a))
        if other is None:
            return None
        return PairResult(a, b, -other.diff, None if other.high is None else -other.high,
                          None if other.low is None else -other.low, other.rule, other.separable, other.detail)

    @property
    def variants(self) -> list[str]:
        names = {v for c in self.cells for v in c.diagnostics}
        return sorted(names, key=lambda v: (DIAGNOSTICS.index(v) if v in DIAGNOSTICS else 99, v))


@dataclass
class Leaderboard:
    results_dir: Path
    columns: list[Column]
    models: list[str]
    warnings: list[str]
    n_files: int
    generated_at: str
    references: list[str] = field(default_factory=list)         # reference row names, in kind order
    ranks: dict[str, "ModelRank"] = field(default_factory=dict)  # model -> its average rank
    # temporal-minus-static gaps per pair of subset columns (``gaps.py``)
    gaps: list["SubsetPair"] = field(default_factory=list)

    @property
    def ranked_columns(self) -> int:
        """Columns with at least one ranked model (what a model's coverage is counted against)."""
        return sum(1 for col in self.columns if any(c.rank is not None for c in col.cells))

    def paper_summary_rows(self) -> list[tuple[paper_numbers.PaperRow, dict[str, paper_numbers.PaperNumber]]]:
        """Paper rows with their main-metric number per real column (column key -> number)."""
        rows: dict[str, tuple[paper_numbers.PaperRow, dict[str, paper_numbers.PaperNumber]]] = {}
        for col in self.columns:
            for ref in col.paper:
                number = ref.numbers.get(col.main_metric)
                if number is not None:
                    rows.setdefault(ref.row.id, (ref.row, {}))[1][col.key] = number
        return list(rows.values())


@dataclass
class ModelRank:
    model: str
    ranks: dict[str, float]         # column key -> rank in that column
    total: int                      # columns with at least one ranked model
    order: int = 0                  # 1-based place in the summary (coverage first, then average)

    @property
    def covered(self) -> int:
        return len(self.ranks)

    @property
    def average(self) -> float | None:
        return float(np.mean(list(self.ranks.values()))) if self.ranks else None

    @property
    def text(self) -> str:
        if self.average is None:
            return f"unranked (0/{self.total} tasks)"
        return f"avg rank {self.average:.1f} ({self.covered}/{self.total} tasks)"

    def sort_key(self) -> tuple:
        return (-self.covered, self.average if self.average is not None else math.inf, self.model.lower(),
                self.model)


# ----------------------------------------------------------------------------------------------- loading

def _validation_problem(e: ValidationError) -> str:
    errors = e.errors()
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "(top level)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"key {_quote(where)}: {first.get('msg', 'invalid')}{more}"


def _too_deep(obj: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``obj`` nests lists/objects more than ``limit`` deep (iterative: never recurses)."""
    stack: list[tuple[object, int]] = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _loads(text: str) -> object:
    """``json.loads`` with a plain reason (ValueError) for every way hostile text makes it fail."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply to read") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON: {e}") from None
    except ValueError as e:     # an integer past Python's int-to-str digit limit
        if "digits" not in str(e):
            raise ValueError(f"not valid JSON: {e}") from None
        raise ValueError(f"holds an integer longer than {sys.get_int_max_str_digits()} digits") from None
    if _too_deep(data):
        raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep")
    return data


def read_json_file(path: Path) -> object:
    """A JSON file's content; ValueError with a plain reason for anything that is not usable JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text (byte {e.object[e.start:e.start + 1]!r} at offset {e.start})") from None
    except OSError as e:
        raise ValueError(f"cannot be read: {e.strerror or e}") from None
    return _loads(text)


def load_results(results_dir: Path) -> tuple[list[LoadedResult], list[str]]:
    """Every valid ResultRecord under ``results_dir``, and one warning per skipped file."""
    loaded: list[LoadedResult] = []
    warnings: list[str] = []
    root = results_dir.resolve()
    for path in sorted(results_dir.rglob("*.json")):
        # dot-folders hold what is not current (``.superseded/``: results replaced by newer ones)
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(results_dir).parts):
            continue
        try:
            data = read_json_file(path)
        except ValueError as e:
            warnings.append(f"{path}: not a readable JSON file ({e}); skipped")
            continue
        if not isinstance(data, dict):
            warnings.append(f"{path}: not a result file (top level is not an object); skipped")
            continue
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            warnings.append(f"{path}: schema_version {_quote(version)} is not one this report reads "
                            f"(it reads {SCHEMA_VERSION}); skipped")
            continue
        try:
            record = ResultRecord.model_validate(data)
        except ValidationError as e:
            warnings.append(f"{path}: not a valid result file, {_validation_problem(e)}; skipped")
            continue
        loaded.append(LoadedResult(path, record, root))
    return loaded, warnings


# ------------------------------------------------------------------------------------------ aggregation

def _t_quantile(df: int, level: float = 0.95) -> float:
    try:
        from scipy.stats import t

        return float(t.ppf(0.5 + level / 2.0, df))
    except ImportError:  # scipy comes with scikit-learn, but keep a table for the common case
        table = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
        return table.get(df, 1.96 if df > 30 else 2.2)


def aggregate_metric(values: list[MetricValue]) -> Agg:
    """Mean over seeds, with an interval (see the module docstring for the rule)."""
    vals = [v.value for v in values]
    n = len(vals)
    mean = float(np.mean(vals))
    level = values[0].ci_level
    lows = [v.ci_low for v in values]
    highs = [v.ci_high for v in values]
    boot = all(x is not None for x in lows + highs)
    if n == 1:
        rule = (f"one seed; {level:.0%} bootstrap interval over test samples" if boot
                else "one seed; no interval recorded")
        return Agg(mean, lows[0], highs[0], 1, vals, None, rule, level)
    std = float(np.std(vals, ddof=1))
    half = _t_quantile(n - 1, level) * std / math.sqrt(n)
    lo, hi = mean - half, mean + half
    rule = f"mean of {n} seeds; {level:.0%} t-interval over seeds"
    if boot:
        lo = min(lo, float(np.mean(lows)))
        hi = max(hi, float(np.mean(highs)))
        rule += ", widened to the mean per-seed bootstrap interval where that is wider"
    return Agg(mean, lo, hi, n, vals, std, rule, level)


def _pick_runs(key: tuple[str, str, str], results: list[LoadedResult], warnings: list[str]) -> list[LoadedResult]:
    """One consistent run per (model, column): same weights, protocol and data; one file per seed."""
    def identity(r: LoadedResult) -> tuple[str, str, str]:
        rec = r.record
        return rec.model.weights_hash, rec.task.hash, rec.data.manifest_hash

    groups: dict[tuple[str, str, str], list[LoadedResult]] = {}
    for r in results:
        groups.setdefault(identity(r), []).append(r)
    chosen = max(groups.values(), key=lambda g: max(r.record.provenance.finished_at for r in g))
    if len(groups) > 1:
        ignored = [r for g in groups.values() if g is not chosen for r in g]
        names = ", ".join(str(r.path) for r in ignored[:3]) + (" ..." if len(ignored) > 3 else "")
        warnings.append(f"model {key[0]!r} on {column_key(key[1], key[2])}: results with other weights, "
                        f"protocol parameters or data exist; using the newest run and ignoring "
                        f"{len(ignored)} older file(s): {names}")
    by_seed: dict[int, LoadedResult] = {}
    for r in sorted(chosen, key=lambda r: r.record.provenance.finished_at):
        if r.record.seed in by_seed:
            warnings.append(f"model {key[0]!r} on {column_key(key[1], key[2])}: seed {r.record.seed} appears "
                            f"twice; using {r.path}, ignoring {by_seed[r.record.seed].path}")
        by_seed[r.record.seed] = r
    return [by_seed[s] for s in sorted(by_seed)]


def _aggregate_cell(model: str, task_dataset: str, results: list[LoadedResult]) -> Cell:
    metric_names = [m for m in results[0].record.metrics]
    for r in results[1:]:
        metric_names += [m for m in r.record.metrics if m not in metric_names]
    metrics = {m: aggregate_metric([r.record.metrics[m] for r in results if m in r.record.metrics])
               for m in metric_names}
    diagnostics: dict[str, dict[str, Agg]] = {}
    variants = {v for r in results for v in r.record.diagnostics}
    for v in variants:
        names = {m for r in results for m in r.record.diagnostics.get(v, {})}
        diagnostics[v] = {m: aggregate_metric([r.record.diagnostics[v][m] for r in results
                                               if m in r.record.diagnostics.get(v, {})]) for m in names}
    info = results[-1].record.model
    contaminated = task_dataset.lower() in {d.lower() for d in info.trained_on}
    return Cell(model, results, metrics, diagnostics, contaminated, paper_numbers.resolve_row(info.paper_row))


def _paper_refs(task: str, metric_names: list[str]) -> list[PaperRef]:
    refs: dict[str, PaperRef] = {}
    for metric in metric_names:
        for number in paper_numbers.lookup(task, metric):
            row = paper_numbers.ROWS[number.row]
            refs.setdefault(row.id, PaperRef(row, {})).numbers[metric] = number
    return list(refs.values())


# ---------------------------------------------------------------------------------- per-sample outcomes

@dataclass
class SampleOutcomes:
    values: dict[object, float]     # sample_id -> per-sample outcome of the main metric
    statistic: str                  # the metric's declared statistic: "percent" | "mean" | "median"
    # sample_id -> cluster: several queries of one video (MSVD captions) are resampled together
    clusters: dict[object, str] | None = None


def _read_jsonl(path: Path) -> list[dict]:
    """The side file's lines as objects; ValueError naming the first bad line."""
    rows = []
    # bytes, decoded line by line: a decoding error then names its line (text mode decodes in chunks)
    with open(path, "rb") as f:
        for i, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as e:
                raise ValueError(f"line {i} is not UTF-8 text (byte {raw[e.start:e.start + 1]!r})") from None
            if not line:
                continue
            try:
                obj = _loads(line)
            except ValueError as e:
                raise ValueError(f"line {i}: {e}") from None
            if not isinstance(obj, dict):
                raise ValueError(f"line {i} is not a JSON object")
            rows.append(obj)
    return rows


def result_outcomes(r: LoadedResult, metric: str, warnings: list[str]
                   ) -> tuple[list[object], np.ndarray, str] | None:
    """(sample ids, outcomes, statistic) of ``metric`` in one result's side file, or None with a warning
    saying why the model falls back to interval overlap."""
    fallback = "comparisons for this model use interval overlap"
    declared = spec_of(r.record.task.protocol).metric(metric)
    if not r.record.per_sample_file or metric not in r.record.metrics or declared is None:
        return None
    try:
        side = r.side_path
    except UnsafeSideFile as e:
        warnings.append(f"{r.path}: {e}; {fallback}")
        return None
    if side is None:
        return None
    if not side.is_file():
        warnings.append(f"{r.path}: per_sample_file {_quote(r.record.per_sample_file)} not found; {fallback}")
        return None
    try:
        rows = _read_jsonl(side)
        if is_legacy(rows):
            rows = rows_from_legacy_layout(rows, {metric: declared.statistic})
        keys, values = metric_outcomes(rows, metric)
    except OSError as e:
        warnings.append(f"{side}: cannot read side file ({e.strerror or e}); {fallback}")
        return None
    except LegacyLayout as e:
        warnings.append(f"{side}: a side file in a layout from before the per-sample schema that cannot be read "
                        f"without guessing ({e}); re-run the task (--overwrite always) for paired comparisons; "
                        f"{fallback}")
        return None
    except ValueError as e:
        warnings.append(f"{side}: cannot use side file ({e}); {fallback}")
        return None
    recorded = r.record.metrics[metric].value
    if not keys:
        warnings.append(f"{side}: no per-sample outcome of {metric}; {fallback}")
        return None
    if not abs(declared.value(values) - recorded) <= AGREEMENT * max(1.0, abs(recorded)):
        warnings.append(f"{side}: its per-sample outcomes do not reproduce {metric} = {recorded:g} "
                        f"({declared.statistic} of them: {declared.value(values):g}); {fallback}")
        return None
    return keys, values, declared.statistic


def cell_outcomes(cell: Cell, metric: str, warnings: list[str]) -> SampleOutcomes | None:
    """Per-sample outcomes of ``metric`` for a cell, averaged over seeds on the samples all seeds share."""
    per_seed: list[dict[object, float]] = []
    statistic = "mean"
    for r in cell.results:
        found = result_outcomes(r, metric, warnings)
        if found is None:
            return None
        keys, values, statistic = found
        per_seed.append(dict(zip(keys, values.tolist())))
    if not per_seed:
        return None
    common = [k for k in per_seed[0] if all(k in s for s in per_seed[1:])]
    clusters = clusters_of(common)
    return SampleOutcomes({k: float(np.mean([s[k] for s in per_seed])) for k in common}, statistic,
                          dict(zip(common, clusters)) if clusters is not None else None)


def _intervals_overlap(a: Agg, b: Agg) -> bool:
    return not (a.ci_high < b.ci_low or b.ci_high < a.ci_low)  # type: ignore[operator]


def compare(best: Cell, other: Cell, metric: str, warnings: list[str], *, seed: int = 0,
            cache: dict[int, SampleOutcomes | None] | None = None,
            tests: dict[tuple[str, str], PairedDiff] | None = None) -> Separation:
    """Can ``other`` be told apart from ``best`` on ``metric``? Paired bootstrap, else interval overlap.

    ``cache`` (keyed by ``id(cell)``) keeps each cell's side files from being read more than once;
    ``tests`` holds paired bootstraps already computed (``shared_tests``), keyed by (best, other)."""
    cache = {} if cache is None else cache
    for cell in (best, other):
        if id(cell) not in cache:
            cache[id(cell)] = cell_outcomes(cell, metric, warnings)
    a, b = cache[id(best)], cache[id(other)]
    why_not_paired = "no usable side files for both models"
    if a is not None and b is not None:
        common = sorted(set(a.values) & set(b.values), key=str)
        if a.statistic == b.statistic and len(common) >= 0.9 * max(len(a.values), len(b.values)) and common:
            test = (tests or {}).get((best.model, other.model)) if seed == 0 else None
            if test is None:
                clusters = (np.array([a.clusters[k] for k in common])
                            if a.clusters is not None and all(k in a.clusters for k in common) else None)
                test = paired_bootstrap(np.array([a.values[k] for k in common]),
                                        np.array([b.values[k] for k in common]),
                                        statistic=a.statistic, seed=seed, clusters=clusters)  # type: ignore[arg-type]
            detail = (f"{best.model} minus {other.model}: {test.diff:+.2f} "
                      f"[{test.low:+.2f}, {test.high:+.2f}] ({test.level:.0%} paired bootstrap over "
                      f"{test.n} samples, {test.n_boot} resamples)")
            return Separation(best.model, test.separable, "paired bootstrap", detail, test)
        why_not_paired = "side files cover different samples"
    ma, mb = best.metrics.get(metric), other.metrics.get(metric)
    if ma is None or mb is None or not ma.has_interval or not mb.has_interval or \
            not all(math.isfinite(x) for x in (ma.ci_low, ma.ci_high, mb.ci_low, mb.ci_high)):  # type: ignore[arg-type]
        return Separation(best.model, None, "none", f"no intervals and {why_not_paired}: cannot tell")
    overlap = _intervals_overlap(ma, mb)
    detail = (f"{best.model} [{ma.ci_low:.2f}, {ma.ci_high:.2f}] vs {other.model} "
              f"[{mb.ci_low:.2f}, {mb.ci_high:.2f}]: intervals {'overlap' if overlap else 'do not overlap'} "
              f"({why_not_paired})")
    return Separation(best.model, not overlap, "interval overlap", detail)


def shared_tests(cells: list[Cell], metric: str, warnings: list[str],
                 cache: dict[int, SampleOutcomes | None]) -> dict[tuple[str, str], PairedDiff]:
    """The paired bootstrap of every pair of ``cells`` (in list order) whose side files cover the same
    samples without clusters, each model evaluated once per resample (``paired_bootstrap_all``); the
    results equal ``compare``'s pair by pair. Other pairs are left to ``compare``."""
    for c in cells:
        if id(c) not in cache:
            cache[id(c)] = cell_outcomes(c, metric, warnings)
    groups: dict[tuple[str, frozenset], list[Cell]] = {}
    for c in cells:
        o = cache[id(c)]
        if o is not None and o.clusters is None and o.values:
            groups.setdefault((o.statistic, frozenset(o.values)), []).append(c)
    tests: dict[tuple[str, str], PairedDiff] = {}
    for (statistic, keyset), members in groups.items():
        if len(members) < 2:
            continue
        keys = sorted(keyset, key=str)
        arrays = [np.array([cache[id(c)].values[k] for k in keys]) for c in members]  # type: ignore[union-attr]
        for (i, j), test in paired_bootstrap_all(arrays, statistic=statistic).items():  # type: ignore[arg-type]
            tests[(members[i].model, members[j].model)] = test
    return tests


def _column_order(col: Column) -> tuple:
    """Real-data columns first, then the built-in world; within each, by protocol (the summary groups
    its columns by protocol), then dataset in listing order (the datasets' declarations)."""
    def idx(seq: tuple[str, ...], x: str) -> int:
        return seq.index(x) if x in seq else len(seq)
    return (col.source == "builtin", idx(tuple(specs()), col.protocol), col.protocol,
            idx(tuple(dataset_names()), col.dataset), col.dataset, col.task)


def _reference_order(cell: Cell) -> tuple:
    kind = cell.reference_kind or ""
    return (REFERENCE_KINDS.index(kind) if kind in REFERENCE_KINDS else len(REFERENCE_KINDS), cell.model.lower(),
            cell.model)


def _better(values: list[tuple[float, str]], higher_is_better: bool) -> tuple[float, str] | None:
    if not values:
        return None
    return (max if higher_is_better else min)(values, key=lambda v: v[0])


def _scale(col: Column) -> Scale:
    """The column's shading scale (rule in the module docstring)."""
    main, hib = col.main_metric, col.higher_is_better

    def valued(cells: list[Cell]) -> list[tuple[float, str]]:
        return [(v, c.model) for c in cells if (v := c.main_value(main)) is not None]

    floor = _better(valued([r for r in col.references if r.reference_role == "floor"]), hib)
    if floor is not None:
        floor_label = f"{floor[1]} {floor[0]:.1f}"
    else:
        floor = _better(valued([c for c in col.cells if c.is_scratch]), hib)
        floor_label = f"{floor[1]} model {floor[0]:.1f}" if floor is not None else ""
    if floor is None:
        measured = valued(col.cells)
        if hib:
            floor, floor_label = (0.0, ""), "0, as there is no chance row or scratch model"
        elif measured:
            floor = _better(measured, not hib)   # lower is better: the highest value measured
            assert floor is not None
            floor_label = f"the worst measured, {floor[0]:.1f}, as there is no chance row or scratch model"
    def above_floor(value: float) -> bool:
        return floor is None or (value > floor[0] if hib else value < floor[0])

    ceiling = _better(valued([r for r in col.references if r.reference_role == "ceiling"]), hib)
    note = ""
    if ceiling is not None and not above_floor(ceiling[0]):
        # a ceiling row at or under the floor (a supervised model that stayed at chance) cannot be a scale
        note = f" (the ceiling rows, best {ceiling[1]} {ceiling[0]:.1f}, are not above the floor)"
        ceiling = None
    if ceiling is not None:
        ceiling_label = f"{ceiling[1]} {ceiling[0]:.1f}"
    else:
        ceiling = _better(valued(col.cells), hib)
        ceiling_label = f"the best measured, {ceiling[1]} {ceiling[0]:.1f}{note}" if ceiling is not None else ""
    return Scale(floor[0] if floor else None, floor_label, ceiling[0] if ceiling else None, ceiling_label)


def _rank(cells: list[Cell], metric: str, higher_is_better: bool) -> None:
    """1 = best; exact ties share the mean of the ranks they span."""
    values = sorted(((v, c) for c in cells if (v := c.main_value(metric)) is not None),
                    key=lambda x: x[0], reverse=higher_is_better)
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1][0] == values[i][0]:
            j += 1
        for k in range(i, j + 1):
            values[k][1].rank = (i + j) / 2 + 1
        i = j + 1


def _pair(a: Cell, b: Cell, metric: str, sep: Separation) -> PairResult:
    if sep.test is not None:
        t = sep.test
        return PairResult(a.model, b.model, t.diff, t.low, t.high, sep.rule, sep.separable, sep.detail)
    diff = a.metrics[metric].value - b.metrics[metric].value
    return PairResult(a.model, b.model, diff, None, None, sep.rule, sep.separable, sep.detail)


def build_columns(results: Iterable[LoadedResult], warnings: list[str], *, pairs: bool = True) -> list[Column]:
    """Columns of cells; ``pairs``: also compare every pair of models (for the page's compare control)."""
    grouped: dict[tuple[str, str, str], list[LoadedResult]] = {}
    for r in results:
        rec = r.record
        grouped.setdefault((rec.model.name, rec.task.name, rec.data.source), []).append(r)

    by_column: dict[tuple[str, str], list[Cell]] = {}
    for key, rs in grouped.items():
        model, task, source = key
        chosen = _pick_runs(key, rs, warnings)
        by_column.setdefault((task, source), []).append(_aggregate_cell(model, chosen[0].record.task.dataset, chosen))

    columns: list[Column] = []
    for (task, source), every in by_column.items():
        references = sorted((c for c in every if c.is_reference), key=_reference_order)
        cells = [c for c in every if not c.is_reference]
        first = every[0].results[0].record.task
        key = column_key(task, source)
        # the models decide the main metric; reference rows only where no model has a result
        mains = Counter(r.record.task.main_metric for c in (cells or references) for r in c.results)
        main = mains.most_common(1)[0][0]
        notes: list[str] = []
        if len(mains) > 1:
            notes.append(f"result files name different main metrics ({', '.join(sorted(mains))}); using {main}")
        # the protocol of the results that name this main metric declares which way it is better (every
        # result file's metrics are declared by its protocol: ResultRecord checks it)
        protocol = next(r.record.task.protocol for c in (cells or references) for r in c.results
                        if r.record.task.main_metric == main)
        spec = spec_of(protocol)
        higher_is_better = spec.metric(main).higher_is_better  # type: ignore[union-attr]
        for c in every:
            if main not in c.metrics:
                what = "reference row" if c.is_reference else "model"
                warnings.append(f"{what} {c.model!r} on {key}: no {main!r} metric; shown without a main value")
        names = sorted({m for c in every for m in c.metrics}, key=spec.sort_key)
        names = [main] + [m for m in names if m != main]
        # a NaN main value (e.g. no valid query) cannot be ranked: such cells go last, unranked
        scored = [c for c in cells if main in c.metrics and math.isfinite(c.metrics[main].value)]
        scored.sort(key=lambda c: c.metrics[main].value, reverse=higher_is_better)
        cells = scored + [c for c in cells if c not in scored]
        if len({c.results[-1].record.data.manifest_hash for c in cells}) > 1:
            notes.append("models were evaluated on different copies of the data (manifest hashes differ): "
                         "compare with care")
        if len({c.results[-1].record.task.hash for c in cells}) > 1:
            notes.append("models were evaluated with different protocol parameters (task hashes differ): "
                         "compare with care")
        col = Column(key, task, first.dataset, protocol, source, main, higher_is_better, names, cells,
                     notes=notes, references=references)
        if scored:
            best = scored[0]
            best.is_best = True
            cache: dict[int, SampleOutcomes | None] = {}
            tests = shared_tests(scored, main, warnings, cache)
            for other in scored[1:]:
                other.separation = compare(best, other, main, warnings, cache=cache, tests=tests)
                col.pairs[(best.model, other.model)] = _pair(best, other, main, other.separation)
            if pairs:
                for i, a in enumerate(scored[1:], 1):
                    for b in scored[i + 1:]:
                        sep = compare(a, b, main, warnings, cache=cache, tests=tests)
                        col.pairs[(a.model, b.model)] = _pair(a, b, main, sep)
        _rank(cells, main, higher_is_better)
        col.scale = _scale(col)
        for c in cells + references:
            c.position = col.scale.position(c.main_value(main))
        if source == "real":   # the paper measured on the real datasets only
            col.paper = _paper_refs(task, names)
            for ref in col.paper:
                ref.models = [c.model for c in cells if c.paper_row is not None and c.paper_row.id == ref.row.id]
            # rows that correspond to a measured model first, then the paper's order
            col.paper.sort(key=lambda ref: not ref.models)
        columns.append(col)
    columns.sort(key=_column_order)
    return columns


def rank_models(columns: list[Column]) -> dict[str, ModelRank]:
    """Each model's ranks over the columns it has a ranked result in, in summary order."""
    total = sum(1 for col in columns if any(c.rank is not None for c in col.cells))
    ranks: dict[str, ModelRank] = {}
    for col in columns:
        for c in col.cells:
            entry = ranks.setdefault(c.model, ModelRank(c.model, {}, total))
            if c.rank is not None:
                entry.ranks[col.key] = c.rank
    ordered = sorted(ranks.values(), key=ModelRank.sort_key)
    for i, entry in enumerate(ordered, 1):
        entry.order = i
    return {e.model: e for e in ordered}


def build_leaderboard(results_dir: Path | str, *, pairs: bool = True) -> Leaderboard:
    """Load, validate and aggregate every result file under ``results_dir``."""
    results_dir = Path(results_dir)
    loaded, warnings = load_results(results_dir)
    from .gaps import temporal_gaps     # gaps.py reads this module's cells

    columns = build_columns(loaded, warnings, pairs=pairs)
    ranks = rank_models(columns)
    models = list(ranks)                        # coverage first, then average rank
    gaps = temporal_gaps(columns, models, warnings)
    warnings = list(dict.fromkeys(warnings))    # one line per problem, first-seen order
    reference_cells = {c.model: c for col in columns for c in col.references}
    references = sorted(reference_cells, key=lambda m: _reference_order(reference_cells[m]))
    return Leaderboard(results_dir, columns, models, warnings, len(loaded),
                       datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), references, ranks, gaps)


# ---------------------------------------------------------------------------------------- long format

LONG_FIELDS = ("model", "task", "source", "metric", "value", "ci_low", "ci_high", "n_seeds",
               "seeds", "kind", "role", "rank", "avg_rank", "tasks_ranked", "tasks_total")


def long_rows(lb: Leaderboard, *, include_paper: bool = True) -> list[dict]:
    """One row per (model, task, source, metric); diagnostics as ``<variant>:<metric>``; paper rows
    with source ``paper``.

    ``kind`` is ``model``, ``reference`` (world calibration rows; ``role`` floor / ceiling / diagnostic)
    or ``paper``; ``seeds`` the seed ids (``0 1 2``); ``rank`` the model's rank in the column (main metric
    rows only); ``avg_rank`` / ``tasks_ranked`` / ``tasks_total`` its average rank over the columns it has a
    result in (the same on each of its rows; empty for reference and paper rows).

    Temporal-minus-static gaps (``gaps.py``) follow as rows of ``kind`` ``gap``: task ``<temporal task>
    minus <static task>``, metric ``gap:<main metric>``, the gap with its interval, and in ``role`` the
    rule that made the interval (independent bootstrap, interval combination or none)."""
    rows: list[dict] = []
    for col in lb.columns:
        for cell in col.cells + col.references:
            items = [(m, a) for m, a in cell.metrics.items()]
            for variant in col.variants:
                by_order = sorted(cell.diagnostics.get(variant, {}).items(),
                                  key=lambda x: spec_of(col.protocol).sort_key(x[0]))
                items += [(f"{variant}:{m}", a) for m, a in by_order]
            rank = lb.ranks.get(cell.model) if not cell.is_reference else None
            for metric, agg in items:
                rows.append({"model": cell.model, "task": col.task, "source": col.source, "metric": metric,
                             "value": agg.value, "ci_low": agg.ci_low, "ci_high": agg.ci_high,
                             "n_seeds": agg.n_seeds, "seeds": " ".join(str(s) for s in cell.seeds),
                             "kind": "reference" if cell.is_reference else "model",
                             "role": cell.reference_role,
                             "rank": cell.rank if metric == col.main_metric else None,
                             "avg_rank": rank.average if rank is not None else None,
                             "tasks_ranked": rank.covered if rank is not None else None,
                             "tasks_total": rank.total if rank is not None else None})
        if include_paper:
            for ref in col.paper:
                for metric, number in ref.numbers.items():
                    rows.append({"model": f"paper (reported): {ref.row.label}", "task": col.task,
                                 "source": "paper", "metric": metric, "value": number.value,
                                 "ci_low": None, "ci_high": None, "n_seeds": None, "seeds": None,
                                 "kind": "paper", "role": None, "rank": None, "avg_rank": None,
                                 "tasks_ranked": None, "tasks_total": None})
    for pair in lb.gaps:
        for gap in pair.gaps:
            rows.append({"model": gap.model, "task": f"{pair.temporal.task} minus {pair.static.task}",
                         "source": pair.source, "metric": f"gap:{pair.metric}", "value": gap.diff,
                         "ci_low": gap.low, "ci_high": gap.high, "n_seeds": None, "seeds": None, "kind": "gap",
                         "role": gap.rule, "rank": None, "avg_rank": None, "tasks_ranked": None,
                         "tasks_total": None})
    return rows
