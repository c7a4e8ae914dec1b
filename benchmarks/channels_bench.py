"""What channels and money cost: the same question by utm_source, by channel, and with spend.

    python benchmarks/channels_bench.py [--sizes 1000000] [--repeat 3] [--data bench-data]

On attribution_bench.py's synthetic events (cached under --data; seven sources, a tenth of
visits converting), each question asks for every rule-based model in a fresh process:
(1) by utm_source, today's question and the baseline; (2) by channel, where every session is a
touchpoint and each gets its channel by GA4's rules; (3) by utm_source on a copy of the file
with 90 days of spend for every source, so each row gains cost, cpa and roas; (4) by channel
with spend. The runs alternate, ``--repeat`` times; the table gives each question's fastest and
median run and the ratio of the fastest to (1)'s (noise only ever adds time, so on a busy
machine the fastest runs compare best). Issue 22's bound: (2) to (4) at most 1.3× (1).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from attribution_bench import make_database
from rich.console import Console
from rich.table import Table

ASK = """
import sys, time
from utmost.api import answer
from utmost.engine import make_options
from utmost.engine.models import MODELS
from utmost.store import Store
models = [m.name for m in MODELS if m.rule_based and not m.pattern]
with Store(sys.argv[1], read_only=True) as store:
    started = time.perf_counter()
    result = answer(store, make_options("Reservation Completed", models=models, by=sys.argv[2]), per_conversion=False)
    seconds = time.perf_counter() - started
print(seconds, result.totals.num_rows, "cost" in result.totals.column_names)
"""
SPEND = """
INSERT INTO spend
SELECT 'default', DATE '2026-06-01' + d::INTEGER, source, 'cpc', NULL, 50 + (hash(source, d) % 500), 'EUR'
FROM range(90) AS t(d),
     (SELECT unnest(['newsletter', 'google', 'facebook', 'instagram', 'partner', 'tiktok', 'bing']) AS source)
"""
QUESTIONS = [("utm_source", False), ("channel", False), ("utm_source", True), ("channel", True)]


def with_spend(db: Path) -> Path:
    from utmost.store import Store

    copy = db.with_name(db.stem + "-spend.duckdb")
    if not copy.exists():
        shutil.copy(db, copy.with_suffix(".tmp"))
        with Store(copy.with_suffix(".tmp")) as store:  # brings the schema up to date, then spends
            store.bulk(lambda con, numbering: con.execute(SPEND))
        copy.with_suffix(".tmp").rename(copy)
    return copy


def ask(db: Path, by: str) -> tuple[float, bool]:
    done = subprocess.run([sys.executable, "-c", ASK, str(db), by], capture_output=True, text=True, check=True)
    seconds, _, money = done.stdout.split()[-3:]
    return float(seconds), money == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    table = Table(title="every rule-based model: by utm_source (1), by channel (2), with spend (3, 4)")
    for column in ("events", "question", "money columns", "fastest s", "median s", "runs", "ratio to (1)"):
        table.add_column(column, justify="right")
    for events in (int(s) for s in args.sizes.split(",")):
        plain = make_database(args.data, events)
        spent = with_spend(plain)
        runs: dict[int, list[float]] = {i: [] for i in range(len(QUESTIONS))}
        money: dict[int, bool] = {}
        for _ in range(args.repeat):
            for i, (by, spend) in enumerate(QUESTIONS):
                seconds, money[i] = ask(spent if spend else plain, by)
                runs[i].append(seconds)
        base = min(runs[0])
        for i, (by, spend) in enumerate(QUESTIONS):
            table.add_row(f"{events:,}", f"({i + 1}) by {by}" + (" + spend" if spend else ""),
                          "yes" if money[i] else "no", f"{min(runs[i]):.2f}", f"{statistics.median(runs[i]):.2f}",
                          " ".join(f"{s:.2f}" for s in runs[i]), f"{min(runs[i]) / base:.2f}×")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
