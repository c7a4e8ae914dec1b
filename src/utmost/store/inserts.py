"""Writing canonical events: validate, normalise, drop duplicates, insert — one chunk per job.

Runs on the writer thread. Each chunk of raw lines is judged: plain lines by the compiled
fast path (:mod:`utmost.ingest.plain`), the rest by the one normalising query
(:func:`utmost.ingest.events.normalise_sql`); its valid rows are deduplicated
within the chunk and against what is stored (docs/semantics.md §1: same project, event, distinct_id,
time and insert_id), and the survivors get the next ``seq`` numbers in line order. Earlier
chunks of the same file are committed first, so duplicates across chunks are caught too.

A bulk import judges a chunk and finds its copies within it on its reader thread
(:func:`judge`), so that the writer only looks into the stored events (:func:`fresh_rows`).

Every function here that stores events takes its ``seq`` numbers from the store's
:class:`Numbering`; :func:`insert_plain` tells it the keys it stored, and the others
(:func:`insert_lines`, :func:`fresh_rows`) make it forget the keys it kept instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import FunctionNullHandling, PythonUDFType
from duckdb.sqltypes import VARCHAR

from utmost.ingest.campaign import LANDING_FUNCTION, landing_values
from utmost.ingest.events import COLUMN_NAMES, PROJECT_DEDUP_KEY, normalise_sql
from utmost.ingest.plain import PLAIN_SCHEMA, decode_lines, filter_rows
from utmost.store.recent import RecentKeys

#: How many rejected lines a chunk reports in full; the rest are only counted.
REPORTED_REJECTIONS = 20

_STORED = ", ".join(name for name in COLUMN_NAMES if name != "seq")
#: The duplicate rule's columns within one project (docs/semantics.md §1).
_KEY = PROJECT_DEDUP_KEY
_SAME_EVENT = (
    "s.event = e.event AND s.distinct_id IS NOT DISTINCT FROM e.distinct_id "
    "AND s.time = e.time AND s.insert_id = e.insert_id"
)
#: The line numbers of the rows of relation ``s`` already stored, given the project and the
#: rows' first and last ``time``. An inner join, which DuckDB builds on the (smaller) rows'
#: side: as NOT EXISTS it took 0.025 s against 0.015 s for 36,864 rows with 4.75M stored,
#: and grew with the table.
_STORED_LINES = f"SELECT s.lineno FROM s JOIN events AS e ON e.project = ? AND e.time BETWEEN ? AND ? AND {_SAME_EVENT}"
#: ``lineno`` and the duplicate rule's columns of the first line of each key among relation
#: ``{rows}`` (valid rows), in line order: the copies within one batch dropped.
_FIRST_LINES = f"SELECT min(lineno) AS lineno, {', '.join(_KEY)} FROM {{rows}} GROUP BY ALL ORDER BY lineno"


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Make the Python functions the ingest query calls known to ``con`` and its cursors."""
    con.create_function(
        LANDING_FUNCTION,
        _landing_values,
        [VARCHAR],
        duckdb.list_type(VARCHAR),
        type=PythonUDFType.ARROW,
        null_handling=FunctionNullHandling.SPECIAL,
        side_effects=False,
    )


def unregister_functions(con: duckdb.DuckDBPyConnection) -> None:
    con.remove_function(LANDING_FUNCTION)


def _landing_values(urls: pa.Array) -> pa.Array:
    return pa.array([landing_values(url) for url in urls.to_pylist()], pa.list_(pa.string()))


class Numbering:
    """What the store knows of its events without asking DuckDB: the next free ``seq``, and
    the keys stored lately (:class:`~utmost.store.recent.RecentKeys`).

    Every function of this module that stores events takes its numbers here (asking DuckDB's
    ``max(seq)`` cost ~1 ms a collector round, growing with the rows not yet checkpointed);
    a bulk job that stores events any other way calls :meth:`forget`, so that the next
    round asks DuckDB again. Used by one thread at a time: the writer's, or the mover's
    while the writer only spills (:mod:`utmost.store.writer`).
    """

    def __init__(self) -> None:
        self._next_seq: int | None = None
        self.recent = RecentKeys()

    def take(self, con: duckdb.DuckDBPyConnection, lines: int) -> int:
        """The first of ``lines`` consecutive free ``seq`` numbers, now taken (a round rolled
        back does not give them back: that leaves a gap)."""
        first = _next_seq(con) if self._next_seq is None else self._next_seq
        self._next_seq = first + lines
        return first

    def forget(self) -> None:
        """Ask DuckDB again next time: events were stored with numbers not taken here."""
        self._next_seq = None
        self.recent.forget()


@dataclass(frozen=True)
class IngestResult:
    """What became of one chunk: valid lines, how many were new, and the rejected ones."""

    valid: int
    inserted: int
    rejected: int
    rejections: list[tuple[int, str]] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.valid - self.inserted


def stage(con: duckdb.DuckDBPyConnection, project: str, lines: pa.Table) -> pa.Table:
    """Normalise raw lines into canonical rows with their ``reason``, as an Arrow table.

    Plain lines are decoded in Python (:func:`split_lines`), the others judged by the query.
    Reads only, so it can run on any cursor: a bulk import stages the next chunk on its
    reader thread while the writer inserts the previous one.
    """
    rest, plain = split_lines(project, lines)
    if not rest.num_rows:
        return plain
    with _registered(con, "raw_lines", rest):
        judged = con.sql(normalise_sql("raw_lines"), params=[project]).to_arrow_table()
    return pa.concat_tables([plain, judged.cast(_PLAIN_SCHEMA)])


@contextlib.contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """``table`` readable as relation ``name`` on ``con`` for the length of the block.

    A query in the block that fails aborts the caller's transaction, and unregistering then
    fails too ("Current transaction is aborted"): its error would hide the query's (a full
    disk's, say), which is the one raised."""
    con.register(name, table)
    try:
        yield
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.unregister(name)
        raise
    con.unregister(name)


def _judge(staged: pa.Table) -> IngestResult:
    """Count valid and rejected lines, and list the first rejected ones."""
    reasons = staged.column("reason")
    rejected = len(reasons) - reasons.null_count
    bad = staged.select(["lineno", "reason"]).filter(pc.is_valid(reasons)).slice(0, REPORTED_REJECTIONS)
    rejections = list(zip(bad.column("lineno").to_pylist(), bad.column("reason").to_pylist()))
    return IngestResult(len(reasons) - rejected, 0, rejected, rejections)


def check_lines(con: duckdb.DuckDBPyConnection, project: str, lines: pa.Table) -> IngestResult:
    """Validate a chunk without storing it (``--strict`` checks the whole file first)."""
    return _judge(stage(con, project, lines))


def insert_lines(
    con: duckdb.DuckDBPyConnection,
    numbering: Numbering,
    project: str,
    lines: pa.Table,
    reported: int = REPORTED_REJECTIONS,
    plain: pa.Table | None = None,
) -> IngestResult:
    """Store a batch's valid, new events; call inside the writer's transaction.

    The normalised rows stay inside DuckDB (a temporary table) instead of travelling out as
    Arrow and back: for the collector's small batches that round trip cost as much as the
    query. ``reported`` is how many rejected lines are listed in full. ``plain`` holds rows
    judged already (:func:`split_lines`), numbered among the lines: they join the staged rows,
    so duplicates and ``seq`` order span both. Rows judged already with no lines beside them
    cost less by :func:`insert_plain`.
    """
    if not lines.num_rows and (plain is None or not plain.num_rows):
        return IngestResult(0, 0, 0)
    numbering.recent.forget()  # stored without telling the recent keys
    with _registered(con, "raw_lines", lines):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_STAGED} AS {normalise_sql('raw_lines')}", [project])
    try:
        if plain is not None and plain.num_rows:
            with _registered(con, "plain_rows", plain):
                con.execute(f"INSERT INTO {_STAGED} BY NAME SELECT * FROM plain_rows")
        rejections = con.execute(
            f"SELECT lineno, reason FROM {_STAGED} WHERE reason IS NOT NULL ORDER BY lineno"
        ).fetchall()
        inserted, valid = _insert_new(con, numbering, project, _STAGED)
    finally:
        con.execute(f"DROP TABLE {_STAGED}")
    rejected = len(rejections)
    rejections = rejections[:reported]
    return IngestResult(valid, inserted, rejected, rejections)


_STAGED = "staged_rows"


def insert_plain(
    con: duckdb.DuckDBPyConnection, numbering: Numbering, project: str, plain: pa.Table, seq_offset: int
) -> IngestResult:
    """Store rows judged already (:func:`split_lines`) by :func:`_insert_new`'s rule, in one cheaper query.

    A collector round of ordinary records needs no more than this; its planning is most of
    its cost, so the copies within the batch are dropped here first (by Arrow) and the
    stored ones by one anti-join. The query reads ``plain`` by its name, through DuckDB's
    replacement scan of the calling frame (no table is so named), not a registered view:
    beside a thread holding the interpreter lock 28% of the time, as the event loop does
    under /track, registering made 275 rows take 5.5 ms against 3.8 ms, most of it waiting
    for the lock.

    ``seq`` is ``seq_offset`` plus the line number, numbers taken from ``numbering``
    (:meth:`Numbering.take`). Rows whose keys ``numbering`` shows none of among those stored
    lately are stored without the anti-join, and it is told of them.
    """
    if not plain.num_rows:
        return IngestResult(0, 0, 0)
    valid = plain.num_rows
    firsts = plain.select([*_KEY, "lineno"]).group_by(list(_KEY), use_threads=False).aggregate([("lineno", "min")])
    if firsts.num_rows < valid:
        # Copies within one batch are rare: the properties are filtered as a copy.
        plain = filter_rows(plain, pc.is_in(plain.column("lineno").combine_chunks(), value_set=firsts.column("lineno_min")))
    if numbering.recent.unseen(con, project, plain):
        con.execute(f"INSERT INTO events SELECT {_STORED}, ? + lineno FROM plain", [seq_offset])
        return IngestResult(valid, plain.num_rows, 0)
    first, last = pc.min_max(plain.column("time")).values()
    ((inserted,),) = con.execute(
        f"""
INSERT INTO events
SELECT {_STORED}, ? + lineno
FROM plain AS s ANTI JOIN (
  SELECT {", ".join(_KEY)} FROM events WHERE project = ? AND time BETWEEN ? AND ?
) AS e ON {_SAME_EVENT}
""",
        [seq_offset, project, first.as_py(), last.as_py()],
    ).fetchall()
    return IngestResult(valid, inserted, 0)


#: The first ``seq`` not yet stored.
#: One past the stored maximum, and past what the derived tables counted up to: after the newest
#: events are deleted, a new event numbered among them would pass for a deleted one until a
#: refresh has taken those out (``engine/maintained.py``).
_NEXT_SEQ = ("SELECT greatest((SELECT coalesce(max(seq), 0) FROM events), "
             "(SELECT coalesce(max(seq), 0) FROM derived_state)) + 1")


def _next_seq(con: duckdb.DuckDBPyConnection) -> int:
    """The next free ``seq`` (:data:`_NEXT_SEQ`)."""
    ((value,),) = con.execute(_NEXT_SEQ).fetchall()
    return value


#: The staged relation's shape (``lineno``, ``reason``, then the canonical columns but
#: ``seq``), for rows judged before the query.
_PLAIN_SCHEMA = pa.schema([("lineno", pa.int64()), ("reason", pa.large_string()), ("project", pa.large_string()), *PLAIN_SCHEMA])


def split_lines(project: str, lines: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Numbered raw lines as (the lines left for the query, the rows judged already).

    Plain lines become rows here (:func:`utmost.ingest.plain.decode_lines`) with their numbers, so
    duplicates and ``seq`` order still span the whole batch once both are stored.
    """
    rows, taken = decode_lines(lines.column("line"))
    plain = pa.table(
        [
            lines.column("lineno").take(taken),
            pa.nulls(len(taken), pa.large_string()),
            pa.repeat(pa.scalar(project, pa.large_string()), len(taken)),
            *rows.columns,
        ],
        schema=_PLAIN_SCHEMA,
    )
    if len(taken) == lines.num_rows:
        return lines.slice(0, 0), plain
    rest = np.ones(lines.num_rows, bool)
    rest[taken] = False
    return lines.filter(pa.array(rest)), plain


def record_lines(numbered: list[tuple[int, object]]) -> pa.Table:
    """Numbered records as raw lines: parsed ones serialised, bytes kept as they came."""
    return pa.table(
        {
            "lineno": pa.array([n for n, _ in numbered], pa.int64()),
            "line": pa.array(
                [record if isinstance(record, bytes) else orjson.dumps(record) for _, record in numbered], pa.large_binary()
            ),
        }
    )


@dataclass(frozen=True)
class Fresh:
    """The rows of a staged chunk that are to be stored: judged, and found new.

    They can be stored in parts (:meth:`store` with ``start``/``stop``) in separate
    transactions: a bulk import commits at DuckDB row-group boundaries, which fall anywhere
    inside a chunk. A later part's rows are new against the earlier parts too (each key keeps
    only its first line), and their ``seq`` numbers do not depend on the cut.
    """

    staged: pa.Table
    #: Line numbers of the rows to store, ascending.
    lines: pa.Array
    #: ``seq`` is this plus the line number.
    seq_offset: int
    result: IngestResult

    def store(self, con: duckdb.DuckDBPyConnection, start: int = 0, stop: int | None = None) -> None:
        part = self.lines[start:stop]
        if len(part):
            with _registered(con, "staged", self.staged):
                _copy_rows(con, "staged", part, self.seq_offset)


@dataclass(frozen=True)
class Judged:
    """A :func:`stage` result judged, with the first line of each duplicate key among its valid
    rows: all of the duplicate rule but the look into the stored events, which reads no table,
    so a bulk import does it on its reader thread while the writer stores the chunk before."""

    staged: pa.Table
    #: ``lineno`` and the duplicate rule's columns of the first valid line of each key, in
    #: line order: the chunk's copies within itself are gone.
    firsts: pa.Table
    #: The last valid line (the first is the first of ``firsts``).
    last_line: int
    result: IngestResult


def judge(con: duckdb.DuckDBPyConnection, staged: pa.Table) -> Judged:
    """Judge a :func:`stage` result and drop its copies within itself, on any cursor.

    DuckDB groups the keys: Arrow's ``group_by`` of the four columns took 124 ms for 115,756
    rows against 19 ms; 13.2 s of a 10M-event import's reader against 3.8 s."""
    result = _judge(staged)
    valid = staged.select([*_KEY, "lineno"])
    if result.rejected:
        valid = valid.filter(pc.is_null(staged.column("reason")))
    with _registered(con, "keys", valid):
        firsts = con.sql(_FIRST_LINES.format(rows="keys")).to_arrow_table()
    last_line = pc.max(valid.column("lineno")).as_py() if result.valid else 0
    return Judged(staged, firsts, last_line, result)


def fresh_rows(con: duckdb.DuckDBPyConnection, numbering: Numbering, project: str, judged: Judged) -> Fresh:
    """Find which of the first lines :func:`judge` found are not stored yet; stores nothing.

    Call inside the write transaction that stores them (:meth:`Fresh.store`): they are
    numbered by ``numbering`` (see :func:`_new_lines`), which forgets the recent keys it kept.
    When no stored event of the project falls within the chunk's times, as when a history
    is imported in time order, the join is skipped: building it on ~100,000 rows a chunk was
    most of the writer's duplicate check.
    """
    result = judged.result
    if not result.valid:
        return Fresh(judged.staged, _EMPTY_LINES, 0, result)
    numbering.recent.forget()
    lines = judged.firsts.column("lineno").combine_chunks()
    first_line = lines[0].as_py()
    next_seq = numbering.take(con, judged.last_line - first_line + 1)
    first, last = pc.min_max(judged.firsts.column("time")).values()
    window = [project, first.as_py(), last.as_py()]
    if con.execute(_ANY_STORED, window).fetchall():
        with _registered(con, "s", judged.firsts):
            stored = con.sql(_STORED_LINES, params=window).to_arrow_table().column("lineno")
        lines = lines.filter(pc.invert(pc.is_in(lines, value_set=stored.combine_chunks())))
    inserted = IngestResult(result.valid, len(lines), result.rejected, result.rejections)
    return Fresh(judged.staged, lines, next_seq - first_line, inserted)


#: Whether any event of the project is stored within a time window (first, last): DuckDB
#: skips the row groups whose times are outside by their zone maps.
_ANY_STORED = "SELECT 1 FROM events WHERE project = ? AND time BETWEEN ? AND ? LIMIT 1"
_EMPTY_LINES = pa.array([], pa.int64())


def _insert_new(con: duckdb.DuckDBPyConnection, numbering: Numbering, project: str, staged: str) -> tuple[int, int]:
    """Insert the valid rows of relation ``staged`` that are not duplicates.

    Returns (rows inserted, valid rows).
    """
    lines, valid, offset = _new_lines(con, numbering, project, staged)
    _copy_rows(con, staged, lines, offset)
    return len(lines), valid


def _new_lines(
    con: duckdb.DuckDBPyConnection, numbering: Numbering, project: str, staged: str
) -> tuple[pa.Array, int, int]:
    """The line numbers of the valid rows of relation ``staged`` that are not duplicates.

    Returns (those line numbers ascending, valid rows, ``seq`` offset).

    Duplicates are found on the narrow key columns only (the first line of each key that is
    not already stored survives); :func:`_copy_rows` then copies the full rows of the
    survivors: grouping or windowing the whole rows, JSON included, cost twice as much.
    ``seq`` is taken from ``numbering`` in line order, a number for every line from the first
    valid one to the last; the lines that were dropped leave gaps. (Asking DuckDB for the
    stored maximum each time scans ``seq`` of the rows not yet checkpointed: in a 100M-event
    import its share of the writer's time grew from 8% to 20% within three minutes.)
    """
    ((valid, first, last, first_line, last_line),) = con.execute(
        f"SELECT count(*), min(time), max(time), min(lineno), max(lineno) FROM {staged} WHERE reason IS NULL"
    ).fetchall()
    if not valid:
        return _EMPTY_LINES, 0, 0
    next_seq = numbering.take(con, last_line - first_line + 1)
    lines = con.sql(
        f"""
WITH s AS ({_FIRST_LINES.format(rows=f"(SELECT lineno, {', '.join(_KEY)} FROM {staged} WHERE reason IS NULL)")}),
stored AS ({_STORED_LINES})
SELECT lineno FROM s ANTI JOIN stored USING (lineno) ORDER BY lineno
""",
        params=[project, first, last],
    ).to_arrow_table()
    return lines.column("lineno").combine_chunks(), valid, next_seq - first_line


def _copy_rows(con: duckdb.DuckDBPyConnection, staged: str, lines: pa.Array, seq_offset: int) -> None:
    """Insert the rows of relation ``staged`` numbered ``lines``, with ``seq`` = offset + line."""
    if not len(lines):
        return
    first, last = lines[0].as_py(), lines[-1].as_py()
    if last - first + 1 == len(lines):  # every line between: no join (lines are ascending, unique)
        con.execute(
            f"INSERT INTO events SELECT {_STORED}, ? + lineno FROM {staged} WHERE lineno BETWEEN ? AND ?",
            [seq_offset, first, last],
        )
        return
    with _registered(con, "kept_lines", pa.table({"lineno": lines})):
        con.execute(
            f"INSERT INTO events SELECT {_STORED}, ? + lineno FROM {staged} WHERE lineno IN (SELECT lineno FROM kept_lines)",
            [seq_offset],
        )
