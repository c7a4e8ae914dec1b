"""``incremental``: the conversions each key caused, by an additive hazard over person-time.

Click-path models split each conversion over the touchpoints before it, so a channel that
reaches people about to buy anyway is credited in full. This model asks a different question
of the same events: how much more often do persons convert in the days after a touch than
persons and times without one? (docs/semantics.md §18 has the derivation and its assumptions.)

Each person converts as a Poisson process whose rate is a sum of non-negative parts::

    rate(t) = base[s(t)] + Σ over the person's touches k before t:  Σ_h effect[key(k), h] · 2^(−lag/h)

``s(t)`` is how many times the person converted before t (0, 1, 2 or more: history raises
demand), ``lag`` the days since the touch, counted only from ``min_lag`` on (a touch minutes
before a conversion may have been caused by it: a brand search by someone about to buy), and
the half-lives ``h`` a fixed ladder, so each key's decay is any mixture of them. The rates are
the maximum of the Poisson likelihood, found by EM: every conversion is split over the parts
of its rate in proportion to their size (its *responsibilities*), each part's rate is the
share it took over the exposure it had, and the two steps repeat. The likelihood rises at every
step and the rates stay non-negative. A key's incremental conversions are the sum of its
responsibilities; the baseline's are the rest, so they add up to the conversions observed.

Pure numpy over arrays the engine builds; no events, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: The half-lives (days) whose mixtures make a key's decay: from a day to a month.
HALF_LIVES = (1.0, 4.0, 16.0)
#: Strata of history: no conversion before, one, two or more ...
HISTORY = 3
#: ... for persons never reached by any key, then for persons reached (docs/semantics.md §18).
STRATA = 2 * HISTORY
#: EM stops when no part's share of the conversions moves by more than this, or after MAX_ITERATIONS.
TOLERANCE = 1e-7
MAX_ITERATIONS = 3000


@dataclass(frozen=True)
class PersonTime:
    """Everything the model reads, as arrays. Persons are numbered 0..persons-1, keys 0..K-1.

    - baseline exposure: rows (``base_person``, ``base_stratum``, ``base_days``): days each person
      spent in the window in each stratum of history;
    - touch exposure: rows (``touch_person``, ``touch_key``, ``touch_days``): per person and key,
      Σ over its touches of ∫ 2^(−lag/h) over the part of [min_lag, lookback] inside the window,
      one column per half-life;
    - conversions in the window: ``conversion_person``, ``conversion_stratum``;
    - pairs: each key a conversion could owe something to (``pair_conversion``, ``pair_key``), and
      ``pair_kernel``: Σ over that key's touches with min_lag ≤ lag ≤ lookback of 2^(−lag/h), one
      column per half-life (see :func:`kernel`). One row per conversion and key, not per touch:
      the key's effects multiply the sum, so EM needs no more.
    """

    persons: int
    keys: tuple[str, ...]
    base_person: np.ndarray
    base_stratum: np.ndarray
    base_days: np.ndarray
    touch_person: np.ndarray
    touch_key: np.ndarray
    touch_days: np.ndarray  # (rows, len(HALF_LIVES))
    conversion_person: np.ndarray
    conversion_stratum: np.ndarray
    pair_conversion: np.ndarray
    pair_key: np.ndarray
    pair_kernel: np.ndarray  # (pairs, len(HALF_LIVES))


def kernel(lag_days: np.ndarray) -> np.ndarray:
    """2^(−lag/h) for each lag (days), one column per half-life."""
    return np.exp2(-np.asarray(lag_days, dtype=float)[:, None] / np.asarray(HALF_LIVES)[None, :])


@dataclass(frozen=True)
class Fit:
    """The fitted rates and how they split the conversions.

    ``baseline_share[n]``: conversion n's responsibility left to the baseline;
    ``pair_share[i]``: the part of pair i's conversion its touch caused (all half-lives together).
    """

    base: np.ndarray  # (STRATA,) conversions per person-day
    effects: np.ndarray  # (K, len(HALF_LIVES)) conversions per day at lag 0, per touch
    baseline_share: np.ndarray
    pair_share: np.ndarray
    iterations: int
    log_likelihood: float

    def caused(self, data: PersonTime, weights: np.ndarray | None = None) -> np.ndarray:
        """Conversions caused per key (weighted by each conversion's ``weights``)."""
        share = self.pair_share if weights is None else self.pair_share * weights[data.pair_conversion]
        return np.bincount(data.pair_key, share, minlength=len(data.keys))

    def per_touch(self) -> np.ndarray:
        """Conversions one touch of each key causes over all time: Σ_h effect · h / ln 2."""
        return self.effects @ (np.asarray(HALF_LIVES) / math.log(2))


def fit(data: PersonTime, person_weights: np.ndarray | None = None, start: Fit | None = None,
        tolerance: float = TOLERANCE) -> Fit:
    """The maximum-likelihood rates, by EM accelerated with SQUAREM.

    ``person_weights`` (a bootstrap round's count of each person) weighs every row of a person.
    ``start`` warms EM up from an earlier fit.

    Plain EM crawls near the maximum (hundreds of steps at 10M events). SQUAREM (Varadhan &
    Roland, 2008) takes two EM steps, extrapolates along them, and keeps the result only if the
    likelihood did not fall; EM's guarantees hold and the steps fall to a few dozen.
    """
    h = len(HALF_LIVES)
    k = len(data.keys)
    w_person = np.ones(data.persons) if person_weights is None else np.asarray(person_weights, dtype=float)
    w_conv = w_person[data.conversion_person]
    base_exposure = np.bincount(data.base_stratum, data.base_days * w_person[data.base_person], minlength=STRATA)
    touch_exposure = np.zeros((k, h))
    for column in range(h):
        touch_exposure[:, column] = np.bincount(
            data.touch_key, data.touch_days[:, column] * w_person[data.touch_person], minlength=k)
    exposure = np.concatenate([base_exposure, touch_exposure.ravel()])
    kernel = data.pair_kernel
    total = max(float(w_conv.sum()), 1e-12)

    def parts(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each conversion's baseline part, each pair's parts, and each conversion's rate."""
        baseline_part = theta[:STRATA][data.conversion_stratum]
        pair_part = kernel * theta[STRATA:].reshape(k, h)[data.pair_key]
        rate = baseline_part + np.bincount(data.pair_conversion, pair_part.sum(axis=1), minlength=len(w_conv))
        return baseline_part, pair_part, rate

    def step(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One EM step: the new rates, and each part's responsibility (conversions)."""
        baseline_part, pair_part, rate = parts(theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse = np.where(rate > 0, w_conv / rate, 0.0)
        base_resp = np.bincount(data.conversion_stratum, baseline_part * inverse, minlength=STRATA)
        pair_resp = pair_part * inverse[data.pair_conversion][:, None]
        key_resp = np.stack([np.bincount(data.pair_key, pair_resp[:, c], minlength=k) for c in range(h)], axis=1)
        responsibility = np.concatenate([base_resp, key_resp.ravel()])
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(exposure > 0, responsibility / exposure, 0.0), responsibility

    def likelihood(theta: np.ndarray, rate: np.ndarray | None = None) -> float:
        """The log-likelihood at ``theta`` (whose conversion rates are ``rate``, when known)."""
        rate = parts(theta)[2] if rate is None else rate
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(rate > 0, np.log(np.where(rate > 0, rate, 1.0)), -np.inf)
        return float(w_conv[w_conv > 0] @ logs[w_conv > 0] - theta @ exposure)

    def shares(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each conversion's baseline share, each pair's share, each conversion's rate."""
        baseline_part, pair_part, rate = parts(theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse = np.where(rate > 0, 1.0 / rate, 0.0)
        return (np.where(rate > 0, baseline_part * inverse, 1.0), pair_part.sum(axis=1) * inverse[data.pair_conversion],
                rate)

    if start is not None:
        theta = np.concatenate([start.base, start.effects.ravel()])
    else:
        # Start from the rate of the whole, half to the baseline, half spread over the touches.
        spread = float(touch_exposure.sum())
        theta = np.concatenate([
            np.full(STRATA, 0.5 * total / float(base_exposure.sum()) if base_exposure.sum() else 0.0),
            np.where(touch_exposure > 0, 0.5 * total / max(spread, 1e-12) / h, 0.0).ravel()])
    done = 0
    for _ in range(MAX_ITERATIONS // 3):
        first, _ = step(theta)
        second, _ = step(first)
        done += 2
        r, v = first - theta, second - 2 * first + theta
        if np.abs(r * exposure).max() / total < tolerance:
            theta = first
            break
        alpha = -math.sqrt(float(r @ r) / float(v @ v)) if float(v @ v) > 0 else -1.0
        alpha = min(alpha, -1.0)
        jumped = np.maximum(theta - 2 * alpha * r + alpha * alpha * v, 0.0)
        jumped, _ = step(jumped)
        done += 1
        theta = jumped if likelihood(jumped) >= likelihood(second) else second
    baseline_share, pair_share, rate = shares(theta)
    # EM only approaches a zero effect; a key that explains less than the tolerance explains nothing.
    negligible = np.bincount(data.pair_key, pair_share * w_conv[data.pair_conversion], minlength=k) < tolerance * total
    if negligible.any():
        theta = theta.copy()
        theta[STRATA:].reshape(k, h)[negligible] = 0.0
        baseline_share, pair_share, rate = shares(theta)
    base, effects = theta[:STRATA].copy(), theta[STRATA:].reshape(k, h).copy()
    return Fit(base, effects, baseline_share, pair_share, done, likelihood(theta, rate))
