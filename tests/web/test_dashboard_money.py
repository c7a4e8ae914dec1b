"""The dashboard's money columns in Chromium (docs/semantics.md §15): cost, CPA and ROAS per
model when the project has spend, "·" where there is none, the key that spent and bought
nothing listed, and the totals over the keys that spent."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from collector.live import serving
from conftest import raw_lines
from engine.test_money import BOOKED, SPEND, bookings
from playwright.sync_api import Browser
from web.test_dashboard import open_tab

from utmost.store import SpendFile, Store, import_spend
from utmost.web import create_app


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, str]]:
    with Store(tmp_path_factory.mktemp("money-page") / "d.duckdb") as store:
        secret = store.project().secret
        store.insert_lines("default", raw_lines(bookings())).result()
        import_spend(store, "default", [SpendFile("spend.csv", SPEND)])
        with serving(create_app(store)) as url:
            yield url, secret


def test_the_table_shows_cost_cpa_and_roas_and_the_key_that_bought_nothing(browser: Browser, site):
    with open_tab(browser, *site) as tab:
        tab.sign_in()
        query = {"conversion": BOOKED, "models": "last_touch", "by": "utm_source", "from": "2023-11-10"}
        tab.page.goto("/attribution?" + urlencode(query))
        table = tab.page.locator("table#credit")
        headings = table.locator("thead tr").last.locator("th").all_inner_texts()
        assert [h.strip() for h in headings][-3:] == ["Cost", "CPA", "ROAS"]
        cells = {row.locator("th").inner_text(): [c.strip() for c in row.locator("td").all_inner_texts()]
                 for row in table.locator("tbody tr").all()}
        assert cells["google"][-3:] == ["60.00", "30.00", "2.50"]
        assert cells["newsletter"][-3:] == ["·", "·", "·"]
        assert cells["tiktok"][0] == "0.00" and cells["tiktok"][-3:] == ["40.00", "·", "0.00"]
        total = [c.strip() for c in table.locator("tfoot td").all_inner_texts()]
        assert total[-3:] == ["200.00", "66.67", "1.75"]
        drawn = tab.page.locator("#chart-roas").inner_text()  # the keys that spent, and only they
        assert all(key in drawn for key in ("google", "facebook", "tiktok")) and "newsletter" not in drawn
        table.locator("thead button", has_text="ROAS").click()  # sorts with "·" as the lowest
        order = [row.locator("th").inner_text() for row in table.locator("tbody tr").all()]
        assert order[-1] == "newsletter" or order[0] == "newsletter"
