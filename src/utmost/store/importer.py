"""``utmost import``: Mixpanel export files into the store, streaming, with a full report.

Files are read chunk by chunk (:mod:`utmost.store.sources`) while the writer stores the
previous chunk, so reading and writing overlap and memory stays flat. Bad lines are reported
as ``FILE:LINE: reason`` and skipped; with ``strict`` every file is checked first and any bad
line means nothing is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field

from utmost.errors import BadLineError, InputError
from utmost.store.database import Store
from utmost.store.ingest import REPORTED_REJECTIONS, IngestResult
from utmost.store.sources import Source, open_source

#: Called after each chunk with (bytes read since the last call, events in that chunk).
Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    """Totals of an import, and the first bad lines in full (``problems``)."""

    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)
    checked_only: bool = False

    def add(self, source: Source, result: IngestResult) -> None:
        self.imported += result.inserted
        self.duplicates += result.duplicates
        self.rejected += result.rejected
        for line, reason in result.rejections:
            if len(self.problems) < REPORTED_REJECTIONS:
                self.problems.append(str(BadLineError(source.where(line), reason)))

    def fail(self, error: InputError) -> None:
        """A whole file, or its rest, could not be read."""
        self.rejected += 1
        if len(self.problems) < REPORTED_REJECTIONS:
            self.problems.append(str(error))


def import_files(
    store: Store,
    project: str,
    paths: Iterable[str | os.PathLike[str]],
    *,
    strict: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import every file into ``project``; see the module docstring for the rules."""
    sources = [open_source(path) for path in paths]
    if strict:
        report = _check(store, project, sources, progress)
        if report.rejected:
            return report
    report = ImportReport()
    for source in sources:
        _import_source(store, project, source, report, progress)
    return report


def _import_source(store: Store, project: str, source: Source, report: ImportReport, progress: Progress | None) -> None:
    pending: Future[IngestResult] | None = None
    done = 0
    try:
        for chunk in source.chunks():
            if pending is not None:
                report.add(source, pending.result())
            pending = store.insert_lines(project, chunk.lines)
            if progress:
                progress(chunk.done_bytes - done, chunk.lines.num_rows)
            done = chunk.done_bytes
    except InputError as error:
        report.fail(error)
    if pending is not None:
        report.add(source, pending.result())


def _check(store: Store, project: str, sources: list[Source], progress: Progress | None) -> ImportReport:
    report = ImportReport(checked_only=True)
    for source in sources:
        done = 0
        try:
            for chunk in source.chunks():
                report.add(source, store.check_lines(project, chunk.lines))
                if progress:
                    progress(chunk.done_bytes - done, chunk.lines.num_rows)
                done = chunk.done_bytes
        except InputError as error:
            report.fail(error)
    return report
