"""The campaign report: per key, what it brought (sessions, persons, landings) beside what it
earned under one model (conversions, revenue) and what it cost (docs/semantics.md §16).

The counts come from the ``touchpoints`` table that attribution materialises (one query,
:func:`utmost.engine.queries.reach`), the credit from attribution itself, exactly as ``utmost
attribute`` gives it: the report asks nothing the engine does not already compute. With
``--interval``, a touchpoint counts in the period of its own time, a conversion's credit in the
period of the conversion, and spend in the period of its date.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from utmost.backends import Backend
from utmost.engine import money, queries
from utmost.engine.options import Options
from utmost.engine.run import attribute, decimal, spending

#: The counts of a key: sessions it started, persons it reached, its landings.
COUNTS = ("sessions", "persons", "landings")
#: What it earned: credited conversions, their rate per session started, credited revenue.
EARNED = ("conversions", "conversion_rate", "revenue")


@dataclass(frozen=True)
class Report:
    """The report's rows (``period`` first with an interval, then the ``--by`` keys, then
    :data:`COUNTS`, :data:`EARNED` and, when spend applies, :data:`money.MONEY`), and the counts
    of conversions its footer tells."""

    table: pa.Table
    conversions: int
    converted_without_touchpoints: int


def report(backend: Backend, options: Options) -> Report:
    """The campaign report of ``options`` (its one model is ``options.models[0]``) on ``backend``."""
    result = attribute(backend, options, per_conversion=options.interval is not None, steps=True)
    keys = [f"k{i}" for i in range(len(options.by))]
    counted = backend.arrow(queries.reach(backend.dialect, options)).to_pylist()
    if options.interval is None:
        credited = {_key(row, options.by): (row["conversions"], row["revenue"]) for row in result.totals.to_pylist()}
    else:
        credited = _per_period(result.per_conversion.to_pylist(), options)
    spent = _spend(backend, options, keys)
    lead = ["period"] if options.interval else []
    counts = {tuple(_period(row) if c == "period" else row[c] for c in [*lead, *keys]): row for row in counted}
    rows = [_row(key, counts.get(key), credited.get(key, (0.0, 0.0)), spent)
            for key in dict.fromkeys([*counts, *credited, *(spent or {})])]
    rows.sort(key=lambda r: (r[0][:1] if lead else (), -r[1]["conversions"], -r[1]["sessions"], r[0]))
    names = [*lead, *options.by]
    columns = [*COUNTS, *EARNED, *(money.MONEY if spent is not None else ())]
    types = {c: pa.int64() if c in COUNTS else pa.float64() for c in columns}
    table = pa.table({
        **{name: pa.array([key[i] for key, _ in rows], pa.string()) for i, name in enumerate(names)},
        **{c: pa.array([numbers[c] for _, numbers in rows], types[c]) for c in columns},
    })
    return Report(table, result.conversions, result.converted_without_touchpoints)


def _row(key: tuple, counts: dict | None, credit: tuple[float, float], spent: dict | None) -> tuple[tuple, dict]:
    """One row: a key's counts (0 without touchpoints), its credit, its rate and its money."""
    numbers = {c: (counts or {}).get(c) or 0 for c in COUNTS}
    conversions, revenue = credit
    numbers |= {"conversions": decimal(conversions), "revenue": decimal(revenue),
                "conversion_rate": decimal(conversions / numbers["sessions"]) if numbers["sessions"] else None}
    if spent is not None:
        found = money.money_columns(spent.get(key), conversions, revenue)
        numbers |= {c: None if v is None else decimal(v) for c, v in found.items()}
    return key, numbers


def _key(row: dict, by: Iterable[str]) -> tuple:
    return tuple(row[p] for p in by)


def _per_period(rows: list[dict], options: Options) -> dict[tuple, tuple[float, float]]:
    """Each conversion's credit summed per period of the conversion and key, exactly (``math.fsum``)."""
    sums: dict[tuple, tuple[list[float], list[float]]] = {}
    for row in rows:
        credit, revenue = sums.setdefault((period_start(row["time"], options.interval), *_key(row, options.by)),
                                          ([], []))
        credit.append(row["credit"])
        revenue.append(row["revenue"])
    return {key: (math.fsum(c), math.fsum(r)) for key, (c, r) in sums.items()}


def period_start(time: dt.datetime | dt.date, interval: str | None) -> str:
    """The first day of the period that holds ``time``, as ``YYYY-MM-DD`` (as the SQL's
    :func:`~utmost.engine.queries.period_of` truncates: ISO weeks from Monday).

    >>> period_start(dt.datetime(2023, 11, 16, 23, 59), "week"), period_start(dt.date(2023, 11, 16), "month")
    ('2023-11-13', '2023-11-01')
    """
    day = time.date() if isinstance(time, dt.datetime) else time
    if interval == "week":
        day -= dt.timedelta(days=day.weekday())
    elif interval == "month":
        day = day.replace(day=1)
    return day.isoformat()


def _period(row: dict) -> str:
    return period_start(row["period"], "day")


def _spend(backend: Backend, options: Options, keys: list[str]) -> dict[tuple, float] | None:
    """Cost per key (and period), or None when the keys are not spend's or the project has none."""
    spent = spending(backend, options)
    if spent is None:
        return None
    lead = ["period"] if options.interval else []
    return {tuple(_period(r) if c == "period" else r[c] for c in [*lead, *keys]): r["cost"] for r in spent}
