"""Canonical events (docs/semantics.md §1): time units, duplicates, and every kind of bad line."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import event, raw_lines, stored

from utmost.ingest.events import MAX_EVENT_BYTES, MAX_PROPERTIES

UTC = dt.timezone.utc


def ingest(store, records):
    return store.insert_lines("default", raw_lines(records)).result()


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (1_700_000_000, dt.datetime(2023, 11, 14, 22, 13, 20)),
        (1_700_000_000.25, dt.datetime(2023, 11, 14, 22, 13, 20, 250000)),
        (1795891343.041, dt.datetime(2026, 11, 28, 18, 42, 23, 41000)),
        (1_700_000_000_250, dt.datetime(2023, 11, 14, 22, 13, 20, 250000)),
        (99_999_999_999, dt.datetime(5138, 11, 16, 9, 46, 39)),  # below 1e11: seconds
        (100_000_000_001, dt.datetime(1973, 3, 3, 9, 46, 40, 1000)),  # above it: milliseconds
        (0, dt.datetime(1970, 1, 1)),
    ],
)
def test_time_units(store, sent, expected):
    ingest(store, [event(time=sent)])
    assert stored(store, "time") == [{"time": expected}]


def test_same_instant_in_seconds_and_milliseconds_is_one_event(store):
    result = ingest(store, [event(time=1795891343.041, **{"$insert_id": "a1"}), event(time=1795891343041, **{"$insert_id": "a1"})])
    assert (result.valid, result.inserted, result.duplicates) == (2, 1, 1)


def test_duplicate_rule_is_project_event_distinct_id_time_insert_id(store):
    base = dict(time=1_700_000_000, **{"$insert_id": "x"})
    records = [
        event("A", distinct_id="d1", **base),
        event("A", distinct_id="d1", **base),  # duplicate
        event("B", distinct_id="d1", **base),  # other event name
        event("A", distinct_id="d2", **base),  # other person
        event("A", distinct_id="d1", time=1_700_000_001, **{"$insert_id": "x"}),  # other time
        event("A", distinct_id="d1", time=1_700_000_000, **{"$insert_id": "y"}),  # other insert id
    ]
    assert ingest(store, records).inserted == 5
    other = store.create_project("other")
    assert store.insert_lines(other.name, raw_lines(records[:1])).result().inserted == 1


def test_the_later_copy_is_dropped(store):
    ingest(store, [event(**{"$insert_id": "x", "copy": 1}), event(**{"$insert_id": "x", "copy": 2})])
    assert [row["properties"] for row in stored(store, "properties->>'copy' AS properties")] == ["1"]


def test_missing_insert_id_is_derived_from_content(store):
    a = event(plan="a")
    result = ingest(store, [a, a, event(plan="b")])
    assert (result.inserted, result.duplicates) == (2, 1)
    ids = [row["insert_id"] for row in stored(store, "insert_id")]
    assert len(set(ids)) == 2 and all(len(i) == 32 for i in ids)


def test_merge_needs_no_distinct_id(store):
    merge = {"event": "$merge", "properties": {"time": 1_700_000_000, "$distinct_ids": ["a", "b"]}}
    assert ingest(store, [merge, merge]).inserted == 1
    assert stored(store, "event, distinct_id") == [{"event": "$merge", "distinct_id": None}]


def test_columns_are_read_from_properties(store):
    ingest(store, [event(distinct_id="user-1", **{
        "$device_id": "dev", "$user_id": "user-1", "$insert_id": "i-1", "$current_url": "https://h.example/",
        "$referrer": "https://www.google.com/", "$referring_domain": "www.google.com"})])
    (row,) = stored(store, "distinct_id, device_id, user_id, insert_id, current_url, referrer, referring_domain, seq")
    assert row == {"distinct_id": "user-1", "device_id": "dev", "user_id": "user-1", "insert_id": "i-1",
                   "current_url": "https://h.example/", "referrer": "https://www.google.com/",
                   "referring_domain": "www.google.com", "seq": 1}


def test_seq_follows_arrival_order_across_batches(store):
    ingest(store, [event(time=3), event(time=1)])
    ingest(store, [event(time=2)])
    assert [r["t"] for r in stored(store, "epoch(time)::INT AS t")] == [3, 1, 2]


def _props(n: int) -> dict:
    return {"event": "E", "properties": {"time": 1, "distinct_id": "d", **{f"p{i}": i for i in range(n - 2)}}}


BAD_LINES = [
    (b"{bad", "invalid JSON"),
    (b'{"event": "E", "properties": {"time": 1 "x": 2}}', "invalid JSON"),
    (b'{"event": "E", "properties": {"time": 1, "distinct_id": "d"}', "invalid JSON"),
    (b"\xff\xfe{}", "not valid UTF-8"),
    (b"[1, 2]", "not a JSON object"),
    (b'"E"', "not a JSON object"),
    (b'{"properties": {"time": 1, "distinct_id": "d"}}', 'missing "event"'),
    (b'{"event": null, "properties": {"time": 1, "distinct_id": "d"}}', 'missing "event"'),
    (b'{"event": "", "properties": {"time": 1, "distinct_id": "d"}}', 'empty "event"'),
    (b'{"event": 5, "properties": {"time": 1, "distinct_id": "d"}}', '"event" is not a string'),
    (b'{"event": "E"}', 'missing "properties"'),
    (b'{"event": "E", "properties": [1]}', '"properties" is not an object'),
    (b'{"event": "E", "properties": "x"}', '"properties" is not an object'),
    (b'{"event": "E", "properties": {"distinct_id": "d"}}', 'missing "properties.time"'),
    (b'{"event": "E", "properties": {"time": null, "distinct_id": "d"}}', 'missing "properties.time"'),
    (b'{"event": "E", "properties": {"time": "1700000000", "distinct_id": "d"}}', '"properties.time" is not a number'),
    (b'{"event": "E", "properties": {"time": "soon", "distinct_id": "d"}}', '"properties.time" is not a number'),
    (b'{"event": "E", "properties": {"time": -5, "distinct_id": "d"}}', '"properties.time" is out of range: -5'),
    (b'{"event": "E", "properties": {"time": 1e300, "distinct_id": "d"}}', '"properties.time" is out of range: 1e300'),
    (b'{"event": "E", "properties": {"time": 1}}', 'missing "properties.distinct_id"'),
    (b'{"event": "E", "properties": {"time": 1, "distinct_id": ""}}', 'missing "properties.distinct_id"'),
    (b'{"event": "E", "properties": {"time": 1, "distinct_id": {"a": 1}}}', '"properties.distinct_id" is not a string'),
    (b'{"event": "E", "properties": {"time": 1, "distinct_id": "d", "$insert_id": 12}}', '"properties.$insert_id" is not a string'),
    (b'{"event": "E", "properties": {"time": 1, "distinct_id": "d", "$insert_id": "' + b"a" * 37 + b'"}}',
     '"properties.$insert_id" is 37 characters long (at most 36)'),
    (b'{"event": "E", "properties": {"time": 1, "distinct_id": "d", "$insert_id": "a b"}}',
     '"properties.$insert_id" may hold only letters, digits and "-"'),
    (b'{"event": "E", "properties": {"time": 1, "distinct_id": "d", "$insert_id": "caf\xc3\xa9"}}',
     '"properties.$insert_id" may hold only letters, digits and "-"'),
]


@pytest.mark.parametrize(("line", "reason"), BAD_LINES)
def test_bad_line_reasons(store, line, reason):
    valid = event(**{"$insert_id": "ok-1"})
    result = ingest(store, [valid, line, valid | {"event": "Other"}])
    assert result.rejections == [(2, reason)]
    assert (result.rejected, result.inserted) == (1, 2)


def test_property_limit(store):
    result = ingest(store, [_props(MAX_PROPERTIES), _props(MAX_PROPERTIES + 1)])
    assert result.rejections == [(2, f"{MAX_PROPERTIES + 1} properties (at most {MAX_PROPERTIES})")]


def test_size_limit(store):
    big = event(blob="x" * (MAX_EVENT_BYTES - 100))
    huge = event(blob="x" * MAX_EVENT_BYTES)
    result = ingest(store, [big, huge])
    assert result.inserted == 1
    ((line, reason),) = result.rejections
    assert line == 2 and reason.startswith("event is ") and reason.endswith(f"bytes (at most {MAX_EVENT_BYTES})")


def test_blank_lines_are_skipped_not_rejected(store):
    result = ingest(store, [b"", b"  \r", event()])
    assert (result.valid, result.rejected) == (1, 0)


def test_insert_id_limits_accept_36_letters_digits_dashes(store):
    assert ingest(store, [event(**{"$insert_id": "A-" + "9" * 34})]).inserted == 1
