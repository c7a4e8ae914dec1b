"""The collector's /track latency and /import rate while the derived tables are kept up to date,
with the dashboard asking and without, against the same server keeping nothing up.

    python benchmarks/maintenance_load.py [--events 10000000] [--rate 200] [--seconds 60] [--ask-every 1]
                                          [--import-events 2000000]

``utmost serve`` runs over a copy of the attribution benchmark's database (cached under --data,
its derived tables current), and mixpanel-browser's /track requests (benchmarks/ingest_load.py,
50 events each, open loop) arrive at --rate a second for --seconds, into the same project; then
``--import-events`` events of the same file go to /import (2,000-event batches on 4 connections,
closed loop; the default runs for longer than 30 s).

The baseline comes first, on a copy of its own: ``utmost serve --refresh-every 0`` and nobody
asking, so nothing takes the events into the derived tables while it runs. Then, on another
copy, the default server (which takes them in every 30 s, ``Service.upkeep``,
``engine/maintained.py``) twice: first while a client asks the dashboard's question every
--ask-every seconds (it then also builds a fresh backend for them as often), then without
questions (in this order each run starts with the tables current, not behind by the other run's
events). The baseline is sent the events the run without questions is sent. The table gives
/track's p50 and p99 and /import's events a second, each run's /import rate over the
baseline's, the questions' times, and how many times the answer changed (a fresh backend took
over) in each run.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from attribution_bench import make_database  # noqa: E402
from ingest_bench import LOAD, SERVE, TOKEN, free_port, stop, wait_ready  # noqa: E402
from import_bench import make_file  # noqa: E402

from utmost.backends import DuckDBBackend  # noqa: E402
from utmost.engine import keep_up  # noqa: E402
from utmost.store import Store  # noqa: E402

QUESTION = {"conversion": "Reservation Completed", "models": "first_touch,last_touch,linear"}


def prepared(data: Path, events: int, copy: str) -> tuple[Path, str]:
    """A copy of the benchmark database (``copy`` in its file name) whose project takes the demo
    file's token, with its derived tables current; and a secret for the query API."""
    db = data / f"maintenance-{copy}-{events}.duckdb"
    shutil.copyfile(make_database(data, events), db)
    with Store(db) as store:
        project = store.project().name
        keep_up(DuckDBBackend.of(store), project)
        secret = store.rotate_secret(project).secret
    with duckdb.connect(str(db)) as con:  # the events file carries this token, as the SDK sends it
        con.execute("UPDATE projects SET token = ? WHERE name = 'default'", [TOKEN])
    assert secret is not None
    return db, secret


@contextlib.contextmanager
def serving(db: Path, log: Path, options: tuple[str, ...] = ()) -> Iterator[str]:
    """``utmost serve`` over ``db`` with ``options`` on a free port, its output in ``log``; yields
    its URL; stopped, and ``db`` removed, at the end."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as output:
        server = subprocess.Popen([*SERVE, "--db", str(db), "--host", "127.0.0.1", "--port", str(port), *options],
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_ready(server, url, log)
        yield url
    finally:
        stop(server)
        db.unlink(missing_ok=True)


def track(url: str, file: Path, rate: float, seconds: float) -> dict:
    return _load(["track", url, str(file), "--rate", str(rate), "--seconds", str(seconds), "--batch", "50"])


def send(url: str, secret: str, file: Path) -> dict:
    return _load(["import", url, secret, str(file), "--batch", "2000", "--connections", "4"])


def _load(arguments: list[str]) -> dict:
    done = subprocess.run([sys.executable, str(LOAD), *arguments], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def rate(imported: dict) -> float:
    """/import's events stored a second."""
    return imported["acknowledged"] / imported["seconds"]


def slices(file: Path, sizes: list[int]) -> list[Path]:
    """Consecutive slices of ``file``'s lines, each a file of its own (cached beside it): every
    run sends events no other sent."""
    paths, start = [], 0
    for size in sizes:
        path = file.with_name(f"maintenance-{start}-{start + size}.jsonl")
        if not path.exists():
            with open(file, "rb") as lines, open(path, "wb") as out:
                out.writelines(itertools.islice(lines, start, start + size))
        paths.append(path)
        start += size
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--ask-every", type=float, default=1.0)
    parser.add_argument("--import-events", type=int, default=2_000_000)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    needed = round(args.rate * args.seconds) * 50
    file = make_file(args.data, needed * 2 + args.import_events * 2)
    first, second, third, fourth = slices(file, [needed, needed, args.import_events, args.import_events])
    db, secret = prepared(args.data, args.events, "baseline")
    with serving(db, args.data / "maintenance-server-baseline.log", ("--refresh-every", "0")) as url:
        base = track(url, first, args.rate, args.seconds)
        imported_base = send(url, secret, third)
    db, secret = prepared(args.data, args.events, "kept")
    asked: list[tuple[float, float, bytes]] = []  # when each question was answered, its seconds, its answer
    with serving(db, args.data / "maintenance-server-kept.log") as url:
        stopping = threading.Event()

        def ask() -> None:
            with httpx.Client(base_url=url, auth=(secret, ""), timeout=600) as client:
                while not stopping.is_set():
                    started = time.perf_counter()
                    answer = client.get("/api/attribution", params=QUESTION).raise_for_status().content
                    asked.append((time.perf_counter(), time.perf_counter() - started, answer))
                    stopping.wait(args.ask_every)

        asking = threading.Thread(target=ask)
        asking.start()
        try:
            beside = track(url, second, args.rate, args.seconds)
            tracked = time.perf_counter()
            imported_beside = send(url, secret, fourth)
        finally:
            stopping.set()
            asking.join()
        alone = track(url, first, args.rate, args.seconds)
        imported_alone = send(url, secret, third)
    table = Table(title=f"/track at {args.rate:.0f} requests/s for {args.seconds:.0f} s into {args.events:,} events")
    for column in ("", "requests", "p50", "p99", "failed", "/import events/s", "÷ nothing kept up",
                   "answer changed (/track · /import)"):
        table.add_column(column, justify="right")
    changed = [now for (now, _, answer), (_, _, before) in itertools.pairwise(asked) if answer != before]
    moves = f"{sum(t <= tracked for t in changed)} · {sum(t > tracked for t in changed)}"
    floor = rate(imported_base)
    for name, report, imported, moved in (("nothing kept up (--refresh-every 0, no questions)", base, imported_base, ""),
                                          ("kept up, while questions are asked", beside, imported_beside, moves),
                                          ("kept up, without questions", alone, imported_alone, "")):
        table.add_row(name, f"{report['requests']:,}", f"{report['p50'] * 1000:.1f} ms", f"{report['p99'] * 1000:.1f} ms",
                      str(report["failed"] + imported["failed"]), f"{rate(imported):,.0f}",
                      f"{rate(imported) / floor:.2f}", moved)
    seconds = [s for _, s, _ in asked]
    table.caption = (f"{len(asked)} questions meanwhile, each after {args.ask_every:g} s: median "
                     f"{statistics.median(seconds):.2f} s, max {max(seconds):.2f} s" if asked else "no question answered")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
