"""The Python API: the CLI's questions as functions that return Arrow tables.

    >>> import utmost
    >>> table = utmost.attribute("Reservation Completed", db="utmost-demo.duckdb",
    ...                          models="first_touch,last_touch")  # doctest: +SKIP
    >>> table.to_pandas()  # or polars.from_arrow(table)  # doctest: +SKIP

``answer``, ``answer_on_spark`` and ``follow`` (a question on an open store) live in
:mod:`utmost.access`, beside the operations that run them here or in a server.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any, TypeVar

import pyarrow as pa

from utmost.access import (
    ExperimentsImported,
    SpendImported,
    answer,
    answer_on_spark,
    attribution,
    follow,
    import_experiment_files,
    import_spend_files,
    opened,
    stored_experiments,
    stored_spend,
)
from utmost.access import report as report_of
from utmost.access import journey as journey_of
from utmost.engine import ATTRIBUTE, JOURNEY, REPORT, Journey, make_options, parameters
from utmost.ingest import Layout
from utmost.store import DEFAULT_PROJECT, CsvReport, SpendReport

__all__ = ["answer", "answer_on_spark", "attribute", "experiments", "follow", "import_experiments", "import_spend",
           "journey", "report", "spend"]

F = TypeVar("F", bound=Callable[..., Any])


def _asks(question: str) -> Callable[[F], F]:
    """Declare ``question``'s keywords, from the table, on a function that hands its ``**options``
    to :func:`make_options`: in its signature (``help()``, ``inspect``, editors) and docstring."""

    def declare(function: F) -> F:
        signature = inspect.signature(function)
        own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        keywords = [p for p in parameters(question) if p.name not in signature.parameters]
        declared = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default_for(question))
                    for p in keywords]
        project = inspect.signature(make_options).parameters["project"]
        function.__signature__ = signature.replace(parameters=[*own, project, *declared])  # type: ignore[attr-defined]
        listed = "".join(f"\n    - ``{p.name}={p.default_for(question)!r}``: {p.help}" for p in keywords)
        function.__doc__ = (
            f"{function.__doc__}\n\n    Keywords, as ``utmost {question}``'s options (``project`` for ``--project``,"
            f" ``start`` and ``end`` for ``--from`` and ``--to``):\n{listed}\n"
        )
        return function

    return declare


@_asks(ATTRIBUTE)
def attribute(
    conversion: str,
    *,
    db: str | os.PathLike[str] | None = None,
    per_conversion: bool = False,
    **options: Any,
) -> pa.Table:
    """Credit per model and key (or per conversion), exactly as ``utmost attribute --format json``.

    Reads ``db`` and changes nothing on disk: a missing file, or one that is not a utmost
    database, raises :class:`~utmost.errors.DatabaseFileError` (a ``ValueError``). While
    `utmost serve` holds the file, the server answers (:mod:`utmost.access`).
    """
    question = dict(conversion=conversion, **options)
    make_options(**question)  # a wrong question is told before the database is opened
    with opened(db, read_only=True) as database:
        found = database.run(attribution, question=question, per_conversion=per_conversion)
    return found.per_conversion if per_conversion else found.totals


@_asks(JOURNEY)
def journey(any_id: str, conversion: str, *, db: str | os.PathLike[str] | None = None, **options: Any) -> Journey:
    """The person owning ``any_id``: merged ids, sessions, the events that mattered, and the
    credit of each of their conversions under every model (Arrow tables).

    Reads ``db`` as :func:`attribute` does, changing nothing on disk."""
    question = dict(conversion=conversion, question=JOURNEY, **options)
    make_options(**question)
    with opened(db, read_only=True) as database:
        return database.run(journey_of, question=question, any_id=any_id)


@_asks(REPORT)
def report(conversion: str, *, db: str | os.PathLike[str] | None = None, **options: Any) -> pa.Table:
    """The campaign report, exactly as ``utmost report --format json``: per key (and ``period``
    with ``interval``), ``sessions``, ``persons``, ``landings``, ``conversions``,
    ``conversion_rate``, ``revenue``, and ``cost``, ``cpa`` and ``roas`` when spend applies
    (docs/semantics.md §16).

    Reads ``db`` as :func:`attribute` does, changing nothing on disk."""
    question = dict(conversion=conversion, **options)
    make_options(question=REPORT, **question)
    with opened(db, read_only=True) as database:
        return database.run(report_of, question=question).table


def spend(db: str | os.PathLike[str] | None = None, project: str = DEFAULT_PROJECT) -> pa.Table:
    """The project's ad spend, one row per day and key: ``date``, ``utm_source``, ``utm_medium``,
    ``utm_campaign`` (an empty medium or campaign is null), ``cost``, ``currency``; ordered by
    date, then key.

    Reads ``db`` as :func:`attribute` does, changing nothing on disk, or asks the `utmost serve`
    that holds it."""
    with opened(db, read_only=True) as database:
        return database.run(stored_spend, project=project)


def import_spend(
    *paths: str | os.PathLike[str],
    db: str | os.PathLike[str] | None = None,
    project: str = DEFAULT_PROJECT,
    columns: str | None = None,
    renames: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
    strict: bool = False,
) -> SpendReport:
    """Import spend files as ``utmost spend import`` does: ``columns`` is ``--columns``,
    ``renames`` ``--map`` (column → field), ``constants`` ``--set`` (field → value). Returns what
    it did (``imported``, ``replaced``, ``rejected``, ``problems``); bad lines are skipped, or
    with ``strict`` stop everything (``checked_only``)."""
    Layout.of(columns, renames, constants)
    with opened(db) as database:
        done: SpendImported = database.run(
            import_spend_files, project=project, paths=[os.fspath(p) for p in paths], folder=os.getcwd(),
            columns=columns, renames=dict(renames or {}), constants=dict(constants or {}), strict=strict,
        )
    return done.report


def experiments(db: str | os.PathLike[str] | None = None, project: str = DEFAULT_PROJECT) -> pa.Table:
    """The project's holdout tests, exactly as ``utmost experiments show --format json``: per
    test ``properties`` and ``key`` (lists, in the same order), ``start``, ``end``, the four
    counts, ``test_rate``, ``control_rate``, ``incremental`` (the conversions the key caused in
    the test group), ``standard_error``, ``incremental_low`` and ``incremental_high`` (its 95%
    interval), ``relative_lift`` (null without control conversions), ``large_enough`` and
    ``imported_at`` (docs/semantics.md §19).

    Reads ``db`` as :func:`attribute` does, changing nothing on disk, or asks the `utmost serve`
    that holds it."""
    with opened(db, read_only=True) as database:
        return database.run(stored_experiments, project=project)


def import_experiments(
    *paths: str | os.PathLike[str],
    db: str | os.PathLike[str] | None = None,
    project: str = DEFAULT_PROJECT,
    strict: bool = False,
) -> CsvReport:
    """Import holdout test results as ``utmost experiments import`` does. Returns what it did
    (``imported``, ``replaced``, ``rejected``, ``problems``); bad lines are skipped, or with
    ``strict`` stop everything (``checked_only``)."""
    with opened(db) as database:
        done: ExperimentsImported = database.run(
            import_experiment_files, project=project, paths=[os.fspath(p) for p in paths], folder=os.getcwd(),
            strict=strict,
        )
    return done.report
