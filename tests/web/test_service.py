"""How the web service reuses steps, and how it sees new events (tests/engine builders)."""

from __future__ import annotations

import os
import threading
import time

import pytest
from conftest import needs_thread_priorities, raw_lines
from engine.journeys import DAY, book, land

from utmost.backends import ReusingBackend
from utmost.engine import make_options
from utmost.errors import UtmostError
from utmost.store import Store
from utmost.web.priority import LOWER_NICE
from utmost.web.service import Service

QUESTION = make_options("Reservation Completed", models="last_touch")


def credited(service: Service) -> dict:
    return {r["utm_source"]: r["conversions"] for r in service.attribution(QUESTION).totals.to_pylist()}


def test_every_change_is_seen_at_once_with_refresh_every_0(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        store.insert_lines("default", raw_lines([land(0, "newsletter"), book(60)])).result()
        service = Service(store, refresh_every=0)
        assert credited(service) == {"newsletter": 1.0}
        store.insert_lines("default", raw_lines([land(DAY, "google", dev="d2"), book(DAY + 60, dev="d2")])).result()
        assert credited(service) == {"newsletter": 1.0, "google": 1.0}


def test_new_events_are_picked_up_by_a_background_refresh(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        store.insert_lines("default", raw_lines([land(0, "newsletter"), book(60)])).result()
        service = Service(store, refresh_every=0.5)
        assert credited(service) == {"newsletter": 1.0}
        store.insert_lines("default", raw_lines([land(DAY, "google", dev="d2"), book(DAY + 60, dev="d2")])).result()
        assert credited(service) == {"newsletter": 1.0}  # the kept steps, until the refresh is due
        time.sleep(0.6)
        assert credited(service) == {"newsletter": 1.0}  # due: rebuilt in the background meanwhile
        deadline = time.monotonic() + 30
        while credited(service) != {"newsletter": 1.0, "google": 1.0}:
            assert time.monotonic() < deadline, "the refresh never took over"
            time.sleep(0.05)


def state(store: Store) -> list[tuple]:
    """What the derived tables hold: (project, highest seq, events)."""
    return store.reader().execute("SELECT project, seq, events FROM derived_state").fetchall()


def test_questions_leave_the_derived_tables_to_the_refresh_that_shows_them(tmp_path):
    """An answer from the kept steps takes nothing new into the derived tables: the background
    refresh, which makes the answers that show new events, does."""
    with Store(tmp_path / "s.duckdb") as store:
        store.insert_lines("default", raw_lines([land(0, "newsletter"), book(60)])).result()
        service = Service(store, refresh_every=0.5)
        assert credited(service) == {"newsletter": 1.0}
        first = state(store)
        store.insert_lines("default", raw_lines([land(DAY, "google", dev="d2"), book(DAY + 60, dev="d2")])).result()
        assert credited(service) == {"newsletter": 1.0}
        assert state(store) == first
        time.sleep(0.6)
        deadline = time.monotonic() + 30
        while credited(service) != {"newsletter": 1.0, "google": 1.0}:
            assert time.monotonic() < deadline, "the refresh never took over"
            time.sleep(0.05)
        assert state(store) == [("default", store.version()[0], 4)]


def test_the_upkeep_keeps_the_derived_tables_up_to_date_with_nobody_asking(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        store.project()  # the collector's events come to a project that exists
        service = Service(store, refresh_every=0.1)
        upkeep = threading.Thread(target=service.upkeep, daemon=True)
        upkeep.start()
        try:
            for events, held in (([land(0, "newsletter"), book(60)], 2),
                                 ([land(DAY, "google", dev="d2"), book(DAY + 60, dev="d2")], 4)):
                store.insert_lines("default", raw_lines(events)).result()
                deadline = time.monotonic() + 30
                while state(store) != [("default", store.version()[0], held)]:
                    assert time.monotonic() < deadline, state(store)
                    time.sleep(0.02)
        finally:
            service.close()
        upkeep.join(timeout=10)
        assert not upkeep.is_alive()
    with Store(tmp_path / "s.duckdb") as store:  # with every question taking the events, none
        service = Service(store, refresh_every=0)
        started = time.monotonic()
        service.upkeep()
        assert time.monotonic() - started < 1


def test_steps_are_reused_and_answers_equal_a_fresh_backend(tmp_path):
    """Going back to an earlier question builds nothing new, and every answer is the fresh one."""
    from utmost.api import answer
    from utmost.engine import attribute

    events = [land(0, "newsletter", utm_medium="email"), book(60),
              land(DAY, "google", dev="d2", utm_medium="cpc"), book(DAY + 60, dev="d2")]
    questions = [make_options("Reservation Completed", models="linear"),
                 make_options("Reservation Completed", models="linear", by="utm_medium"),
                 make_options("Reservation Completed", models="linear", scope="session")]
    with Store(tmp_path / "s.duckdb") as store:
        store.insert_lines("default", raw_lines(events)).result()
        backend = ReusingBackend.of(store)
        built = []
        for options in (*questions, *questions):
            backend.begin()
            got = attribute(backend, options, per_conversion=False).totals
            assert got == answer(store, options, per_conversion=False).totals
            built.append(len(backend._kept))
        assert built[0] < built[1] < built[2] and built[3:] == [built[2]] * 3
        backend.discard()


def test_a_question_by_another_landing_property_keeps_the_sessions_and_conversions(tmp_path):
    """Sessions carry utm_source alone (the other landing keys are read from the touchpoints'
    events), so asking by utm_medium, then utm_campaign, after utm_source redoes the steps from
    the touchpoints on, not ``sessions`` or ``conversions``: at 10M events ~0.7 s of ~2.3."""
    from utmost.api import answer
    from utmost.engine import attribute

    events = [land(0, "newsletter", utm_medium="email", utm_campaign="spring"), book(60),
              land(DAY, "google", dev="d2", utm_medium="cpc"), book(DAY + 60, dev="d2")]
    with Store(tmp_path / "s.duckdb") as store:
        store.insert_lines("default", raw_lines(events)).result()
        backend = ReusingBackend.of(store)
        for by in ("utm_source", "utm_medium", "utm_campaign"):
            options = make_options("Reservation Completed", models="first_touch", by=by)
            backend.begin()
            got = attribute(backend, options, per_conversion=False, steps=True).totals.to_pylist()
            assert got == answer(store, options, per_conversion=False).totals.to_pylist()
        assert {r[by] for r in got} == {"spring", "(not set)"}
        assert [len(backend._recent[step]) for step in ("sessions", "conversions", "touchpoints", "attributable")] \
            == [1, 1, 3, 3]
        backend.discard()


def test_a_put_table_is_kept_by_its_rows_not_only_by_its_name(tmp_path):
    """Two questions may put different rows under the same name after the same steps (Markov's
    shares of each path at order 1 and at order 2): the second must read its own rows."""
    import pyarrow as pa

    with Store(tmp_path / "s.duckdb") as store:
        backend = ReusingBackend.of(store)
        for shares in ([0.25, 0.75], [0.5, 0.5], [0.25, 0.75]):
            backend.begin()
            backend.put("shares", pa.table({"key": ["A", "B"], "share": shares}))
            assert backend.arrow("SELECT share FROM shares ORDER BY key").column("share").to_pylist() == shares
        assert len(backend._kept) == 2  # the third put found the first's rows kept
        backend.discard()


@needs_thread_priorities
def test_questions_are_answered_on_threads_that_give_way_to_the_collector(tmp_path):
    def question_threads() -> dict[int, int]:
        """The questions' threads (of every service alive in this process) and their nice values."""
        return {t.native_id: os.getpriority(os.PRIO_PROCESS, t.native_id)
                for t in threading.enumerate() if t.name.startswith("utmost-question") and t.native_id}

    with Store(tmp_path / "s.duckdb") as store:
        store.insert_lines("default", raw_lines([land(0, "newsletter"), book(60)])).result()
        service = Service(store, refresh_every=0)
        before = question_threads()
        assert credited(service) == {"newsletter": 1.0}
        assert sorted(n["event"] for n in service.event_names("default")) == ["Page View", "Reservation Completed"]
        started = {tid: nice for tid, nice in question_threads().items() if tid not in before}
        assert started and set(started.values()) == {LOWER_NICE}
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < LOWER_NICE  # the caller's is its own
        service.close()
        with pytest.raises(UtmostError, match="stopping"):  # a picker not read yet
            service.properties("default")
