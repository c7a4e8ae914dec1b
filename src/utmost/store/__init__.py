"""Storage: the DuckDB file, its schema, the single writer, and file import.

Only this package opens database connections.
"""

from utmost.store.database import COLLECTOR_ROW_GROUP_ROWS, DB_ENV, DEFAULT_DB, Store, default_path
from utmost.store.projects import DEFAULT_PROJECT, Project
from utmost.store.writer import quick_handover

__all__ = ["COLLECTOR_ROW_GROUP_ROWS", "DB_ENV", "DEFAULT_DB", "DEFAULT_PROJECT", "Project", "Store", "default_path",
           "quick_handover"]
