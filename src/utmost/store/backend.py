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
