"""Writing canonical events: validate, normalise, drop duplicates, insert — one chunk per job.

Runs on the writer thread. Each chunk of raw lines goes through the one normalising query
(:func:`utmost.events.normalise_sql`) into a temporary table; its valid rows are deduplicated
within the chunk and against what is stored (DESIGN §2: same project, event, distinct_id,
time and insert_id), and the survivors get the next ``seq`` numbers in line order. Earlier
chunks of the same file are committed first, so duplicates across chunks are caught too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from utmost.events import COLUMN_NAMES, normalise_sql

#: How many rejected lines a chunk reports in full; the rest are only counted.
REPORTED_REJECTIONS = 20

_STORED = ", ".join(name for name in COLUMN_NAMES if name != "seq")
_SAME_EVENT = (
    "s.event = e.event AND s.distinct_id IS NOT DISTINCT FROM e.distinct_id "
    "AND s.time = e.time AND s.insert_id = e.insert_id"
)


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


def _stage(con: duckdb.DuckDBPyConnection, project: str, lines: pa.Table) -> IngestResult:
    con.register("raw_lines", lines)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS {normalise_sql('raw_lines')}", [project])
    finally:
        con.unregister("raw_lines")
    valid, rejected = con.execute(
        "SELECT count(*) FILTER (reason IS NULL), count(*) FILTER (reason IS NOT NULL) FROM staged"
    ).fetchone()
    rejections = con.execute(
        "SELECT lineno, reason FROM staged WHERE reason IS NOT NULL ORDER BY lineno LIMIT ?",
        [REPORTED_REJECTIONS],
    ).fetchall()
    return IngestResult(valid, 0, rejected, rejections)


def check_lines(con: duckdb.DuckDBPyConnection, project: str, lines: pa.Table) -> IngestResult:
    """Validate a chunk without storing it (``--strict`` checks the whole file first)."""
    result = _stage(con, project, lines)
    con.execute("DROP TABLE staged")
    return result


def insert_lines(con: duckdb.DuckDBPyConnection, project: str, lines: pa.Table) -> IngestResult:
    """Store a chunk's valid, new events; call inside the writer's transaction."""
    staged = _stage(con, project, lines)
    first, last, next_seq = con.execute(
        "SELECT min(time), max(time), (SELECT coalesce(max(seq), 0) FROM events) FROM staged"
        " WHERE reason IS NULL"
    ).fetchone()
    inserted = 0
    if staged.valid:
        inserted = con.execute(
            f"""
INSERT INTO events
SELECT {_STORED}, ? + row_number() OVER (ORDER BY lineno) FROM (
  SELECT * FROM staged WHERE reason IS NULL
  QUALIFY row_number() OVER (PARTITION BY event, distinct_id, time, insert_id ORDER BY lineno) = 1
) AS s
ANTI JOIN (
  SELECT event, distinct_id, time, insert_id FROM events
  WHERE project = ? AND time BETWEEN ? AND ?
) AS e ON {_SAME_EVENT}
""",
            [next_seq, project, first, last],
        ).fetchone()[0]
    con.execute("DROP TABLE staged")
    return IngestResult(staged.valid, inserted, staged.rejected, staged.rejections)
