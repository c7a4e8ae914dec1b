"""Storage: the DuckDB file, its schema, the single writer, and file import (events, spend and
experiments).

Only this package opens database connections. The interfaces use the names below and nothing
else of it.
"""

from typing import TYPE_CHECKING

from utmost.lazy import exports
from utmost.store.defaults import COLLECTOR_ROW_GROUP_ROWS, DB_ENV, DEFAULT_DB, DEFAULT_PROJECT, default_path

if TYPE_CHECKING:
    from utmost.store.appender import SPLIT_AHEAD_LINES
    from utmost.store.csvfiles import CsvFile, CsvReport
    from utmost.store.database import Store, compact, discard_demo
    from utmost.store.destinations import absolute_destination
    from utmost.store.experiments_import import experiment_files, import_experiments
    from utmost.store.export import Exported
    from utmost.store.importer import ImportReport, import_files
    from utmost.store.profiles import Update
    from utmost.store.projects import Project, ServiceAccount
    from utmost.store.spend import SpendFile, SpendReport
    from utmost.store.spend_import import import_spend, spend_files
    from utmost.store.writer import RETRY_AFTER_SECONDS, quick_handover

#: The rest load DuckDB and Arrow, so they are imported when first used (:mod:`utmost.lazy`).
__getattr__ = exports(__name__, {
    "SPLIT_AHEAD_LINES": "utmost.store.appender",
    "CsvFile": "utmost.store.csvfiles",
    "CsvReport": "utmost.store.csvfiles",
    "Store": "utmost.store.database",
    "compact": "utmost.store.database",
    "discard_demo": "utmost.store.database",
    "absolute_destination": "utmost.store.destinations",
    "experiment_files": "utmost.store.experiments_import",
    "import_experiments": "utmost.store.experiments_import",
    "Exported": "utmost.store.export",
    "ImportReport": "utmost.store.importer",
    "import_files": "utmost.store.importer",
    "Update": "utmost.store.profiles",
    "Project": "utmost.store.projects",
    "ServiceAccount": "utmost.store.projects",
    "SpendFile": "utmost.store.spend",
    "SpendReport": "utmost.store.spend",
    "import_spend": "utmost.store.spend_import",
    "spend_files": "utmost.store.spend_import",
    "RETRY_AFTER_SECONDS": "utmost.store.writer",
    "quick_handover": "utmost.store.writer",
})

__all__ = [
    "COLLECTOR_ROW_GROUP_ROWS",
    "DB_ENV",
    "DEFAULT_DB",
    "DEFAULT_PROJECT",
    "RETRY_AFTER_SECONDS",
    "SPLIT_AHEAD_LINES",
    "CsvFile",
    "CsvReport",
    "Exported",
    "ImportReport",
    "Project",
    "ServiceAccount",
    "SpendFile",
    "SpendReport",
    "Store",
    "Update",
    "absolute_destination",
    "compact",
    "default_path",
    "discard_demo",
    "experiment_files",
    "import_experiments",
    "import_files",
    "import_spend",
    "quick_handover",
    "spend_files",
]
