"""Cross-site requests, sessions that end, and wrong secrets: through a real server on 127.0.0.1.

Clients that must not share a count of wrong secrets connect from their own loopback address
(127.0.0.2, 127.0.0.3, …): to the server they are different machines.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from collector.live import serving
from fastapi import FastAPI
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from playwright.sync_api import Browser
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from utmost.store import Store
from utmost.web import create_app

MINE, OTHER = "mine-secret", "other-secret"


@dataclass
class Site:
    url: str
    app: FastAPI
    store: Store

    def client(self, address: str = "127.0.0.1", **headers: str) -> httpx.Client:
        """A client connecting from ``address``, saying it comes from the site's own pages."""
        transport = httpx.HTTPTransport(local_address=address)
        return httpx.Client(base_url=self.url, transport=transport, timeout=30,
                            headers={"origin": self.url, **headers})


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Two projects, no events: every page a signed-in visitor sees names its project."""
    with Store(tmp_path_factory.mktemp("security") / "security.duckdb") as store:
        store.create_project("mine", "mine-token", MINE)
        store.create_project("other", "other-token", OTHER)
        app = create_app(store)
        with serving(app) as url:
            yield Site(url, app, store)


def signed_in(client: httpx.Client, secret: str = MINE) -> httpx.Response:
    response = client.post("/signin", data={"secret": secret, "next": "/send"})
    assert response.status_code == 303, response.text
    return response


def project_shown(client: httpx.Client) -> str | None:
    """The project the dashboard says one is signed in to; None on the sign-in page."""
    page = client.get("/send")
    if page.status_code == 303:
        return None
    return page.text.split('<span class="who">project <strong>')[1].split("</strong>")[0]


# --- item 3: cross-site requests ----------------------------------------------------------

def test_sign_in_and_out_only_from_the_servers_own_pages(site: Site) -> None:
    with site.client() as client:
        for origin in ("http://evil.example", "null", site.url.replace("127.0.0.1", "localhost"),
                       site.url.replace("http:", "https:"), site.url + "0"):
            refused = client.post("/signin", data={"secret": MINE}, headers={"origin": origin})
            assert refused.status_code == 403
            assert refused.json() == {"error": {"status": 403, "message": (
                f"refused a request from {origin} to {site.url}: only this server's own pages may make it")}}
            assert "set-cookie" not in refused.headers
        del client.headers["origin"]
        bare = client.post("/signin", data={"secret": MINE})
        assert bare.json()["error"]["message"] == (
            "a request that changes something must say where it comes from (an Origin or Referer header)")
        foreign = client.post("/signin", data={"secret": MINE}, headers={"referer": "http://evil.example/x"})
        assert foreign.status_code == 403
        assert client.post("/signin", data={"secret": MINE}, headers={"referer": f"{site.url}/signin"}).status_code == 303
        assert project_shown(client) == "mine"
        assert client.post("/signout", headers={"origin": "http://evil.example"}).status_code == 403
        assert project_shown(client) == "mine"
        assert client.post("/signout", headers={"origin": site.url.upper()}).status_code == 303
        assert project_shown(client) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(origin=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40).map(str.strip),
       header=st.sampled_from(["origin", "referer"]), method=st.sampled_from(["POST", "PUT", "DELETE", "PATCH"]))
def test_any_foreign_origin_is_refused_and_never_a_500(site: Site, origin: str, header: str, method: str) -> None:
    assume(site.url not in origin.lower())
    with httpx.Client(base_url=site.url, timeout=30) as client:
        response = client.request(method, "/signin", headers={header: origin}, data={"secret": MINE})
    assert response.status_code == 403, origin
    assert response.json()["error"]["status"] == 403


def test_a_page_on_another_origin_cannot_switch_or_end_the_session(site: Site, browser: Browser) -> None:
    """The issue's attack: a page elsewhere posts another project's secret to /signin."""
    code = site.app.state.sign_in_links.make(site.store.project("other"))
    page_html = f"""<!doctype html><title>win a prize</title>
        <form id="switch" method="post" action="{site.url}/signin"><input type="hidden" name="secret" value="{OTHER}">
          <button>Switch</button></form>
        <form id="end" method="post" action="{site.url}/signout"><button>End</button></form>
        <a href="{site.url}/signin/{code}">Link</a>"""
    elsewhere = Starlette(routes=[Route("/", lambda request: HTMLResponse(page_html))])
    context = browser.new_context(base_url=site.url)
    with serving(elsewhere) as attacker:
        page = context.new_page()
        page.goto("/signin")
        page.get_by_label("Project secret").fill(MINE)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/attribution")
        for button in ("Switch", "End"):
            page.goto(attacker)
            with page.expect_response(lambda r: r.request.method == "POST") as answer:
                page.get_by_role("button", name=button).click()
            assert answer.value.status == 403
        page.goto(attacker)
        page.get_by_role("link", name="Link").click()
        page.wait_for_url("**/signin?error=elsewhere")
        page.goto("/send")
        assert page.locator(".who strong").inner_text() == "mine"
    context.close()
    with site.client() as client:  # the link refused is still unused
        assert client.get(f"/signin/{code}").headers["location"] == "/attribution"
        assert project_shown(client) == "other"


def test_a_cookie_kept_after_sign_out_signs_nobody_in(site: Site) -> None:
    with site.client() as client:
        cookie = signed_in(client).cookies["session"]
        assert client.get("/api/properties").status_code == 200
        assert client.post("/signout").status_code == 303
    with site.client() as replay:
        replay.cookies.set("session", cookie)
        assert replay.get("/api/properties").status_code == 401
        assert replay.get("/send").headers["location"] == "/signin?next=%2Fsend"


def test_signing_in_again_ends_the_session_before(site: Site) -> None:
    with site.client() as client:
        first = signed_in(client).cookies["session"]
        signed_in(client, OTHER)
        assert project_shown(client) == "other"
    with site.client() as replay:
        replay.cookies.set("session", first)
        assert project_shown(replay) is None


def test_session_cookie_is_secure_over_https_only(site: Site) -> None:
    """Behind a TLS proxy on 127.0.0.1, which uvicorn trusts for X-Forwarded-Proto by default."""
    with site.client() as plain:
        cookie = signed_in(plain).headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    https = site.url.replace("http:", "https:")
    with site.client(origin=https, **{"x-forwarded-proto": "https"}) as proxied:
        assert signed_in(proxied).headers["set-cookie"].lower().endswith("; httponly; samesite=lax; secure")


# --- item 4: wrong secrets ------------------------------------------------------------------

def test_wrong_secrets_are_answered_429_after_ten_per_client(site: Site) -> None:
    with site.client("127.0.0.2") as guesser, site.client("127.0.0.3") as neighbour:
        statuses = [guesser.get("/api/properties", auth=(f"guess-{n}", "")).status_code for n in range(30)]
        assert statuses == [401] * 10 + [429] * 20
        refused = guesser.get("/api/properties", auth=(MINE, ""))  # even the right one: no oracle
        assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")
        assert refused.json()["error"] == {"status": 429, "message": (
            "too many wrong secrets from this address: try again in 1 s")}
        form = guesser.post("/signin", data={"secret": MINE})
        assert (form.status_code, form.headers["retry-after"]) == (429, "1")
        assert "Too many wrong secrets from your address: try again in 1 seconds." in form.text
        assert neighbour.get("/api/properties", auth=(MINE, "")).status_code == 200
        time.sleep(1.05)
        assert guesser.get("/api/properties", auth=(MINE, "")).status_code == 200
        assert guesser.get("/api/properties", auth=("guess-30", "")).status_code == 401
        again = guesser.get("/api/properties", auth=(MINE, ""))
        assert (again.status_code, again.headers["retry-after"]) == (429, "2")  # each wait doubles


def test_wrong_secrets_count_alike_on_the_form_the_api_and_import(site: Site) -> None:
    with site.client("127.0.0.4") as guesser:
        for n in range(4):
            assert guesser.post("/signin", data={"secret": f"guess-{n}"}).status_code == 401
            assert guesser.get("/api/properties", auth=(f"guess-{n}", "")).status_code == 401
        for n in range(2):
            assert guesser.post("/import", content=b"[]", auth=(f"guess-{n}", "")).status_code == 401
        assert guesser.post("/import", content=b"[]", auth=(MINE, "")).status_code == 429
        assert guesser.post("/signin", data={"secret": MINE}).status_code == 429
