"""The campaign report (docs/semantics.md §16): its hand-worked example, checked exactly.

Three persons, by ``utm_source``, times in UTC; 2023-11-13 is a Monday:

    Ann  Mon 13 10:00 lands google; 10:05 reloads it (a repeat); 10:10 lands newsletter
         Wed 15 09:00 lands google (a new session); 09:20 books 100
    Ben  Mon 13 12:00 a page without UTMs; 12:10 lands facebook (same session)
         Tue 21 08:00 lands facebook (a new session); 08:30 books 50
    Cy   Thu 16 18:00 lands google

    spend: google 30 on 11-13 and 20 on 11-20, facebook 25 on 11-21, tiktok 10 on 11-14
"""

from __future__ import annotations

import pytest
from conftest import raw_lines
from engine.journeys import HOUR, MINUTE, T0, book, land, page

from utmost.access import campaign_report
from utmost.engine import REPORT, make_options
from utmost.errors import InputError
from utmost.store import SpendFile, Store, import_spend

BOOKED = "Reservation Completed"
MONDAY = 1_699_833_600 - T0  # 2023-11-13 00:00:00 UTC, as the builders' offset from T0
DAY = 24 * HOUR
SPEND = b"""date,utm_source,utm_medium,utm_campaign,cost
2023-11-13,google,cpc,brand,30
2023-11-20,google,cpc,brand,20
2023-11-21,facebook,paid_social,,25
2023-11-14,tiktok,cpc,launch,10
"""
COLUMNS = ("sessions", "persons", "landings", "conversions", "conversion_rate", "revenue", "cost", "cpa", "roas")


def at(day: int, hour: int, minute: int = 0) -> int:
    return MONDAY + day * DAY + hour * HOUR + minute * MINUTE


def journeys() -> list[dict]:
    return [
        land(at(0, 10), "google", dev="ann", utm_medium="cpc"),
        land(at(0, 10, 5), "google", dev="ann", utm_medium="cpc"),
        land(at(0, 10, 10), "newsletter", dev="ann", utm_medium="email"),
        land(at(2, 9), "google", dev="ann", utm_medium="cpc"),
        book(at(2, 9, 20), dev="ann", amount=100),
        page(at(0, 12), dev="ben"),
        land(at(0, 12, 10), "facebook", dev="ben", utm_medium="paid_social"),
        land(at(8, 8), "facebook", dev="ben", utm_medium="paid_social"),
        book(at(8, 8, 30), dev="ben", amount=50),
        land(at(3, 18), "google", dev="cy", utm_medium="cpc"),
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with Store(tmp_path_factory.mktemp("report") / "report.duckdb") as opened:
        opened.insert_lines("default", raw_lines(journeys())).result()
        import_spend(opened, "default", [SpendFile("spend.csv", SPEND)])
        yield opened


def rows(store, **question) -> list[tuple]:
    found = campaign_report(store, make_options(BOOKED, question=REPORT, **question))
    table = found.table.to_pylist()
    lead = ["period"] if question.get("interval") else []
    by = question.get("by", "utm_source").split(",")
    return [(*(r[c] for c in [*lead, *by]), *(r.get(c) for c in COLUMNS)) for r in table]


def test_the_hand_worked_report(store):
    assert rows(store) == [
        # key       sessions persons landings conv rate               revenue cost cpa roas
        ("google", 3, 2, 3, 1, 0.333333333333333, 100, 50, 50, 2),  # Ann twice, Cy; 1/3; 50/1; 100/50
        ("facebook", 2, 1, 2, 1, 0.5, 50, 25, 25, 2),  # Ben's first session began on a plain page
        ("newsletter", 0, 1, 1, 0, None, 0, None, None, None),  # second in Ann's session: starts none
        ("tiktok", 0, 0, 0, 0, None, 0, 10, None, 0),  # money that bought nothing
    ]


def test_linear_credits_the_newsletter_a_third_of_anns_booking(store):
    found = {r[0]: r[1:] for r in rows(store, model="linear")}
    assert found["google"][3:6] == (0.666666666666667, 0.222222222222222, 66.6666666666667)
    assert found["newsletter"][3:6] == (0.333333333333333, None, 33.3333333333333)  # no session: no rate


def test_per_week_each_count_in_its_own_week_and_credit_in_the_conversions(store):
    assert rows(store, interval="week") == [
        ("2023-11-13", "google", 3, 2, 3, 1, 0.333333333333333, 100, 30, 30, 3.33333333333333),
        ("2023-11-13", "facebook", 1, 1, 1, 0, 0, 0, None, None, None),  # its spend is the next week's
        ("2023-11-13", "newsletter", 0, 1, 1, 0, None, 0, None, None, None),
        ("2023-11-13", "tiktok", 0, 0, 0, 0, None, 0, 10, None, 0),
        ("2023-11-20", "facebook", 1, 1, 1, 1, 1, 50, 25, 25, 2),
        ("2023-11-20", "google", 0, 0, 0, 0, None, 0, 20, None, 0),
    ]


def test_per_day_and_month_label_each_period_by_its_first_day(store):
    days = {(r[0], r[1]) for r in rows(store, interval="day")}
    assert ("2023-11-15", "google") in days and ("2023-11-21", "facebook") in days and ("2023-11-14", "tiktok") in days
    assert {r[0] for r in rows(store, interval="month")} == {"2023-11-01"}


def test_a_date_range_counts_what_happens_inside_it(store):
    assert rows(store, start="2023-11-15") == [
        ("google", 2, 2, 2, 1, 0.5, 100, 20, 20, 5),  # Ann's second session and Cy's; spend of the 20th
        ("facebook", 1, 1, 1, 1, 1, 50, 25, 25, 2),
    ]


def test_by_channel_every_session_has_a_first_touchpoint(store):
    found = {r[0]: r[1:4] for r in rows(store, by="channel")}
    assert found["Direct"] == (1, 1, 1)  # Ben's plain page at 12:00 started his first session
    assert found["Paid Social"] == (1, 1, 2)  # so facebook's 12:10 landing started none
    assert found["Paid Search"] == (3, 2, 3)


def test_a_report_takes_one_model_and_no_bootstrap():
    with pytest.raises(InputError, match="ci: utmost report does not take it"):
        make_options(BOOKED, question=REPORT, ci=0.9)
    with pytest.raises(InputError, match="interval: 'year' is not one of day, week, month"):
        make_options(BOOKED, question=REPORT, interval="year")
    with pytest.raises(InputError, match="interval: utmost attribute does not take it"):
        make_options(BOOKED, interval="day")
    assert [m.name for m in make_options(BOOKED, question=REPORT, model="first_touch").models] == ["first_touch"]
