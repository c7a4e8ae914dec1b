"""How the web service reuses steps, and how it sees new events (tests/engine builders)."""

from __future__ import annotations

import time

from utmost.engine import make_options
from utmost.store import Store
from utmost.web.service import Service

from conftest import raw_lines
from engine.journeys import DAY, book, land

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
