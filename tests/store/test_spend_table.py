"""Spend in a real DuckDB file: exact rows stored, replaced per day and key, one currency."""

from __future__ import annotations

import datetime

import pytest

from utmost.errors import InputError
from utmost.ingest import Layout
from utmost.store import SpendFile, Store, import_spend

D1, D2, D3 = (datetime.date(2026, 3, day) for day in (1, 2, 3))
HEADER = "date,utm_source,utm_medium,utm_campaign,cost,currency\n"
#: Five lines: two of one key and day (summed: 19.75), an empty medium and campaign.
FIVE = (HEADER
        + "2026-03-01,google,cpc,brand,12.50,EUR\n"
        + "2026-03-01,google,cpc,brand,7.25,EUR\n"
        + "2026-03-01,newsletter,,,0,EUR\n"
        + "2026-03-02,google,cpc,brand,\"1,234.56\",EUR\n"
        + "2026-03-02,facebook,paid_social,spring,40,EUR\n")
STORED = [
    (D1, "google", "cpc", "brand", 19.75, "EUR"),
    (D1, "newsletter", None, None, 0.0, "EUR"),
    (D2, "facebook", "paid_social", "spring", 40.0, "EUR"),
    (D2, "google", "cpc", "brand", 1234.56, "EUR"),
]


def rows(store: Store, project: str = "default") -> list[tuple]:
    return [tuple(row.values()) for row in store.spend(project).to_pylist()]


def load(store: Store, text: str, name: str = "a.csv", **keywords) -> tuple[int, int, int, list[str]]:
    report = import_spend(store, "default", [SpendFile(name, text.encode())], **keywords)
    return report.imported, report.replaced, report.rejected, report.problems


def test_a_file_stores_one_row_per_day_and_key(store):
    store.project()
    assert load(store, FIVE) == (4, 0, 0, [])
    assert rows(store) == STORED
    assert store.spend("default").column_names == [
        "date", "utm_source", "utm_medium", "utm_campaign", "cost", "currency"]


def test_the_same_file_again_replaces_every_row_and_stores_the_same(store):
    store.project()
    load(store, FIVE)
    assert load(store, FIVE) == (4, 4, 0, [])
    assert rows(store) == STORED


def test_a_file_overlapping_one_day_replaces_that_days_keys_and_keeps_the_rest(store):
    store.project()
    load(store, FIVE)
    later = HEADER + "2026-03-02,google,cpc,brand,1000,EUR\n2026-03-03,google,cpc,brand,5,EUR\n"
    assert load(store, later) == (2, 1, 0, [])
    assert rows(store) == [STORED[0], STORED[1], STORED[2], (D2, "google", "cpc", "brand", 1000.0, "EUR"),
                           (D3, "google", "cpc", "brand", 5.0, "EUR")]


def test_an_empty_key_value_replaces_only_the_row_with_the_same_empty_value(store):
    """NULL meets NULL (IS NOT DISTINCT FROM), and never a value."""
    store.project()
    load(store, HEADER + "2026-03-01,newsletter,,,3,EUR\n2026-03-01,newsletter,email,,4,EUR\n")
    assert load(store, HEADER + "2026-03-01,newsletter,,,8,EUR\n") == (1, 1, 0, [])
    assert rows(store) == [(D1, "newsletter", None, None, 8.0, "EUR"), (D1, "newsletter", "email", None, 4.0, "EUR")]


def test_bad_lines_are_reported_with_file_and_line_and_the_rest_stored(store):
    store.project()
    text = FIVE + "2026-03-04,google,cpc,brand,-1,EUR\n2026-03-04,google,cpc,brand,1,USD\n"
    assert load(store, text) == (4, 0, 2, [
        "a.csv:7: cost -1 is negative",
        "a.csv:8: currency USD, but line 2 is in EUR: one currency per project",
    ])
    assert rows(store) == STORED


def test_strict_stores_nothing_when_a_line_is_bad(store):
    store.project()
    report = import_spend(store, "default", [SpendFile("a.csv", (FIVE + "x,y\n").encode())], strict=True)
    assert (report.checked_only, report.rejected, report.problems) == (True, 1, ["a.csv:7: 2 fields, the header has 6"])
    assert rows(store) == []


def test_a_file_that_is_not_spend_stores_nothing_of_any(store):
    store.project()
    with pytest.raises(InputError, match=r"^b\.csv:1: the header has no column for cost"):
        import_spend(store, "default", [SpendFile("a.csv", FIVE.encode()),
                                        SpendFile("b.csv", b"date,utm_source,utm_medium,utm_campaign\n")])
    assert rows(store) == []


def test_the_first_currency_fixes_the_projects_and_rows_without_one_take_it(store):
    store.project()
    plain = "date,utm_source,utm_medium,utm_campaign,cost\n2026-03-01,google,cpc,brand,1\n"
    assert load(store, plain) == (1, 0, 0, [])
    assert rows(store) == [(D1, "google", "cpc", "brand", 1.0, None)]
    load(store, HEADER + "2026-03-02,google,cpc,brand,2,CHF\n")
    assert [row[-1] for row in rows(store)] == ["CHF", "CHF"] and store.spend_currency("default") == "CHF"
    assert load(store, plain.replace("03-01", "03-05")) == (1, 0, 0, [])
    assert rows(store)[-1] == (datetime.date(2026, 3, 5), "google", "cpc", "brand", 1.0, "CHF")
    assert load(store, HEADER + "2026-03-09,google,cpc,brand,2,EUR\n") == (0, 0, 1, [
        "a.csv:2: currency EUR, but the project's spend is in CHF: one currency per project"])


def test_projects_keep_their_own_spend_and_currency(store):
    store.project()
    store.create_project("other")
    load(store, FIVE)
    import_spend(store, "other", [SpendFile("o.csv", (HEADER + "2026-03-01,google,cpc,brand,1,USD\n").encode())])
    assert rows(store) == STORED and rows(store, "other") == [(D1, "google", "cpc", "brand", 1.0, "USD")]


def test_a_body_names_its_problems_by_line():
    assert SpendFile("", b"").where(3) == "line 3" and SpendFile("a.csv", b"").where(3) == "a.csv:3"


def test_totals_per_key_sum_every_day(store):
    store.project()
    load(store, FIVE)
    totals = store.spend_totals("default").to_pylist()
    assert [(t["utm_source"], t["utm_medium"], t["cost"], t["first"], t["last"], t["days"]) for t in totals] == [
        ("google", "cpc", 1254.31, D1, D2, 2), ("facebook", "paid_social", 40.0, D2, D2, 1),
        ("newsletter", None, 0.0, D1, D1, 1)]


def test_a_preset_layout_goes_through_the_store(store):
    store.project()
    body = "Day,Campaign,Currency code,Cost\n2026-03-01,Brand,USD,\"2,000.10\"\nTotal: Account,--,USD,\"2,000.10\"\n"
    assert load(store, body, layout=Layout.of("google-ads")) == (1, 0, 0, [])
    assert rows(store) == [(D1, "google", "cpc", "Brand", 2000.1, "USD")]


def test_reading_spend_changes_nothing_on_disk(tmp_path):
    path = tmp_path / "r.duckdb"
    with Store(path) as store:
        store.project()
        load(store, FIVE)
    before = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    with Store(path, read_only=True) as reading:
        assert rows(reading) == STORED
    assert {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == before
