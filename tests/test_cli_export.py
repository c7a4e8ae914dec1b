"""``utmost export --parquet``: the one line it says after each export, and the one error line
(exit status 2) for a destination it cannot use."""

from __future__ import annotations

import time

import orjson
import pytest
from store.test_destinations import unreachable_s3
from store.test_export import EVENTS
from test_cli import utmost


@pytest.fixture
def db(tmp_path):
    (tmp_path / "events.jsonl").write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in EVENTS))
    assert utmost("import", "events.jsonl", "--db", "t.duckdb", cwd=tmp_path).returncode == 0
    return tmp_path


def test_each_export_says_what_it_rewrote(db):
    said = [utmost("export", "--parquet", "out", "--db", "t.duckdb", cwd=db).stdout]
    said.append(utmost("export", "--parquet", "out", "--db", "t.duckdb", cwd=db).stdout)
    assert utmost("people", "delete", "maya", "--yes", "--db", "t.duckdb", cwd=db).returncode == 0
    said.append(utmost("export", "--parquet", f"file://{db / 'out'}", "--db", "t.duckdb", cwd=db).stdout)
    assert said == [
        "exported 5 events: 3 dates rewritten, 0 unchanged → out\n",
        "exported 5 events: 0 dates rewritten, 3 unchanged → out\n",
        f"exported 3 events: 1 date rewritten, 1 unchanged, 1 removed → file://{db / 'out'}\n",
    ]


def test_an_unknown_scheme_is_one_error_line(db):
    done = utmost("export", "--parquet", "ftp://host/events", "--db", "t.duckdb", cwd=db)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("error: ftp://host/events: unknown scheme ftp://; expected a folder, file://, s3://, s3a://, "
                           "gs:// or hdfs://\n")


def test_an_unreachable_destination_is_one_error_line(db):
    url, started = unreachable_s3(), time.perf_counter()
    done = utmost("export", "--parquet", url, "--db", "t.duckdb", cwd=db)
    assert time.perf_counter() - started < 30
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"error: {url}: cannot reach it: ") and done.stderr.count("\n") == 1
