"""``utmost experiments import``: experiments files parsed, then stored at once.

Every file is parsed before anything is stored (:func:`~utmost.ingest.experiments.parse_experiments`),
so a file that is no experiments file at all stores nothing of any, and ``strict`` can refuse
them all. The rows are then stored by one job of the writer: one transaction
(:mod:`utmost.store.experiments`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from utmost.ingest.experiments import ParsedExperiments, parse_experiments, read_experiments_file
from utmost.store.csvfiles import CsvFile, CsvReport
from utmost.store.database import Store


def experiment_files(paths: Iterable[str | os.PathLike[str]], folder: str | os.PathLike[str] | None = None
                     ) -> list[CsvFile]:
    """The files at ``paths`` (relative ones in ``folder``), read whole; a missing one is an
    InputError before anything is stored."""
    return [CsvFile(str(path), read_experiments_file(path, folder)) for path in paths]


def import_experiments(store: Store, project: str, files: list[CsvFile], *, strict: bool = False) -> CsvReport:
    """Parse every file, then store their experiments in one transaction (replacing the stored
    one of each key and days they hold); with ``strict``, any bad line stores nothing
    (``checked_only``).

    A file that is no experiments file at all raises :class:`~utmost.errors.InputError` before
    anything is stored. Files are stored in order: where two hold the same key and days, the
    later one's counts are kept.
    """
    report = CsvReport()
    parsed: list[ParsedExperiments] = []
    for file in files:
        found = parse_experiments(file.data, file.name or "body")
        parsed.append(found)
        report.add_problems(file, found.problems)
    if strict and report.rejected:
        report.checked_only = True
        return report
    report.imported, report.replaced = store.store_experiments(project, [found.experiments for found in parsed])
    return report
