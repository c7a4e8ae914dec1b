"""When the writer moves the write-ahead log into the file, and what an import leaves set."""

from __future__ import annotations

import time
from pathlib import Path

from utmost.store import Store
from utmost.store.importer import import_files
from utmost.store.writer import IDLE_SECONDS

from conftest import event, raw_lines


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


def threshold(store: Store) -> str:
    (value,) = store.reader().execute("SELECT current_setting('checkpoint_threshold')").fetchone()
    return value


def test_an_import_leaves_the_writers_settings_as_they_were(store, tmp_path):
    before = threshold(store)
    assert before == "244.1 MiB"  # CHECKPOINT_THRESHOLD, 256 MB, as DuckDB spells it
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(raw_lines([event(distinct_id=f"d{n}") for n in range(10)]).column("line").to_pylist()))
    assert import_files(store, "default", [path]).imported == 10
    assert threshold(store) == before
