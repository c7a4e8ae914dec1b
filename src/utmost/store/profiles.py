"""People and group profiles: fold a batch of operations over the stored profiles.

Runs on the writer thread. Operations are applied in arrival order with Mixpanel's semantics
(:mod:`utmost.ingest.people`); the profiles the batch touches are read once, updated in memory and
written back in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb
import orjson

from utmost.ingest.people import Profile, apply_operation

#: Which table holds which kind of profile, and the columns that name one profile.
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "people": ("people", ("distinct_id",)),
    "groups": ("groups", ("group_key", "group_id")),
}

Update = tuple[tuple[str, ...], str, Any]  # (profile id, operation, value)


def update_profiles(
    con: duckdb.DuckDBPyConnection, kind: str, project: str, updates: Iterable[Update]
) -> int:
    """Apply ``updates`` to profiles of ``kind``; returns how many profiles changed."""
    table, id_columns = TABLES[kind]
    updates = list(updates)
    profiles = _load(con, table, id_columns, project, {profile_id for profile_id, _, _ in updates})
    touched: set[tuple[str, ...]] = set()
    for profile_id, operation, value in updates:
        profiles[profile_id] = apply_operation(profiles.get(profile_id), operation, value)
        touched.add(profile_id)
    _save(con, table, id_columns, project, {key: profiles[key] for key in touched})
    return len(touched)


def read_profile(
    con: duckdb.DuckDBPyConnection, kind: str, project: str, profile_id: tuple[str, ...]
) -> Profile | None:
    table, id_columns = TABLES[kind]
    return _load(con, table, id_columns, project, {profile_id}).get(profile_id)


def _where(id_columns: tuple[str, ...]) -> str:
    return " AND ".join(f"{column} = ?" for column in id_columns)


def _load(con, table, id_columns, project, ids) -> dict[tuple[str, ...], Profile | None]:
    found: dict[tuple[str, ...], Profile | None] = {}
    for profile_id in ids:
        row = con.execute(
            f"SELECT properties FROM {table} WHERE project = ? AND {_where(id_columns)}",
            [project, *profile_id],
        ).fetchone()
        if row:
            found[profile_id] = orjson.loads(row[0])
    return found


def _save(con, table, id_columns, project, profiles: dict[tuple[str, ...], Profile | None]) -> None:
    for profile_id, profile in profiles.items():
        con.execute(f"DELETE FROM {table} WHERE project = ? AND {_where(id_columns)}", [project, *profile_id])
        if profile is not None:
            columns = ", ".join(("project", *id_columns, "properties", "updated_at"))
            marks = ", ".join("?" for _ in range(len(id_columns) + 2))
            con.execute(
                f"INSERT INTO {table} ({columns}) VALUES ({marks}, current_timestamp)",
                [project, *profile_id, orjson.dumps(profile).decode()],
            )
