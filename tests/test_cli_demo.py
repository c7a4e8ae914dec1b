"""``utmost demo`` with its spend, through the real command on the default demo: the first
screen answers "where should my next euro go?" with numbers a reader can check by eye.

The traffic is designed (utmost.demo.CAMPAIGNS) so that one campaign wastes its budget, one is
cheap and efficient, and brand search is clicked by people who were going to book anyway;
these tests hold the engine's answer on the default demo to that design.
"""

from __future__ import annotations

import pytest
from test_cli import utmost

import utmost as api
from utmost.demo import generate_spend
from utmost.ingest.spend import parse_spend

CONVERSION = "Reservation Completed"
WASTEFUL = ("tiktok", "weekend_escape")
EFFICIENT = ("google", "generic_hotels")
BRAND = ("google", "brand_search")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    made = utmost("demo", "--no-serve", "--db", "d.duckdb", cwd=folder, env={"COLUMNS": "100"})
    assert made.returncode == 0, made.stderr
    return folder, made.stdout


def by_campaign(db, model: str) -> dict[tuple[str, str], dict]:
    rows = api.attribute(CONVERSION, db=db, models=model, by="utm_source,utm_campaign").to_pylist()
    return {(row["utm_source"], row["utm_campaign"]): row for row in rows}


def test_the_demo_imports_the_generators_spend(demo):
    folder, printed = demo
    stored = api.spend(db=folder / "d.duckdb").to_pylist()
    generated = parse_spend(generate_spend(), "demo-spend.csv").rows
    assert [(r["date"], r["utm_source"], r["utm_medium"], r["utm_campaign"], r["cost"]) for r in stored] == sorted(
        (r.date, r.utm_source, r.utm_medium, r.utm_campaign, r.cost) for r in generated)
    assert {r["currency"] for r in stored} == {"EUR"}
    total = sum(r.cost for r in generated)
    assert f"spend: 4 paid campaigns, 60 days, {total:,.2f} EUR" in printed


def test_the_wasteful_campaign_costs_most_per_booking_and_the_efficient_one_least(demo):
    folder, _ = demo
    paid = {key: row for key, row in by_campaign(folder / "d.duckdb", "last_touch").items() if row["cost"]}
    assert set(paid) == {WASTEFUL, EFFICIENT, BRAND, ("facebook", "city_breaks")}
    by_cpa = sorted(paid, key=lambda key: paid[key]["cpa"])
    assert (by_cpa[0], by_cpa[-1]) == (EFFICIENT, WASTEFUL)
    assert paid[WASTEFUL]["cost"] == max(row["cost"] for row in paid.values())
    assert paid[WASTEFUL]["conversions"] <= 10 and paid[WASTEFUL]["roas"] < 1  # spent more than it brought


def test_brand_search_gets_more_from_last_touch_than_from_first(demo):
    """Its clickers had mostly come before: it closes journeys other routes opened."""
    db = demo[0] / "d.duckdb"
    first, last = by_campaign(db, "first_touch")[BRAND], by_campaign(db, "last_touch")[BRAND]
    assert last["conversions"] > 1.5 * first["conversions"]


def test_the_printed_answer_fits_a_100_column_terminal(demo):
    _, printed = demo
    answer = printed[printed.index("Where should my next euro go?"):]
    assert all(len(line) <= 100 for line in answer.splitlines())
    for heading in ("utm_campaign", "cost", "cpa", "roas", "last_touch", "channel", "last_non_direct"):
        assert heading in answer
    rows = {line.split()[0]: line.split() for line in answer.splitlines() if line.strip()}
    assert rows["tiktok"][:3] == ["tiktok", "weekend_escape", f"{by_campaign(demo[0] / 'd.duckdb', 'last_touch')[WASTEFUL]['cost']:,.2f}"]
    assert {"Paid", "Organic", "Direct", "Email", "Referral"} <= rows.keys()  # channels, the first word
