"""How fast the attribution page's data comes back, on the attribution benchmark's database.

    python benchmarks/dashboard_bench.py [--events 10000000] [--data bench-data]

Serves the real app (``utmost.web.create_app``) on 127.0.0.1 over the database that
``attribution_bench.py`` generates (cached under --data), signs in with the project secret, and
asks ``/api/attribution`` — the page's data — what a marketer clicking through the page asks,
in order: the first question after the server starts, the same again, more models, scope
session and back, a shorter lookback, a date range, another ``--by`` property and back.
``Reservation Completed`` is the project's key event, as ``utmost demo`` makes it, and the
derived tables (its kept credit too) are brought up to date first, as ``utmost import`` leaves
them. After the first question, the server's start-up warm-up (``Service.warm``: the default
question's steps, which ``utmost serve`` makes in the background) is timed as a row of its own.
The baseline, in the same run, is one ``utmost attribute`` of the first question in a fresh
process (no reuse of steps).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from attribution_bench import make_database  # noqa: E402

from utmost.access import set_key_events  # noqa: E402
from utmost.backends import DuckDBBackend  # noqa: E402
from utmost.engine import keep_up  # noqa: E402
from utmost.store import Store  # noqa: E402
from utmost.web import create_app  # noqa: E402

CONVERSION = "Reservation Completed"
FIRST = {"conversion": CONVERSION, "models": "first_touch,last_touch,linear"}
CLICKS = [
    ("first question, cold (the key event's kept credit)", {}),
    ("the same again", {}),
    ("+ u_shaped, time_decay, participation", {"models": "first_touch,last_touch,linear,u_shaped,time_decay,participation"}),
    ("scope session", {"scope": "session"}),
    ("scope user again", {}),
    ("lookback 7d", {"lookback": "7d"}),
    ("from/to: one month", {"from": "{first}", "to": "{month}"}),
    ("by utm_medium", {"by": "utm_medium"}),
    ("by utm_source again", {}),
]


def baseline(db: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "utmost", "attribute", "--db", str(db), "--conversion", CONVERSION,
                    "--models", FIRST["models"], "--format", "json"], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    db = make_database(args.data, args.events)
    started = time.perf_counter()
    with Store(db) as store:  # as `utmost import` leaves a file: identity, sessions and the key event's credit kept
        keep_up(DuckDBBackend.of(store), store.project().name)
        set_key_events(store, name=store.project().name, events=[CONVERSION])
    kept_seconds = time.perf_counter() - started
    cli_seconds = baseline(db)
    table = Table(title=f"/api/attribution on {args.events:,} events (the attribution page's data)")
    for column in ("click", "seconds", "rows"):
        table.add_column(column, justify="left" if column == "click" else "right")
    with Store(db) as store:
        secret = store.rotate_secret(store.project().name).secret  # a new one: only a hash is kept
        ((first, month),) = store.reader().execute(
            "SELECT min(time)::DATE::VARCHAR, (min(time)::DATE + 29)::VARCHAR FROM events").fetchall()
        app = create_app(store)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=(secret, ""), timeout=600) as client:
            for index, (click, change) in enumerate(CLICKS):
                if index == 1:
                    started = time.perf_counter()
                    app.state.service.warm()
                    table.add_row("(start-up warm-up: the first question's steps)", f"{time.perf_counter() - started:.2f}", "")
                started = time.perf_counter()
                change = {k: v.format(first=first, month=month) for k, v in change.items()}
                response = client.get("/api/attribution", params={**FIRST, **change})
                seconds = time.perf_counter() - started
                response.raise_for_status()
                table.add_row(click, f"{seconds:.2f}", f"{len(response.json()):,}")
        server.should_exit = True
        thread.join()
    table.caption = (f"baseline: `utmost attribute` of the first question in a fresh process, {cli_seconds:.2f} s; "
                     f"derived tables brought up to date first in {kept_seconds:.1f} s")
    Console().print(table)


if __name__ == "__main__":
    main()
