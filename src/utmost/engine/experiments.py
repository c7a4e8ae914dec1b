"""Holdout (lift) experiments: what each one estimates, and which of them a question's keys meet.

Pure arithmetic on :class:`~utmost.ingest.experiments.Experiment` (what a row of ``utmost
experiments import`` holds), no I/O. The formulas, and what they assume: docs/semantics.md §19.

>>> from datetime import date
>>> found = lift(Experiment(("utm_source",), ("google",), date(2026, 3, 1), date(2026, 3, 28),
...                         10_000, 300, 1_000, 20))
>>> found.incremental, round(found.standard_error, 4), found.relative_lift
(100.0, 47.4447, 0.5)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import Any

from utmost.errors import InputError
from utmost.ingest.experiments import Experiment

__all__ = ["ESTIMATE_COLUMNS", "LEVEL", "Experiment", "Lift", "estimates", "experiments_of", "lift", "matching"]

#: The level of an experiment's interval unless asked otherwise.
LEVEL = 0.95
#: Below this many converting persons, or this many who did not convert, in either group, the
#: normal approximation is not to be trusted (the usual rule of thumb: n·p ≥ 10 and n·(1 − p) ≥ 10).
LARGE_ENOUGH = 10
#: The columns of :func:`estimates`, in order: the experiment's, then what it estimates.
ESTIMATE_COLUMNS = (
    "properties", "key", "start", "end", "test_persons", "test_conversions", "control_persons",
    "control_conversions", "test_rate", "control_rate", "incremental", "standard_error", "incremental_low",
    "incremental_high", "relative_lift", "large_enough",
)


@dataclass(frozen=True)
class Lift:
    """What one experiment estimates (docs/semantics.md §19): the conversions the tested key
    caused in the test group, ``incremental`` = (p_t − p_c) × test_persons, its standard error,
    and its interval at ``level``; the two rates; the relative lift (p_t − p_c) / p_c (None when
    the control group has no conversions); and whether both groups are large enough for the
    normal approximation (:data:`LARGE_ENOUGH`)."""

    test_rate: float
    control_rate: float
    incremental: float
    standard_error: float
    low: float
    high: float
    relative_lift: float | None
    large_enough: bool
    level: float = LEVEL

    @property
    def precision(self) -> float:
        """1 / standard error²: the weight an estimate gets beside another of the same quantity
        (infinite when the standard error is 0, as it is when both groups' rates are 0 or 1)."""
        return 1 / self.standard_error**2 if self.standard_error else math.inf


def lift(experiment: Experiment, level: float = LEVEL) -> Lift:
    """The experiment's estimate of the conversions its key caused in its test group.

    With p_t = test_conversions / test_persons and p_c = control_conversions / control_persons:

    - incremental = (p_t − p_c) × test_persons;
    - standard error = test_persons × √(p_t(1 − p_t)/test_persons + p_c(1 − p_c)/control_persons),
      the normal approximation of the difference of two independent proportions;
    - interval = incremental ± z × standard error, z the normal quantile of (1 + level)/2.

    The estimate and the variance are computed in exact fractions and rounded once, so a hand
    computation meets them (300 − 20 × 10,000/1,000 is 100.0, not 99.99999999999997).
    """
    if not 0 < level < 1:
        raise InputError(f"level: {level} is not between 0 and 1 (e.g. 0.95)")
    n_t, c_t = experiment.test_persons, experiment.test_conversions
    n_c, c_c = experiment.control_persons, experiment.control_conversions
    p_t, p_c = Fraction(c_t, n_t), Fraction(c_c, n_c)
    incremental = (p_t - p_c) * n_t
    variance = n_t * p_t * (1 - p_t) + n_t**2 * p_c * (1 - p_c) / n_c
    error = math.sqrt(variance)
    z = NormalDist().inv_cdf((1 + level) / 2)
    middle = float(incremental)
    return Lift(
        test_rate=float(p_t),
        control_rate=float(p_c),
        incremental=middle,
        standard_error=error,
        low=middle - z * error,
        high=middle + z * error,
        relative_lift=float(p_t / p_c - 1) if p_c else None,
        large_enough=min(c_t, n_t - c_t, c_c, n_c - c_c) >= LARGE_ENOUGH,
        level=level,
    )


def matching(experiments: Iterable[Experiment], by: Sequence[str]) -> list[Experiment]:
    """The experiments whose key properties are the question's ``by``: the same names, in any
    order, each given back in ``by``'s order (``properties`` is ``by``, ``key`` its values in
    that order), so that its key reads as the question's key fields. An experiment keyed by
    more or fewer properties than ``by`` does not match (it tested another key)."""
    wanted = tuple(by)
    found = []
    for experiment in experiments:
        if len(experiment.properties) == len(wanted) and set(experiment.properties) == set(wanted):
            values = dict(zip(experiment.properties, experiment.key))
            found.append(dataclasses.replace(experiment, properties=wanted, key=tuple(values[p] for p in wanted)))
    return found


def experiments_of(rows: Iterable[Mapping[str, Any]]) -> list[Experiment]:
    """The experiments of stored rows (``Store.experiments(project).to_pylist()``)."""
    return [Experiment(tuple(row["properties"]), tuple(row["key"]), row["start"], row["end"], row["test_persons"],
                       row["test_conversions"], row["control_persons"], row["control_conversions"])
            for row in rows]


def estimates(experiments: Iterable[Experiment], level: float = LEVEL) -> list[dict[str, Any]]:
    """Each experiment with what it estimates, as rows of :data:`ESTIMATE_COLUMNS` (what
    ``utmost experiments show --format json`` prints)."""
    found = []
    for experiment in experiments:
        estimate = lift(experiment, level)
        found.append({
            "properties": list(experiment.properties), "key": list(experiment.key),
            "start": experiment.start, "end": experiment.end,
            "test_persons": experiment.test_persons, "test_conversions": experiment.test_conversions,
            "control_persons": experiment.control_persons, "control_conversions": experiment.control_conversions,
            "test_rate": estimate.test_rate, "control_rate": estimate.control_rate,
            "incremental": estimate.incremental, "standard_error": estimate.standard_error,
            "incremental_low": estimate.low, "incremental_high": estimate.high,
            "relative_lift": estimate.relative_lift, "large_enough": estimate.large_enough,
        })
    return found

