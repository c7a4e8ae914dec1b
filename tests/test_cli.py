"""End to end through the real ``utmost`` command, on real DuckDB files in a temp folder."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import orjson
import pytest

from utmost.store import Store

from conftest import event, stored


def utmost(*args: str, cwd, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "utmost", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=300,
    )


def test_help_on_every_command(tmp_path):
    for command in ([], ["import"], ["project"], ["project", "create"], ["project", "list"], ["demo"]):
        result = utmost(*command, "--help", cwd=tmp_path)
        assert result.returncode == 0 and "Usage: utmost" in result.stdout


def test_import_reports_bad_lines_and_summary(tmp_path):
    good = [event(time=1_700_000_000 + i, **{"$insert_id": f"i{i}"}) for i in range(5)]
    body = b"".join(orjson.dumps(r) + b"\n" for r in good[:3]) + b"{oops\n" + orjson.dumps(good[3]) + b"\n"
    (tmp_path / "a.jsonl").write_bytes(body)
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(orjson.dumps(good[3]) + b"\n" + orjson.dumps(good[4])))
    result = utmost("import", "a.jsonl", "b.jsonl.gz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "a.jsonl:4: invalid JSON" in result.stderr
    assert "imported 5 · duplicates 1 · rejected 1" in result.stdout
    with Store(tmp_path / "utmost.duckdb") as store:
        assert len(stored(store)) == 5
    again = utmost("import", "a.jsonl", cwd=tmp_path)
    assert "imported 0 · duplicates 4 · rejected 1" in again.stdout


def test_strict_import_exits_non_zero_and_imports_nothing(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(orjson.dumps(event()) + b"\n{oops\n")
    result = utmost("import", "--strict", "--db", "s.duckdb", "a.jsonl", cwd=tmp_path)
    assert result.returncode == 1
    assert "a.jsonl:2: invalid JSON" in result.stderr and "--strict imported nothing" in result.stderr
    with Store(tmp_path / "s.duckdb") as store:
        assert stored(store) == []


def test_db_from_environment_and_projects(tmp_path):
    env = {"UTMOST_DB": str(tmp_path / "env.duckdb")}
    created = utmost("project", "create", "hotel", "--token", "test-token", cwd=tmp_path, env=env)
    assert created.returncode == 0 and "token  test-token" in created.stdout and "secret " in created.stdout
    listed = utmost("project", "list", cwd=tmp_path, env=env)
    assert "hotel" in listed.stdout and "test-token" in listed.stdout and "default" in listed.stdout
    duplicate = utmost("project", "create", "hotel", cwd=tmp_path, env=env)
    assert duplicate.returncode == 2 and duplicate.stderr.strip() == "error: name already used by project 'hotel'"
    (tmp_path / "a.jsonl").write_bytes(orjson.dumps(event()) + b"\n")
    assert utmost("import", "--project", "hotel", "a.jsonl", cwd=tmp_path, env=env).returncode == 0
    with Store(tmp_path / "env.duckdb") as store:
        assert len(stored(store, project="hotel")) == 1 and stored(store) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "nope.jsonl"], "error: nope.jsonl: no such file"),
        (["import", "--project", "nope", "a.jsonl"], "error: no project 'nope' (see `utmost project list`)"),
    ],
)
def test_errors_are_one_line_without_traceback(tmp_path, args, message):
    (tmp_path / "a.jsonl").write_bytes(orjson.dumps(event()) + b"\n")
    result = utmost(*args, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == message


def test_demo_builds_a_fresh_database_through_import(tmp_path):
    result = utmost("demo", "--visitors", "300", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with Store(tmp_path / "utmost-demo.duckdb") as store:
        summary = store.summary("default")
    assert f"{summary['events']:,} events" in result.stdout and "Reservation Completed" in result.stdout
    assert f"imported {summary['events']:,} · duplicates 0 · rejected 0" in result.stdout
    again = utmost("demo", "--visitors", "300", cwd=tmp_path)
    assert f"imported {summary['events']:,} · duplicates 0" in again.stdout  # fresh, not appended
