"""The few SQL spellings that differ between DuckDB and Spark, as data.

Every engine query is written once, in SQL common to both, with these templates where the
two disagree (sqlglot-style: per-dialect differences are constants, not ``if`` chains).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str
    micros: str  # {0}: a TIMESTAMP → its epoch microseconds
    json_text: str  # {0}: a JSON column, {1}: a key → the value as text (NULL for JSON null)
    json_string_array: str  # {0}: a JSON column, {1}: a key → array of strings
    explode: str  # {0}: an array → one row per element (in a SELECT list)
    to_double: str  # {0}: text → DOUBLE, NULL when it is not a number
    is_finite: str  # {0}: a DOUBLE → whether it is finite
    ordered_join: str  # {value}, {time}, {seq}, {sep}: an aggregate joining values in (time, seq) order

    def quote(self, value: object) -> str:
        """A SQL literal; strings are quoted with doubled single quotes."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, dt.datetime):
            return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
        text = str(value).replace("\\", "\\\\") if self.name == "spark" else str(value)
        return "'" + text.replace("'", "''") + "'"


DUCKDB = Dialect(
    name="duckdb",
    micros="epoch_us({0})",
    json_text="json_extract_string({0}, '$.\"{1}\"')",
    json_string_array="CAST(json_extract_string({0}, '$.\"{1}\"[*]') AS VARCHAR[])",
    explode="unnest({0})",
    to_double="TRY_CAST({0} AS DOUBLE)",
    is_finite="isfinite({0})",
    ordered_join="string_agg({value}, {sep} ORDER BY {time}, {seq})",
)

SPARK = Dialect(
    name="spark",
    micros="unix_micros({0})",
    json_text="get_json_object({0}, '$[''{1}'']')",
    json_string_array="from_json(get_json_object({0}, '$[''{1}'']'), 'array<string>')",
    explode="explode({0})",
    to_double="try_cast({0} AS DOUBLE)",
    is_finite="(NOT isnan({0}) AND abs({0}) < double('infinity'))",
    ordered_join="array_join(transform(array_sort(collect_list(struct({time} AS t, {seq} AS s, {value} AS v))), "
    "x -> x.v), {sep})",
)
