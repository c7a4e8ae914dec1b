"""``utmost spend import`` and ``POST /api/spend``: spend files parsed, then stored at once.

Every file is parsed before anything is stored (:func:`~utmost.ingest.spend.parse_spend`), so
a file that is no spend file at all stores nothing of any, and ``strict`` can refuse them all.
The rows are then stored by one job of the writer: one transaction (:mod:`utmost.store.spend`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from utmost.ingest.spend import Layout, ParsedSpend, parse_spend, read_spend_file
from utmost.store.database import Store
from utmost.store.spend import SpendFile, SpendReport


def spend_files(paths: Iterable[str | os.PathLike[str]], folder: str | os.PathLike[str] | None = None) -> list[SpendFile]:
    """The files at ``paths`` (relative ones in ``folder``), read whole; a missing one is an
    InputError before anything is stored."""
    return [SpendFile(str(path), read_spend_file(path, folder)) for path in paths]


def import_spend(store: Store, project: str, files: list[SpendFile], layout: Layout | None = None,
                 *, strict: bool = False) -> SpendReport:
    """Parse every file, then store their rows in one transaction (replacing what was stored for
    their keys and days); with ``strict``, any bad line stores nothing (``checked_only``).

    A file that is no spend file at all (no header with the needed fields) raises
    :class:`~utmost.errors.InputError` before anything is stored. Files are stored in order:
    where two hold the same key and day, the later one's cost is kept.
    """
    currency = store.spend_currency(project)
    report = SpendReport()
    parsed: list[ParsedSpend] = []
    for file in files:
        found = parse_spend(file.data, file.name or "body", layout or Layout(), currency)
        currency = found.currency
        parsed.append(found)
        report.add_problems(file, found.problems)
    report.currency = currency
    if strict and report.rejected:
        report.checked_only = True
        return report
    report.imported, report.replaced = store.store_spend(project, [found.rows for found in parsed], currency)
    return report
