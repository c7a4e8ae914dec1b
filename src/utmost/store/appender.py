"""Many small event batches, one query: how concurrent collector requests share the store.

A browser batch holds 1–50 events, but judging a batch costs ~10 ms of planning whatever its
size, and every insert and commit has a fixed cost too. So batches are not stored one by one:
every batch that arrives while the writer is busy waits in a list, and the next writer round
takes the whole list, judges and inserts it per project in one go (in arrival order, so the
first copy of a duplicate wins across requests too) inside the writer's group commit. Each
caller's future resolves only after the commit that holds its rows.

A batch is raw lines (``lineno``, ``line``) or numbered records (parsed, or the JSON text they
came in); plain ones skip the ingest query altogether (:func:`utmost.store.inserts.split_lines`),
so a round of them costs an insert and a commit. Such a round numbers its rows (``seq``) from
the store's :class:`~utmost.store.inserts.Numbering`, not from DuckDB's ``max(seq)``, and skips
the anti-join against stored events when the keys it keeps of the events stored lately show
none of its own (:mod:`utmost.store.recent`). A large batch (an ``/import``
request) is decoded by its caller as it is appended, so that decoding overlaps with the writer
storing the rounds before, as in a bulk import; small ones are decoded together in their round.
A round of one large batch short of a row group waits briefly for those being decoded, so that
together they are written straight into the file (``HOLD_SECONDS``).

While the file checkpoints, a round of small batches whose lines are all plain commits them to
the spill file instead (:mod:`utmost.store.spill`), numbered as it would have numbered them,
and answers; after the checkpoint a thread of the writer's moves them in
(:meth:`~utmost.store.spill.SpilledLines.move`) while later rounds keep spilling behind them.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from utmost.store.inserts import Numbering, insert_lines, insert_plain, record_lines, split_lines
from utmost.store.spill import SpilledLines
from utmost.store.writer import Writer

#: Rejected lines are reported per request, all of them (a request holds at most 2,000).
_ALL = 2**31
#: Batches of at least this many lines are decoded by the caller as it appends them, beside
#: the writer; smaller ones are decoded together in the writer's round, where one decode of
#: many browser batches costs less than one per batch (each has a fixed cost of ~1 ms).
SPLIT_AHEAD_LINES = 256
#: How long a round of one such batch, smaller than a row group, waits for another being
#: decoded, so that together they are written straight into the file instead of through the log
#: and its checkpoint (see :class:`utmost.store.Store`'s ``row_group_size``). A 2,000-event
#: /import request alone is 48 rows short of the collector's 2,048: waiting made /import 117,546-
#: 121,552 events/s against 97,205-116,000 (alternating whole runs), p99 no worse.
HOLD_SECONDS = 0.03


_RAW_SCHEMA = pa.schema([("lineno", pa.int64()), ("line", pa.large_binary())])
#: Records, parsed or as JSON text (bytes), each with its line number (1-based) in the batch.
Records = list[tuple[int, Any]]


@dataclass
class _Batch:
    project: str
    #: The batch's highest line number: the next batch of a round is numbered after it.
    size: int
    lines: pa.Table
    #: (lines for the ingest query, rows judged already) if decoded ahead (:func:`split_lines`).
    split: tuple[pa.Table, pa.Table] | None
    #: Resolves to the batch's rejected lines, ``[(lineno, reason)]`` in its own numbering.
    future: Future[list[tuple[int, str]]] = field(default_factory=Future)


class Appender:
    """Queues raw-line batches for the writer's next round."""

    def __init__(self, writer: Writer, spilled: SpilledLines, numbering: Numbering, row_group_size: int = 0) -> None:
        """``spilled``: where rounds go while the file checkpoints (the writer moves them in).
        ``numbering``: where rounds of plain lines take their ``seq``.
        ``row_group_size``: the rows a round needs to be written straight into the file
        (0: never waited for)."""
        self._writer = writer
        self.spilled = spilled
        self.numbering = numbering
        self._row_group_size = row_group_size
        self._lock = threading.Lock()
        self._waiting: list[_Batch] = []
        #: The lines of the large batches their callers are decoding (under the lock); its
        #: change, or a batch's arrival, is told (:meth:`take` may wait for them).
        self._decoding = 0
        self._arrived = threading.Condition(self._lock)

    def append(self, project: str, lines: pa.Table | Records) -> Future[list[tuple[int, str]]]:
        """Store the batch's valid, new events; the future gives its rejected lines.

        The plain lines of a large batch are decoded here, on the caller's thread, while the
        writer stores the rounds before: decoding and inserting overlap, as in a bulk import.
        """
        table = (lines if isinstance(lines, pa.Table) else record_lines(lines)).select(["lineno", "line"])
        table = table.cast(_RAW_SCHEMA)
        size = pc.max(table.column("lineno")).as_py() or 0
        split = self._decoded(project, table) if table.num_rows >= SPLIT_AHEAD_LINES else None
        batch = _Batch(project, size, table, split)
        with self._lock:
            if split is not None:  # decoded and queued at once, for a round waiting for it
                self._decoding -= table.num_rows
            self._waiting.append(batch)
            first = len(self._waiting) == 1
            self._arrived.notify_all()
        if first:  # later arrivals ride on the round this one schedules
            round_ = _Round(self)
            self._writer.submit(round_).add_done_callback(round_.settle)
        return batch.future

    def _decoded(self, project: str, table: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Decode a large batch, counted as being decoded until it is queued (or fails)."""
        with self._lock:
            self._decoding += table.num_rows
        try:
            return split_lines(project, table)
        except BaseException:
            with self._lock:
                self._decoding -= table.num_rows
                self._arrived.notify_all()
            raise

    def take(self) -> list[_Batch]:
        """The batches waiting, for a round. A lone large batch short of a row group waits up
        to ``HOLD_SECONDS`` for those being decoded, if with them the round would make one."""
        with self._lock:
            if self._lone_and_short():
                self._arrived.wait_for(lambda: len(self._waiting) > 1 or not self._decoding, HOLD_SECONDS)
            taken, self._waiting = self._waiting, []
        return taken

    def _lone_and_short(self) -> bool:
        if len(self._waiting) != 1:
            return False
        (batch,) = self._waiting
        rows = batch.lines.num_rows
        return batch.split is not None and rows < self._row_group_size <= rows + self._decoding

    def settle(self) -> None:
        """Wait until spilled lines are moved in, so that a read sees every answered event.

        Reads wait only while there are some: for a checkpoint, and then ~20 ms a 1,000 lines;
        the rounds after them do not wait for them (:meth:`~utmost.store.writer.Writer.barrier`).
        """
        if self.spilled.waiting and not self._writer.on_thread():
            self._writer.barrier()

    def recover(self) -> None:
        """Store what a spill file left by a crash holds, before anything else."""
        while self.spilled.file.exists() and (then := self._writer.run(self.spilled.move)) is not None:
            then()


class _Round:
    """One writer job storing everything that waited; settles the callers after the commit."""

    def __init__(self, appender: Appender) -> None:
        self._appender = appender
        self._batches: list[_Batch] | None = None
        self._rejected: list[list[tuple[int, str]]] = []

    def spill(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Commit the round's lines to the spill file (the file checkpoints), if it holds only
        small batches, all of plain lines, and the file has room."""
        if self._batches is None:
            self._batches = self._appender.take()
        if any(batch.split is not None for batch in self._batches):
            return False  # a large batch (an import): it waits, and keeps the spill file short
        if not self._appender.spilled.has_room(sum(batch.size for batch in self._batches)):
            return False
        parts = []
        for project in dict.fromkeys(batch.project for batch in self._batches):
            mine = [batch for batch in self._batches if batch.project == project]
            ranges, lines, _ = _concatenated(project, mine)
            if lines.num_rows:  # the ingest query judges these: store them after the checkpoint
                return False
            raw = pa.concat_tables([_renumbered(batch.lines, after) for batch, (after, _) in zip(mine, ranges)])
            parts.append((project, raw, ranges[-1][1]))
        for project, raw, numbers in parts:
            self._appender.spilled.put(con, project, raw, numbers)
        self._rejected = [[] for _ in self._batches]
        return True

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        # The writer may run a job twice (alone, after its group failed): take the batches once.
        if self._batches is None:
            self._batches = self._appender.take()
        rejected: dict[int, list[tuple[int, str]]] = {}
        for project in dict.fromkeys(batch.project for batch in self._batches):
            mine = [(n, batch) for n, batch in enumerate(self._batches) if batch.project == project]
            ranges, lines, plain = _concatenated(project, [batch for _, batch in mine])
            numbering = self._appender.numbering
            if lines.num_rows:  # numbered from the stored maximum, by the ingest query
                result = insert_lines(con, numbering, project, lines, reported=_ALL, plain=plain)
            else:
                offset = numbering.take(con, ranges[-1][1]) - 1
                result = insert_plain(con, numbering, project, plain, offset)
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


def _concatenated(project: str, batches: list[_Batch]) -> tuple[list[tuple[int, int]], pa.Table, pa.Table]:
    """Each batch's range, and the round's lines for the query and its plain rows.

    Lines are numbered on across batches, so one duplicate rule and one ``seq`` order span
    the whole round. Batches not decoded ahead are decoded here, together.
    """
    ranges, waiting, rests, plains, offset = [], [], [], [], 0
    for batch in batches:
        if batch.split is None:
            waiting.append(_renumbered(batch.lines, offset))
        else:
            rests.append(_renumbered(batch.split[0], offset))
            plains.append(_renumbered(batch.split[1], offset))
        ranges.append((offset, offset + batch.size))
        offset += batch.size
    if waiting:
        rest, plain = split_lines(project, pa.concat_tables(waiting))
        rests.append(rest)
        plains.append(plain)
    return ranges, pa.concat_tables(rests), pa.concat_tables(plains)


def _renumbered(table: pa.Table, offset: int) -> pa.Table:
    lineno = pc.add(table.column("lineno"), pa.scalar(offset, pa.int64()))
    return table.set_column(table.schema.get_field_index("lineno"), "lineno", lineno)
