"""The canonical event, and how any accepted payload line becomes one.

Pure definitions, no I/O. Every source of events (an export file, a collector batch) is
handed to the store as raw JSON lines numbered from 1; :func:`normalise_sql` is the one query
that validates each line with a precise reason and maps the valid ones to the canonical
columns of docs/semantics.md §1. Writing the mapping once, in SQL, keeps importer and collector identical
and lets DuckDB parse JSON vectorised on every core instead of one Python object at a time.
Ordinary lines take a shortcut (:mod:`utmost.ingest.plain`), held to this query's exact answer by a
differential test.
"""

from __future__ import annotations

from dataclasses import dataclass

from utmost.ingest.campaign import LANDING_FUNCTION, LANDING_HINT, LANDING_PARAMS, landing_sql

#: Mixpanel's limits (docs/semantics.md §1).
MAX_EVENT_BYTES = 1024 * 1024
MAX_PROPERTIES = 254  # "fewer than 255 properties"
MAX_INSERT_ID_LENGTH = 36
#: Times above this are milliseconds, below it seconds (1e11 s is the year 5138).
MILLISECONDS_ABOVE = 1e11
#: Latest accepted time, in milliseconds: keeps timestamps far inside DuckDB's range.
MAX_TIME_MS = 1e14


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str


#: The canonical event (docs/semantics.md §1), in storage order. ``seq`` is assigned by the writer.
CANONICAL_COLUMNS: tuple[Column, ...] = (
    Column("project", "VARCHAR NOT NULL"),
    Column("event", "VARCHAR NOT NULL"),
    Column("time", "TIMESTAMP NOT NULL"),
    Column("distinct_id", "VARCHAR"),
    Column("device_id", "VARCHAR"),
    Column("user_id", "VARCHAR"),
    Column("insert_id", "VARCHAR NOT NULL"),
    *(Column(key, "VARCHAR") for key in LANDING_PARAMS),
    Column("current_url", "VARCHAR"),
    Column("referrer", "VARCHAR"),
    Column("referring_domain", "VARCHAR"),
    # zstd: the JSON is most of an event's bytes; zstd writes it ~2x faster than the default
    # analysis picks (dictionary/FSST) and stores it in a quarter of the space.
    Column("properties", "JSON USING COMPRESSION zstd"),
    Column("seq", "BIGINT NOT NULL"),
)
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in CANONICAL_COLUMNS)
#: Two events with equal values here are one event (Mixpanel's rule); the later is dropped.
DEDUP_KEY: tuple[str, ...] = ("project", "event", "distinct_id", "time", "insert_id")
#: The same rule within one project, whose events are stored and judged together.
PROJECT_DEDUP_KEY: tuple[str, ...] = DEDUP_KEY[1:]

#: Properties read into their own columns; JSON paths are quoted so `$` names are safe.
PROPERTY_COLUMNS = {
    "distinct_id": "distinct_id",
    "device_id": "$device_id",
    "user_id": "$user_id",
    "current_url": "$current_url",
    "referrer": "$referrer",
    "referring_domain": "$referring_domain",
}
_EXTRACTED = ("time", "$insert_id", *PROPERTY_COLUMNS.values(), *LANDING_PARAMS)


#: JSON paths read from every line; their JSON types are read for the whole document too.
_PATHS = ("$.event", "$.properties", *(f'$.properties."{p}"' for p in _EXTRACTED))
_TYPED_PATHS = ("$", *_PATHS)


def _position(path_or_prop: str) -> int:
    """1-based position in the list of texts extracted for ``_PATHS``."""
    if path_or_prop.startswith("$."):
        return _PATHS.index(path_or_prop) + 1
    return _EXTRACTED.index(path_or_prop) + 3


def _type(prop: str) -> str:
    """SQL for the JSON type name of ``prop`` (a property, or a path); NULL when absent."""
    return f"types[{_position(prop) + 1}]"


def _text(prop: str) -> str:
    """SQL for ``prop`` as text (strings unquoted, numbers as written); NULL unless a scalar."""
    return f"scalars[{_position(prop)}]"


#: Every extracted text, NULL where the value is not a scalar: one list expression, because
#: DuckDB's planning time grows with the number of expressions, and a CASE per property
#: (26 of them) was half the time of a small collector request.
_SCALARS = (
    "list_transform(list_zip(types[2:], texts), "
    "lambda pair: CASE WHEN pair[1] NOT IN ('NULL', 'OBJECT', 'ARRAY') THEN pair[2] END)"
)


def _absent(prop: str) -> str:
    return f"coalesce({_type(prop)} = 'NULL', true)"


_EVENT, _PROPERTIES = "$.event", "$.properties"
_NUMBER = "('BIGINT', 'UBIGINT', 'DOUBLE')"
_TIME = "time_number"
_SECONDS_FACTOR = f"CASE WHEN {_TIME} > {MILLISECONDS_ABOVE} THEN 1 ELSE 1000 END"
#: The shortest JSON object with more than MAX_PROPERTIES keys is longer than this, so the
#: keys are only counted (a second parse) on lines that could have too many.
MIN_BYTES_FOR_TOO_MANY = 5 * MAX_PROPERTIES
_BLANK_BYTES = 16

# (condition, reason) checked in order; the first that holds rejects the line. Reasons are SQL
# string expressions so they can carry the offending value.
_REJECTIONS: tuple[tuple[str, str], ...] = (
    ("text IS NULL", "'not valid UTF-8'"),
    (f"nbytes > {MAX_EVENT_BYTES}", f"'event is ' || nbytes || ' bytes (at most {MAX_EVENT_BYTES})'"),
    ("types IS NULL", "'invalid JSON'"),
    ("types[1] <> 'OBJECT'", "'not a JSON object'"),
    (_absent(_EVENT), "'missing \"event\"'"),
    (f"{_type(_EVENT)} <> 'VARCHAR'", "'\"event\" is not a string'"),
    (f"{_text(_EVENT)} = ''", "'empty \"event\"'"),
    (_absent(_PROPERTIES), "'missing \"properties\"'"),
    (f"{_type(_PROPERTIES)} <> 'OBJECT'", "'\"properties\" is not an object'"),
    (_absent("time"), "'missing \"properties.time\"'"),
    (f"{_type('time')} NOT IN {_NUMBER}", "'\"properties.time\" is not a number'"),
    (
        f"NOT ({_TIME} >= 0 AND {_TIME} * {_SECONDS_FACTOR} < {MAX_TIME_MS})",
        "'\"properties.time\" is out of range: ' || texts[3]",
    ),
    (
        f"{_type('distinct_id')} IN ('OBJECT', 'ARRAY', 'BOOLEAN')",
        "'\"properties.distinct_id\" is not a string'",
    ),
    (
        f"{_text(_EVENT)} <> '$merge' AND coalesce({_text('distinct_id')}, '') = ''",
        "'missing \"properties.distinct_id\"'",
    ),
    (
        f"NOT {_absent('$insert_id')} AND {_type('$insert_id')} <> 'VARCHAR'",
        "'\"properties.$insert_id\" is not a string'",
    ),
    (
        f"length({_text('$insert_id')}) > {MAX_INSERT_ID_LENGTH}",
        f"'\"properties.$insert_id\" is ' || length({_text('$insert_id')}) "
        f"|| ' characters long (at most {MAX_INSERT_ID_LENGTH})'",
    ),
    (
        f"NOT regexp_full_match({_text('$insert_id')}, '[A-Za-z0-9-]*')",
        "'\"properties.$insert_id\" may hold only letters, digits and \"-\"'",
    ),
    (
        f"nbytes > {MIN_BYTES_FOR_TOO_MANY} AND json_array_length(json_keys(properties)) > {MAX_PROPERTIES}",
        f"json_array_length(json_keys(properties)) || ' properties (at most {MAX_PROPERTIES})'",
    ),
)


def _reason_sql() -> str:
    cases = " ".join(f"WHEN {condition} THEN {reason}" for condition, reason in _REJECTIONS)
    return f"CASE {cases} END"


def normalise_sql(raw: str, project_param: str = "?") -> str:
    """SQL over relation ``raw(lineno BIGINT, line BLOB)``: one row per non-blank line.

    Columns: ``lineno``, ``reason`` (NULL for a valid line, else why it was rejected) and the
    canonical columns except ``seq``. Blank lines are skipped. Time becomes a UTC timestamp in
    µs (> 1e11 read as ms), so one instant sent in s and in ms is the same time. A missing
    ``$insert_id`` is derived from the event's content (name, distinct_id, time, properties),
    so the same event sent twice is one event.

    Each line is parsed a few times in all (types, texts, properties), never once per field:
    JSON parsing is most of the cost of an import.
    """
    url = _text("$current_url")
    landing = ", ".join(f"landing.{k} AS {k}" for k in LANDING_PARAMS)
    micros = f"CAST(round({_TIME} * {_SECONDS_FACTOR} * 1000) AS BIGINT)"
    distinct_id = _text("distinct_id")
    derived_insert_id = (
        f"md5(concat_ws(chr(31), {_text(_EVENT)}, {distinct_id}, micros::VARCHAR, properties::VARCHAR))"
    )
    return f"""
WITH decoded AS (
  SELECT lineno, octet_length(line) AS nbytes, try(decode(line)) AS text FROM {raw}
),
typed AS (
  SELECT *,
    CASE WHEN text IS NOT NULL AND nbytes <= {MAX_EVENT_BYTES}
         THEN try(json_type(text, {list(_TYPED_PATHS)!r})) END AS types
  FROM decoded
  -- Blank lines are skipped. Only short lines are trimmed: trimming every line cost a third
  -- of the whole query, and a longer whitespace-only line is reported as invalid JSON.
  WHERE NOT (nbytes <= {_BLANK_BYTES} AND trim(coalesce(text, 'x'), ' \t\r\n') = '')
),
extracted AS (
  SELECT *,
    CASE WHEN types[1] = 'OBJECT' THEN json_extract_string(text, {list(_PATHS)!r}) END AS texts,
    CASE WHEN {_type(_PROPERTIES)} = 'OBJECT' THEN json_extract(text, '$.properties') END AS properties
  FROM typed
),
fielded AS (SELECT *, {_SCALARS} AS scalars, TRY_CAST(texts[3] AS DOUBLE) AS {_TIME} FROM extracted),
judged AS (SELECT *, {_reason_sql()} AS reason FROM fielded),
valid AS (
  SELECT *, nullif({url}, '') AS current_url, CASE WHEN reason IS NULL THEN {micros} END AS micros
  FROM judged
),
paramed AS (
  SELECT *, CASE WHEN reason IS NULL AND regexp_matches(current_url, '{LANDING_HINT}') THEN {LANDING_FUNCTION}(current_url) END AS params
  FROM valid
),
landed AS (
  SELECT *, CASE WHEN reason IS NULL THEN {landing_sql("current_url", "params", _text)} END AS landing
  FROM paramed
)
SELECT lineno, reason,
  {project_param} AS project,
  {_text(_EVENT)} AS event,
  make_timestamp(micros) AS time,
  {distinct_id} AS distinct_id,
  {_text("$device_id")} AS device_id,
  {_text("$user_id")} AS user_id,
  coalesce({_text("$insert_id")}, {derived_insert_id}) AS insert_id,
  {landing},
  current_url,
  {_text("$referrer")} AS referrer,
  {_text("$referring_domain")} AS referring_domain,
  properties
FROM landed
"""
