"""Deleting a person through the CLI and through ``DELETE /api/people/{id}`` on a real server."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from collector.live import serving
from conftest import raw_lines, stored
from engine.test_deletion import maya_and_tom

from utmost.store import Store
from utmost.web import create_app

QUESTION = {"conversion": "Reservation Completed", "models": "first_touch"}


def utmost(*args: str, cwd, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "utmost", *args], cwd=cwd, capture_output=True, text=True,
                          input=stdin, env={**os.environ, "COLUMNS": "200"}, timeout=300)


@pytest.fixture
def path(tmp_path):
    with Store(tmp_path / "db.duckdb") as store:
        store.insert_lines("default", raw_lines(maya_and_tom())).result()
    return tmp_path / "db.duckdb"


def test_the_cli_asks_first_then_says_what_it_deleted(path):
    declined = utmost("people", "delete", "maya@x", "--db", str(path), cwd=path.parent, stdin="n\n")
    assert declined.returncode == 1 and "Aborted" in declined.stderr
    with Store(path) as store:
        assert len(stored(store)) == 8
    done = utmost("people", "delete", "maya@x", "--db", str(path), cwd=path.parent, stdin="y\n")
    assert done.returncode == 0, done.stderr
    assert ("deleted person maya@x: 5 ids ($device:l7, $device:p1, crm-17, maya-old, maya@x), 6 events, 0 profiles"
            in done.stdout)
    unknown = utmost("people", "delete", "nobody", "--yes", "--db", str(path), cwd=path.parent)
    assert (unknown.returncode, unknown.stderr.strip()) == (2, "error: no person has the id 'nobody' in project 'default'")
    compacted = utmost("compact", "--db", str(path), cwd=path.parent)
    assert compacted.returncode == 0 and compacted.stdout.startswith(f"compacted {path}: ")


def test_the_api_deletes_and_the_next_answer_forgets_at_once(path):
    with Store(path) as store:
        secret = store.project().secret
    with Store(path) as store, serving(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as client:
        auth = (secret, "")

        def sources() -> list[str]:
            answer = client.get("/api/attribution", params=QUESTION, auth=auth)
            return [row["utm_source"] for row in answer.json()]

        assert sources() == ["newsletter", "tiktok"]  # asked once: the server keeps this answer's steps
        assert client.delete("/api/people/crm-17", headers={"origin": url}).status_code == 401  # no credentials
        foreign = client.delete("/api/people/crm-17", auth=auth, headers={"origin": "http://evil.example"})
        assert foreign.status_code == 403
        deleted = client.delete("/api/people/crm-17", auth=auth)
        assert deleted.status_code == 200
        assert deleted.json() == {"person": "maya@x", "ids": ["$device:l7", "$device:p1", "crm-17", "maya-old", "maya@x"],
                                  "events": 6, "profiles": 0}
        assert sources() == ["tiktok"]
        again = client.delete("/api/people/crm-17", auth=auth)
        assert again.status_code == 400  # as for every question about an unknown person
        assert again.json() == {"error": {"status": 400, "message": "no person has the id 'crm-17' in project 'default'"}}
