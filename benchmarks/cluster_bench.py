"""The same question on DuckDB and on a standalone Spark cluster on this machine.

    python benchmarks/cluster_bench.py [--events 50000000] [--data bench-data] [--worker-memory 4g]

Generates the attribution benchmark's database (cached under --data), then, each timed in a
fresh process: the derived tables built as ``utmost import`` leaves them; ``utmost attribute``
with every rule-based model on DuckDB; ``utmost export --parquet``; and the same question with
``--engine spark`` on a standalone cluster started from the installed PySpark's own launcher
(one master and two one-core workers on 127.0.0.1, Spark's default driver memory). Both answers
must be equal, row for row.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from attribution_bench import make_database  # noqa: E402

from utmost.engine.models import MODELS  # noqa: E402

RULE_BASED = ",".join(m.name for m in MODELS if m.rule_based and not m.pattern)
QUESTION = ["attribute", "--conversion", "Reservation Completed", "--models", RULE_BASED, "--format", "json"]
BUILD = ("import sys\nfrom utmost.backends import DuckDBBackend\nfrom utmost.engine import IMPORT_MEMORY, keep_up\n"
         "from utmost.store import Store\nwith Store(sys.argv[1]) as store:\n"
         "    keep_up(DuckDBBackend.of(store), store.project().name, IMPORT_MEMORY)\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed(command: list[str], **kwargs) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode:
        causes = [line for line in done.stderr.splitlines() if "Error" in line or "Exception" in line][:8]
        sys.exit(f"{' '.join(command)[:200]} failed after {time.perf_counter() - started:.0f} s:\n" + "\n".join(causes))
    return time.perf_counter() - started, done.stdout


def start_cluster(folder: Path, memory: str) -> tuple[str, list[subprocess.Popen]]:
    """A master and two one-core workers from PySpark's ``bin/spark-class``; its URL and processes."""
    import pyspark

    home = Path(pyspark.__file__).parent
    environment = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    roles = [("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                         "--webui-port", str(free_port())], "I have been elected leader")]
    roles += [(f"worker{n}", ["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "1",
                              "--memory", memory, "--webui-port", str(free_port()), "--work-dir", str(folder / f"w{n}")],
               "Successfully registered with master") for n in (1, 2)]
    processes = []
    for name, arguments, ready in roles:
        with (folder / f"{name}.log").open("w") as log:
            processes.append(subprocess.Popen([str(home / "bin" / "spark-class"), *arguments], stdout=log,
                                              stderr=subprocess.STDOUT, env=environment, start_new_session=True))
        deadline = time.monotonic() + 120
        while not re.search(ready, (folder / f"{name}.log").read_text(errors="replace")):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: see {folder / f'{name}.log'}")
            time.sleep(0.5)
    return url, processes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000_000)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--worker-memory", default="4g")
    parser.add_argument("--db", type=Path, help="a copy of the generated database to use as it is (its derived "
                                                 "tables may be built already)")
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to utmost attribute --engine spark (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    started = time.perf_counter()
    generated = args.db or make_database(args.data, args.events)
    generating = time.perf_counter() - started
    rows: dict[str, float] = {}
    with tempfile.TemporaryDirectory(dir=args.data) as scratch:
        work = Path(scratch)
        db = args.db or work / "events.duckdb"
        if args.db is None:
            shutil.copyfile(generated, db)
        utmost = [sys.executable, "-m", "utmost"]
        rows["derived tables (as `utmost import` ends)"], _ = timed([sys.executable, "-c", BUILD, str(db)])
        rows["utmost attribute, DuckDB"], on_duckdb = timed([*utmost, *QUESTION, "--db", str(db)])
        print(rows, flush=True)
        rows["utmost export --parquet"], _ = timed([*utmost, "export", "--parquet", str(work / "parquet"), "--db", str(db)])
        url, processes = start_cluster(work, args.worker_memory)
        try:
            rows["utmost attribute, Spark standalone (2 workers)"], on_spark = timed(
                [*utmost, *QUESTION, "--engine", "spark", "--events", str(work / "parquet"), "--spark-master", url,
                 *(f"--spark-conf={setting}" for setting in args.spark_conf)])
        finally:
            for process in processes:
                os.killpg(process.pid, signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
    same = json.loads(on_duckdb) == json.loads(on_spark)
    table = Table(title=f"{args.events:,} events (generated in {generating:.0f} s, cached)")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for step, seconds in rows.items():
        table.add_row(step, f"{seconds:,.1f}")
    table.caption = f"DuckDB and Spark totals {'equal' if same else 'DIFFER'}"
    Console(width=120).print(table)
    if args.json:
        print(json.dumps({"events": args.events, "steps": rows, "equal": same}))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
