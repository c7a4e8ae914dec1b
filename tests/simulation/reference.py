"""A slow, plain reading of docs/semantics.md §17's truth, to hold the simulator's fast one to.

Given a world's draws, it plays every subset S of all the channels (not, as the simulator does,
each person's own exposure set), person by person and day by day in pure Python, and takes the
Shapley values from their definition: the average over every order of the channels of each one's
marginal contribution. Only for a few persons, days and channels.
"""

from __future__ import annotations

import math
from itertools import permutations

from scipy.special import ndtri

from utmost.simulation.draw import AMOUNT, CONVERSION, Draws, uniforms
from utmost.simulation.world import World


def play(world: World, draws: Draws, active: frozenset[int]) -> tuple[int, int]:
    """(conversions, cents) of the world with only the channels in ``active``."""
    conversions = cents = 0
    for person in range(draws.persons):
        bought, last = 0, None
        adstock = [0.0] * len(world.channel)
        for day in range(draws.days):
            effects = []
            for c, channel in enumerate(world.channel):
                exposures = draws.exposures[c]
                decay = 0.5 ** (1 / channel.half_life) if channel.half_life > 0 else 0.0
                row = [int(p) for p in exposures.persons].index(person) if person in exposures.persons else None
                today = int(exposures.counts[day, row]) if row is not None else 0
                adstock[c] = adstock[c] * decay + today
                worth = adstock[c] if channel.saturation == 0 else \
                    (1 - math.exp(-channel.saturation * adstock[c])) / channel.saturation
                effects.append(channel.lift / 1000 * (1 - decay) * worth if c in active else 0.0)
            lift = sum(effects)
            for synergy in world.synergy:
                a, b = (world.index(source) for source in synergy.channels)
                if a in active and b in active:
                    lift += synergy.strength * min(effects[a], effects[b])
            if last is None:
                repeat = 1.0
            elif world.repeat is None or day - last <= world.repeat.refractory:
                repeat = 0.0
            else:
                repeat = world.repeat.factor
            market = 1.0 if draws.market is None else float(draws.market[day, person])
            hazard = repeat * market * (float(draws.demand[person]) + lift)
            u = float(uniforms(draws.seed, CONVERSION, [person], day)[0])
            if hazard > -math.log(u):  # probability 1 − e^(−hazard)
                bought += 1
                last = day
                z = float(ndtri(uniforms(draws.seed, AMOUNT, [person], day)[0]))
                cents += max(1, round(100 * world.persons.amount * math.exp(world.persons.amount_spread * z)))
        conversions += bought
    return conversions, cents


def truth(world: World, draws: Draws) -> dict:
    """Conversions, baseline, removal effects and Shapley values, from every subset of the channels."""
    channels = range(len(world.channel))
    games = {}
    for size in range(len(world.channel) + 1):
        for subset in _subsets(channels, size):
            games[subset] = play(world, draws, subset)
    everything = frozenset(channels)
    orders = list(permutations(channels))
    shapley, revenue = [0.0] * len(world.channel), [0.0] * len(world.channel)
    for order in orders:
        before: frozenset[int] = frozenset()
        for c in order:
            after = before | {c}
            shapley[c] += (games[after][0] - games[before][0]) / len(orders)
            revenue[c] += (games[after][1] - games[before][1]) / 100 / len(orders)
            before = after
    return {
        "conversions": games[everything][0],
        "cents": games[everything][1],
        "baseline": games[frozenset()][0],
        "baseline_cents": games[frozenset()][1],
        "removal": [games[everything][0] - games[everything - {c}][0] for c in channels],
        "shapley": shapley,
        "revenue_shapley": revenue,
    }


def _subsets(items: range, size: int) -> list[frozenset[int]]:
    from itertools import combinations

    return [frozenset(chosen) for chosen in combinations(items, size)]
