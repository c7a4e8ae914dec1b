"""The ingest queries' helpers (``store/inserts.py``); what they store is held by test_importer and the collector's tests."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from utmost.store import inserts


def test_a_query_that_fails_on_a_registered_table_raises_its_own_error():
    """In a transaction (the writer's group) a failed query aborts it, and unregistering the
    table fails then too: the query's error is the one raised, not "transaction is aborted"."""
    con = duckdb.connect()
    con.execute("BEGIN")
    with pytest.raises(duckdb.BinderException, match="octet_length"):
        with inserts._registered(con, "lines", pa.table({"line": ["text, not bytes"]})):
            con.execute("SELECT octet_length(line) FROM lines")
    con.execute("ROLLBACK")
    assert "lines" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}  # unregistered all the same
