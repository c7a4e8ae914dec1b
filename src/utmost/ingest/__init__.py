"""Incoming lines, decoded and judged before anything is stored.

What an event is (:mod:`~utmost.ingest.events`: its columns and the rules that accept or
reject a line), the fast decoder of well-formed lines (:mod:`~utmost.ingest.plain`), files to
read (:mod:`~utmost.ingest.sources`), the landing parameters of a URL
(:mod:`~utmost.ingest.campaign`), profile operations (:mod:`~utmost.ingest.people`), ad
spend exports (:mod:`~utmost.ingest.spend`, read by :mod:`~utmost.ingest.spend_layout`) and
holdout experiments (:mod:`~utmost.ingest.experiments`), both CSV read alike
(:mod:`~utmost.ingest.csvfile`), and the names a key may have (:mod:`~utmost.ingest.keys`). Nothing
here opens the database; :mod:`utmost.store` writes what this package accepts. The interfaces
use the names below and nothing else of it.
"""

from typing import TYPE_CHECKING

from utmost.ingest.campaign import LANDING_PARAMS, UTM_KEYS
from utmost.ingest.experiments import check_experiments_file, read_experiments_file
from utmost.ingest.people import apply_operation, operations_of
from utmost.lazy import exports

from utmost.ingest.spend import MAX_SPEND_BYTES, check_spend_file, read_spend_file
from utmost.ingest.spend_layout import PRESETS, Layout, parse_assignments

if TYPE_CHECKING:
    from utmost.ingest.sources import open_source

#: Reading files loads Arrow and numpy: imported when first used (:mod:`utmost.lazy`).
__getattr__ = exports(__name__, {"open_source": "utmost.ingest.sources"})

__all__ = [
    "LANDING_PARAMS",
    "MAX_SPEND_BYTES",
    "PRESETS",
    "UTM_KEYS",
    "Layout",
    "apply_operation",
    "check_experiments_file",
    "check_spend_file",
    "open_source",
    "operations_of",
    "parse_assignments",
    "read_experiments_file",
    "read_spend_file",
]
