"""Ad spend in the file: the SQL that stores and reads it (docs/semantics.md §14).

The ``spend`` table holds one row per (project, date, utm_source, utm_medium, utm_campaign).
An empty medium or campaign is NULL, so keys are compared with ``IS NOT DISTINCT FROM`` (NULL
meets NULL), as the later join to attribution rows will, where NULL reads ``(not set)``.

An import replaces, in one transaction, the stored rows of every key and day its files hold,
so importing a file twice stores what importing it once does. The project's currency is the
first one any of its spend names; rows stored before it without one take it then.
:mod:`utmost.store.spend_import` reads the files; :class:`~utmost.store.Store` runs these.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from utmost.errors import InputError
from utmost.ingest.spend import KEYS, SpendRow
from utmost.store.csvfiles import CsvFile, CsvReport

#: The columns :func:`read_spend` answers with, in order.
SPEND_COLUMNS = ("date", "utm_source", "utm_medium", "utm_campaign", "cost", "currency")
_KEY_MATCH = " AND ".join(
    ["spend.date = incoming.date"]
    + [f"spend.{key} IS NOT DISTINCT FROM incoming.{key}" for key in KEYS]
)


@dataclass
class SpendReport(CsvReport):
    """What an import did (:class:`~utmost.store.csvfiles.CsvReport`), and the project's currency."""

    currency: str | None = None


#: A spend file: its bytes, and how messages name it.
SpendFile = CsvFile


def replace_spend(con: duckdb.DuckDBPyConnection, project: str, batches: list[list[SpendRow]],
                  currency: str | None) -> tuple[int, int]:
    """Store each batch in turn, replacing the stored rows of its keys and days; give rows
    without a currency ``currency``. Runs in the writer's transaction: (stored, replaced).

    The currency is checked again here, on the writer: another import may have fixed the
    project's since the files were read.
    """
    stored = project_currency(con, project)
    if currency is not None and stored not in (None, currency):
        raise InputError(f"project {project}'s spend is in {stored}, these files in {currency}: one currency per project")
    currency = currency or stored
    imported = replaced = 0
    for rows in batches:
        if not rows:
            continue
        con.register("incoming", _table(rows))
        try:
            ((deleted,),) = con.execute(
                f"DELETE FROM spend WHERE project = ? AND EXISTS (SELECT 1 FROM incoming WHERE {_KEY_MATCH})", [project]
            ).fetchall()
            con.execute(
                "INSERT INTO spend SELECT ?, date, utm_source, utm_medium, utm_campaign, cost, ? FROM incoming",
                [project, currency],
            )
        finally:
            con.unregister("incoming")
        imported += len(rows)
        replaced += deleted
    if currency is not None:
        con.execute("UPDATE spend SET currency = ? WHERE project = ? AND currency IS NULL", [currency, project])
    return imported, replaced


def project_currency(con: duckdb.DuckDBPyConnection, project: str) -> str | None:
    """The currency of ``project``'s spend: the one its rows name, or None while none does."""
    found = con.execute(
        "SELECT currency FROM spend WHERE project = ? AND currency IS NOT NULL LIMIT 1", [project]
    ).fetchall()
    return found[0][0] if found else None


def read_spend(con: duckdb.DuckDBPyConnection, project: str) -> pa.Table:
    """The project's spend rows (:data:`SPEND_COLUMNS`), by date, then key (NULLs first)."""
    return con.sql(
        f"SELECT {', '.join(SPEND_COLUMNS)} FROM spend WHERE project = ? "
        "ORDER BY date, utm_source, utm_medium NULLS FIRST, utm_campaign NULLS FIRST",
        params=[project],
    ).to_arrow_table()


def spend_totals(con: duckdb.DuckDBPyConnection, project: str) -> pa.Table:
    """Per (utm_source, utm_medium, utm_campaign): the cost summed over days, the first and last
    day, the days, and the currency; the most spent first."""
    return con.sql(
        "SELECT utm_source, utm_medium, utm_campaign, fsum(cost) AS cost, min(date) AS first, "
        "max(date) AS last, count(*) AS days, any_value(currency) AS currency FROM spend WHERE project = ? "
        "GROUP BY ALL ORDER BY cost DESC, utm_source, utm_medium NULLS FIRST, utm_campaign NULLS FIRST",
        params=[project],
    ).to_arrow_table()


def _table(rows: list[SpendRow]) -> pa.Table:
    return pa.table({
        "date": pa.array([row.date for row in rows], pa.date32()),
        "utm_source": pa.array([row.utm_source for row in rows], pa.string()),
        "utm_medium": pa.array([row.utm_medium for row in rows], pa.string()),
        "utm_campaign": pa.array([row.utm_campaign for row in rows], pa.string()),
        "cost": pa.array([row.cost for row in rows], pa.float64()),
    })
