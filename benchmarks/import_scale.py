"""`utmost import` of a large export, against DuckDB reading the same file.

    python benchmarks/import_scale.py [--events 100000000] [--data bench-data]

The attribution benchmark's events (``attribution_bench.py``: ~9 events a person, a quarter
signing in) are written once as a Mixpanel export file (cached under --data): one
``{"event", "properties"}`` line each, with ``time`` in seconds, ``distinct_id``,
``$device_id``, ``$user_id``, ``$insert_id``, the landing URL, ``utm_source`` and a booking's
``amount`` (~200 bytes a line). Then, each in a fresh process:

1. **baseline**: DuckDB's ``read_json`` of the file into a table of a new database file;
2. **utmost import**: the CLI, into a new database file, through to the derived tables it
   leaves current (``engine/maintained.py``), the whole command timed.

The table gives each one's seconds, events a second and peak RSS, and the import's time as a
ratio of the baseline's; below it, the import's RSS minute by minute (storing runs within
DuckDB's 256 MB, the derived tables' build within ``IMPORT_MEMORY``: the build begins where it
rises).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from attribution_bench import make_database  # noqa: E402

#: One export line per stored event; json_merge_patch drops the properties that are NULL.
EXPORT = """
COPY (
  SELECT event, json_merge_patch(properties, json_object(
    'time', epoch_ms(time) / 1000.0, 'distinct_id', distinct_id, '$device_id', device_id,
    '$user_id', user_id, '$insert_id', insert_id, '$current_url', current_url,
    'utm_source', utm_source)) AS properties
  FROM events ORDER BY seq
) TO '{path}' (FORMAT JSON)
"""
BASELINE = """
import duckdb, sys
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE t AS SELECT * FROM read_json(?, format='newline_delimited')", [sys.argv[1]])
print(con.execute("SELECT count(*) FROM t").fetchone()[0])
"""


def make_export(folder: Path, events: int) -> Path:
    """The export file, written by a process of its own: a child forked from a process that
    had grown would report that growth as its own peak RSS."""
    path = folder / f"export-{events}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".tmp")
        database = make_database(folder, events)
        sql = EXPORT.format(path=str(partial).replace("'", "''"))
        code = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
                "con.execute('SET enable_progress_bar = false'); con.execute(sys.argv[2])")
        subprocess.run([sys.executable, "-c", code, str(database), sql], check=True)
        partial.rename(path)
    return path


def child(command: list[str], rss: list[int] | None = None) -> tuple[float, str, float]:
    """Wall seconds, stdout and peak RSS (MiB) of ``command`` in a fresh process; its RSS (MiB)
    every second appended to ``rss``, if given."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, text=True)
        if rss is not None:
            threading.Thread(target=sample_rss, args=(process.pid, rss), daemon=True).start()
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak, not every child's
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{' '.join(command)} failed ({os.waitstatus_to_exitcode(status)})")
        out.seek(0)
        return seconds, out.read(), usage.ru_maxrss / 1024


def sample_rss(pid: int, into: list[int]) -> None:
    """``pid``'s resident memory (MiB) once a second, until it ends."""
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            line = next(line for line in status.read_text().splitlines() if line.startswith("VmRSS:"))
        except (OSError, StopIteration):  # ended (or a zombie, without memory)
            return
        into.append(int(line.split()[1]) // 1024)
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    export = make_export(args.data, args.events)
    db = args.data / f"import-{args.events}.duckdb"
    db.unlink(missing_ok=True)
    baseline_seconds, out, baseline_peak = child([sys.executable, "-c", BASELINE, str(export), str(db)])
    lines = int(out.split()[-1])
    db.unlink()
    timeline: list[int] = []
    seconds, _, peak = child([sys.executable, "-m", "utmost", "import", "--db", str(db), str(export)], timeline)
    with duckdb.connect(str(db), read_only=True) as con:
        stored, current = con.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT events FROM derived_state)").fetchone()
    db.unlink()
    rows = {"events": args.events, "lines": lines, "file_bytes": export.stat().st_size, "stored": stored,
            "derived_current": stored == current, "baseline": [baseline_seconds, baseline_peak],
            "import": [seconds, peak]}
    table = Table(title=f"{lines:,} lines, {rows['file_bytes'] / 1e9:,.1f} GB (each in a fresh process)")
    for column in ("step", "seconds", "events/s", "peak RSS"):
        table.add_column(column, justify="right" if column != "step" else "left")
    table.add_row("read_json into a table (baseline)", f"{baseline_seconds:,.1f}", f"{lines / baseline_seconds:,.0f}",
                  f"{baseline_peak:,.0f} MiB")
    table.add_row("utmost import (derived tables included)", f"{seconds:,.1f}", f"{stored / seconds:,.0f}",
                  f"{peak:,.0f} MiB")
    Console(width=120).print(table)
    print(f"import ÷ baseline: {seconds / baseline_seconds:.2f}×; stored {stored:,}; derived tables current: "
          f"{rows['derived_current']}")
    # Storing runs within IMPORT_MEMORY_LIMIT and the derived tables' build within IMPORT_MEMORY:
    # the minute the RSS rises is when the build began.
    print("import's RSS (MiB), the most in each minute: " + " ".join(
        f"{max(timeline[m:m + 60]):,}" for m in range(0, len(timeline), 60)))
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
