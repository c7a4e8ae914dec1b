"""Many small event batches, one insert: how concurrent collector requests share the writer.

A browser batch holds 1–50 events. Inserting each request on its own would cost one
deduplicating ``INSERT`` per request; instead every batch that arrives while the writer is busy
waits in a list, and the next writer round inserts the whole list at once (per project), in
arrival order, inside the writer's group commit. Each caller's future resolves only after that
commit, so a request is answered once its events are in the file.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from utmost.store.ingest import insert_staged
from utmost.store.writer import Writer


@dataclass
class _Pending:
    project: str
    staged: pa.Table
    future: Future[None] = field(default_factory=Future)


class Appender:
    """Queues staged batches (:func:`utmost.store.ingest.stage` results) for the writer."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._lock = threading.Lock()
        self._waiting: list[_Pending] = []

    def append(self, project: str, staged: pa.Table) -> Future[None]:
        """Store the batch's valid, new rows; the future resolves after the commit."""
        pending = _Pending(project, staged)
        with self._lock:
            self._waiting.append(pending)
            first = len(self._waiting) == 1
        if first:  # later arrivals ride on the round this one schedules
            round_ = _Round(self)
            self._writer.submit(round_).add_done_callback(round_.settle)
        return pending.future

    def _take(self) -> list[_Pending]:
        with self._lock:
            taken, self._waiting = self._waiting, []
        return taken


class _Round:
    """One writer job inserting everything that waited; settles the callers after commit."""

    def __init__(self, appender: Appender) -> None:
        self._appender = appender
        self._batches: list[_Pending] | None = None

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        # The writer may run a job twice (alone, after its group failed): take the batches once.
        if self._batches is None:
            self._batches = self._appender._take()
        for project in dict.fromkeys(batch.project for batch in self._batches):
            insert_staged(con, project, _concatenated([b.staged for b in self._batches if b.project == project]))

    def settle(self, done: Future[None]) -> None:
        error = done.exception()
        for batch in self._batches or []:
            if error is None:
                batch.future.set_result(None)
            else:
                batch.future.set_exception(error)


def _concatenated(tables: list[pa.Table]) -> pa.Table:
    """One staged table, line numbers running on across batches so arrival order is kept."""
    renumbered, offset = [], 0
    for table in tables:
        lineno = pc.add(table.column("lineno"), pa.scalar(offset, pa.int64()))
        renumbered.append(table.set_column(table.schema.get_field_index("lineno"), "lineno", lineno))
        offset = pc.max(lineno).as_py() or offset
    return pa.concat_tables(renumbered)
