"""``utmost report`` end to end: the hand-worked report of docs/semantics.md §16 through the
real command, in every format, and the Python API's table equal to its JSON."""

from __future__ import annotations

import orjson
import pytest
from conftest import raw_lines
from engine.test_report import BOOKED, SPEND, journeys
from test_cli import utmost

import utmost as api
from utmost.store import SpendFile, Store, import_spend


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    found = tmp_path_factory.mktemp("report-cli")
    with Store(found / "r.duckdb") as store:
        store.project()
        store.insert_lines("default", raw_lines(journeys())).result()
        import_spend(store, "default", [SpendFile("spend.csv", SPEND)])
    return found


def report(folder, *args: str) -> str:
    done = utmost("report", "--db", "r.duckdb", "--conversion", BOOKED, *args, cwd=folder)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_json_is_the_python_api_exactly(folder):
    rows = orjson.loads(report(folder, "--format", "json", "--interval", "week"))
    assert rows == api.report(BOOKED, db=folder / "r.duckdb", interval="week").to_pylist()
    assert rows[0] == {"period": "2023-11-13", "utm_source": "google", "sessions": 3, "persons": 2, "landings": 3,
                       "conversions": 1.0, "conversion_rate": 0.333333333333333, "revenue": 100.0, "cost": 30.0,
                       "cpa": 30.0, "roas": 3.33333333333333}


def test_csv_is_exact_and_the_table_rounds_for_people(folder):
    lines = report(folder, "--format", "csv").splitlines()
    assert lines[:2] == ["utm_source,sessions,persons,landings,conversions,conversion_rate,revenue,cost,cpa,roas",
                         "google,3,2,3,1.0,0.333333333333333,100.0,50.0,50.0,2.0"]
    table = [line.split() for line in report(folder).splitlines()]
    assert table[0] == ["utm_source", "sessions", "persons", "landings", "last_touch", "rate", "revenue", "cost",
                        "cpa", "roas"]
    assert table[1:5] == [["google", "3", "2", "3", "1.00", "33.3%", "100.00", "50.00", "50.00", "2.00"],
                          ["facebook", "2", "1", "2", "1.00", "50.0%", "50.00", "25.00", "25.00", "2.00"],
                          ["newsletter", "0", "1", "1", "0.00", "·", "0.00", "·", "·", "·"],
                          ["tiktok", "0", "0", "0", "0.00", "·", "0.00", "10.00", "·", "0.00"]]


@pytest.mark.parametrize(("args", "message"), [
    (["--interval", "year"], "error: invalid value for '--interval': 'year' is not one of 'day', 'week', 'month'"),
    (["--model", "lienar"], "error: unknown model 'lienar'. Did you mean linear?"),
    (["--models", "linear"], "error: no such option '--models'. Did you mean '--model'?"),
    (["--by", "nope"], "error: --by 'nope': no event has this property"),
])
def test_errors_are_told_without_a_traceback(folder, args, message):
    done = utmost("report", "--db", "r.duckdb", "--conversion", BOOKED, *args, cwd=folder)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
