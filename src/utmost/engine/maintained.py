"""Identity and sessions kept as events land, redone only for the persons new events touch.

Every question needs each event's person and session (docs/semantics.md §2, §3), and
computing them from every raw event took most of a question's time (~7 s of 12 at 10M
events). They change only where events arrive, so the store keeps them (``derived_*``,
migration 8) and :func:`refresh` brings them up to date in one transaction:

1. the events numbered after ``derived_state.seq`` are read (``fresh``);
2. what identity is computed from is updated: the devices, each (device, user) pair's earliest
   event, the sign-ins, aliases and merges, and when each raw id was first seen;
3. if any of those changed, the ids they name, with every id linked to those (a set closed
   under the links; a rebuild takes every linked id), are linked again from these small
   tables, not the events, by the same queries as a full question
   (:func:`utmost.engine.identity.label_people`), and the ids whose person changed are found;
4. the persons touched (the old and the new person of every id that changed, of every id the
   fresh events name, and of any id that now reads as a device's) lose their rows in
   ``derived_events``, found by their numbers (``derived_person_numbers``, migration 13), which
   are numbered into sessions again with the fresh events, by buckets of persons of at most
   :data:`BUCKET_ROWS` events.

Every event of a person touched is among the rows redone (an id whose person did not change
keeps it, so a person's other ids, unchanged, belong to a person in the set), so the result is
what a rebuild from every event gives, the person's number too (``person_seq``, their first
event's ``seq``: :data:`utmost.engine.queries.PERSON_NUMBER`); ``tests/engine/test_maintained.py``
holds it to that on random streams, arrival orders, merges and deletions. One transaction
means a crash leaves the last refresh's tables, which are consistent. If fewer events up to
``derived_state.seq`` are left than it counted (a deletion), the persons of the derived rows
whose events are gone are taken out and their other events taken in again
(:func:`_take_out_deleted`).

The tables hold sessions for the default timeout only; a question with another timeout or
``split_on_key`` reads today's path (:func:`covers`), with the same answer.

For each of the project's key events the tables also keep the credit of every conversion under
each model of ``CREDIT_MODELS``, and every journey, asked the default way (by ``utm_source``;
docs/semantics.md §21): the question's own queries run on the persons redone
(:func:`_redo_credit`), so a kept credit is what the question computes. A question it covers
(:func:`credit_covers`) only sums those rows, or fits markov and shapley to those journeys: at
100M events, the steps from sessions to credit took ~37 s of ~42.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from utmost.backends import Backend
from utmost.backends.duckdb import DuckDBBackend
from utmost.dialect import Dialect
from utmost.engine import queries
from utmost.engine.identity import MAX_ROUNDS, label_people
from utmost.engine.options import PARAMETERS_BY_NAME, Options, make_options, parse_duration
from utmost.store.schema import CREDIT_MODELS, DERIVED_TABLES, KEY_EVENT_TABLES

#: The session timeout the derived tables are cut at: the question's default.
TIMEOUT = parse_duration(PARAMETERS_BY_NAME["session_timeout"].default)
#: DuckDB's memory while an import brings the tables up to date: a first build of 10M events
#: peaked at 3.9 GiB in 25 s unbounded, 1.9 GiB in 30 s with 1536MB (the rest spilled); 50M
#: events (with the buckets below) 130 s at 1,992 MiB. At 100M events the whole import took
#: 876 s at a peak of 2,003 MiB with this; with 1536MB, 898 s at 2,206 MiB (RSS each second).
IMPORT_MEMORY = "1280MB"
#: Events whose sessions are numbered at once: a window sorts them all (one sort at 10M events
#: took 4 s and most of a build's memory).
BUCKET_ROWS = 10_000_000
#: How many ``seq`` numbers a refresh after a deletion counts together, to find where events went.
STRETCH = 65_536
#: What a derived event keeps of its landing (migration 12): what the sessions step reads.
_KEPT_LANDING = "utm_source, tagged"
_IDENTITY_EVENTS = "('$identify', '$create_alias', '$merge')"


@dataclass(frozen=True)
class Refreshed:
    """What one :func:`refresh` did: the events it read, whether it rebuilt, and how many persons
    its redone rows belong to."""

    events: int
    rebuilt: bool
    persons: int


@dataclass(frozen=True)
class Redone:
    """The relations a refresh leaves of the persons whose rows it numbered again: their
    names before and after (``names``, column ``person``), and their rows as ``derived_events``
    holds them now (``rows``), which the kept credit is computed from again without finding
    them among every derived event (10M events, 5,000 new: ~4 ms against 95-150)."""

    names: str
    rows: str


def covers(options: Options) -> bool:
    """Whether ``options`` can be answered from the derived tables."""
    return options.session_timeout == TIMEOUT and not options.split_on_key


def kept_question(project: str, event: str) -> Options:
    """The question whose credit is kept for key event ``event``: every default but the models."""
    return make_options(event, project=project, models=",".join(CREDIT_MODELS))


#: The parameters a question may set as it likes and still read the kept credit: the dates
#: choose among its rows, the models among its columns; the others are read by no rule-based
#: model by ``utm_source`` (intervals, by a report, which computes). Every other parameter, one
#: added later too, must be :func:`kept_question`'s.
_KEPT_FREE = frozenset({"conversion", "project", "models", "model", "start", "end", "ci", "bootstrap", "seed",
                        "interval", "markov_order", "min_lag", "experiments", "channels"})


def credit_covers(options: Options) -> bool:
    """Whether the kept credit answers ``options``: its models are among ``CREDIT_MODELS`` or
    fitted to the journeys (markov, shapley), and its other parameters are those of
    :func:`kept_question` (whether its conversion is a key event: :func:`credit_readable`)."""
    kept = kept_question(options.project, options.conversion)
    return (all(m.name in CREDIT_MODELS or m.learned for m in options.models)
            and all(getattr(options, f.name) == getattr(kept, f.name) for f in dataclasses.fields(Options)
                    if f.name not in _KEPT_FREE))


def credit_readable(backend: Backend, options: Options) -> bool:
    """Whether ``options`` is answered from ``derived_credit``: it :func:`credit_covers` the
    question, whose conversion is a key event whose credit the (current) tables hold."""
    if not credit_covers(options) or not readable(backend, options):
        return False
    d = backend.dialect
    return bool(backend.scalar(f"SELECT count(*) FROM derived_key_events WHERE project = {d.literal(options.project)} "
                               f"AND event = {d.literal(options.conversion)}"))


def credited(d: Dialect, options: Options) -> str:
    """The ``credited`` step (:func:`utmost.engine.queries.credited`) read from ``derived_credit``,
    with whether each conversion had no touchpoint (``bare``)."""
    weights = ", ".join(f"c.{m.name} AS w{order}" for order, m in enumerate(options.models) if m.rule_based)
    return f"""
SELECT c.conversion, c.insert_id, c.person, c.time AS conversion_time, c.k0, c.revenue, c.bare, {weights}
FROM derived_credit AS c
WHERE c.project = {d.literal(options.project)} AND c.event = {d.literal(options.conversion)}{_dates(d, options, "c.time")}
"""


def _dates(d: Dialect, options: Options, time: str) -> str:
    """SQL: `` AND`` the question's dates hold of the conversion's ``time`` (none: empty)."""
    return "".join(f" AND {condition}" for condition in queries.within_dates(d, options, time))


def journeys(d: Dialect, options: Options) -> str:
    """The ``journeys`` step (:func:`utmost.engine.queries.journeys`) read from ``derived_journeys``,
    with whether each conversion had no touchpoint (``bare``): the lost journeys, and the
    conversions in the question's dates."""
    return f"""
SELECT j.converted, j.conversion, j.insert_id, j.person, j.time, j.revenue, j.path, j.bare
FROM derived_journeys AS j
WHERE j.project = {d.literal(options.project)} AND j.event = {d.literal(options.conversion)}
  AND (NOT j.converted OR (TRUE{_dates(d, options, "j.time")}))
"""


def sessions(d: Dialect, options: Options, redone: Redone | None = None) -> str:
    """The ``sessions`` step (:func:`utmost.engine.queries.sessions`) read from ``derived_events``;
    only the persons ``redone``, from their rows, if given."""
    landed = ", i.tagged AS landed" if options.by_channel else ""
    keep = "i.tagged" if options.by_channel else queries.nonempty("i.utm_source")
    visits = "i.starts = 1 OR " if queries.reads_visits(options) else ""
    within = f" AND i.person IN (SELECT person FROM {redone.names})" if redone else ""
    columns = ", ".join(f"i.{c}" for c in queries.carried(options))
    return f"""
SELECT i.seq, i.time, i.event, {columns}, i.person_seq AS person, i.person AS name{landed}, i.starts, i.session
FROM {redone.rows if redone else "derived_events"} AS i
WHERE i.project = {d.literal(options.project)} AND ({visits}{keep} OR i.event = {d.literal(options.conversion)}){within}
"""


def read_people(backend: Backend, project: str) -> None:
    """``identified``, ``identity_events`` and ``persons`` as the derived tables hold them (call
    when they are current), for :func:`utmost.engine.run.person_of` and
    :func:`utmost.engine.queries.person_events`: each event's id stands as its person's name,
    itself one of that person's ids, so an event is one of a person's ids' exactly when it is
    that person's."""
    p = backend.dialect.literal(project)
    backend.view("identified", f"SELECT seq, person AS id FROM derived_events WHERE project = {p}")
    backend.view("identity_events", f"SELECT seq, time, event, distinct_id, properties FROM derived_identity_events "
                                    f"WHERE project = {p}")
    backend.view("persons", f"SELECT id, person FROM derived_persons WHERE project = {p}")


def readable(backend: Backend, options: Options) -> bool:
    """Whether ``options`` is answered from the derived tables: they cover it and hold exactly
    the project's events, brought up to date first where the backend may change them.

    A backend whose answers are as of an event (``backend.as_of``, the web service's) reads
    them without a refresh while they hold every event up to that one: a refresh per question
    took most of the dashboard's time while events streamed in (10M events: ~0.9 s a question
    for an answer its kept steps gave unchanged)."""
    if not covers(options) or not backend.derived:
        return False
    if backend.as_of is not None and holds(backend, options.project, backend.as_of):
        return True
    return keep_up(backend, options.project) is not None or current(backend, options.project)


def keep_up(backend: Backend, project: str, memory_limit: str | None = None) -> Refreshed | None:
    """:func:`refresh` the project's derived tables in a transaction of their own (within
    ``memory_limit``, e.g. :data:`IMPORT_MEMORY`), if ``backend`` may change them; None if it
    may not."""
    maintenance = backend.maintenance(memory_limit)
    if maintenance is None:
        return None
    with maintenance as writable:
        return refresh(writable, project)


def current(backend: Backend, project: str) -> bool:
    """Whether the derived tables hold exactly the project's events now (read-only check)."""
    p = backend.dialect.literal(project)
    state = _state(backend, p)
    return state is not None and state == _events_now(backend, p)


def holds(backend: Backend, project: str, as_of: int) -> bool:
    """Whether the derived tables hold the project's events up to ``seq`` ``as_of`` (or later
    ones too), exactly those they counted (none deleted since: read-only check)."""
    p = backend.dialect.literal(project)
    state = _state(backend, p)
    if state is None:
        return False
    seq, held = state
    # One statement, so one snapshot (1 ms at 10M events, 20,000 of them after the tables').
    counted, first_after = backend.arrow(
        f"SELECT ({_counted(p, seq)}) AS counted, "
        f"(SELECT min(seq) FROM events WHERE project = {p} AND seq > {int(seq)}) AS first_after").to_pylist()[0].values()
    return bool(counted == held and (first_after is None or first_after > as_of))


def _state(backend: Backend, p: str) -> tuple[int, int] | None:
    """What the derived tables of the project (quoted as ``p``) hold: up to which ``seq``, and
    how many events; None before their first refresh."""
    state = backend.arrow(f"SELECT seq, events FROM derived_state WHERE project = {p}").to_pylist()
    return (state[0]["seq"], state[0]["events"]) if state else None


def _counted(p: str, seq: int) -> str:
    """SQL: how many events the project (quoted as ``p``) holds up to ``seq``: as many as the
    derived tables counted, unless some were deleted since."""
    return f"SELECT count(*) FROM events WHERE project = {p} AND seq <= {int(seq)}"


def _events_now(backend: Backend, p: str) -> tuple[int, int]:
    """The project's (quoted as ``p``) highest ``seq`` (-1 for none) and how many events it holds."""
    top, count = backend.arrow(f"SELECT max(seq) AS top, count(*) AS n FROM events WHERE project = {p}").to_pylist()[0].values()
    return (-1 if top is None else top), count


def forget(backend: DuckDBBackend, project: str) -> None:
    """Drop the project's derived rows (the next refresh rebuilds them)."""
    for table in DERIVED_TABLES:
        backend.execute(f"DELETE FROM {table} WHERE project = {backend.dialect.literal(project)}")


def _take_out_deleted(backend: DuckDBBackend, p: str, low: int) -> bool:
    """Take out of the derived tables every row of the persons whose events were deleted since
    the last refresh, and leave their other events in ``again`` (``seq``) and their former ids
    in ``touched_ids``, for the refresh to take in as if they were new; whether any person was.

    A person's ids are linked only by that person's events, so what identity is computed from
    for their ids (devices, pairs, first sightings, sign-ins) comes only from those events, and
    taking those rows out and their remaining events in again gives what a rebuild gives. A
    sign-in or merge deleted also touches the persons of the ids it named. Deleting one person
    at 100M events took 14 s with this, where the rebuild that followed a deletion took 314 s.
    """
    # Where events went: each stretch of numbers whose derived rows outnumber its events with an
    # id (all it held until the deletion), by two grouped counts; then the rows of those
    # stretches only, not every derived row against every event (100M events: ~1 s against 10.6).
    stretch = f"seq // {STRETCH}"
    backend.create("gone_stretches", f"""
SELECT d.stretch FROM (SELECT {stretch} AS stretch, count(*) AS n FROM derived_events WHERE project = {p} GROUP BY stretch) AS d
LEFT JOIN (SELECT {stretch} AS stretch, count(*) AS n FROM events AS e
           WHERE project = {p} AND seq <= {int(low)} AND {_raw_id('e')} IS NOT NULL GROUP BY stretch) AS o
  ON o.stretch = d.stretch
WHERE o.n IS DISTINCT FROM d.n""")
    within = f"{stretch} IN (SELECT stretch FROM gone_stretches)"
    backend.create("gone_events", f"SELECT seq, person FROM derived_events WHERE project = {p} AND {within} "
                                  f"AND seq NOT IN (SELECT seq FROM events WHERE project = {p} AND {within})")
    # The few sign-ins still there found first, by a hash table of those, not of every event
    # (10M events: 0.04-0.08 s against 0.34-0.53).
    kept = f"SELECT seq FROM derived_identity_events WHERE project = {p}"
    backend.create("gone_identity_events", f"""
SELECT seq, event, distinct_id, properties FROM derived_identity_events WHERE project = {p}
  AND seq NOT IN (SELECT seq FROM events WHERE project = {p} AND seq IN ({kept}))""")
    backend.create("touched", f"""
WITH named AS ({_named_by(backend.dialect, "gone_identity_events")})
SELECT person FROM gone_events
UNION SELECT coalesce(o.person, n.id) FROM (
  SELECT raw AS id FROM named WHERE raw IS NOT NULL UNION SELECT {_PREFIX} || raw FROM named WHERE raw IS NOT NULL
) AS n LEFT JOIN derived_persons AS o ON o.project = {p} AND o.id = n.id""")
    if not _count(backend, "SELECT count(*) FROM touched"):
        return False  # only events without an id (of no person) went
    backend.create("touched_ids", f"""
SELECT id FROM derived_persons WHERE project = {p} AND person IN (SELECT person FROM touched)
UNION SELECT person FROM touched""")
    # Their rows by number, found once by the persons' numbers: each later step reads integers.
    backend.create("touched_numbers", _numbers_of(p, "touched"))
    backend.create("touched_rows", f"SELECT seq FROM derived_events WHERE project = {p} "
                                   f"AND person_seq IN (SELECT person_seq FROM touched_numbers)")
    backend.create("again", "SELECT seq FROM touched_rows WHERE seq NOT IN (SELECT seq FROM gone_events)")
    ids = "(SELECT id FROM touched_ids)"
    backend.execute(f"DELETE FROM derived_identity_events WHERE project = {p} AND (seq IN "
                    f"(SELECT seq FROM gone_identity_events) OR seq IN (SELECT seq FROM again))")
    backend.execute(f"DELETE FROM derived_devices WHERE project = {p} AND {_PREFIX} || device_id IN {ids}")
    backend.execute(f"DELETE FROM derived_pairs WHERE project = {p} AND ({_PREFIX} || device_id IN {ids} "
                    f"OR user_id IN {ids})")
    # A raw id names one of the ids either as itself or as a device's: never both (an id that is
    # a device's reads as the device's, docs/semantics.md §2).
    backend.execute(f"DELETE FROM derived_first_seen WHERE project = {p} AND (raw_id IN {ids} "
                    f"OR {_PREFIX} || raw_id IN {ids})")
    backend.execute(f"DELETE FROM derived_events WHERE project = {p} AND seq IN (SELECT seq FROM touched_rows)")
    backend.execute(f"DELETE FROM derived_person_numbers WHERE project = {p} "
                    f"AND person_seq IN (SELECT person_seq FROM touched_numbers)")
    for table in ("derived_persons", *KEY_EVENT_TABLES):
        backend.execute(f"DELETE FROM {table} WHERE project = {p} AND person IN (SELECT person FROM touched)")
    return True


def _numbers_of(p: str, names: str) -> str:
    """SQL: the numbers (``person_seq``) of the persons of the project (quoted as ``p``) named in
    relation ``names`` (column ``person``), which find their rows among the derived events, and
    their own row in ``derived_person_numbers``, by an integer: at 100M events, 5,000 new,
    comparing every derived event's name took 1.9-4.5 s of a 5.5-9.0 s refresh."""
    return (f"SELECT person_seq FROM derived_person_numbers WHERE project = {p} "
            f"AND person IN (SELECT person FROM {names})")


def refresh(backend: DuckDBBackend, project: str, bucket_rows: int = BUCKET_ROWS) -> Refreshed:
    """Bring the project's derived tables up to date; run inside one transaction (the caller's).
    Sessions are numbered for at most ``bucket_rows`` events at a time."""
    d = backend.dialect
    p = d.literal(project)
    top, count = _events_now(backend, p)
    state = _state(backend, p)
    rebuilt = state is None
    if state is not None:
        low, held = state
        if low == top and held == count:
            _redo_credit(backend, project, None, False)  # a key event added or dropped since
            return Refreshed(0, False, 0)
        # Events it counted are gone (a deletion): their persons are redone from what is left.
        again = backend.scalar(_counted(p, low)) != held and _take_out_deleted(backend, p, low)
    else:
        forget(backend, project)
        low, again = -1, False
    fresh = _read_fresh(backend, p, low, top, again)
    linked = _update_identity_inputs(backend, p, low, top, again) or again
    if linked:
        _link(backend, p, rebuilt, again)
    else:
        backend.view("persons", f"SELECT id, person FROM derived_persons WHERE project = {p}")
    persons, redone = _redo_sessions(backend, p, linked, rebuilt, bucket_rows)
    _redo_credit(backend, project, redone, rebuilt)
    backend.execute(f"DELETE FROM derived_state WHERE project = {p}")
    backend.execute(f"INSERT INTO derived_state VALUES ({p}, {int(top)}, {int(count)})")
    return Refreshed(fresh, rebuilt, persons)


def _taken_in(p: str, low: int, top: int, again: bool) -> str:
    """SQL: an event of the project (quoted as ``p``) is to be taken in: numbered after ``low``
    up to ``top``, or (``again``) one of the events of the persons a deletion touched."""
    return (f"project = {p} AND (seq > {int(low)} AND seq <= {int(top)}"
            f"{' OR seq IN (SELECT seq FROM again)' if again else ''})")


def _own(e: str) -> str:
    """SQL: event ``e`` is its own device's: a device id and no user id."""
    return f"(NOT {queries.nonempty(f'{e}.user_id')} AND {queries.nonempty(f'{e}.device_id')})"


def _raw_id(e: str) -> str:
    """SQL: the id event ``e`` is its person's by, before devices are told apart (NULL: none,
    and no derived row): its device's if its own, else its user's, else its distinct id."""
    return (f"CASE WHEN {_own(e)} THEN {e}.device_id WHEN {queries.nonempty(f'{e}.user_id')} THEN {e}.user_id "
            f"ELSE {e}.distinct_id END")


def _read_fresh(backend: DuckDBBackend, p: str, low: int, top: int, again: bool) -> int:
    """The events after ``low`` (and ``again``'s) as ``fresh``, each with its raw id and whether
    it is its own device's."""
    own = _own("e")
    # A view: each reader scans the new events again (few, or a rebuild's every event, which a
    # copy would hold in memory beside the rest: at 50M events the build ran out of its 1.5 GB).
    # After a deletion a table: the events taken in again are found by a scan of every event.
    (backend.create if again else backend.view)("fresh", f"""
SELECT seq, time, event, device_id, user_id, utm_source, {queries.tagged('e')} AS tagged, {own} AS own,
  {_raw_id('e')} AS raw_id
FROM events AS e WHERE {_taken_in(p, low, top, again)}""")
    return _count(backend, "SELECT count(*) FROM fresh")


def _upsert_earliest(backend: DuckDBBackend, p: str, table: str, keys: tuple[str, ...], rows: str) -> int:
    """Keep in ``table`` each key's earliest (time, seq) of ``rows`` if earlier than the stored one;
    returns how many keys changed."""
    key_list = ", ".join(keys)
    same = " AND ".join(f"o.{k} = n.{k}" for k in keys)
    # The earliest by a grouped minimum of (time, seq), compared field by field, not a window
    # that sorts every row (10M events, the first-seen ids: 1.45 s against 2.2).
    backend.create(f"changed_{table}", f"""
WITH n AS (
  SELECT {key_list}, earliest.time AS time, earliest.seq AS seq FROM (
    SELECT {key_list}, min(struct_pack(time := time, seq := seq)) AS earliest FROM ({rows}) AS x GROUP BY {key_list}
  ) AS grouped
)
SELECT n.*, o.seq AS stored_seq FROM n LEFT JOIN (
  SELECT * FROM {table} WHERE project = {p} AND {keys[0]} IN (SELECT {keys[0]} FROM n)
) AS o ON {same}
WHERE o.seq IS NULL OR n.time < o.time OR (n.time = o.time AND n.seq < o.seq)""")
    changed = _count(backend, f"SELECT count(*) FROM changed_{table}")
    if changed:
        # A stored row by its ``seq``, its earliest event's, which no other key's row holds (an
        # event has one key): an integer scan, not a join on the keys (10M events, 5,000 new:
        # of 2.3M first-seen ids, under 10 ms against 36-41).
        backend.execute(f"DELETE FROM {table} WHERE project = {p} AND seq IN (SELECT stored_seq FROM changed_{table})")
        backend.execute(f"INSERT INTO {table} SELECT {p}, {key_list}, time, seq FROM changed_{table}")
    return changed


def _update_identity_inputs(backend: DuckDBBackend, p: str, low: int, top: int, again: bool) -> bool:
    """Add the fresh events to what identity is computed from; whether persons must be linked again."""
    # Each anti-join below reads the kept table through an IN on the few fresh keys: its hash
    # table is built on those, not on millions of kept rows (0.66 → 0.0x s at 10M events).
    backend.create("new_devices", f"""
SELECT DISTINCT device_id FROM fresh WHERE {queries.nonempty('device_id')}
EXCEPT SELECT device_id FROM derived_devices WHERE project = {p} AND device_id IN (SELECT device_id FROM fresh)""")
    devices = _count(backend, "SELECT count(*) FROM new_devices")
    backend.execute(f"INSERT INTO derived_devices SELECT {p}, device_id FROM new_devices")
    pairs = _upsert_earliest(backend, p, "derived_pairs", ("device_id", "user_id"),
                             f"SELECT device_id, user_id, time, seq FROM fresh WHERE {queries.nonempty('device_id')} "
                             f"AND {queries.nonempty('user_id')}")
    backend.create("new_identity_events", f"""
SELECT seq, time, event, distinct_id, properties FROM events
WHERE {_taken_in(p, low, top, again)} AND event IN {_IDENTITY_EVENTS}""")
    signs = _count(backend, "SELECT count(*) FROM new_identity_events")
    backend.execute(f"INSERT INTO derived_identity_events SELECT {p}, * FROM new_identity_events")
    first = _upsert_earliest(backend, p, "derived_first_seen", ("raw_id", "own"),
                             "SELECT raw_id, own, time, seq FROM fresh WHERE raw_id IS NOT NULL")
    # The earliest-seen id names its person: a linked id seen earlier than before may rename it.
    renamed = first and backend.scalar(f"""
SELECT count(*) FROM derived_persons WHERE project = {p} AND (id IN (SELECT raw_id FROM changed_derived_first_seen)
  OR id IN (SELECT {_PREFIX} || raw_id FROM changed_derived_first_seen))""")
    return bool(devices or pairs or signs or renamed)


def _normalised(table: str, devices: str = "dv") -> str:
    """SQL: the id of a row of ``table`` (raw_id, own) as ``identified`` reads it, given
    ``LEFT JOIN derived_devices AS {devices}`` on its raw id (docs/semantics.md §2)."""
    return (f"CASE WHEN {table}.own OR {devices}.device_id IS NOT NULL THEN {_PREFIX} || {table}.raw_id "
            f"ELSE {table}.raw_id END")


def _devices_join(p: str, table: str, among: str) -> str:
    """``LEFT JOIN`` of the devices whose id is a ``raw_id`` of the relation ``among`` (what
    ``table``'s rows that are not their own device's may hold): a hash table of those few,
    not of every device (14M at 50M events)."""
    return (f"LEFT JOIN (SELECT device_id FROM derived_devices WHERE project = {p} AND device_id IN "
            f"(SELECT raw_id FROM {among})) AS dv ON NOT {table}.own AND dv.device_id = {table}.raw_id")


def _link(backend: DuckDBBackend, p: str, rebuilding: bool, again: bool = False) -> None:
    """Link again the persons of every id the fresh identity inputs name (``persons``, for the
    ids of ``closure`` only; when rebuilding, of every linked id) from the kept inputs, shaped
    as the relations a full question links from (:func:`~utmost.engine.identity.label_people`)."""
    d = backend.dialect
    backend.view("devices", f"SELECT device_id FROM derived_devices WHERE project = {p}")
    backend.view("identity_events", f"SELECT seq, time, event, distinct_id, properties FROM derived_identity_events "
                                    f"WHERE project = {p}")
    backend.view("identified", f"""
SELECT device_id, user_id, time, seq, CAST(NULL AS VARCHAR) AS id FROM derived_pairs WHERE project = {p}""")
    backend.create("all_links", queries.links(d))
    if rebuilding:  # every id is named: the closure is every linked id
        backend.create("closure", "SELECT DISTINCT a AS id FROM all_links")
    else:
        _close(backend, p, again)
    # When the closure's ids were first seen (the earliest names a person): their rows only (a
    # rebuild that normalised every id first seen held every device's id: 1.5 GB at 50M events).
    raw = f"CASE WHEN id LIKE '{queries.DEVICE_PREFIX}%' THEN substr(id, {len(queries.DEVICE_PREFIX) + 1}) END"
    backend.create("closure_raw", f"SELECT id AS raw_id FROM closure UNION SELECT {raw} FROM closure")
    backend.view("identified", f"""
SELECT * FROM (
  SELECT f.time, f.seq, {_normalised('f')} AS id FROM derived_first_seen AS f {_devices_join(p, 'f', 'closure_raw')}
  WHERE f.project = {p} AND f.raw_id IN (SELECT raw_id FROM closure_raw)
) AS seen WHERE id IN (SELECT id FROM closure)""")
    backend.view("links", "SELECT a, b FROM all_links WHERE a IN (SELECT id FROM closure)")
    label_people(backend)


def _named_by(d: Dialect, identity_events: str) -> str:
    """SQL: the raw ids (column ``raw``) the sign-ins, aliases and merges of relation
    ``identity_events`` name: their own and those in their properties."""
    named = [d.json_text("properties", k) for k in ("$anon_distinct_id", "$identified_id", "alias")]
    merged = d.explode.format(d.json_string_array("properties", "$distinct_ids"))
    return (f"SELECT distinct_id AS raw FROM {identity_events}"
            + "".join(f" UNION SELECT {n} FROM {identity_events}" for n in named)
            + f" UNION SELECT {merged} FROM {identity_events} WHERE event = '$merge'")


def _close(backend: DuckDBBackend, p: str, again: bool = False) -> None:
    """``closure``: the ids the fresh identity inputs name (and, ``again``, the former ids of
    the persons a deletion touched), as themselves and as devices', the ids of their persons
    before, and every id linked to those now, until none is added (a set closed under the
    links, whose persons come out as from every link)."""
    d = backend.dialect
    backend.create("named", f"""
SELECT {_PREFIX} || device_id AS raw FROM changed_derived_pairs UNION SELECT user_id FROM changed_derived_pairs
UNION SELECT device_id FROM new_devices UNION SELECT raw_id FROM changed_derived_first_seen
UNION {_named_by(d, "new_identity_events")}{" UNION SELECT id FROM touched_ids" if again else ""}""")
    backend.create("closure_0", f"""
WITH ids AS (SELECT raw AS id FROM named WHERE raw IS NOT NULL
             UNION SELECT {_PREFIX} || raw FROM named WHERE raw IS NOT NULL)
SELECT id FROM ids
UNION SELECT l.id FROM derived_persons AS l JOIN derived_persons AS s ON s.person = l.person AND s.project = {p}
  JOIN ids ON ids.id = s.id WHERE l.project = {p}""")
    size = backend.scalar("SELECT count(*) FROM closure_0")
    for round_ in range(1, MAX_ROUNDS + 1):
        backend.create(f"closure_{round_}", f"SELECT id FROM closure_{round_ - 1} UNION "
                                            f"SELECT b FROM all_links WHERE a IN (SELECT id FROM closure_{round_ - 1})")
        grown = backend.scalar(f"SELECT count(*) FROM closure_{round_}")
        backend.execute(f"DROP TABLE closure_{round_ - 1}")
        if grown == size:
            break
        size = grown
    backend.view("closure", f"SELECT id FROM closure_{round_}")


def _redo_sessions(backend: DuckDBBackend, p: str, linked: bool, rebuilding: bool,
                   bucket_rows: int) -> tuple[int, Redone | None]:
    """Number the sessions of every person the fresh events touch again; how many persons, and
    the relations of those persons (None when rebuilding: every person is)."""
    if linked:
        backend.create("changed_ids", f"""
SELECT c.id FROM closure AS c LEFT JOIN derived_persons AS o ON o.project = {p} AND o.id = c.id
LEFT JOIN persons AS n ON n.id = c.id WHERE o.person IS DISTINCT FROM n.person""")
    columns = f"seq, time, event, raw_id, own, {_KEPT_LANDING}"
    if rebuilding:  # every person is redone, from the fresh events alone
        backend.view("dirty", "SELECT person FROM derived_events WHERE FALSE")
        backend.view("redo", f"SELECT {columns} FROM fresh")
    else:
        changed = "UNION SELECT id FROM changed_ids" if linked else ""
        backend.create("affected", f"""
SELECT {_normalised('f')} AS id FROM fresh AS f {_devices_join(p, 'f', '(SELECT raw_id FROM fresh WHERE NOT own)')} WHERE f.raw_id IS NOT NULL {changed}
UNION SELECT device_id FROM new_devices UNION SELECT {_PREFIX} || device_id FROM new_devices""")
        backend.create("dirty", f"""
SELECT coalesce(o.person, a.id) AS person FROM affected AS a LEFT JOIN derived_persons AS o ON o.project = {p} AND o.id = a.id
UNION SELECT coalesce(n.person, a.id) FROM affected AS a LEFT JOIN persons AS n ON n.id = a.id""")
        backend.create("dirty_numbers", _numbers_of(p, "dirty"))
        backend.create("redo", f"""
SELECT {columns} FROM derived_events WHERE project = {p} AND person_seq IN (SELECT person_seq FROM dirty_numbers)
UNION ALL SELECT {columns} FROM fresh""")
        backend.execute(f"DELETE FROM derived_person_numbers WHERE project = {p} "
                        f"AND person_seq IN (SELECT person_seq FROM dirty_numbers)")
        # By each row's own number, an integer, not by the persons' names again: at 10M events,
        # 5,000 new, 2 ms against 78-83 (fresh numbers are not there yet: they match nothing).
        backend.execute(f"DELETE FROM derived_events WHERE project = {p} AND seq IN (SELECT seq FROM redo)")
    if linked:
        backend.execute(f"DELETE FROM derived_persons AS o USING changed_ids AS c WHERE o.project = {p} AND o.id = c.id")
        backend.execute(f"INSERT INTO derived_persons SELECT {p}, n.id, n.person FROM persons AS n "
                        f"JOIN changed_ids AS c ON c.id = n.id")
    # Numbered on the narrow columns, then joined back: the windows sort only what they carry;
    # and by buckets of persons, so that one window never sorts more than ``bucket_rows`` rows.
    # Stored in bucket order, so that each bucket's scan skips the others' row groups (100M
    # events, ten buckets: each window 6–7 s against 12–17, the sort ~20 s, the build 401 s
    # against 442).
    buckets = max(1, -(-_count(backend, "SELECT count(*) FROM redo WHERE raw_id IS NOT NULL") // bucket_rows))
    backend.create("owned", f"""
SELECT *, hash(name) % {buckets} AS bucket FROM (
  SELECT r.seq, r.time, coalesce(l.person, {_normalised('r')}) AS name
  FROM redo AS r {_devices_join(p, 'r', '(SELECT raw_id FROM redo WHERE NOT own)')}
  LEFT JOIN derived_persons AS l ON l.project = {p} AND l.id = {_normalised('r')}
  WHERE r.raw_id IS NOT NULL
) AS named{" ORDER BY bucket" if buckets > 1 else ""}""")
    # A rebuild's rows go straight in; a refresh's first into ``redone``, which the kept credit
    # is computed from (:class:`Redone`).
    numbered_into = "derived_events" if rebuilding else "redone"
    if not rebuilding:
        backend.create("redone", "SELECT * FROM derived_events WHERE FALSE")
    persons = 0
    for bucket in range(buckets):
        backend.create("numbered", f"""
SELECT seq, name, {queries.PERSON_NUMBER} AS person_seq, starts, sum(starts) {queries.RUNNING} AS session
FROM (
  SELECT seq, time, name, {queries.session_start(backend.dialect, TIMEOUT)} AS starts
  FROM owned WHERE bucket = {bucket}
) AS marked""")
        # The join's hash table is on the smaller side by DuckDB's estimates, weighed by width:
        # ``numbered``, as long as ``redo`` is not filtered (a filter's guessed selectivity made a
        # rebuild's ``redo`` look five times smaller: 1M events, 1,135 MiB against 627). Its rows
        # without an id have no number and drop out here.
        backend.execute(f"""
INSERT INTO {numbered_into}
SELECT {p}, r.seq, r.time, r.event, r.raw_id, r.own, n.name, n.person_seq, n.starts, n.session, r.utm_source, r.tagged
FROM redo AS r JOIN numbered AS n ON n.seq = r.seq""")
        # One row a person (a number has one name): the insert's count is the bucket's persons,
        # without grouping ``numbered`` again (10M events: 0.39 s a rebuild).
        persons += _count(backend, f"INSERT INTO derived_person_numbers SELECT DISTINCT {p}, name, person_seq "
                                   "FROM numbered")
    if rebuilding:
        return persons, None
    backend.execute("INSERT INTO derived_events SELECT * FROM redone")
    return persons, Redone(names="dirty", rows="redone")


def _redo_credit(backend: DuckDBBackend, project: str, redone: Redone | None, rebuilt: bool) -> None:
    """Bring the kept credit and journeys (``KEY_EVENT_TABLES``) in line with the project's key
    events: a key event added gets every person's, one dropped loses its rows, and the others
    those of the persons ``redone`` again, or of every person if the tables were ``rebuilt``;
    ``redone`` None: no person was."""
    p = backend.dialect.literal(project)
    wanted = set(backend.arrow(f"SELECT event FROM key_events WHERE project = {p}").column("event").to_pylist())
    held = set(backend.arrow(f"SELECT event FROM derived_key_events WHERE project = {p}").column("event").to_pylist())
    for event in sorted(held - wanted):
        e = backend.dialect.literal(event)
        for table in (*KEY_EVENT_TABLES, "derived_key_events"):
            backend.execute(f"DELETE FROM {table} WHERE project = {p} AND event = {e}")
    for event in sorted(wanted):
        whole = rebuilt or event not in held
        if not whole and redone is None:
            continue
        e = backend.dialect.literal(event)
        within = "" if whole or redone is None else f" AND person IN (SELECT person FROM {redone.names})"
        for table in KEY_EVENT_TABLES:
            backend.execute(f"DELETE FROM {table} WHERE project = {p} AND event = {e}{within}")
        _credit(backend, kept_question(project, event), None if whole else redone)
        if event not in held:
            backend.execute(f"INSERT INTO derived_key_events VALUES ({p}, {e})")


def _credit(backend: DuckDBBackend, options: Options, redone: Redone | None) -> None:
    """Add to ``derived_credit`` the credit ``options`` gives the conversions of the persons
    ``redone`` (every person: None), and to ``derived_journeys`` their journeys, computed by the
    question's own steps from their derived events."""
    d = backend.dialect
    backend.create("sessions", sessions(d, options, redone))
    backend.create("touchpoints", queries.touchpoints(d, options, backend.source))
    backend.create("conversions", queries.conversions(d, options, backend.source))
    backend.create("attributable", queries.attributable(d, options))
    # Each model's column by name: its place among the question's models is its ``w<order>``.
    weights = ", ".join(f"c.w{order}" for order in range(len(options.models)))
    backend.execute(f"""
INSERT INTO derived_credit (project, event, conversion, insert_id, person, time, k0, revenue, bare,
  {", ".join(m.name for m in options.models)})
SELECT {d.literal(options.project)}, {d.literal(options.conversion)}, c.conversion, c.insert_id, c.person,
  c.conversion_time, c.k0, c.revenue, c.conversion IN (SELECT conversion FROM attributable WHERE touches = 0), {weights}
FROM ({queries.credited(d, options)}) AS c""")
    backend.execute(f"""
INSERT INTO derived_journeys (project, event, converted, conversion, insert_id, person, time, revenue, bare, path)
SELECT {d.literal(options.project)}, {d.literal(options.conversion)}, j.converted, j.conversion, j.insert_id, j.person,
  j.time, j.revenue, coalesce(j.conversion IN (SELECT conversion FROM attributable WHERE touches = 0), FALSE), j.path
FROM ({queries.journeys(d, options)}) AS j""")
    for step in ("attributable", "conversions", "touchpoints", "sessions"):
        backend.execute(f"DROP TABLE {step}")


def _count(backend: DuckDBBackend, sql: str) -> int:
    counted = backend.scalar(sql)
    assert isinstance(counted, int), sql
    return counted


_PREFIX = f"'{queries.DEVICE_PREFIX}'"
