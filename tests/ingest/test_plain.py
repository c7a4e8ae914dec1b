"""The fast path (``plain.decode_lines``) against the ingest query it shortcuts.

Differential: every line the fast path takes must come out of :func:`normalise_sql` valid
and with exactly the same columns; lines it declines are the query's alone. A fast path
that declined everything would pass that, so the SDKs' own events must be taken.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from urllib.parse import quote

import duckdb
import orjson
import pyarrow as pa
import pytest
from conftest import event, raw_lines, stored
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utmost.ingest import plain
from utmost.ingest.campaign import LANDING_PARAMS
from utmost.ingest.events import MAX_EVENT_BYTES, MAX_PROPERTIES, normalise_sql
from utmost.ingest.plain import PLAIN_COLUMNS, decode_lines
from utmost.ingest.sources import Source
from utmost.store.inserts import register_functions

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mixpanel-wire"
EPOCH = dt.datetime(1970, 1, 1)


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    register_functions(connection)
    yield connection
    connection.close()


def file_lines(lines: list) -> pa.Table:
    """``lines`` as an import reads them from a JSONL file: each with its newline."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lines.jsonl"
        path.write_bytes(b"".join(line + b"\n" for line in raw_lines(lines).column("line").to_pylist()))
        return pa.concat_tables(chunk.lines for chunk in Source(path, "line").chunks())


def judged_by_query(con, lines: list | pa.Table) -> list[dict]:
    con.register("raw_lines", lines if isinstance(lines, pa.Table) else raw_lines(lines))
    try:
        cursor = con.execute(normalise_sql("raw_lines") + " ORDER BY lineno", ["p"])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.unregister("raw_lines")


def taken(lines: list | pa.Table) -> dict[int, dict]:
    """The rows the fast path gives, by the 0-based index of their line."""
    table = lines if isinstance(lines, pa.Table) else raw_lines(lines)
    rows, index = decode_lines(table.column("line"))
    return dict(zip(index.tolist(), rows.to_pylist()))


def assert_same_as_query(con, lines: list) -> int:
    """Check every line the fast path takes, as the collector and as a file hand it over.

    Returns how many it took; both ways must take the same lines.
    """
    counts = []
    for table in (raw_lines(lines), file_lines(lines)):
        fast = taken(table)
        judged = judged_by_query(con, table) if fast else []
        blank = [n for n, line in enumerate(table.column("line").to_pylist()) if not line.strip()]
        assert not set(fast) & set(blank)
        # The query skips blank lines; number its rows as the lines they came from.
        judged = dict(zip([n for n in range(len(lines)) if n not in blank], judged))
        for n, row in fast.items():
            assert judged[n]["reason"] is None, (lines[n], judged[n]["reason"])
            expected = {name: judged[n][name] for name in PLAIN_COLUMNS}
            expected["properties"] = json.loads(expected["properties"])
            row["properties"] = json.loads(row["properties"])
            assert row == expected, lines[n]
        counts.append(sorted(fast))
    assert counts[0] == counts[1]
    return len(counts[0])


# Records near the fast path's edges: mostly what it takes, sometimes the wrong type or value.
_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
_small = st.integers(-(2**31), 2**31)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False, allow_infinity=False), _text)
_value = st.one_of(_scalar, st.lists(_small, max_size=2), st.dictionaries(_text, _small, max_size=2))


def mostly(good, bad=_value):
    return st.integers(0, 9).flatmap(lambda n: good if n < 9 else bad)


_times = mostly(
    st.one_of(st.floats(0, 2e9), st.integers(0, 2**40), st.floats(1e11, 2e12), st.integers(99_999_999_000, 100_000_001_000)),
    st.one_of(st.floats(1e13, 1e15), st.floats(-10, 10), _value),
)
_param_values = st.one_of(st.sampled_from(["newsletter", "spring sale", "", "A%20B", "x+y", "%E2%82%AC", "%ZZ"]), _text)


@st.composite
def _urls(draw) -> str:
    pairs = draw(st.lists(st.tuples(st.sampled_from([*LANDING_PARAMS, "UTM_SOURCE", "page"]), _param_values), max_size=4))
    query = "&".join(f"{key}={value if '%' in value else quote(value)}" for key, value in pairs)
    return draw(st.sampled_from(["https://hotel.example/", "https://hotel.example/rooms", ""])) + (
        f"?{query}" if draw(st.booleans()) else "") + draw(st.sampled_from(["", "#top", "#a?utm_source=frag"]))


_strings = st.sampled_from(["spring", "", "u1", "$device:abc", "Ünïcode €", "a\x00b"])


@st.composite
def records(draw) -> dict:
    properties = {}
    optional = {
        "time": _times, "distinct_id": mostly(_strings), "$insert_id": mostly(st.from_regex(r"[A-Za-z0-9-]{0,40}", fullmatch=True)),
        "$device_id": mostly(_strings), "$user_id": mostly(_strings), "$current_url": mostly(st.one_of(_urls(), st.just(""), st.none())),
        "$referrer": mostly(_strings), "$referring_domain": mostly(_strings),
        **{key: mostly(_strings) for key in LANDING_PARAMS[:3] + ("gclid",)},
        "amount": _value,
    }
    for key, strategy in optional.items():
        if draw(st.integers(0, 9)) < 8 or key in ("time", "distinct_id", "$insert_id"):
            properties[key] = draw(strategy)
    name = draw(mostly(st.sampled_from(["Page View", "Page View", "Reservation Completed", "$merge", ""])))
    record = {"event": name, "properties": properties}
    if draw(st.integers(0, 9)) == 0:
        record["ip"] = draw(_value)  # the Python SDK's /import records carry one
    return record


@st.composite
def lines(draw) -> bytes:
    """A record as a line: mostly compact, sometimes spelt differently or broken."""
    record = draw(records())
    spelling = draw(st.integers(0, 39))
    if spelling == 0:
        return json.dumps(record, indent=1).replace("\n", " ").encode() + b"\r"  # spaces, CRLF
    if spelling == 1:
        return json.dumps(record).encode()  # \uXXXX escapes instead of UTF-8
    if spelling == 2:
        return orjson.dumps(record).replace(b"}", b"} x", 1)  # trailing text: invalid JSON
    if spelling == 3:
        return draw(st.sampled_from([b"", b"  ", b"[1]", b"\xff", b'{"event":"\xff","properties":{}}']))
    if spelling == 4:  # invalid UTF-8 where the decoder only skips
        return orjson.dumps(record).replace(b'"time"', b'"\xfe":1,"time"', 1)
    return orjson.dumps(record)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(lines(), min_size=1, max_size=25))
def test_the_fast_path_gives_exactly_what_the_query_gives(con, batch):
    assert_same_as_query(con, batch)


def test_the_sdks_events_all_take_the_fast_path(con):
    records = []
    for path in sorted(FIXTURES.glob("*.jsonl")):
        for captured in map(json.loads, path.read_text().splitlines()):
            if captured["path"].strip("/") in ("track", "import") and captured["method"] != "OPTIONS":
                payload = captured["decoded"]["payload"]
                records += payload if isinstance(payload, list) else [payload]
    # Left to the query, as they should be: $merge, and the Python SDK's alias (no $insert_id).
    records = [r for r in records if r["event"] != "$merge" and "$insert_id" in r["properties"]]
    assert len(records) >= 50
    assert assert_same_as_query(con, records) == len(records)


@pytest.mark.parametrize(
    "record",
    [
        event(**{"$insert_id": "a" * 37}),  # too long: the query reports it
        event(**{"$insert_id": ""}),  # valid, but kept as the query keeps it
        event(),  # no $insert_id: the query derives one
        {"event": "$merge", "properties": {"$distinct_ids": ["a", "b"], "time": 1_700_000_000, "$insert_id": "m"}},
        event(distinct_id=7, **{"$insert_id": "n"}),  # a number where text is read
        event(**{"$insert_id": "i", "$current_url": 5}),
        event(**{"$insert_id": "i", "utm_source": 5}),
        event(time=True, **{"$insert_id": "i"}),
        event(time=1e15, **{"$insert_id": "i"}),
        event(**{"$insert_id": "i", **{f"p{n}": n for n in range(MAX_PROPERTIES)}}),
        {"event": "Page View", "properties": [1]},
    ],
)
def test_unusual_records_are_left_to_the_query(record):
    assert not taken([record])


def test_a_line_over_the_size_limit_is_left_to_the_query(con):
    # The Python SDK sends "ip" beside event and properties: other keys count towards a line.
    properties = {"distinct_id": "d", "time": 1_700_000_000, "$insert_id": "i", "big": "x" * (MAX_EVENT_BYTES - 200)}
    near = {"event": "Page View", "properties": properties, "ip": 0}
    over = {**near, "padding": "y" * 300}
    assert len(orjson.dumps(near)) <= MAX_EVENT_BYTES < len(orjson.dumps(over))
    assert list(taken([near, over])) == [0]
    reasons = [row["reason"] for row in judged_by_query(con, [near, over])]
    assert reasons == [None, f"event is {len(orjson.dumps(over))} bytes (at most {MAX_EVENT_BYTES})"]


def test_rounding_is_half_away_from_zero_as_the_query_rounds(con):
    halves = [event(time=t, **{"$insert_id": f"h{n}"}) for n, t in enumerate([1.0000005, 1.0000015, 0.0000025, 1_700_000_000_000.5])]
    assert assert_same_as_query(con, halves) == len(halves)


def test_plain_and_queried_records_share_one_order_and_one_duplicate_rule(store):
    # 1 and 3 are the same event; 3 is plain, 1 needs the query (no $insert_id is derived, so
    # give both an id and make 1 unusual with a numeric device id): the first copy is kept.
    first = event(time=1_700_000_000, **{"$insert_id": "same", "$device_id": 9})
    records = [(1, first), (2, event(distinct_id="d2", **{"$insert_id": "two"})),
               (3, event(time=1_700_000_000, **{"$insert_id": "same", "$device_id": "9"})),
               (4, {"event": "Bad", "properties": {"distinct_id": "x", "time": "soon", "$insert_id": "b"}})]
    assert list(taken([r for _, r in records])) == [1, 2]
    assert store.append("default", records).result() == [(4, '"properties.time" is not a number')]
    rows = stored(store, "insert_id, device_id, seq")
    assert [(r["insert_id"], r["device_id"]) for r in sorted(rows, key=lambda r: r["seq"])] == [("same", "9"), ("two", None)]


def test_properties_are_kept_as_sent():
    line = b'{"event": "Page View", "properties": {"time": 1700000000, "distinct_id": "d", "$insert_id": "i", "price": 1.50}}'
    assert taken([line])[0]["properties"] == '{"time": 1700000000, "distinct_id": "d", "$insert_id": "i", "price": 1.50}'


def test_a_repeated_property_name_is_read_last_by_the_fast_path(con):
    # RFC 8259 leaves repeated names undefined; the query reads the first. Documented in plain.py.
    line = b'{"event":"Page View","properties":{"time":1700000000,"distinct_id":"first","distinct_id":"last","$insert_id":"i"}}'
    assert taken([line])[0]["distinct_id"] == "last"
    assert judged_by_query(con, [line])[0]["distinct_id"] == "first"


#: Ordinary lines put before the odd ones: none, or enough that they are in a later slice
#: of the block than the first (the decoder takes a block a slice of lines at a time).
_BEFORE = [0, 1500]


@pytest.mark.parametrize("before", _BEFORE)
def test_a_line_holding_two_objects_never_shifts_the_lines_after_it(con, before):
    one, two = (orjson.dumps(event(distinct_id=d, **{"$insert_id": d})) for d in ("a", "b"))
    lines = [one + two, two, one]  # the first is invalid JSON: two values on one line
    ordinary = [orjson.dumps(event(distinct_id="o", **{"$insert_id": f"o{n}"})) for n in range(before)]
    assert sorted(taken(file_lines(ordinary + lines))) == [*range(before), before + 1, before + 2]
    assert assert_same_as_query(con, lines) == 2


@pytest.mark.parametrize("before", _BEFORE)
@pytest.mark.parametrize("cut", ["after the properties key", "before the last brace"])
def test_an_object_across_two_lines_is_never_taken(con, cut, before):
    # Two values on one line and one value over two lines: as many values as lines, but
    # none of these three lines is an event on its own.
    one = orjson.dumps(event(**{"$insert_id": "a"}))
    at = one.index(b'"properties":') + len(b'"properties":') if cut == "after the properties key" else len(one) - 1
    # The first tail starts with "{", the second ("}") is padded: the lines are not too short.
    head, tail = one[:at], one[at:] if cut == "after the properties key" else b"  " + one[at:]
    lines = [head, tail, one + one]
    ordinary = [orjson.dumps(event(distinct_id="o", **{"$insert_id": f"o{n}"})) for n in range(before)]
    assert sorted(taken(file_lines(ordinary + lines))) == list(range(before))
    assert assert_same_as_query(con, lines) == 0


def test_an_import_keeps_the_properties_where_they_were_read():
    lines = file_lines([event(distinct_id=d, **{"$insert_id": d}) for d in ("a", "b", "c")])
    rows, index = decode_lines(lines.column("line"))
    properties = rows.column("properties").combine_chunks().storage
    properties.validate(full=True)
    assert index.tolist() == [0, 1, 2]
    # A view of the block the lines were read into, not a copy of it.
    assert properties.buffers()[2].address == lines.column("line").chunk(0).buffers()[2].address
    assert [json.loads(p)["distinct_id"] for p in properties.to_pylist()] == ["a", "b", "c"]


_PROPS = '{"time":1700000000,"distinct_id":"%s","$insert_id":"i%s"}'


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # The last of two "properties" members is the one read, and the one kept.
        ('{"event":"E","properties":%s,"properties":%s}' % (_PROPS % ("a", 1), _PROPS % ("b", 2)), _PROPS % ("b", 2)),
        ('{"event":"E","event":"F","properties":%s}' % (_PROPS % ("a", 1)), _PROPS % ("a", 1)),
        ('{"properties":%s,"event":"E"}' % (_PROPS % ("a", 1)), _PROPS % ("a", 1)),
        ('{"event":"E","properties":%s }' % (_PROPS % ("a", 1)), _PROPS % ("a", 1)),
        ('{"event":"E","properties":%s,"ip":{}}' % (_PROPS % ("a", 1)), _PROPS % ("a", 1)),
        ('{"event":"E","properties":%s,"ip":{"properties":{}}}' % (_PROPS % ("a", 1)), _PROPS % ("a", 1)),
        ('{"event":"E", "properties":%s}' % (_PROPS % ("a", 1)), _PROPS % ("a", 1)),
    ],
)
def test_the_properties_kept_are_exactly_the_object_read(line, expected):
    # Each line twice, beside ordinary ones: a block is read whole or line by line.
    ordinary = [orjson.dumps(event(distinct_id=d, **{"$insert_id": d})) for d in ("x", "y")]
    for lines in ([line.encode()], [ordinary[0], line.encode(), ordinary[1]]):
        kept = taken(file_lines(lines))
        assert kept[lines.index(line.encode())]["properties"] == expected
        assert [json.loads(row["properties"]) for row in kept.values()]  # every one is JSON


_NAMES = {  # event name as written in the line: whether its framing is read without a decoder
    "Page View": True, "": True, "Réservation ✓": True, "x" * 63: True,
    "x" * 64: False, 'say \\"hi\\"': False, "tab\\there": False, "raw\ttab": False,
}


@pytest.mark.parametrize("name", list(_NAMES))
def test_event_names_read_from_an_exports_framing_are_the_querys(con, name):
    line = ('{"event":"%s","properties":%s}' % (name, _PROPS % ("a", 1))).encode()
    ordinary = [orjson.dumps(event(distinct_id=d, **{"$insert_id": d})) for d in ("x", "y")]
    lines = [ordinary[0], line, ordinary[1]]
    buffer, offsets = plain._text(file_lines(lines).column("line"))
    assert (plain._framed_lines(memoryview(buffer), offsets) is not None) == _NAMES[name]
    # An empty name is refused; a raw tab is not JSON.
    assert assert_same_as_query(con, lines) == (2 if name in ("", "raw\ttab") else 3)


def test_an_exports_lines_are_decoded_without_their_envelopes(con, monkeypatch):
    def refuse(*args):
        raise AssertionError("envelope decoded")

    monkeypatch.setattr(plain, "_enveloped", refuse)
    lines = [event(name, distinct_id=d, **{"$insert_id": d}) for name, d in [("Page View", "a"), ("Réservation ✓", "b")]]
    assert assert_same_as_query(con, lines) == 2


def test_a_line_without_a_properties_member_is_not_read_as_framed(con):
    # Framed like an export's line but for the member's name: it has no properties.
    line = ('{"event":"E","propertiez":%s}' % (_PROPS % ("a", 1))).encode()
    ordinary = [orjson.dumps(event(distinct_id=d, **{"$insert_id": d})) for d in ("x", "y")]
    assert assert_same_as_query(con, [ordinary[0], line, ordinary[1]]) == 2


_URL_PROPS = '{"time":1700000000,"distinct_id":"%s","$insert_id":"i9","$current_url":"https://hotel.example/"}'


@pytest.mark.parametrize(
    "lines",
    [
        # Two objects where the properties go: one value too many.
        ['{"event":"E","properties":%s %s}' % (_PROPS % ("a", 1), _PROPS % ("b", 2))],
        # A string left open in one line's properties, closed in the next one's: together two
        # values, which must never be read as one a line (lines handed over without newlines).
        # (With a URL each: the landing parameters are then not read from the properties.)
        ['{"event":"E","properties":%s {"b":"x}}' % (_URL_PROPS % "a"),
         '{"event":"E","properties":{", %s}}' % (_URL_PROPS % "b")[1:-1]],
    ],
)
def test_framed_properties_are_each_one_object(con, lines):
    assert assert_same_as_query(con, [line.encode() for line in lines]) == 0
