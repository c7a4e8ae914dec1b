"""Deleting a person: every event of every id merged into them, their links and profiles, and
nothing of anyone else's (docs/semantics.md §2 says who a person is)."""

from __future__ import annotations

import pytest
from conftest import raw_lines, stored
from engine.journeys import DAY, book, identify, land, server

from utmost.api import answer
from utmost.engine import delete_person, make_options
from utmost.errors import InputError
from utmost.store import Store, compact

SECRET = "maya-private-7f3a"


def maya_and_tom() -> list[dict]:
    """Maya: her phone p1 lands from the newsletter; her laptop l7 signs in as maya@x from google;
    the phone signs in; she books; her CRM id is aliased to her, and an old id merged with her
    (by a $merge that names nobody's id of its own). Tom: device t1, from tiktok, books."""
    return [
        land(0, "newsletter", dev="p1", note=SECRET),  # 1 $device:p1
        land(DAY, "tiktok", dev="t1"),  # 2 Tom
        land(2 * DAY, "google", dev="l7", user="maya@x"),  # 3 maya@x, links $device:l7
        identify(4 * DAY, "p1", "maya@x"),  # 4 maya@x, links $device:p1
        book(4 * DAY + 60, user="maya@x", dev="p1", amount=120),  # 5 maya@x
        book(DAY + 60, dev="t1", amount=50),  # 6 Tom
        server("$create_alias", 5 * DAY, "maya@x", alias="crm-17"),  # 7 maya@x, links crm-17
        server("$merge", 6 * DAY, "merger", **{"$distinct_ids": ["maya-old", "maya@x"]}),  # 8 names "merger"
    ]


@pytest.fixture
def filled(store: Store) -> Store:
    assert store.insert_lines("default", raw_lines(maya_and_tom())).result().inserted == 8
    store.update_profiles("people", "default", [
        (("maya@x",), "$set", {"name": "Maya"}),
        (("p1",), "$set", {"phone": "yes"}),  # a device's profile, under the id the SDK sent
        (("$device:t1",), "$set", {"name": "Tom"}),
    ])
    return store


def test_every_id_of_the_person_goes_and_nothing_of_anyone_else(filled):
    deleted = delete_person(filled, "default", "p1")  # a device id, without the prefix
    assert deleted.person == "maya@x"
    assert deleted.ids == ["$device:l7", "$device:p1", "crm-17", "maya-old", "maya@x"]
    assert (deleted.events, deleted.profiles) == (6, 2)  # events 1, 3, 4, 5, 7, 8; maya@x's and p1's profiles
    assert [row["seq"] for row in stored(filled, "seq")] == [2, 6]  # Tom's
    assert filled.profile("people", "default", "$device:t1") == {"name": "Tom"}
    assert filled.profile("people", "default", "maya@x") is None


def test_attribution_forgets_the_person_at_once(filled):
    question = make_options("Reservation Completed", models="first_touch")
    before = answer(filled, question).totals.to_pylist()
    assert [(r["utm_source"], r["conversions"], r["revenue"]) for r in before] == [
        ("newsletter", 1.0, 120.0), ("tiktok", 1.0, 50.0)]
    delete_person(filled, "default", "crm-17")  # any id of hers will do
    after = answer(filled, question).totals.to_pylist()
    assert [(r["utm_source"], r["conversions"], r["revenue"]) for r in after] == [("tiktok", 1.0, 50.0)]


def test_an_id_nobody_has_is_not_found(filled):
    with pytest.raises(InputError, match="no person has the id 'nobody' in project 'default'"):
        delete_person(filled, "default", "nobody")
    assert len(stored(filled)) == 8


def test_compact_leaves_nothing_of_them_in_the_file(tmp_path):
    """A checkpoint frees the deleted rows' blocks but may leave their bytes; compact does not."""
    path = tmp_path / "db.duckdb"
    lines = [land(n, "newsletter", dev="p1", note=f"{SECRET}-{n}") for n in range(2000)]
    with Store(path) as store:
        store.insert_lines("default", raw_lines([*lines, *maya_and_tom()[1:2]])).result()
    assert SECRET.encode() in path.read_bytes()  # the check can see it
    with Store(path) as store:
        assert delete_person(store, "default", "$device:p1").events == 2000
    before, after = compact(path)
    assert after == path.stat().st_size > 0 and before > 0
    assert SECRET.encode() not in path.read_bytes()
    with Store(path) as store:
        assert [row["distinct_id"] for row in stored(store, "distinct_id")] == ["$device:t1"]
        assert store.project().name == "default"  # projects and their keys came along
