"""While the file checkpoints, rounds answer from the spill file; nothing is lost or reordered."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import event, raw_lines, stored

from utmost.store import Store, appender, spill, writer
from utmost.store.spill import Spill, SpilledLines


@pytest.fixture
def held_checkpoint(monkeypatch):
    """Every commit starts a checkpoint, and each checkpoint waits until the test lets it go."""
    go, started = threading.Event(), threading.Event()

    def checkpoint(connection):
        started.set()
        assert go.wait(30)
        connection.execute("CHECKPOINT")

    monkeypatch.setattr(writer, "CHECKPOINT_BYTES", 1)
    monkeypatch.setattr(writer, "_checkpoint", checkpoint)
    return go, started


@pytest.fixture
def held_move(monkeypatch):
    """Two lines a move; the mover's first move waits until the test lets it go (``release``),
    and says it has begun (``moving``)."""
    monkeypatch.setattr(spill, "MOVE_LINES", 2)
    moving, release = threading.Event(), threading.Event()
    move_spilled = SpilledLines.move

    def held(self, con):
        if threading.current_thread().name == "utmost-mover" and not release.is_set():
            moving.set()
            assert release.wait(30)
        return move_spilled(self, con)

    monkeypatch.setattr(SpilledLines, "move", held)
    return moving, release


def spill_path(store: Store) -> Path:
    return Path(f"{store.path}.spill")


def lines(*names: str, **properties):
    return raw_lines([event(distinct_id=name, **{"$insert_id": name}, **properties) for name in names])


def test_the_spill_file_and_its_log_are_owner_only(tmp_path, held_checkpoint):
    """As the database file and its log are, under the usual umask 022: they hold events too."""
    go, started = held_checkpoint
    found = os.umask(0o022)
    try:
        with Store(tmp_path / "db.duckdb") as store:
            store.append("default", lines("a1")).result()
            assert started.wait(10)
            assert store.append("default", lines("b1")).result(timeout=10) == []  # spilled
            names = ["db.duckdb", "db.duckdb.wal", "db.duckdb.spill", "db.duckdb.spill.wal"]
            assert {name: (tmp_path / name).stat().st_mode & 0o777 for name in names} == dict.fromkeys(names, 0o600)
            go.set()
    finally:
        os.umask(found)


@pytest.mark.parametrize("move_lines", [1, 1000], ids=["moved a line at a time", "moved at once"])
def test_rounds_answer_during_a_checkpoint_and_everything_lands_in_arrival_order(tmp_path, held_checkpoint, monkeypatch, move_lines):
    monkeypatch.setattr(spill, "MOVE_LINES", move_lines)
    go, started = held_checkpoint
    with Store(tmp_path / "db.duckdb") as store:
        assert store.append("default", lines("a1", "a2")).result() == []  # committed, then a checkpoint
        assert started.wait(10)
        # Plain lines answer while the checkpoint holds the file, from the spill file.
        assert store.append("default", lines("b1", "b2")).result(timeout=10) == []
        assert spill_path(store).exists()
        # A read waits until they are moved in: it sees every event answered before it.
        read = ThreadPoolExecutor(1).submit(stored, store, "insert_id")
        # A line for the ingest query waits for the checkpoint, and so does everything after it.
        merge = {"event": "$merge", "properties": {"$distinct_ids": ["c1", "c2"], "time": 1_700_000_000}}
        waiting = [store.append("default", raw_lines([merge, event(distinct_id="c3", **{"$insert_id": "c3"})]))]
        time.sleep(0.3)  # its round is set aside: the next batch has a round of its own
        waiting.append(store.append("default", lines("d1", "b1")))  # b1 again: the earlier copy stays
        time.sleep(0.3)
        assert not any(future.done() for future in [read, *waiting])
        go.set()
        assert {row["insert_id"] for row in read.result(timeout=30)} >= {"a1", "a2", "b1", "b2"}
        assert [future.result(timeout=30) for future in waiting] == [[], []]
        rows = stored(store, "event, insert_id, seq")
    assert not spill_path(store).exists()
    order = [row["insert_id"] for row in sorted(rows, key=lambda row: row["seq"])]
    assert order[:4] == ["a1", "a2", "b1", "b2"]
    assert order[5:] == ["c3", "d1"] and rows[[r["insert_id"] for r in rows].index(order[4])]["event"] == "$merge"
    assert len({row["seq"] for row in rows}) == len(rows) == 7


@pytest.mark.parametrize("live", [False, True], ids=["dated before", "dated after now"])
def test_rounds_answer_while_spilled_lines_move_in(tmp_path, held_checkpoint, held_move, live):
    """The moves run on a thread of their own, and rounds keep spilling behind them meanwhile.
    Moved two lines at a time, the later b1 comes in a move of its own, after the earlier
    one's; dated after now, that move skips the anti-join while the keys kept lately allow it."""
    when = {"time": time.time() + 60} if live else {}
    go, started = held_checkpoint
    moving, release = held_move
    with Store(tmp_path / "db.duckdb") as store:
        store.append("default", lines("a1", **when)).result()
        assert started.wait(10)
        assert store.append("default", lines("b1", "b2", **when)).result(timeout=10) == []  # spilled
        go.set()
        assert moving.wait(10)  # the checkpoint ended, and the first move is held
        assert store.append("default", lines("c1", "b1", **when)).result(timeout=10) == []  # answered meanwhile
        read = ThreadPoolExecutor(1).submit(stored, store, "insert_id, seq")
        time.sleep(0.3)
        assert not read.done()  # a read waits for the moves
        release.set()
        rows = read.result(timeout=30)
    assert [row["insert_id"] for row in rows] == ["a1", "b1", "b2", "c1"]  # the later b1 dropped
    assert not spill_path(store).exists()


def test_a_read_waiting_for_the_moves_holds_up_no_round(tmp_path, held_checkpoint, held_move):
    """A read waits until the spilled lines are moved in; the rounds after it keep answering
    meanwhile (they spill behind the moves), and the read sees every line answered before it."""
    go, started = held_checkpoint
    moving, release = held_move
    with Store(tmp_path / "db.duckdb") as store:
        store.append("default", lines("a1")).result()
        assert started.wait(10)
        assert store.append("default", lines("b1", "b2")).result(timeout=10) == []  # spilled
        go.set()
        assert moving.wait(10)  # the checkpoint ended, and the first move is held
        read = ThreadPoolExecutor(1).submit(stored, store, "insert_id")
        time.sleep(0.3)
        assert not read.done()
        assert store.append("default", lines("c1")).result(timeout=10) == []  # answered, the read waiting
        assert not read.done()
        release.set()
        assert [row["insert_id"] for row in read.result(timeout=30)] == ["a1", "b1", "b2", "c1"]


def test_the_mover_leaves_less_than_a_move_to_the_writer_and_rounds_stop_spilling(tmp_path, held_checkpoint, monkeypatch):
    """Beside rounds spilling as fast as it moves, a mover that waited for an empty file would
    keep every event written twice; it stops with less than a move left, for the writer."""
    monkeypatch.setattr(spill, "MOVE_LINES", 4)
    go, started = held_checkpoint
    moved, spilled = [], []
    move_spilled, put = SpilledLines.move, Spill.put

    def logged_move(self, con):
        moved.append((threading.current_thread().name, self.file.lines(spill.MOVE_LINES).num_rows))
        return move_spilled(self, con)

    def logged_put(self, project, seq_offset, lines):
        spilled.append(lines.num_rows)
        put(self, project, seq_offset, lines)

    monkeypatch.setattr(SpilledLines, "move", logged_move)
    monkeypatch.setattr(Spill, "put", logged_put)
    with Store(tmp_path / "db.duckdb") as store:
        store.append("default", lines("a1")).result()
        assert started.wait(10)
        assert store.append("default", lines("b1", "b2", "b3", "b4", "b5")).result(timeout=10) == []
        monkeypatch.setattr(writer, "CHECKPOINT_BYTES", 2**62)  # no checkpoint for c1 to spill during
        go.set()
        stored(store)  # waits for the moves
        store.append("default", lines("c1")).result()
        rows = stored(store, "insert_id")
    assert spilled == [5]  # c1 was stored as it came
    assert [name for name, lines_left in moved if lines_left] == ["utmost-mover", "utmost-writer"]
    assert [lines_left for _, lines_left in moved if lines_left] == [4, 1]  # a move at most, then the rest
    assert [row["insert_id"] for row in rows] == ["a1", "b1", "b2", "b3", "b4", "b5", "c1"]


def test_a_spilled_batch_missing_a_line_number_keeps_its_numbering(tmp_path, held_checkpoint):
    """A record the collector could not read leaves its line number out of the batch; seq keeps
    the gap, as a round stored in the file keeps it, so the next batch follows the highest."""
    go, started = held_checkpoint
    with Store(tmp_path / "db.duckdb") as store:
        store.append("default", lines("a1")).result()
        assert started.wait(10)
        gapped = lines("b1", "b2", "b3").filter(pa.array([True, False, True]))  # line 2 unread
        assert store.append("default", gapped).result(timeout=10) == []
        assert store.append("default", lines("c1")).result(timeout=10) == []
        assert spill_path(store).exists()
        go.set()
        rows = stored(store, "insert_id, seq")
    first = rows[0]["seq"]
    assert [(row["insert_id"], row["seq"] - first) for row in rows] == [("a1", 0), ("b1", 1), ("b3", 3), ("c1", 4)]


def test_a_store_opened_after_a_crash_stores_what_the_spill_file_kept(tmp_path):
    path = tmp_path / "db.duckdb"
    Store(path).close()
    spill = Spill(Path(f"{path}.spill"))
    spill.put("default", 100, lines("x1", "x2", "x1"))  # as answered before the crash: seq 101-103
    spill._open().close()  # the process dies with the file as it is
    for _ in range(2):  # the second time as if it died after storing them, before deleting the file
        with Store(path) as store:
            rows = stored(store, "insert_id, seq")
        assert sorted((row["seq"], row["insert_id"]) for row in rows) == [(101, "x1"), (102, "x2")]
        assert not Path(f"{path}.spill").exists()
        spill = Spill(Path(f"{path}.spill"))
        spill.put("default", 100, lines("x1", "x2", "x1"))
        spill._open().close()


@pytest.mark.parametrize("limit", ["SPLIT_AHEAD_LINES", "MAX_SPILLED"], ids=["an import's batch", "the spill file full"])
def test_some_rounds_wait_for_the_checkpoint(tmp_path, held_checkpoint, monkeypatch, limit):
    """A batch decoded ahead (an import's) never spills, nor one that would fill the spill file past its limit."""
    monkeypatch.setattr(appender if limit == "SPLIT_AHEAD_LINES" else spill, limit, 2)
    go, started = held_checkpoint
    with Store(tmp_path / "db.duckdb") as store:
        store.append("default", lines("a1")).result()
        assert started.wait(10)
        waiting = store.append("default", lines("b1", "b2", "b3"))
        time.sleep(0.3)
        assert not waiting.done() and not spill_path(store).exists()
        go.set()
        assert waiting.result(timeout=30) == []
        assert [row["insert_id"] for row in stored(store, "insert_id")] == ["a1", "b1", "b2", "b3"]


def test_spilled_lines_the_rules_now_reject_are_dropped_and_the_rest_keep_their_seq(tmp_path):
    """Only a change of the rules between spilling and moving in gets here (spilled lines were plain)."""
    path = tmp_path / "db.duckdb"
    Store(path).close()
    spill = Spill(Path(f"{path}.spill"))
    late = {"event": "Late", "properties": {"distinct_id": "y", "time": "soon", "$insert_id": "y2"}}
    merge = {"event": "$merge", "properties": {"$distinct_ids": ["y", "z"], "time": 1_700_000_000, "$insert_id": "y3"}}
    spill.put("default", 10, raw_lines([event(distinct_id="y", **{"$insert_id": "y1"}), late, merge]))
    spill._open().close()
    with Store(path) as store:
        rows = stored(store, "event, insert_id, seq")
    assert [(row["seq"], row["event"]) for row in rows] == [(11, "Page View"), (13, "$merge")]
