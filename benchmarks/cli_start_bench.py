"""How long the CLI takes to answer: `utmost --help`, and a small `utmost attribute`.

Each run starts a fresh interpreter; the baseline is the bare interpreter (`python -c pass`),
run alternately in the same loop, so the table shows what utmost adds on top of Python itself.
`--src` points at another checkout's `src/` to compare code (e.g. before and after a change):

    python benchmarks/cli_start_bench.py --runs 15
    python benchmarks/cli_start_bench.py --runs 15 --src /tmp/before/src
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(args: list[str], env: dict[str, str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--src", default=str(Path(__file__).parents[1] / "src"), help="the src/ folder to time")
    parsed = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": parsed.src}
    with tempfile.TemporaryDirectory() as folder:
        # A small database: the demo's generator, 300 visitors (~3k events).
        subprocess.run([sys.executable, "-m", "utmost", "demo", "--db", "small.duckdb", "--visitors", "300",
                        "--no-serve"], env=env, cwd=folder, check=True, capture_output=True)
        commands = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "utmost --help": [sys.executable, "-m", "utmost", "--help"],
            "utmost attribute (3k events)": [sys.executable, "-m", "utmost", "attribute", "--db", "small.duckdb",
                                             "--conversion", "Reservation Completed"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(parsed.runs):
            for name, args in commands.items():
                times[name].append(timed(args, env, folder))
    base = statistics.median(times["python -c pass (baseline)"])
    print(f"{'command':<32} {'median s':>9} {'above baseline s':>17}")
    for name, values in times.items():
        middle = statistics.median(values)
        print(f"{name:<32} {middle:>9.3f} {middle - base:>17.3f}")


if __name__ == "__main__":
    main()
