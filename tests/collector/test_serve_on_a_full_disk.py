"""``utmost serve`` on a full disk: 503 and Retry-After for what it did not store, /healthz
degraded, writes again once there is room, and SIGTERM still stops it.

Before, the first failed commit killed the writer thread: /track, /import and /engage never
answered again, even after space was freed, /healthz said ok, and SIGTERM did not stop it.
"""

from __future__ import annotations

import base64
import json
import signal
from pathlib import Path

import httpx
from collector.live import TOKEN, free_port, start_server
from collector.test_durability import SECRET, events
from store.disk import fill, small_disk

from utmost.store import Store

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: More than the log's last page can take (a round that fits there commits on a full disk).
SIZE = 200


def track(client: httpx.Client, number: int) -> tuple[httpx.Response, list[str]]:
    ids, records = events(0, number, SIZE)
    body = "data=" + base64.b64encode(json.dumps(records).encode()).decode().replace("+", "%2B")
    return client.post("/track?verbose=1", content=body, headers=FORM), ids


def import_(client: httpx.Client, number: int) -> tuple[httpx.Response, list[str]]:
    ids, records = events(1, number, SIZE)
    body = "\n".join(json.dumps(record) for record in records)
    return client.post("/import", content=body, auth=(SECRET, ""), headers={"Content-Type": "application/x-ndjson"}), ids


def engage(client: httpx.Client, number: int) -> tuple[httpx.Response, list[str]]:
    people = [{"$token": TOKEN, "$distinct_id": f"p{number}-{n}", "$set": {"note": "x" * 200}} for n in range(SIZE)]
    return client.post("/engage", content="data=" + json.dumps(people), headers=FORM), []


def send_until_refused(client: httpx.Client, send, acknowledged: list[str], start: int) -> httpx.Response:
    """Send until a request is refused: the first may still fit in the log's last page."""
    for number in range(start, start + 20):
        response, ids = send(client, number)
        if response.status_code != 200:
            return response
        acknowledged.extend(ids)
    raise AssertionError("a full disk took 20 requests")


def test_a_full_disk_answers_503_resumes_once_there_is_room_and_stops_on_sigterm(tmp_path: Path):
    with small_disk(tmp_path / "disk") as disk:
        db = disk / "full.duckdb"
        with Store(db) as store:
            store.create_project("site", TOKEN, SECRET)
        server = start_server(db, port := free_port())
        acknowledged: list[str] = []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                for send in (track, import_, engage):
                    response, ids = send(client, 0)
                    assert response.status_code == 200, response.text
                    acknowledged += ids
                filler = fill(disk)

                refused = send_until_refused(client, track, acknowledged, 100)
                assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
                assert refused.json()["status"] == 0 and "No space left on device" in refused.json()["error"]
                refused = send_until_refused(client, import_, acknowledged, 100)
                assert refused.status_code == 503 and refused.headers["Retry-After"]
                assert refused.json()["code"] == 503 and refused.json()["num_records_imported"] == 0
                assert send_until_refused(client, engage, acknowledged, 100).status_code == 503
                health = client.get("/healthz")
                assert health.status_code == 503 and health.json()["status"] == "degraded"
                assert "No space left on device" in health.json()["reason"]

                filler.unlink()
                assert client.get("/healthz").json() == {"status": "ok"}
                for send in (track, import_, engage):
                    response, ids = send(client, 200)
                    assert response.status_code == 200, response.text
                    acknowledged += ids

                fill(disk)
                assert send_until_refused(client, track, acknowledged, 300).status_code == 503
            server.send_signal(signal.SIGTERM)  # while writes fail
            assert server.wait(timeout=30) == 0
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        (disk / "filler").unlink()
        with Store(db) as store:
            stored = [row[0] for row in store.reader().execute("SELECT insert_id FROM events").fetchall()]
    assert sorted(stored) == sorted(acknowledged)  # each answered once, none refused
