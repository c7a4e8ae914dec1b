"""The official mixpanel-browser SDK, from npm, in Debian's Chromium, against ``utmost serve``.

A visitor lands from a newsletter link, leaves, comes back two days later without UTMs, signs in
and books. Nothing is simulated on the wire: the SDK is the real one (``browser/package.json``
pins the version the wire fixtures were captured with), the site is served from its own origin,
so every request to the collector is a credentialed cross-origin XHR, and the only thing the site
configures is ``api_host``. The answer comes from the ``utmost`` command, as a user would ask it.
"""

from __future__ import annotations

import base64
import http.server
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from collector.live import free_port
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Response

from utmost.store import Store

BROWSER_DIR = Path(__file__).parent / "browser"
SDK = BROWSER_DIR / "node_modules" / "mixpanel-browser" / "dist" / "mixpanel.umd.js"

PROJECT, TOKEN, SECRET = "hotel", "browser-token", "browser-secret"
LANDING = "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
DAY = 86_400
#: The landing happened this long before the returning visit: far beyond the 30-minute session
#: timeout, well inside the 30-day lookback (and the 5 days Mixpanel's /track accepts).
GAP = 2 * DAY
#: The first-touch profile properties mixpanel-browser sets once when a landing carries a UTM.
SDK_INITIAL_UTM = tuple(f"initial_utm_{key}" for key in (
    "source", "medium", "campaign", "content", "term", "id", "source_platform", "campaign_id", "creative_format",
    "marketing_tactic"))

#: What the site serves, by path: (file, content type).
SITE = {
    "/": (BROWSER_DIR / "index.html", "text/html; charset=utf-8"),
    "/rooms/deluxe": (BROWSER_DIR / "deluxe.html", "text/html; charset=utf-8"),
    "/site.js": (BROWSER_DIR / "site.js", "text/javascript; charset=utf-8"),
    "/mixpanel.umd.js": (SDK, "text/javascript; charset=utf-8"),
}

#: How many items the SDK still holds in its localStorage batch queues (``__mpq_<token>_ev/_pp/_gr``).
QUEUED = f"""() => ['_ev', '_pp', '_gr']
    .map(suffix => JSON.parse(localStorage.getItem('__mpq_{TOKEN}' + suffix) || '[]').length)
    .reduce((a, b) => a + b, 0)"""


class _SiteHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        page = SITE.get(urlsplit(self.path).path)
        if page is None:
            self.send_error(404)
            return
        body = page[0].read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", page[1])
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    """The hotel's site on its own origin (``http://127.0.0.1:<port>``), in a thread."""
    assert SDK.exists(), f"{SDK} is missing: run scripts/test (npm ci in {BROWSER_DIR})"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SiteHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def utmost(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "utmost", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@dataclass
class Collector:
    """``utmost serve`` in a subprocess: the way users run it."""

    db: Path
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, then wait for a clean exit: DuckDB lets one process at a time open the file."""
        self.process.send_signal(signal.SIGTERM)
        returncode = self.process.wait(timeout=30)
        assert returncode == 0, f"utmost serve exited with {returncode}:\n{self.output()}"


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    db = tmp_path / "utmost.duckdb"
    created = utmost("project", "create", PROJECT, "--token", TOKEN, "--secret", SECRET, "--db", str(db),
                     cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "utmost", "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    served = Collector(db, f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_healthy(served)
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_until_healthy(collector: Collector, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert collector.process.poll() is None, f"utmost serve exited:\n{collector.output()}"
        try:
            if httpx.get(collector.url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"utmost serve did not answer /healthz in {timeout} s:\n{collector.output()}")


@dataclass(frozen=True)
class Exchange:
    """One request to the collector and what came back, as the network saw it."""

    method: str
    url: str
    body: str | None
    status: int  # 0 when the request failed
    headers: dict[str, str]
    failure: str | None = None

    def __str__(self) -> str:
        try:
            sent = json.dumps(_batch(self.body or ""))
        except (KeyError, ValueError):
            sent = repr(self.body)
        answer = self.failure or f"{self.status} {self.headers}"
        return f"{self.method} {self.url} → {answer}\n  {sent}"


@dataclass
class Visit:
    """What one browser profile did: its exchanges with the collector and its pages' errors.

    Exchanges come from Playwright's ``response`` and ``requestfailed`` events. A response that
    CORS hides from the page is not reported as a response at all: the request fails and the
    page's console says why, so the console errors are the first thing to read.
    """

    collector: str
    exchanges: list[Exchange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: (path, item) → how many times a batch holding it got a 2xx; an item is an event name on
    #: /track/ and the operation (``$set``, ``$set_once``, …) on /engage/ and /groups/.
    delivered: Counter = field(default_factory=Counter)

    def record(self, context: BrowserContext) -> None:
        context.on("response", self._on_response)
        context.on("requestfailed", self._on_failure)
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.errors.append(f"page: {error.error}"))

    def _on_response(self, response: Response) -> None:
        request = response.request
        if not request.url.startswith(self.collector + "/"):
            return
        self.exchanges.append(Exchange(request.method, request.url, request.post_data, response.status,
                                       response.headers))
        if 200 <= response.status < 300 and request.post_data:
            path = urlsplit(request.url).path
            self.delivered.update((path, item) for item in _items(request.post_data))

    def _on_failure(self, request: Request) -> None:
        if request.url.startswith(self.collector + "/"):
            self.exchanges.append(Exchange(request.method, request.url, request.post_data, 0, {}, request.failure))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def __str__(self) -> str:
        return "errors on the pages:\n" + "\n".join(self.errors) + "\nwire:\n" + "\n".join(map(str, self.exchanges))


def _batch(body: str) -> list[dict]:
    """What one SDK batch carries: ``data=`` is base64 of a JSON array."""
    return json.loads(base64.b64decode(parse_qs(body)["data"][0], validate=True))


def _items(body: str) -> list[str]:
    """The name of each item in a batch: the event, or the profile operation."""
    ops = ("$set", "$set_once", "$add", "$append", "$union", "$remove", "$unset", "$delete")
    return [item["event"] if "event" in item else next(op for op in ops if op in item) for item in _batch(body)]


def wait_until_delivered(page: Page, visit: Visit, expected: Counter, timeout: float = 15) -> None:
    """Until the collector has acknowledged ``expected`` and the SDK's queues are empty.

    The SDK enqueues asynchronously (under a localStorage lock) and flushes on a timer, so an
    empty queue alone could be a queue not yet written; the acknowledged items say it was. An
    error on the page ends the wait at once: the SDK drops a batch whose answer CORS hid.
    """
    deadline = time.monotonic() + timeout
    while not (visit.delivered >= expected and page.evaluate(QUEUED) == 0):
        assert not visit.errors, visit
        assert time.monotonic() < deadline, (f"not delivered in {timeout} s: {dict(expected - visit.delivered)}, "
                                             f"{page.evaluate(QUEUED)} item(s) still queued\n{visit}")
        page.wait_for_timeout(50)


def visit_site(browser: Browser, site: str, collector: str, landed_at: float) -> Visit:
    """The visitor's story, in one browser profile (cookie and localStorage persist).

    The landing runs on Playwright's fake clock set to ``landed_at``; it flows at the normal
    pace and timers fire, so the SDK behaves as usual but stamps the landing's events then.
    Before the returning visit the clock is set to the real time: two days later for the SDK.
    """
    visit = Visit(collector)
    context = browser.new_context()
    try:
        visit.record(context)
        context.add_init_script(f"window.COLLECTOR = {json.dumps({'token': TOKEN, 'apiHost': collector})};")
        context.clock.install(time=landed_at)

        landing = context.new_page()
        landing.goto(site + LANDING)
        wait_until_delivered(landing, visit, Counter({("/track/", "$mp_web_page_view"): 1}))
        landing.close()

        context.clock.set_system_time(time.time())
        later = context.new_page()
        later.goto(site + "/rooms/deluxe")
        later.fill("#user", "user-42")
        later.click("#sign-in button")
        later.click("#book")
        wait_until_delivered(later, visit, Counter({
            ("/track/", "$mp_web_page_view"): 2, ("/track/", "$identify"): 1,
            ("/track/", "Reservation Completed"): 1, ("/engage/", "$set_once"): 1, ("/engage/", "$set"): 1}))
        later.close()
    finally:
        context.close()
    return visit


def attribute(collector: Collector, scope: str) -> list[dict]:
    result = utmost("attribute", "--db", str(collector.db), "--project", PROJECT,
                    "--conversion", "Reservation Completed", "--models", "first_touch", "--scope", scope,
                    "--format", "json", cwd=collector.db.parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_returning_visitor_credits_the_landing(browser: Browser, site: str, collector: Collector) -> None:
    landed_at = time.time() - GAP
    visit = visit_site(browser, site, collector.url, landed_at)

    assert visit.errors == [], visit
    for exchange in visit.exchanges:  # a credentialed XHR needs its origin echoed, never "*"
        assert exchange.status == 200, exchange
        assert exchange.headers.get("access-control-allow-origin") == site, exchange
        assert exchange.headers.get("access-control-allow-credentials") == "true", exchange
    collector.stop()

    assert attribute(collector, "user") == [
        {"model": "first_touch", "utm_source": "newsletter", "conversions": 1.0, "revenue": 240.0}]
    # The returning visit is its own session and carries no landing UTMs (only the persisted
    # super properties echo them), so within the session nothing touched the conversion.
    assert attribute(collector, "session") == [
        {"model": "first_touch", "utm_source": "(none)", "conversions": 1.0, "revenue": 240.0}]

    with Store(collector.db) as store:
        profile = store.profile("people", PROJECT, "user-42")
        stamped = store.reader().execute(
            "SELECT event, epoch(time) FROM events WHERE project = ? ORDER BY time, seq", [PROJECT]).fetchall()
    # The first touch the SDK queued on the landing, sent with identify() two days later: all
    # ten keys, null for those the link did not carry.
    assert profile is not None
    assert {key: profile.get(key) for key in SDK_INITIAL_UTM} == {
        **dict.fromkeys(SDK_INITIAL_UTM),
        "initial_utm_source": "newsletter", "initial_utm_medium": "email", "initial_utm_campaign": "spring"}
    assert profile.get("$name") == "Ada Guest"
    # Each event once, stamped by the SDK: the landing then, the rest two days later.
    (landing, landed), *later = stamped
    assert landing == "$mp_web_page_view" and abs(landed - landed_at) < 30, stamped
    assert sorted(name for name, _ in later) == ["$identify", "$mp_web_page_view", "Reservation Completed"]
    assert all(abs(at - landed - GAP) < 60 for _, at in later), stamped
