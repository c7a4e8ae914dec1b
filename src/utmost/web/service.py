"""The engine's answers for the web app: the same functions the CLI uses, with reuse.

Each project gets one :class:`~utmost.store.backend.ReusingBackend`: asking again with another
model, scope or lookback redoes only the last steps (identity and sessions, most of the time
on millions of events, are kept). Questions on one project are answered one at a time (one
backend, one cursor); projects do not wait for each other.

When events arrive (the data version, the largest ``seq`` stored, moves), answers keep coming
from the kept steps while a fresh backend is built in the background from the newest events,
warmed with the last questions asked, and then takes over — at most once every
``refresh_every`` seconds. So under a steady stream from the collector a page never waits for
the first steps on millions of events, and it is at most ``refresh_every`` plus one rebuild
behind. With ``refresh_every=0`` every change is seen at once and the next question pays the
rebuild; so is a project nobody has asked about yet.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from utmost.engine import Journey, Options, Result, attribute, check_question, journey
from utmost.store import Store
from utmost.store.backend import ReusingBackend


#: How many recent questions a fresh backend is warmed with.
WARM_QUESTIONS = 4


@dataclass
class _Kept:
    version: int
    backend: ReusingBackend
    built: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    recent: deque = field(default_factory=lambda: deque(maxlen=WARM_QUESTIONS))
    refreshing: bool = False
    discarded: bool = False


class Service:
    """Attribution, journeys and pickers for one open store."""

    def __init__(self, store: Store, refresh_every: float = 30.0) -> None:
        self.store = store
        self.refresh_every = refresh_every
        self._kept: dict[str, _Kept] = {}
        self._lock = threading.Lock()

    def version(self) -> int:
        """The data version: the newest event's ``seq`` (0 when empty)."""
        ((version,),) = self.store.reader().execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()
        return version

    def attribution(self, options: Options, per_conversion: bool = False) -> Result:
        return self._ask(options, lambda backend: attribute(backend, options, per_conversion))

    def journey(self, options: Options, any_id: str) -> Journey:
        return self._ask(options, lambda backend: journey(backend, options, any_id))

    def _ask(self, options: Options, work: Any) -> Any:
        def asked(kept: _Kept) -> Any:
            kept.recent.append(options)
            return _answer(kept.backend, options, work)

        return self._using(options.project, asked)

    def _using(self, project: str, work: Any) -> Any:
        """Run ``work(kept)`` holding the project's backend (taken over by a fresh one meanwhile: retry)."""
        while True:
            kept = self._backend(project)
            with kept.lock:
                if not kept.discarded:
                    return work(kept)

    def _backend(self, project: str) -> _Kept:
        version = self.version()
        with self._lock:
            kept = self._kept.get(project)
            if kept is None or (kept.version != version and (self.refresh_every <= 0 or not kept.recent)):
                if kept is not None:
                    self._discard(kept)
                kept = self._kept[project] = _Kept(version, self.store.backend(reusing=True))
            elif (kept.version != version and not kept.refreshing
                  and time.monotonic() - kept.built >= self.refresh_every):
                kept.refreshing = True
                threading.Thread(target=self._refresh, args=(project, kept, version), daemon=True).start()
            return kept

    def _refresh(self, project: str, old: _Kept, version: int) -> None:
        """Build and warm a backend on the newest events, then let it take over from ``old``."""
        fresh = _Kept(version, self.store.backend(reusing=True))
        with old.lock:
            questions = list(old.recent)
        try:
            for options in questions:
                _answer(fresh.backend, options, lambda backend: attribute(backend, options, False))
        except Exception:  # the question is answered (with its error) when asked again
            pass
        fresh.recent.extend(questions)
        with self._lock:
            self._kept[project] = fresh
        self._discard(old)

    @staticmethod
    def _discard(kept: _Kept) -> None:
        with kept.lock:
            kept.discarded = True
            kept.backend.discard()

    def warm(self, project: str, options: Options) -> None:
        """Answer ``options`` once so its steps are ready (the dashboard's default question)."""
        self.attribution(options)

    def person(self, project: str, any_id: str) -> dict[str, Any]:
        """One person: merged ids, profile (merged over the ids), first and last landing."""
        from utmost.campaign import LANDING_PARAMS
        from utmost.engine import queries
        from utmost.engine.run import resolve_people
        from utmost.errors import InputError

        def found(kept: _Kept) -> tuple[str, list[str], list[dict[str, Any]]]:
            backend = kept.backend
            backend.begin()
            resolve_people(backend, project)  # as the default question does: its steps are reused
            quote = backend.dialect.quote
            candidates = ", ".join(quote(i) for i in (any_id, queries.DEVICE_PREFIX + any_id))
            person = backend.scalar(
                f"SELECT min({queries.person_of()}) FROM (SELECT DISTINCT id FROM identified WHERE id IN ({candidates})) "
                "AS i LEFT JOIN persons AS p ON p.id = i.id"
            )
            if person is None:
                raise InputError(f"no person has the id {any_id!r} in project {project!r}")
            linked = backend.arrow(f"SELECT id FROM persons WHERE person = {quote(person)} ORDER BY id")
            ids = linked.column("id").to_pylist() or [person]
            touches = backend.arrow(
                f"SELECT e.time, e.event, {', '.join('e.' + k for k in LANDING_PARAMS)} FROM events AS e "
                f"JOIN identified AS i ON i.seq = e.seq WHERE e.project = {quote(project)} "
                f"AND i.id IN ({', '.join(quote(i) for i in ids)}) AND e.utm_source IS NOT NULL ORDER BY e.time, e.seq"
            ).to_pylist()
            return person, ids, touches

        person, ids, touches = self._using(project, found)
        touch = [{k: v for k, v in row.items() if v is not None} for row in touches]
        profile: dict[str, Any] = {}
        for profile_id in ids:
            raw = profile_id.removeprefix(queries.DEVICE_PREFIX)
            found = self.store.profile("people", project, profile_id) or self.store.profile("people", project, raw)
            profile.update(found or {})
        return {
            "person": person,
            "ids": ids,
            "profile": profile,
            "first_touch": touch[0] if touch else None,
            "last_touch": touch[-1] if touch else None,
        }

    def event_names(self, project: str) -> list[dict[str, Any]]:
        """Every event name with its count, most frequent first (the conversion picker)."""
        cursor = self.store.reader().execute(
            "SELECT event, count(*) AS events FROM events WHERE project = ? GROUP BY event ORDER BY events DESC, event",
            [project],
        )
        return [{"event": event, "events": count} for event, count in cursor.fetchall()]

    def properties(self, project: str, sample: int = 100_000) -> list[str]:
        """Property names seen on the newest ``sample`` events, landing columns first (the --by picker)."""
        from utmost.campaign import LANDING_PARAMS

        cursor = self.store.reader().execute(
            "SELECT DISTINCT unnest(json_keys(properties)) AS name FROM "
            "(SELECT properties FROM events WHERE project = ? ORDER BY seq DESC LIMIT ?) ORDER BY name",
            [project, sample],
        )
        seen = [name for (name,) in cursor.fetchall()]
        return list(LANDING_PARAMS) + [name for name in seen if name not in LANDING_PARAMS]

    def close(self) -> None:
        with self._lock:
            for kept in self._kept.values():
                kept.backend.discard()
            self._kept.clear()


def _answer(backend: ReusingBackend, options: Options, work: Any) -> Any:
    backend.begin()
    check_question(backend, options)
    return work(backend)
