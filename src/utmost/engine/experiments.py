"""PLACEHOLDER until the experiments branch lands: holdout tests and their estimates."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Experiment:
    properties: tuple[str, ...]
    key: tuple[str, ...]
    start: dt.date
    end: dt.date
    test_persons: int
    test_conversions: int
    control_persons: int
    control_conversions: int


@dataclass(frozen=True)
class Lift:
    estimate: float
    standard_error: float
    low: float
    high: float


def lift(e: Experiment) -> Lift:
    pt, pc = e.test_conversions / e.test_persons, e.control_conversions / e.control_persons
    se = e.test_persons * math.sqrt(pt * (1 - pt) / e.test_persons + pc * (1 - pc) / e.control_persons)
    est = (pt - pc) * e.test_persons
    return Lift(est, se, est - 1.96 * se, est + 1.96 * se)


def matching(experiments: list[Experiment], by: list[str]) -> list[Experiment]:
    return [e for e in experiments if list(e.properties) == by]
