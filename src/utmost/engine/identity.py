"""Identity (docs/semantics.md §2): which ids are one person, as the engine's steps.

Read by a question from every event (:func:`resolve_people`), and by the derived tables'
maintenance (:mod:`utmost.engine.maintained`) from what it keeps, through the same
:func:`label_people`.
"""

from __future__ import annotations

from utmost.backends import Backend
from utmost.engine import queries
from utmost.ingest.campaign import LANDING_PARAMS

#: Label propagation stops here even if ids are still merging (a chain this long is a bug).
MAX_ROUNDS = 64


def resolve_people(backend: Backend, project: str) -> None:
    """Materialise ``identified``, ``links`` and ``persons`` (id → person) for ``project``."""
    d = backend.dialect
    backend.create("devices", queries.devices(d, backend.source, project))
    # A view: scanning the events again where it is read is cheaper than storing a copy. It
    # carries every landing column whatever the question (only those read are scanned), so
    # its text, and the identity steps after it, are the same for every question.
    backend.view("identified", queries.identified(d, backend.source, project, LANDING_PARAMS + queries.VISIT_COLUMNS))
    backend.create("identity_events", queries.identity_events(d, backend.source, project))
    backend.create("links", queries.links(d))
    label_people(backend)


def label_people(backend: Backend) -> None:
    """Materialise ``persons`` from the relations ``links`` and ``identified`` (the events', or
    the derived tables' in :mod:`utmost.engine.maintained`)."""
    backend.create("labels_0", queries.first_labels())
    for round_ in range(1, MAX_ROUNDS + 1):
        backend.create(f"labels_{round_}", queries.next_labels(f"labels_{round_ - 1}"))
        if not backend.scalar(queries.changed_labels(f"labels_{round_ - 1}", f"labels_{round_}")):
            break
    backend.create("persons", queries.persons(f"labels_{round_}"))
