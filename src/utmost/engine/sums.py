"""Exactly rounded sums of doubles per group, computed where the rows are: ``math.fsum``'s bits.

Totals are summed exactly (rounded once, at the end) so that they do not depend on the order
in which an engine met the rows: DuckDB, Spark and every rerun print the same bits. Collecting
every credit to sum it here grows with the events (4.9M credits for a 10M-event question,
~2 s; on Spark, all of them through the driver), so the engine sums them itself, exactly:

every finite double is an integer ``m`` (``2**52 <= m < 2**53``, fewer bits if subnormal) times
``2**e``, and scaling by a power of two is exact. :func:`exact_parts` writes, per group and
exponent, the sums of ``m``'s high and low 26-bit halves as integers (exact: a group would need
2**36 rows to overflow 64 bits); :func:`exact_totals` adds those few parts with Python's
integers and rounds each total once, correctly (an integer division).
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from utmost.backends import Backend
from utmost.dialect import Dialect

_HALF = 1 << 26
_LEAST = -1074  # the exponent of the least subnormal


def exact_sums(backend: Backend, relation: str, groups: list[str], values: list[str]) -> dict[tuple, dict[str, float]]:
    """Per group of ``relation`` on ``backend`` (a tuple of ``groups``' values), each of the
    ``values`` columns' exactly rounded sum: :func:`exact_parts` run there, added here."""
    return exact_totals(backend.arrow(exact_parts(backend.dialect, relation, groups, values)).to_pylist(), groups)


def exact_parts(d: Dialect, relation: str, groups: list[str], values: list[str]) -> str:
    """SQL: per ``groups``, value column (``measure``) and exponent ``e``, the integer sums
    ``high`` and ``low`` whose ``(high * 2**26 + low) * 2**e`` add up to the column's exact sum."""
    group_list = ", ".join(groups)
    parts = []
    # e0: the exponent of ``v`` if log2 is right; it may be off by one, which one step mends.
    # ``m0`` is scaled in two powers so that neither overflows (a subnormal's -e0 is up to 1126).
    e0 = f"greatest(CAST(floor(log2(abs(v))) AS INT) - 52, {_LEAST})"
    for value in values:
        # Each distinct value once, with how many rows hold it (``n``): at 10M events the 9.8M
        # credits and revenues hold 1.6M values, and scaling costs more than counting (0.35-0.41 s
        # against 0.45-0.48). ``n`` times a half stays within 64 bits, as the halves' sums do.
        parts.append(f"""
  SELECT {group_list}, {d.literal(value)} AS measure, e0, n, CAST(sign(v) AS BIGINT) AS s,
    abs(v) * pow(2.0, -e0 - CAST(floor(-e0 / 2.0) AS INT)) * pow(2.0, CAST(floor(-e0 / 2.0) AS INT)) AS m0
  FROM (
    SELECT *, {e0} AS e0 FROM (
      SELECT {group_list}, {value} AS v, count(*) AS n FROM {relation} WHERE {value} <> 0 GROUP BY {group_list}, {value}
    ) AS counted
  ) AS nonzero""")
    two52, two53 = float(2**52), float(2**53)
    return f"""
SELECT {group_list}, measure, e, CAST(sum(s * n * high) AS BIGINT) AS high, CAST(sum(s * n * low) AS BIGINT) AS low FROM (
  SELECT {group_list}, measure, e, s, n, CAST(floor(m / {float(_HALF)!r}) AS BIGINT) AS high,
    CAST(m - floor(m / {float(_HALF)!r}) * {float(_HALF)!r} AS BIGINT) AS low
  FROM (
    SELECT {group_list}, measure, s, n,
      CASE WHEN m0 >= {two53!r} THEN e0 + 1 WHEN m0 < {two52!r} AND e0 > {_LEAST} THEN e0 - 1 ELSE e0 END AS e,
      CASE WHEN m0 >= {two53!r} THEN m0 / 2 WHEN m0 < {two52!r} AND e0 > {_LEAST} THEN m0 * 2 ELSE m0 END AS m
    FROM ({" UNION ALL ".join(parts)}) AS scaled
  ) AS whole
) AS halves
GROUP BY {group_list}, measure, e"""


def exact_totals(parts: Iterable[dict], groups: list[str]) -> dict[tuple, dict[str, float]]:
    """The rows of :func:`exact_parts` added up: per group (a tuple of ``groups``' values), each
    measure's exactly rounded sum.

    >>> exact_totals([{"k": "a", "measure": "x", "e": -1, "high": 0, "low": 3},
    ...               {"k": "a", "measure": "x", "e": 0, "high": 1, "low": 0}], ["k"])
    {('a',): {'x': 67108865.5}}
    """
    units: dict[tuple, dict[str, dict[int, int]]] = {}
    for row in parts:
        by_power = units.setdefault(tuple(row[g] for g in groups), {}).setdefault(row["measure"], {})
        by_power[row["e"]] = by_power.get(row["e"], 0) + row["high"] * _HALF + row["low"]
    totals: dict[tuple, dict[str, float]] = {}
    for key, measures in units.items():
        for measure, by_power in measures.items():
            lowest = min(by_power)
            exact = sum(count << (power - lowest) for power, count in by_power.items())
            totals.setdefault(key, {})[measure] = float(Fraction(exact) * Fraction(2) ** lowest)
    return totals
