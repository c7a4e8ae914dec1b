"""Money columns (docs/semantics.md §15): each key's cost, CPA and ROAS beside its credit.

Four bookings and four spend rows a reviewer can add up with a pencil:

    person  landed from                        books   spend (EUR)
    a       google / cpc / brand               100     google/cpc/brand: 30 on 11-14, 30 on 11-15,
    b       google / cpc / brand                50                        1000 on 11-01 (before --from)
    c       facebook / paid_social / spring    200     facebook/paid_social/spring: 100 on 11-14
    d       newsletter / email                  80     (none)
            (nobody)                                   tiktok/cpc/launch: 40 on 11-15
"""

from __future__ import annotations

import pytest
from conftest import raw_lines
from engine.journeys import MINUTE, book, land

from utmost.api import answer
from utmost.engine import make_options
from utmost.store import SpendFile, Store, import_spend

BOOKED = "Reservation Completed"
SPEND = b"""date,utm_source,utm_medium,utm_campaign,cost,currency
2023-11-14,google,cpc,brand,30,EUR
2023-11-15,google,cpc,brand,30,EUR
2023-11-01,google,cpc,brand,1000,EUR
2023-11-14,facebook,paid_social,spring,100,EUR
2023-11-15,tiktok,cpc,launch,40,EUR
"""
COLUMNS = ("conversions", "revenue", "cost", "cpa", "roas")


def bookings() -> list[dict]:
    """The module docstring's four landings, each followed by its booking a minute later."""
    events = []
    for dev, (source, medium, campaign), amount in [("a", ("google", "cpc", "brand"), 100),
                                                     ("b", ("google", "cpc", "brand"), 50),
                                                     ("c", ("facebook", "paid_social", "spring"), 200),
                                                     ("d", ("newsletter", "email", None), 80)]:
        tags = {"utm_medium": medium, **({"utm_campaign": campaign} if campaign else {})}
        events += [land(0, source, dev=dev, **tags), book(MINUTE, dev=dev, amount=amount)]
    return events


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with Store(tmp_path_factory.mktemp("money") / "money.duckdb") as opened:
        opened.insert_lines("default", raw_lines(bookings())).result()
        import_spend(opened, "default", [SpendFile("spend.csv", SPEND)])
        yield opened


def rows(store, **question) -> dict[str, tuple]:
    result = answer(store, make_options(BOOKED, models="last_touch", **question))
    by = question["by"].split(",")
    return {" / ".join(r[p] for p in by): tuple(r[c] for c in COLUMNS) for r in result.totals.to_pylist()}


def test_by_source_each_key_its_cost_cpa_and_roas(store):
    assert rows(store, by="utm_source", start="2023-11-10") == {
        "google": (2, 150, 60, 30, 2.5),  # 30 + 30; 60 / 2; 150 / 60
        "facebook": (1, 200, 100, 100, 2),
        "newsletter": (1, 80, None, None, None),  # no spend recorded: unknown, not 0
        "tiktok": (0, 0, 40, None, 0),  # money that bought nothing
    }


def test_without_dates_every_recorded_day_counts(store):
    assert rows(store, by="utm_source")["google"] == (2, 150, 1060, 530, 0.141509433962264)  # 150 / 1060, 15 digits


def test_by_campaign_key_and_by_channel_through_the_rules(store):
    assert rows(store, by="utm_source,utm_campaign", start="2023-11-10") == {
        "google / brand": (2, 150, 60, 30, 2.5),
        "facebook / spring": (1, 200, 100, 100, 2),
        "newsletter / (not set)": (1, 80, None, None, None),
        "tiktok / launch": (0, 0, 40, None, 0),
    }
    assert rows(store, by="channel", start="2023-11-10") == {
        "Paid Search": (2, 150, 60, 30, 2.5),  # google / cpc
        "Paid Social": (1, 200, 140, 140, 1.42857142857143),  # facebook / paid_social and tiktok / cpc: 100 + 40
        "Email": (1, 80, None, None, None),
    }


def test_a_key_spend_is_not_recorded_by_gets_no_money_columns(store):
    result = answer(store, make_options(BOOKED, by="utm_source,utm_content"))
    assert "cost" not in result.totals.column_names


def test_the_table_shows_cost_and_each_models_cpa_and_roas_with_totals(store):
    from rich.console import Console

    from utmost import formats

    console = Console(width=200, record=True)
    console.print(formats.to_table(answer(store, make_options(BOOKED, by="utm_source", start="2023-11-10"))))
    lines = [line.split() for line in console.export_text().splitlines()]
    assert lines[0] == ["utm_source", "cost", "last_touch", "revenue", "cpa", "roas"]
    assert lines[1:6] == [["google", "60.00", "2.00", "150.00", "30.00", "2.50"],
                          ["facebook", "100.00", "1.00", "200.00", "100.00", "2.00"],
                          ["newsletter", "·", "1.00", "80.00", "·", "·"],
                          ["tiktok", "40.00", "·", "·", "·", "0.00"],
                          ["total", "200.00", "4.00", "430.00", "66.67", "1.75"]]  # 200 / 3; 350 / 200
