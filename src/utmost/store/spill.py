"""Events answered while the database file checkpoints, kept in a DuckDB file beside it.

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
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

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
