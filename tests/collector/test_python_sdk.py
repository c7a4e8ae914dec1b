"""The official ``mixpanel`` Python SDK (from PyPI), unchanged, sending to a real collector."""

from __future__ import annotations

import datetime

import orjson
import pytest
from collector.live import PROJECT, SA_SECRET, SA_USER, SECRET, TOKEN
from mixpanel import BufferedConsumer, Consumer, Mixpanel, MixpanelException, ServiceAccountCredentials

T0 = 1_795_000_000


def urls(server) -> dict[str, str]:
    return {f"{kind}_url": f"{server.url}/{path}" for kind, path in
            (("events", "track"), ("people", "engage"), ("groups", "groups"), ("import", "import"))}


def test_track_import_merge_people_and_groups(server):
    mp = Mixpanel(TOKEN, consumer=Consumer(**urls(server)))
    mp.track("user-1", "Page View", {"utm_source": "newsletter", "amount": 3})
    mp.import_data(TOKEN, "user-1", "Historical Booking", T0, {"amount": 240, "$insert_id": "hist-1"}, api_secret=SECRET)
    mp.merge(TOKEN, "user-1", "$device:abc", api_secret=SECRET)
    mp.people_set("user-1", {"plan": "free", "since": datetime.datetime(2026, 11, 1, 10, 0)})
    mp.people_set_once("user-1", {"plan": "pro", "first": "web"})
    mp.people_increment("user-1", {"nights": 2})
    mp.people_increment("user-1", {"nights": 1})
    mp.people_append("user-1", {"cities": "Oslo"})
    mp.people_union("user-1", {"hotels": ["h-1", "h-2"]})
    mp.people_union("user-1", {"hotels": ["h-2", "h-3"]})
    mp.people_remove("user-1", {"hotels": "h-1"})
    mp.people_unset("user-1", ["first"])
    mp.people_track_charge("user-1", 240, {"currency": "EUR"})
    mp.people_set("user-2", {"plan": "free"})
    mp.people_delete("user-2")
    mp.group_set("company", "acme", {"rooms": 120, "name": "Acme"})
    mp.group_set_once("company", "acme", {"name": "Other"})
    mp.group_union("company", "acme", {"regions": ["EU", "US"]})
    mp.group_remove("company", "acme", {"regions": "US"})
    mp.group_unset("company", "acme", ["rooms"])

    rows = server.events(columns="event, distinct_id, utm_source, time, insert_id, properties")
    assert [r["event"] for r in rows] == ["Page View", "Historical Booking", "$merge"]
    assert rows[0]["utm_source"] == "newsletter"  # no $current_url: read from the properties
    assert rows[1]["time"] == datetime.datetime.fromtimestamp(T0, datetime.UTC).replace(tzinfo=None)
    assert rows[1]["insert_id"] == "hist-1"
    assert orjson.loads(rows[2]["properties"])["$distinct_ids"] == ["user-1", "$device:abc"]

    profile = server.store.profile("people", PROJECT, "user-1")
    transactions = profile.pop("$transactions")
    assert profile == {"plan": "free", "since": "2026-11-01T10:00:00", "nights": 3, "cities": ["Oslo"],
                       "hotels": ["h-2", "h-3"]}
    assert [t["$amount"] for t in transactions] == [240]
    assert server.store.profile("people", PROJECT, "user-2") is None
    assert server.store.profile("groups", PROJECT, "company", "acme") == {"name": "Acme", "regions": ["EU"]}


def test_buffered_consumer_flushes_batches(server):
    consumer = BufferedConsumer(max_size=50, **urls(server))
    mp = Mixpanel(TOKEN, consumer=consumer)
    for n in range(120):
        mp.track(f"user-{n % 7}", "Page View", {"n": n})
    for n in range(3):
        mp.people_set(f"user-{n}", {"n": n})
    consumer.flush()
    assert len(server.events()) == 120
    assert server.store.profile("people", PROJECT, "user-2") == {"n": 2}


def test_service_account_import(server):
    credentials = ServiceAccountCredentials(SA_USER, SA_SECRET, PROJECT)
    mp = Mixpanel(TOKEN, consumer=Consumer(credentials=credentials, **urls(server)))
    mp.import_data(TOKEN, "user-1", "Historical Booking", T0, {"$insert_id": "sa-1"})
    assert [r["insert_id"] for r in server.events(columns="insert_id")] == ["sa-1"]


def test_service_account_import_by_the_mixpanel_project_id(server):
    """Code migrated from Mixpanel keeps its numeric project id: the project carries it."""
    server.store.set_mixpanel_id(PROJECT, 2195193)
    credentials = ServiceAccountCredentials(SA_USER, SA_SECRET, "2195193")
    mp = Mixpanel(TOKEN, consumer=Consumer(credentials=credentials, **urls(server)))
    mp.import_data(TOKEN, "user-1", "Historical Booking", T0, {"$insert_id": "sa-2"})
    assert [r["insert_id"] for r in server.events(columns="insert_id")] == ["sa-2"]
    wrong = Mixpanel(TOKEN, consumer=Consumer(credentials=ServiceAccountCredentials(SA_USER, SA_SECRET, "2195194"),
                                              **urls(server)))
    with pytest.raises(MixpanelException, match="has no access to project '2195194'"):
        wrong.import_data(TOKEN, "user-1", "Historical Booking", T0, {"$insert_id": "sa-3"})


def test_the_sdk_raises_on_a_rejected_import(server):
    mp = Mixpanel(TOKEN, consumer=Consumer(**urls(server)))
    with pytest.raises(MixpanelException, match="invalid project secret"):
        mp.import_data(TOKEN, "user-1", "Historical Booking", T0, api_secret="wrong")
    with pytest.raises(MixpanelException, match="properties.time"):
        mp.import_data(TOKEN, "user-1", "Historical Booking", "yesterday", api_secret=SECRET)
    assert server.events() == []
