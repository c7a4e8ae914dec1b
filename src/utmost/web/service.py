"""The engine's answers for the web app: the same functions the CLI uses, with reuse.

Each project gets one :class:`~utmost.backends.duckdb.ReusingBackend`: asking again with another
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

Each backend answers as of the version it was made at (``as_of``): its first question brings
the derived tables up to date, the later ones read them as they stand
(:func:`utmost.engine.maintained.readable`). A refresh per question would take the new events
in for answers that the kept steps give unchanged (10M events: 0.8-1 s a question against
0.14-0.20 s), on the cores the collector needs. Beside that, :meth:`Service.upkeep` takes the
events that arrived into the derived tables every ``refresh_every`` seconds, with nobody asking.

Every question runs on the service's own threads, which give way to the collector's
(:mod:`utmost.web.priority`): a page waits a little longer while events pour in, the
events never wait for a page.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from utmost.backends import DuckDBBackend, ReusingBackend
from utmost.engine import (
    CHANNEL,
    DEVICE_PREFIX,
    Evaluation,
    Journey,
    Options,
    Report,
    Result,
    Truth,
    attribute,
    check_question,
    evaluate,
    journey,
    keep_up,
    make_options,
    report,
)
from utmost.errors import InputError, UtmostError
from utmost.ingest import LANDING_PARAMS
from utmost.access import with_project_settings
from utmost.store import Store
from utmost.web.defaults import REFRESH_EVERY
from utmost.web.priority import lower_this_thread

#: The dashboard's first question: this conversion when it occurs, under these models.
PREFERRED_CONVERSION = "Reservation Completed"
DEFAULT_MODELS = "first_touch,last_touch,linear"
#: How many recent questions a fresh backend is warmed with.
WARM_QUESTIONS = 4
#: Questions answered at once (one at a time per project): more would only share two cores.
QUESTION_THREADS = 4
_QUESTION_THREAD = "utmost-question"
log = logging.getLogger("utmost.web")


@dataclass
class _Kept:
    version: tuple[int, int]
    backend: ReusingBackend
    built: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    recent: deque = field(default_factory=lambda: deque(maxlen=WARM_QUESTIONS))
    refreshing: bool = False
    discarded: bool = False


class Service:
    """Attribution, journeys and pickers for one open store."""

    def __init__(self, store: Store, refresh_every: float = REFRESH_EVERY) -> None:
        self.store = store
        self.refresh_every = refresh_every
        self._kept: dict[str, _Kept] = {}
        self._lock = threading.Lock()
        self._pickers: dict[tuple[str, str, tuple[int, int]], Any] = {}
        self._closed = threading.Event()  # set by close(): what runs stops, nothing new starts
        self._builds: dict[int, _Kept] = {}
        self._questions = ThreadPoolExecutor(QUESTION_THREADS, _QUESTION_THREAD, initializer=lower_this_thread)

    def version(self) -> tuple[int, int]:
        """The data version (:meth:`Store.version`): new events and deletions change it."""
        return self.store.version()

    def attribution(self, options: Options, per_conversion: bool = False) -> Result:
        return self._ask(options, lambda backend, asked: attribute(backend, asked, per_conversion))

    def report(self, options: Options) -> Report:
        """The campaign report of ``options`` (a ``report`` question: one model)."""
        return self._ask(options, lambda backend, asked: report(backend, asked))

    def journey(self, options: Options, any_id: str) -> Journey:
        return self._ask(options, lambda backend, asked: journey(backend, asked, any_id))

    def evaluation(self, options: Options, truth: Truth) -> Evaluation:
        """The models of ``options`` (an evaluation's question) scored against ``truth``."""
        return self._ask(options, lambda backend, asked: evaluate(backend, asked, truth))

    def _ask(self, options: Options, work: Any) -> Any:
        """``work(backend, options)`` on the project's kept backend, the options with the
        project's channel rules (as every question on a store)."""
        options = with_project_settings(self.store, options)

        def asked(kept: _Kept) -> Any:
            kept.recent.append(options)
            return _answer(kept.backend, options, lambda backend: work(backend, options))

        return self._using(options.project, asked)

    def _using(self, project: str, work: Any) -> Any:
        """Run ``work(kept)`` holding the project's backend (taken over by a fresh one meanwhile: retry)."""
        while True:
            kept = self._backend(project)
            with kept.lock:
                if not kept.discarded:
                    return self._lowered(work, kept)

    def _lowered(self, work: Callable[..., Any], *args: Any) -> Any:
        """``work(*args)`` on one of the questions' threads, which give way to the collector
        (at once if called on one: waiting for another could wait for itself)."""
        if threading.current_thread().name.startswith(_QUESTION_THREAD):
            return work(*args)
        try:
            pending = self._questions.submit(work, *args)
        except RuntimeError:  # shut down by close()
            raise UtmostError("the server is stopping") from None
        return pending.result()

    def _backend(self, project: str) -> _Kept:
        version = self.version()
        with self._lock:
            if self._closed.is_set():
                raise UtmostError("the server is stopping")
            kept = self._kept.get(project)
            # New events may be shown a little late (refreshed in the background); a deletion
            # never: a person deleted is gone from the next answer.
            deleted_since = kept is not None and kept.version[1] != version[1]
            if kept is None or deleted_since or (kept.version != version and (self.refresh_every <= 0 or not kept.recent)):
                if kept is not None:
                    self._discard(kept)
                kept = self._kept[project] = _Kept(version, ReusingBackend.of(self.store, as_of=version[0]))
            elif (kept.version != version and not kept.refreshing
                  and time.monotonic() - kept.built >= self.refresh_every):
                kept.refreshing = True
                threading.Thread(target=self._refresh, args=(project, kept, version), daemon=True).start()
            return kept

    def _refresh(self, project: str, old: _Kept, version: tuple[int, int]) -> None:
        """Build and warm a backend on the newest events, then let it take over from ``old``
        (on a thread of its own, which gives way to the collector as the questions do)."""
        lower_this_thread()
        with self._lock:
            if self._closed.is_set():
                return
            fresh = _Kept(version, ReusingBackend.of(self.store, as_of=version[0]))
            self._builds[id(fresh)] = fresh  # close() interrupts it too
        with old.lock:
            questions = list(old.recent)
        try:
            for options in questions:
                _answer(fresh.backend, options, lambda backend, asked=options: _with_steps(backend, asked))
        except Exception:  # the question is answered (with its error) when asked again
            pass
        fresh.recent.extend(questions)
        with self._lock:
            self._builds.pop(id(fresh), None)
            if self._closed.is_set():
                self._discard(fresh)
                return
            self._kept[project] = fresh
        self._discard(old)

    @staticmethod
    def _discard(kept: _Kept) -> None:
        with kept.lock:
            if not kept.discarded:
                kept.discarded = True
                kept.backend.discard()

    def warm(self) -> None:
        """Ask every project's first dashboard question once, so that its steps are ready: a key
        event's kept credit answers the page itself (docs/semantics.md §21), and a click to
        another scope, lookback or dates then redoes only the last steps."""
        for project in self.store.projects():
            if self._closed.is_set():
                return
            question = self.default_question(project.name)
            if question["conversion"]:
                try:
                    self._ask(make_options(project=project.name, **question), _with_steps)
                except InputError:
                    pass  # asked again, the page shows why
                except Exception:
                    if not self._closed.is_set():
                        raise
                    return  # interrupted by close()

    def upkeep(self) -> None:
        """Until :meth:`close`, every ``refresh_every`` seconds, take the events that arrived
        into each project's derived tables (on the calling thread, lowered as the questions'
        are; none with ``refresh_every=0``, where each question takes them).

        The answers still change when a fresh backend takes over, but that backend, and the
        first question after a quiet spell of the dashboard (not of the collector), then take in
        only the last seconds' events: at 10M events, the first question after 1M new events
        took 3.2 s, 0.31 s with them in. Stopped by :meth:`close` (a refresh under way, by the
        store closing)."""
        if self.refresh_every <= 0 or self.store.read_only:
            return
        lower_this_thread()
        while not self._closed.wait(self.refresh_every):
            try:
                for project in self.store.projects():
                    keep_up(DuckDBBackend.of(self.store), project.name)
            except Exception as error:
                if self._closed.is_set():
                    return  # the store closed (and interrupted it): nothing to keep
                # The next question takes the events in itself, and reports the error.
                log.warning("keeping the derived tables up to date: %s", error)

    def person(self, project: str, any_id: str, conversion: str | None = None) -> dict[str, Any]:
        """One person: merged ids, profile (merged over the ids), first and last touchpoint.

        Touchpoints as the engine counts them (reloads and UTM echoes are not touches), found
        through the journey for ``conversion`` (default: the dashboard's conversion).
        """
        question = self.default_question(project)
        options = make_options(conversion or question["conversion"], project=project)
        found = self.journey(options, any_id)
        touches = [
            {"time": e["time"], "event": e["event"], "utm_source": e["landing_source"], "session": e["session"]}
            for e in found.events.to_pylist() if e["touch"] == "touchpoint"
        ]
        profile: dict[str, Any] = {}
        for profile_id in found.ids:
            raw = profile_id.removeprefix(DEVICE_PREFIX)
            profile.update(self.store.profile("people", project, profile_id)
                           or self.store.profile("people", project, raw) or {})
        return {
            "person": found.person,
            "ids": found.ids,
            "profile": profile,
            "first_touch": touches[0] if touches else None,
            "last_touch": touches[-1] if touches else None,
        }

    def _picker(self, kind: str, project: str, read: Any) -> Any:
        """A picker's contents, read once per data version."""
        key = (kind, project, self.version())
        if key not in self._pickers:
            self._pickers = {k: v for k, v in self._pickers.items() if k[:2] != key[:2]}
            self._pickers[key] = self._lowered(read)
        return self._pickers[key]

    def default_question(self, project: str) -> dict[str, str]:
        """The question the dashboard asks first: the booking (or the rarest own event) under
        first_touch, last_touch and linear."""
        events = [n["event"] for n in self.event_names(project)]
        own = [e for e in events if not e.startswith("$")]
        if PREFERRED_CONVERSION in events:
            conversion = PREFERRED_CONVERSION
        else:
            conversion = own[-1] if own else (events[-1] if events else "")
        return {"conversion": conversion, "models": DEFAULT_MODELS}

    def event_names(self, project: str) -> list[dict[str, Any]]:
        """Every event name with its count, most frequent first (the conversion picker)."""
        return self._picker("events", project, lambda: self._event_names(project))

    def _event_names(self, project: str) -> list[dict[str, Any]]:
        return [{"event": event, "events": count} for event, count in self.store.event_counts(project)]

    def properties(self, project: str, sample: int = 100_000) -> list[str]:
        """Property names seen on the newest ``sample`` events, after ``channel`` and the landing
        columns (the --by picker)."""
        return self._picker("properties", project, lambda: self._properties(project, sample))

    def _properties(self, project: str, sample: int) -> list[str]:
        seen = self.store.property_names(project, sample)
        first = [CHANNEL, *LANDING_PARAMS]
        return first + [name for name in seen if name not in first]

    def close(self) -> None:
        """Stop what is running (a warm-up, a refresh) and drop every kept backend."""
        with self._lock:
            self._closed.set()
            kept = [*self._kept.values(), *self._builds.values()]
            self._kept.clear()
        for one in kept:
            one.backend.interrupt()
        for one in kept:
            self._discard(one)
        self._questions.shutdown(cancel_futures=True)


def _with_steps(backend: ReusingBackend, options: Options) -> Result:
    """``options`` answered with its steps made, for the questions that follow to reuse."""
    return attribute(backend, options, per_conversion=False, steps=True)


def _answer(backend: ReusingBackend, options: Options, work: Any) -> Any:
    backend.begin()
    check_question(backend, options)
    return work(backend)
