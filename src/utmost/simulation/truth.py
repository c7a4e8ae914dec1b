"""The truth of a simulated world: its conversions with every subset of the channels removed.

docs/semantics.md §17 defines the world and the truth; this module computes them. A person's
conversions depend only on the channels that exposed them (their *exposure set* E), so the game
v(S) = conversions with only the channels in S active is a sum over persons of games on their own
E, and a channel outside E is a null player of that person's game. Each person is therefore played
once per subset of their own E (a *row*), all persons' rows at once, day by day, with the same
draws (:mod:`utmost.simulation.draw`) in every row. From the rows:

- the world as it happened (every channel active): each person's row T = E;
- the baseline (every channel removed): each person's row T = ∅;
- a channel's removal effect: its persons' rows E minus E ∖ {c};
- its Shapley value: the sum over persons of their own game's Shapley value, exact (integer
  weights s!·(k − s − 1)! over k!, summed as fractions).

A row is the state of one person in one counterfactual world: when they last bought, how often,
for how much. Persons are played in chunks of at most :data:`ROWS_PER_CHUNK` rows, so memory is
bounded however many channels expose a person.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.special import ndtri

from utmost.simulation.draw import AMOUNT, CONVERSION, Draws, uniforms
from utmost.simulation.world import Channel, World

#: Rows played at once: about 60 bytes each, so a chunk takes ~120 MB at most.
ROWS_PER_CHUNK = 1 << 21


def decay(channel: Channel) -> float:
    """What is left of an exposure's effect a day later: 2^(−1/half_life), 0 for a one-day effect."""
    return 0.5 ** (1.0 / channel.half_life) if channel.half_life > 0 else 0.0


def effect_per_exposure(channel: Channel) -> float:
    """The hazard a fresh exposure adds on its day: ``lift``/1000 spread so that the area under
    its geometric decay, 1 + d + d² + … = 1/(1 − d), is ``lift``/1000."""
    return channel.lift / 1000.0 * (1.0 - decay(channel))


def saturate(adstock: np.ndarray, saturation: float) -> np.ndarray:
    """How many fresh exposures' worth an adstock acts as: (1 − e^(−s·a))/s, never above 1/s.

    >>> saturate(np.array([0.0, 1.0, 100.0]), 0.5).round(4).tolist()
    [0.0, 0.7869, 2.0]
    """
    if saturation == 0:
        return adstock
    return -np.expm1(-saturation * adstock) / saturation


def amounts(seed: int, persons: np.ndarray, day: int, median: float, spread: float) -> np.ndarray:
    """Each person's purchase amount on ``day``, in cents (lognormal, at least 1 cent): the same
    in every world where they buy that day."""
    z = ndtri(uniforms(seed, AMOUNT, persons, day))
    return np.maximum(1, np.rint(100.0 * median * np.exp(spread * z))).astype(np.int64)


def shapley_weights(k: int) -> np.ndarray:
    """k!·(the Shapley weight of f(T) in φ_j), as integers: (|T| − 1)!·(k − |T|)! when j ∈ T,
    −|T|!·(k − |T| − 1)! when not. Rows are the subsets T (bit j: channel j), columns j.

    >>> shapley_weights(2).tolist()  # T = {}, {0}, {1}, {0, 1}
    [[-1, -1], [1, -1], [-1, 1], [1, 1]]
    """
    weights = np.zeros((1 << k, k), dtype=np.int64)
    for subset in range(1 << k):
        size = subset.bit_count()
        for j in range(k):
            if subset >> j & 1:
                weights[subset, j] = math.factorial(size - 1) * math.factorial(k - size)
            else:
                weights[subset, j] = -math.factorial(size) * math.factorial(k - size - 1)
    return weights


@dataclass(frozen=True)
class Outcome:
    """The counts the truth is made of; money in cents. ``purchases`` are the world's as it
    happened: (person, day, cents) rows, by person then day."""

    conversions: int
    cents: int
    baseline: int
    baseline_cents: int
    removal: list[int]  # per channel of the world, in its order
    shapley: list[float]
    revenue_shapley: list[float]  # in currency units
    purchases: np.ndarray


@dataclass
class _Group:
    """The chunk's persons exposed by k active channels, and their rows (n × 2^k)."""

    k: int
    persons: np.ndarray  # (n,) person indices
    channels: np.ndarray  # (n, k) their active channels, ascending (indices into the active list)
    positions: np.ndarray  # (n, k) each one's place in the flat vector of effects
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]  # synergy: rows, place a, place b, strength


class _Channels:
    """The active channels (a positive lift and someone exposed): their exposures and, day by
    day, the effect each audience member feels, all in one flat vector."""

    def __init__(self, world: World, draws: Draws) -> None:
        self.indices = [i for i, channel in enumerate(world.channel)
                        if channel.lift > 0 and draws.exposures[i].persons.size]
        self.channels = [world.channel[i] for i in self.indices]
        self.exposures = [draws.exposures[i] for i in self.indices]
        sizes = [e.persons.size for e in self.exposures]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.effects = np.zeros(int(self.offsets[-1]))
        self.decays = [decay(c) for c in self.channels]
        self.scales = [effect_per_exposure(c) for c in self.channels]
        self.adstocks = [np.zeros(size) for size in sizes]
        self.masks = np.zeros(draws.persons, dtype=np.int64)
        self.places = np.full((draws.persons, len(self.indices)), -1, dtype=np.int64)
        for j, exposures in enumerate(self.exposures):
            exposed = exposures.counts.any(axis=0)
            self.masks[exposures.persons[exposed]] |= 1 << j
            self.places[exposures.persons, j] = self.offsets[j] + np.arange(exposures.persons.size)

    def reset(self) -> None:
        for adstock in self.adstocks:
            adstock[:] = 0.0

    def advance(self, day: int) -> None:
        """The effects on ``day``: yesterday's adstock decayed, plus today's exposures."""
        for j, channel in enumerate(self.channels):
            adstock = self.adstocks[j]
            adstock *= self.decays[j]
            adstock += self.exposures[j].counts[day]
            self.effects[self.offsets[j]:self.offsets[j + 1]] = self.scales[j] * saturate(adstock, channel.saturation)


def counterfactuals(world: World, draws: Draws, progress: Callable[[int], None] | None = None) -> Outcome:
    """Play every person in every subset of their exposure set; sum the rows into the truth.
    ``progress`` is told each day of each chunk played, in person-days."""
    active = _Channels(world, draws)
    pairs = _synergies(world, active)
    sizes = np.array([int(m).bit_count() for m in range(1 << len(active.indices))], dtype=np.int64)
    rows = 1 << sizes[active.masks]
    totals = _Totals(world, active)
    purchases = []
    start = 0
    for end in _chunks(rows):
        persons = np.arange(start, end)
        groups = _groups(persons, active, pairs, sizes)
        purchases += _play(world, draws, active, groups, totals, progress)
        start = end
    found = np.concatenate(purchases) if purchases else np.zeros((0, 3), dtype=np.int64)
    return totals.outcome(found[np.lexsort((found[:, 1], found[:, 0]))])


def _chunks(rows: np.ndarray) -> list[int]:
    """Ends of consecutive runs of persons with at most ROWS_PER_CHUNK rows (or one person)."""
    ends, total, start = [], 0, 0
    cumulative = np.cumsum(rows)
    while start < rows.size:
        end = int(np.searchsorted(cumulative, total + ROWS_PER_CHUNK, side="right"))
        end = max(end, start + 1)
        ends.append(end)
        total = int(cumulative[end - 1])
        start = end
    return ends


def _synergies(world: World, active: _Channels) -> list[tuple[int, int, float]]:
    """Synergies between two active channels (one without effect has none: min(0, e) = 0)."""
    found = []
    for synergy in world.synergy:
        a, b = (world.index(source) for source in synergy.channels)
        if a in active.indices and b in active.indices:
            found.append((active.indices.index(a), active.indices.index(b), synergy.strength))
    return found


def _groups(persons: np.ndarray, active: _Channels, pairs: list[tuple[int, int, float]],
            sizes: np.ndarray) -> list[_Group]:
    count = len(active.indices)
    bits = np.array([[j for j in range(count) if m >> j & 1] + [0] * (count - int(sizes[m]))
                     for m in range(1 << count)], dtype=np.int64).reshape(1 << count, count)
    masks = active.masks[persons]
    k_of = sizes[masks]
    groups = []
    for k in range(count + 1):
        chosen = persons[k_of == k]
        if not chosen.size:
            continue
        channels = bits[active.masks[chosen], :k]
        positions = active.places[chosen[:, None], channels]
        group = _Group(k, chosen, channels, positions, [])
        for a, b, strength in pairs:
            group.pairs += _pair_rows(group, active.masks[chosen], a, b, strength, sizes)
        groups.append(group)
    return groups


def _pair_rows(group: _Group, masks: np.ndarray, a: int, b: int, strength: float, sizes: np.ndarray) -> list:
    """Where a synergy acts in a group: the rows of persons exposed by both channels whose
    subset holds both; with the places of the two effects that set its size."""
    k = group.k
    both = np.flatnonzero((masks >> a & 1) & (masks >> b & 1))
    if not both.size:
        return []
    # A channel's place among a person's channels: how many of theirs come before it.
    local = np.stack([sizes[masks[both] & ((1 << a) - 1)], sizes[masks[both] & ((1 << b) - 1)]], axis=1)
    found = []
    for ja, jb in {tuple(pair) for pair in local.tolist()}:
        subsets = np.array([t for t in range(1 << k) if t >> ja & 1 and t >> jb & 1], dtype=np.int64)
        who = both[(local[:, 0] == ja) & (local[:, 1] == jb)]
        rows = (who * (1 << k))[:, None] + subsets[None, :]
        found.append((rows, group.positions[who, ja], group.positions[who, jb], strength))
    return found


def _membership(k: int) -> np.ndarray:
    """(k × 2^k): 1 where channel j is in subset T."""
    return ((np.arange(1 << k)[None, :] >> np.arange(k)[:, None]) & 1).astype(np.float64)


def _play(world: World, draws: Draws, active: _Channels, groups: list[_Group], totals: _Totals,
          progress: Callable[[int], None] | None) -> list[np.ndarray]:
    """Play the chunk's groups over the days; add their rows to ``totals``; return the purchases
    of the world as it happened."""
    repeat = world.repeat
    refractory = repeat.refractory if repeat else draws.days
    factor = repeat.factor if repeat else 0.0
    median, spread = world.persons.amount, world.persons.amount_spread
    active.reset()
    states = []
    for group in groups:
        shape = (group.persons.size, 1 << group.k)
        states.append((np.full(shape, -1, dtype=np.int32), np.zeros(shape, dtype=np.int32),
                       np.zeros(shape, dtype=np.int64), _membership(group.k), draws.demand[group.persons][:, None]))
    purchases = []
    chunk = sum(group.persons.size for group in groups)
    for day in range(draws.days):
        active.advance(day)
        for group, (last, count, cents, membership, demand) in zip(groups, states):
            lift = active.effects[group.positions] @ membership
            flat = lift.reshape(-1)
            for rows, place_a, place_b, strength in group.pairs:
                flat[rows] += (strength * np.minimum(active.effects[place_a], active.effects[place_b]))[:, None]
            hazard = (demand + lift) * np.asarray(draws.multiplier(day, group.persons))[..., None]
            if repeat is None:
                hazard *= last < 0
            else:
                hazard *= np.where(last < 0, 1.0, np.where(day - last <= refractory, 0.0, factor))
            threshold = -np.log(uniforms(draws.seed, CONVERSION, group.persons, day))
            bought = hazard > threshold[:, None]
            buyers = np.flatnonzero(bought.any(axis=1))
            if not buyers.size:
                continue
            paid = amounts(draws.seed, group.persons[buyers], day, median, spread)
            count[buyers] += bought[buyers]
            cents[buyers] += bought[buyers] * paid[:, None]
            last[bought] = day
            happened = bought[buyers, -1]
            purchases.append(np.stack([group.persons[buyers][happened], np.full(int(happened.sum()), day),
                                       paid[happened]], axis=1))
        if progress:
            progress(chunk)
    for group, (_, count, cents, _, _) in zip(groups, states):
        totals.add(group, count, cents)
    return purchases


class _Totals:
    """The rows summed: the world, the baseline, removal effects and exact Shapley values."""

    def __init__(self, world: World, active: _Channels) -> None:
        self.channels = len(world.channel)
        self.active = active.indices
        self.conversions = self.cents = self.baseline = self.baseline_cents = 0
        self.removal = [0] * self.channels
        self.shapley = [Fraction(0)] * self.channels
        self.revenue_shapley = [Fraction(0)] * self.channels

    def add(self, group: _Group, count: np.ndarray, cents: np.ndarray) -> None:
        k, full = group.k, (1 << group.k) - 1
        self.conversions += int(count[:, full].sum())
        self.cents += int(cents[:, full].sum())
        self.baseline += int(count[:, 0].sum())
        self.baseline_cents += int(cents[:, 0].sum())
        if not k:
            return
        weights = shapley_weights(k)
        scaled_counts = count.astype(np.int64) @ weights  # (n, k): k!·φ per person and place
        scaled_cents = cents @ weights
        for j in range(k):
            lost = count[:, full] - count[:, full ^ (1 << j)]
            for place, channel in enumerate(self.active):
                chosen = group.channels[:, j] == place
                if not chosen.any():
                    continue
                self.removal[channel] += int(lost[chosen].sum())
                self.shapley[channel] += Fraction(int(scaled_counts[chosen, j].astype(object).sum()),
                                                  math.factorial(k))
                self.revenue_shapley[channel] += Fraction(int(scaled_cents[chosen, j].astype(object).sum()),
                                                          100 * math.factorial(k))

    def outcome(self, purchases: np.ndarray) -> Outcome:
        return Outcome(self.conversions, self.cents, self.baseline, self.baseline_cents, self.removal,
                       [float(v) for v in self.shapley], [float(v) for v in self.revenue_shapley], purchases)
