"""A flood of big bodies does not hold up small requests: ``utmost serve`` in its own process.

Eight clients keep posting bodies the collector refuses (10 MB and over, gzip that inflates
past the limit, 2,001 records, 9 MB of arrays nested 500 deep) while one client sends valid
small ``/track`` requests, one after the other, and times each.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import multiprocessing
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
from collector.live import SECRET, TOKEN, free_port, start_server

from utmost.collector.wire import MAX_REQUEST_BYTES
from utmost.store import Store

FLOODERS = 8
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
AUTH = (SECRET, "")


def event(n: int, **properties) -> dict:
    return {"event": "Flood", "properties": {"token": TOKEN, "distinct_id": "d", "time": 1_795_000_000,
                                             "$insert_id": f"f-{n}", **properties}}


def streamed(size: int) -> Iterator[bytes]:
    """``size`` bytes sent chunked, with no Content-Length to refuse them by."""
    chunk = b"x" * 65536
    for _ in range(size // len(chunk)):
        yield chunk
    yield b"x" * (size % len(chunk))


def refused_bodies() -> list[tuple[str, dict]]:
    """Each flood request as (path, httpx keyword arguments), with the status it is refused with."""
    over = b"x" * (MAX_REQUEST_BYTES + 1)
    many = [event(n, blob="y" * 3000) for n in range(2001)]
    data = b"data=" + quote(base64.b64encode(json.dumps(many).encode())).encode()
    deep = ("[" + ",".join(["[" * 500 + "]" * 500] * 9000) + "]").encode()
    return [
        ("/track", dict(content=over, headers=FORM)),
        ("/import", dict(content=lambda: streamed(MAX_REQUEST_BYTES + 1), auth=AUTH)),
        ("/track", dict(content=data, headers=FORM)),
        ("/engage", dict(content=deep, headers={"Content-Type": "application/json"})),
        ("/track", dict(content=gzip.compress(b"data=" + b"A" * (MAX_REQUEST_BYTES + 1)), headers=FORM)),
    ]


def flood(url: str, stop: threading.Event, statuses: list[int], start: int) -> None:
    bodies = itertools.islice(itertools.cycle(refused_bodies()), start, None)
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            path, request = next(bodies)
            if callable(request["content"]):  # a stream is used once
                request = {**request, "content": request["content"]()}
            try:
                statuses.append(client.post(path, **request).status_code)
            except httpx.TransportError:
                statuses.append(0)  # the server closed the connection on a refused body


def flooding(url: str, done: multiprocessing.Event, report: multiprocessing.Queue) -> None:
    """:data:`FLOODERS` threads flooding ``url`` until ``done``; their answers' statuses go to ``report``.

    In a process of its own, so that the timed client does not wait for this one's turns
    at the interpreter lock.
    """
    stop, statuses = threading.Event(), []
    flooders = [threading.Thread(target=flood, args=(url, stop, statuses, n)) for n in range(FLOODERS)]
    for flooder in flooders:
        flooder.start()
    done.wait()
    stop.set()
    for flooder in flooders:
        flooder.join()
    report.put(statuses)


def timed_tracks(url: str, seconds: float) -> list[float]:
    """Valid one-event ``/track`` requests, one after the other: each one's time in ms."""
    times = []
    with httpx.Client(base_url=url, timeout=60) as client:
        deadline = time.monotonic() + seconds
        for n in itertools.count():
            if time.monotonic() > deadline:
                return times
            body = "data=" + quote(base64.b64encode(json.dumps([event(n)]).encode()))
            started = time.perf_counter()
            response = client.post("/track", content=body, headers=FORM)
            times.append((time.perf_counter() - started) * 1000)
            assert (response.status_code, response.text) == (200, "1")
            time.sleep(0.002)


def p99(times: list[float]) -> float:
    return sorted(times)[int(len(times) * 0.99)]


def test_a_flood_of_big_bodies_does_not_hold_up_small_requests(tmp_path: Path):
    db = tmp_path / "flood.duckdb"
    with Store(db) as store:
        store.create_project("site", TOKEN, SECRET)
    port = free_port()
    server = start_server(db, port)
    url = f"http://127.0.0.1:{port}"
    spawn = multiprocessing.get_context("spawn")
    done, report = spawn.Event(), spawn.Queue()
    try:
        quiet = timed_tracks(url, 2)
        budget = max(250, 2 * p99(quiet))
        flooder = spawn.Process(target=flooding, args=(url, done, report))
        flooder.start()
        time.sleep(2)  # started, and flooding
        flooded = timed_tracks(url, 4)
        if p99(flooded) >= budget:  # once more: a shared machine has bad seconds of its own
            print(f"flooded p99 {p99(flooded):.1f} ms, measuring again")
            flooded = timed_tracks(url, 4)
        done.set()
        statuses = report.get(timeout=60)
        flooder.join()
    finally:
        done.set()
        server.terminate()
        server.wait(timeout=30)
    print(f"quiet p99 {p99(quiet):.1f} ms; flooded p99 {p99(flooded):.1f} ms over {len(flooded)} requests, "
          f"{len(statuses)} refused bodies: { {s: statuses.count(s) for s in set(statuses)} }")
    assert set(statuses) <= {0, 400, 413}
    # 250 ms, or on a machine too busy for that without any flood, twice the p99 of the quiet
    # server: commits wait for fsync, which a disk shared with other work makes slow. Seen on
    # 2 cores shared with other work: quiet p99 11-140 ms; flooded 73-129 ms (the p99 of ~80
    # requests is their slowest, so one bad scheduler tick decides it), and 1.3-3.5 s
    # before big bodies were refused as they arrive and decoded one at a time off the loop: the
    # budget sits well below the failure it guards against, not at the edge of a good run.
    assert p99(flooded) < budget
