"""The dashboard in Debian's Chromium against a real server over the demo's data.

Every number a page shows is checked against ``/api`` for the same question: exactly where the
page keeps the number (``data-value``, every digit), and as the page rounds it where it prints
it. Every tab the tests open also records the browser's console and requests: a console
error, an uncaught exception or a request to another origin fails the test that caused it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from collector.live import serving
from conftest import raw_lines
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, Request

from utmost import demo
from utmost.store import Store
from utmost.store.importer import import_files
from utmost.web import create_app

CONVERSION = "Reservation Completed"
DEFAULT_QUERY = f"conversion={quote(CONVERSION)}&models=first_touch,last_touch,linear"


@dataclass
class Dashboard:
    """The app on 127.0.0.1 over the demo's events; ``api`` asks with the project secret."""

    url: str
    app: FastAPI
    store: Store
    secret: str
    api: httpx.Client

    def conversions(self, start: str = "1970-01-01", end: str = "9999-12-31") -> int:
        """How many conversions a question counts, straight from the events (``end`` inclusive)."""
        ((count,),) = self.store.reader().execute(
            "SELECT count(*) FROM events WHERE project = ? AND event = ? AND time >= CAST(? AS DATE) "
            "AND time < CAST(? AS DATE) + INTERVAL 1 DAY", [self.store.project().name, CONVERSION, start, end],
        ).fetchall()
        return count


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    folder = tmp_path_factory.mktemp("dashboard")
    export = folder / "demo.jsonl"
    export.write_bytes(b"".join(demo.generate_lines(seed=7, visitors=300)))
    with Store(folder / "dashboard.duckdb") as store:
        project = store.project()  # created here: the one time its secret is known
        import_files(store, project.name, [export], strict=True)
        app = create_app(store)
        secret = project.secret
        with serving(app) as url, httpx.Client(base_url=url, auth=(secret, ""), timeout=60) as api:
            yield Dashboard(url, app, store, secret, api)


@dataclass
class Tab:
    """A page in a fresh browser context that remembers what went wrong and where it went."""

    page: Page
    secret: str
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    #: Pages answered with an error status on purpose: Chromium logs each as a console error.
    expected_statuses: set[int] = field(default_factory=set)

    def on_console(self, message: ConsoleMessage) -> None:
        expected = any(f"status of {s} " in message.text for s in self.expected_statuses)
        if message.type == "error" and not expected:
            self.problems.append(f"console: {message.text} ({message.location.get('url')})")

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def sign_in(self, path: str = "/attribution") -> None:
        """Through the sign-in form, to ``path`` (where the sign-in page sends one back)."""
        self.page.goto(path)
        self.page.get_by_label("Project secret").fill(self.secret)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(lambda url: urlsplit(url).path == urlsplit(path).path)


@contextmanager
def open_tab(browser: Browser, url: str, secret: str) -> Iterator[Tab]:
    """A fresh context on the dashboard at ``url``; on leaving, nothing went wrong in it and
    nothing was loaded from another origin."""
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    opened = Tab(context.new_page(), secret)
    opened.page.on("console", opened.on_console)
    opened.page.on("pageerror", lambda error: opened.problems.append(f"page error: {error}"))
    opened.page.on("request", opened.on_request)
    yield opened
    context.close()
    assert opened.problems == []
    elsewhere = [u for u in opened.requests if not u.startswith(url + "/")]
    assert elsewhere == [], "the dashboard loaded something from another origin"


@pytest.fixture
def tab(browser: Browser, dashboard: Dashboard) -> Iterator[Tab]:
    with open_tab(browser, dashboard.url, dashboard.secret) as opened:
        yield opened


# --- reading the pages ------------------------------------------------------------------------

READ_TABLE = """() => Array.from(document.querySelectorAll('#credit tbody tr')).map(tr => ({
    key: JSON.parse(tr.dataset.key),
    cells: Array.from(tr.querySelectorAll('td')).map(td => ({
        model: td.dataset.model, metric: td.dataset.metric, text: td.textContent.trim(),
        value: td.dataset.value, low: td.dataset.low ?? null, high: td.dataset.high ?? null})),
}))"""
READ_CHART = """(metric) => ({
    bars: Array.from(document.querySelectorAll(`#chart-${metric} svg g.bar`)).map(g => ({
        model: g.dataset.model, key: g.dataset.key, value: g.dataset.value})),
    labels: Array.from(document.querySelectorAll(`#chart-${metric} svg .axis.x text`)).map(t => t.textContent),
})"""
#: The charts' legend (HTML beneath the links): each model's words, and whether all of them show.
READ_LEGEND = """() => Array.from(document.querySelectorAll('ul.legend li')).map(li => {
    const box = li.getBoundingClientRect();
    return {text: li.textContent.trim(), model: li.dataset.model, left: box.left, right: box.right,
            clipped: li.scrollWidth > li.clientWidth || box.width === 0};
})"""


def ask_api(dashboard: Dashboard, query: str) -> list[dict[str, Any]]:
    response = dashboard.api.get(f"/api/attribution?{query}")
    assert response.status_code == 200, response.text
    return response.json()


def expected_cells(rows: list[dict[str, Any]], by: list[str], models: list[str], conversions: int,
                   intervals: bool) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """What the table must show per key, from the API's rows, rounded as the page rounds."""
    found = {(r["model"], *(r[p] for p in by)): r for r in rows}
    keys = sorted({tuple(r[p] for p in by) for r in rows})
    table = {}
    for key in keys:
        cells = []
        for model in models:
            row = found.get((model, *key), {})
            credit, revenue = row.get("conversions", 0.0), row.get("revenue", 0.0)
            cells += [
                {"model": model, "metric": "conversions", "text": f"{credit:,.2f}", "value": repr(credit),
                 "low": None, "high": None},
                {"model": model, "metric": "share", "text": f"{credit / conversions:.1%}",
                 "value": repr(credit / conversions), "low": None, "high": None},
                {"model": model, "metric": "revenue", "text": f"{revenue:,.2f}", "value": repr(revenue),
                 "low": None, "high": None},
            ]
            if intervals:
                for metric in ("conversions", "revenue"):
                    low, high = row.get(f"{metric}_low", 0.0), row.get(f"{metric}_high", 0.0)
                    cells.append({"model": model, "metric": f"{metric}_ci", "text": f"{low:,.2f} – {high:,.2f}",
                                  "value": repr(low), "low": repr(low), "high": repr(high)})
        table[key] = cells
    return table


def check_answer(tab: Tab, dashboard: Dashboard, query: str, by: list[str], models: list[str],
                 conversions: int, intervals: bool = False) -> list[dict[str, Any]]:
    """The page's table and chart hold exactly the API's answer to ``query``; returns the table."""
    page = tab.page
    assert urlsplit(page.url).query == query
    assert page.get_by_role("link", name="This answer as JSON").get_attribute("href") == f"/api/attribution?{query}"
    rows = ask_api(dashboard, query)
    # The same answer through the page's own session cookie, as a script on the page would get it.
    assert page.request.get(f"/api/attribution?{query}").json() == rows
    expected = expected_cells(rows, by, models, conversions, intervals)
    table = page.evaluate(READ_TABLE)
    assert {tuple(r["key"]): r["cells"] for r in table} == expected
    first = [next(c["value"] for c in r["cells"] if c["model"] == models[0]) for r in table]
    assert [float(v) for v in first] == sorted((float(v) for v in first), reverse=True)
    assert page.get_by_role("heading", name=re.compile(f"^{conversions:,} “{CONVERSION}” conversions")).is_visible()

    labels = [" · ".join(r["key"]) for r in table]
    for metric in ("conversions", "revenue"):  # a chart of each, the same bars as the table's cells
        chart = page.evaluate(READ_CHART, metric)
        assert chart["labels"] == labels, "one group of bars per key, in the table's order"
        for key in expected:
            label = " · ".join(key)
            group = {b["model"]: b["value"] for b in chart["bars"] if b["key"] == label}
            assert group == {c["model"]: c["value"] for c in expected[key] if c["metric"] == metric}
        assert len(chart["bars"]) == len(expected) * len(models)
    assert [item["text"] for item in page.evaluate(READ_LEGEND)] == models
    return table


# --- signing in -------------------------------------------------------------------------------

def test_sign_in_wrong_secret_then_right(tab: Tab) -> None:
    page = tab.page
    tab.expected_statuses = {401}
    page.goto("/attribution?scope=session")
    assert urlsplit(page.url).path == "/signin"
    page.get_by_label("Project secret").fill("not-the-secret")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401
    assert page.get_by_role("alert").inner_text() == "That is not the secret of any project on this server."
    assert page.get_by_label("Project secret").get_attribute("aria-invalid") == "true"

    page.get_by_label("Project secret").fill(tab.secret)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/attribution?*")
    assert urlsplit(page.url).query == f"conversion={quote(CONVERSION)}&scope=session", "back where it was going"
    assert page.locator("#credit tbody tr").count() > 0

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    page.goto("/journey")
    assert urlsplit(page.url).path == "/signin"


def test_one_time_sign_in_link(tab: Tab, dashboard: Dashboard) -> None:
    code = dashboard.app.state.sign_in_links.make(dashboard.store.project())
    tab.page.goto(f"/signin/{code}")
    assert urlsplit(tab.page.url).query == DEFAULT_QUERY
    tab.page.context.clear_cookies()
    tab.page.goto(f"/signin/{code}")  # used up
    assert urlsplit(tab.page.url).path == "/signin"
    assert "invalid or was already used" in tab.page.get_by_role("alert").inner_text()


# --- attribution ------------------------------------------------------------------------------

def test_default_question_chart_and_table_equal_the_api(tab: Tab, dashboard: Dashboard) -> None:
    tab.sign_in()
    assert urlsplit(tab.page.url).query == DEFAULT_QUERY
    assert tab.page.locator("#conversion").input_value() == CONVERSION
    assert tab.page.get_by_role("radio", name=re.compile("Across sessions and devices")).is_checked()
    check_answer(tab, dashboard, DEFAULT_QUERY, ["utm_source"], ["first_touch", "last_touch", "linear"],
                 dashboard.conversions())


def test_changing_models_and_scope_updates_chart_and_table(tab: Tab, dashboard: Dashboard) -> None:
    tab.sign_in()
    page = tab.page
    before = page.evaluate(READ_TABLE)
    page.get_by_role("checkbox", name="last_touch").uncheck()
    page.get_by_role("checkbox", name="u_shaped").check()
    page.get_by_role("radio", name=re.compile("Only the conversion’s own session")).check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**scope=session*")
    query = f"conversion={quote(CONVERSION)}&models=first_touch,linear,u_shaped&scope=session"
    after = check_answer(tab, dashboard, query, ["utm_source"], ["first_touch", "linear", "u_shaped"],
                         dashboard.conversions())
    assert page.get_by_role("radio", name=re.compile("Only the conversion’s own session")).is_checked()
    assert "Scope session:" in page.locator(".summary").inner_text()
    first_touch = {tuple(r["key"]): r["cells"][0]["value"] for r in before}
    assert {tuple(r["key"]): r["cells"][0]["value"] for r in after} != first_touch, "session scope loses credit"


def test_by_dates_and_intervals(tab: Tab, dashboard: Dashboard) -> None:
    tab.sign_in()
    page = tab.page
    by = page.get_by_role("group", name=re.compile("^Credit by"))
    assert by.get_by_role("checkbox", name="utm_source", exact=True).is_checked()
    by.get_by_role("checkbox", name="utm_medium", exact=True).check()  # a plain click: no modifier key
    page.get_by_label("From", exact=True).fill("2026-09-10")
    page.get_by_label("To (inclusive)").fill("2026-10-05")
    page.get_by_role("checkbox", name=re.compile("Confidence intervals")).check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**ci=0.95*")
    query = (f"conversion={quote(CONVERSION)}&models=first_touch,last_touch,linear&by=utm_source,utm_medium"
             "&ci=0.95&from=2026-09-10&to=2026-10-05")
    check_answer(tab, dashboard, query, ["utm_source", "utm_medium"], ["first_touch", "last_touch", "linear"],
                 dashboard.conversions("2026-09-10", "2026-10-05"), intervals=True)
    for metric in ("conversions", "revenue"):
        assert page.locator(f"#chart-{metric} svg .ci").count() > 0, "the intervals are drawn as whiskers"


def test_table_sorts_by_any_column(tab: Tab) -> None:
    tab.sign_in()
    page = tab.page
    keys = lambda: [r["key"][0] for r in page.evaluate(READ_TABLE)]  # noqa: E731
    credit = page.locator("table#credit")  # the difference view below has a utm_source heading too
    credit.get_by_role("button", name="utm_source").click()
    assert keys() == sorted(keys())
    assert credit.locator("th", has=page.get_by_role("button", name="utm_source")).get_attribute("aria-sort") == "ascending"
    credit.get_by_role("button", name="utm_source").press("Enter")
    assert keys() == sorted(keys(), reverse=True)
    page.get_by_role("button", name="linear revenue").click()
    revenue = [float(c["value"]) for r in page.evaluate(READ_TABLE) for c in r["cells"]
               if c["model"] == "linear" and c["metric"] == "revenue"]
    assert revenue == sorted(revenue, reverse=True)


def test_bad_question_is_explained_in_the_page(tab: Tab) -> None:
    tab.expected_statuses = {400}
    tab.sign_in()
    response = tab.page.goto(f"/attribution?conversion={quote(CONVERSION)}&models=first_touch,lienar")
    assert response is not None and response.status == 400
    assert "unknown model 'lienar'. Did you mean linear?" in tab.page.get_by_role("alert").inner_text()
    assert tab.page.get_by_role("button", name="Show").is_visible(), "the form stays, to fix the question"
    response = tab.page.goto("/attribution?conversion=Booked")
    assert response is not None and response.status == 400
    assert "conversion event 'Booked' never occurs" in tab.page.get_by_role("alert").inner_text()


# --- journey ----------------------------------------------------------------------------------

def two_device_booker(dashboard: Dashboard) -> str:
    ((user,),) = dashboard.store.reader().execute(
        "SELECT user_id FROM events WHERE project = ? AND user_id IS NOT NULL GROUP BY user_id "
        "HAVING count(DISTINCT device_id) >= 2 AND count(*) FILTER (WHERE event = ?) > 0 ORDER BY user_id LIMIT 1",
        [dashboard.store.project().name, CONVERSION],
    ).fetchall()
    return user


READ_JOURNEY = """() => ({
    ids: Array.from(document.querySelectorAll('ul.ids li')).map(li => li.dataset.id),
    lanes: Array.from(document.querySelectorAll('svg.timeline .lane-label')).length,
    touchpoints: document.querySelectorAll('svg.timeline g.mark.touchpoint').length,
    conversions: Array.from(document.querySelectorAll('article.conversion')).map(article => ({
        id: article.dataset.conversion,
        statuses: Array.from(article.querySelectorAll('table.touches tbody tr')).map(tr => tr.dataset.status),
        credit: Array.from(article.querySelectorAll('table.credit tbody tr')).map(tr => ({
            model: tr.dataset.model,
            cells: Array.from(tr.querySelectorAll('td')).map(td => [td.dataset.key, td.dataset.value, td.textContent]),
        })),
    })),
})"""


def test_journey_shows_merged_devices_and_credit_per_model(tab: Tab, dashboard: Dashboard) -> None:
    user = two_device_booker(dashboard)
    person = dashboard.api.get(f"/api/people/{user}").json()
    devices = [i for i in person["ids"] if i.startswith("$device:")]
    assert len(devices) >= 2, "the demo has people who signed in on two devices"

    tab.sign_in("/journey")
    page = tab.page
    page.get_by_label("Any id of the person").fill(devices[-1])  # found by a device id, too
    page.get_by_role("button", name="Follow").click()
    page.wait_for_url("**/journey?id=*")
    shown = page.evaluate(READ_JOURNEY)
    assert shown["ids"] == sorted(person["ids"], key=lambda i: (i.startswith("$device:"), i))
    assert shown["lanes"] == len(person["ids"])
    assert page.get_by_role("heading", name=person["person"], exact=True).is_visible()

    journey = dashboard.api.get("/api/journey", params={"id": devices[-1], "conversion": CONVERSION}).json()
    assert shown["touchpoints"] == sum(1 for e in journey["events"] if e["touch"] == "touchpoint")
    expected = {}
    for row in journey["credits"]:
        expected.setdefault(row["insert_id"], {}).setdefault(row["model"], {})[row["utm_source"]] = row["credit"]
    assert [c["id"] for c in shown["conversions"]] == list(expected)
    for conversion in shown["conversions"]:
        statuses = [t["status"] for t in journey["touchpoints"] if t["conversion"] == conversion["id"]]
        assert conversion["statuses"] == statuses
        models = expected[conversion["id"]]
        assert [row["model"] for row in conversion["credit"]] == list(models), "every model, in the API's order"
        for row in conversion["credit"]:
            for key, value, text in row["cells"]:
                credit = models[row["model"]].get(key, 0.0)
                assert (value, text) == (repr(credit), f"{credit:.2f}" if credit else "·")


def test_journey_without_id_lists_latest_bookers_and_unknown_id_is_explained(tab: Tab) -> None:
    tab.expected_statuses = {400}
    tab.sign_in("/journey")
    latest = tab.page.locator("ul.people a")
    assert latest.count() > 0
    latest.first.click()
    tab.page.wait_for_url("**/journey?id=*")
    assert tab.page.locator("article.conversion").count() > 0
    response = tab.page.goto("/journey?id=nobody-at-all")
    assert response is not None and response.status == 400
    assert tab.page.get_by_role("alert").inner_text() == "no person has the id 'nobody-at-all' in project 'default'"


# --- sending data -----------------------------------------------------------------------------

def test_send_page_has_the_snippets_but_not_the_secret(tab: Tab, dashboard: Dashboard) -> None:
    tab.sign_in("/send")
    text = tab.page.locator("main").inner_text()
    token = dashboard.store.project().token
    assert f'mixpanel.init("{token}", {{api_host: "{dashboard.url}"}});' in text
    assert f'host = "{dashboard.url}"' in text and f'Mixpanel("{token}"' in text
    assert f'curl -u "$UTMOST_SECRET:" "{dashboard.url}/import?strict=1"' in text
    assert dashboard.secret not in tab.page.content()


# --- every page: navigation, keyboard, origins ----------------------------------------------------

UNLABELLED = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
    .filter(e => !(e.labels?.length || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent.trim())))
    .map(e => e.outerHTML)"""


def pages(dashboard: Dashboard) -> list[str]:
    return ["/attribution", f"/report?conversion={quote(CONVERSION)}&by=channel&interval=week",
            f"/journey?id={two_device_booker(dashboard)}", "/send"]


def test_every_page_has_the_nav_and_loads_only_from_its_origin(tab: Tab, dashboard: Dashboard) -> None:
    tab.sign_in()
    for path in pages(dashboard):
        tab.page.goto(path)
        nav = tab.page.get_by_role("navigation", name="Main")
        for name, href in [("Attribution", "/attribution"), ("Report", "/report"), ("Journey", "/journey"),
                           ("Send data", "/send"), ("API docs", "/docs")]:
            assert nav.get_by_role("link", name=name, exact=True).get_attribute("href") == href
        assert nav.get_by_role("button", name="Sign out").is_visible()
        html = tab.page.content()
        addresses = re.findall(r'\b(?:src|href|action|xlink:href)="([^"]*)"', html)
        assert addresses and all(a.startswith(("/", "#")) and not a.startswith("//") for a in addresses), addresses
        assert tab.page.evaluate(UNLABELLED) == [], "every control has a label"
        assert tab.page.evaluate("() => [...document.querySelectorAll('[tabindex]')].filter(e => e.tabIndex > 0).length") == 0
    assert set(urlsplit(u).path for u in tab.requests) >= {"/static/dashboard.css", "/static/dashboard.js",
                                                           "/static/favicon.svg"}


#: Tag every element keyboard users must reach (a radio group is one stop: its checked radio).
TAG_FOCUSABLE = """() => {
    const candidates = Array.from(document.querySelectorAll(
        'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]'))
        .filter(e => !e.disabled && e.tabIndex >= 0 && e.checkVisibility());
    const groups = new Map();
    const stops = candidates.filter(e => {
        if (e.type !== 'radio') return true;
        const group = Array.from(document.getElementsByName(e.name));
        return e === (group.find(r => r.checked) ?? group[0]);
    });
    document.querySelectorAll('[data-stop]').forEach(e => delete e.dataset.stop);
    stops.forEach((e, i) => { e.dataset.stop = String(i); });
    return stops.map(e => e.outerHTML.slice(0, 80));
}"""
FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body || e.dataset.stop === undefined) return null;
    const style = getComputedStyle(e);
    return {stop: Number(e.dataset.stop), outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
}"""


#: Where Tab starts, as after loading the page: an unfocusable mark before everything else.
START_AT_TOP = """() => {
    const mark = document.getElementById('test-start') ?? document.createElement('span');
    mark.id = 'test-start';
    mark.tabIndex = -1;
    document.body.prepend(mark);
    mark.focus();
    window.scrollTo(0, 0);
}"""


def tab_through(page: Page, stops: int) -> list[dict[str, Any]]:
    """Focus from the top of the page, pressing Tab until focus leaves the page or comes round.

    Tab also steps through the month, day and year of a date field, so one stop may hold
    focus for several presses; each press is returned.
    """
    page.evaluate(START_AT_TOP)
    presses: list[dict[str, Any]] = []
    for _ in range(4 * stops + 4):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None or (presses and focused["stop"] != presses[-1]["stop"]
                               and any(p["stop"] == focused["stop"] for p in presses)):
            break
        presses.append(focused)
    return presses


@pytest.mark.parametrize("path", ["/attribution", "/report", "/journey", "/send"])
def test_keyboard_reaches_every_control_in_order(tab: Tab, dashboard: Dashboard, path: str) -> None:
    tab.sign_in()
    page = tab.page
    page.goto(f"/journey?id={two_device_booker(dashboard)}" if path == "/journey" else path)
    for opened in (False, True):
        if opened:  # the form's "More options", opened from the keyboard
            page.locator("summary").focus()
            page.keyboard.press("Enter")
            assert page.locator("details.more").get_attribute("open") is not None
        stops = page.evaluate(TAG_FOCUSABLE)
        walk = tab_through(page, len(stops))
        assert list(dict.fromkeys(f["stop"] for f in walk)) == list(range(len(stops))), "every stop, in document order"
        assert all(f["outline"] for f in walk), "focus is visible on every stop"
        if path not in ("/attribution", "/report"):
            break


# --- the API's documentation --------------------------------------------------------------------

def test_api_docs_render_every_operation(tab: Tab, dashboard: Dashboard) -> None:
    """Swagger UI, from this server only, shows each operation of the query API with its parameters."""
    page = tab.page
    page.goto("/docs")
    operations = page.locator(".opblock-summary-path")
    operations.first.wait_for(timeout=30_000)
    shown = [text.replace("\u200b", "") for text in operations.all_inner_texts()]
    assert shown == ["/api/attribution", "/api/report", "/api/journey", "/api/events/names", "/api/properties",
                     "/api/people/{person_id}", "/api/people/{person_id}", "/api/evaluate",
                     "/api/spend"]  # GET, then DELETE; the POSTs
    assert page.get_by_text("Unable to render this definition").count() == 0
    page.locator(".opblock-summary", has_text="/api/attribution").first.click()
    parameters = page.locator(".parameters .parameter__name")
    parameters.first.wait_for()
    names = [n.split()[0] for n in parameters.all_inner_texts()]
    assert names[:3] == ["conversion", "models", "by"] and "per_conversion" in names


# --- small screens, many models, long journeys, downloads (issue 21, item 9) ------------------------

SEVEN = "first_touch,last_touch,linear,u_shaped,time_decay,markov,shapley"
PHONE = {"width": 390, "height": 844}
#: Every element the header shows, with its box: on a phone each must lie within the screen.
READ_HEADER = """() => Array.from(document.querySelectorAll('header.top a, header.top .who, header.top button'))
    .map(e => { const box = e.getBoundingClientRect();
                return {text: e.textContent.trim(), left: box.left, right: box.right, width: box.width}; })"""


@pytest.fixture
def phone(browser: Browser, dashboard: Dashboard) -> Iterator[Tab]:
    """A tab 390 px wide (an iPhone's screen), signed in, with the same checks as ``tab``."""
    context = browser.new_context(base_url=dashboard.url, viewport=PHONE, device_scale_factor=3, is_mobile=True,
                                  has_touch=True)
    opened = Tab(context.new_page(), dashboard.secret)
    opened.page.on("console", opened.on_console)
    opened.page.on("pageerror", lambda error: opened.problems.append(f"page error: {error}"))
    opened.page.goto(f"/signin/{dashboard.app.state.sign_in_links.make(dashboard.store.project())}")
    yield opened
    context.close()
    assert opened.problems == []


def test_on_a_phone_the_header_fits_and_the_charts_stay_legible(phone: Tab) -> None:
    page = phone.page
    page.goto(f"/attribution?conversion={quote(CONVERSION)}&models={SEVEN}")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], "nothing overflows sideways"
    header = page.evaluate(READ_HEADER)
    assert [h["text"] for h in header] == ["utmost", "Attribution", "Report", "Journey", "Evaluate", "Send data",
                                           "API docs", "project default", "Sign out"]
    assert all(0 <= h["left"] and h["right"] <= PHONE["width"] and h["width"] > 0 for h in header), header
    for metric in ("conversions", "revenue"):
        frame = page.locator(f"#chart-{metric} .chart-scroll").bounding_box()
        chart = page.locator(f"#chart-{metric} svg").bounding_box()
        assert frame is not None and chart is not None
        assert frame["x"] >= 0 and frame["x"] + frame["width"] <= PHONE["width"], "the chart's frame is on screen"
        assert chart["width"] >= 720, "the chart scrolls rather than shrinking its words to a few pixels"
    legend = page.evaluate(READ_LEGEND)
    assert [item["text"] for item in legend] == SEVEN.split(",")
    assert all(0 <= i["left"] and i["right"] <= PHONE["width"] and not i["clipped"] for i in legend), legend


def test_seven_models_have_a_legend_nothing_clips(tab: Tab) -> None:
    tab.sign_in()
    tab.page.goto(f"/attribution?conversion={quote(CONVERSION)}&models={SEVEN}")
    legend = tab.page.evaluate(READ_LEGEND)
    assert [(item["text"], item["model"]) for item in legend] == [(m, m) for m in SEVEN.split(",")]
    width = tab.page.viewport_size["width"] if tab.page.viewport_size else 0
    assert all(0 <= i["left"] and i["right"] <= width and not i["clipped"] for i in legend), legend
    for model in ("markov", "shapley"):
        assert tab.page.locator("ul.legend li", has_text=model).is_visible()
    swatches = tab.page.locator("ul.legend .swatch").evaluate_all("s => s.map(e => getComputedStyle(e).backgroundColor)")
    first_bars = tab.page.locator("#chart-conversions svg .plot .series").evaluate_all(
        "gs => gs.filter(g => g.querySelector('rect')).map(g => getComputedStyle(g.querySelector('rect')).fill)")
    assert swatches == first_bars, "each swatch has its model's bar colour"


def test_tables_download_as_csv(tab: Tab, dashboard: Dashboard) -> None:
    tab.sign_in()
    page = tab.page
    for link, extra in (("Download as CSV", ""), ("per conversion", "&per_conversion=true")):
        with page.expect_download() as download:
            page.get_by_role("link", name=link, exact=True).click()
        saved = download.value.path()
        text = Path(saved).read_text()
        json_rows = ask_api(dashboard, DEFAULT_QUERY + extra)
        assert text == dashboard.api.get(f"/api/attribution?{DEFAULT_QUERY}{extra}&format=csv").text
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == len(json_rows) and rows[0].keys() == json_rows[0].keys()
        for got, row in zip(rows, json_rows):
            assert got["model"] == row["model"] and float(got["revenue"]) == row["revenue"]
        assert download.value.suggested_filename == ("attribution.csv" if not extra else "attribution-per-conversion.csv")


#: A guest who lands six times from six sources, a day apart, and books in the sixth session.
SIX_SOURCES = ("google", "facebook", "newsletter", "tiktok", "partner", "instagram")


@pytest.fixture(scope="module")
def six_sessions(dashboard: Dashboard) -> str:
    """Project ``six`` in the dashboard's file, holding only that guest; returns the project's name."""
    store = dashboard.store
    start, lines = 1_790_000_000, []
    for day, source in enumerate(SIX_SOURCES):
        url = f"https://hotel.example/?utm_source={source}"
        lines.append({"event": "Page View", "properties": {
            "time": start + day * 86400, "distinct_id": "$device:six", "$device_id": "six", "$current_url": url,
            "$insert_id": f"six-{day}"}})
    lines.append({"event": CONVERSION, "properties": {"time": start + 5 * 86400 + 120, "distinct_id": "guest-six",
                                                      "$device_id": "six", "$user_id": "guest-six", "amount": 300,
                                                      "$insert_id": "six-booking"}})
    project = store.create_project("six")
    store.insert_lines(project.name, raw_lines(lines)).result()
    return project.name


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["laptop", "phone"])
def test_a_six_session_journey_shows_its_conversion(browser: Browser, dashboard: Dashboard, six_sessions: str,
                                                    viewport: dict[str, int]) -> None:
    context = browser.new_context(base_url=dashboard.url, viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/signin/{dashboard.app.state.sign_in_links.make(dashboard.store.project(six_sessions))}")
    page.goto(f"/journey?id=guest-six&conversion={quote(CONVERSION)}")
    assert page.locator("svg.timeline .session-label").all_text_contents() == [f"session {n}" for n in range(1, 7)]
    conversion = page.locator("svg.timeline g.mark.conversion").bounding_box()
    frame = page.locator(".timeline-wrap").bounding_box()
    assert conversion is not None and frame is not None
    assert frame["x"] <= conversion["x"] and conversion["x"] + conversion["width"] <= frame["x"] + frame["width"]
    assert 0 <= conversion["x"] and conversion["x"] + conversion["width"] <= viewport["width"], "on screen, unscrolled"
    if viewport == PHONE:
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
    assert errors == []
