"""Every random number of a simulated world, drawn once, whichever channels are then switched off.

This is what makes the truth exact (docs/semantics.md §17): the counterfactual worlds, each with
some channels' exposures removed, share these draws (common random numbers), so a difference in
conversions between two of them is caused by the channels that differ, never by luck.

Two kinds of numbers:

- drawn up front from ``numpy.random.Generator``s, one stream per purpose and per channel (keyed
  by the channel's name, so adding a channel changes no other channel's draws, and holding
  persons out changes nothing but their own exposures): persons' demand, in-market days, each
  channel's audience, exposures and clicks;
- read by (person, day) from a counter-based hash, :func:`uniforms`: each person-day's
  conversion threshold and purchase amount, and which harvest channel precedes a purchase.
  They are the same number whichever world, chunk or order asks for them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from utmost.simulation.world import World

#: Streams of the Generators, and of :func:`uniforms`.
DEMAND, IN_MARKET, VISITS, EVENTS, CHANNEL, HOLDOUT = 0, 1, 2, 3, 10, 11
CONVERSION, AMOUNT, HARVEST = 1, 2, 3

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def generator(seed: int, *stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed & _MASK, *stream])))


def channel_stream(source: str) -> int:
    """A channel's stream number: from its name, so its draws do not depend on its position."""
    return zlib.crc32(source.encode())


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, on an array of uint64 (whose products wrap, as intended)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def uniforms(seed: int, stream: int, persons: np.ndarray, day: int) -> np.ndarray:
    """One uniform number in (0, 1) per person of ``persons`` (indices) on ``day``: a pure
    function of (seed, stream, person, day).

    >>> a = uniforms(1, 2, np.arange(5), 3)
    >>> bool(np.all((a > 0) & (a < 1))), bool(np.array_equal(a[[1, 3]], uniforms(1, 2, np.array([1, 3]), 3)))
    (True, True)
    """
    key = _mix(np.array([(seed * _GOLDEN + stream) & _MASK], dtype=np.uint64))
    x = _mix(key ^ (np.asarray(persons, dtype=np.uint64) * np.uint64(_GOLDEN)))
    x = _mix(x + np.uint64((day + 1) * 0xD1B54A32D192ED03 & _MASK))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


@dataclass(frozen=True)
class Exposures:
    """One channel's exposures: its audience (sorted person indices, held-out persons removed);
    per day and audience member, how many exposures; and its clicks, as (day, member, clicks)
    for the cells that have any."""

    persons: np.ndarray  # (n,) int64
    counts: np.ndarray  # (days, n) int32
    click_days: np.ndarray  # (m,) int64
    click_members: np.ndarray  # (m,) int64: index into ``persons``
    click_counts: np.ndarray  # (m,) int64
    held_out: np.ndarray  # (persons,) bool: never exposed (all False without a holdout)

    @property
    def clicks(self) -> int:
        return int(self.click_counts.sum())

    @property
    def views(self) -> int:
        return int(self.counts.sum(dtype=np.int64)) - self.clicks


@dataclass(frozen=True)
class Draws:
    """A world's draws for ``persons`` persons over ``days`` days."""

    seed: int
    persons: int
    days: int
    demand: np.ndarray  # (persons,) organic purchase hazard per day at full demand
    market: np.ndarray | None  # (days, persons) float32 demand multiplier (1 in market), or None: 1 always
    exposures: tuple[Exposures, ...]  # one per channel, in the world's order

    def multiplier(self, day: int, persons: np.ndarray | slice = slice(None)) -> np.ndarray | float:
        return 1.0 if self.market is None else self.market[day, persons]


def draw(world: World, persons: int, days: int, seed: int, holdout: Mapping[str, float] | None = None,
         progress: Callable[[int], None] | None = None) -> Draws:
    """Draw ``world`` for ``persons`` persons over ``days`` days. ``holdout`` maps a channel's
    source to the share of all persons it never exposes. ``progress`` is told each step done:
    the persons, then each channel (1 + channels in all)."""
    holdout = holdout or {}
    demand = organic_demand(world, persons, seed)
    market = in_market(world, persons, days, seed)
    if progress:
        progress(1)
    exposures = []
    for index, channel in enumerate(world.channel):
        exposures.append(channel_exposures(world, index, demand, market, days, seed, holdout.get(channel.source, 0.0)))
        if progress:
            progress(1)
    return Draws(seed, persons, days, demand, market, tuple(exposures))


def organic_demand(world: World, persons: int, seed: int) -> np.ndarray:
    """Each person's organic purchase hazard per day at full demand: gamma, of mean organic/1000."""
    mean, shape = world.persons.organic / 1000.0, world.persons.shape
    return generator(seed, DEMAND).gamma(shape, mean / shape, persons)


def in_market(world: World, persons: int, days: int, seed: int) -> np.ndarray | None:
    """Each person-day's demand multiplier: 1 in the market, ``out`` outside. Day 0 is drawn from
    the chain's stationary share ``enter / (enter + leave)``; each later day moves by the chain."""
    chain = world.in_market
    if chain is None:
        return None
    rng = generator(seed, IN_MARKET)
    state = rng.random(persons) < chain.enter / (chain.enter + chain.leave)
    market = np.empty((days, persons), dtype=np.float32)
    for day in range(days):
        if day:
            u = rng.random(persons)
            state = np.where(state, u >= chain.leave, u < chain.enter)
        market[day] = np.where(state, 1.0, chain.out)
    return market


def channel_exposures(world: World, index: int, demand: np.ndarray, market: np.ndarray | None,
                      days: int, seed: int, held_share: float) -> Exposures:
    """A channel's audience, then day by day its exposures (Poisson) and clicks (binomial).

    With ``targeting`` τ, an audience member's expected exposures on a day are ``rate`` times
    (their current organic demand)^τ over the mean of that over the audience's days, so τ moves
    exposures toward persons who would buy anyway and leaves their total as it was.
    """
    channel = world.channel[index]
    rng = generator(seed, CHANNEL, channel_stream(channel.source))
    audience = np.flatnonzero(rng.random(demand.size) < channel.reach)
    weight = _targeting(channel.targeting, demand[audience], market, audience)
    counts = np.zeros((days, audience.size), dtype=np.int32)
    clicked: list[tuple[np.ndarray, np.ndarray]] = []
    for day in range(days):
        today = rng.poisson(channel.rate if weight is None else channel.rate * weight(day), audience.size)
        counts[day] = today
        members = np.flatnonzero(today)
        clicks = rng.binomial(today[members], channel.ctr)
        clicked.append((members[clicks > 0], clicks[clicks > 0]))
    click_days = np.repeat(np.arange(days), [members.size for members, _ in clicked])
    click_members = np.concatenate([np.zeros(0, np.int64), *(members for members, _ in clicked)])
    click_counts = np.concatenate([np.zeros(0, np.int64), *(clicks for _, clicks in clicked)]).astype(np.int64)
    held_out = np.zeros(demand.size, dtype=bool)
    if held_share > 0:
        held_out = generator(seed, HOLDOUT, channel_stream(channel.source)).random(demand.size) < held_share
        kept = ~held_out[audience]
        renumbered = np.cumsum(kept) - 1
        on = kept[click_members]
        audience, counts = audience[kept], counts[:, kept]
        click_days, click_members, click_counts = click_days[on], renumbered[click_members[on]], click_counts[on]
    return Exposures(audience, counts, click_days, click_members.astype(np.int64), click_counts, held_out)


def _targeting(strength: float, demand: np.ndarray, market: np.ndarray | None,
               audience: np.ndarray) -> Callable[[int], np.ndarray] | None:
    """Each day's exposure weights of the audience (``demand`` is theirs): (b·m)^τ over its mean
    over the audience's days; None when the channel does not target (or no one has any demand)."""
    if strength == 0 or not demand.size:
        return None
    personal = demand**strength
    if market is None:
        mean = float(personal.mean())
        return None if mean == 0 else (lambda day: personal / mean)
    days = market.shape[0]

    def current(day: int) -> np.ndarray:
        return personal * market[day, audience].astype(np.float64) ** strength

    mean = sum(float(current(day).sum()) for day in range(days)) / (demand.size * days)
    return None if mean == 0 else (lambda day: current(day) / mean)
