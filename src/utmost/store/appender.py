"""Many small event batches, one query: how concurrent collector requests share the store.

A browser batch holds 1–50 events, but judging a batch costs ~10 ms of planning whatever its
size, and every insert and commit has a fixed cost too. So batches are not stored one by one:
every batch that arrives while the writer is busy waits in a list, and the next writer round
takes the whole list, judges and inserts it per project in one go (in arrival order, so the
first copy of a duplicate wins across requests too) inside the writer's group commit. Each
caller's future resolves only after the commit that holds its rows.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from utmost.store.ingest import insert_lines
from utmost.store.writer import Writer

#: Rejected lines are reported per request, all of them (a request holds at most 2,000).
_ALL = 2**31


@dataclass
class _Batch:
    project: str
    lines: pa.Table
    #: Resolves to the batch's rejected lines, ``[(lineno, reason)]`` in its own numbering.
    future: Future[list[tuple[int, str]]] = field(default_factory=Future)


class Appender:
    """Queues raw-line batches for the writer's next round."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._lock = threading.Lock()
        self._waiting: list[_Batch] = []

    def append(self, project: str, lines: pa.Table) -> Future[list[tuple[int, str]]]:
        """Store the batch's valid, new events; the future gives its rejected lines."""
        batch = _Batch(project, lines)
        with self._lock:
            self._waiting.append(batch)
            first = len(self._waiting) == 1
        if first:  # later arrivals ride on the round this one schedules
            round_ = _Round(self)
            self._writer.submit(round_).add_done_callback(round_.settle)
        return batch.future

    def take(self) -> list[_Batch]:
        with self._lock:
            taken, self._waiting = self._waiting, []
        return taken


class _Round:
    """One writer job storing everything that waited; settles the callers after the commit."""

    def __init__(self, appender: Appender) -> None:
        self._appender = appender
        self._batches: list[_Batch] | None = None
        self._rejected: list[list[tuple[int, str]]] = []

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        # The writer may run a job twice (alone, after its group failed): take the batches once.
        if self._batches is None:
            self._batches = self._appender.take()
        rejected: dict[int, list[tuple[int, str]]] = {}
        for project in dict.fromkeys(batch.project for batch in self._batches):
            mine = [(n, batch) for n, batch in enumerate(self._batches) if batch.project == project]
            ranges, lines = _concatenated([batch.lines for _, batch in mine])
            result = insert_lines(con, project, lines, reported=_ALL)
            for (n, _), (after, last) in zip(mine, ranges):
                rejected[n] = [(line - after, why) for line, why in result.rejections if after < line <= last]
        self._rejected = [rejected[n] for n in range(len(self._batches))]

    def settle(self, done: Future[None]) -> None:
        """Called once the writer committed (or gave up on) this round."""
        error = done.exception()
        for n, batch in enumerate(self._batches or []):
            if error is None:
                batch.future.set_result(self._rejected[n])
            else:
                batch.future.set_exception(error)


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
