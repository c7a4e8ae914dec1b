"""Request bodies decoded: ``/import``'s records kept as text read the same as parsed ones."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, quote

import orjson
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from utmost.collector.records import event_lines
from utmost.collector.wire import RawRecords, RequestError, Unparsed, _fields, decode, json_depth

_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)
_records = st.lists(st.one_of(st.dictionaries(st.text(max_size=5), _json, max_size=4), _json), min_size=1, max_size=6)


def bodies(records: list) -> dict[str, bytes]:
    array = orjson.dumps(records)
    return {
        "json array": array,
        "ndjson": b"\n".join(orjson.dumps(r) for r in records) + b"\n",
        "data= base64": b"data=" + quote(base64.b64encode(array)).encode(),
        "data= json": b"data=" + quote(array).encode(),
    }


@given(_records)
def test_records_kept_as_text_read_as_the_parsed_ones(records):
    for shape, body in bodies(records).items():
        try:
            parsed = decode(body, "").records
        except RequestError as error:
            with pytest.raises(RequestError, match=str(error).split(":")[0]):
                decode(body, "", raw=True)
            continue
        raw = decode(body, "", raw=True).records
        assert isinstance(raw, RawRecords), shape
        assert [raw[n] for n in range(len(raw))] == parsed, shape


#: Form text made of the pieces that matter: separators, escapes (base64's, others, broken
#: ones, a '%' escaped), '+', and text around them.
_form_text = st.lists(
    st.sampled_from(["&", "=", "+", "%2B", "%2b", "%2F", "%3D", "%3d", "%25", "%252B", "%C3%A9", "%E9", "%E2%82", "%", "%2", "%zz", "a", "data", "é", "€", " "]),
    max_size=12,
).map("".join)


@given(_form_text)
def test_form_fields_read_as_parse_qs_reads_them(text):
    assert _fields(text) == {key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()}


def test_an_ndjson_line_that_is_not_json_keeps_its_place():
    raw = decode(b'{"a": 1}\n\n{broken\n{"b": 2}\n', "", raw=True).records
    assert [raw.text(n) for n in range(len(raw))] == [b'{"a": 1}', b"{broken", b'{"b": 2}']
    assert isinstance(raw[1], Unparsed) and raw[1].reason.startswith("invalid JSON")


def test_one_object_is_one_record():
    records = decode(b"  {\"event\": \"x\"}\n", "", raw=True).records
    assert [records.text(n) for n in range(len(records))] == [b'{"event": "x"}']


_properties = st.one_of(
    st.none(),
    st.just([1]),
    st.fixed_dictionaries({}, optional={"token": st.one_of(st.just("t"), _json), "time": st.one_of(st.just(1.5), _json), "x": _json}),
)
_events = st.lists(
    st.one_of(
        st.fixed_dictionaries({}, optional={"event": st.sampled_from(["Page View", "$merge"]), "properties": _properties}),
        _json,
    ),
    min_size=1,
    max_size=6,
)


@given(_events, st.booleans())
def test_event_lines_read_text_as_they_read_parsed_records(records, require_time):
    texts = RawRecords([orjson.dumps(r) for r in records])
    parsed_lines, parsed_failures = event_lines(records, 99.0, require_time=require_time)
    text_lines, text_failures = event_lines(texts, 99.0, require_time=require_time)
    assert text_failures == parsed_failures
    assert [(line.index, line.token) for line in text_lines] == [(line.index, line.token) for line in parsed_lines]
    for text, parsed in zip(text_lines, parsed_lines):
        assert (orjson.loads(text.record) if isinstance(text.record, bytes) else text.record) == parsed.record


def test_an_ndjson_body_of_objects_is_split_over_the_body_itself():
    body = b'{"a": 1}\n{broken\r\n{"b": 2}\n\n'
    raw = decode(body, "", raw=True).records
    assert [raw.text(n) for n in range(len(raw))] == [b'{"a": 1}\n', b"{broken\r\n", b'{"b": 2}']
    assert raw.column().buffers()[2].address == pa.py_buffer(body).address
    assert raw[0] == {"a": 1} and isinstance(raw[1], Unparsed) and raw[2] == {"b": 2}


# How deep JSON nests, read without parsing it

def depth_of(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


def parser_depth(text: bytes) -> int:
    """How deep a JSON parser reading ``text`` gets before its first error: the reference, a byte at a time."""
    deepest = level = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if byte == ord("\n"):
                break
            in_string = escaped or byte != ord('"')
            escaped = not escaped and byte == ord("\\")
        elif byte in b"[{":
            level += 1
            deepest = max(deepest, level)
        elif byte in b"]}":
            level -= 1
            if level < 0:
                break
        elif byte == ord("\\"):  # outside a string, no parser reads on
            break
        else:  # letters, spaces, anything else: read on, as a lenient parser would
            in_string = byte == ord('"')
    return deepest


_strings = st.text(alphabet=st.sampled_from('[]{}"\\\n\u2028aé'), max_size=6)
_nesting = st.recursive(
    st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), _strings),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_strings, inner, max_size=3)),
    max_leaves=12,
)


@given(st.lists(_nesting, min_size=1, max_size=3), st.sampled_from(["compact", "indented", "ndjson"]))
def test_json_depth_is_the_depth_of_valid_json(values, layout):
    if layout == "ndjson":
        text = b"\n".join(orjson.dumps(value) for value in values)
        assert json_depth(text) == max(map(depth_of, values))
    else:
        text = orjson.dumps(values, option=orjson.OPT_INDENT_2 if layout == "indented" else 0)
        assert json_depth(text) == depth_of(values)


@given(st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b"\n", b"a", b" "]), max_size=40).map(b"".join))
def test_json_depth_is_never_less_than_a_parser_meets(text):
    """Also for text that is not JSON, read whole or line by line: no parser goes deeper than it says."""
    lines = text.split(b"\n")
    assert json_depth(text) >= max(parser_depth(text), *map(parser_depth, lines))
