"""``utmost demo`` replaces only a database it made, and none that a process holds (issue 21, item 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import event, raw_lines
from test_read_only import listing

from utmost.errors import DatabaseFileError
from utmost.store import Store, discard_demo

HOLD = """import sys, time
from utmost.store import Store
store = Store(sys.argv[1], read_only=sys.argv[2] == "read")
print("holding", flush=True)
time.sleep(120)
"""


def made(path: Path, demo: bool) -> None:
    with Store(path) as store:
        if demo:
            store.mark_demo(seed=7, visitors=10)
        store.project()
        store.append("default", raw_lines([event()])).result()


@contextmanager
def held(path: Path, mode: str) -> Iterator[list[str]]:
    """``path`` opened by another process (to ``write`` or to ``read``); yields its command line."""
    script = path.parent / "hold.py"
    script.write_text(HOLD)
    command = [sys.executable, script.name, path.name, mode]  # short: a long one is cut at 120 characters
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=path.parent)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        yield [str(holder.pid), *command[1:]]  # a script run by Python is named by itself
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def test_a_demo_database_is_deleted_with_the_files_beside_it(tmp_path):
    path = tmp_path / "d.duckdb"
    made(path, demo=True)
    for suffix in (".wal", ".spill"):
        Path(f"{path}{suffix}").write_bytes(b"left by a crash")
    discard_demo(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    discard_demo(path)  # nothing there: nothing to do


@pytest.mark.parametrize(("write", "problem"), [
    (lambda path: made(path, demo=False),
     "not a demo database; `utmost demo` replaces only one it made (choose another --db)"),
    (lambda path: path.write_bytes(b'{"event": "Page View"}\n'), "not a utmost database (not a DuckDB file)"),
])
def test_any_other_file_is_refused_and_left_as_it_was(tmp_path, write, problem):
    path = tmp_path / "real.duckdb"
    write(path)
    before = listing(tmp_path)
    with pytest.raises(DatabaseFileError) as caught:
        discard_demo(path)
    assert str(caught.value) == f"{path}: {problem}"
    assert listing(tmp_path) == before


@pytest.mark.parametrize("mode", ["write", "read"])
def test_a_demo_database_a_process_holds_is_refused_naming_the_process(tmp_path, mode):
    path = tmp_path / "d.duckdb"
    made(path, demo=True)
    with held(path, mode) as (pid, *command):
        before = listing(tmp_path)
        with pytest.raises(DatabaseFileError) as caught:
            discard_demo(path)
        assert listing(tmp_path) == before
    assert str(caught.value) == (
        f"{path}: held by another process: PID {pid} ({' '.join(command)}); stop it, or use another file")


def test_a_log_without_its_database_is_refused(tmp_path):
    wal = tmp_path / "d.duckdb.wal"
    wal.write_bytes(b"someone's log")
    with pytest.raises(DatabaseFileError) as caught:
        discard_demo(tmp_path / "d.duckdb")
    assert str(caught.value) == f"{wal}: left without {tmp_path / 'd.duckdb'}; remove it, or use another file"
    assert wal.read_bytes() == b"someone's log"


def test_the_mark_is_in_demo_files_only(tmp_path):
    made(tmp_path / "demo.duckdb", demo=True)
    made(tmp_path / "real.duckdb", demo=False)
    with Store(tmp_path / "demo.duckdb", read_only=True) as demo, Store(tmp_path / "real.duckdb", read_only=True) as real:
        assert (demo.is_demo(), real.is_demo()) == (True, False)
