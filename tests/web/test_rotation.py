"""A rotated secret stops working at once, through a real server on 127.0.0.1: for /import, for
the query API, and for the dashboard sessions signed in with it (issue 21, item 2)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
from collector.live import serving
from conftest import event
from fastapi import FastAPI

from utmost.errors import ProjectError
from utmost.store import Store
from utmost.web import create_app

OLD, OTHER = "hotel-secret-before-rotation", "spa-secret-never-rotated"


@dataclass
class Site:
    url: str
    app: FastAPI
    store: Store


@pytest.fixture
def site(tmp_path) -> Iterator[Site]:
    with Store(tmp_path / "rotation.duckdb") as store:
        store.create_project("hotel", "hotel-token", OLD)
        store.create_project("spa", "spa-token", OTHER)
        app = create_app(store)
        with serving(app) as url:
            yield Site(url, app, store)


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30, headers={"origin": url})


def sign_in(browser: httpx.Client, secret: str) -> None:
    assert browser.post("/signin", data={"secret": secret, "next": "/send"}).status_code == 303


def imports(api: httpx.Client, secret: str, n: int) -> httpx.Response:
    body = orjson.dumps([event(time=1_700_000_000 + n, **{"$insert_id": f"i{n}"})])
    return api.post("/import", content=body, auth=(secret, ""), headers={"content-type": "application/json"})


def test_the_old_secret_stops_working_at_once_everywhere(site: Site) -> None:
    url, store = site.url, site.store
    with client(url) as api, client(url) as hotel_tab, client(url) as spa_tab:
        sign_in(hotel_tab, OLD)
        sign_in(spa_tab, OTHER)
        assert imports(api, OLD, 1).status_code == 200  # good once: /import now keeps it as checked
        assert api.get("/api/properties", auth=(OLD, "")).status_code == 200
        assert hotel_tab.get("/send").status_code == 200

        new = store.rotate_secret("hotel").secret
        assert new is not None and len(new) == 32 and new != OLD

        refused = imports(api, OLD, 2)
        assert (refused.status_code, refused.json()["error"]) == (401, "invalid project secret")
        assert api.get("/api/properties", auth=(OLD, "")).status_code == 401
        assert hotel_tab.get("/send").headers["location"] == "/signin?next=%2Fsend"  # signed out
        assert hotel_tab.get("/api/properties").status_code == 401
        assert hotel_tab.post("/signin", data={"secret": OLD}).status_code == 401

        assert imports(api, new, 3).status_code == 200
        assert api.get("/api/properties", auth=(new, "")).status_code == 200
        sign_in(hotel_tab, new)
        assert hotel_tab.get("/send").status_code == 200
        assert spa_tab.get("/send").status_code == 200  # another project's session goes on
    events = store.reader().execute("SELECT insert_id FROM events WHERE project = 'hotel' ORDER BY seq").fetchall()
    assert events == [("i1",), ("i3",)]


def test_a_sign_in_link_made_before_the_rotation_signs_in_for_no_longer_than_the_secret(site: Site) -> None:
    code = site.app.state.sign_in_links.make(site.store.project("hotel"))
    site.store.rotate_secret("hotel")
    with client(site.url) as browser:
        landed = browser.get(f"/signin/{code}", follow_redirects=True)
    assert (landed.status_code, landed.url.path) == (200, "/signin")


def test_rotating_an_unknown_project_is_refused(site: Site) -> None:
    with pytest.raises(ProjectError, match=r"^no project 'nope' \(see `utmost project list`\)$"):
        site.store.rotate_secret("nope")
