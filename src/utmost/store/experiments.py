"""Holdout experiments in the file: the SQL that stores, reads and deletes them (docs/semantics.md §19).

The ``experiments`` table holds one row per (project, key, start, end), where a key is its
property names and their values: ``properties`` in the order the file named them, ``key`` the
values in the same order. Two rows name one key when they pair the same names with the same
values, in whatever order (``utm_source=google, utm_medium=cpc`` is ``utm_medium=cpc,
utm_source=google``), so keys are compared as their sorted (name, value) pairs.

An import replaces, in one transaction, the stored row of every (key, start, end) its files
hold, so importing a file twice stores what importing it once does. Every value reaches SQL as
a bound parameter or an Arrow table, never as text. :mod:`utmost.store.experiments_import`
reads the files; :class:`~utmost.store.Store` runs these.
"""

from __future__ import annotations

import datetime

import duckdb
import pyarrow as pa

from utmost.ingest.experiments import Experiment

#: The columns :func:`read_experiments` answers with, in order.
EXPERIMENT_COLUMNS = ("properties", "key", "start", "end", "test_persons", "test_conversions", "control_persons",
                      "control_conversions", "imported_at")
_SELECTED = ", ".join(f'"{column}"' for column in EXPERIMENT_COLUMNS)
#: The columns an import gives, beside the project and the time of the import.
_GIVEN = ", ".join(f'"{column}"' for column in EXPERIMENT_COLUMNS[:-1])
_COUNTS = EXPERIMENT_COLUMNS[4:8]


def _pairs(table: str) -> str:
    """A row's key as its sorted (name, value) pairs: what two rows share when they name one key."""
    return f'list_sort(list_zip({table}.properties, {table}."key"))'


def replace_experiments(con: duckdb.DuckDBPyConnection, project: str,
                        batches: list[list[Experiment]]) -> tuple[int, int]:
    """Store each batch in turn, replacing the stored row of each of its (key, start, end).
    Runs in the writer's transaction: (stored, replaced)."""
    imported = replaced = 0
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    for experiments in batches:
        if not experiments:
            continue
        con.register("incoming", _table(experiments))
        try:
            ((deleted,),) = con.execute(
                "DELETE FROM experiments WHERE project = ? AND EXISTS (SELECT 1 FROM incoming WHERE "
                f'{_pairs("experiments")} = {_pairs("incoming")} AND experiments."start" = incoming."start" '
                'AND experiments."end" = incoming."end")', [project]
            ).fetchall()
            con.execute(f"INSERT INTO experiments SELECT ?, {_GIVEN}, ? FROM incoming", [project, now])
        finally:
            con.unregister("incoming")
        imported += len(experiments)
        replaced += deleted
    return imported, replaced


def read_experiments(con: duckdb.DuckDBPyConnection, project: str) -> pa.Table:
    """The project's experiments (:data:`EXPERIMENT_COLUMNS`), by key properties, key, then days."""
    return con.sql(
        f'SELECT {_SELECTED} FROM experiments WHERE project = ? ORDER BY properties, "key", "start", "end"',
        params=[project],
    ).to_arrow_table()


def delete_experiments(con: duckdb.DuckDBPyConnection, project: str, key: dict[str, str] | None) -> int:
    """Delete the project's experiments of ``key`` (property → value: the experiments of exactly
    that key, whatever their days), or every one of them if ``key`` is None: how many."""
    if key is None:
        ((deleted,),) = con.execute("DELETE FROM experiments WHERE project = ?", [project]).fetchall()
    else:
        ((deleted,),) = con.execute(
            f"DELETE FROM experiments WHERE project = ? AND {_pairs('experiments')} = "
            "list_sort(list_zip(?::VARCHAR[], ?::VARCHAR[]))", [project, list(key), list(key.values())]
        ).fetchall()
    return int(deleted)


def _table(experiments: list[Experiment]) -> pa.Table:
    names = pa.list_(pa.string())
    return pa.table({
        "properties": pa.array([list(e.properties) for e in experiments], names),
        "key": pa.array([list(e.key) for e in experiments], names),
        "start": pa.array([e.start for e in experiments], pa.date32()),
        "end": pa.array([e.end for e in experiments], pa.date32()),
        **{count: pa.array([getattr(e, count) for e in experiments], pa.int64()) for count in _COUNTS},
    })
