"""A full disk refuses writes, nothing half-stored, and the writer resumes once there is room.

On a real full filesystem (a small tmpfs, :mod:`store.disk`): DuckDB's failed commit leaves no
transaction to roll back, and its failed checkpoint invalidates the file until it is attached
again; before, either one left every later write unanswered or failing.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest
from conftest import event, raw_lines
from store.disk import fill, small_disk
from store.test_spill import held_checkpoint  # noqa: F401 (a fixture)

from utmost.errors import UnavailableError
from utmost.store import Store
from utmost.store.spill import Spill
from utmost.store.writer import IDLE_SECONDS

#: How long a write may take to be answered, refused or not.
ANSWER_SECONDS = 10


def batch(prefix: str, size: int = 50):
    return raw_lines([event(distinct_id=f"{prefix}{n}", **{"$insert_id": f"{prefix}{n}"}) for n in range(size)])


def insert_ids(store: Store) -> list[str]:
    return [row[0] for row in store.reader().execute("SELECT insert_id FROM events").fetchall()]


def append_until_refused(store: Store, acknowledged: list[str]) -> UnavailableError:
    """Append batches until one is refused (the log's last page may take a few first)."""
    for number in range(20):
        prefix = f"full{number}-"
        try:
            store.append("default", batch(prefix)).result(ANSWER_SECONDS)
        except UnavailableError as error:
            return error
        acknowledged.extend(f"{prefix}{n}" for n in range(50))
    raise AssertionError("a full disk took 20 rounds")


def test_a_full_disk_refuses_writes_until_there_is_room_and_stores_only_what_it_answered(tmp_path):
    acknowledged: list[str] = []
    with small_disk(tmp_path / "disk") as disk:
        with Store(disk / "db.duckdb", row_group_size=2048) as store:
            store.append("default", batch("before-")).result(ANSWER_SECONDS)
            acknowledged += [f"before-{n}" for n in range(50)]
            filler = fill(disk)
            refused = append_until_refused(store, acknowledged)
            assert "No space left on device" in refused.reason and refused.retry_after > 0
            updates = [((f"d{n}",), "$set", {"note": "x" * 200}) for n in range(500)]  # more than the page
            with pytest.raises(UnavailableError):
                store.submit_profiles("people", "default", updates).result(ANSWER_SECONDS)
            assert "No space left on device" in store.write_failure()
            assert sorted(insert_ids(store)) == sorted(acknowledged)  # reads go on

            filler.unlink()
            assert store.write_failure() is None  # it tried a write, with no traffic
            store.append("default", batch("after-")).result(ANSWER_SECONDS)
            acknowledged += [f"after-{n}" for n in range(50)]
            fill(disk)  # closes on a full disk
        (disk / "filler").unlink()
        with Store(disk / "db.duckdb") as store:
            assert sorted(insert_ids(store)) == sorted(acknowledged)


def test_a_checkpoint_that_fails_on_a_full_disk_leaves_the_file_readable_and_writable_once_there_is_room(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        with Store(disk / "db.duckdb") as store:
            store.append("default", batch("logged-", 2000)).result(ANSWER_SECONDS)  # in the log
            filler = fill(disk)
            time.sleep(IDLE_SECONDS + 1)  # the idle checkpoint fails: DuckDB invalidates the file
            assert len(insert_ids(store)) == 2000  # attached again: readable
            assert "Checkpoint failed" in store.write_failure()
            with pytest.raises(UnavailableError):
                store.append("default", batch("refused-")).result(ANSWER_SECONDS)
            filler.unlink()
            store.append("default", batch("after-")).result(ANSWER_SECONDS)
            assert store.write_failure() is None
            assert len(insert_ids(store)) == 2050


def test_the_spill_file_fails_on_a_full_disk_and_works_once_there_is_room(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        spill = Spill(disk / "db.duckdb.spill")
        spill.put("default", 0, batch("a", 1000))
        filler = fill(disk)
        with pytest.raises(duckdb.Error):
            for number in range(20):  # the log's last page may take a few first
                spill.put("default", 1000 * (number + 1), batch("b", 1000))
        with pytest.raises(duckdb.Error):
            spill.compact()  # a failed checkpoint invalidates the file: it is opened again
        filler.unlink()
        spill.put("default", 100_000, batch("c", 10))
        kept = spill.lines(100_000)
        assert kept.num_rows % 1000 == 10 and kept.column("seq")[-1].as_py() == 100_010
        spill.forget(100_010)
        spill.close()
        assert not spill.exists()


def test_rounds_spilled_before_the_disk_filled_are_kept_and_the_rest_refused_or_stored(tmp_path, held_checkpoint):  # noqa: F811 (the fixture)
    """The disk fills while the file checkpoints: the spill file cannot take the next round, the
    checkpoint fails (DuckDB invalidates the file), the round is refused, nothing is lost."""
    go, started = held_checkpoint
    acknowledged = [f"logged-{n}" for n in range(200)] + [f"spilled-{n}" for n in range(200)]
    with small_disk(tmp_path / "disk") as disk:
        with Store(disk / "db.duckdb") as store:
            store.append("default", batch("logged-", 200)).result(ANSWER_SECONDS)  # then a checkpoint
            assert started.wait(ANSWER_SECONDS)
            store.append("default", batch("spilled-", 200)).result(ANSWER_SECONDS)
            assert Path(f"{store.path}.spill").exists()
            filler = fill(disk)
            late = store.append("default", batch("late-", 200))
            go.set()
            with pytest.raises(UnavailableError, match="No space left on device"):
                late.result(ANSWER_SECONDS)
            # Reads go on (attached again), without the spilled lines until there is room to move them.
            assert sorted(insert_ids(store)) == sorted(acknowledged[:200])
            assert store.write_failure() is not None
            filler.unlink()
            store.append("default", batch("after-", 200)).result(ANSWER_SECONDS)
            acknowledged += [f"after-{n}" for n in range(200)]
            assert sorted(insert_ids(store)) == sorted(acknowledged)
        assert not Path(f"{store.path}.spill").exists()
