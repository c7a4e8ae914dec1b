"""Holdout tests of a simulated world: per held-out channel, its test and control groups' conversions.

With ``--holdout CHANNEL=SHARE`` a random SHARE of all persons is never exposed to CHANNEL
(docs/semantics.md §17): the control group; everyone else is the test group. The file says, for
the whole simulated period, how many persons each group has (all simulated persons, whether the
events show them or not) and how many of them converted at least once: a lift test's conversion
rates, which an incrementality model can read beside the events.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from utmost.simulation.draw import Draws
from utmost.simulation.world import BY, World

FIELDS = ("start", "end", "test_persons", "test_conversions", "control_persons", "control_conversions")


@dataclass(frozen=True)
class Experiment:
    key: dict[str, str]
    start: str
    end: str
    test_persons: int
    test_conversions: int  # persons of the test group who converted at least once
    control_persons: int
    control_conversions: int


def experiments(world: World, draws: Draws, purchases: np.ndarray, start: str, end: str) -> list[Experiment]:
    """One experiment per channel that holds persons out, in the world's order."""
    converted = np.zeros(draws.persons, dtype=bool)
    converted[purchases[:, 0]] = True
    found = []
    for channel, exposures in zip(world.channel, draws.exposures):
        held = exposures.held_out
        if not held.any():
            continue
        found.append(Experiment({BY[0]: channel.source}, start, end,
                                int((~held).sum()), int((converted & ~held).sum()),
                                int(held.sum()), int((converted & held).sum())))
    return found


def experiments_csv(found: list[Experiment]) -> bytes:
    """The experiments as CSV: the key properties, then :data:`FIELDS`."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([*BY, *FIELDS])
    for e in found:
        writer.writerow([*(e.key[name] for name in BY), e.start, e.end, e.test_persons, e.test_conversions,
                         e.control_persons, e.control_conversions])
    return text.getvalue().encode()
