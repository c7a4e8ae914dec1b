"""Import speed and memory against DuckDB's own read_json, on the demo's browser-shaped events.

    python benchmarks/import_bench.py [--sizes 1000000,5000000] [--repeat 1] [--data bench-data]

For each size: generate a Mixpanel export JSONL with utmost's demo generator (cached under
--data), then, each in a fresh subprocess so peak RSS is its own: (1) the baseline, DuckDB's
``read_json`` of the same file into a table of a new database file; (2) ``utmost import`` of it
into a new database file. With ``--repeat N`` the pair runs N times, alternating, and the
table gives the medians and every pair's ratio: on a noisy machine one pair is a lottery.
Prints a table: time, events/s, ratio to the baseline, peak RSS (the highest of the runs).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table

# Each child prints its seconds, events stored and its own peak RSS (KiB), in that order.
BASELINE = """
import duckdb, resource, sys, time
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
started = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_json(?, format='newline_delimited')", [sys.argv[1]])
con.execute("CHECKPOINT")
seconds = time.perf_counter() - started
print(seconds, con.execute("SELECT count(*) FROM t").fetchone()[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
UTMOST = """
import resource, sys, time
from utmost.store import Store
from utmost.store.importer import import_files
with Store(sys.argv[2]) as store:
    started = time.perf_counter()
    report = import_files(store, store.project().name, [sys.argv[1]])
seconds = time.perf_counter() - started  # closing included: the data is checkpointed
print(seconds, report.imported, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_file(folder: Path, events: int) -> Path:
    from utmost import demo

    path = folder / f"demo-{events}.jsonl"
    if not path.exists():
        visitors = events // 8  # the generator yields ~12-19 events a visitor; islice cuts it exact
        lines = itertools.islice(demo.generate_lines(seed=1, visitors=visitors, days=90), events)
        with open(path.with_suffix(".tmp"), "wb") as file:
            file.writelines(track(lines, total=events, description=f"generating {events:,} events"))
        path.with_suffix(".tmp").rename(path)
    return path


def measure(code: str, path: Path, db: Path) -> tuple[float, int, int]:
    """Run ``code`` in a fresh interpreter: seconds, events stored, peak RSS in bytes.

    The file is read through once first, so both sides find it in the page cache: whichever
    ran first otherwise paid for the disk (read_json once took 23 s at 1M instead of 4).
    """
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    with open(path, "rb") as file:
        while file.read(64 << 20):
            pass
    result = subprocess.run([sys.executable, "-c", code, str(path), str(db)], capture_output=True, text=True, check=True)
    seconds, events, peak_kib = result.stdout.split()[-3:]
    db.unlink(missing_ok=True)
    return float(seconds), int(events), int(peak_kib) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,5000000")
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--repeat", type=int, default=1, help="run each pair this many times, alternating")
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    rows = []
    for events in (int(s) for s in args.sizes.split(",")):
        path = make_file(args.data, events)
        pairs = []
        for _ in range(args.repeat):
            base_s, base_events, base_rss = measure(BASELINE, path, args.data / "baseline.duckdb")
            ours_s, imported, ours_rss = measure(UTMOST, path, args.data / "utmost.duckdb")
            assert base_events == imported == events, (base_events, imported, events)
            pairs.append((base_s, ours_s, base_rss, ours_rss))
        base_s = statistics.median(p[0] for p in pairs)
        ours_s = statistics.median(p[1] for p in pairs)
        rows.append({
            "events": events, "file_mb": path.stat().st_size / 1e6,
            "baseline_s": base_s, "utmost_s": ours_s, "ratio": ours_s / base_s,
            "ratios": [p[1] / p[0] for p in pairs], "events_per_s": events / ours_s,
            "baseline_rss_mb": max(p[2] for p in pairs) / 2**20, "utmost_rss_mb": max(p[3] for p in pairs) / 2**20,
        })
    title = "utmost import vs DuckDB read_json (same file, same machine, same run"
    table = Table(title=title + (f"; medians of {args.repeat} alternating runs)" if args.repeat > 1 else ")"))
    for column in ("events", "file MB", "read_json s", "utmost s", "ratio", "each run's ratio", "utmost events/s",
                   "read_json peak RSS", "utmost peak RSS"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(f"{r['events']:,}", f"{r['file_mb']:,.0f}", f"{r['baseline_s']:.1f}", f"{r['utmost_s']:.1f}",
                      f"{r['ratio']:.2f}×", " ".join(f"{x:.2f}×" for x in r["ratios"]), f"{r['events_per_s']:,.0f}",
                      f"{r['baseline_rss_mb']:,.0f} MiB", f"{r['utmost_rss_mb']:,.0f} MiB")
    Console(width=180).print(table)
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
