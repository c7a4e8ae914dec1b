"""``shapley``: each conversion's 1 split by the Shapley values of its channel set.

The game is the conversion rate of journeys whose channel set is exactly T (docs/semantics.md §10). Exact
for up to 16 keys, by the subset-sum form φᵢ = Σ_{T ∌ i} |T|!(n−|T|−1)!/n! · (v(T∪i) − v(T))
over bitmasks, vectorised — never a loop over permutations; Monte-Carlo with a fixed seed
beyond. Negative values are clipped, the rest normalised; all zero means equal shares.
"""

from __future__ import annotations

import math

import numpy as np

from utmost.models.journeys import Journeys

EXACT_UP_TO = 16
PERMUTATIONS = 4096
SEED = 20261128


def conversion_rates(journeys: Journeys) -> dict[frozenset[str], float]:
    """cr(S): converting ÷ all journeys whose channel set is exactly S."""
    converted: dict[frozenset[str], float] = {}
    total: dict[frozenset[str], float] = {}
    for path, c, lost in zip(journeys.paths, journeys.conversions, journeys.non_conversions):
        channels = frozenset(path)
        converted[channels] = converted.get(channels, 0) + c
        total[channels] = total.get(channels, 0) + c + lost
    return {s: converted[s] / total[s] for s in total if total[s]}


def shapley(journeys: Journeys) -> dict[frozenset[str], dict[str, float]]:
    """For every converting channel set, its split of one conversion over its keys."""
    rates = conversion_rates(journeys)
    splits = {}
    for path, c in zip(journeys.paths, journeys.conversions):
        channels = frozenset(path)
        if c and channels not in splits:
            players = sorted(channels)
            shares = _normalised(_values(players, rates))
            splits[channels] = {p: float(v) for p, v in zip(players, shares) if v > 0}
    return splits


def _values(players: list[str], rates: dict[frozenset[str], float]) -> np.ndarray:
    n = len(players)
    if n > EXACT_UP_TO:
        return _sampled(players, rates)
    masks = np.arange(1 << n)
    value = np.array([rates.get(frozenset(p for b, p in enumerate(players) if m >> b & 1), 0.0) for m in masks])
    sizes = np.array([bin(m).count("1") for m in masks])
    weight = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) if s < n else 0.0
                       for s in range(n + 1)])
    phi = np.empty(n)
    for i in range(n):
        bit = 1 << i
        without = masks[(masks & bit) == 0]
        phi[i] = np.sum(weight[sizes[without]] * (value[without | bit] - value[without]))
    return phi


def _sampled(players: list[str], rates: dict[frozenset[str], float]) -> np.ndarray:
    """Monte-Carlo over permutations, seeded: the same journeys give the same split."""
    rng = np.random.default_rng(SEED)
    phi = np.zeros(len(players))
    for _ in range(PERMUTATIONS):
        order = rng.permutation(len(players))
        members: set[str] = set()
        before = 0.0
        for i in order:
            members.add(players[i])
            after = rates.get(frozenset(members), 0.0)
            phi[i] += after - before
            before = after
    return phi / PERMUTATIONS


def _normalised(phi: np.ndarray) -> np.ndarray:
    clipped = np.clip(phi, 0.0, None)
    total = clipped.sum()
    return clipped / total if total > 0 else np.full(len(phi), 1 / len(phi))
