"""When the writer moves the write-ahead log into the file, and what an import leaves set."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import event, raw_lines

from utmost.store import Store
from utmost.store.importer import import_files
from utmost.store.writer import IDLE_SECONDS


def wal_bytes(store: Store) -> int:
    wal = Path(f"{store.path}.wal")
    return wal.stat().st_size if wal.exists() else 0


def test_small_commits_stay_in_the_log_until_the_writer_is_idle(store):
    store.insert_lines("default", raw_lines([event(distinct_id=f"d{n}") for n in range(50)])).result()
    assert wal_bytes(store) > 0  # below the threshold: no checkpoint at commit
    deadline = time.monotonic() + IDLE_SECONDS + 10
    while wal_bytes(store) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert wal_bytes(store) == 0


def setting(store: Store, name: str) -> str:
    (value,) = store.reader().execute(f"SELECT current_setting('{name}')::VARCHAR").fetchone()
    return value


def threshold(store: Store) -> str:
    return setting(store, "checkpoint_threshold")


def test_an_import_leaves_the_writers_settings_as_they_were(store, tmp_path):
    before = threshold(store)
    assert before == "931.3 GiB"  # CHECKPOINT_THRESHOLD, 1000 GB, as DuckDB spells it
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(raw_lines([event(distinct_id=f"d{n}") for n in range(10)]).column("line").to_pylist()))
    assert import_files(store, "default", [path]).imported == 10
    assert threshold(store) == before


def test_an_import_runs_duckdb_on_one_thread_and_gives_the_rest_back(store, tmp_path, monkeypatch):
    import utmost.store.importer as importer

    seen = []
    real = importer.fresh_rows
    monkeypatch.setattr(importer, "fresh_rows", lambda con, *a: seen.append(setting(store, "threads")) or real(con, *a))
    before = {name: setting(store, name) for name in ("threads", "memory_limit")}
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(raw_lines([event(distinct_id=f"d{n}") for n in range(10)]).column("line").to_pylist()))
    assert import_files(store, "default", [path]).imported == 10
    assert seen == [str(importer.IMPORT_THREADS)]
    assert {name: setting(store, name) for name in before} == before
