"""How ``incremental`` splits the conversions, and how holdout tests move that split
(docs/semantics.md §18, "Experiments").

EM's responsibilities split each conversion between the baseline and the keys that touched it
(:class:`Shares`). A holdout test measures what a key caused, seen or not; where it says more or
less than the model, the difference moves between the key and the baseline over the test's
days (:func:`calibrate`). The bootstrap's rounds (:func:`rounds`) give the model's own
uncertainty beside a test's, and the answer's intervals.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from utmost.engine import uncertainty
from utmost.engine.experiments import Experiment, lift
from utmost.engine.queries import KEY_SEPARATOR
from utmost.models import incremental as hazard

DAY_US = 86_400_000_000
#: Bootstrap rounds that give the model's own uncertainty beside a test's, when no --ci asks for more.
CALIBRATION_ROUNDS = 50
#: A test outside the model's 95% interval is said to disagree with it.
Z95 = 1.959963984540054


@dataclass
class Shares:
    """How the conversions are split: each conversion's baseline share, and each (conversion,
    key) pair's share; EM's responsibilities, then moved by tests."""

    baseline: np.ndarray
    pairs: np.ndarray
    #: Per key, per conversion: the baseline's shares a test gave the key. A conversion the key
    #: caused need not follow a touch of it: an ad seen and not clicked leaves no event.
    moved: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, fitted: hazard.Fit) -> Shares:
        return cls(fitted.baseline_share.copy(), fitted.pair_share.copy())

    def caused(self, data: hazard.PersonTime, weights: np.ndarray | None = None) -> np.ndarray:
        """Per key: the sum of its shares, each conversion weighted by ``weights`` (e.g. revenue)."""
        share = self.pairs if weights is None else self.pairs * weights[data.pair_conversion]
        out = np.bincount(data.pair_key, share, minlength=len(data.keys))
        for key, extra in self.moved.items():
            out[key] += float(extra.sum() if weights is None else extra @ weights)
        return out

    def in_days(self, data: hazard.PersonTime, key: int | None, days: np.ndarray,
                weights: np.ndarray | None = None) -> float:
        """The key's shares of the conversions in ``days`` (a mask over the conversions)."""
        if key is None:
            return 0.0
        chosen = (data.pair_key == key) & days[data.pair_conversion]
        share = self.pairs[chosen] if weights is None else self.pairs[chosen] * weights[data.pair_conversion[chosen]]
        extra = self.moved.get(key)
        if extra is not None:
            share = np.append(share, (extra * days) if weights is None else extra * days * weights)
        return float(share.sum())


Rounds = Callable[[], Iterator[tuple[np.ndarray, Shares]]]


def rounds(data: hazard.PersonTime, fitted: hazard.Fit, count: int, seed: int) -> Rounds:
    """The bootstrap's rounds, replayable: persons resampled with replacement (docs/semantics.md
    §11), EM refitted each round from the full fit; each round gives its conversions' weights
    (how often their person was drawn) and its shares. Nothing is kept between two replays, so
    memory does not grow with the rounds; the same seed gives the same rounds each time."""
    def replay() -> Iterator[tuple[np.ndarray, Shares]]:
        for batch in uncertainty.resample(data.persons, count, seed):
            for person_weights in batch:
                fit = hazard.fit(data, person_weights=person_weights, start=fitted, tolerance=1e-5)
                yield person_weights[data.conversion_person], Shares.of(fit)
    return replay


@dataclass(frozen=True)
class Move:
    """What a test moved: ``amount`` conversions of the days in ``days`` (a mask over the
    conversions) from the baseline to ``key``, or back when negative; and how the pooled
    estimate was made, to make it again in each bootstrap round (:meth:`in_round`)."""

    key: int | None
    days: np.ndarray
    amount: float
    test: float = 0.0  # the test's estimate
    test_error: float = 0.0  # its standard error
    model_weight: float = 1.0  # the model's weight in the pooled estimate; 1: the test is not used

    def in_round(self, data: hazard.PersonTime, shares: Shares, weights: np.ndarray,
                 rng: np.random.Generator) -> float:
        """The move in one bootstrap round: the pooled estimate made again from the round's own
        model estimate and the test's estimate drawn again from its normal interval, so that the
        interval holds both uncertainties."""
        if self.key is None or self.model_weight == 1.0:
            return 0.0
        model = shares.in_days(data, self.key, self.days, weights)
        test = self.test + rng.normal(0.0, self.test_error) if self.test_error else self.test
        pooled = max(self.model_weight * model + (1 - self.model_weight) * test, 0.0)
        return Move(self.key, self.days, pooled - model).apply(data, shares)

    def apply(self, data: hazard.PersonTime, shares: Shares) -> float:
        """Move it in ``shares``, in proportion to each conversion's share; returns what moved
        (no share goes below 0, and no more than the baseline or the key holds)."""
        key, days, amount = self.key, self.days, self.amount
        if key is None or not amount:
            return 0.0
        if amount > 0:
            available = float(shares.baseline[days].sum())
            amount = min(amount, available)
            if amount <= 0:
                return 0.0
            taken = shares.baseline * days * (amount / available)
            shares.baseline -= taken
            shares.moved[key] = shares.moved.get(key, 0) + taken
            return amount
        chosen = (data.pair_key == key) & days[data.pair_conversion]
        held = float(shares.pairs[chosen].sum())
        amount = max(amount, -held)
        if held <= 0 or amount >= 0:
            return 0.0
        given = shares.pairs * chosen * (-amount / held)
        shares.pairs -= given
        shares.baseline += np.bincount(data.pair_conversion, given, minlength=len(days))
        return amount


def calibrate(data: hazard.PersonTime, shares: Shares, times: np.ndarray, tested: list[Experiment],
              replay: Rounds) -> tuple[list[dict[str, Any]], list[Move]]:
    """Each test on one of the question's keys moves that key's credit toward what the test
    measured, in place (``times``: each conversion's, in µs); returns what each test says and
    did.

    Both estimates are of one quantity: the conversions the key caused over the test's days.
    The model's is the key's shares of the conversions in those days; its variance is the
    bootstrap's plus τ², the model's error beyond chance as the tests themselves show it:
    τ² = max(0, mean over the tests of (difference² − both variances)), a random-effects method
    of moments. The two are pooled by precision (1 / variance), so a test counts for little
    beside a model it agrees with, and for nearly everything beside one the tests keep
    contradicting. A test with fewer than 10 converting or 10 non-converting persons in a group
    is shown beside the model but not used: its normal interval is not to be trusted.
    """
    index = {k: i for i, k in enumerate(data.keys)}
    found = []
    for experiment in tested:
        first = micros(dt.datetime.combine(experiment.start, dt.time()))
        last = micros(dt.datetime.combine(experiment.end, dt.time())) + DAY_US
        key = index.get(KEY_SEPARATOR.join(experiment.key))
        found.append((experiment, lift(experiment), key, (times >= first) & (times < last)))
    spreads: list[list[float]] = [[] for _ in found]
    for weights, round_shares in replay():
        for spread, (_, _, key, days) in zip(spreads, found, strict=True):
            spread.append(round_shares.in_days(data, key, days, weights))
    models = [shares.in_days(data, key, days) for _, _, key, days in found]
    variances = [float(np.var(spread, ddof=1)) if len(spread) > 1 else 0.0 for spread in spreads]
    used = [(m, v, measured) for m, v, (_, measured, _, _) in zip(models, variances, found, strict=True)
            if measured.large_enough]
    beyond = max(0.0, float(np.mean([(t.incremental - m) ** 2 - v - t.standard_error ** 2 for m, v, t in used]))) \
        if used else 0.0
    checks, moves = [], []
    for (experiment, measured, key, days), model, model_variance in zip(found, models, variances, strict=True):
        variance, test_variance = model_variance + beyond, measured.standard_error ** 2
        if not measured.large_enough:
            model_weight = 1.0  # too few conversions in a group for its interval: shown, not used
        elif not test_variance:
            model_weight = 0.0
        elif not variance:
            model_weight = 1.0
        else:
            model_weight = (1 / variance) / (1 / variance + 1 / test_variance)
        calibrated = max(model_weight * model + (1 - model_weight) * measured.incremental, 0.0)
        moved = Move(key, days, calibrated - model, measured.incremental, measured.standard_error, model_weight)
        moved = dataclasses.replace(moved, amount=moved.apply(data, shares))
        moves.append(moved)
        checks.append({
            "key": list(experiment.key), "start": experiment.start.isoformat(), "end": experiment.end.isoformat(),
            "model": model, "model_standard_error": math.sqrt(model_variance),
            "model_error_beyond_chance": math.sqrt(beyond), "experiment": measured.incremental,
            "experiment_low": measured.low, "experiment_high": measured.high,
            "experiment_standard_error": measured.standard_error,
            "disagree": abs(model - measured.incremental) > Z95 * math.sqrt(model_variance + test_variance),
            "used": measured.large_enough, "calibrated": model + moved.amount,
        })
    return checks, moves


def micros(moment: dt.datetime) -> int:
    """A moment (naive: UTC) as microseconds since the epoch."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return int((aware - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) / dt.timedelta(microseconds=1))
