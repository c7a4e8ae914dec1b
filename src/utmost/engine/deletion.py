"""Deleting a person (GDPR, CCPA): every event of every id merged into them, and their profiles.

Who a person is comes from the engine's identity (docs/semantics.md §2), as the derived tables
hold it once brought up to date; the store then deletes what that names in one transaction,
and a refresh takes the person out of the derived tables. Events that arrive for the person
between the two steps are not deleted (a second run finds them).
"""

from __future__ import annotations

from dataclasses import dataclass

from utmost.backends import DuckDBBackend
from utmost.engine import queries
from utmost.engine.identity import resolve_people
from utmost.engine.maintained import keep_up, read_people
from utmost.engine.run import person_of
from utmost.store import Store


@dataclass(frozen=True)
class Deleted:
    """What deleting a person removed."""

    person: str
    ids: list[str]  # every id merged into the person, as the engine names them
    events: int
    profiles: int


def delete_person(store: Store, project: str, any_id: str) -> Deleted:
    """Delete the person who owns ``any_id``: their events, identity links and profiles.

    Raises :class:`~utmost.errors.InputError` if no event or link names ``any_id``.
    """
    backend = DuckDBBackend.of(store)
    try:
        if keep_up(backend, project) is None:  # a store open to read: identity from every event
            resolve_people(backend, project)
        else:  # the derived tables, current now (10M events: ~0.5 s against ~6)
            read_people(backend, project)
        person, ids = person_of(backend, project, any_id)
        seqs = backend.arrow(queries.person_events(backend.dialect, "person_ids")).column("seq").to_pylist()
    finally:
        backend.close()
    # Profiles are kept under the id an SDK sent: a device's without the prefix the engine adds.
    profile_ids = sorted({i.removeprefix(queries.DEVICE_PREFIX) for i in ids} | set(ids))
    events, profiles = store.delete(project, seqs, profile_ids)
    # The derived tables lose the person's rows now, not when next asked: they hold the ids.
    keep_up(DuckDBBackend.of(store), project)
    return Deleted(person, ids, events, profiles)
