"""The collector's endpoints over a real socket: auth, answers, bad input, limits, CORS."""

from __future__ import annotations

import base64
import gzip
import json
from urllib.parse import quote

import orjson
from collector.live import PROJECT, SA_SECRET, SA_USER, SECRET, TOKEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

T0 = 1_795_000_000


def event(n: int = 0, token: str | None = TOKEN, **properties) -> dict:
    props = {"distinct_id": f"d{n}", "time": T0 + n, "$insert_id": f"id-{n}", **properties}
    if token is not None:
        props["token"] = token
    return {"event": "Page View", "properties": props}


def form(records, *, encode: str = "base64") -> str:
    text = json.dumps(records)
    data = base64.b64encode(text.encode()).decode() if encode == "base64" else text
    return "data=" + quote(data, safe="")


def basic(user: str, password: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def track(server, records, query="verbose=1", **kwargs):
    return server.client.post(f"/track/?{query}", content=form(records, **kwargs), headers=FORM)


def import_json(server, records, auth=None, query=""):
    headers = {"Content-Type": "application/json", **(auth or basic(SECRET))}
    return server.client.post(f"/import?{query}", content=json.dumps(records), headers=headers)


# /track

def test_track_base64_and_json_data_plain_and_verbose(server):
    assert track(server, [event(1)]).json() == {"status": 1, "error": None}
    plain = track(server, [event(2)], query="ip=1", encode="json")
    assert (plain.status_code, plain.text) == (200, "1")
    assert [r["insert_id"] for r in server.events(columns="insert_id")] == ["id-1", "id-2"]


def test_track_get_with_data_in_the_query(server):
    data = base64.b64encode(json.dumps(event(3)).encode()).decode()
    response = server.client.get(f"/track?data={quote(data, safe='')}&ip=1")
    assert (response.status_code, response.text) == (200, "1")
    assert server.events(columns="distinct_id") == [{"distinct_id": "d3"}]


def test_beacon_text_plain_and_gzip_bodies(server):
    beacon = server.client.post(
        "/track/?verbose=1", content=form([event(4)]), headers={"Content-Type": "text/plain;charset=UTF-8"}
    )
    assert beacon.json()["status"] == 1
    zipped = server.client.post(
        "/track", content=gzip.compress(form([event(5)]).encode()), headers={**FORM, "Content-Encoding": "gzip"}
    )
    assert zipped.text == "1"
    by_query = server.client.post("/track?format=gzip", content=gzip.compress(form([event(6)]).encode()), headers=FORM)
    assert by_query.text == "1"
    assert len(server.events()) == 3


def test_track_with_a_wrong_token_stores_nothing(server):
    response = track(server, [event(1, token="nope"), event(2, token=None)])
    assert response.status_code == 401
    assert response.json()["status"] == 0
    assert "record 0: 'nope' is not a project token" in response.json()["error"]
    assert "record 1: missing project token" in response.json()["error"]
    assert server.events() == []


def test_one_token_never_writes_into_another_project(server):
    assert track(server, [event(1, token="other-token"), event(2)]).json()["status"] == 1
    assert [r["distinct_id"] for r in server.events("other", "distinct_id")] == ["d1"]
    assert [r["distinct_id"] for r in server.events(PROJECT, "distinct_id")] == ["d2"]


def test_bad_events_are_named_and_the_valid_ones_kept(server):
    records = [event(0), event(1, time="yesterday"), "not an object", event(3, **{"$insert_id": "a" * 37}), event(4)]
    response = track(server, records)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 0
    assert body["error"].startswith("3 of 5 records rejected: record 1: \"properties.time\" is not a number;")
    assert body["failed_records"] == [
        {"index": 1, "$insert_id": "id-1", "field": "properties.time", "message": '"properties.time" is not a number'},
        {"index": 2, "$insert_id": None, "field": "", "message": "not a JSON object"},
        {
            "index": 3,
            "$insert_id": "a" * 37,
            "field": "properties.$insert_id",
            "message": '"properties.$insert_id" is 37 characters long (at most 36)',
        },
    ]
    assert [r["distinct_id"] for r in server.events(columns="distinct_id")] == ["d0", "d4"]


def test_track_fills_in_a_missing_time_but_import_does_not(server):
    alias = {"event": "$create_alias", "properties": {"distinct_id": "u1", "alias": "a1", "token": TOKEN}}
    assert track(server, [alias]).json()["status"] == 1
    timeless = event(1)
    del timeless["properties"]["time"]
    response = import_json(server, [timeless])
    assert response.status_code == 400
    assert response.json()["failed_records"][0]["field"] == "properties.time"
    assert [r["event"] for r in server.events(columns="event")] == ["$create_alias"]


def test_duplicates_are_stored_once_across_requests_and_units(server):
    assert track(server, [event(1), event(1)]).json()["status"] == 1
    in_ms = event(1)
    in_ms["properties"]["time"] = (T0 + 1) * 1000
    assert track(server, [in_ms]).json()["status"] == 1
    assert len(server.events()) == 1


# /import

def test_import_json_ndjson_and_form_answers(server):
    response = import_json(server, [event(1), event(2)])
    assert (response.status_code, response.json()) == (200, {"code": 200, "num_records_imported": 2, "status": "OK"})
    ndjson = b"\n".join(orjson.dumps(e) for e in (event(3), event(4))) + b"\n"
    response = server.client.post("/import/", content=ndjson, headers={"Content-Type": "application/x-ndjson", **basic(SECRET)})
    assert response.json()["num_records_imported"] == 2
    legacy = server.client.post("/import", content=form([event(5)], encode="json") + "&verbose=1", headers={**FORM, **basic(SECRET)})
    assert legacy.json() == {"status": 1, "error": None}
    assert len(server.events()) == 5


def test_verbose_is_honoured_on_every_endpoint_in_the_query_or_the_form(server):
    """The Node SDK sends verbose=0 in the query string and accepts only the body ``1``; the
    Python SDK sends verbose=1 in the form body and accepts only the JSON."""
    profile = {"$token": TOKEN, "$distinct_id": "u1", "$set": {"plan": "free"}}
    group = {"$token": TOKEN, "$group_key": "company", "$group_id": "acme", "$set": {"rooms": 3}}
    sends = {"/track": ([event(1)], {}), "/engage": ([profile], {}), "/groups": ([group], {}),
             "/import": ([event(2)], basic(SECRET))}
    asks = {("verbose=0", ""): "1", ("", ""): "1", ("verbose=1", ""): "json", ("", "&verbose=1"): "json",
            ("verbose=0", "&verbose=1&ip=0"): "json", ("verbose=1", "&verbose=0"): "1"}
    for path, (records, auth) in sends.items():
        for (query, field), expected in asks.items():
            response = server.client.post(f"{path}?{query}&ip=0", content=form(records) + field,
                                          headers={**FORM, **auth})
            answer = response.json() if expected == "json" else response.text
            wanted = {"status": 1, "error": None} if expected == "json" else "1"
            assert (response.status_code, answer) == (200, wanted), (path, query, field)
    modern = import_json(server, [event(3)], query="verbose=0")  # a JSON body has Mixpanel's one /import answer
    assert modern.json() == {"code": 200, "num_records_imported": 1, "status": "OK"}


def test_a_refused_import_answers_in_the_shape_it_asked_for(server):
    wrong = {**FORM, **basic("wrong-secret")}
    node = server.client.post("/import?ip=0&verbose=0", content=form([event(1)]), headers=wrong)
    assert (node.status_code, node.text) == (401, "0")
    python = server.client.post("/import", content=form([event(1)]) + "&verbose=1&ip=0", headers=wrong)
    assert (python.status_code, python.json()) == (401, {"status": 0, "error": "invalid project secret"})
    undecodable = server.client.post("/track", content="verbose=1&data=%%%", headers=FORM)
    assert undecodable.status_code == 400 and undecodable.json()["error"] == '"data" is neither JSON nor base64'
    assert server.events() == []


def test_import_strict_reports_failed_records_and_keeps_the_rest(server):
    bad = event(1)
    bad["properties"]["distinct_id"] = ""
    response = import_json(server, [event(0), bad, event(2)], query="strict=1")
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "num_records_imported": 2,
        "status": "Bad Request",
        "error": '1 of 3 records rejected: record 1: missing "properties.distinct_id"',
        "failed_records": [
            {"index": 1, "$insert_id": "id-1", "field": "properties.distinct_id", "message": 'missing "properties.distinct_id"'}
        ],
    }
    assert len(server.events()) == 2


def test_ndjson_line_that_is_not_json_is_named(server):
    body = orjson.dumps(event(0)) + b"\n{broken\n" + orjson.dumps(event(2))
    response = server.client.post("/import", content=body, headers={"Content-Type": "application/x-ndjson", **basic(SECRET)})
    assert response.status_code == 400
    assert [f["index"] for f in response.json()["failed_records"]] == [1]
    assert response.json()["num_records_imported"] == 2


def test_a_large_ndjson_import_is_judged_as_any_other(server):
    # 300 lines (decoded ahead, beside the writer): a copy and a broken line among them.
    body = b"".join(orjson.dumps(event(n)) + b"\n" for n in [*range(298), 7]) + b"{broken\n"
    response = server.client.post("/import", content=body, headers={"Content-Type": "application/x-ndjson", **basic(SECRET)})
    assert response.status_code == 400
    assert [(f["index"], f["message"][:12]) for f in response.json()["failed_records"]] == [(299, "invalid JSON")]
    assert response.json()["num_records_imported"] == 299
    assert len(server.events()) == 298


def test_an_ndjson_merge_without_a_time_is_given_the_receive_time(server):
    merge = {"event": "$merge", "properties": {"$distinct_ids": ["user-1", "$device:a"]}}
    body = orjson.dumps(event(1)) + b"\n" + orjson.dumps(merge) + b"\n"
    response = server.client.post("/import", content=body, headers={"Content-Type": "application/x-ndjson", **basic(SECRET)})
    assert response.json()["num_records_imported"] == 2
    assert sorted(r["event"] for r in server.events(columns="event")) == ["$merge", "Page View"]


def test_import_auth_matrix(server):
    cases = {
        "no credentials": ({}, "", 401),
        "wrong secret": (basic("guess"), "", 401),
        "token is not a secret": (basic(TOKEN), "", 401),
        "secret as password": (basic("", SECRET), "", 200),
        "secret of the named project": (basic(SECRET), f"project_id={PROJECT}", 200),
        "secret of another project": (basic("other-secret"), f"project_id={PROJECT}", 403),
        "service account": (basic(SA_USER, SA_SECRET), f"project_id={PROJECT}", 200),
        "service account without project_id": (basic(SA_USER, SA_SECRET), "", 400),
        "service account, wrong project": (basic(SA_USER, SA_SECRET), "project_id=other", 403),
        "service account, wrong secret": (basic(SA_USER, "guess"), f"project_id={PROJECT}", 401),
    }
    for n, (name, (auth, query, status)) in enumerate(cases.items()):
        response = server.client.post(f"/import?{query}", content=json.dumps([event(n)]),
                                      headers={"Content-Type": "application/json", **auth})
        assert response.status_code == status, name
        if status != 200:
            assert response.json()["code"] == status and response.json()["error"], name
    assert len(server.events(PROJECT)) == 3
    assert server.events("other") == []


def test_import_takes_the_numeric_id_a_project_had_at_mixpanel(server):
    server.store.set_mixpanel_id(PROJECT, 2195193)
    server.store.set_mixpanel_id("other", 7)
    cases = {
        "service account, mixpanel id": (basic(SA_USER, SA_SECRET), "project_id=2195193", 200),
        "service account, mixpanel id with a leading zero": (basic(SA_USER, SA_SECRET), "project_id=02195193", 200),
        "service account, name still": (basic(SA_USER, SA_SECRET), f"project_id={PROJECT}", 200),
        "secret, mixpanel id": (basic(SECRET), "project_id=2195193", 200),
        "service account, another project's mixpanel id": (basic(SA_USER, SA_SECRET), "project_id=7", 403),
        "secret, another project's mixpanel id": (basic(SECRET), "project_id=7", 403),
        "secret of the other project, its mixpanel id": (basic("other-secret"), "project_id=7", 200),
        "service account, an id no project has": (basic(SA_USER, SA_SECRET), "project_id=2195194", 403),
    }
    for n, (name, (auth, query, status)) in enumerate(cases.items()):
        response = server.client.post(f"/import?{query}", content=json.dumps([event(n)]),
                                      headers={"Content-Type": "application/json", **auth})
        assert response.status_code == status, (name, response.text)
    refused = server.client.post("/import?project_id=7", content=json.dumps([event(9)]),
                                 headers={"Content-Type": "application/json", **basic(SA_USER, SA_SECRET)})
    assert refused.json()["error"] == f"service account {SA_USER!r} has no access to project '7'"
    assert len(server.events(PROJECT)) == 4 and len(server.events("other")) == 1


def test_import_ignores_the_token_the_secret_decides(server):
    assert import_json(server, [event(1, token="other-token")], auth=basic("other-secret")).status_code == 200
    assert len(server.events("other")) == 1 and server.events(PROJECT) == []


# Limits and garbage

def test_request_limits(server):
    too_many = [event(n) for n in range(2001)]
    response = import_json(server, too_many)
    assert response.status_code == 413
    assert response.json()["error"] == "2,001 records in one request (at most 2,000)"
    huge = "x" * (10 * 1024 * 1024)
    response = track(server, [event(1, blob=huge)])
    assert response.status_code == 413
    assert server.events() == []


def test_event_limits(server):
    big = event(1, blob="x" * (1024 * 1024))
    wide = event(2, **{f"p{i}": i for i in range(260)})
    response = import_json(server, [big, wide, event(3)])
    assert response.status_code == 400
    failed = response.json()["failed_records"]
    assert [(f["index"], f["field"]) for f in failed] == [(0, ""), (1, "properties")]
    assert failed[0]["message"].startswith("event is 10") and "(at most 1048576)" in failed[0]["message"]
    assert failed[1]["message"] == "264 properties (at most 254)"
    assert [r["distinct_id"] for r in server.events(columns="distinct_id")] == ["d3"]


def test_undecodable_requests_are_4xx(server):
    cases = [
        ("/track", "data=%%%not-base64", FORM),
        ("/track", "data=" + base64.b64encode(b"[{oops").decode(), FORM),
        ("/track", "verbose=1", FORM),
        ("/engage", "data=" + quote(json.dumps(42)), FORM),
        ("/track", "\x1f\x8bnot gzip", FORM),
    ]
    for path, body, headers in cases:
        response = server.client.post(path + "?verbose=1", content=body, headers=headers)
        assert 400 <= response.status_code < 500, body
        assert response.json()["status"] == 0 and response.json()["error"], body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300), path=st.sampled_from(["/track", "/engage/", "/groups", "/import"]),
       content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain"]))
def test_garbage_never_gets_a_5xx(server, body, path, content_type):
    response = server.client.post(path, content=body, headers={"Content-Type": content_type, **basic(SECRET)})
    assert response.status_code < 500


# Profiles

def test_engage_and_groups(server):
    people = [
        {"$token": TOKEN, "$distinct_id": "u1", "$set": {"plan": "free"}},
        {"$token": TOKEN, "$distinct_id": "u1", "$add": {"visits": 2}},
        {"$token": TOKEN, "$distinct_id": "u1", "$add": {"visits": "many"}},
        {"$token": TOKEN, "$set": {"plan": "pro"}},
        {"$token": TOKEN, "$distinct_id": "u1", "$set_once": {"plan": "pro"}},
    ]
    response = server.client.post("/engage/?verbose=1", content=form(people), headers=FORM)
    assert response.status_code == 400
    assert [(f["index"], f["field"]) for f in response.json()["failed_records"]] == [(2, "$add.visits"), (3, "$distinct_id")]
    assert server.store.profile("people", PROJECT, "u1") == {"plan": "free", "visits": 2}
    group = [{"$token": TOKEN, "$group_key": "company", "$group_id": "acme", "$set": {"rooms": 3}}]
    assert server.client.post("/groups", content=form(group), headers=FORM).text == "1"
    assert server.store.profile("groups", PROJECT, "company", "acme") == {"rooms": 3}


def test_engage_with_a_wrong_token_changes_nothing(server):
    record = {"$token": "nope", "$distinct_id": "u1", "$set": {"plan": "free"}}
    response = server.client.post("/engage", content=form([record]), headers=FORM)
    assert (response.status_code, response.text) == (401, "0")
    assert server.store.profile("people", PROJECT, "u1") is None


# Side calls and CORS

def test_cors_preflight_echoes_the_origin_with_credentials(server):
    origin = "http://www.hotel-demo.test:8080"
    response = server.client.options(
        "/record/", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                             "Access-Control-Request-Headers": "content-type"}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "content-type" in response.headers["access-control-allow-headers"].lower()


def test_side_calls_are_acknowledged_and_nothing_is_stored(server):
    for path in ("/record/", "/decide", "/flags/"):
        response = server.client.post(path, content=b"\x1f\x8b anything")
        assert (response.status_code, response.json()) == (200, {"code": 200, "status": "OK"})
    assert server.events() == []
    assert server.client.get("/healthz").json() == {"status": "ok"}
    assert server.client.get("/nothing-here").status_code == 404
