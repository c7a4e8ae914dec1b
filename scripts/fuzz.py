"""Fuzz a real `utmost serve` and count its answers: no input may get a 5xx.

    python scripts/fuzz.py --requests 22000

Starts `utmost serve` on a fresh file on 127.0.0.1 and sends it requests drawn by hypothesis
from the test suite's own strategies: every collector endpoint with odd bodies, encodings,
content types, methods and query strings (tests/collector/test_hostile.py), and query API and
dashboard requests whose every option is any string (tests/test_hostile_questions.py). Prints
the answers per status code and exits 1 if any was a 5xx, or if another project's data showed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

import httpx  # noqa: E402
import hypothesis  # noqa: E402
from collector.live import PROJECT, SECRET, TOKEN, free_port, start_server  # noqa: E402
from collector.test_hostile import raw_request, requests  # noqa: E402
from conftest import raw_lines  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from test_hostile_questions import OPTIONS, VICTIM, VICTIM_MARK, VICTIM_SECRET, events, hostile_text  # noqa: E402

from utmost.store import Store  # noqa: E402

QUERY_PATHS = ["/api/attribution", "/api/journey", "/attribution", "/journey"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=22_000, help="how many requests to draw")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="utmost-fuzz-"))
    db = folder / "fuzz.duckdb"
    with Store(db) as store:
        store.create_project(PROJECT, TOKEN, SECRET)
        store.create_project(VICTIM, "victim-token", VICTIM_SECRET)
        store.insert_lines(VICTIM, raw_lines(events("secret_note", "Purchase", [VICTIM_MARK], [999]))).result()
        store.insert_lines(PROJECT, raw_lines(events("plan", "Purchase", ["gold", "", "silver"], [10, 20, 30]))).result()
    port = free_port()
    server = start_server(db, port)
    counts: Counter[tuple[str, int]] = Counter()
    leaks: list[str] = []
    started = time.monotonic()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            fire(client, args.requests, args.seed, counts, leaks)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(counts, leaks, time.monotonic() - started)
    sys.exit(1 if leaks or any(status >= 500 for _, status in counts) else 0)


def fire(client: httpx.Client, total: int, seed: int, counts: Counter, leaks: list[str]) -> None:
    queries = st.tuples(st.sampled_from(QUERY_PATHS), st.dictionaries(st.sampled_from(OPTIONS), hostile_text, max_size=5),
                        st.text(max_size=20))

    @settings(max_examples=total, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(requests().map(lambda r: ("collector", r)), queries.map(lambda q: ("query", q))))
    def one(drawn: tuple) -> None:
        kind, request = drawn
        if kind == "collector":
            response = raw_request(client, *request)
            counts[("collector", response.status_code)] += 1
        else:
            path, options, any_id = request
            params = {"conversion": "Purchase", **options, **({"id": any_id} if "journey" in path else {})}
            response = client.get(path, params=params, auth=(SECRET, ""))
            counts[("query", response.status_code)] += 1
            if VICTIM_MARK in response.text:
                leaks.append(str(response.url))
        if sum(counts.values()) % 1000 == 0:
            print(f"{sum(counts.values()):,} requests", file=sys.stderr)

    hypothesis.seed(seed)(one)()


def report(counts: Counter, leaks: list[str], seconds: float) -> None:
    table = Table("endpoints", "status", "requests", title=f"{sum(counts.values()):,} requests in {seconds:,.0f} s")
    for (kind, status), count in sorted(counts.items()):
        table.add_row(kind, str(status), f"{count:,}")
    table.add_row("all", "5xx", f"{sum(c for (_, s), c in counts.items() if s >= 500):,}")
    Console().print(table)
    for url in leaks[:10]:
        print(f"another project's data in the answer to {url}")


if __name__ == "__main__":
    main()
