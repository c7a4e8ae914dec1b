"""How a question's time and memory grow with the events, against a hand-tuned DuckDB floor.

    python benchmarks/scale_bench.py [--sizes 1000000,10000000] [--data bench-data] [--json] [--plot DIR]

For each size, the attribution benchmark's database (``attribution_bench.py``: persons with
power-law event counts, a quarter signing in on one or two devices, 60% of visits landing from
one of seven sources, a tenth ending in a booking) is generated once and cached under --data.
Then, each in a fresh process so that time and peak RSS are its own:

1. **derived tables**: identity and sessions built from every event, as ``utmost import``
   leaves them (``engine/maintained.py``); a copy of the database is used, so the cached one
   stays as generated;
2. **floor**: one hand-written DuckDB query over the same events, with no identity and no
   sessions (a device's or user's id is the person): for each booking, the landings of the
   same id within 30 days, ranked, credited first, last and linear;
3. **rule-based**: ``utmost attribute`` with every rule-based model, the file opened to read
   (what a command does), reading the derived tables;
4. **markov** and **shapley**: the same, with ``--models markov`` and ``--models shapley``;
5. **key event**: ``utmost project set --key-event 'Reservation Completed'``'s work, the
   booking's credit kept under every rule-based model, and its journeys (docs/semantics.md §21);
6. **rule-based, markov and shapley, kept**: steps 3 and 4 again, which now read the kept rows.

The table gives each step's seconds and peak RSS, and the engine's time as a ratio of the floor's.
With ``--plot DIR``, ``scale-time.svg`` and ``scale-memory.svg`` there draw both against the
events on log-log axes (a straight line of slope 1 is linear growth).
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

MEASURED = """
import resource, sys, time
started = time.perf_counter()
{body}
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
BUILD = """
from utmost.backends import DuckDBBackend
from utmost.engine import maintained
from utmost.store import Store
with Store(sys.argv[1]) as store:
    store.set_key_events(store.project().name, [])  # named in step 5, whatever the cached file holds
    with DuckDBBackend.of(store).maintenance() as writable:
        maintained.forget(writable, store.project().name)  # built from every event
        maintained.refresh(writable, store.project().name)
"""
FLOOR = """
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
con.execute("SET preserve_insertion_order = false")
con.execute('''
CREATE TEMP TABLE floor AS
WITH touches AS (
  SELECT coalesce(user_id, device_id, distinct_id) AS person, time, seq, utm_source FROM events
  WHERE utm_source IS NOT NULL
), bookings AS (
  SELECT coalesce(user_id, device_id, distinct_id) AS person, time, seq FROM events
  WHERE event = 'Reservation Completed'
), ranked AS (
  SELECT b.seq AS booking, t.utm_source,
    row_number() OVER (PARTITION BY b.seq ORDER BY t.time, t.seq) AS n,
    count(*) OVER (PARTITION BY b.seq) AS touches
  FROM bookings AS b JOIN touches AS t ON t.person = b.person
    AND t.time <= b.time AND t.time >= b.time - INTERVAL 30 DAY
)
SELECT utm_source, sum(CASE WHEN n = 1 THEN 1 ELSE 0 END) AS first_touch,
  sum(CASE WHEN n = touches THEN 1 ELSE 0 END) AS last_touch, sum(1 / touches) AS linear
FROM ranked GROUP BY utm_source''')
"""
ASK = """
from utmost.api import answer
from utmost.engine import make_options
from utmost.engine.models import MODELS
from utmost.store import Store
models = {models}
with Store(sys.argv[1], read_only=True) as store:
    answer(store, make_options("Reservation Completed", models=models), per_conversion=False)
"""
KEY_EVENT = """
from utmost.access import set_key_events
from utmost.store import Store
with Store(sys.argv[1]) as store:
    set_key_events(store, name=store.project().name, events=["Reservation Completed"])
"""
RULE_BASED = "[m.name for m in MODELS if m.rule_based and not m.pattern]"
STEPS = {
    "derived tables": BUILD,
    "floor": FLOOR,
    "rule-based": ASK.format(models=RULE_BASED),
    "markov": ASK.format(models="'markov'"),
    "shapley": ASK.format(models="'shapley'"),
    "key event": KEY_EVENT,
    "rule-based, kept": ASK.format(models=RULE_BASED),
    "markov, kept": ASK.format(models="'markov'"),
    "shapley, kept": ASK.format(models="'shapley'"),
}


def measure(body: str, db: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of ``body`` in a fresh process."""
    done = subprocess.run([sys.executable, "-c", MEASURED.format(body=body), str(db)], capture_output=True,
                          text=True, check=True)
    seconds, peak_kib = done.stdout.split()[-2:]
    return float(seconds), int(peak_kib) / 1024


def plot(rows: list[dict], folder: Path) -> None:
    """Each step's seconds and peak RSS against the events, log-log, as two SVG charts."""
    import pygal

    style = pygal.style.Style(colors=("#1f77b4", "#7f7f7f", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                             "#98df8a", "#ff9896", "#c5b0d5"))
    for measure, index, unit in (("time", 0, "seconds"), ("memory", 1, "peak RSS, MiB")):
        chart = pygal.XY(logarithmic=True, title=f"{unit} against events (log-log)", x_title="events",
                         y_title=unit, dots_size=4, style=style, x_labels=[row["events"] for row in rows],
                         x_value_formatter=lambda x: f"{x / 1e6:g}M")
        for name in STEPS:
            chart.add(name, [(row["events"], row[name][index]) for row in rows])
        chart.render_to_file(str(folder / f"scale-{measure}.svg"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--plot", type=Path, help="folder to draw scale-time.svg and scale-memory.svg in")
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    if args.plot:
        args.plot.mkdir(parents=True, exist_ok=True)  # before the run, which takes minutes
    rows = []
    for events in (int(s) for s in args.sizes.split(",")):
        generated = make_database(args.data, events)
        db = args.data / f"scale-{events}.duckdb"
        shutil.copyfile(generated, db)
        row: dict = {"events": events}
        for name, body in STEPS.items():
            row[name] = measure(body, db)
        db.unlink()
        rows.append(row)
    table = Table(title="Time and peak RSS as the events grow (each step in a fresh process)")
    table.add_column("events", justify="right")
    for name in STEPS:
        table.add_column(name, justify="right")
    table.add_column("rule-based ÷ floor", justify="right")
    table.add_column("kept ÷ floor", justify="right")
    for row in rows:
        cells = [f"{row[name][0]:.2f} s · {row[name][1]:,.0f} MiB" for name in STEPS]
        table.add_row(f"{row['events']:,}", *cells, f"{row['rule-based'][0] / row['floor'][0]:.2f}×",
                      f"{row['rule-based, kept'][0] / row['floor'][0]:.2f}×")
    Console(width=200).print(table)
    if args.json:
        print(json.dumps(rows))
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
