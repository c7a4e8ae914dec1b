"""``POST /api/spend`` on a real server on 127.0.0.1: auth, same origin, the report, the limits,
and hostile bodies that never get a 5xx."""

from __future__ import annotations

import base64
import datetime
import gzip
import socket

import httpx
import pytest
from collector.live import serving
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utmost.ingest import MAX_SPEND_BYTES
from utmost.store import Store
from utmost.web import create_app

SECRET = "spend-secret-0123456789"
BODY = (b"date,utm_source,utm_medium,utm_campaign,cost,currency\n"
        b"2026-03-01,google,cpc,brand,12.50,EUR\n"
        b"2026-03-01,google,cpc,brand,7.25,EUR\n"
        b"2026-03-02,google,cpc,brand,-1,EUR\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spend")
    with Store(folder / "s.duckdb") as store:
        store.create_project("shop", secret=SECRET)
        store.create_project("other", secret="other-secret-0123456789")
        with serving(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as client:
            yield {"client": client, "store": store, "db": folder / "s.duckdb"}


def post(site, body: bytes, secret: str = SECRET, params=None, headers=None) -> httpx.Response:
    return site["client"].post("/api/spend", content=body, params=params, auth=(secret, ""),
                               headers={"content-type": "text/csv", **(headers or {})})


def test_an_import_answers_its_report_and_is_stored(site):
    first = post(site, BODY)
    assert first.status_code == 200, first.text
    assert first.json() == {"imported": 1, "replaced": 0, "rejected": 1, "problems": ["line 4: cost -1 is negative"],
                            "currency": "EUR"}
    assert post(site, gzip.compress(BODY)).json()["replaced"] == 1
    assert [tuple(r.values()) for r in site["store"].spend("shop").to_pylist()] == [
        (datetime.date(2026, 3, 1), "google", "cpc", "brand", 19.75, "EUR")]
    assert site["store"].spend("other").num_rows == 0


def test_presets_and_maps_are_query_parameters(site):
    meta = b"Reporting starts,Reporting ends,Campaign name,Amount spent (EUR)\n2026-03-05,2026-03-05,Spring,40.10\n"
    assert post(site, meta, params={"columns": "meta"}).json()["imported"] == 1
    own = b"Tag,Spend\n2026-03-06,3\n"
    answer = post(site, own, params=[("map", "Tag=date"), ("map", "Spend=cost"), ("set", "utm_source=bing"),
                                     ("set", "utm_medium=cpc"), ("set", "utm_campaign=x")])
    assert answer.status_code == 200 and answer.json()["imported"] == 1


@pytest.mark.parametrize(("secret", "headers", "status"), [
    ("wrong-secret", {}, 401),
    (SECRET, {"origin": "https://evil.example"}, 403),
    (SECRET, {"referer": "https://evil.example/page"}, 403),
])
def test_a_wrong_secret_or_another_origin_is_refused(site, secret, headers, status):
    answer = post(site, BODY.replace(b"12.50", b"99"), secret, headers=headers)
    assert answer.status_code == status and set(answer.json()["error"]) == {"status", "message"}
    assert 99.0 not in site["store"].spend("shop").column("cost").to_pylist()


def test_a_project_named_must_be_the_secrets(site):
    assert post(site, BODY, params={"project": "shop"}).status_code == 200
    answer = post(site, BODY, params={"project": "other"})
    assert (answer.status_code, answer.json()["error"]["message"]) == (403, "this secret is project shop's, not other's")


@pytest.mark.parametrize(("body", "params", "status", "message"), [
    (b"", None, 400, "empty body: send the CSV (Content-Type: text/csv)"),
    (b"day,cost\n1,2\n", None, 400, "body:1: the header has no column for date, utm_source, utm_medium, utm_campaign"),
    (b"\x1f\x8bnot gzip", None, 400, "body: not a readable gzip file"),
    (BODY, {"columns": "facebook"}, 400, "unknown columns 'facebook' (known: google-ads, meta)"),
    (BODY, {"map": "Day"}, 400, "map 'Day': expected COLUMN=FIELD"),
])
def test_a_body_that_cannot_be_read_is_a_400_and_stores_nothing(site, body, params, status, message):
    before = site["store"].spend("shop")
    answer = post(site, body, params=params)
    assert answer.status_code == status and answer.json()["error"]["message"].startswith(message), answer.text
    assert site["store"].spend("shop").equals(before)


def test_a_body_over_the_limit_is_refused_unread(site):
    """A declared length over the limit is answered 413 with only the headers sent."""
    url = httpx.URL(str(site["client"].base_url))
    credentials = base64.b64encode(f"{SECRET}:".encode()).decode()
    with socket.create_connection((url.host, url.port), timeout=30) as connection:
        connection.sendall(f"POST /api/spend HTTP/1.1\r\nHost: {url.host}\r\nAuthorization: Basic {credentials}\r\n"
                           f"Content-Length: {MAX_SPEND_BYTES + 1}\r\n\r\n".encode())
        head = connection.recv(65536).decode()
    assert head.startswith("HTTP/1.1 413 ") and f"at most {MAX_SPEND_BYTES:,}" in head
    big = gzip.compress(b"date,utm_source,utm_medium,utm_campaign,cost\n" + b" " * (MAX_SPEND_BYTES + 10))
    unzipped = post(site, big)
    assert unzipped.status_code == 400 and "once unzipped" in unzipped.json()["error"]["message"]


def test_the_endpoint_is_in_the_openapi_documents(site):
    for document in ("/openapi.json", "/docs/openapi.json"):
        operation = site["client"].get(document).json()["paths"]["/api/spend"]["post"]
        assert "text/csv" in operation["requestBody"]["content"]
        assert {p["name"] for p in operation["parameters"]} == {"columns", "map", "set", "project"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=600) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
       header=st.booleans(), columns=st.sampled_from([None, "google-ads", "meta"]))
def test_arbitrary_bodies_never_get_a_5xx(site, body, header, columns):
    prefix = b"date,utm_source,utm_medium,utm_campaign,cost,currency\n" if header else b""
    answer = post(site, prefix + body, params={"columns": columns} if columns else None)
    assert answer.status_code in (200, 400), answer.text
    assert set(answer.json()) == ({"error"} if answer.status_code == 400 else
                                  {"imported", "replaced", "rejected", "problems", "currency"})
