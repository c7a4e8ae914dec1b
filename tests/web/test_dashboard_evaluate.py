"""The evaluation page in Chromium (docs/semantics.md §20): a truth file picked in the page is read
by the browser and posted to ``/api/evaluate`` under the page's session; the scores and the
channels come back as tables that keep every digit, sort and download as CSV, and a chart sets
the truth beside each model's credit. The numbers are tests/test_cli_evaluate.py's, worked by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from collector.live import serving
from conftest import raw_lines
from playwright.sync_api import Browser
from test_cli_evaluate import TRUTH, events
from web.test_dashboard import PHONE, Tab, open_tab

from utmost.engine import DEFAULT_MODELS
from utmost.store import Store
from utmost.web import create_app

ASKED = ["first_touch", "last_touch", "linear"]  # as the form lists them
SCORES = """() => Array.from(document.querySelectorAll('#scores tbody tr')).map(tr =>
    Array.from(tr.cells).map(cell => [cell.textContent.trim(), cell.dataset.value]))"""
CHANNELS = """() => Array.from(document.querySelectorAll('#channels tbody tr')).map(tr =>
    Array.from(tr.cells).map(cell => cell.textContent.trim()))"""
BARS = """() => Array.from(document.querySelectorAll('#chart-channels svg g.bar')).map(g =>
    [g.dataset.model, g.dataset.key, Number(g.dataset.value), g.querySelector('title').textContent,
     getComputedStyle(g.querySelector('rect')).fill])"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, str, Path]]:
    folder = tmp_path_factory.mktemp("evaluate-page")
    (folder / "truth.json").write_text(json.dumps(TRUTH))
    (folder / "elsewhere.json").write_text(json.dumps({**TRUTH, "channels": [
        {"key": {"utm_source": "radio"}, "removal": 1.0, "shapley": 1.0}]}))
    with Store(folder / "d.duckdb") as store:
        secret = store.project().secret
        store.insert_lines("default", raw_lines(events())).result()
        with serving(create_app(store)) as url:
            yield url, secret, folder


@pytest.fixture
def tab(browser: Browser, site) -> Iterator[Tab]:
    with open_tab(browser, site[0], site[1]) as opened:
        yield opened


def ask(tab: Tab, truth: Path, models: list[str]) -> None:
    page = tab.page
    for model in DEFAULT_MODELS:
        page.get_by_role("checkbox", name=model, exact=True).set_checked(model in models)
    page.get_by_label("Truth file").set_input_files(truth)
    page.get_by_role("button", name="Evaluate").click()


def test_the_page_scores_the_models_against_the_truth_as_the_api_does(tab: Tab, site) -> None:
    url, secret, folder = site
    tab.sign_in("/evaluate")
    page = tab.page
    nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="Evaluate")
    assert nav.get_attribute("aria-current") == "page"
    defaults = page.locator("fieldset.models input:checked").evaluate_all("inputs => inputs.map(i => i.value)")
    assert defaults == list(DEFAULT_MODELS) and "participation" not in defaults
    with page.expect_response("**/api/evaluate?*") as posted:
        ask(tab, folder / "truth.json", ASKED)
    request = posted.value.request
    assert request.method == "POST" and request.post_data_buffer == (folder / "truth.json").read_bytes()
    assert "authorization" not in request.headers, "the page's own session, not a secret"
    page.wait_for_selector("#scores tbody tr")
    assert urlsplit(page.url).query == "models=first_touch%2Clast_touch%2Clinear&lookback=30d&scope=user&" \
        "session_timeout=30m&half_life=7d&min_lag=1h&markov_order=1"
    with httpx.Client(base_url=url, auth=(secret, ""), timeout=60) as api:
        answer = api.post("/api/evaluate", params={"models": ",".join(ASKED)}, content=json.dumps(TRUTH)).json()
    assert page.get_by_role("heading", name="5 “Purchase” conversions in truth").is_visible()
    assert page.evaluate(SCORES) == [
        [["first_touch", "first_touch"], ["17.9", "17.8571428571429"], ["14.3", "14.2857142857143"], ["tv", "tv"],
         ["0.83", "0.833333333333333"], ["1.14×", "1.14285714285714"], ["1.00", "1"], ["·", "0"]],
        [["linear", "linear"], ["19.6", "19.6428571428571"], ["14.3", "14.2857142857143"], ["tv", "tv"],
         ["0.89", "0.888888888888889"], ["1.14×", "1.14285714285714"], ["1.00", "1"], ["·", "0"]],
        [["last_touch", "last_touch"], ["32.1", "32.1428571428571"], ["21.4", "21.4285714285714"], ["ads", "ads"],
         ["0.50", "0.5"], ["1.14×", "1.14285714285714"], ["1.00", "1"], ["·", "0"]],
    ]
    assert [[float(v) for _, v in row[1:3]] for row in page.evaluate(SCORES)] == [
        [s["tvd_pp"], s["max_error_pp"]] for s in answer["scores"]]
    assert page.evaluate(CHANNELS) == [
        ["newsletter", "1.50", "1.50", "42.9%", "2.00", "1.00", "1.50", ""],
        ["ads", "1.00", "0.80", "28.6%", "1.00", "2.00", "1.50", ""],
        ["social", "0.50", "0.50", "14.3%", "1.00", "1.00", "1.00", ""],
        ["tv", "0.50", "0.50", "14.3%", "·", "·", "·", "no landing"],
    ]
    bars = page.evaluate(BARS)
    assert [(m, k, v) for m, k, v, _, _ in bars] == [
        (model, channel["key"]["utm_source"], channel["shapley"] if model == "truth" else channel["credit"][model])
        for model in ["truth", *ASKED] for channel in answer["channels"]]
    assert bars[0][3] == "truth · newsletter: 1.50"
    legend = page.locator("#evaluation ul.legend li").all_inner_texts()
    assert legend == ["truth", *ASKED]
    swatches = page.locator("#evaluation ul.legend .swatch").evaluate_all(
        "s => s.map(e => getComputedStyle(e).backgroundColor)")
    assert swatches == list(dict.fromkeys(fill for *_, fill in bars)), "each swatch has its bars' colour"
    assert page.locator("#chart-channels svg script").count() == 0


def test_the_tables_sort_and_download_as_csv_with_every_digit(tab: Tab, site) -> None:
    tab.sign_in("/evaluate")
    page = tab.page
    ask(tab, site[2] / "truth.json", ASKED)
    page.wait_for_selector("#scores tbody tr")
    page.locator("#scores thead button", has_text="Rank ρ").click()
    assert [row[0][0] for row in page.evaluate(SCORES)] == ["linear", "first_touch", "last_touch"]
    page.locator("#channels thead button", has_text="last_touch").click()
    assert [row[0] for row in page.evaluate(CHANNELS)] == ["ads", "newsletter", "social", "tv"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this table as CSV (evaluation-scores.csv)").click()
    assert Path(download.value.path()).read_text().splitlines() == [
        "Model,TVD (pp),Largest error (pp),On utm_source,Rank ρ,Inflation,(none),(baseline)",
        "linear,19.6428571428571,14.2857142857143,tv,0.888888888888889,1.14285714285714,1,0",
        "first_touch,17.8571428571429,14.2857142857143,tv,0.833333333333333,1.14285714285714,1,0",
        "last_touch,32.1428571428571,21.4285714285714,ads,0.5,1.14285714285714,1,0",
    ]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download this table as CSV (evaluation-channels.csv)").click()
    assert Path(download.value.path()).read_text().splitlines()[:2] == [
        "utm_source,Truth (Shapley),Removal,Truth share,first_touch,last_touch,linear,Note",
        "ads,1,0.8,0.285714285714286,1,2,1.5,",
    ]


def test_what_cannot_be_scored_is_said_in_the_page(tab: Tab, site) -> None:
    tab.sign_in("/evaluate")
    page = tab.page
    page.get_by_role("button", name="Evaluate").click()
    assert page.get_by_role("alert").inner_text() == "Pick the truth file (truth.json) that utmost simulate wrote."
    tab.expected_statuses = {400}
    ask(tab, site[2] / "elsewhere.json", ["linear"])
    alert = page.locator("#evaluate-error")
    alert.wait_for(state="visible")
    assert alert.inner_text().startswith(
        "no landing in project 'default' carries any of the truth's channels by utm_source (radio)")
    assert page.locator("#evaluation").is_hidden()
    ask(tab, site[2] / "truth.json", ["linear"])
    page.wait_for_selector("#scores tbody tr")
    assert alert.is_hidden() and page.evaluate(SCORES)[0][0] == ["linear", "linear"]


def test_on_a_phone_nothing_overflows_sideways(browser: Browser, site) -> None:
    url, secret, folder = site
    context = browser.new_context(base_url=url, viewport=PHONE, device_scale_factor=3, is_mobile=True,
                                  has_touch=True)
    try:
        phone = Tab(context.new_page(), secret)
        phone.page.on("console", phone.on_console)
        phone.sign_in("/evaluate")
        ask(phone, folder / "truth.json", ASKED)
        phone.page.wait_for_selector("#channels tbody tr")
        assert phone.page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        chart = phone.page.locator("#chart-channels svg").bounding_box()
        assert chart is not None and chart["width"] >= 720, "the chart scrolls rather than shrinking its words"
        assert phone.problems == []
    finally:
        context.close()
