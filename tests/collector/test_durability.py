"""An acknowledged event survives the server being killed: ``utmost serve`` under SIGKILL.

Browser batches make rounds smaller than a row group, which go through the write-ahead log;
/import batches make rounds of several thousand rows, which ``utmost serve`` writes straight
into the file (its 2,048-row groups), the log holding only where they are.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
import time
from urllib.parse import quote

import httpx
import pytest
from collector.live import TOKEN, free_port, start_server

from utmost.store import Store

SENDERS = 4
SECRET = "site-secret"


def events(sender: int, number: int, size: int) -> tuple[list[str], list[dict]]:
    ids = [f"s{sender}-b{number}-e{n}" for n in range(size)]
    return ids, [
        {"event": "Page View", "properties": {"token": TOKEN, "distinct_id": f"d{sender}", "time": 1_795_000_000 + number,
                                              "$insert_id": insert_id}}
        for insert_id in ids
    ]


def track(client: httpx.Client, records: list[dict]) -> bool:
    body = "data=" + quote(base64.b64encode(json.dumps(records).encode()).decode(), safe="")
    response = client.post("/track/?verbose=1", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    return response.status_code == 200 and response.json()["status"] == 1


def import_(client: httpx.Client, records: list[dict]) -> bool:
    body = "\n".join(json.dumps(record) for record in records)
    response = client.post("/import", content=body, auth=(SECRET, ""), headers={"Content-Type": "application/x-ndjson"})
    return response.status_code == 200 and response.json()["num_records_imported"] == len(records)


def send_until_refused(port: int, sender: int, send, size: int, acknowledged: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        number = 0
        while not stop.is_set():
            ids, records = events(sender, number, size)
            try:
                if send(client, records):
                    acknowledged.extend(ids)
            except httpx.TransportError:
                return  # the server is gone
            number += 1


@pytest.mark.parametrize("send, size, enough", [(track, 20, 2_000), (import_, 1_500, 45_000)], ids=["track", "import"])
def test_every_acknowledged_event_survives_sigkill(tmp_path, send, size, enough):
    db = tmp_path / "durable.duckdb"
    with Store(db) as store:
        store.create_project("site", TOKEN, SECRET)
    port = free_port()
    server = start_server(db, port)
    acknowledged: list[str] = []
    stop = threading.Event()
    senders = [threading.Thread(target=send_until_refused, args=(port, n, send, size, acknowledged, stop))
               for n in range(SENDERS)]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < enough and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(server.pid, signal.SIGKILL)  # mid-stream: requests are in flight
    server.wait()
    stop.set()
    for sender in senders:
        sender.join()
    assert len(acknowledged) >= enough, "too few acknowledged batches for a meaningful test"

    # Restart on the same file: it opens, serves, and holds every acknowledged event.
    server = start_server(db, port)
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0
    with Store(db) as store:
        stored = {row[0] for row in store.reader().execute("SELECT insert_id FROM events").fetchall()}
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
