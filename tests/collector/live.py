"""A real collector on 127.0.0.1: uvicorn in a thread over a real DuckDB file (the ``server`` fixture)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

from utmost.collector import create_app
from utmost.store import Store

TOKEN, SECRET = "test-token", "test-secret"
#: The fixtures' service account and ``?project_id=``; utmost's project id is the project name.
PROJECT = "123456"
SA_USER, SA_SECRET = "test-sa.mp-service-account", "test-sa-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    store: Store
    client: httpx.Client

    def events(self, project: str = PROJECT, columns: str = "*") -> list[dict]:
        cursor = self.store.reader().execute(
            f"SELECT {columns} FROM events WHERE project = ? ORDER BY seq", [project]
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """``app`` under uvicorn in a thread on a free port of 127.0.0.1; yields its URL."""
    port = free_port()
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join()


def running_server(tmp_path: Path) -> Iterator[Server]:
    """A collector with the fixtures' project (token, secret, service account) and ``other``."""
    with Store(tmp_path / "collector.duckdb") as store:
        store.create_project(PROJECT, TOKEN, SECRET)
        store.create_service_account(PROJECT, SA_USER, SA_SECRET)
        store.create_project("other", "other-token", "other-secret")
        with serving(create_app(store)) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield Server(url, store, client)


def start_server(db: Path, port: int) -> subprocess.Popen:
    """``utmost serve`` in a process of its own on ``port``, its output in ``DB.log``; returns once it answers."""
    log = db.with_suffix(".log")
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "utmost", "serve", "--db", str(db), "--port", str(port)],
            stdout=output, stderr=output,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return process
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "utmost serve did not start"
        time.sleep(0.05)
