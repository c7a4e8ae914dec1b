"""The Python API: the CLI's questions as functions that return Arrow tables.

    >>> import utmost
    >>> table = utmost.attribute("Reservation Completed", db="utmost-demo.duckdb",
    ...                          models="first_touch,last_touch")  # doctest: +SKIP
    >>> table.to_pandas()  # or polars.from_arrow(table)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any, TypeVar

import pyarrow as pa

from utmost import engine
from utmost.backends import Backend, DuckDBBackend, SparkBackend, spark_session
from utmost.engine import ATTRIBUTE, JOURNEY, Journey, Options, Result, check_question, make_options, parameters
from utmost.store import Store

T = TypeVar("T")


def _checked(backend: Backend, options: Options, work: Callable[[Backend], T]) -> T:
    """Check the question against the data, then do ``work`` on the backend, and close it."""
    try:
        check_question(backend, options)
        return work(backend)
    finally:
        backend.close()


def answer(store: Store, options: Options, per_conversion: bool = True) -> Result:
    """Answer a question on the store's DuckDB backend."""
    return _checked(DuckDBBackend.of(store), options, lambda b: engine.attribute(b, options, per_conversion))


def answer_on_spark(options: Options, events: str | os.PathLike[str], master: str = "local[*]") -> Result:
    """The same question on Spark, over Parquet written by ``utmost export --parquet``."""
    return _checked(SparkBackend(spark_session(master), str(events)), options, lambda b: engine.attribute(b, options))


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
    database, raises :class:`~utmost.errors.DatabaseFileError` (a ``ValueError``).
    """
    question = make_options(conversion, **options)
    with Store(db, read_only=True) as store:
        store.project(question.project)
        result = answer(store, question, per_conversion)
    return result.per_conversion if per_conversion else result.totals


def follow(store: Store, options: Options, any_id: str) -> Journey:
    """One person's journey, on the store's DuckDB backend."""
    return _checked(DuckDBBackend.of(store), options, lambda b: engine.journey(b, options, any_id))


@_asks(JOURNEY)
def journey(any_id: str, conversion: str, *, db: str | os.PathLike[str] | None = None, **options: Any) -> Journey:
    """The person owning ``any_id``: merged ids, sessions, the events that mattered, and the
    credit of each of their conversions under every model (Arrow tables).

    Reads ``db`` as :func:`attribute` does, changing nothing on disk."""
    question = make_options(conversion, question=JOURNEY, **options)
    with Store(db, read_only=True) as store:
        store.project(question.project)
        return follow(store, question, any_id)
