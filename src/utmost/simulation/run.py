"""A simulation from end to end: draw the world, play its counterfactuals, write what it shows and its truth.

``DIR/events.jsonl.gz`` (the events, for ``utmost import``), ``DIR/truth.json`` (what each channel
caused, :class:`utmost.engine.Truth`) and, with a holdout, ``DIR/experiments.csv``. Each file is
written whole under a temporary name and then renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec

from utmost.engine import TRUTH_FORMAT, ChannelTruth, Truth, write_truth
from utmost.errors import InputError, did_you_mean
from utmost.simulation.draw import draw
from utmost.simulation.events import CONVERSION, REVENUE, START, Written, events_of, write_events, written
from utmost.simulation.experiments import Experiment, experiments, experiments_csv
from utmost.simulation.truth import counterfactuals
from utmost.simulation.world import BY, World

EVENTS, TRUTH, EXPERIMENTS = "events.jsonl.gz", "truth.json", "experiments.csv"
MAX_PERSONS = 10_000_000
MAX_DAYS = 3_650


class Progress(Protocol):
    """What a simulation reports as it goes: a phase and its size, then steps of it."""

    def phase(self, name: str, total: int) -> None: ...

    def advance(self, amount: int) -> None: ...


@dataclass(frozen=True)
class Simulation:
    truth: Truth
    written: Written
    experiments: list[Experiment]


def check_run(world: World, persons: int, days: int, holdout: Mapping[str, float]) -> None:
    """What the command line may get wrong, said before anything is drawn."""
    if not 1 <= persons <= MAX_PERSONS:
        raise InputError(f"--persons must be between 1 and {MAX_PERSONS:,}, got {persons:,}")
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"--days must be between 1 and {MAX_DAYS:,}, got {days:,}")
    sources = [channel.source for channel in world.channel]
    for source, share in holdout.items():
        if source not in sources:
            hint = did_you_mean(source, sources, f" (the channels: {', '.join(sources)})")
            raise InputError(f"--holdout: no channel {source!r}{hint}")
        if not 0 < share < 1:
            raise InputError(f"--holdout {source}={share:g}: the share held out must be between 0 and 1")


def simulate(world: World, scenario: str, out: Path, persons: int, days: int, seed: int,
             holdout: Mapping[str, float] | None = None, progress: Progress | None = None) -> Simulation:
    """Simulate ``world`` and write its files into ``out`` (created if missing)."""
    holdout = dict(holdout or {})
    check_run(world, persons, days, holdout)
    out.mkdir(parents=True, exist_ok=True)
    if progress:
        progress.phase("drawing", 1 + len(world.channel))
    draws = draw(world, persons, days, seed, holdout, progress.advance if progress else None)
    if progress:
        progress.phase("counterfactuals", persons * days)
    outcome = counterfactuals(world, draws, progress.advance if progress else None)
    table = events_of(world, draws, outcome.purchases)
    if progress:
        progress.phase("writing events", int(table["time"].size))
    _replace(out / EVENTS, lambda path: write_events(path, world, seed, table, progress.advance if progress else None))
    shown = written(world, table)
    start, end = START.isoformat(), (START + datetime.timedelta(days=days - 1)).isoformat()
    truth = Truth(
        format=TRUTH_FORMAT, scenario=scenario, seed=seed, persons=persons, conversion=CONVERSION,
        revenue_property=REVENUE, by=list(BY), start=start, end=end,
        conversions=outcome.conversions, revenue=outcome.cents / 100, baseline=float(outcome.baseline),
        baseline_revenue=outcome.baseline_cents / 100,
        channels=[ChannelTruth(key={BY[0]: channel.source}, removal=float(outcome.removal[i]),
                               shapley=outcome.shapley[i], revenue_shapley=outcome.revenue_shapley[i],
                               clicks=shown.clicks[i], views=draws.exposures[i].views)
                  for i, channel in enumerate(world.channel)],
        parameters={"days": days, "holdout": holdout, "world": msgspec.to_builtins(world)},
    )
    _replace(out / TRUTH, lambda path: write_truth(truth, path))
    found = experiments(world, draws, outcome.purchases, start, end)
    if found:
        data = experiments_csv(found)
        _replace(out / EXPERIMENTS, lambda path: path.write_bytes(data))
    else:
        (out / EXPERIMENTS).unlink(missing_ok=True)  # another world's, from an earlier run
    return Simulation(truth, shown, found)


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
