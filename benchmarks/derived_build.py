"""The derived tables' first build (how ``utmost import`` ends), statement by statement.

    python benchmarks/derived_build.py [--events 100000000] [--data bench-data]

The attribution benchmark's events (``attribution_bench.py``'s generator: ~9 events a person,
a quarter signing in) are written once to a file that holds the events alone (cached under
--data as ``events-N.duckdb``; no question ever runs on it). Each run copies it and, in a fresh
process, builds the derived tables within ``IMPORT_MEMORY`` as ``utmost import`` does
(``engine/maintained.py``), timing every statement. The table sums the statements by what they
make (ten buckets' windows are one row, with their count), slowest first; the total and the
peak RSS below it. The baseline to compare a change with is the same command on the code
before, run right after: the whole build takes minutes and these machines' speed varies by
the hour.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from attribution_bench import make_database  # noqa: E402

BUILD = """
import json, resource, sys, time
from utmost.backends import DuckDBBackend
from utmost.engine import maintained
from utmost.store import Store

steps = {}
started = time.perf_counter()
with Store(sys.argv[1]) as store:
    with DuckDBBackend.of(store).maintenance(maintained.IMPORT_MEMORY) as backend:
        for kind in ("create", "view", "execute", "scalar", "arrow"):
            def timed(sql_or_name, *rest, _run=getattr(backend, kind), _kind=kind):
                began = time.perf_counter()
                try:
                    return _run(sql_or_name, *rest)
                finally:
                    words = sql_or_name.split()
                    what = (f"{_kind} {sql_or_name}" if _kind in ("create", "view") else " ".join(words[:3]).lower())
                    total, count = steps.get(what, (0.0, 0))
                    steps[what] = (total + time.perf_counter() - began, count + 1)
            setattr(backend, kind, timed)
        refreshed = maintained.refresh(backend, store.project().name)
seconds = time.perf_counter() - started
print(json.dumps({"steps": steps, "seconds": seconds, "events": refreshed.events, "persons": refreshed.persons,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--shown", type=int, default=15, help="the slowest statements listed")
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    source = make_database(args.data, args.events, name="events")  # no question ever runs on it
    copy = args.data / f"build-{args.events}.duckdb"
    shutil.copyfile(source, copy)
    try:
        done = subprocess.run([sys.executable, "-c", BUILD, str(copy)], capture_output=True, text=True, check=True)
    finally:
        copy.unlink(missing_ok=True)
        copy.with_suffix(".duckdb.wal").unlink(missing_ok=True)
    result = json.loads(done.stdout.splitlines()[-1])
    table = Table(title=f"the derived tables' first build, {result['events']:,} events")
    for column in ("statement", "times", "seconds"):
        table.add_column(column, justify="left" if column == "statement" else "right")
    steps = sorted(result["steps"].items(), key=lambda item: -item[1][0])
    for what, (seconds, count) in steps[: args.shown]:
        table.add_row(what, str(count), f"{seconds:.1f}")
    if len(steps) > args.shown:
        rest = sum(seconds for _, (seconds, _) in steps[args.shown:])
        table.add_row(f"({len(steps) - args.shown} others)", "", f"{rest:.1f}")
    console = Console()
    console.print(table)
    console.print(f"total {result['seconds']:.1f} s, {result['persons']:,} persons, "
                  f"peak RSS {result['peak_kib'] // 1024:,} MiB")


if __name__ == "__main__":
    main()
