"""Collector throughput and latency over HTTP, against the store writing the same events in-process.

    python benchmarks/ingest_bench.py [--import-events 500000] [--rate 200] [--seconds 60] [--data bench-data]

Generates the demo's browser-shaped events once (cached under --data, shared with
import_bench.py), then, each against a fresh database file:

1. ``/import``: ``utmost serve`` in its own process, and the load generator
   (benchmarks/ingest_load.py) in another, posting the events as 2,000-event NDJSON batches
   over --connections keep-alive connections, each sending its next batch when the last is
   answered. The server answers only after the commit, so events/s is events stored a second.
2. ``/track``: a fresh server, and mixpanel-browser's requests (50 events, base64 in a form
   body) sent open-loop at --rate requests/s for --seconds: each request is due at a fixed time
   and its latency counts from then, so a server that falls behind shows it as latency. The
   default 60 s is longer than the ~20-25 s between the checkpoints that 200 requests/s cause,
   so the p99 holds the stalls a sustained load meets (a 20 s run can miss every one).
3. The baseline: the same /import events through ``Store.insert_lines`` (or --baseline, another
   Store method of the same shape) in a fresh process, same batches, --inflight batches queued
   at once so the writer can group-commit them as it does concurrent requests; the ratio is
   the /import time over this time. It runs again with as many batches queued as /import has
   connections: the store's own pace at the concurrency the server sees, which bounds it.

The servers and the baseline write row groups of --row-group-size rows (default: what
``utmost serve`` writes), so both pay the same storage.

Prints one table (and a Markdown copy for docs/benchmarks.md): requests, events, seconds, events/s,
requests/s, p50/p99 latency, failed requests, CPU per event (the server's during the load; for
the baseline, its process's while writing) and the server's peak RSS (VmHWM, Linux), with the
issue's targets checked in the caption. Failed requests are described below the table (which
lines of the event file they carried, and the answer); the server's output is kept in
--data/ingest-server-*.log. The load generator runs on the same machine: on 2 cores, against a
do-nothing Starlette app, it costs ~1.4 ms of CPU a /track request and adds p50 2 ms, p99 4 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import psutil
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from import_bench import make_file  # noqa: E402  the same cached demo files as the import benchmark

from utmost.store import COLLECTOR_ROW_GROUP_ROWS  # noqa: E402

SERVE = [sys.executable, "-m", "utmost", "serve"]
LOAD = Path(__file__).with_name("ingest_load.py")
#: The demo's events carry this token in their properties, as the browser SDK sends it.
TOKEN = "demo-token"
SECRET = "ingest-bench-secret"
PROJECT = "bench"
PARTS = ("import", "track", "baseline")

# Prints a JSON object: seconds from the first submit to the last commit, batch latencies
# (submit to commit) and the CPU seconds meanwhile. METHOD is a Store method taking
# (project, lines) and returning a future that resolves after the commit.
BASELINE = """
import collections, itertools, json, statistics, sys, time
import pyarrow as pa
from utmost.store import Store
path, db, events, batch, inflight, method, project, token, secret, row_group_size = sys.argv[1:]
events, batch, inflight, row_group_size = int(events), int(batch), int(inflight), int(row_group_size)
with open(path, "rb") as file:
    lines = list(itertools.islice(file, events))
tables = [pa.table({"lineno": pa.array(range(1, len(chunk) + 1), pa.int64()), "line": pa.array(chunk, pa.binary())})
          for chunk in (lines[start:start + batch] for start in range(0, len(lines), batch))]
del lines
latencies, pending = [], collections.deque()
def submit(table):
    sent = time.perf_counter()
    future = getattr(store, method)(project, table)
    future.add_done_callback(lambda _: latencies.append(time.perf_counter() - sent))
    return future
with Store(db, row_group_size=row_group_size) as store:
    store.create_project(project, token, secret)
    started, cpu = time.perf_counter(), time.process_time()
    for table in tables:
        if len(pending) == inflight:
            pending.popleft().result()
        pending.append(submit(table))
    while pending:
        pending.popleft().result()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
cuts = statistics.quantiles(latencies, n=100, method="inclusive")
print(json.dumps({"requests": len(tables), "events": events, "seconds": seconds, "server_cpu_s": cpu,
                  "p50": cuts[49], "p99": cuts[98], "failed": 0, "failures": []}))
"""


def fresh(db: Path) -> Path:
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    return db


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def measure_baseline(path: Path, db: Path, events: int, batch: int, inflight: int, method: str,
                     row_group_size: int) -> dict:
    """The store's own write of the events, in a fresh interpreter, on a fresh database file
    opened as ``utmost serve`` opens it."""
    argv = [str(path), str(fresh(db)), str(events), str(batch), str(inflight), method, PROJECT, TOKEN, SECRET,
            str(row_group_size)]
    result = subprocess.run([sys.executable, "-c", BASELINE, *argv], capture_output=True, text=True, check=True)
    report = json.loads(result.stdout.splitlines()[-1])
    report["stored"] = count_events(db)
    fresh(db)
    return report


def measure_server(db: Path, log: Path, load: list[str], row_group_size: int) -> dict:
    """Start ``utmost serve`` on a fresh database, run the load generator against it, stop it.

    ``load`` is the load generator's arguments, with ``{url}`` where the server's URL goes.
    Adds to the load generator's report the server's CPU seconds during the load, its peak
    RSS, how long it took to stop, and the events its database holds afterwards.
    """
    fresh(db)
    subprocess.run([sys.executable, "-m", "utmost", "project", "create", PROJECT, "--token", TOKEN,
                    "--secret", SECRET, "--db", str(db)], capture_output=True, check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as output:
        server = subprocess.Popen([*SERVE, "--db", str(db), "--host", "127.0.0.1", "--port", str(port),
                                   "--row-group-size", str(row_group_size)],
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_ready(server, url, log)
        before = cpu_seconds(server.pid)
        report = run_load([arg.format(url=url) for arg in load])
        report["server_cpu_s"] = cpu_seconds(server.pid) - before
        report["server_rss"] = peak_rss(server.pid)
    finally:
        stopped_in = stop(server)
    report["stop_s"] = stopped_in
    report["stored"] = count_events(db)
    fresh(db)
    return report


def run_load(argv: list[str]) -> dict:
    result = subprocess.run([sys.executable, str(LOAD), *argv], capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"the load generator failed ({' '.join(argv)}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.splitlines()[-1])


def wait_ready(server: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"utmost serve exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    sys.exit(f"utmost serve did not answer {url}/healthz within {timeout:.0f} s (log: {log})")


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process and its children so far."""
    process = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [process, *process.children(recursive=True)])


def peak_rss(pid: int) -> int | None:
    """The kernel's high-water mark of resident memory (VmHWM), in bytes, over the process tree."""
    peaks = []
    for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:
            return None  # not Linux
        peaks += [int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
    return max(peaks, default=None)


def stop(server: subprocess.Popen, timeout: float = 120) -> float:
    """SIGTERM, as a service manager stops it; returns the seconds it took to exit."""
    started = time.perf_counter()
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    return time.perf_counter() - started


def count_events(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*) FROM events").fetchone()[0]


def run(args: argparse.Namespace) -> dict[str, dict]:
    parts = args.parts.split(",")
    track_events = round(args.rate * args.seconds) * args.track_batch
    path = make_file(args.data, max(args.import_events if {"import", "baseline"} & set(parts) else 0,
                                    track_events if "track" in parts else 0))
    reports = {}
    if "import" in parts:
        load = ["import", "{url}", SECRET, str(path), "--events", str(args.import_events),
                "--batch", str(args.import_batch), "--connections", str(args.connections), "--format", args.format]
        reports["import"] = measure_server(args.data / "ingest-import.duckdb", args.data / "ingest-server-import.log",
                                           load, args.row_group_size)
    if "track" in parts:
        load = ["track", "{url}", str(path), "--rate", str(args.rate), "--seconds", str(args.seconds),
                "--batch", str(args.track_batch), "--connections", str(args.track_connections)]
        reports["track"] = measure_server(args.data / "ingest-track.duckdb", args.data / "ingest-server-track.log",
                                          load, args.row_group_size)
    if "baseline" in parts:
        reports["baseline"] = measure_baseline(path, args.data / "ingest-baseline.duckdb", args.import_events,
                                               args.import_batch, args.inflight, args.baseline, args.row_group_size)
        if args.connections != args.inflight:
            reports["matched"] = measure_baseline(path, args.data / "ingest-baseline.duckdb", args.import_events,
                                                  args.import_batch, args.connections, args.baseline,
                                                  args.row_group_size)
    return reports


COLUMNS = ("", "requests", "events", "seconds", "events/s", "requests/s", "p50", "p99", "failed", "vs in-process",
           "CPU/event", "server peak RSS")


def rows(reports: dict[str, dict], args: argparse.Namespace) -> list[list[str]]:
    labels = {
        "import": f"POST /import ({args.import_batch:,} events, {args.connections} connections)",
        "track": f"POST /track ({args.track_batch} events, {args.rate:g}/s open loop)",
        "baseline": f"in-process {args.baseline} ({args.import_batch:,} events, {args.inflight} queued)",
        "matched": f"in-process {args.baseline} ({args.import_batch:,} events, {args.connections} queued)",
    }
    baseline = reports.get("baseline")
    table = []
    for part, r in reports.items():
        ratio = f"{r['seconds'] / baseline['seconds']:.2f}×" if part == "import" and baseline else "—"
        rss = f"{r['server_rss'] / 2**20:,.0f} MiB" if r.get("server_rss") else "—"
        table.append([labels[part], f"{r['requests']:,}", f"{r['events']:,}", f"{r['seconds']:.1f} s",
                      f"{r['events'] / r['seconds']:,.0f}", f"{r['requests'] / r['seconds']:,.1f}",
                      f"{r['p50'] * 1000:,.0f} ms", f"{r['p99'] * 1000:,.0f} ms", f"{r['failed']:,}", ratio,
                      f"{r['server_cpu_s'] / r['events'] * 1e6:,.0f} µs", rss])
    return table


def verdicts(reports: dict[str, dict], args: argparse.Namespace) -> list[str]:
    """The issue's targets, each with what this run measured."""
    found = []
    if "import" in reports:
        rate = reports["import"]["events"] / reports["import"]["seconds"]
        found.append(f"/import ≥ 100,000 events/s: {rate:,.0f} {'✓' if rate >= 100_000 else '✗'}")
    if "track" in reports:
        r = reports["track"]
        achieved = r["requests"] / r["seconds"]
        met = r["p99"] < 0.050 and achieved >= 0.95 * args.rate and not r["failed"]
        found.append(f"/track p99 < 50 ms at {args.rate:g} requests/s: {r['p99'] * 1000:,.0f} ms at "
                     f"{achieved:,.1f} requests/s {'✓' if met else '✗'}")
    if "import" in reports and "baseline" in reports:
        ratio = reports["import"]["seconds"] / reports["baseline"]["seconds"]
        found.append(f"/import within 3× in-process: {ratio:.2f}× {'✓' if ratio <= 3 else '✗'}")
    if "import" in reports and "matched" in reports:
        ratio = reports["import"]["seconds"] / reports["matched"]["seconds"]
        found.append(f"(/import vs in-process with {args.connections} queued, as many as its connections: {ratio:.2f}×)")
    return found


def problems(reports: dict[str, dict]) -> list[str]:
    """Failed requests and events missing from the database, described for a bug report."""
    found = []
    for part, r in reports.items():
        if r.get("stored") is not None and r["stored"] != r["events"]:
            found.append(f"{part}: {r['events']:,} events sent, {r['stored']:,} in the database afterwards")
        if part in ("import", "track") and r["acknowledged"] != r["events"]:
            found.append(f"{part}: {r['events']:,} events sent, {r['acknowledged']:,} acknowledged")
        found += [f"{part}: {json.dumps(failure)}" for failure in r["failures"]]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import-events", type=int, default=500_000)
    parser.add_argument("--import-batch", type=int, default=2000)
    parser.add_argument("--format", choices=("ndjson", "json"), default="ndjson", help="/import body")
    parser.add_argument("--connections", type=int, default=4, help="concurrent /import connections")
    parser.add_argument("--rate", type=float, default=200, help="/track requests a second")
    parser.add_argument("--seconds", type=float, default=60, help="how long /track is loaded")
    parser.add_argument("--track-batch", type=int, default=50)
    parser.add_argument("--track-connections", type=int, default=64, help="most /track connections open at once")
    parser.add_argument("--inflight", type=int, default=8, help="batches the baseline keeps queued")
    parser.add_argument("--baseline", default="insert_lines", help="the Store method the baseline writes with")
    parser.add_argument("--row-group-size", type=int, default=COLLECTOR_ROW_GROUP_ROWS,
                        help="rows per row group, for the server and the baseline alike")
    parser.add_argument("--parts", default=",".join(PARTS), help="which of import,track,baseline to run")
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument("--json", action="store_true", help="also print the reports as JSON")
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    reports = run(args)
    table = Table(title=f"utmost serve ingest vs Store.{args.baseline} in-process ({os.cpu_count()} CPUs, same run)",
                  caption=" · ".join(verdicts(reports, args)))
    for column in COLUMNS:
        table.add_column(column, justify="left" if not column else "right")
    body = rows(reports, args)
    for row in body:
        table.add_row(*row)
    console = Console(width=200)
    console.print(table)
    print("\n| " + " | ".join(COLUMNS) + " |\n|---|" + "---:|" * (len(COLUMNS) - 1))
    for row in body:
        print("| " + " | ".join(row) + " |")
    for line in problems(reports):
        console.print(f"[red]{line}[/]", highlight=False)
    if args.json:
        print(json.dumps(reports))


if __name__ == "__main__":
    main()
