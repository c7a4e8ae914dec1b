"""Events answered while the database file checkpoints, kept in a DuckDB file beside it.

:class:`Spill` is the file; :class:`SpilledLines`, the lines in it as the writer sees them
(:class:`utmost.store.writer.Spilled`): put in by the collector's rounds, moved in after.

DuckDB holds every commit to a file while that file checkpoints (~0.5 s for 256 MB of log),
and at 200 /track requests a second that made the checkpoint the p99. The collector's rounds
commit to this file instead meanwhile (``<database>.spill``), as the raw lines they were
judged plain from, each with the ``seq`` it was given on arrival. Once the checkpoint ends, a
thread of the writer's moves them into the database, a chunk at a time, deleting each chunk
here once it is committed there, while the rounds keep committing here behind them; once less
than a chunk is left, the writer moves that itself and the rounds stop coming here. The file is deleted when the store closes. A store that finds lines in one
on opening (a crash in between) moves them in first: moving a chunk twice stores nothing
twice, as the copies are duplicates (docs/semantics.md §1).

A call that fails (a full disk) raises, and closes the connection: a failed checkpoint leaves
it invalidated, and the next call opens the file again, replaying its log.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from utmost.ingest.plain import filter_rows
from utmost.store.inserts import Numbering, insert_plain, stage

#: Spilled lines moved in a transaction (on the writer's mover thread; ~20 ms a step).
MOVE_LINES = 1000
#: At most this many lines wait in the spill file; past it, rounds wait for the moves. Rounds
#: keep spilling while earlier lines are moved in (so that none is stored before them), so the
#: moves must outpace them: they do at browser rates (~10,000 events/s spill over a 0.7 s
#: checkpoint), not under a full /import load, whose batches therefore never spill (spilling
#: 500k events made half of them wait in the file, 7 s of moving after the last answer).
MAX_SPILLED = 50_000

_SCHEMA = "CREATE TABLE IF NOT EXISTS lines (seq BIGINT NOT NULL, project VARCHAR NOT NULL, line BLOB NOT NULL)"


class Spill:
    """The side file, opened on first use. The writer's thread puts lines in while the mover's
    takes them out, one call at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        #: Whether lines were put or forgotten since the last compaction.
        self._changed = False

    def exists(self) -> bool:
        return self.path.exists()

    def put(self, project: str, seq_offset: int, lines: pa.Table) -> None:
        """Commit raw ``lines(lineno, line)``, with ``seq`` = ``seq_offset`` + line number."""
        rows = pa.table(
            {
                "seq": pc.add(lines.column("lineno"), pa.scalar(seq_offset, pa.int64())),
                "project": pa.repeat(pa.scalar(project, pa.string()), lines.num_rows),
                "line": lines.column("line"),
            }
        )
        with self._using() as con:
            con.from_arrow(rows).insert_into("lines")
            self._changed = True

    def lines(self, limit: int) -> pa.Table:
        """The ``limit`` first kept lines: ``seq``, ``project``, ``line``, in ``seq`` order."""
        with self._using() as con:
            return con.sql(f"SELECT seq, project, line FROM lines ORDER BY seq LIMIT {int(limit)}").to_arrow_table()

    def forget(self, last_seq: int) -> None:
        """Delete the lines up to ``last_seq``: call once they are committed to the database."""
        with self._using() as con:
            con.execute("DELETE FROM lines WHERE seq <= ?", [last_seq])
            self._changed = True

    def compact(self) -> None:
        """Move the file's log into it: call when it keeps no line, when that takes ~10 ms.

        Its own checkpoints never come at a commit (that took 230 ms beside a busy server),
        only here; and only once after a change (the mover compacts as it finds the file
        empty, then the writer finds it empty again).
        """
        with self._using() as con:
            if self._changed:
                con.execute("CHECKPOINT")
                self._changed = False

    def close(self) -> None:
        """Close the file, and delete it if it keeps no line (if it cannot be read, it is kept
        for the next opening to move in)."""
        if not self.exists():
            return
        try:
            empty = self.lines(1).num_rows == 0
        except duckdb.Error:
            empty = False
        with self._lock:
            self._drop()
        if empty:
            for path in (self.path, Path(f"{self.path}.wal")):
                path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _using(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection, under the lock; dropped if a call on it fails."""
        with self._lock:
            try:
                yield self._open()
            except duckdb.Error:
                self._drop()
                raise

    def _drop(self) -> None:
        if self._con is not None:
            with contextlib.suppress(duckdb.Error):  # closing checkpoints, which may fail too
                self._con.close()
            self._con = None

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            con = duckdb.connect(str(self.path))
            try:
                con.execute("SET checkpoint_threshold = '1000GB'")
                con.execute(_SCHEMA)
            except duckdb.Error:
                con.close()
                raise
            self._con = con
        return self._con


class SpilledLines:
    """The lines the rounds spilled and not yet moved in, numbered from the store's
    :class:`~utmost.store.inserts.Numbering` as the rounds would have numbered them."""

    def __init__(self, spill: Spill, numbering: Numbering) -> None:
        self.file = spill
        self._numbering = numbering
        #: Lines spilled and not yet moved in (set on the writer's and the mover's thread,
        #: under the lock; read on any).
        self._unmoved = 0
        self._lock = threading.Lock()

    @property
    def waiting(self) -> bool:
        """Whether some lines wait to be moved in (a read must wait for them)."""
        return self._unmoved > 0

    def put(self, con: duckdb.DuckDBPyConnection, project: str, lines: pa.Table, numbers: int) -> None:
        """Commit a round's raw lines to the file, numbered as the round would have: it takes
        ``numbers`` ``seq`` numbers (its highest line number; a line may be missing)."""
        self.file.put(project, self._numbering.take(con, numbers) - 1, lines)
        with self._lock:
            self._unmoved += lines.num_rows

    def has_room(self, lines: int) -> bool:
        """Whether the file can take ``lines`` more (``MAX_SPILLED``)."""
        return self._unmoved + lines <= MAX_SPILLED

    def move(self, con: duckdb.DuckDBPyConnection) -> Callable[[], None] | None:
        """Store the file's first lines, each with its ``seq``: one step of the writer's moving.

        Returns what to do once that is committed (forget them in the file), or None when no
        line was left.
        """
        if not self.file.exists():
            return None
        rows = self.file.lines(MOVE_LINES)
        if not rows.num_rows:
            self.file.compact()
            return None
        for project in pc.unique(rows.column("project")).to_pylist():
            mine = rows.filter(pc.equal(rows.column("project"), project))
            offset = pc.min(mine.column("seq")).as_py() - 1
            lines = pa.table({"lineno": pc.subtract(mine.column("seq"), offset), "line": mine.column("line")})
            # All plain when spilled, so the query judges none, unless the rules changed since.
            staged = stage(con, project, lines)
            reasons = staged.column("reason").combine_chunks()
            if reasons.null_count < len(reasons):
                staged = filter_rows(staged, pc.is_null(reasons))
            insert_plain(con, self._numbering, project, staged, offset)
        last = pc.max(rows.column("seq")).as_py()

        def forget() -> None:
            self.file.forget(last)
            with self._lock:
                self._unmoved = max(0, self._unmoved - rows.num_rows)

        return forget

    def far_behind(self) -> bool:
        """Whether a whole move's worth of spilled lines waits. While so, the writer's mover
        moves them beside the rounds, which keep spilling; once not, the writer moves the rest
        itself as the rounds wait (~20 ms), and the rounds store their own lines again.

        Moving until the file was empty, beside rounds spilling as fast as the moves went, kept
        every event written twice for 3-38 s after a checkpoint under 200 /track requests a
        second: the moves took a few hundred lines each, and never found the file empty.
        """
        return self._unmoved >= MOVE_LINES
