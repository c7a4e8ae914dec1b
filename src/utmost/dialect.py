"""The few SQL spellings that differ between DuckDB and Spark, as data — and the one way a
value becomes SQL text.

Every engine query is written once, in SQL common to both, with these templates where the
two disagree (sqlglot-style: per-dialect differences are constants, not ``if`` chains).

**Values.** A question carries values its asker chose: the project, the conversion event,
property names (``--by``, ``--revenue-property``), a person's id, dates. None of them is ever
pasted into SQL: :meth:`Dialect.literal` is the only function that turns a value into SQL text,
as a string literal by the dialect's own escaping rules (a number by :func:`double`, spelt alike
in both dialects, which is also how a model's position weights get there), and a property name
reaches a JSON document only as such a literal (:meth:`Dialect.json_text`). The templates below
hold SQL written here, never a value; ``tests/engine/test_sql_values.py`` runs every query with
hostile values and fails if one of them lands anywhere but inside a literal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


def double(value: float) -> str:
    """A finite number as a DOUBLE literal, spelt alike in both dialects: a bare ``0.4`` is a
    DECIMAL in Spark, and decimal division rounds.

    >>> double(0.4)
    'CAST(0.4 AS DOUBLE)'
    """
    return f"CAST({float(value)!r} AS DOUBLE)"


@dataclass(frozen=True)
class Dialect:
    name: str
    micros: str  # {0}: a TIMESTAMP → its epoch microseconds
    #: {column}: a JSON column, {key}: a string literal naming a top-level key, as made by
    #: :meth:`json_key` → the value as text (NULL when absent or JSON null; objects and arrays as JSON)
    json_value: str
    json_array: str  # {0}: JSON text of an array → array of strings
    explode: str  # {0}: an array → one row per element (in a SELECT list)
    to_double: str  # {0}: text → DOUBLE, NULL when it is not a number
    is_finite: str  # {0}: a DOUBLE → whether it is finite
    ordered_join: str  # {value}, {time}, {seq}, {sep}: an aggregate joining values in (time, seq) order
    regex_match: str  # {0}: text, {1}: a pattern literal → whether the pattern matches anywhere in it
    #: (character, escaped) pairs applied in order inside a single-quoted string literal
    string_escapes: tuple[tuple[str, str], ...]
    identifier_quote: str  # the character that quotes an identifier (doubled inside it)
    #: whether a key is looked up by a JSON pointer (``/key``, RFC 6901) or by its literal name
    key_as_pointer: bool

    def literal(self, value: str | int | float | bool | dt.datetime | None) -> str:
        """``value`` as a SQL literal of this dialect: the one place a value becomes SQL text.

        Strings become single-quoted literals with the dialect's escapes (DuckDB: ``'`` doubled,
        backslashes plain; Spark: backslash escapes, so ``\\`` and ``'`` are escaped), which read
        back as exactly the same string, NUL and non-ASCII included.

        >>> DUCKDB.literal("it's"), SPARK.literal("it's")
        ("'it''s'", "'it\\\\'s'")
        """
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(int(value))
        if isinstance(value, float):
            return double(value) if value == value and abs(value) != float("inf") else "NULL"
        if isinstance(value, dt.datetime):
            return f"TIMESTAMP {self.literal(value.replace(tzinfo=None).isoformat(sep=' '))}"
        if not isinstance(value, str):
            raise TypeError(f"no SQL literal for a {type(value).__name__}")
        for char, escaped in self.string_escapes:
            value = value.replace(char, escaped)
        return f"'{value}'"

    def identifier(self, name: str) -> str:
        """``name`` as a quoted identifier (a catalog or table named by a file, say).

        >>> DUCKDB.identifier('a"b'), SPARK.identifier("a`b")
        ('"a""b"', '`a``b`')
        """
        quote = self.identifier_quote
        return quote + name.replace(quote, quote * 2) + quote

    def json_text(self, column: str, key: str) -> str:
        """SQL for the top-level ``key`` of the JSON ``column`` as text, the key taken literally
        (dots, brackets, quotes and ``$`` are part of the name, as in Mixpanel)."""
        return self.json_value.format(column=column, key=self.json_key(key))

    def json_string_array(self, column: str, key: str) -> str:
        """SQL for the top-level ``key`` of the JSON ``column`` as an array of strings."""
        return self.json_array.format(self.json_text(column, key))

    def json_key(self, key: str) -> str:
        """The literal that names ``key`` to :attr:`json_value`."""
        if self.key_as_pointer:
            key = "/" + key.replace("~", "~0").replace("/", "~1")
        return self.literal(key)


DUCKDB = Dialect(
    name="duckdb",
    micros="epoch_us({0})",
    json_value="json_extract_string({column}, {key})",
    json_array="CAST(json_extract_string({0}, '$[*]') AS VARCHAR[])",
    explode="unnest({0})",
    to_double="TRY_CAST({0} AS DOUBLE)",
    is_finite="isfinite({0})",
    # Listed, sorted as lists, then joined: an ordered aggregate sorts each group on its own (the
    # markov question's journeys at 10M events: 1.0-1.4 s against 0.65-0.85 for the paths).
    ordered_join="array_to_string(list_transform(list_sort(list(struct_pack(t := {time}, s := {seq}, v := {value}))), "
    "lambda x: x.v), {sep})",
    regex_match="regexp_matches({0}, {1})",
    string_escapes=(("'", "''"),),
    identifier_quote='"',
    key_as_pointer=True,
)

SPARK = Dialect(
    name="spark",
    micros="unix_micros({0})",
    # A map lookup takes the key as a plain string; get_json_object's path has no escaping.
    json_value="try_element_at(from_json({column}, 'map<string,string>'), {key})",
    json_array="from_json({0}, 'array<string>')",
    explode="explode({0})",
    to_double="try_cast({0} AS DOUBLE)",
    is_finite="(NOT isnan({0}) AND abs({0}) < double('infinity'))",
    ordered_join="array_join(transform(array_sort(collect_list(struct({time} AS t, {seq} AS s, {value} AS v))), "
    "x -> x.v), {sep})",
    regex_match="({0} RLIKE {1})",
    string_escapes=(("\\", "\\\\"), ("'", "\\'")),
    identifier_quote="`",
    key_as_pointer=False,
)


def url_host(url: str) -> str:
    """SQL (either dialect): the host of the URL expression ``url``, NULL when it has none."""
    return f"nullif(regexp_extract({url}, '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/:?#@]+)', 1), '')"
