"""The engine's DuckDB backend: the attribution queries over the store's events table.

Each backend holds its own cursor, so its temporary tables belong to one question and two
questions asked at once (two web requests) never see each other's steps.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from utmost.engine.dialect import DUCKDB


class DuckDBBackend:
    dialect = DUCKDB
    source = "events"

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cursor = cursor

    def create(self, name: str, sql: str) -> None:
        self._cursor.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def view(self, name: str, sql: str) -> None:
        self._cursor.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def arrow(self, sql: str) -> pa.Table:
        return self._cursor.sql(sql).to_arrow_table()

    def scalar(self, sql: str) -> object:
        rows = self._cursor.execute(sql).fetchall()
        return rows[0][0] if rows else None

    def close(self) -> None:
        self._cursor.close()


class ReusingBackend(DuckDBBackend):
    """A backend that keeps its intermediate tables between questions and reuses them.

    A step is skipped when it would be built from the same SQL as the table it left last time
    and every step before it in this run was skipped too: each step reads only the events and
    the steps before it, so an unchanged prefix means unchanged tables. Asking the same
    question with another model, scope or lookback then redoes only the last steps. The caller
    calls :meth:`begin` before each question and drops the backend when the events change.
    """

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        super().__init__(cursor)
        self._made: dict[str, str] = {}
        self._reusing = True

    def begin(self) -> None:
        self._reusing = True

    def create(self, name: str, sql: str) -> None:
        if not self._reuse(name, sql):
            super().create(name, sql)
            self._made[name] = sql

    def view(self, name: str, sql: str) -> None:
        if not self._reuse(name, sql):
            super().view(name, sql)
            self._made[name] = sql

    def _reuse(self, name: str, sql: str) -> bool:
        self._reusing = self._reusing and self._made.get(name) == sql
        return self._reusing

    def close(self) -> None:
        """Kept open for the next question; :meth:`discard` ends it."""

    def discard(self) -> None:
        super().close()

    def interrupt(self) -> None:
        """Stop the query running on this backend now (from any thread): the store is closing."""
        self._cursor.interrupt()
