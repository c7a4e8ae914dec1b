"""Load generator for the collector: Mixpanel-style /import and /track requests from a JSONL file.

    python benchmarks/ingest_load.py import URL SECRET FILE [--events N] [--batch 2000] [--connections 4]
    python benchmarks/ingest_load.py track URL FILE [--rate 200] [--seconds 20] [--batch 50]

Runs in its own process, so the server under test does not share its interpreter (and GIL).
Every request body is built before the clock starts. Prints one JSON object: requests, events
the server acknowledged, seconds from the first send to the last answer, request latencies
(p50, p99, max, in seconds), this process's CPU seconds meanwhile, and the first few failures:
which request (the lines of FILE it carried) and the answer (status, headers, body).

``import``: the events in batches of ``--batch`` lines, as NDJSON (or ``--format json``
arrays), HTTP Basic auth ``SECRET:``, from ``--connections`` threads each with its own
connection, each sending its next batch as soon as the previous one is answered (closed loop).

``track``: what mixpanel-browser sends — ``POST /track/?verbose=1&ip=1&_=<ms>`` with
``data=<urlencoded base64 of a JSON array of --batch events>`` — open loop: request ``i`` is
due at ``start + i / rate`` whether or not earlier ones have been answered, and its latency
counts from that due time, so a server that falls behind shows it in the latency instead of
slowing the load (no coordinated omission). Each request carries events no earlier request did.
A due request goes to the first idle one of ``--connections`` keep-alive connections, opened
before the clock starts; when all are busy it waits, and the wait counts as latency.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import itertools
import json
import queue
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import orjson

#: How many failed requests are reported in full; the rest are only counted.
REPORTED_FAILURES = 5
CONTENT_TYPES = {"ndjson": "application/x-ndjson", "json": "application/json"}


@dataclass(frozen=True)
class Request:
    """One request's body, and where its events are in the file (for a failure report)."""

    path: str
    index: int
    first_line: int
    events: int
    body: bytes = field(repr=False)

    def describe(self) -> str:
        last = self.first_line + self.events - 1
        lines = f"lines {self.first_line:,}-{last:,} of the file"
        return f"POST {self.path} #{self.index}: {lines} ({len(self.body):,} bytes)"


@dataclass
class Report:
    """What one load run observed."""

    requests: int = 0
    events: int = 0
    acknowledged: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    failed: int = 0
    failures: list[dict[str, object]] = field(default_factory=list)

    def record(self, request: Request, latency: float, response: httpx.Response | Exception,
               acknowledged: int | None) -> None:
        """Count one answered request; ``acknowledged`` is None when the answer is not a success."""
        events = request.events
        self.requests += 1
        self.events += events
        self.latencies.append(latency)
        if acknowledged is not None:
            self.acknowledged += acknowledged
            return
        self.failed += 1
        if len(self.failures) < REPORTED_FAILURES:
            self.failures.append({"request": request.describe()} | _describe(response))

    def summary(self) -> dict[str, object]:
        ordered = sorted(self.latencies) or [float("nan")]
        cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
        result = {key: value for key, value in asdict(self).items() if key != "latencies"}
        return result | {"p50": cuts[49], "p99": cuts[98], "max": ordered[-1]}


def _describe(response: httpx.Response | Exception) -> dict[str, object]:
    if isinstance(response, Exception):
        return {"error": f"{type(response).__name__}: {response}"}
    return {"status": response.status_code, "headers": dict(response.headers), "body": response.text[:1000]}


def read_lines(path: Path, events: int | None) -> list[bytes]:
    """The first ``events`` lines of a JSONL file (all of them if None), newlines kept."""
    with open(path, "rb") as file:
        return list(itertools.islice(file, events))


def requests(path: str, lines: list[bytes], size: int, body: Callable[[list[bytes]], bytes]) -> list[Request]:
    """The lines in batches of ``size``, each as the body of one request."""
    return [Request(path, index, start + 1, len(lines[start:start + size]), body(lines[start:start + size]))
            for index, start in enumerate(range(0, len(lines), size))]


# /import: closed loop, one thread and one connection each


def import_body(lines: list[bytes], fmt: str) -> bytes:
    if fmt == "ndjson":
        return b"".join(lines)
    return b"[" + b",".join(line.rstrip(b"\n") for line in lines) + b"]"


def import_count(response: httpx.Response) -> int | None:
    """Events a /import answer acknowledges, or None unless it is Mixpanel's 200 success."""
    if response.status_code != 200:
        return None
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer.get("num_records_imported") if answer.get("status") == "OK" else None


def run_import(url: str, secret: str, lines: list[bytes], batch: int, connections: int, fmt: str) -> Report:
    work: queue.Queue[Request] = queue.Queue()
    for request in requests("/import", lines, batch, lambda chunk: import_body(chunk, fmt)):
        work.put(request)
    report, lock = Report(), threading.Lock()
    headers = {"Content-Type": CONTENT_TYPES[fmt]}

    def send_all() -> None:
        with httpx.Client(base_url=url, auth=(secret, ""), headers=headers, timeout=300) as client:
            while True:
                try:
                    request = work.get_nowait()
                except queue.Empty:
                    return
                sent = time.perf_counter()
                try:
                    response: httpx.Response | Exception = client.post(request.path, content=request.body)
                    acknowledged = import_count(response)
                except httpx.HTTPError as error:
                    response, acknowledged = error, None
                with lock:
                    report.record(request, time.perf_counter() - sent, response, acknowledged)

    threads = [threading.Thread(target=send_all) for _ in range(connections)]
    _settle_garbage()
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.seconds, report.cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return report


# /track: open loop at a fixed rate


def track_body(lines: list[bytes]) -> bytes:
    """The form body mixpanel-browser posts: ``data=`` + encodeURIComponent(base64(JSON array))."""
    array = b"[" + b",".join(line.rstrip(b"\n") for line in lines) + b"]"
    # encodeURIComponent escapes these three of base64's characters (quote() is 100× slower)
    encoded = base64.b64encode(array).replace(b"+", b"%2B").replace(b"/", b"%2F").replace(b"=", b"%3D")
    return b"data=" + encoded


def track_ok(response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    try:
        return response.json() == {"status": 1, "error": None}
    except ValueError:
        return False


def live(lines: list[bytes], batch: int, rate: float) -> list[bytes]:
    """The events restamped as a browser sends them: ``time`` is when each was tracked.

    The demo's events span 90 days; live /track traffic carries the clock of the moment, each
    request's events within milliseconds of each other.
    """
    start = time.time() + 1
    stamped = []
    for n, line in enumerate(lines):
        event = orjson.loads(line)
        event["properties"]["time"] = round(start + (n // batch) / rate + (n % batch) / 1000, 3)
        stamped.append(orjson.dumps(event))
    return stamped


async def run_track(url: str, lines: list[bytes], batch: int, rate: float, connections: int) -> Report:
    """Hand each request, when due, to the first idle one of ``connections`` senders."""
    planned = requests("/track/", live(lines, batch, rate), batch, track_body)
    report, due_requests = Report(), asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def sender(client: httpx.AsyncClient) -> None:
        while (item := await due_requests.get()) is not None:
            request, due = item
            params = {"verbose": "1", "ip": "1", "_": str(int(time.time() * 1000))}
            try:
                response: httpx.Response | Exception = await client.post(
                    request.path, params=params, content=request.body
                )
                ok = track_ok(response)
            except httpx.HTTPError as error:
                response, ok = error, False
            report.record(request, loop.time() - due, response, request.events if ok else None)

    # A client of one connection each: one shared pool of many connections cost more CPU
    # (httpcore scans the pool on every request) than the server under test. Made and connected
    # before the clock starts, as the keep-alive connections of a running site: each client
    # builds an SSL context (20 ms) even for http://.
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=url, headers=headers, timeout=300))
                   for _ in range(connections)]
        await asyncio.gather(*(client.get("/healthz") for client in clients))  # any answer will do
        senders = [asyncio.create_task(sender(client)) for client in clients]
        _settle_garbage()
        started, cpu = loop.time(), time.process_time()
        for request in planned:
            due = started + request.index / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            due_requests.put_nowait((request, due))
        for _ in senders:
            due_requests.put_nowait(None)
        await asyncio.gather(*senders)
        report.seconds, report.cpu_seconds = loop.time() - started, time.process_time() - cpu
    return report


def _settle_garbage() -> None:
    """Keep what was built before the clock out of the garbage collector's full passes.

    Each full pass walked it all while the load ran: two or three a 30 s /track run, each
    stalling this process's event loop for 55-62 ms (13-15 ms once frozen), which every
    request then in flight counted as the server's latency.
    """
    gc.collect()
    gc.freeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    load_import = modes.add_parser("import", help="closed-loop /import batches")
    load_import.add_argument("url")
    load_import.add_argument("secret")
    load_import.add_argument("file", type=Path)
    load_import.add_argument("--events", type=int, help="the first N lines of FILE (default: all)")
    load_import.add_argument("--batch", type=int, default=2000)
    load_import.add_argument("--connections", type=int, default=4)
    load_import.add_argument("--format", choices=sorted(CONTENT_TYPES), default="ndjson")
    load_track = modes.add_parser("track", help="open-loop /track requests at a fixed rate")
    load_track.add_argument("url")
    load_track.add_argument("file", type=Path)
    load_track.add_argument("--rate", type=float, default=200, help="requests a second")
    load_track.add_argument("--seconds", type=float, default=20)
    load_track.add_argument("--batch", type=int, default=50)
    load_track.add_argument("--connections", type=int, default=64, help="most connections open at once")
    args = parser.parse_args()
    if args.mode == "import":
        lines = read_lines(args.file, args.events)
        report = run_import(args.url, args.secret, lines, args.batch, args.connections, args.format)
    else:
        lines = read_lines(args.file, round(args.rate * args.seconds) * args.batch)
        report = asyncio.run(run_track(args.url, lines, args.batch, args.rate, args.connections))
    json.dump(report.summary(), sys.stdout)
    print()


if __name__ == "__main__":
    main()
