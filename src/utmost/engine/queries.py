"""Every step of attribution as one SQL query, written once for DuckDB and Spark.

Pure: each function returns the SQL of one step, reading the tables of the steps before it
(docs/semantics.md §2 to §8). The runner (:mod:`utmost.engine.run`) materialises them in order on a backend.

    source ─▶ identified ─▶ links ─▶ labels (iterated) ─▶ persons ─▶ sessions
           ─▶ touchpoints, conversions ─▶ attributable ─▶ credited ─▶ per_conversion

From ``sessions`` on, a row's ``person`` is a number, the ``seq`` of the person's first event (in
time, then ``seq``, order; no two persons share an event), and ``name`` is the person's id
(docs/semantics.md §2). The steps partition, join and sort by the number, not the id (a string
of ~40 characters for a device): at 10M events touchpoints took 0.36 s against 0.62,
attributable 0.83 against 0.99. The number is the same however the persons were computed (from
every event, or kept as they land) and on every engine. What anyone is shown (a conversion's
person, a lost journey's) is the name.
"""

from __future__ import annotations

import datetime as dt

from utmost.dialect import Dialect, double
from utmost.engine.channels import CHANNEL, CLICK_ID_TRAFFIC, DIRECT, channel_sql, paid_click, traffic_sql
from utmost.engine.models import Caused, Model, Rule
from utmost.engine.options import Options
from utmost.ingest.campaign import LANDING_PARAMS

DEVICE_PREFIX = "$device:"
NOT_SET = "(not set)"
NONE_KEY = "(none)"
#: Separators of a combined ``--by`` key and of a journey's path: control characters no key
#: holds, defined once here and read back by the data-driven models.
KEY_SEPARATOR = "\x1f"
PATH_SEPARATOR = "\x1e"
_KEY_SQL = f"chr({ord(KEY_SEPARATOR)})"
_PATH_SQL = f"chr({ord(PATH_SEPARATOR)})"


def nonempty(column: str) -> str:
    return f"({column} IS NOT NULL AND {column} <> '')"


#: The columns identity needs. Sessions carry fewer still: windows sort every column they
#: carry, and ``properties`` (most of an event's bytes) is joined back by ``seq`` only for the
#: few rows that need it.
IDENTITY_COLUMNS = ("seq", "time", "event", "distinct_id", "device_id", "user_id")


#: What a visit says of where it came from, beside its landing parameters (channel mode reads them).
VISIT_COLUMNS = ("referrer", "referring_domain", "current_url")
#: Every column a touchpoint's channel is derived from (:func:`utmost.engine.channels.traffic_sql`).
TRAFFIC_COLUMNS = ("utm_source", "utm_medium", "utm_campaign", *CLICK_ID_TRAFFIC, *VISIT_COLUMNS)


def carried(options: Options) -> tuple[str, ...]:
    """The landing columns sessions carry: utm_source, which tells every step whether an event
    landed (docs/semantics.md §4), and with ``split_on_key`` the landing keys the split compares
    on every event. Every other landing column a question reads (a ``--by`` key, what a channel
    is derived from) is joined by ``seq`` to the rows that become touchpoints
    (:func:`events_join`): the windows that number sessions sort every column they carry, and
    every landing ``--by`` then shares one ``sessions`` (and ``conversions``), which the
    dashboard keeps between questions. Carrying the channel's columns made the 10M-event
    question by channel 1.57× the one by utm_source.
    """
    keys = (p for p in options.by if p in LANDING_PARAMS) if options.split_on_key else ()
    return tuple(dict.fromkeys(["utm_source", *keys]))


def landed(options: Options, table: str = "s") -> str:
    """SQL: the row landed with campaign parameters: a utm_source, or in channel mode also a
    click id that names its platform (docs/semantics.md §4, §13; the flag :func:`_marked` sets)."""
    return f"{table}.landed" if options.by_channel else nonempty(f"{table}.utm_source")


def reads_events(options: Options) -> bool:
    """Whether a question reads landing columns that sessions do not carry (:func:`carried`):
    a landing ``--by`` key, or in channel mode :data:`TRAFFIC_COLUMNS`."""
    return options.by_channel or any(p in LANDING_PARAMS and p not in carried(options) for p in options.by)


def events_join(source: str, project: str, d: Dialect, options: Options, table: str = "s") -> str:
    """A join that brings each row of ``table`` its event's columns (as ``tr``) when the
    question :func:`reads_events`: the landing keys and the channel are read from them."""
    if not reads_events(options):
        return ""
    return f"JOIN {source} AS tr ON tr.seq = {table}.seq AND tr.project = {d.literal(project)}"


def devices(d: Dialect, source: str, project: str) -> str:
    """Every ``$device_id`` of the project: an id equal to one is read as ``$device:<id>``."""
    return f"SELECT DISTINCT device_id FROM {source} WHERE project = {d.literal(project)} AND {nonempty('device_id')}"


def identified(d: Dialect, source: str, project: str, landing: tuple[str, ...] = ("utm_source",)) -> str:
    """The project's events, each with its ``id`` (docs/semantics.md §2): user, device or distinct id.

    Most events are a device's, whose id needs no look-up; only user and bare distinct ids are
    checked against ``devices``, which keeps this cheap enough to be a view read three times.
    """
    columns = ", ".join((*IDENTITY_COLUMNS, *landing))
    prefix = d.literal(DEVICE_PREFIX)
    project_events = f"SELECT {columns} FROM {source} WHERE project = {d.literal(project)}"
    return f"""
SELECT *, {prefix} || device_id AS id FROM ({project_events}) AS own_device
WHERE NOT {nonempty('user_id')} AND {nonempty('device_id')}
UNION ALL
SELECT raw.{", raw.".join((*IDENTITY_COLUMNS, *landing))},
  CASE WHEN dv.device_id IS NOT NULL THEN {prefix} || raw.raw_id ELSE raw.raw_id END AS id
FROM (
  SELECT *, CASE WHEN {nonempty('user_id')} THEN user_id ELSE distinct_id END AS raw_id
  FROM ({project_events}) AS other
  WHERE {nonempty('user_id')} OR NOT {nonempty('device_id')}
) AS raw LEFT JOIN devices AS dv ON raw.raw_id = dv.device_id
"""


def identity_events(d: Dialect, source: str, project: str) -> str:
    """The events that link ids by their properties: sign-ins, aliases and merges."""
    return f"""
SELECT seq, time, event, distinct_id, properties FROM {source}
WHERE project = {d.literal(project)} AND event IN ('$identify', '$create_alias', '$merge')
"""


def links(d: Dialect) -> str:
    """Edges between ids: device → its earliest user, aliases, merges (docs/semantics.md §2)."""
    prefix = d.literal(DEVICE_PREFIX)
    anon = d.json_text("properties", "$anon_distinct_id")
    identified_id = d.json_text("properties", "$identified_id")
    alias = d.json_text("properties", "alias")
    merged = d.json_string_array("properties", "$distinct_ids")
    return f"""
WITH candidates AS (
  SELECT {prefix} || device_id AS a, user_id AS b, time, seq FROM identified
  WHERE {nonempty('device_id')} AND {nonempty('user_id')}
  UNION ALL
  SELECT CASE WHEN dv.device_id IS NOT NULL THEN {prefix} || i.anon ELSE i.anon END, i.b, i.time, i.seq
  FROM (SELECT {anon} AS anon, coalesce({identified_id}, distinct_id) AS b, time, seq
        FROM identity_events WHERE event = '$identify') AS i
  LEFT JOIN devices AS dv ON i.anon = dv.device_id
),
device_users AS (
  SELECT a, b FROM (
    SELECT a, b, row_number() OVER (PARTITION BY a ORDER BY time, seq) AS r FROM candidates
    WHERE a LIKE '$device:%' AND {nonempty('b')} AND b NOT LIKE '$device:%'
  ) AS ranked WHERE r = 1
),
merged AS (SELECT seq, {d.explode.format(merged)} AS x FROM identity_events WHERE event = '$merge'),
raw_links AS (
  SELECT a, b FROM device_users
  UNION ALL
  SELECT {alias}, distinct_id FROM identity_events WHERE event = '$create_alias'
  UNION ALL
  SELECT x, min(x) OVER (PARTITION BY seq) FROM merged
),
normalised AS (
  SELECT CASE WHEN da.device_id IS NOT NULL THEN {prefix} || l.a ELSE l.a END AS a,
         CASE WHEN db.device_id IS NOT NULL THEN {prefix} || l.b ELSE l.b END AS b
  FROM raw_links AS l
  LEFT JOIN devices AS da ON l.a = da.device_id
  LEFT JOIN devices AS db ON l.b = db.device_id
  WHERE {nonempty('l.a')} AND {nonempty('l.b')}
)
SELECT DISTINCT a, b FROM normalised WHERE a <> b
UNION
SELECT DISTINCT b, a FROM normalised WHERE a <> b
"""


def first_labels() -> str:
    """Every linked id, labelled by itself: the start of label propagation.

    Only ids that appear in a link take part; every other id is a person of its own, and
    leaving the millions of those out keeps each round small.
    """
    return "SELECT DISTINCT a AS id, a AS label FROM links"


def next_labels(labels: str) -> str:
    """One round of propagation: each id takes the least label among itself and its neighbours."""
    return f"""
SELECT n.id, least(n.label, coalesce(min(m.label), n.label)) AS label
FROM {labels} AS n
LEFT JOIN links AS e ON e.a = n.id
LEFT JOIN {labels} AS m ON m.id = e.b
GROUP BY n.id, n.label
"""


def changed_labels(old: str, new: str) -> str:
    return f"SELECT count(*) FROM {old} AS o JOIN {new} AS n ON o.id = n.id WHERE o.label <> n.label"


def persons(labels: str) -> str:
    """Linked id → person: a connected set of ids, named by its earliest-seen non-device id.

    Ids in no link are absent: each is its own person (see :func:`person_of`).
    """
    return f"""
WITH seen AS (
  SELECT id, time, seq FROM (
    SELECT i.id, i.time, i.seq, row_number() OVER (PARTITION BY i.id ORDER BY i.time, i.seq) AS r
    FROM identified AS i JOIN {labels} AS l ON l.id = i.id
  ) AS first_seen WHERE r = 1
),
ranked AS (
  SELECT l.id, l.label, row_number() OVER (
    PARTITION BY l.label
    ORDER BY CASE WHEN l.id LIKE '$device:%' THEN 1 ELSE 0 END,
             CASE WHEN s.time IS NULL THEN 1 ELSE 0 END, s.time, s.seq, l.id
  ) AS r
  FROM {labels} AS l LEFT JOIN seen AS s ON s.id = l.id
)
SELECT l.id, p.id AS person FROM {labels} AS l JOIN ranked AS p ON p.label = l.label AND p.r = 1
"""


def person_events(d: Dialect, ids: str) -> str:
    """The ``seq`` of every event of the ids in relation ``ids`` (one person's, docs/semantics.md §2):
    those that name one of them, and every sign-in, alias or merge that links one of them.

    Read after ``identified`` and ``identity_events`` are made (:func:`utmost.engine.identity.resolve_people`).
    """
    prefix = d.literal(DEVICE_PREFIX)
    anon = d.json_text("properties", "$anon_distinct_id")
    identified_id = d.json_text("properties", "$identified_id")
    alias = d.json_text("properties", "alias")
    merged = d.json_string_array("properties", "$distinct_ids")
    one_of = f"IN (SELECT id FROM {ids})"
    return f"""
SELECT seq FROM identified WHERE id {one_of}
UNION
SELECT seq FROM identity_events
WHERE (event = '$identify' AND ({anon} {one_of} OR {prefix} || {anon} {one_of} OR {identified_id} {one_of}))
   OR (event = '$create_alias' AND ({alias} {one_of} OR {prefix} || {alias} {one_of}))
UNION
SELECT seq FROM (SELECT seq, {d.explode.format(merged)} AS x FROM identity_events WHERE event = '$merge') AS m
WHERE x {one_of} OR {prefix} || x {one_of}
"""


def person_of(events: str = "i") -> str:
    """SQL for an event's person, given ``LEFT JOIN persons AS p ON p.id = {events}.id``."""
    return f"coalesce(p.person, {events}.id)"


def tagged(table: str = "i") -> str:
    """SQL: the row of ``table`` landed with a utm_source or a click id that names its platform
    (channel mode's ``landed``, docs/semantics.md §13)."""
    return f"{nonempty(f'{table}.utm_source')} OR {paid_click(table)}"


def session_start(d: Dialect, timeout: dt.timedelta) -> str:
    """SQL: 1 where a person's row (``name``, ``time``, ``seq``) begins a session: their first,
    or after a gap longer than ``timeout``; else 0 (docs/semantics.md §3)."""
    previous = "lag(time) OVER (PARTITION BY name ORDER BY time, seq)"
    gap = f"{d.micros.format('time')} - {d.micros.format(previous)}"
    return f"CASE WHEN {previous} IS NULL OR {gap} > {int(timeout.total_seconds() * 1_000_000)} THEN 1 ELSE 0 END"


def _marked(d: Dialect, options: Options, person: str | None = None) -> str:
    """Events with their person (``name``, and its number ``person``) and ``starts`` = 1 where a
    session begins (first, or after a gap)."""
    only = f"AND {person_of()} = {d.literal(person)}" if person is not None else ""
    # Every column here is sorted along with all events: the id only for one person's journey,
    # and in channel mode one flag, not the columns the channel is read from.
    ident = "i.id, " if person is not None else ""
    landed_flag = f", ({tagged()}) AS landed" if options.by_channel else ""
    return f"""
  SELECT *, {session_start(d, options.session_timeout)} AS starts, {PERSON_NUMBER} AS person
  FROM (
    SELECT i.seq, i.time, i.event, {ident}{", ".join(f"i.{c}" for c in carried(options))},
      {person_of()} AS name{landed_flag}
    FROM identified AS i LEFT JOIN persons AS p ON p.id = i.id
    WHERE i.id IS NOT NULL {only}
  ) AS owned"""


RUNNING = "OVER (PARTITION BY name ORDER BY time, seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
#: SQL: a row's person number (see the module's docstring), given its ``name``: in the running
#: count's window, the one that numbers sessions, so that both are one sort of the events.
PERSON_NUMBER = f"first_value(seq) {RUNNING}"


def _numbered(d: Dialect, options: Options, marked: str, source: str) -> str:
    """Number the sessions of ``marked`` rows: a running count of the starts.

    With ``split_on_key``, a touchpoint whose key differs from the previous touchpoint's in the
    same session also starts one. (The current session's touchpoints all share its first
    touchpoint's key, so "differs from the first" is "differs from the previous".)
    """
    if not options.split_on_key:
        return f"SELECT *, CAST(sum(starts) {RUNNING} AS BIGINT) AS session FROM ({marked}) AS marked"
    keys = [sql for _, sql in key_columns(d, options)]
    key = f"concat_ws({_KEY_SQL}, {', '.join(keys)})" if len(keys) > 1 else keys[0]
    join = with_properties(source, options.project, d, _reads_properties(options))
    join += " " + events_join(source, options.project, d, options)
    previous_touch = "lag(touch_key) OVER (PARTITION BY name, time_session, touch_key IS NULL ORDER BY time, seq)"
    return f"""
SELECT *, CAST(sum(starts + split) {RUNNING} AS BIGINT) AS session FROM (
  SELECT *, CASE WHEN touch_key IS NOT NULL AND {previous_touch} <> touch_key THEN 1 ELSE 0 END AS split
  FROM (
    SELECT *, sum(starts) {RUNNING} AS time_session FROM (
      SELECT s.*, CASE WHEN {landed(options)} THEN {key} END AS touch_key
      FROM ({marked}) AS s {join}
    ) AS keyed
  ) AS timed
) AS split_marked"""


def reads_visits(options: Options) -> bool:
    """Whether a question reads each session's first event from ``sessions``, beside the
    touchpoint candidates and conversions: in channel mode every visit is a touchpoint
    (docs/semantics.md §13), and ``incremental`` counts every person who visited (§18).
    Other questions leave those rows out (10M events: 2.3M rows read, not 3.6M)."""
    return options.by_channel or any(isinstance(m.computes, Caused) for m in options.models)


def sessions(d: Dialect, options: Options, source: str) -> str:
    """The events attribution reads — touchpoint candidates and conversions, and each
    session's first event if it :func:`reads_visits` — with their person and session number
    (a new session after each gap longer than the timeout).

    Only those rows, plus each session's first event, are numbered: counting the starts among
    them gives the same numbers as among all events, with one sort of every event, not two.
    """
    read = f"{landed(options, 'all_events')} OR event = {d.literal(options.conversion)}"
    numbered = _numbered(d, options, f"SELECT * FROM ({_marked(d, options)}) AS all_events WHERE starts = 1 OR {read}",
                         source)
    return numbered if reads_visits(options) else f"SELECT * FROM ({numbered}) AS all_events WHERE {read}"


def person_sessions(d: Dialect, options: Options, person: str, source: str) -> str:
    """Every event of one person with its session number (for ``utmost journey``)."""
    return _numbered(d, options, _marked(d, options, person), source)


def key_columns(d: Dialect, options: Options, table: str = "s") -> list[tuple[str, str]]:
    """(output column, SQL) for each ``--by`` property: ``channel`` by the rules in effect,
    a landing column of ``table`` if it is :func:`carried`, else of its event (``tr``, joined
    by :func:`events_join`); else its event's properties (``e.properties``, joined by
    :func:`with_properties`)."""
    columns = []
    for index, prop in enumerate(options.by):
        if prop == CHANNEL:
            columns.append((f"k{index}", channel_of(d, options)))
            continue
        value = (f"{table}.{prop}" if prop in carried(options) else f"tr.{prop}" if prop in LANDING_PARAMS
                 else d.json_text("e.properties", prop))
        columns.append((f"k{index}", f"coalesce(nullif({value}, ''), {d.literal(NOT_SET)})"))
    return columns


def channel_of(d: Dialect, options: Options, table: str = "tr") -> str:
    """SQL: the channel of a row of ``table`` (which carries :data:`TRAFFIC_COLUMNS`: ``tr``,
    joined by :func:`events_join`)."""
    return channel_sql(d, options.channels, *traffic_sql(d, options.channels, table))


def _reads_properties(options: Options) -> bool:
    """Whether a key is an event property, which the events' JSON is joined in for."""
    return any(p not in LANDING_PARAMS and p != CHANNEL for p in options.by)


def with_properties(source: str, project: str, d: Dialect, needed: bool, table: str = "s") -> str:
    """A join that brings each row of ``table`` its event's properties, when ``needed``."""
    if not needed:
        return ""
    return f"JOIN {source} AS e ON e.seq = {table}.seq AND e.project = {d.literal(project)}"


def touchpoints(d: Dialect, options: Options, source: str) -> str:
    """Landings with a utm_source, minus repeats of the previous key in the same session; in
    channel mode, also every session's first event (a visit, Direct or from a referrer) and
    landings with a click id, and without Direct ones with ``exclude_direct``."""
    keys = key_columns(d, options)
    selected = ", ".join(f"{sql} AS {name}" for name, sql in keys)
    names = ", ".join(name for name, _ in keys)
    combined = f"concat_ws({_KEY_SQL}, {names})" if len(keys) > 1 else keys[0][0]
    join = with_properties(source, options.project, d, _reads_properties(options))
    join += " " + events_join(source, options.project, d, options)
    touching = f"{landed(options)} OR s.starts = 1" if options.by_channel else landed(options)
    direct = f"{channel_of(d, options)} = {d.literal(DIRECT)}" if options.by_channel else "FALSE"
    kept = "WHERE NOT direct" if options.exclude_direct else ""
    # Partitioned by session, not by person with the previous row's session compared: the same
    # rows, one window instead of two (10M events: 0.59 s against 0.65, medians of five).
    return f"""
SELECT person, session, time, seq, {names}, key, direct FROM (
  SELECT *, lag(key) OVER (PARTITION BY person, session ORDER BY time, seq) AS previous_key
  FROM (
    SELECT person, session, time, seq, {names}, {combined} AS key, direct FROM (
      SELECT s.person, s.session, s.time, s.seq, {selected}, {direct} AS direct FROM sessions AS s {join}
      WHERE {touching}
    ) AS keyed {kept}
  ) AS combined
) AS stream
WHERE NOT coalesce(previous_key = key, FALSE)
"""


def spend_by_key(d: Dialect, options: Options, spend: str) -> str:
    """The project's spend per ``--by`` key (docs/semantics.md §15), dated within the question's
    range: its UTM values read as a landing's (empty: ``(not set)``), or its channel by the rules.
    With ``--interval``, per period of its date too (§16), as the column ``period``."""
    medium, campaign = (f"coalesce(nullif(s.{c}, ''), {d.literal(NOT_SET)})" for c in ("utm_medium", "utm_campaign"))
    values = {"utm_source": "s.utm_source", "utm_medium": medium, "utm_campaign": campaign,
              CHANNEL: channel_sql(d, options.channels, "s.utm_source", medium, campaign)}
    keys = [f"{values[prop]} AS k{index}" for index, prop in enumerate(options.by)]
    bounds = [f"s.project = {d.literal(options.project)}", *within_dates(d, options, "CAST(s.date AS TIMESTAMP)")]
    names = ", ".join([*(["period"] if options.interval else []), *(f"k{i}" for i in range(len(options.by)))])
    if options.interval:
        keys.insert(0, f"{period_of(d, options, 'CAST(s.date AS TIMESTAMP)')} AS period")
    return (f"SELECT {names}, sum(cost) AS cost FROM (SELECT {', '.join(keys)}, s.cost FROM {spend} AS s "
            f"WHERE {' AND '.join(bounds)}) AS keyed GROUP BY {names}")


def within_dates(d: Dialect, options: Options, time: str) -> list[str]:
    """SQL conditions that the TIMESTAMP ``time`` is within the question's ``--from`` (inclusive)
    and ``--to`` (exclusive); none without them."""
    return [*([f"{time} >= {d.literal(options.start)}"] if options.start is not None else []),
            *([f"{time} < {d.literal(options.end)}"] if options.end is not None else [])]


def period_of(d: Dialect, options: Options, time: str) -> str:
    """SQL: the first day of the ``--interval`` period that holds the TIMESTAMP ``time``, as a
    DATE (both engines truncate a week to its Monday, ISO 8601's)."""
    return f"CAST(date_trunc({d.literal(options.interval or 'day')}, {time}) AS DATE)"


def reach(d: Dialect, options: Options) -> str:
    """Per key of ``touchpoints`` (and per period with ``--interval``): the touchpoints in the
    question's range (``landings``), the sessions whose first touchpoint it is (``sessions``)
    and the distinct persons it touched (``persons``); docs/semantics.md §16.

    A touchpoint's place in its session is found among all of the person's touchpoints, before
    the range is applied: a session that began before ``--from`` is not started again by its
    second touchpoint."""
    names = [name for name, _ in key_columns(d, options)]
    period = [f"{period_of(d, options, 'time')} AS period"] if options.interval else []
    group = ["period"] if options.interval else []
    bounds = ["TRUE", *within_dates(d, options, "time")]
    return f"""
SELECT {", ".join([*group, *names])}, count(*) AS landings,
  CAST(sum(CASE WHEN place = 1 THEN 1 ELSE 0 END) AS BIGINT) AS sessions, count(DISTINCT person) AS persons
FROM (
  SELECT {", ".join([*period, *names])}, person,
    row_number() OVER (PARTITION BY person, session ORDER BY time, seq) AS place, time
  FROM touchpoints
) AS placed
WHERE {" AND ".join(bounds)}
GROUP BY {", ".join([*group, *names])}
"""


def conversions(d: Dialect, options: Options, source: str) -> str:
    """Conversion events in the date range, with revenue (0 unless a finite number)."""
    value = d.to_double.format(d.json_text("e.properties", options.revenue_property))
    where = " AND ".join(["TRUE", *within_dates(d, options, "s.time")])
    previous = "OVER (PARTITION BY person ORDER BY time, seq)"
    # The previous conversion is found among the session rows alone, before the events' id and
    # properties are joined: the window sorts five columns, not the JSON.
    return f"""
SELECT s.seq AS conversion, e.insert_id, s.person, s.name, s.session, s.time,
  CASE WHEN {value} IS NOT NULL AND {d.is_finite.format(value)} THEN {value} ELSE {ZERO} END AS revenue,
  s.previous_time, s.previous_seq
FROM (
  SELECT seq, person, name, session, time, lag(time) {previous} AS previous_time, lag(seq) {previous} AS previous_seq
  FROM sessions WHERE event = {d.literal(options.conversion)}
) AS s {with_properties(source, options.project, d, True)} AND e.event = {d.literal(options.conversion)}
WHERE {where}
"""


#: The columns of each measure a :class:`Rule` may read (``Rule.reads``) beyond ``touch_number``
#: and ``touches``.
MEASURES = {"indirect": ("indirect_number", "indirect_touches"), "decay": ("decay", "decay_total")}


def _measures(options: Options) -> list[str]:
    """The measures the question's rules read, in :data:`MEASURES`' order."""
    read = {measure for _, _, rule in _rule_based(options) for measure in rule.reads}
    return [measure for measure in MEASURES if measure in read]


def attributable(d: Dialect, options: Options) -> str:
    """Each conversion with its attributable touchpoints, ranked; none → one row of NULLs.

    Only the conversion's ``seq`` is carried, not its id, person or revenue: :func:`credited`
    joins them back once per conversion and key (10M events: 0.73 s against 1.02, the credit
    0.30 against 0.35, medians of three). The :data:`MEASURES` no rule of the question reads are
    not computed: each is a window of its own (10M events, a 7-day lookback, first, last and
    linear: 0.37 s against 0.52)."""
    lookback = int(options.lookback.total_seconds() * 1_000_000)
    half_life = options.half_life.total_seconds() * 1_000_000
    same_session = "AND t.session = c.session" if options.scope == "session" else ""
    names = [name for name, _ in key_columns(d, options)]
    keys = ", ".join(f"t.{n}" for n in names)
    indirect = "CASE WHEN t.direct THEN 0 WHEN t.seq IS NOT NULL THEN 1 ELSE 0 END"
    decay = f"pow(CAST(2 AS DOUBLE), -({d.micros.format('c.time')} - {d.micros.format('t.time')}) / {half_life!r})"
    ordered = "PARTITION BY c.conversion ORDER BY t.time, t.seq"
    whole = "OVER (PARTITION BY c.conversion)"
    # The decay's total in the same pass as the other totals, not a window over the result
    # (10M events: 0.94 s against 1.10, medians of five). One ordered specification for every
    # window, sorting once, was slower still (1.3 s): framed sums cost more than a sort.
    measures = {
        "indirect": [f"sum({indirect}) OVER ({ordered} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
                     f"sum({indirect}) {whole}"],
        "decay": [decay, f"sum({decay}) {whole}"],
    }
    read = "".join(f",\n  {sql} AS {name}" for measure in _measures(options)
                   for sql, name in zip(measures[measure], MEASURES[measure], strict=True))
    return f"""
SELECT c.conversion, t.time AS touch_time, t.seq AS touch_seq, t.key, {keys}, coalesce(t.direct, FALSE) AS direct,
  row_number() OVER ({ordered}) AS touch_number,
  count(t.seq) {whole} AS touches{read}
FROM conversions AS c LEFT JOIN touchpoints AS t
  ON t.person = c.person
  AND {d.micros.format('t.time')} >= {d.micros.format('c.time')} - {lookback}
  AND (t.time < c.time OR (t.time = c.time AND t.seq <= c.conversion))
  {same_session}
"""


ONE, ZERO = double(1), double(0)


def _rule_based(options: Options) -> list[tuple[int, Model, Rule]]:
    return [(order, m, m.computes) for order, m in enumerate(options.models) if isinstance(m.computes, Rule)]


def credited(d: Dialect, options: Options) -> str:
    """One row per (conversion, key), with each rule-based model's credit as a column ``w<order>``
    (the model's place in the question): every model's weights summed in one pass over
    ``attributable``, one aggregation of the touchpoints instead of one per model."""
    names = [name for name, _ in key_columns(d, options)]
    none_keys = ", ".join(f"CASE WHEN touches = 0 THEN {d.literal(NONE_KEY)} ELSE {n} END AS {n}" for n in names)
    key_list = ", ".join(names)
    read = "".join(f"{name}, " for measure in _measures(options) for name in MEASURES[measure])
    weights, columns = [], []
    for order, model, rule in _rule_based(options):
        weight = f"CASE WHEN touches = 0 THEN {ONE} ELSE {rule.weight(model)} END"
        weights.append(f"{rule.combine}({weight}) AS w{order}")
        columns.append(f"w.w{order}")
    return f"""
SELECT c.conversion, c.insert_id, c.name AS person, c.time AS conversion_time, {", ".join(f"w.{n}" for n in names)},
  c.revenue, {", ".join(columns)}
FROM (
  SELECT conversion, {key_list}, {", ".join(weights)} FROM (
    SELECT conversion, touches, touch_number, direct, {read}{none_keys}
    FROM attributable
  ) AS keyed
  GROUP BY conversion, {key_list}
) AS w JOIN conversions AS c ON c.conversion = w.conversion
"""


def per_conversion(d: Dialect, options: Options) -> str:
    """One row per (model, conversion, key) with credit > 0, the explainable unit of credit:
    ``credited`` unpivoted. A view: its rows are several times ``credited``'s, and the totals
    need only their sums (10M events, six models: 0.5 s and 0.5 GiB less than a table)."""
    key_list = ", ".join(name for name, _ in key_columns(d, options))
    unpivoted = "\nUNION ALL\n".join(
        f"SELECT {order} AS model_order, {d.literal(model.name)} AS model, conversion, insert_id, person, "
        f"conversion_time, {key_list}, w{order} AS credit, revenue AS conversion_revenue FROM credited"
        for order, model, _ in _rule_based(options)
    )
    return f"SELECT *, credit * conversion_revenue AS revenue FROM ({unpivoted}) AS by_model WHERE credit <> 0"


def journey_events(d: Dialect, options: Options, person: str, source: str) -> str:
    """Every event of one person that matters to attribution, with the role it played.

    Echoes of persisted UTM properties are shown once per session (with how many there were):
    they explain why later pages do not count, but listing every page view would bury the rest.
    """
    echoed = d.json_text("e.properties", "utm_source")
    return f"""
SELECT time, seq, session, id, event, landing_source, touch, conversion FROM (
  SELECT s.time, s.seq, s.session, s.id, s.event, nullif(s.utm_source, '') AS landing_source,
    CASE WHEN t.seq IS NOT NULL THEN 'touchpoint'
         WHEN {nonempty('s.utm_source')}
           THEN 'dropped: same key as the previous touchpoint in this session (reload or repeat)'
         WHEN {nonempty(echoed)}
           THEN 'ignored: utm_source=' || {echoed} || ' echoed from an earlier landing, not a click ('
                || CAST(count(*) OVER (PARTITION BY s.session, {nonempty(echoed)} AND NOT {nonempty('s.utm_source')}) AS VARCHAR(12))
                || ' such events in this session)'
    END AS touch,
    s.event = {d.literal(options.conversion)} AS conversion,
    {nonempty(echoed)} AND NOT {nonempty('s.utm_source')} AS echo,
    row_number() OVER (PARTITION BY s.session, {nonempty(echoed)} AND NOT {nonempty('s.utm_source')}
                       ORDER BY s.time, s.seq) AS nth
  FROM person_sessions AS s {with_properties(source, options.project, d, True)}
  LEFT JOIN touchpoints AS t ON t.seq = s.seq
  WHERE s.name = {d.literal(person)}
) AS roles
WHERE touch LIKE 'touchpoint%' OR touch LIKE 'dropped%' OR (echo AND nth = 1)
   OR event IN ({d.literal(options.conversion)}, '$identify', '$create_alias', '$merge')
ORDER BY time, seq
"""


def journey_touches(d: Dialect, options: Options, person: str) -> str:
    """For each of the person's conversions, each of their touchpoints: counted, or why not."""
    lookback = int(options.lookback.total_seconds() * 1_000_000)
    names = ", ".join(f"t.{name}" for name, _ in key_columns(d, options))
    return f"""
SELECT c.insert_id AS conversion, c.time AS conversion_time, t.time, t.session, {names},
  CASE WHEN a.touch_seq IS NOT NULL THEN 'counted'
       WHEN t.time > c.time OR (t.time = c.time AND t.seq > c.conversion) THEN 'after the conversion'
       WHEN {d.micros.format('t.time')} < {d.micros.format('c.time')} - {lookback} THEN 'outside the lookback window'
       ELSE 'another session than the conversion''s'
  END AS status
FROM conversions AS c
JOIN touchpoints AS t ON t.person = c.person
LEFT JOIN attributable AS a ON a.conversion = c.conversion AND a.touch_seq = t.seq
WHERE c.name = {d.literal(person)}
ORDER BY c.time, c.conversion, t.time, t.seq
"""



def journeys(d: Dialect, options: Options) -> str:
    """Every journey with its path (docs/semantics.md §8): one per conversion — its attributable
    touchpoints after the person's previous conversion — and the touchpoints after the last
    conversion, per person (scope user) or per session (scope session), as one lost journey."""
    path = d.ordered_join.format(value="key", time="touch_time", seq="touch_seq", sep=_PATH_SQL)
    after_previous = (
        "c.previous_time IS NULL OR a.touch_time > c.previous_time "
        "OR (a.touch_time = c.previous_time AND a.touch_seq > c.previous_seq)"
    )
    per = "t.person, t.session" if options.scope == "session" else "t.person"
    same = "AND l.session = t.session" if options.scope == "session" else ""
    group = "person, session" if options.scope == "session" else "person"
    # A lost journey's person is shown by name, read after grouping from the sessions row of one
    # of its touchpoints: a join of the journeys, not of every touchpoint (100M events: the lost
    # journeys in 14.7 and 15.1 s against 18.2 and 28.5).
    return f"""
WITH converting AS (
  SELECT a.conversion, {path} AS path
  FROM attributable AS a JOIN conversions AS c ON c.conversion = a.conversion
  WHERE a.touch_seq IS NOT NULL AND ({after_previous})
  GROUP BY a.conversion
),
last_conversion AS (
  SELECT person, session, time, seq FROM (
    SELECT person, session, time, seq,
      row_number() OVER (PARTITION BY {group} ORDER BY time DESC, seq DESC) AS r
    FROM sessions WHERE event = {d.literal(options.conversion)}
  ) AS ranked WHERE r = 1
),
lost AS (
  SELECT s.name, p.path FROM (
    SELECT min(t.seq) AS one, {d.ordered_join.format(value="t.key", time="t.time", seq="t.seq", sep=_PATH_SQL)} AS path
    FROM touchpoints AS t LEFT JOIN last_conversion AS l ON l.person = t.person {same}
    WHERE l.time IS NULL OR t.time > l.time OR (t.time = l.time AND t.seq > l.seq)
    GROUP BY {per}
  ) AS p JOIN sessions AS s ON s.seq = p.one
)
SELECT TRUE AS converted, c.conversion, c.insert_id, c.name AS person, c.time, c.revenue, j.path
FROM conversions AS c LEFT JOIN converting AS j ON j.conversion = c.conversion
UNION ALL
SELECT FALSE, NULL, NULL, name, NULL, {ZERO}, path FROM lost
"""
