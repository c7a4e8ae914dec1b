"""Hostile input over a real socket: every request gets an answer below 500, with a reason.

Bodies, encodings, content types, methods and query strings for every collector endpoint;
JSON nested past :data:`MAX_DEPTH`, which no parser may see; text that is not ASCII where
base64 is expected; a client that goes away mid-body.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import logging
import socket
import time
from urllib.parse import quote, urlsplit

import httpx
from collector.live import SECRET, TOKEN
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from utmost.collector.wire import MAX_DEPTH

T0 = 1_795_000_000
ENDPOINTS = ["/track", "/engage", "/groups", "/import", "/record", "/decide", "/flags", "/healthz"]
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()}
_ids = itertools.count()


def event(**properties) -> dict:
    insert_id = f"h-{next(_ids)}"
    return {"event": "Hostile", "properties": {"token": TOKEN, "distinct_id": "d", "time": T0, "$insert_id": insert_id,
                                               **properties}}


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def raw_request(client: httpx.Client, method: str, target: bytes, body: bytes, headers: dict) -> httpx.Response:
    """``target`` (path and query) sent as the bytes it is: httpx would mend a broken escape."""
    url = client.base_url.copy_with(raw_path=target)
    return client.request(method, url, content=body, headers=headers)


# What a body carries: JSON in all its odd forms, and bytes that are not JSON at all.
_records_json = st.lists(
    st.one_of(
        st.builds(event), st.builds(event, nest=st.integers(0, 60).map(lambda n: json.loads(nested(n)))),
        st.just({"$token": TOKEN, "$distinct_id": "u", "$set": {"plan": "free"}}),
        st.just({"$token": TOKEN, "$distinct_id": "u", "$set": {"deep": json.loads(nested(58))}}),
        st.integers(), st.text(max_size=8), st.none(), st.just({"properties": "["}),
    ),
    max_size=4,
).map(lambda records: json.dumps(records))
#: Depths about the limit, and past where msgspec (~1,000) and orjson (1,024) stop.
_depths = st.sampled_from([63, 64, 65, 300, 999, 1000, 1025, 3000])
_deep_json = st.builds(
    lambda depth, form: form.replace("DEEP", nested(depth)).replace("OPEN", "[" * depth),
    _depths,
    st.sampled_from([
        "DEEP", "OPEN", '[{"a": "OPEN"}, DEEP]', '"\\\\"OPEN',
        json.dumps([{"properties": {"token": TOKEN, "distinct_id": "d", "time": T0, "x": "X"}}]).replace('"X"', "DEEP"),
        json.dumps([{"$token": TOKEN, "$distinct_id": "u", "$set": {"x": "X"}}]).replace('"X"', "DEEP"),
    ]),
)
_odd_json = st.one_of(
    st.sampled_from(["NaN", "[NaN]", '[{"x": Infinity}]', "[1e999]", "[" + "9" * 400 + "]", "[-0.0]", "[]", "{}", "",
                     '[{"event": "e", "properties": {"time": 1e400}}]', "[\"\\ud800\"]", "\ufeff[]", "[1,]", "null"]),
    st.text(max_size=40),
)
_payload = st.one_of(_deep_json, _deep_json, _odd_json, _records_json).map(str.encode) | st.binary(max_size=60)


@st.composite
def requests(draw) -> tuple[str, bytes, bytes, dict]:
    """A method, a target, a body and headers: the payload carried one of the ways the SDKs carry it, or not."""
    payload = draw(_payload)
    path = draw(st.sampled_from([*ENDPOINTS[:4] * 3, *ENDPOINTS[4:]])) + draw(st.sampled_from(["", "/"]))
    query = draw(st.lists(st.sampled_from(["verbose=1", "strict=1", "ip=1", "format=gzip", "project_id=%FF", "%zz", "%",
                                           "data=%C3", "data=%E2%82%AC", "data=", "&&", "=", "data=W10"]), max_size=2))
    shape = draw(st.sampled_from(["raw", "raw", "ndjson", "base64", "base64", "urlsafe", "plain", "query", "twice",
                                  "not ascii"]))
    b64 = base64.b64encode(payload).decode()
    body = b""
    if shape == "raw":
        body = payload
    elif shape == "ndjson":
        body = payload.replace(b"}, {", b"}\n{").strip(b"[]")
    elif shape in ("base64", "urlsafe", "plain", "twice", "not ascii"):
        value = {"base64": b64, "urlsafe": base64.urlsafe_b64encode(payload).decode().rstrip("="),
                 "twice": b64 + "&data=" + b64, "not ascii": "€" + b64}.get(shape)
        body = ("data=" + (quote(value, safe="&=") if value is not None else quote(payload))).encode()
    else:
        query.append("data=" + quote(b64))
    encoding = draw(st.sampled_from(["", "gzip header", "gzip query", "lying header"]))
    headers = {"Content-Type": draw(st.sampled_from(["application/x-www-form-urlencoded", "application/json",
                                                     "text/plain;charset=UTF-8", "application/x-ndjson", ""]))}
    if encoding.startswith("gzip"):
        body = gzip.compress(body)
    if encoding in ("gzip header", "lying header"):
        headers["Content-Encoding"] = "gzip"
    if encoding == "gzip query":
        query.append("format=gzip")
    if path.startswith("/import") and draw(st.booleans()):
        headers |= AUTH
    method = draw(st.sampled_from(["POST"] * 5 + ["GET"] * 3 + ["PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))
    target = (path + ("?" + "&".join(query) if query else "")).encode()
    return method, target, body, headers


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(request=requests())
def test_no_request_gets_a_5xx(server, request):
    method, target, body, headers = request
    response = raw_request(server.client, method, target, body, headers)
    assert response.status_code < 500, (response.status_code, response.text[:200])


# Valid records beside bad ones: the valid ones are stored, each bad one is named.

_bad = st.sampled_from([
    42, "a string with [brackets] and \"quotes\" and \\", None, [1, [2]],
    {"event": "e", "properties": {"token": TOKEN, "time": "yesterday", "distinct_id": "d"}},
    {"event": "e", "properties": {"token": TOKEN, "time": T0}},
])
_odd_but_valid = st.sampled_from([
    {"nest": json.loads(nested(MAX_DEPTH - 3))}, {"s": "]]]}}} \"[[[ \\\\\" \u2028 é \U0001f600"},
    {"n": 10**18, "f": 1e300, "z": -0.0}, {"brackets": "[" * 100}, {},
])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kinds=st.lists(st.one_of(_bad.map(lambda bad: ("bad", bad)), _odd_but_valid.map(lambda odd: ("good", odd))),
                   min_size=1, max_size=6),
    shape=st.sampled_from(["track base64", "track json", "track get", "import json", "import ndjson"]),
    zipped=st.booleans(),
)
def test_valid_records_beside_bad_ones_are_stored(server, kinds, shape, zipped):
    records = [event(**value) if kind == "good" else value for kind, value in kinds]
    assume(shape != "import ndjson" or isinstance(records[0], dict))  # else the body is not JSON, but a form
    good = [r["properties"]["$insert_id"] for (kind, _), r in zip(kinds, records) if kind == "good"]
    endpoint, form = shape.split()
    text = json.dumps(records) if form != "ndjson" else "\n".join(json.dumps(r) for r in records)
    headers = {**AUTH, "Content-Type": "application/json"} if endpoint == "import" else {}
    query, body = "verbose=1", text.encode()
    if form == "base64":
        body = b"data=" + quote(base64.b64encode(body)).encode()
    elif form == "get":
        query, body = f"verbose=1&data={quote(base64.b64encode(body))}", b""
    if zipped and body:
        body, query = gzip.compress(body), query + "&format=gzip"
    response = server.client.request("GET" if form == "get" else "POST", f"/{endpoint}?{query}", content=body,
                                     headers=headers)
    bad = [index for index, (kind, _) in enumerate(kinds) if kind == "bad"]
    assert response.status_code == (400 if bad else 200), response.text
    assert [f["index"] for f in response.json().get("failed_records", [])] == bad
    stored = {row["insert_id"] for row in server.events(columns="insert_id")}
    assert set(good) <= stored


# JSON nested too deep, named as such wherever it is

def test_json_nested_too_deep_is_refused_naming_the_limit(server):
    deep = nested(1100)
    in_properties = json.dumps([event(x="X")]).replace('"X"', nested(MAX_DEPTH - 2))
    cases = [
        ("/track", deep, {}, "body nests JSON 1,100 levels deep (at most 64)"),
        ("/track", in_properties, {}, "body nests JSON 65 levels deep (at most 64)"),
        ("/engage", nested(500), {}, "body nests JSON 500 levels deep (at most 64)"),
        ("/import", json.dumps(event()) + "\n" + deep, AUTH, "body nests JSON 1,100 levels deep (at most 64)"),
        ("/track", "data=" + quote(base64.b64encode(deep.encode())), {}, '"data" nests JSON 1,100 levels deep (at most 64)'),
        ("/groups", "data=" + quote(deep), {}, '"data" nests JSON 1,100 levels deep (at most 64)'),
    ]
    for path, body, headers, message in cases:
        response = server.client.post(f"{path}?verbose=1", content=body, headers=headers)
        assert (response.status_code, response.json()["error"]) == (400, message), path
    response = server.client.get(f"/track?verbose=1&data={quote(base64.b64encode(deep.encode()))}")
    assert (response.status_code, response.json()["error"]) == (400, '"data" nests JSON 1,100 levels deep (at most 64)')
    assert server.events() == []
    at_the_limit = json.dumps([event(x="X")]).replace('"X"', nested(MAX_DEPTH - 3))
    assert server.client.post("/track?verbose=1", content=at_the_limit).json() == {"status": 1, "error": None}


def test_data_that_is_not_ascii_is_neither_json_nor_base64(server):
    for target in ("/track?verbose=1&data=%C3", "/track?verbose=1&data=%FF%FE", "/engage?verbose=1&data=%C3%A9W10"):
        response = server.client.get(target)
        assert (response.status_code, response.json()["error"]) == (400, '"data" is neither JSON nor base64'), target
    response = server.client.post("/track?verbose=1", content="data=éW10".encode())
    assert (response.status_code, response.json()["error"]) == (400, '"data" is neither JSON nor base64')


def test_a_client_gone_mid_body_is_one_log_line(server, caplog):
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)  # uvicorn's loggers do not reach the root's
    try:
        with caplog.at_level(logging.WARNING):
            address = urlsplit(server.url)
            with socket.create_connection((address.hostname, address.port)) as client:
                client.sendall(b"POST /track HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\ndata=W3s")
            deadline = time.monotonic() + 10
            while not caplog.records and time.monotonic() < deadline:
                time.sleep(0.01)
            response = server.client.post("/track?verbose=1", content="data=" + quote(json.dumps([event()])))
            assert response.json() == {"status": 1, "error": None}  # and the server serves on
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    assert [(r.name, r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("utmost.collector", "POST /track: the client went away before sending its whole body", None)
    ]


def test_a_body_nested_too_deep_is_refused_before_the_rest_of_it_arrives(server):
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as client:
        client.sendall(b"POST /engage?verbose=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000\r\n\r\n" + b"[" * 100_000)
        answer = b""  # of 9 MB announced, 100 KB sent: the server answers, and closes
        while chunk := client.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"connection: close" in head.lower()
    assert json.loads(body)["error"].startswith("body nests JSON ")
