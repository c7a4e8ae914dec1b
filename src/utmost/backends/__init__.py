"""Where a question runs: DuckDB over the store's file, or Spark over exported Parquet.

A backend names the events relation and materialises each step of the engine's queries as a
named table; the engine (:mod:`utmost.engine.run`) asks nothing else of it. Only backends run
the engine's SQL.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

import pyarrow as pa

from utmost.backends.duckdb import DuckDBBackend, ReusingBackend
from utmost.backends.spark import SparkBackend, parse_spark_conf, spark_session
from utmost.dialect import Dialect


class Backend(Protocol):
    """What the engine needs of a place to run: its dialect, the events relation, and steps."""

    dialect: Dialect
    source: str
    #: The ad spend table (docs/semantics.md §14), None where there is none (Spark's Parquet).
    spend: str | None

    #: Whether the store's derived tables (:mod:`utmost.engine.maintained`) are there to read.
    derived: bool
    #: The newest ``seq`` whose events this backend's answers must hold: its answers are as of
    #: then, from derived tables at least that new (the web service's backends, made again as
    #: events arrive). None: every question first takes every stored event.
    as_of: int | None

    def maintenance(self, memory_limit: str | None = None) -> contextlib.AbstractContextManager[DuckDBBackend] | None:
        """A backend that may change the derived tables, in one transaction of its own, one at a
        time, within ``memory_limit`` if given; None where they cannot change (a store open to
        read, Spark)."""
        ...

    def create(self, name: str, sql: str) -> None:
        """Materialise ``sql`` as the table ``name`` (replacing one of that name)."""
        ...

    def view(self, name: str, sql: str) -> None:
        """Name ``sql`` as the view ``name`` (replacing one of that name)."""
        ...

    def put(self, name: str, table: pa.Table) -> None:
        """Make ``table``, computed by the caller, the table ``name`` (replacing one of that
        name): a few rows to join with the steps (the learned models' shares of each path)."""
        ...

    def arrow(self, sql: str) -> pa.Table:
        """The rows of ``sql``."""
        ...

    def scalar(self, sql: str) -> object:
        """The first column of the first row of ``sql``, or None when there is no row."""
        ...

    def close(self) -> None:
        """Release what the backend holds."""
        ...


__all__ = ["Backend", "DuckDBBackend", "ReusingBackend", "SparkBackend", "parse_spark_conf", "spark_session"]
