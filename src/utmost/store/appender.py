"""Many small event batches, one query: how concurrent collector requests share the store.

A browser batch holds 1–50 events, but the normalising query costs ~20 ms to plan whatever
its size, and each insert has its own fixed cost too. So batches are not judged one by one:
every batch that arrives while the previous group is being normalised waits in a list, and
the next group is normalised in one query (on a reader cursor) and inserted in one statement
(on the writer, inside its group commit). Normalising group k+1 overlaps inserting group k.
Groups are inserted in arrival order, so the first copy of a duplicate wins across requests
too. Each caller's future resolves only after the commit that holds its rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from utmost.store.ingest import insert_staged, stage
from utmost.store.writer import Writer


@dataclass
class _Batch:
    project: str
    lines: pa.Table
    #: Resolves to the batch's ``lineno, reason`` rows (its own line numbers) after the commit.
    future: Future[pa.Table] = field(default_factory=Future)


class Appender:
    """Judges and stores raw-line batches in groups; one stager thread, the store's writer."""

    def __init__(self, writer: Writer, reader: Callable[[], duckdb.DuckDBPyConnection]) -> None:
        self._writer = writer
        self._reader = reader
        self._ready = threading.Condition()
        self._waiting: list[_Batch] = []
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="utmost-stager", daemon=True)
        self._thread.start()

    def append(self, project: str, lines: pa.Table) -> Future[pa.Table]:
        """Store the batch's valid, new events; the future gives each line's rejection reason."""
        batch = _Batch(project, lines)
        with self._ready:
            if self._closed:
                raise RuntimeError("the store is closed")
            self._waiting.append(batch)
            self._ready.notify()
        return batch.future

    def close(self) -> None:
        """Finish the waiting batches, then stop."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join()

    def _loop(self) -> None:
        cursor = self._reader()
        while True:
            with self._ready:
                while not self._waiting and not self._closed:
                    self._ready.wait()
                group, self._waiting = self._waiting, []
            if not group:
                return
            try:
                self._store(cursor, group)
            except Exception as error:  # handed to every caller of the group
                for batch in group:
                    batch.future.set_exception(error)

    def _store(self, cursor: duckdb.DuckDBPyConnection, group: list[_Batch]) -> None:
        for project in dict.fromkeys(batch.project for batch in group):
            batches = [batch for batch in group if batch.project == project]
            ranges, lines = _concatenated([batch.lines for batch in batches])
            staged = stage(cursor, project, lines)
            judged = [_own_lines(staged, after, last) for after, last in ranges]
            done = self._writer.submit(lambda con, staged=staged, project=project: insert_staged(con, project, staged))
            done.add_done_callback(lambda done, batches=batches, judged=judged: _settle(done, batches, judged))


def _concatenated(tables: list[pa.Table]) -> tuple[list[tuple[int, int]], pa.Table]:
    """One table of lines, renumbered to run on across batches; each batch's (after, last) range."""
    ranges, renumbered, offset = [], [], 0
    for table in tables:
        lineno = pc.add(table.column("lineno"), pa.scalar(offset, pa.int64()))
        renumbered.append(table.set_column(table.schema.get_field_index("lineno"), "lineno", lineno))
        last = pc.max(lineno).as_py() or offset
        ranges.append((offset, last))
        offset = last
    return ranges, pa.concat_tables(renumbered)


def _own_lines(staged: pa.Table, after: int, last: int) -> pa.Table:
    """A batch's ``lineno, reason`` rows, numbered as the batch numbered them."""
    lineno = staged.column("lineno")
    mine = staged.filter(pc.and_(pc.greater(lineno, after), pc.less_equal(lineno, last))).select(["lineno", "reason"])
    return mine.set_column(0, "lineno", pc.subtract(mine.column("lineno"), pa.scalar(after, pa.int64())))


def _settle(done: Future[object], batches: list[_Batch], judged: list[pa.Table]) -> None:
    error = done.exception()
    for batch, rows in zip(batches, judged):
        if error is None:
            batch.future.set_result(rows)
        else:
            batch.future.set_exception(error)
