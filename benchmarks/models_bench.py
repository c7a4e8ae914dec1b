"""Data-driven models on aggregated journeys: Markov orders 1–3, Shapley, and bootstrap.

    python benchmarks/models_bench.py [--journeys 1000000] [--rounds 200] [--events 10000000 --data bench-data]

Synthetic journeys (paths of 1–6 keys, channel popularity power-law distributed, conversion
more likely for some channels) over 12 and over 40 channels are aggregated to distinct paths
— what the engine hands the models — and each model is timed on them. The bootstrap is timed
against one fit of the same model in the same run (its target is a ratio).

With ``--events``, the same models also run through the engine on the journeys of that many
generated events (the attribution benchmark's database, cached under --data): the time of
``utmost attribute --models …`` for each, and with ``--ci`` bootstrap rounds.
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from utmost.engine import make_options, uncertainty

sys.path.insert(0, str(Path(__file__).parent))  # the attribution benchmark's event generator
from utmost.models.journeys import Journeys
from utmost.models.markov import markov
from utmost.models.shapley import shapley


def synthetic(journeys: int, channels: int, seed: int = 1) -> tuple[Journeys, list[dict]]:
    """Distinct paths with counts, and per-journey rows (one "person" each) for the bootstrap."""
    rng = np.random.default_rng(seed)
    popularity = 1 / np.arange(1, channels + 1) ** 1.1
    popularity /= popularity.sum()
    lift = rng.uniform(0.5, 2.0, channels)
    lengths = rng.choice(6, size=journeys, p=[0.35, 0.25, 0.17, 0.11, 0.07, 0.05]) + 1
    names = [f"c{i:02d}" for i in range(channels)]
    rows = []
    keys = rng.choice(channels, size=lengths.sum(), p=popularity)
    start = 0
    for person, length in enumerate(lengths):
        path = keys[start:start + length]
        start += length
        converted = rng.random() < min(0.9, 0.03 * lift[path].mean() * length)
        rows.append({"person": person, "path": tuple(names[k] for k in path), "conversions": int(converted),
                     "revenue": 100.0 * converted, "lost": int(not converted)})
    data = Journeys.from_rows([(r["path"], r["conversions"], r["revenue"], r["lost"]) for r in rows])
    return data, rows


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def resampled(persons: dict, rows: list, rounds: int) -> None:
    markov_1 = make_options("any", models="markov", markov_order=1)
    estimator = uncertainty.DataDriven(persons, rows, list(enumerate(markov_1.models)), markov_1, lambda k: (k,))
    uncertainty.bootstrap([estimator], len(persons), rounds, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--events", type=int, default=0, help="also run through the engine on this many events")
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    table = Table(title=f"models on {args.journeys:,} synthetic journeys")
    for column in ("channels", "distinct paths", "what", "seconds"):
        table.add_column(column, justify="right")
    for channels in (12, 40):
        data, rows = synthetic(args.journeys, channels)
        paths = f"{len(data.paths):,}"
        for order in (1, 2, 3):
            table.add_row(str(channels), paths, f"markov order {order}", f"{timed(partial(markov, data, order)):.2f}")
        table.add_row(str(channels), paths, "shapley", f"{timed(partial(shapley, data)):.2f}")
        one = timed(partial(markov, data, 1))
        persons = {r["person"]: r["person"] for r in rows}
        boot = timed(partial(resampled, persons, rows, args.rounds))
        table.add_row(str(channels), paths, f"bootstrap {args.rounds} rounds (markov 1)",
                      f"{boot:.2f} ({boot / one:.1f}× one fit)")
    Console(width=140).print(table)
    if args.events:
        engine_table(args.events, args.data, args.rounds)


def engine_table(events: int, data, rounds: int) -> None:
    """The models through the engine, on journeys built from generated events."""
    from attribution_bench import make_database

    from utmost.api import answer
    from utmost.store import Store

    data.mkdir(exist_ok=True)
    db = make_database(data, events)
    table = Table(title=f"through the engine, on the journeys of {events:,} generated events")
    for column in ("models", "seconds (identity, sessions, journeys included)"):
        table.add_column(column, justify="right")
    with Store(db) as store:
        def run(**options) -> float:
            return timed(lambda: answer(store, make_options("Reservation Completed", **options), per_conversion=False))

        base = run(models="last_touch")
        table.add_row("last_touch (for reference)", f"{base:.1f}")
        for order in (1, 2, 3):
            table.add_row(f"markov order {order}", f"{run(models='markov', markov_order=order):.1f}")
        table.add_row("shapley", f"{run(models='shapley'):.1f}")
        one = run(models="markov")
        boot = run(models="markov", ci=0.95, bootstrap=rounds)
        table.add_row(f"markov with {rounds} bootstrap rounds", f"{boot:.1f} ({boot / one:.1f}× one run)")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
