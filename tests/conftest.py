"""Shared test helpers: real DuckDB files in temporary folders, raw lines in, rows out."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from collector.live import Server, running_server
from engine.spark_cluster import SESSION_CONF, Cluster, standalone_cluster

from utmost.store import Store
from utmost.web.priority import LOWER_NICE

# Commands the tests start (`python -m utmost …`) run this checkout's code too, whichever
# checkout is installed.
_SRC = str(Path(__file__).resolve().parent.parent / "src")
os.environ["PYTHONPATH"] = os.pathsep.join([_SRC, *filter(None, [os.environ.get("PYTHONPATH")])])

#: For tests of threads that give way (utmost.web.priority): Linux's, seen only from above them.
needs_thread_priorities = pytest.mark.skipif(
    sys.platform != "linux" or os.getpriority(os.PRIO_PROCESS, 0) >= LOWER_NICE,
    reason="thread priorities are Linux's, and this process must run above the lowered ones",
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "test.duckdb") as opened:
        yield opened


def raw_lines(records: Sequence[Any]) -> pa.Table:
    """Number ``records`` from 1 as raw lines; dicts are serialised, bytes/str kept as sent."""
    lines = [
        r if isinstance(r, bytes) else r.encode() if isinstance(r, str) else orjson.dumps(r) for r in records
    ]
    return pa.table(
        {"lineno": pa.array(range(1, len(lines) + 1), pa.int64()), "line": pa.array(lines, pa.large_binary())}
    )


def event(name: str = "Page View", time: float = 1_700_000_000, distinct_id: str = "d1", **properties: Any) -> dict:
    """A minimal valid export event; keyword arguments become properties."""
    return {"event": name, "properties": {"time": time, "distinct_id": distinct_id, **properties}}


def stored(store: Store, columns: str = "*", project: str = "default") -> list[dict[str, Any]]:
    cursor = store.reader().execute(f"SELECT {columns} FROM events WHERE project = ? ORDER BY seq", [project])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory) -> Iterator[Cluster]:
    """A standalone Spark cluster on 127.0.0.1 for the whole run: a master and two workers."""
    with standalone_cluster(tmp_path_factory.mktemp("spark-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def spark(spark_cluster: Cluster):
    """One Spark session for the whole run (starting one costs seconds), on the standalone
    cluster: the parity suite runs where a question's work is spread over executors in other
    JVMs, not all in the driver's. Local mode (the CLI's default) is held to DuckDB's answers
    through the CLI (``tests/test_cli.py``)."""
    from utmost.backends.spark import spark_session

    session = spark_session(spark_cluster.url, SESSION_CONF)
    yield session
    session.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A collector on 127.0.0.1 over a fresh file, with the wire fixtures' project and ``other``."""
    yield from running_server(tmp_path)


CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's services, which on a
# closed network means a flood of failing requests.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole run; each test opens its own context.

    Playwright's own browser downloads are never used (no ``playwright install``):
    ``scripts/test`` installs Debian's chromium.
    """
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: scripts/test installs Debian's chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
