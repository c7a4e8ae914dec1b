"""What it costs to take new events into the derived tables, against how many are stored.

    python benchmarks/refresh_bench.py [--sizes 1000000,10000000] [--fresh 5000,50000] [--rounds 3]
                                       [--data bench-data]

A question from the command line or the Python API first brings the derived tables up to date
(``engine/maintained.py``, :func:`~utmost.engine.keep_up`), and ``utmost serve`` does it every
30 s while events arrive, so on a project that receives events this is part of each such
question's time, and of what the server spends beside the collector.

For each size, a copy of the attribution benchmark's database (cached under --data) gets its
derived tables built and the booking named a key event (its credit and journeys kept too); then, --rounds times for each --fresh count, that many new events of the
demo's (the lines of a cached demo file, as ``utmost import`` stores them) and one refresh, timed;
then as many times the same count and the dashboard's question (first, last and linear touch of
the booking, through ``utmost.api.answer`` as the web app asks it), timed with the refresh it
begins with.

The baseline is one read of the derived events of a few hundred persons (500 names drawn from
the table): the scan that a refresh's lookups by person each pay, as DuckDB's tables have no
index that a join can use. The table gives each refresh's median (and range), the persons it
redid, the question's median, the baseline's median and the ratio of a refresh to it.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import sys
import time
from pathlib import Path

import pyarrow as pa
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from attribution_bench import make_database  # noqa: E402
from import_bench import make_file  # noqa: E402

from utmost.api import answer  # noqa: E402
from utmost.backends import DuckDBBackend  # noqa: E402
from utmost.engine import keep_up, make_options  # noqa: E402
from utmost.store import Store  # noqa: E402

KEY_EVENT = "Reservation Completed"
QUESTION = make_options(KEY_EVENT, models="first_touch,last_touch,linear")
#: 500 names of persons drawn from the derived events, then the baseline: their derived events.
SAMPLE = """CREATE OR REPLACE TEMP TABLE drawn AS
SELECT person FROM (SELECT DISTINCT person FROM derived_events WHERE project = ?) USING SAMPLE 500 ROWS"""
BASELINE = "SELECT count(*) FROM derived_events WHERE project = ? AND person IN (SELECT person FROM drawn)"


def store_new(store: Store, project: str, chunk: list[bytes]) -> None:
    table = pa.table({"lineno": pa.array(range(1, len(chunk) + 1), pa.int64()), "line": pa.array(chunk, pa.binary())})
    stored = store.insert_lines(project, table).result()
    assert stored.inserted == len(chunk), stored


def refreshes(store: Store, project: str, lines: list[bytes], fresh: int, rounds: int) -> tuple[list[float], list[int]]:
    """Seconds and persons redone of ``rounds`` refreshes, each after ``fresh`` new events."""
    seconds, persons = [], []
    for round_ in range(rounds):
        chunk = lines[round_ * fresh:(round_ + 1) * fresh]
        store_new(store, project, chunk)
        started = time.perf_counter()
        done = keep_up(DuckDBBackend.of(store), project)
        seconds.append(time.perf_counter() - started)
        assert done is not None and done.events == len(chunk), done
        persons.append(done.persons)
    return seconds, persons


def questions(store: Store, project: str, lines: list[bytes], fresh: int, rounds: int) -> list[float]:
    """Seconds of ``rounds`` questions, each after ``fresh`` new events (the refresh included)."""
    seconds = []
    for round_ in range(rounds):
        store_new(store, project, lines[round_ * fresh:(round_ + 1) * fresh])
        started = time.perf_counter()
        answer(store, QUESTION, per_conversion=False)
        seconds.append(time.perf_counter() - started)
    return seconds


def baseline(store: Store, project: str, rounds: int) -> list[float]:
    reader = store.reader()
    reader.execute(SAMPLE, [project])
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        reader.execute(BASELINE, [project]).fetchall()
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--fresh", default="5000,50000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    counts = [int(c) for c in args.fresh.split(",")]
    needed = sum(counts) * args.rounds * 2
    with open(make_file(args.data, needed), "rb") as file:
        lines = [line.rstrip(b"\n") for line in itertools.islice(file, needed)]
    table = Table(title="One refresh of the derived tables after new events (engine/maintained.py)")
    for column in ("events stored", "new events", "refresh (median, range)", "persons redone", "question (median)",
                   "baseline", "refresh ÷ baseline"):
        table.add_column(column, justify="right")
    for size in sizes:
        db = args.data / f"refresh-{size}.duckdb"
        shutil.copyfile(make_database(args.data, size), db)
        try:
            with Store(db) as store:
                project = store.project().name
                started = time.perf_counter()
                keep_up(DuckDBBackend.of(store), project)
                store.set_key_events(project, [KEY_EVENT])
                keep_up(DuckDBBackend.of(store), project)
                print(f"{size:,} events: derived tables and the key event's credit built in "
                      f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
                taken = 0
                for fresh in counts:
                    seconds, persons = refreshes(store, project, lines[taken:], fresh, args.rounds)
                    taken += fresh * args.rounds
                    asked = questions(store, project, lines[taken:], fresh, args.rounds)
                    taken += fresh * args.rounds
                    floor = statistics.median(baseline(store, project, args.rounds))
                    middle = statistics.median(seconds)
                    table.add_row(f"{size:,}", f"{fresh:,}", f"{middle:.2f} s ({min(seconds):.2f}–{max(seconds):.2f})",
                                  f"{statistics.median(persons):,.0f}", f"{statistics.median(asked):.2f} s",
                                  f"{floor:.3f} s", f"{middle / floor:.1f}×")
        finally:
            db.unlink(missing_ok=True)
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
