"""A store opened to read changes nothing on disk, and names what is wrong with a path
(issue 21, item 5); a store opened to write fills no one else's DuckDB file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import orjson
import pytest
from conftest import event, raw_lines

from utmost.errors import DatabaseFileError, ProjectError, UtmostError
from utmost.store import Store
from utmost.store.schema import SCHEMA_VERSION

NO_SUCH_FILE = "no such file (`utmost import` or `utmost project create` makes a database)"


def listing(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under ``folder`` with its size, modification time and mode."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_mode)
            for p in sorted(folder.rglob("*"))}


def refused(path: Path) -> str:
    with pytest.raises(DatabaseFileError) as caught:
        Store(path, read_only=True)
    return str(caught.value)


def test_a_missing_file_is_named_and_not_created(tmp_path):
    assert refused(tmp_path / "missing.duckdb") == f"{tmp_path / 'missing.duckdb'}: {NO_SUCH_FILE}"
    assert listing(tmp_path) == {}


@pytest.mark.parametrize(("content", "problem"), [
    (orjson.dumps(event()) + b"\n", "not a utmost database (not a DuckDB file)"),
    (b"", "not a utmost database (not a DuckDB file)"),
])
def test_a_file_that_is_not_duckdb_is_named_and_left_as_it_was(tmp_path, content, problem):
    path = tmp_path / "export.jsonl"
    path.write_bytes(content)
    before = listing(tmp_path)
    assert refused(path) == f"{path}: {problem}"
    assert listing(tmp_path) == before and path.read_bytes() == content


def test_a_folder_is_named(tmp_path):
    assert refused(tmp_path) == f"{tmp_path}: not a utmost database (a folder)"


def test_a_duckdb_file_of_someone_elses_is_read_by_neither_mode_and_left_as_it_was(tmp_path):
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE orders (id INTEGER)")
    before = listing(tmp_path)
    assert refused(path) == f"{path}: not a utmost database (a DuckDB file with other tables)"
    with pytest.raises(DatabaseFileError, match="a DuckDB file with other tables"):
        Store(path)
    assert listing(tmp_path) == before
    with duckdb.connect(str(path)) as con:
        assert con.execute("SELECT table_name FROM duckdb_tables()").fetchall() == [("orders",)]


def test_an_empty_duckdb_file_is_not_a_utmost_database(tmp_path):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    assert refused(path) == f"{path}: not a utmost database (an empty DuckDB file)"


def test_an_older_schema_is_not_upgraded_by_a_read(tmp_path):
    path = tmp_path / "old.duckdb"
    with Store(path):
        pass
    with duckdb.connect(str(path)) as con:
        con.execute("DELETE FROM schema_version WHERE version = ?", [SCHEMA_VERSION])
    before = listing(tmp_path)
    assert refused(path) == (
        f"{path}: schema version {SCHEMA_VERSION - 1}, older than this utmost's {SCHEMA_VERSION}; a command that writes "
        "(`utmost import`, `utmost serve`) upgrades it in place")
    assert listing(tmp_path) == before


def test_reading_changes_no_file_and_writing_through_it_is_refused(tmp_path):
    path = tmp_path / "u.duckdb"
    with Store(path) as store:
        store.project()
        store.append("default", raw_lines([event()])).result()
    path.chmod(0o644)  # as an old utmost left it: only a store opened to write tightens it
    before = listing(tmp_path)
    with Store(path, read_only=True) as store:
        assert store.project().name == "default" and store.event_counts("default") == [("Page View", 1)]
        with pytest.raises(UtmostError, match=r"u\.duckdb is open for reading only$"):
            store.create_project("hotel")
        with pytest.raises(ProjectError, match=r"^no project 'hotel'"):
            store.project("hotel")
    assert listing(tmp_path) == before


def test_a_read_sees_what_a_log_left_beside_the_file_holds_and_leaves_the_log(tmp_path):
    """A process that died before its checkpoint leaves events in the log only."""
    path = tmp_path / "crashed.duckdb"
    script = ("import os, sys\nfrom utmost.store import Store\nfrom conftest import event, raw_lines\n"
              f"store = Store({str(path)!r})\nstore.project()\n"
              "store.append('default', raw_lines([event()])).result()\nos._exit(0)\n")
    tests = Path(__file__).parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), *sys.path])}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=tmp_path)
    assert Path(f"{path}.wal").exists()
    before = listing(tmp_path)
    with Store(path, read_only=True) as store:
        assert store.event_counts("default") == [("Page View", 1)]
    assert listing(tmp_path) == before


def test_a_database_that_must_exist_is_not_created(tmp_path):
    with pytest.raises(DatabaseFileError, match="no such file"):
        Store(tmp_path / "missing.duckdb", create=False)
    assert listing(tmp_path) == {}
