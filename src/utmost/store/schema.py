"""The database schema, as a list of forward migrations.

A file records the version it is at; opening it applies every later migration in one
transaction, so an older file is upgraded in place and a newer one is refused rather than
misread. Add a migration by appending to ``MIGRATIONS``; never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from utmost.ingest.campaign import LANDING_PARAMS
from utmost.ingest.events import CANONICAL_COLUMNS
from utmost.store.projects import hash_secrets

#: A migration step: a statement, or a function for what SQL alone cannot do.
Step = str | Callable[[duckdb.DuckDBPyConnection], None]

_EVENT_COLUMNS = ",\n  ".join(f"{c.name} {c.sql_type}" for c in CANONICAL_COLUMNS)


def _number_persons(con: duckdb.DuckDBPyConnection) -> None:
    """Fill ``derived_person_numbers`` from the derived events (migration 13) within 1 GB, DuckDB
    spilling the rest: unbounded, 100M events' 23M persons took 12 s at a peak of 3.1 GiB, more
    than ``utmost import`` may use after opening the file. Without DuckDB's progress bar, which
    it prints on standard output past 2 s, into the output of the command that opened the file.
    (If the insert fails, so does opening the file, and the connection with its settings goes.)"""
    ((bar,),) = con.execute("SELECT current_setting('enable_progress_bar')").fetchall()
    con.execute("SET memory_limit = '1GB'")
    con.execute("SET enable_progress_bar = false")
    con.execute("INSERT INTO derived_person_numbers SELECT DISTINCT project, person, person_seq FROM derived_events")
    con.execute(f"SET enable_progress_bar = {bool(bar)}")
    con.execute("RESET memory_limit")

MIGRATIONS: tuple[tuple[Step, ...], ...] = (
    # 1: projects, canonical events, people and group profiles.
    (
        """CREATE TABLE projects (
  name VARCHAR PRIMARY KEY,
  token VARCHAR NOT NULL UNIQUE,
  secret VARCHAR NOT NULL UNIQUE,
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)""",
        f"CREATE TABLE events (\n  {_EVENT_COLUMNS}\n)",
        """CREATE TABLE people (
  project VARCHAR NOT NULL,
  distinct_id VARCHAR NOT NULL,
  properties JSON NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  PRIMARY KEY (project, distinct_id)
)""",
        """CREATE TABLE groups (
  project VARCHAR NOT NULL,
  group_key VARCHAR NOT NULL,
  group_id VARCHAR NOT NULL,
  properties JSON NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  PRIMARY KEY (project, group_key, group_id)
)""",
    ),
    # 2: service accounts, the other way to authorise /import (Basic user:secret + project_id).
    (
        """CREATE TABLE service_accounts (
  username VARCHAR PRIMARY KEY,
  secret VARCHAR NOT NULL,
  project VARCHAR NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)""",
    ),
    # 3: secrets kept as keyed hashes (utmost.store.projects says why), under the file's key.
    # DuckDB drops no column a UNIQUE constraint names, so both tables are copied and renamed.
    (
        "CREATE TABLE credential_key (key BLOB NOT NULL)",
        """CREATE TABLE hashed_projects (
  name VARCHAR PRIMARY KEY,
  token VARCHAR NOT NULL UNIQUE,
  secret_hash VARCHAR NOT NULL UNIQUE,
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)""",
        """CREATE TABLE hashed_service_accounts (
  username VARCHAR PRIMARY KEY,
  secret_hash VARCHAR NOT NULL,
  project VARCHAR NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)""",
        hash_secrets,
        "DROP TABLE projects",
        "ALTER TABLE hashed_projects RENAME TO projects",
        "DROP TABLE service_accounts",
        "ALTER TABLE hashed_service_accounts RENAME TO service_accounts",
    ),
    # 4: the numeric id a project had at Mixpanel, which migrated importers send as ?project_id=.
    # An index, not a UNIQUE column: DuckDB adds no constraint to an existing table. Its NULLs
    # (projects that never were at Mixpanel) are distinct from each other, as in a UNIQUE column.
    (
        "ALTER TABLE projects ADD COLUMN mixpanel_id BIGINT",
        "CREATE UNIQUE INDEX projects_mixpanel_id ON projects (mixpanel_id)",
    ),
    # 5: a project's own channel rules (`utmost channels --rules FILE`): the file's text as given,
    # read by the engine (utmost.engine.channels) whenever the project is asked about.
    (
        """CREATE TABLE channel_rules (
  project VARCHAR PRIMARY KEY,
  name VARCHAR NOT NULL,
  rules VARCHAR NOT NULL,
  set_at TIMESTAMP NOT NULL DEFAULT current_timestamp
)""",
    ),
    # 6: ad spend, one row per (project, date, utm_source, utm_medium, utm_campaign), which
    # utmost.store.spend keeps unique (no key: an empty medium or campaign is NULL, which a
    # primary key refuses). The currency is the project's, on every row (NULL until one is given).
    (
        """CREATE TABLE spend (
  project VARCHAR NOT NULL,
  date DATE NOT NULL,
  utm_source VARCHAR NOT NULL,
  utm_medium VARCHAR,
  utm_campaign VARCHAR,
  cost DOUBLE NOT NULL,
  currency VARCHAR
)""",
    ),
    # 7: holdout (lift) tests, one row per (project, key, start, end), which utmost.store.experiments
    # keeps unique (the key's properties in any order are one key): the key property names in the
    # file's order, their values in the same order, the days, and each group's persons and converters.
    (
        """CREATE TABLE experiments (
  project VARCHAR NOT NULL,
  properties VARCHAR[] NOT NULL,
  "key" VARCHAR[] NOT NULL,
  "start" DATE NOT NULL,
  "end" DATE NOT NULL,
  test_persons BIGINT NOT NULL,
  test_conversions BIGINT NOT NULL,
  control_persons BIGINT NOT NULL,
  control_conversions BIGINT NOT NULL,
  imported_at TIMESTAMP NOT NULL
)""",
    ),
    # 8: the derived tables the engine keeps as events land (utmost.engine.maintained): what
    # identity is computed from (devices, each device's users, sign-ins and merges, when each
    # id was first seen), its result (linked id → person), and every event with its person and
    # session. ``derived_state`` says up to which event they hold; they are never the only copy
    # of anything, and a project's may be dropped at any time (they are rebuilt).
    (
        "CREATE TABLE derived_state (project VARCHAR PRIMARY KEY, seq BIGINT NOT NULL, events BIGINT NOT NULL)",
        "CREATE TABLE derived_devices (project VARCHAR NOT NULL, device_id VARCHAR NOT NULL)",
        """CREATE TABLE derived_pairs (
  project VARCHAR NOT NULL, device_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL, time TIMESTAMP, seq BIGINT NOT NULL
)""",
        """CREATE TABLE derived_identity_events (
  project VARCHAR NOT NULL, seq BIGINT NOT NULL, time TIMESTAMP, event VARCHAR, distinct_id VARCHAR, properties JSON
)""",
        """CREATE TABLE derived_first_seen (
  project VARCHAR NOT NULL, raw_id VARCHAR NOT NULL, own BOOLEAN NOT NULL, time TIMESTAMP, seq BIGINT NOT NULL
)""",
        "CREATE TABLE derived_persons (project VARCHAR NOT NULL, id VARCHAR NOT NULL, person VARCHAR NOT NULL)",
        f"""CREATE TABLE derived_events (
  project VARCHAR NOT NULL, seq BIGINT NOT NULL, time TIMESTAMP, event VARCHAR, raw_id VARCHAR, own BOOLEAN NOT NULL,
  person VARCHAR NOT NULL, starts INTEGER NOT NULL, session BIGINT NOT NULL,
  {", ".join(f"{p} VARCHAR" for p in LANDING_PARAMS)}
)""",
    ),
    # 9: each derived event also holds its person's number, the ``seq`` of the person's first
    # event (utmost.engine.queries), which questions partition and join by. The derived tables
    # are rebuilt: without a state, the next refresh starts again.
    (
        "DELETE FROM derived_state",
        "DROP TABLE derived_events",
        f"""CREATE TABLE derived_events (
  project VARCHAR NOT NULL, seq BIGINT NOT NULL, time TIMESTAMP, event VARCHAR, raw_id VARCHAR, own BOOLEAN NOT NULL,
  person VARCHAR NOT NULL, person_seq BIGINT NOT NULL, starts INTEGER NOT NULL, session BIGINT NOT NULL,
  {", ".join(f"{p} VARCHAR" for p in LANDING_PARAMS)}
)""",
    ),
    # 10: a project's key events (GA4's name for the conversions it reports on), and for each the
    # credit every model of ``CREDIT_MODELS`` gives each conversion under the default question
    # (utmost.engine.maintained): one row per (conversion, utm_source), a column per model.
    # ``derived_key_events`` says which key events ``derived_credit`` holds.
    (
        "CREATE TABLE key_events (project VARCHAR NOT NULL, event VARCHAR NOT NULL, PRIMARY KEY (project, event))",
        "CREATE TABLE derived_key_events (project VARCHAR NOT NULL, event VARCHAR NOT NULL)",
        f"""CREATE TABLE derived_credit (
  project VARCHAR NOT NULL, event VARCHAR NOT NULL, conversion BIGINT NOT NULL, insert_id VARCHAR,
  person VARCHAR NOT NULL, time TIMESTAMP, k0 VARCHAR NOT NULL, revenue DOUBLE NOT NULL, bare BOOLEAN NOT NULL,
  {", ".join(f"{m} DOUBLE NOT NULL" for m in ("first_touch", "last_touch", "last_non_direct", "linear", "u_shaped",
                                               "j_shaped", "inverse_j", "time_decay", "participation"))}
)""",
    ),
    # 11: per key event, every journey of the default question (docs/semantics.md §8, §21), which
    # markov and shapley are fitted to: one row per conversion (its path since the previous one,
    # and whether it had no touchpoint at all) and one per person's touchpoints after their last.
    # The key events' credit kept before it is dropped, so that the next refresh builds both.
    (
        "DELETE FROM derived_credit",
        "DELETE FROM derived_key_events",
        """CREATE TABLE derived_journeys (
  project VARCHAR NOT NULL, event VARCHAR NOT NULL, converted BOOLEAN NOT NULL, conversion BIGINT, insert_id VARCHAR,
  person VARCHAR NOT NULL, time TIMESTAMP, revenue DOUBLE NOT NULL, bare BOOLEAN NOT NULL, path VARCHAR
)""",
    ),
    # 12: a derived event keeps of its landing parameters only what the sessions step reads:
    # ``utm_source`` and whether it landed tagged (a utm_source or a platform's click id); a
    # question reads any other from ``events`` by ``seq``. Writing the other fourteen columns was
    # ~40% of the build's inserts. The derived tables are rebuilt, as after migration 9.
    (
        "DELETE FROM derived_state",
        "DROP TABLE derived_events",
        """CREATE TABLE derived_events (
  project VARCHAR NOT NULL, seq BIGINT NOT NULL, time TIMESTAMP, event VARCHAR, raw_id VARCHAR, own BOOLEAN NOT NULL,
  person VARCHAR NOT NULL, person_seq BIGINT NOT NULL, starts INTEGER NOT NULL, session BIGINT NOT NULL,
  utm_source VARCHAR, tagged BOOLEAN NOT NULL
)""",
    ),
    # 13: each person's number (``person_seq``) by its name, one row per person of
    # ``derived_events``: a refresh finds the rows of the persons it redoes by their numbers, an
    # integer scan, instead of comparing every derived event's name (100M events, 5,000 new: the
    # names' scan took 1.9-4.5 s of a 5.5-9.0 s refresh). Filled from the derived events as they are.
    (
        "CREATE TABLE derived_person_numbers (project VARCHAR NOT NULL, person VARCHAR NOT NULL, person_seq BIGINT NOT NULL)",
        _number_persons,
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
#: The models whose credit ``derived_credit`` holds, a column each (migration 10).
CREDIT_MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "u_shaped", "j_shaped", "inverse_j",
                 "time_decay", "participation")
#: The tables of migrations 8 to 13 the engine derives, each with a ``project`` column.
DERIVED_TABLES = ("derived_state", "derived_devices", "derived_pairs", "derived_identity_events",
                  "derived_first_seen", "derived_persons", "derived_events", "derived_person_numbers",
                  "derived_key_events", "derived_credit", "derived_journeys")
#: The derived tables that hold a key event's credit, and its journeys, per ``event``.
KEY_EVENT_TABLES = ("derived_credit", "derived_journeys")
