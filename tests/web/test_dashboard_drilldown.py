"""The attribution page, read further in Chromium: what moving away from last click changes (the
difference view), and from a key's row to the conversions credited to it, and on to a journey.

On docs/semantics.md §13's Maya (newsletter → Google search → typed return and booking) by
channel: first_touch credits Email, last_touch Direct, last_non_direct Organic Search.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from collector.live import serving
from conftest import raw_lines
from engine.journeys import DAY, MINUTE, book, land, page
from playwright.sync_api import Browser
from web.test_dashboard import Tab, open_tab

from utmost.store import Store
from utmost.web import create_app

BOOKED = "Reservation Completed"
GOOGLE = {"$referrer": "https://www.google.com/", "$referring_domain": "www.google.com"}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, str]]:
    events = [land(0, "newsletter", dev="m1", utm_medium="email"), page(2 * DAY, dev="m1", **GOOGLE),
              page(5 * DAY, dev="m1"), book(5 * DAY + 5 * MINUTE, dev="m1", amount=200)]
    with Store(tmp_path_factory.mktemp("drill") / "d.duckdb") as store:
        secret = store.project().secret
        store.insert_lines("default", raw_lines(events)).result()
        with serving(create_app(store)) as url:
            yield url, secret


@pytest.fixture
def tab(browser: Browser, site) -> Iterator[Tab]:
    with open_tab(browser, *site) as opened:
        opened.sign_in()
        yield opened


def ask(tab: Tab, models: str) -> None:
    tab.page.goto("/attribution?" + urlencode({"conversion": BOOKED, "models": models, "by": "channel"}))


def test_the_difference_view_shows_each_models_credit_minus_last_touch(tab):
    ask(tab, "last_touch,first_touch,last_non_direct")
    table = tab.page.locator("table#difference")
    headings = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert headings == ["channel", "first_touch − last_touch", "last_non_direct − last_touch"]
    rows = {row.locator("th").inner_text(): [c.strip() for c in row.locator("td").all_inner_texts()]
            for row in table.locator("tbody tr").all()}
    assert rows == {"Direct": ["-1.00", "-1.00"], "Email": ["+1.00", "·"],
                    "Organic Search": ["·", "+1.00"]}


def test_without_last_touch_the_page_offers_to_compare_with_it(tab):
    ask(tab, "first_touch")
    assert tab.page.locator("table#difference").count() == 0
    tab.page.get_by_role("link", name="Compare with last touch").click()
    tab.page.wait_for_selector("table#difference")
    assert "models=last_touch,first_touch" in tab.page.url


def test_a_keys_row_lists_its_conversions_and_each_leads_to_the_journey(tab):
    ask(tab, "first_touch,linear")
    tab.page.locator("table#credit tbody th a", has_text="Email").click()
    tab.page.wait_for_selector("table#conversions")
    assert tab.page.locator("h1").inner_text() == "Conversions credited to Email"  # in <q>, quoted by CSS
    rows = [[c.strip() for c in row.locator("td, th").all_inner_texts()]
            for row in tab.page.locator("table#conversions tbody tr").all()]
    assert [(r[0], r[3], r[4]) for r in rows] == [("first_touch", "1", "200.00"), ("linear", "0.3333", "66.67")]
    person = rows[0][2]
    tab.page.locator("table#conversions tbody a").first.click()
    tab.page.wait_for_url(lambda url: "/journey" in url)
    assert person in tab.page.locator("main").inner_text()


def test_a_key_that_is_not_one_value_per_property_is_a_400_with_the_reason(tab):
    tab.expected_statuses.add(400)
    answer = tab.page.goto("/conversions?" + urlencode({"conversion": BOOKED, "by": "channel"}))
    assert answer.status == 400
    assert "key: give one value per --by property (channel), as key=…" in tab.page.locator("main").inner_text()


def download(tab: Tab, table: str) -> str:
    """The CSV the link under ``table`` downloads."""
    link = tab.page.locator(f"{table} ~ p.links a.csv, .table-wrap:has({table}) + p.links a.csv").first
    with tab.page.expect_download() as started:
        link.click()
    return Path(started.value.path()).read_text(encoding="utf-8")


def test_the_difference_and_the_conversions_download_as_csv_with_every_digit(tab):
    ask(tab, "last_touch,first_touch,last_non_direct")
    assert download(tab, "table#difference").splitlines() == [
        "channel,first_touch − last_touch,last_non_direct − last_touch",
        "Direct,-1.0,-1.0", "Email,1.0,0.0", "Organic Search,0.0,1.0"]
    ask(tab, "first_touch,linear")
    tab.page.locator("table#credit tbody th a", has_text="Email").click()
    tab.page.wait_for_selector("table#conversions")
    lines = download(tab, "table#conversions").splitlines()
    assert lines[0] == "model,time,person,credit,revenue"
    assert [line.split(",")[0::3] for line in lines[1:]] == [["first_touch", "1.0"], ["linear", "0.333333333333333"]]  # 15 digits
