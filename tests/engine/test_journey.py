"""``utmost journey``: one person's merged ids, sessions, and why each touch counted or not."""

from __future__ import annotations

import orjson
import pytest
from conftest import raw_lines
from engine.journeys import DAY, book, identify, land, page
from test_cli import utmost as run_cli

import utmost
from utmost.errors import InputError
from utmost.store import Store

EVENTS = [
    land(0, "tiktok", dev="laptop"),  # 40 days before the booking: outside the window
    land(39 * DAY, "google", dev="laptop"),
    land(39 * DAY + 5, "google", dev="laptop"),  # a reload: the same click
    page(39 * DAY + 60, dev="laptop", utm_source="google"),  # an echo, not a click
    identify(39 * DAY + 90, "laptop", "user-7"),
    land(40 * DAY, "facebook", dev="phone"),
    identify(40 * DAY + 30, "phone", "user-7"),
    book(40 * DAY + 60, "user-7", dev="phone", amount=300),
]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "j.duckdb"
    with Store(path) as store:
        store.project()  # as import does: a read creates no project
        store.insert_lines("default", raw_lines(EVENTS)).result()
    return path


@pytest.mark.parametrize("any_id", ["user-7", "laptop", "$device:phone"])
def test_any_id_finds_the_person(db, any_id):
    path = utmost.journey(any_id, "Reservation Completed", db=db, models="first_touch,linear")
    assert path.person == "user-7"
    assert path.ids == ["$device:laptop", "$device:phone", "user-7"]
    assert path.sessions.column("session").to_pylist() == [1, 2, 3]


def test_why_each_touch_counted_or_not(db):
    path = utmost.journey("user-7", "Reservation Completed", db=db, models="first_touch,linear")
    roles = [(e["event"], e["landing_source"], (e["touch"] or "").split(":")[0]) for e in path.events.to_pylist()]
    assert roles == [
        ("Page View", "tiktok", "touchpoint"),
        ("Page View", "google", "touchpoint"),
        ("Page View", "google", "dropped"),
        ("Page View", None, "ignored"),
        ("$identify", None, ""),
        ("Page View", "facebook", "touchpoint"),
        ("$identify", None, ""),
        ("Reservation Completed", None, ""),
    ]
    assert [(t["utm_source"], t["status"]) for t in path.touches.to_pylist()] == [
        ("tiktok", "outside the lookback window"), ("google", "counted"), ("facebook", "counted")]
    credits = {(c["model"], c["utm_source"]): (c["credit"], c["revenue"]) for c in path.credits.to_pylist()}
    assert credits == {("first_touch", "google"): (1.0, 300.0), ("linear", "google"): (0.5, 150.0),
                       ("linear", "facebook"): (0.5, 150.0)}


def test_session_scope_names_the_other_session(db):
    path = utmost.journey("user-7", "Reservation Completed", db=db, models="last_touch", scope="session")
    assert [t["status"] for t in path.touches.to_pylist()] == [
        "outside the lookback window", "another session than the conversion's", "counted"]


def test_unknown_id(db):
    with pytest.raises(InputError, match="no person has the id 'nobody'"):
        utmost.journey("nobody", "Reservation Completed", db=db)


def test_cli_journey_json_and_table(db):
    result = run_cli("journey", "laptop", "--db", str(db), "--conversion", "Reservation Completed",
                     "--format", "json", cwd=db.parent)
    assert result.returncode == 0, result.stderr
    document = orjson.loads(result.stdout)
    assert document["person"] == "user-7" and len(document["credits"]) == 1 + 1 + 1 + 8 * 2 + 1  # first, last, last non-direct: 1 key; others 2
    # incremental splits the one conversion between the baseline and what caused it: 1 in all
    assert sum(c["credit"] for c in document["credits"] if c["model"] == "incremental") == pytest.approx(1.0)
    table = run_cli("journey", "user-7", "--db", str(db), "--conversion", "Reservation Completed", cwd=db.parent)
    assert "outside the lookback window" in table.stdout and "u_shaped" in table.stdout
