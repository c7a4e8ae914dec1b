"""The store's defaults: which file, which project. Read by ``utmost --help``, so nothing here
imports DuckDB or Arrow."""

from __future__ import annotations

import os

DEFAULT_DB = "utmost.duckdb"
DB_ENV = "UTMOST_DB"
DEFAULT_PROJECT = "default"
#: Rows per row group for a store that collects (``utmost serve``): DuckDB's smallest. DuckDB
#: writes a transaction holding at least one row group (122,880 rows by default) straight into
#: the file, and logs a smaller one, then writes it again at the checkpoint. The collector's
#: rounds hold a few thousand rows, so with groups this small an /import round skips the log
#: and the checkpoint: ~1.4x the events a second. The groups it writes take ~1.8x the space
#: (500k demo events: 111 against 62 MiB) and scan as fast; a later write with DuckDB's size
#: merges them back, ~120 groups a checkpoint.
COLLECTOR_ROW_GROUP_ROWS = 2048


def default_path() -> str:
    """``$UTMOST_DB``, else ``utmost.duckdb`` in the working directory."""
    return os.environ.get(DB_ENV) or DEFAULT_DB
