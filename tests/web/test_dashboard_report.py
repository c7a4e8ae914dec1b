"""The campaign report on the dashboard, in Chromium (docs/semantics.md §16): the hand-worked
report in the table, sortable; per week a line chart of credit per key; the CSV download and
``/api/report`` equal to the page; errors in the API's one shape."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from collector.live import serving
from conftest import raw_lines
from engine.test_report import BOOKED, SPEND, journeys
from playwright.sync_api import Browser
from web.test_dashboard import Tab, open_tab

from utmost.store import SpendFile, Store, import_spend
from utmost.web import create_app

ROWS = """() => Array.from(document.querySelectorAll('#report tbody tr')).map(tr => [
    ...JSON.parse(tr.dataset.key), ...Array.from(tr.querySelectorAll('td')).map(td => td.textContent.trim())])"""
POINTS = """() => Array.from(document.querySelectorAll('#chart-over-time svg g.dots')).map(g => [
    g.dataset.key, g.dataset.period, Number(g.dataset.value)])"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, str]]:
    with Store(tmp_path_factory.mktemp("report-page") / "d.duckdb") as store:
        secret = store.project().secret
        store.insert_lines("default", raw_lines(journeys())).result()
        import_spend(store, "default", [SpendFile("spend.csv", SPEND)])
        with serving(create_app(store)) as url:
            yield url, secret


@pytest.fixture
def tab(browser: Browser, site) -> Iterator[Tab]:
    with open_tab(browser, *site) as opened:
        yield opened


def test_the_page_shows_the_hand_worked_report_and_sorts(tab: Tab) -> None:
    tab.sign_in("/report")
    page = tab.page
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Report").get_attribute(
        "aria-current") == "page"
    assert page.evaluate(ROWS) == [
        ["google", "3", "2", "3", "1.00", "33.3%", "100.00", "50.00", "50.00", "2.00"],
        ["facebook", "2", "1", "2", "1.00", "50.0%", "50.00", "25.00", "25.00", "2.00"],
        ["newsletter", "0", "1", "1", "0.00", "·", "0.00", "·", "·", "·"],
        ["tiktok", "0", "0", "0", "0.00", "·", "0.00", "10.00", "·", "0.00"],
    ]
    assert page.locator("#chart-over-time").count() == 0  # a chart over time needs an interval
    page.locator("#report thead button", has_text="Landings").click()
    assert [row[0] for row in page.evaluate(ROWS)] == ["google", "facebook", "newsletter", "tiktok"]
    page.locator("#report thead button", has_text="Cost").click()
    assert [row[0] for row in page.evaluate(ROWS)] == ["google", "facebook", "tiktok", "newsletter"]
    page.locator("#report thead button", has_text="utm_source").click()
    assert [row[0] for row in page.evaluate(ROWS)] == ["facebook", "google", "newsletter", "tiktok"]


def test_the_form_asks_per_week_and_the_chart_draws_credit_per_key_over_time(tab: Tab) -> None:
    tab.sign_in("/report")
    page = tab.page
    page.get_by_label("Per period").select_option("week")
    page.get_by_label("Model").select_option("linear")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/report?*interval=week*")
    assert "model=linear" in page.url
    rows = page.evaluate(ROWS)
    assert rows[0][:7] == ["2023-11-13", "google", "3", "2", "3", "0.67", "22.2%"]
    points = page.evaluate(POINTS)
    assert sorted(points) == sorted([
        ["google", "2023-11-13", 0.666666666666667], ["google", "2023-11-20", 0.0],
        ["facebook", "2023-11-13", 0.0], ["facebook", "2023-11-20", 1.0],
        ["newsletter", "2023-11-13", 0.333333333333333], ["newsletter", "2023-11-20", 0.0],
        ["tiktok", "2023-11-13", 0.0], ["tiktok", "2023-11-20", 0.0],
    ])
    assert page.locator("ul.legend li").all_inner_texts() == ["facebook", "google", "newsletter", "tiktok"]
    assert page.locator("#chart-over-time svg script").count() == 0


def test_the_csv_download_and_the_api_are_the_page(tab: Tab, site) -> None:
    url, secret = site
    query = urlencode({"conversion": BOOKED, "interval": "week"})
    tab.sign_in(f"/report?{query}")
    with tab.page.expect_download() as download:
        tab.page.get_by_role("link", name="Download as CSV", exact=True).click()
    assert download.value.suggested_filename == "report.csv"
    text = Path(download.value.path()).read_text()
    with httpx.Client(base_url=url, auth=(secret, ""), timeout=60) as api:
        assert text == api.get(f"/api/report?{query}&format=csv").text
        rows = api.get(f"/api/report?{query}").json()
    assert [dict(r) for r in csv.DictReader(io.StringIO(text))][0]["period"] == rows[0]["period"] == "2023-11-13"
    assert len(rows) == len(tab.page.evaluate(ROWS)) == 6


@pytest.mark.parametrize(("query", "message"), [
    ({"interval": "year"}, "interval: 'year' is not one of day, week, month"),
    ({"models": "linear"}, "models: utmost report does not take it (utmost attribute or utmost journey does)"),
    ({"model": "lienar"}, "unknown model 'lienar'. Did you mean linear?"),
    ({"format": "xml"}, ""),
])
def test_a_bad_question_gets_the_apis_one_error_shape(site, query, message) -> None:
    url, secret = site
    with httpx.Client(base_url=url, auth=(secret, ""), timeout=60) as api:
        answer = api.get("/api/report", params={"conversion": BOOKED, **query})
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"]["status"] == answer.status_code and message in answer.json()["error"]["message"]
    with httpx.Client(base_url=url, timeout=60) as stranger:
        assert stranger.get("/api/report", params={"conversion": BOOKED}).status_code == 401
    assert "interval" in httpx.get(f"{url}/api/attribution", params={"conversion": BOOKED, "interval": "day"},
                                   auth=(secret, "")).json()["error"]["message"]
