"""The keys stored lately: a round they show nothing of skips the anti-join, and it must
never be told a key is new while an event with that key is stored."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest
from conftest import event, raw_lines

from utmost.store import recent
from utmost.store.recent import RecentKeys


@pytest.fixture
def now() -> int:
    return int(time.time())


def keys(*rows: tuple[str, float]) -> pa.Table:
    """Rows with the duplicate rule's columns: (insert_id, seconds since the epoch) each."""
    return pa.table(
        {
            "event": pa.array(["Page View"] * len(rows), pa.large_string()),
            "distinct_id": pa.array(["d1"] * len(rows), pa.large_string()),
            "time": pa.array([round(seconds * 1_000_000) for _, seconds in rows], pa.timestamp("us")),
            "insert_id": pa.array([insert_id for insert_id, _ in rows], pa.large_string()),
        }
    )


def test_keys_are_new_once_then_known(store, now):
    kept = RecentKeys()
    con = store.reader()
    assert kept.unseen(con, "default", keys(("a", now + 10), ("b", now + 11)))
    assert not kept.unseen(con, "default", keys(("c", now + 12), ("a", now + 10)))  # a again
    assert not kept.unseen(con, "default", keys(("c", now + 12)))  # told of c just before
    assert kept.unseen(con, "default", keys(("a", now + 13)))  # another time: another key
    assert kept.unseen(con, "other", keys(("a", now + 10)))  # another project


def test_a_key_dated_before_the_floor_is_never_called_new(store, now):
    """The floor is the moment a project was first asked about: what is older may be stored."""
    kept = RecentKeys()
    con = store.reader()
    assert kept.unseen(con, "default", keys(("a", now + 10)))
    for _ in range(2):
        assert not kept.unseen(con, "default", keys(("b", now - 10), ("c", now + 10)))


@pytest.mark.parametrize("forgotten", [False, True], ids=["from the start", "after forget"])
def test_events_stored_ahead_of_the_clock_are_read_from_the_table(store, now, forgotten):
    """A client clock running ahead stored an event after the floor-to-be."""
    kept = RecentKeys()
    con = store.reader()
    if forgotten:
        assert kept.unseen(con, "default", keys(("x", now + 5)))
    store.insert_lines("default", raw_lines([event(time=now + 3600, **{"$insert_id": "ahead"})])).result()
    kept.forget()
    assert not kept.unseen(con, "default", keys(("ahead", now + 3600)))
    assert kept.unseen(con, "default", keys(("other", now + 3600)))


def test_the_earliest_seconds_go_when_too_many_are_kept_and_the_floor_follows(store, now, monkeypatch):
    monkeypatch.setattr(recent, "KEPT", 4)
    kept = RecentKeys()
    con = store.reader()
    for n in range(4):
        assert kept.unseen(con, "default", keys((f"k{n}", now + 10 + n)))
    assert kept.unseen(con, "default", keys(("k4", now + 14.5), ("k5", now + 14.7)))  # 6 kept: 2 seconds go
    assert not kept.unseen(con, "default", keys(("new", now + 11.9)))  # below the floor now
    assert not kept.unseen(con, "default", keys(("k2", now + 12)))  # still kept
    assert kept.unseen(con, "default", keys(("new", now + 12.5)))
