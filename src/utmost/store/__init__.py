"""Storage: the DuckDB file, its schema, the single writer, and file import.

Only this package opens database connections. The interfaces use the names below and nothing
else of it.
"""

from utmost.store.appender import SPLIT_AHEAD_LINES
from utmost.store.database import COLLECTOR_ROW_GROUP_ROWS, DB_ENV, DEFAULT_DB, Store, default_path, discard_demo
from utmost.store.importer import ImportReport, import_files
from utmost.store.profiles import Update
from utmost.store.projects import DEFAULT_PROJECT, Project
from utmost.store.writer import RETRY_AFTER_SECONDS, quick_handover

__all__ = [
    "COLLECTOR_ROW_GROUP_ROWS",
    "DB_ENV",
    "DEFAULT_DB",
    "DEFAULT_PROJECT",
    "RETRY_AFTER_SECONDS",
    "SPLIT_AHEAD_LINES",
    "ImportReport",
    "Project",
    "Store",
    "Update",
    "default_path",
    "discard_demo",
    "import_files",
    "quick_handover",
]
