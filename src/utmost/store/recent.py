"""The duplicate keys stored lately, so that a round of new events skips the anti-join.

A collector round drops the events already stored by an anti-join against the table
(docs/semantics.md §1), which cost ~2.5 ms of a ~7 ms round of 150 live browser events even
though it finds nothing: live events are new but for the SDK's re-sends. This keeps, per
project, the hash of every stored event's key whose ``time`` is at or after a floor. A round
whose events are all at or after the floor, none with a hash kept here, can then have none
stored, and is inserted as it is; any other round is judged by the anti-join, exactly as
before.

Keeping too much is harmless (a hash collision, or the hashes of a transaction rolled back,
only send a round to the anti-join); keeping too little would store a duplicate. So whatever
stores events otherwise makes it :meth:`RecentKeys.forget` everything first (the store's
:class:`~utmost.store.inserts.Numbering` does, as those events are numbered), and the floor
only rises: when a project keeps more than ``KEPT`` hashes, its earliest seconds are dropped
and the floor moves past them. A project's floor starts at the moment it is first asked about,
with the hashes of any stored event dated after it (a client clock running ahead).

One thread uses it at a time: whichever stores events (the writer's, or the mover's while the
writer only spills; see :mod:`utmost.store.writer`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa

from utmost.ingest.events import PROJECT_DEDUP_KEY

#: Hashes kept per project (~85 bytes each, ~40 MB): 50 s of events at 10,000 a second.
KEPT = 500_000
_KEY = PROJECT_DEDUP_KEY
_MICROS = 1_000_000


@dataclass
class _Project:
    #: Every stored event of the project with ``time`` at or after this (µs) has its hash kept.
    floor: int
    #: Hashes by the second of their event's ``time``.
    seconds: dict[int, set[int]] = field(default_factory=dict)
    size: int = 0

    def add(self, seconds: list[int], hashes: list[int]) -> None:
        for second, key in zip(seconds, hashes):
            kept = self.seconds.setdefault(second, set())
            if key not in kept:
                kept.add(key)
                self.size += 1
        while self.size > KEPT:
            earliest = min(self.seconds)
            self.size -= len(self.seconds.pop(earliest))
            self.floor = max(self.floor, (earliest + 1) * _MICROS)


class RecentKeys:
    """Per project, the hashes of the keys of the events stored since a floor."""

    def __init__(self) -> None:
        self._projects: dict[str, _Project] = {}

    def forget(self) -> None:
        """Call before storing events in any other way than through :meth:`unseen`."""
        self._projects.clear()

    def unseen(self, con: duckdb.DuckDBPyConnection, project: str, rows: pa.Table) -> bool:
        """Whether no event with the key of one of ``rows`` can be stored yet; either way,
        ``rows`` count as stored from now on (call just before storing them).

        ``rows`` has the duplicate rule's columns, ``time`` as a timestamp in µs.
        """
        kept = self._projects.get(project)
        if kept is None:
            kept = self._projects[project] = _started(con, project)
        rows = rows.select(list(_KEY))
        micros = rows.column("time").cast(pa.int64()).to_numpy()
        late = micros >= kept.floor
        if not late.all():  # an import's history, say: only the keys after the floor are kept
            rows, micros = rows.filter(pa.array(late)), micros[late]
        hashes, seconds = _hashes(rows, micros), (micros // _MICROS).tolist()
        unseen = bool(late.all()) and not any(key in kept.seconds.get(second, ()) for second, key in zip(seconds, hashes))
        kept.add(seconds, hashes)
        return unseen


def _started(con: duckdb.DuckDBPyConnection, project: str) -> _Project:
    """A project's hashes from now on, with those of the events already stored after now."""
    kept = _Project(floor=int(time.time() * _MICROS))
    ahead = con.sql(
        f"SELECT {', '.join(_KEY)} FROM events WHERE project = ? AND time >= make_timestamp(?)", params=[project, kept.floor]
    ).to_arrow_table()
    micros = ahead.column("time").cast(pa.int64()).to_numpy()
    kept.add((micros // _MICROS).tolist(), _hashes(ahead, micros))
    return kept


def _hashes(rows: pa.Table, micros: np.ndarray) -> list[int]:
    """Each row's key hashed (``time`` as its µs, as a key is compared)."""
    columns = [micros.tolist() if name == "time" else rows.column(name).to_pylist() for name in _KEY]
    return list(map(hash, zip(*columns)))
