"""What ``incremental`` costs beside ``markov``: the same question, each model alone, fresh processes.

    python benchmarks/incremental_bench.py [--sizes 1000000,10000000] [--repeat 3] [--data bench-data]

On attribution_bench.py's synthetic events (cached under --data), each run asks one question
by utm_source in a new process, with ``markov`` (the baseline) or ``incremental``, alternating,
``--repeat`` times. Both include the identity and sessions every question builds; the table
gives each model's fastest and median run, its peak memory, and the ratio of the fastest to
markov's (noise only ever adds time). Issue 23's bound: incremental at most 3× markov at 10M.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

from attribution_bench import make_database
from rich.console import Console
from rich.table import Table

ASK = """
import resource, sys, time
from utmost.api import answer
from utmost.engine import make_options
from utmost.store import Store
with Store(sys.argv[1], read_only=True) as store:
    started = time.perf_counter()
    result = answer(store, make_options("Reservation Completed", models=sys.argv[2]), per_conversion=False)
    seconds = time.perf_counter() - started
print(seconds, result.totals.num_rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
MODELS = ("markov", "incremental")


def ask(db: Path, model: str) -> tuple[float, int]:
    done = subprocess.run([sys.executable, "-c", ASK, str(db), model], capture_output=True, text=True, check=True)
    seconds, _, peak_kib = done.stdout.split()[-3:]
    return float(seconds), int(peak_kib) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    table = Table(title="one question by utm_source: markov (the baseline) and incremental")
    for column in ("events", "model", "fastest s", "median s", "runs", "peak memory", "ratio to markov"):
        table.add_column(column, justify="right")
    for events in (int(s) for s in args.sizes.split(",")):
        db = make_database(args.data, events)
        runs: dict[str, list[float]] = {m: [] for m in MODELS}
        peak: dict[str, int] = {}
        for _ in range(args.repeat):
            for model in MODELS:
                seconds, memory = ask(db, model)
                runs[model].append(seconds)
                peak[model] = max(peak.get(model, 0), memory)
        base = min(runs["markov"])
        for model in MODELS:
            table.add_row(f"{events:,}", model, f"{min(runs[model]):.2f}", f"{statistics.median(runs[model]):.2f}",
                          " ".join(f"{s:.2f}" for s in runs[model]), f"{peak[model] / 2**30:.2f} GiB",
                          f"{min(runs[model]) / base:.2f}×")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
