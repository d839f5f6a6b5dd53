"""Read result files and turn them into leaderboard columns.

Rules the renderers rely on:

- Every ``*.json`` under the results folder (recursively) is read and validated as a ResultRecord;
  a file that is not valid JSON (or not UTF-8, or holds an integer too long to convert, or is nested
  deeper than MAX_JSON_DEPTH), has an unknown ``schema_version`` or fails validation is skipped with a
  warning naming the file. No file, however broken, stops the report.
- Side files (``*.samples.jsonl``) are only read through ``per_sample_file``, and only when that path is
  relative and, after following links, inside the results folder: a result file cannot make the report
  open ``../../etc/passwd``. A side file that cannot be read or understood (bad lines, wrong field
  types) is named in a warning and its model is compared by interval overlap instead.
- A column is (task, data source). Results on the built-in world and on the real dataset never share a
  column: their keys are ``"<task> [built-in world]"`` and ``"<task>"``. The paper's reported numbers
  are attached to real-dataset columns only.
- Seeds of one (model, column) are averaged; the interval is the wider of the seed t-interval and the
  mean per-seed bootstrap interval (so it never claims less uncertainty than one test set gives).
- Per column, the best model (by the task's main metric; lower is better for MedR/MeanR) is compared
  with every other: a paired bootstrap over the per-sample side files when both have them, else
  interval overlap. The rule used is recorded with the verdict.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
from pydantic import ValidationError

from tvts_bench.bench.result_schema import SCHEMA_VERSION, MetricValue, ModelInfo, ResultRecord

from . import paper as paper_numbers
from .bootstrap import PairedDiff, paired_bootstrap

BUILTIN_SUFFIX = " [built-in world]"
PROTOCOL_ORDER = ("linear", "v2v", "ft", "ret", "ret-ft")
DATASET_ORDER = ("ssv2", "k400", "ucf101", "hmdb51", "msrvtt", "didemo", "msvd", "lsmdc")
METRIC_ORDER = ("top1", "top5", "R@1", "R@5", "R@10", "mAP", "MedR", "MeanR",
                "t2v_R@1", "t2v_R@5", "t2v_R@10", "t2v_MedR", "t2v_MeanR",
                "v2t_R@1", "v2t_R@5", "v2t_R@10", "v2t_MedR", "v2t_MeanR")
DIAGNOSTIC_ORDER = ("shuffled", "repeated")
# Keys a side-file line may use to name its sample, so two models' lines can be paired.
SAMPLE_ID_KEYS = ("id", "sample_id", "query_id", "query", "video_id", "index", "key")
# A statistic recomputed from a side file must match the recorded metric within this (rounding).
SIDE_FILE_TOLERANCE = 0.51
# Real result files nest about 6 deep; far deeper is a broken or hostile file, and walking it (to
# validate, render or copy) would exhaust Python's recursion limit.
MAX_JSON_DEPTH = 64
# Longest piece of a file's own text quoted in a warning (a 1 MB "model name" is not repeated).
QUOTE_LIMIT = 120


def lower_is_better(metric: str) -> bool:
    return metric.endswith("MedR") or metric.endswith("MeanR")


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

    @property
    def info(self) -> ModelInfo:
        return self.results[-1].record.model

    @property
    def seeds(self) -> list[int]:
        return [r.record.seed for r in self.results]


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
    metric_names: list[str]
    cells: list[Cell]               # best first
    paper: list[PaperRef] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def builtin(self) -> bool:
        return self.source == "builtin"

    @property
    def higher_is_better(self) -> bool:
        return not lower_is_better(self.main_metric)

    def cell(self, model: str) -> Cell | None:
        return next((c for c in self.cells if c.model == model), None)

    @property
    def variants(self) -> list[str]:
        names = {v for c in self.cells for v in c.diagnostics}
        return sorted(names, key=lambda v: (DIAGNOSTIC_ORDER.index(v) if v in DIAGNOSTIC_ORDER else 99, v))


@dataclass
class Leaderboard:
    results_dir: Path
    columns: list[Column]
    models: list[str]
    warnings: list[str]
    n_files: int
    generated_at: str

    def paper_summary_rows(self) -> list[tuple[paper_numbers.PaperRow, dict[str, paper_numbers.PaperNumber]]]:
        """Paper rows with their main-metric number per real column (column key -> number)."""
        rows: dict[str, tuple[paper_numbers.PaperRow, dict[str, paper_numbers.PaperNumber]]] = {}
        for col in self.columns:
            for ref in col.paper:
                number = ref.numbers.get(col.main_metric)
                if number is not None:
                    rows.setdefault(ref.row.id, (ref.row, {}))[1][col.key] = number
        return list(rows.values())


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


def _metric_sort_key(metric: str) -> tuple[int, str]:
    return (METRIC_ORDER.index(metric) if metric in METRIC_ORDER else len(METRIC_ORDER), metric)


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
    values: dict[object, float]     # sample key -> per-sample outcome of the main metric
    statistic: str                  # "mean" | "median"
    # sample key -> video: several queries of one video (MSVD captions) are resampled together
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


def _number(row: dict, key: str) -> float:
    """A side-file field as a float; ValueError naming the field for anything but a JSON number."""
    value = row[key]
    if isinstance(value, (int, float)):     # bool included: true/false read as 1/0
        try:
            return float(value)
        except OverflowError:
            pass
    raise ValueError(f"field {key!r} holds {_quote(value, 40)}, not a number")


def _sample_keys(rows: list[dict]) -> list[object]:
    """A key per line that names its sample (every id-like field it has), so two models' lines pair up;
    repeated keys (the same caption twice) are told apart by their occurrence number; no ids: line order."""
    present = [k for k in SAMPLE_ID_KEYS if rows and all(k in r for r in rows)]
    if not present:
        return list(range(len(rows)))
    seen: Counter = Counter()
    keys: list[object] = []
    for r in rows:
        base = json.dumps([r[k] for k in present], sort_keys=True, default=str)
        keys.append((base, seen[base]))
        seen[base] += 1
    return keys


def _rows_for_metric(rows: list[dict], metric: str) -> list[dict]:
    """Retrieval side files mix directions (field "direction"): keep the metric's direction (t2v default)."""
    if not any("direction" in r for r in rows):
        return rows
    direction = metric.rpartition("_")[0] or "t2v"
    return [r for r in rows if r.get("direction") == direction]


def _candidates(rows: list[dict], metric: str) -> list[tuple[list[dict], np.ndarray, str]]:
    """Possible per-sample readings of ``metric``: (rows used, outcomes, statistic).

    Understood fields: ``correct_<metric>`` / ``correct`` (0/1), ``label`` + ``pred`` (class or top-k list),
    ``<direction>_rank`` / ``rank`` / ``first_rank`` (negative = no positive: query left out), ``ap``."""
    direction, _, base = metric.rpartition("_")
    out: list[tuple[list[dict], np.ndarray, str]] = []

    def have(key: str) -> bool:
        return bool(rows) and all(key in r for r in rows)

    for key in (f"correct_{base}", f"correct_{metric}", "correct"):
        if have(key) and not lower_is_better(base):
            out.append((rows, 100.0 * np.asarray([_number(r, key) for r in rows]), "mean"))
    if base in ("top1", "top5") and have("label") and have("pred"):
        k = int(base[3:])

        def hit(r: dict) -> float:
            pred = r["pred"] if isinstance(r["pred"], list) else [r["pred"]]
            # ``in`` compares with ==: any JSON label and predictions compare without raising
            return float(r["label"] in pred[:k])
        out.append((rows, 100.0 * np.asarray([hit(r) for r in rows]), "mean"))
    if base == "mAP" and have("ap"):
        used = [r for r in rows if r["ap"] is not None]
        ap = np.asarray([_number(r, "ap") for r in used])
        out += [(used, 100.0 * ap, "mean"), (used, ap, "mean")]
    for key in (f"{direction}_rank" if direction else "", "rank", "first_rank"):
        if not key or not have(key):
            continue
        used = [r for r in rows if r[key] is not None and _number(r, key) >= 0]
        ranks = np.asarray([_number(r, key) for r in used])
        # 0-based ranks (REFERENCE 3) first; 1-based as a fallback. The caller keeps the reading that
        # reproduces the recorded metric.
        for offset in (0.0, 1.0):
            r0 = ranks - offset
            if base.startswith("R@") and base[2:].isdigit():
                out.append((used, 100.0 * (r0 < int(base[2:])), "mean"))
            elif base in ("top1", "top5"):
                out.append((used, 100.0 * (r0 < int(base[3:])), "mean"))
            elif base == "MedR":
                out.append((used, r0 + 1.0, "median"))
            elif base == "MeanR":
                out.append((used, r0 + 1.0, "mean"))
    return out


def _outcomes_for_metric(rows: list[dict], metric: str, recorded: float
                         ) -> tuple[list[dict], np.ndarray, str] | None:
    """Per-sample outcomes whose statistic reproduces ``recorded``, or None if the file cannot."""
    for used, values, statistic in _candidates(_rows_for_metric(rows, metric), metric):
        if not len(values):
            continue
        stat = float(np.mean(values) if statistic == "mean" else np.median(values))
        if abs(stat - recorded) <= SIDE_FILE_TOLERANCE:
            return used, values, statistic
    return None


def cell_outcomes(cell: Cell, metric: str, warnings: list[str]) -> SampleOutcomes | None:
    """Per-sample outcomes of ``metric`` for a cell, averaged over seeds on the samples all seeds share."""
    per_seed: list[dict[object, float]] = []
    clusters: dict[object, str] = {}
    statistic = "mean"
    for r in cell.results:
        if not r.record.per_sample_file or metric not in r.record.metrics:
            return None
        try:
            side = r.side_path
        except UnsafeSideFile as e:
            warnings.append(f"{r.path}: {e}; comparisons for this model use interval overlap")
            return None
        if side is None:
            return None
        if not side.is_file():
            warnings.append(f"{r.path}: per_sample_file {_quote(r.record.per_sample_file)} not found; "
                            f"comparisons for this model use interval overlap")
            return None
        try:
            rows = _read_jsonl(side)
        except OSError as e:
            warnings.append(f"{side}: cannot read side file ({e.strerror or e}); comparisons use interval overlap")
            return None
        except ValueError as e:
            warnings.append(f"{side}: cannot read side file ({e}); comparisons use interval overlap")
            return None
        try:
            found = _outcomes_for_metric(rows, metric, r.record.metrics[metric].value)
            keys = _sample_keys(found[0]) if found is not None else []
        except (ValueError, TypeError, OverflowError, RecursionError) as e:
            # TypeError etc.: a field of an unexpected JSON type that _number does not guard
            problem = str(e) if isinstance(e, ValueError) else f"unexpected field types: {e}"
            warnings.append(f"{side}: cannot use side file ({problem}); comparisons use interval overlap")
            return None
        if found is None:
            warnings.append(f"{side}: its per-sample fields do not reproduce {metric} = "
                            f"{r.record.metrics[metric].value:g}; comparisons use interval overlap")
            return None
        used, values, statistic = found
        per_seed.append(dict(zip(keys, values.tolist())))
        videos = [str(row.get("video_id")) for row in used]
        if all("video_id" in row for row in used) and len(set(videos)) < len(videos):
            clusters.update(zip(keys, videos))
    if not per_seed:
        return None
    common = set(per_seed[0]).intersection(*per_seed[1:])
    return SampleOutcomes({k: float(np.mean([s[k] for s in per_seed])) for k in common}, statistic,
                          {k: clusters[k] for k in common} if clusters and all(k in clusters for k in common)
                          else None)


def _intervals_overlap(a: Agg, b: Agg) -> bool:
    return not (a.ci_high < b.ci_low or b.ci_high < a.ci_low)  # type: ignore[operator]


def compare(best: Cell, other: Cell, metric: str, warnings: list[str], *, seed: int = 0,
            cache: dict[int, SampleOutcomes | None] | None = None) -> Separation:
    """Can ``other`` be told apart from ``best`` on ``metric``? Paired bootstrap, else interval overlap.

    ``cache`` (keyed by ``id(cell)``) keeps each cell's side files from being read more than once."""
    cache = {} if cache is None else cache
    for cell in (best, other):
        if id(cell) not in cache:
            cache[id(cell)] = cell_outcomes(cell, metric, warnings)
    a, b = cache[id(best)], cache[id(other)]
    why_not_paired = "no usable side files for both models"
    if a is not None and b is not None:
        common = sorted(set(a.values) & set(b.values), key=str)
        if a.statistic == b.statistic and len(common) >= 0.9 * max(len(a.values), len(b.values)) and common:
            clusters = (np.array([a.clusters[k] for k in common])
                        if a.clusters is not None and all(k in a.clusters for k in common) else None)
            test = paired_bootstrap(np.array([a.values[k] for k in common]), np.array([b.values[k] for k in common]),
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


def _column_order(col: Column) -> tuple:
    def idx(seq: tuple[str, ...], x: str) -> int:
        return seq.index(x) if x in seq else len(seq)
    return (col.source == "builtin", idx(DATASET_ORDER, col.dataset), col.dataset,
            idx(PROTOCOL_ORDER, col.protocol), col.task)


def build_columns(results: Iterable[LoadedResult], warnings: list[str]) -> list[Column]:
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
    for (task, source), cells in by_column.items():
        first = cells[0].results[0].record.task
        key = column_key(task, source)
        mains = Counter(r.record.task.main_metric for c in cells for r in c.results)
        main = mains.most_common(1)[0][0]
        notes: list[str] = []
        if len(mains) > 1:
            notes.append(f"result files name different main metrics ({', '.join(sorted(mains))}); using {main}")
        for c in cells:
            if main not in c.metrics:
                warnings.append(f"model {c.model!r} on {key}: no {main!r} metric; shown without a main value")
        names = sorted({m for c in cells for m in c.metrics}, key=_metric_sort_key)
        names = [main] + [m for m in names if m != main]
        lower = lower_is_better(main)
        # a NaN main value (e.g. no valid query) cannot be ranked: such cells go last, unranked
        scored = [c for c in cells if main in c.metrics and math.isfinite(c.metrics[main].value)]
        scored.sort(key=lambda c: c.metrics[main].value, reverse=not lower)
        cells = scored + [c for c in cells if c not in scored]
        if len({c.results[-1].record.data.manifest_hash for c in cells}) > 1:
            notes.append("models were evaluated on different copies of the data (manifest hashes differ): "
                         "compare with care")
        if len({c.results[-1].record.task.hash for c in cells}) > 1:
            notes.append("models were evaluated with different protocol parameters (task hashes differ): "
                         "compare with care")
        if scored:
            best = scored[0]
            best.is_best = True
            cache: dict[int, SampleOutcomes | None] = {}
            for other in scored[1:]:
                other.separation = compare(best, other, main, warnings, cache=cache)
        col = Column(key, task, first.dataset, first.protocol, source, main, names, cells, notes=notes)
        if source == "real":   # the paper measured on the real datasets only
            col.paper = _paper_refs(task, names)
            for ref in col.paper:
                ref.models = [c.model for c in cells if c.paper_row is not None and c.paper_row.id == ref.row.id]
            # rows that correspond to a measured model first, then the paper's order
            col.paper.sort(key=lambda ref: not ref.models)
        columns.append(col)
    columns.sort(key=_column_order)
    return columns


def build_leaderboard(results_dir: Path | str) -> Leaderboard:
    """Load, validate and aggregate every result file under ``results_dir``."""
    results_dir = Path(results_dir)
    loaded, warnings = load_results(results_dir)
    columns = build_columns(loaded, warnings)
    warnings = list(dict.fromkeys(warnings))    # one line per problem, first-seen order
    models = sorted({c.model for col in columns for c in col.cells}, key=lambda m: (m.lower(), m))
    return Leaderboard(results_dir, columns, models, warnings, len(loaded),
                       datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


# ---------------------------------------------------------------------------------------- long format

LONG_FIELDS = ("model", "task", "source", "metric", "value", "ci_low", "ci_high", "n_seeds")


def long_rows(lb: Leaderboard, *, include_paper: bool = True) -> list[dict]:
    """One row per (model, task, source, metric); diagnostics as ``<variant>:<metric>``; paper rows
    with source ``paper``."""
    rows: list[dict] = []
    for col in lb.columns:
        for cell in col.cells:
            items = [(m, a) for m, a in cell.metrics.items()]
            for variant in col.variants:
                items += [(f"{variant}:{m}", a) for m, a in sorted(cell.diagnostics.get(variant, {}).items(),
                                                                   key=lambda x: _metric_sort_key(x[0]))]
            for metric, agg in items:
                rows.append({"model": cell.model, "task": col.task, "source": col.source, "metric": metric,
                             "value": agg.value, "ci_low": agg.ci_low, "ci_high": agg.ci_high,
                             "n_seeds": agg.n_seeds})
        if include_paper:
            for ref in col.paper:
                for metric, number in ref.numbers.items():
                    rows.append({"model": f"paper (reported): {ref.row.label}", "task": col.task,
                                 "source": "paper", "metric": metric, "value": number.value,
                                 "ci_low": None, "ci_high": None, "n_seeds": None})
    return rows
