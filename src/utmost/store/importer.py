"""``utmost import``: Mixpanel export files into the store, streaming, with a full report.

Files are read and normalised chunk by chunk (:mod:`utmost.ingest.sources`) on a reader
thread while the writer stores the previous chunk, so the two overlap and memory stays flat.
Bad lines are reported as ``FILE:LINE: reason`` and skipped; with ``strict`` every file is
checked first and any bad line means nothing is imported.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from utmost.errors import BadLineError, InputError
from utmost.ingest.sources import Chunk, Source, open_source
from utmost.store.database import Store
from utmost.store.inserts import REPORTED_REJECTIONS, Fresh, IngestResult, Judged, Numbering, fresh_rows, judge, stage
from utmost.store.writer import quick_handover

#: DuckDB's rows per row group (its default; the store never changes it).
ROW_GROUP_ROWS = 122_880
#: Commit after exactly this many new rows. DuckDB writes a transaction's full row groups
#: straight to the file as it goes, and keeps them at commit only when the commit holds
#: whole row groups: otherwise the next checkpoint compresses and writes everything again.
#: At 5M events that checkpoint took 15.5 s after a 37 s import. Larger commits use more
#: memory.
COMMIT_ROWS = 2 * ROW_GROUP_ROWS
#: Chunks read and normalised ahead of the one being stored.
PREFETCH = 1
#: Rows stored by one insert at least: an insert and each of its queries have a fixed cost.
#: Storing 10M events of ~200-byte lines (alternating runs): 26.8–27.1 s at 131,072 rows
#: against 31.4–33.8 s at 32,768 (one 8 MB block, ~38,000 lines), for ~110 MB more memory.
INSERT_ROWS = 131_072
#: ... unless they are this big already (large events): memory stays bounded by bytes too.
INSERT_BYTES = 48 << 20
#: DuckDB's memory limit while importing: keeps its buffer pool from caching the whole table.
IMPORT_MEMORY_LIMIT = "256MB"
#: DuckDB's threads while importing. The import is parallel already (Python decodes on one
#: core while DuckDB inserts): a second DuckDB thread only fought the decoder for its core.
#: 1M events: median 8.7 s with 1 thread, 9.3 s with 2, and steadier.
IMPORT_THREADS = 1

#: Called after each chunk with (bytes read since the last call, events in that chunk).
Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    """Totals of an import, and the first bad lines in full (``problems``)."""

    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)
    checked_only: bool = False

    def add(self, source: Source, result: IngestResult) -> None:
        self.imported += result.inserted
        self.duplicates += result.duplicates
        self.rejected += result.rejected
        for line, reason in result.rejections:
            if len(self.problems) < REPORTED_REJECTIONS:
                self.problems.append(str(BadLineError(source.where(line), reason)))

    def fail(self, error: InputError) -> None:
        """A whole file, or its rest, could not be read."""
        self.rejected += 1
        if len(self.problems) < REPORTED_REJECTIONS:
            self.problems.append(str(error))


def import_files(
    store: Store,
    project: str,
    paths: Iterable[str | os.PathLike[str]],
    *,
    strict: bool = False,
    progress: Progress | None = None,
    folder: str | os.PathLike[str] | None = None,
) -> ImportReport:
    """Import every file into ``project``; see the module docstring for the rules.

    ``folder``: where relative ``paths`` are, if not in the working directory (reports still
    name them as given).
    """
    sources = [open_source(path, folder) for path in paths]
    with quick_handover():  # the writer's queries wait less for the reader's decoding
        if strict:
            report = _check(store, project, sources, progress)
            if report.rejected:
                return report
        report = ImportReport()
        for source in sources:
            _import_source(store, project, source, report, progress)
    # Arrow's allocator keeps the freed chunks for reuse (~125 MB after 10M events): give them
    # back, as what usually follows (the derived tables' build) needs the memory more.
    pa.default_memory_pool().release_unused()
    return report


def _import_source(store: Store, project: str, source: Source, report: ImportReport, progress: Progress | None) -> None:
    """Stream one file into the store on the writer thread, committing every ``COMMIT_ROWS`` new rows."""

    def load(con: duckdb.DuckDBPyConnection, numbering: Numbering) -> None:
        con.execute(f"SET memory_limit = '{IMPORT_MEMORY_LIMIT}'")
        con.execute(f"SET threads = {IMPORT_THREADS}")
        try:
            load_chunks(con, numbering)
        finally:
            # Back to DuckDB's defaults, which the store never changes: reading a memory limit
            # back and setting it again would not give the same number.
            con.execute("RESET memory_limit")
            con.execute("RESET threads")

    def load_chunks(con: duckdb.DuckDBPyConnection, numbering: Numbering) -> None:
        room = COMMIT_ROWS
        con.begin()
        try:
            chunks = _reported(source.chunks(), progress)
            for judged in _judged_ahead(store, project, chunks):
                fresh = fresh_rows(con, numbering, project, judged)
                report.add(source, fresh.result)
                room = _store_committing(con, fresh, room)
        except InputError as error:
            report.fail(error)
        con.commit()

    store.bulk(load)


def _store_committing(con: duckdb.DuckDBPyConnection, fresh: Fresh, room: int) -> int:
    """Store ``fresh`` in the open transaction, committing whenever it holds ``COMMIT_ROWS``.

    Takes and returns the rows the open transaction has room for.
    """
    done = 0
    while done < len(fresh.lines):
        part = min(room, len(fresh.lines) - done)
        fresh.store(con, done, done + part)
        done += part
        room -= part
        if not room:
            con.commit()
            con.begin()
            room = COMMIT_ROWS
    return room


def _check(store: Store, project: str, sources: list[Source], progress: Progress | None) -> ImportReport:
    report = ImportReport(checked_only=True)
    for source in sources:
        try:
            for chunk in _reported(source.chunks(), progress):
                report.add(source, store.check_lines(project, chunk.lines))
        except InputError as error:
            report.fail(error)
    return report


def _reported(chunks: Iterator[Chunk], progress: Progress | None) -> Iterator[Chunk]:
    """Pass chunks through, telling ``progress`` the bytes and lines of each as it is read."""
    done = 0
    for chunk in chunks:
        if progress:
            progress(chunk.done_bytes - done, chunk.lines.num_rows)
        done = chunk.done_bytes
        yield chunk


def _judged_ahead(store: Store, project: str, chunks: Iterator[Chunk]) -> Iterator[Judged]:
    """Read, normalise and judge the next chunks on another thread while this one is stored.

    Normalising and judging (copies within the chunk included) read no table, so they run on
    a cursor of their own beside the writer: the two halves of an import overlap and both
    cores stay busy. Chunks are handed over in groups of at least ``INSERT_ROWS``
    rows or ``INSERT_BYTES``: an insert has a fixed cost.
    """
    ahead: queue.Queue[Judged | BaseException | None] = queue.Queue(maxsize=PREFETCH)

    def read() -> None:
        cursor = store.reader()
        group: list[pa.Table] = []

        def hand_over() -> None:
            if group:
                ahead.put(judge(cursor, pa.concat_tables(group)))
                group.clear()

        try:
            try:
                for chunk in chunks:
                    group.append(stage(cursor, project, chunk.lines))
                    if sum(t.num_rows for t in group) >= INSERT_ROWS or sum(t.nbytes for t in group) >= INSERT_BYTES:
                        hand_over()
            finally:
                hand_over()  # the rows read before an error go first
        except BaseException as error:  # handed over to the consuming thread
            ahead.put(error)
        else:
            ahead.put(None)

    threading.Thread(target=read, name="utmost-import-reader", daemon=True).start()
    while (item := ahead.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item
