"""Every request the official SDKs sent (``tests/fixtures/mixpanel-wire``), replayed byte for byte.

The recorder that captured them answered like Mixpanel; utmost must give the same answers,
except where it is deliberately stricter (an ``/import`` without credentials is refused) or
where the recorder's answer is one the SDK rejects (``python-sdk-import-modern-response``).
The stored rows are then checked against the decoded payloads.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import orjson
import pytest
from collector.live import PROJECT

#: A copy of the Mixpanel wire capture the project started from (unedited), so a clone tests alone.
FIXTURES = Path(__file__).parents[1] / "fixtures" / "mixpanel-wire"
FILES = sorted(FIXTURES.glob("*.jsonl"))
_NOT_RESENT = {"host", "content-length", "connection"}


def requests_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def replay(server, captured: dict):
    headers = [(k, v) for k, v in captured["headers"] if k.lower() not in _NOT_RESENT]
    url = captured["path"] + (f"?{captured['query_string']}" if captured["query_string"] else "")
    return server.client.request(captured["method"], url, headers=headers, content=base64.b64decode(captured["body_b64"]))


def has_auth(captured: dict) -> bool:
    return any(name.lower() == "authorization" for name, _ in captured["headers"])


def expected_answer(captured: dict) -> tuple[int, str]:
    """What utmost answers; equal to the recorder's answer but for the two cases above."""
    endpoint = captured["path"].strip("/")
    if endpoint == "import" and not has_auth(captured):
        return 401, '{"status":0,"error":"/import needs HTTP Basic auth: the project secret as user name"}'
    if endpoint == "import":
        return 200, '{"status":1,"error":null}'  # the form-body shape the Python SDK parses
    if captured["method"] == "OPTIONS":
        return 200, "OK"  # the preflight
    return captured["response"]["status"], captured["response"]["body"]


def test_fixtures_are_there():
    assert len(FILES) >= 20, FIXTURES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_replayed_requests_get_the_answers_the_sdks_expect(server, path):
    for captured in requests_of(path):
        response = replay(server, captured)
        assert (response.status_code, response.text) == expected_answer(captured), captured["path"]
        if captured["method"] == "POST" and "Origin" in dict(captured["headers"]):
            assert response.headers["access-control-allow-origin"] == dict(captured["headers"])["Origin"]
            assert response.headers["access-control-allow-credentials"] == "true"


def _sent_events(path: Path) -> list[dict]:
    """The events of every request that should have been stored, as decoded by the recorder."""
    events = []
    for captured in requests_of(path):
        if captured["path"].strip("/") not in ("track", "import") or expected_answer(captured)[0] != 200:
            continue
        payload = captured["decoded"]["payload"]
        events.extend(payload if isinstance(payload, list) else [payload])
    return events


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_distinct_event_is_stored_once(server, path):
    for captured in requests_of(path):
        replay(server, captured)
    sent = _sent_events(path)
    # Mixpanel's key; events sent without $insert_id (alias, merge) are each their own.
    keys = {
        (e["event"], e["properties"].get("distinct_id"), e["properties"].get("time"), e["properties"].get("$insert_id") or n)
        for n, e in enumerate(sent)
    }
    stored = server.events(columns="event, distinct_id, insert_id, properties")
    assert len(stored) == len(keys)
    assert sorted(r["event"] for r in stored) == sorted(k[0] for k in keys)
    for row in stored:  # the whole object is kept, token included
        assert orjson.loads(row["properties"])["token"] == "test-token"


def test_the_sendbeacon_resend_is_stored_once(server):
    captured = requests_of(FIXTURES / "browser-g-unload-sendbeacon.jsonl")
    insert_ids = [e["properties"]["$insert_id"] for c in captured for e in c["decoded"]["payload"]]
    assert len(insert_ids) > len(set(insert_ids))  # the capture really holds a re-send
    for request in captured:
        replay(server, request)
    assert sorted(r["insert_id"] for r in server.events(columns="insert_id")) == sorted(set(insert_ids))


def test_landing_utms_are_read_from_the_browser_url(server):
    for request in requests_of(FIXTURES / "browser-a-first-visit.jsonl"):
        replay(server, request)
    rows = server.events(columns="event, utm_source, utm_medium, utm_campaign, gclid, fbclid, referring_domain")
    assert {r["event"] for r in rows} == {"$mp_web_page_view", "Page View"}
    for row in rows:
        assert (row["utm_source"], row["utm_medium"], row["utm_campaign"]) == ("newsletter", "email", "spring_sale")
        assert (row["gclid"], row["fbclid"], row["referring_domain"]) == ("abc123", "xyz", "www.google.com")


def test_browser_profile_operations_apply_in_arrival_order(server):
    """e: the SDK's batches arrive out of call order, $delete among them; arrival order is applied."""
    for request in requests_of(FIXTURES / "browser-e-people-group-ops.jsonl"):
        replay(server, request)
    profile = server.store.profile("people", PROJECT, "user-77")
    # Everything before the $delete is gone; what arrived after it is the profile.
    assert profile == {
        "visited_cities": ["Lisbon"],
        "$os": "Linux",
        "$browser": "Chrome",
        "$browser_version": 156,
        "single_prop": "single value",
        "$email": "ops@example.com",
        "tier": "gold",
        "favorite_hotels": ["h-1", "h-2"],
        "company": ["acme-hotels"],
        "points": 10,
        "credits": -2.5,
    }
    # $set name/rooms, $set_once, $remove US (nothing yet), $union EU+US, $unset rooms.
    assert server.store.profile("groups", PROJECT, "company", "acme-hotels") == {
        "name": "Acme Hotels",
        "created_via": "web",
        "regions": ["EU", "US"],
    }


def test_first_touch_profile_from_identify(server):
    for request in requests_of(FIXTURES / "browser-b-later-visit-identify.jsonl"):
        replay(server, request)
    profile = server.store.profile("people", PROJECT, "user-42")
    assert profile["initial_utm_source"] == "newsletter"
    assert profile["initial_utm_campaign"] == "spring_sale"
    assert profile["initial_utm_id"] is None  # the SDK sends all ten keys
    assert (profile["plan"], profile["nights_booked"]) == ("premium", 3)


def test_python_sdk_profile_operations(server):
    for request in requests_of(FIXTURES / "python-sdk-consumer.jsonl"):
        replay(server, request)
    assert server.store.profile("people", PROJECT, "user-42") == {
        "$email": "jane@example.com",
        "last_stay": "2026-12-01T15:00:00",
        "nights_booked": 3,
        "visited_cities": [],
        "favorite_hotels": ["h-1", "h-2"],
        "$transactions": [{"currency": "EUR", "$amount": 240}],
    }
    assert server.store.profile("groups", PROJECT, "company", "acme-hotels") == {
        "name": "Acme Hotels",
        "created_via": "api",
        "regions": ["EU"],
    }
    merged = server.events(columns="event, properties")
    merge = [orjson.loads(r["properties"]) for r in merged if r["event"] == "$merge"]
    assert merge and merge[0]["$distinct_ids"] == ["user-42", "$device:abc"]
