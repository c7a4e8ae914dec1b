"""The ``--db`` file through the real command: reads never create or change a file (issue 21,
item 5), and ``utmost demo`` replaces only a database it made (item 1)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest
from collector.live import free_port
from conftest import event
from test_cli import utmost

import utmost as api
from utmost.errors import DatabaseFileError
from utmost.store import Store

MISSING = "error: {}: no such file (`utmost import` or `utmost project create` makes a database)"
NOT_DUCKDB = "error: {}: not a utmost database (not a DuckDB file)"
READS = [
    ["attribute", "--conversion", "Reservation Completed"],
    ["journey", "user-000001", "--conversion", "Reservation Completed"],
    ["export", "--parquet", "parquet"],
    ["project", "list"],
    ["project", "secret", "default"],
]


def listing(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``folder`` with its size, modification time and mode."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_mode)
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("command", READS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize(("name", "message"), [("missing.duckdb", MISSING), ("export.jsonl", NOT_DUCKDB)])
def test_a_read_of_a_missing_or_foreign_file_says_so_and_changes_nothing(tmp_path, command, name, message):
    (tmp_path / "export.jsonl").write_bytes(orjson.dumps(event()) + b"\n")
    before = listing(tmp_path)
    result = utmost(*command, "--db", name, cwd=tmp_path)
    assert (result.returncode, result.stderr, result.stdout) == (2, message.format(name) + "\n", "")
    assert listing(tmp_path) == before


def test_the_python_api_raises_for_a_missing_or_foreign_file_and_changes_nothing(tmp_path):
    (tmp_path / "export.jsonl").write_bytes(orjson.dumps(event()) + b"\n")
    before = listing(tmp_path)
    for name, message in (("missing.duckdb", MISSING), ("export.jsonl", NOT_DUCKDB)):
        path = tmp_path / name
        with pytest.raises(DatabaseFileError) as caught:
            api.attribute("Reservation Completed", db=path)
        assert f"error: {caught.value}" == message.format(path)
        with pytest.raises(ValueError, match=f"^{path}: "):
            api.journey("user-000001", "Reservation Completed", db=path)
    assert listing(tmp_path) == before


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reads")
    assert utmost("demo", "--visitors", "200", "--no-serve", "--db", "d.duckdb", cwd=folder).returncode == 0
    return folder


@pytest.mark.parametrize("command", READS[:4], ids=lambda c: " ".join(c[:2]))
def test_a_read_of_a_database_changes_no_file_beside_it(demo_folder, tmp_path, command):
    with Store(demo_folder / "d.duckdb", read_only=True) as store:
        ((person,),) = store.reader().execute(
            "SELECT distinct_id FROM events WHERE event = 'Reservation Completed' ORDER BY seq LIMIT 1").fetchall()
    before = listing(demo_folder)
    replaced = {"parquet": str(tmp_path / "parquet"), "user-000001": person}
    command = [replaced.get(part, part) for part in command]
    result = utmost(*command, "--db", str(demo_folder / "d.duckdb"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert listing(demo_folder) == before


def test_demo_refuses_a_database_it_did_not_make_and_leaves_it_as_it_was(tmp_path):
    (tmp_path / "events.jsonl").write_bytes(orjson.dumps(event()) + b"\n")
    assert utmost("import", "--db", "real.duckdb", "events.jsonl", cwd=tmp_path).returncode == 0
    before = listing(tmp_path)
    content = (tmp_path / "real.duckdb").read_bytes()
    for name, problem in (
        ("real.duckdb", "not a demo database; `utmost demo` replaces only one it made (choose another --db)"),
        ("events.jsonl", "not a utmost database (not a DuckDB file)"),
    ):
        refused = utmost("demo", "--db", name, "--no-serve", "--visitors", "100", cwd=tmp_path)
        assert (refused.returncode, refused.stderr, refused.stdout) == (2, f"error: {name}: {problem}\n", "")
    assert listing(tmp_path) == before and (tmp_path / "real.duckdb").read_bytes() == content


@contextmanager
def serving(folder: Path, db: str) -> Iterator[subprocess.Popen]:
    """``utmost serve --db DB`` started in ``folder`` (a short command line, named whole)."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "utmost", "serve", "--db", db, "--port", str(port)],
                              cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "utmost serve did not start"
                time.sleep(0.05)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_demo_refuses_a_database_a_server_holds_naming_the_server(tmp_path):
    assert utmost("demo", "--db", "d.duckdb", "--no-serve", "--visitors", "100", cwd=tmp_path).returncode == 0
    with serving(tmp_path, "d.duckdb") as server:
        before = listing(tmp_path)
        refused = utmost("demo", "--db", "d.duckdb", "--no-serve", "--visitors", "100", cwd=tmp_path)
        assert listing(tmp_path) == before
        python = Path(sys.executable).name
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (
        f"error: d.duckdb: held by another process: PID {server.pid} ({python} -m utmost serve --db d.duckdb"
        f" --port {server.args[-1]}); stop it, or use another file\n")


def test_demo_does_not_read_utmost_db_and_its_help_says_so(tmp_path):
    (tmp_path / "events.jsonl").write_bytes(orjson.dumps(event()) + b"\n")
    env = {"UTMOST_DB": str(tmp_path / "real.duckdb")}
    assert utmost("import", "events.jsonl", cwd=tmp_path, env=env).returncode == 0
    before = listing(tmp_path)
    made = utmost("demo", "--no-serve", "--visitors", "100", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    assert set(listing(tmp_path)) == {*before, "utmost-demo.duckdb"}
    assert {name: stat for name, stat in listing(tmp_path).items() if name in before} == before
    helped = " ".join(utmost("demo", "--help", cwd=tmp_path).stdout.split())
    assert "--db FILE DuckDB file (UTMOST_DB is not read). [default: utmost-demo.duckdb]" in helped
