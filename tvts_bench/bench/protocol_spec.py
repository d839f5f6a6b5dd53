"""What a protocol declares: its name, what it needs, its typed parameters and its metrics.

Each protocol declares ``SPEC = ProtocolSpec(...)`` in a torch-free part of its own,
``protocols/<module>_spec.py``, beside the computation in ``protocols/<module>.py`` (imported only when
the protocol runs). Whatever must know a protocol without running it reads the spec: task cards and
``--task-param`` (valid parameters and their only defaults, valid metric names), the runner (does it
train the model, does it need the model's text tower), the per-sample side files (one outcome per
declared metric, ``bench/sample_rows.py``) and the report (which way a metric is better, and how its
per-sample outcomes make it). Nothing anywhere infers a metric's direction from its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

import numpy as np
from pydantic import BaseModel

from .protocol_params import validate_params

StatisticKind = Literal["percent", "mean", "median"]
K_FIELD = "{k}"


@dataclass(frozen=True)
class MetricSpec:
    """One metric, or a family of them: a name with ``{k}`` (``R@{k}``) is one metric per k of the
    protocol's ``k_param`` (``R@1``, ``R@5``, ...)."""

    name: str
    higher_is_better: bool
    statistic: StatisticKind        # how per-sample outcomes make the metric (bench.stats.STATISTICS)
    outcome: str = ""               # what one per-sample outcome is, for the docs

    @property
    def _pattern(self) -> re.Pattern:
        head, _, tail = self.name.partition(K_FIELD)
        body = re.escape(head) + ("([1-9][0-9]*)" + re.escape(tail) if K_FIELD in self.name else "")
        return re.compile(body)

    def matches(self, name: str) -> bool:
        return self._pattern.fullmatch(name) is not None

    def k_of(self, name: str) -> int | None:
        """The k a family member names (``R@5`` -> 5); None for a plain metric or a non-member."""
        m = self._pattern.fullmatch(name)
        return int(m.group(1)) if m and m.groups() else None

    def names(self, ks: Sequence[int] = ()) -> list[str]:
        return [self.name.replace(K_FIELD, str(k)) for k in ks] if K_FIELD in self.name else [self.name]

    def value(self, outcomes: np.ndarray) -> float:
        """The metric of these per-sample outcomes (the protocols' and the report's one definition)."""
        from .stats import statistic_of

        x = np.asarray(outcomes, dtype=np.float64)
        return float(statistic_of(self.statistic)(x[None, :])[0]) if x.size else float("nan")


@dataclass(frozen=True)
class ProtocolSpec:
    name: str                       # the task card's ``protocol:`` key, e.g. "ret-ft"
    module: str                     # protocols/<module>.py holds ``run(ctx) -> ProtocolOutput``
    trains: bool                    # changes the model's weights (the runner snapshots and restores them)
    needs_text: bool                # needs the model's own text tower (else the task is n/a for the model)
    params: type[BaseModel]         # typed parameters, extra="forbid", holding the only defaults
    metrics: tuple[MetricSpec, ...]
    k_param: str | None = None      # the parameter (a list of ints) whose values expand ``{k}`` families

    def parameters(self, params: Mapping[str, Any]) -> BaseModel:
        """``params`` validated against the protocol's model (defaults filled); ValueError naming every
        problem and, for an unknown key, the valid ones."""
        return validate_params(self.params, self.name, dict(params))

    def metric_names(self, params: Mapping[str, Any] | BaseModel | None = None) -> list[str]:
        """Every metric the protocol computes under ``params`` (defaults when None), in declared order."""
        typed = params if isinstance(params, BaseModel) else self.parameters(params or {})
        ks = getattr(typed, self.k_param) if self.k_param else ()
        ks = ks if isinstance(ks, (list, tuple)) else [ks]
        return list(dict.fromkeys(n for m in self.metrics for n in m.names(sorted(set(ks)))))

    def metric(self, name: str) -> MetricSpec | None:
        """The declaration ``name`` belongs to (a plain metric or a ``{k}`` family member), or None."""
        return next((m for m in self.metrics if m.matches(name)), None)

    def sort_key(self, name: str) -> tuple:
        """Declared order, then k (``R@5`` before ``R@10``); undeclared names last, by name."""
        for i, m in enumerate(self.metrics):
            if m.matches(name):
                return (i, m.k_of(name) or 0, name)
        return (len(self.metrics), 0, name)


def percent(name: str, outcome: str) -> MetricSpec:
    """A percentage of per-sample outcomes in [0, 1] (accuracy, recall, mean AP): higher is better."""
    return MetricSpec(name, True, "percent", outcome)


def accuracy_metrics(outcome: str, ks: Sequence[int] = (1, 5), suffix: str = "") -> tuple[MetricSpec, ...]:
    """top-k classification accuracy; ``outcome`` says how the class scores come about."""
    return tuple(percent(f"top{k}{suffix}", f"expected hit, the label among the {k} highest {outcome} "
                                             "(ties by expectation)") for k in ks)


def rank_metrics(prefix: str, ks: Sequence[int], query: str) -> tuple[MetricSpec, ...]:
    """R@K for each k, MedR and MeanR of one retrieval direction; outcomes per query: the expected hit
    and the expected 1-based rank of the ground truth (ties by expected rank)."""
    hits = tuple(percent(f"{prefix}R@{k}", f"{query}: expected hit, the ground truth in the top {k}")
                 for k in ks)
    rank = f"{query}: expected 1-based rank of the ground truth"
    return hits + (MetricSpec(f"{prefix}MedR", False, "median", rank),
                   MetricSpec(f"{prefix}MeanR", False, "mean", rank))
