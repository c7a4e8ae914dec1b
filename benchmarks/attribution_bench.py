"""Attribution speed: every rule-based model in one call, against sorting the same columns.

    python benchmarks/attribution_bench.py [--sizes 1000000,10000000] [--data bench-data]

For each size, a database of synthetic events is generated in SQL (cached under --data):
persons with power-law event counts over 90 days, in visits of five events a minute apart; a
quarter of them sign in, on one or two devices; 60% of visits land from one of seven sources;
a tenth of visits end in a conversion with an amount. Then, each in a fresh
process so peak RSS is its own: (1) the baseline, DuckDB sorting the columns attribution needs
by (person, time) into a table; (2) ``utmost attribute`` with all rule-based models
(identity and sessions included).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

GENERATE = """
CREATE TEMP TABLE synthetic_persons AS
SELECT p, least(2000, floor(pow(1 - random(), -1 / 1.2)))::INTEGER AS n,
       random() < 0.25 AS signs_in, random() < 0.3 AS two_devices
FROM range({persons}) AS t(p);
INSERT INTO events
SELECT 'default', event, time, distinct_id, device_id, user_id, insert_id,
       utm_source, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       CASE WHEN utm_source IS NULL THEN 'https://h.example/rooms'
            ELSE 'https://h.example/?utm_source=' || utm_source END,
       NULL, NULL, properties, row_number() OVER (ORDER BY time)
FROM (
  SELECT CASE WHEN last_of_visit AND r < 0.1 THEN 'Reservation Completed'
              WHEN signs_in AND r < 0.05 THEN '$identify' ELSE 'Page View' END AS event,
         -- Visits of five events a minute apart, each visit on its own day in 90 days.
         TIMESTAMP '2026-06-01' + to_microseconds((hash(p, visit) % 7776000000000)::BIGINT + step * 60000000
                                                  + (random() * 30e6)::BIGINT) AS time,
         CASE WHEN signs_in AND visit > 0 THEN 'user-' || p ELSE '$device:' || device END AS distinct_id,
         device AS device_id,
         CASE WHEN signs_in AND visit > 0 THEN 'user-' || p END AS user_id,
         md5(p::VARCHAR || '-' || k::VARCHAR) AS insert_id,
         CASE WHEN step = 0 AND random() < 0.6 THEN ['newsletter', 'google', 'facebook', 'instagram', 'partner',
              'tiktok', 'bing'][1 + floor(random() * 7)::INTEGER] END AS utm_source,
         CASE WHEN last_of_visit AND r < 0.1 THEN '{{"amount": ' || (50 + floor(random() * 500))::VARCHAR || '}}'
              ELSE '{{}}' END AS properties
  FROM (
    SELECT p, k, k // 5 AS visit, k % 5 AS step, k % 5 = 4 OR k = n - 1 AS last_of_visit, signs_in,
           random() AS r,
           'd' || p::VARCHAR || CASE WHEN two_devices AND (k // 5) % 2 = 1 THEN 'b' ELSE 'a' END AS device
    FROM synthetic_persons, range(n) AS t(k)
  )
) LIMIT {events};
DROP TABLE synthetic_persons;
"""

BASELINE = """
import duckdb, resource, sys, time
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
started = time.perf_counter()
con.execute("CREATE TEMP TABLE sorted AS SELECT coalesce(user_id, device_id, distinct_id) AS person, time, seq, event, "
            "utm_source, properties FROM events ORDER BY person, time, seq")
print(time.perf_counter() - started, con.execute("SELECT count(*) FROM sorted").fetchone()[0],
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
UTMOST = """
import resource, sys, time
from utmost.api import answer
from utmost.engine import make_options
from utmost.engine.models import MODELS
from utmost.store import Store
with Store(sys.argv[1]) as store:
    started = time.perf_counter()
    result = answer(store, make_options("Reservation Completed", models=[m.name for m in MODELS if m.rule_based and not m.pattern]), per_conversion=False)
    seconds = time.perf_counter() - started
print(seconds, result.conversions, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_database(folder: Path, events: int, name: str = "attribution") -> Path:
    """The generator's ``events`` in ``folder/{name}-{events}.duckdb``, made once and cached."""
    from utmost.store import Store

    path = folder / f"{name}-{events}.duckdb"
    if not path.exists():
        persons = max(1, events // 9)  # the power law averages ~9 events a person, before the cut
        with Store(path.with_suffix(".tmp")) as store:
            store.bulk(lambda con, numbering: numbering.forget() or con.execute(GENERATE.format(persons=persons * 2, events=events)))
        path.with_suffix(".tmp").rename(path)
    return path


def measure(code: str, db: Path) -> tuple[float, int, int]:
    result = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, check=True)
    seconds, count, peak_kib = result.stdout.split()[-3:]
    return float(seconds), int(count), int(peak_kib) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    rows = []
    for events in (int(s) for s in args.sizes.split(",")):
        db = make_database(args.data, events)
        base_s, _, base_rss = measure(BASELINE, db)
        ours_s, conversions, ours_rss = measure(UTMOST, db)
        rows.append({"events": events, "conversions": conversions, "baseline_s": base_s, "utmost_s": ours_s,
                     "ratio": ours_s / base_s, "events_per_s": events / ours_s,
                     "baseline_rss_mb": base_rss / 2**20, "utmost_rss_mb": ours_rss / 2**20})
    table = Table(title="utmost attribute (all rule-based models) vs sorting by (person, time)")
    for column in ("events", "conversions", "sort s", "utmost s", "ratio", "events/s", "sort peak RSS", "utmost peak RSS"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(f"{r['events']:,}", f"{r['conversions']:,}", f"{r['baseline_s']:.1f}", f"{r['utmost_s']:.1f}",
                      f"{r['ratio']:.2f}×", f"{r['events_per_s']:,.0f}", f"{r['baseline_rss_mb']:,.0f} MiB",
                      f"{r['utmost_rss_mb']:,.0f} MiB")
    if len(rows) > 1:
        growth = (rows[-1]["utmost_s"] / rows[0]["utmost_s"]) / (rows[-1]["events"] / rows[0]["events"])
        table.caption = f"time grows {growth:.2f}× as fast as the event count from the smallest to the largest size"
    Console(width=160).print(table)
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
