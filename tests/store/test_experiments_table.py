"""Experiments in a real DuckDB file: migration 7, exact rows stored, replaced per key and days
(the key's properties in any order), bad lines named, deleted per key or all."""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import pytest

from utmost.errors import InputError
from utmost.store import CsvFile, Store, import_experiments
from utmost.store.schema import MIGRATIONS, SCHEMA_VERSION

D1, D14, D28 = (datetime.date(2026, 3, day) for day in (1, 14, 28))
HEADER = "utm_source,utm_medium,start,end,test_persons,test_conversions,control_persons,control_conversions\n"
TWO = (HEADER
       + "google,cpc,2026-03-01,2026-03-28,10000,300,1000,20\n"
       + "newsletter,email,2026-03-01,2026-03-14,5000,40,500,6\n")
SOURCE_MEDIUM = ["utm_source", "utm_medium"]
STORED = [
    (SOURCE_MEDIUM, ["google", "cpc"], D1, D28, 10_000, 300, 1_000, 20),
    (SOURCE_MEDIUM, ["newsletter", "email"], D1, D14, 5_000, 40, 500, 6),
]


def rows(store: Store, project: str = "default") -> list[tuple]:
    """The stored rows without ``imported_at``, in the order the store gives them."""
    return [tuple(row.values())[:-1] for row in store.experiments(project).to_pylist()]


def load(store: Store, *texts: str, strict: bool = False, project: str = "default") -> tuple[int, int, int, list[str]]:
    files = [CsvFile(f"{'abcdefgh'[n]}.csv", text.encode()) for n, text in enumerate(texts)]
    report = import_experiments(store, project, files, strict=strict)
    return report.imported, report.replaced, report.rejected, report.problems


def test_schema_version_7_adds_the_experiments_table():
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 7
    assert "CREATE TABLE experiments" in str(MIGRATIONS[6][0])


def file_at(path: Path, version: int) -> None:
    """A file as utmost made it at schema ``version``, by the released migrations (never edited)."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for number in range(1, version + 1):
        for step in MIGRATIONS[number - 1]:
            step(con) if callable(step) else con.execute(step)
        con.execute("INSERT INTO schema_version VALUES (?)", [number])
    con.execute("INSERT INTO spend VALUES ('default', DATE '2026-03-01', 'google', 'cpc', 'brand', 12.5, 'EUR')")
    con.close()


def test_a_version_6_file_gains_the_table_and_keeps_its_spend(tmp_path):
    path = tmp_path / "six.duckdb"
    file_at(path, 6)
    with Store(path) as store:
        assert store.reader().execute("SELECT max(version) FROM schema_version").fetchone() == (SCHEMA_VERSION,)
        store.project()
        assert store.experiments("default").num_rows == 0
        assert store.spend("default").num_rows == 1
        assert load(store, TWO) == (2, 0, 0, [])
    with Store(path, read_only=True) as store:
        assert rows(store) == STORED
        types = store.reader().execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'experiments' "
            "ORDER BY ordinal_position").fetchall()
    assert types == [("project", "VARCHAR"), ("properties", "VARCHAR[]"), ("key", "VARCHAR[]"), ("start", "DATE"),
                     ("end", "DATE"), ("test_persons", "BIGINT"), ("test_conversions", "BIGINT"),
                     ("control_persons", "BIGINT"), ("control_conversions", "BIGINT"), ("imported_at", "TIMESTAMP")]


def test_a_file_stores_one_row_per_test_and_when_it_was_imported(store):
    store.project()
    before = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert load(store, TWO) == (2, 0, 0, [])
    after = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert rows(store) == STORED
    table = store.experiments("default")
    assert table.column_names == ["properties", "key", "start", "end", "test_persons", "test_conversions",
                                  "control_persons", "control_conversions", "imported_at"]
    assert all(before <= at <= after for at in table.column("imported_at").to_pylist())  # UTC


def test_the_same_file_again_replaces_every_row_and_stores_the_same(store):
    store.project()
    load(store, TWO)
    assert load(store, TWO) == (2, 2, 0, [])
    assert rows(store) == STORED


def test_the_same_key_named_in_another_order_replaces_it_and_other_days_are_other_tests(store):
    store.project()
    load(store, TWO)
    swapped = ("utm_medium,utm_source,start,end,test_persons,test_conversions,control_persons,control_conversions\n"
               "cpc,google,2026-03-01,2026-03-28,20000,500,2000,30\n"  # google / cpc, the same days: replaced
               "cpc,google,2026-03-01,2026-03-14,100,5,100,1\n")  # other days: another test
    assert load(store, swapped) == (2, 1, 0, [])
    assert rows(store) == [
        (["utm_medium", "utm_source"], ["cpc", "google"], D1, D14, 100, 5, 100, 1),
        (["utm_medium", "utm_source"], ["cpc", "google"], D1, D28, 20_000, 500, 2_000, 30),
        STORED[1],
    ]


def test_a_key_of_other_properties_or_values_is_another_test(store):
    store.project()
    load(store, TWO)
    source_alone = "utm_source,start,end,test_persons,test_conversions,control_persons,control_conversions\n" \
                   "google,2026-03-01,2026-03-28,1,0,1,0\n"
    swapped_values = HEADER + "cpc,google,2026-03-01,2026-03-28,1,0,1,0\n"  # utm_source=cpc: another key
    assert load(store, source_alone, swapped_values) == (2, 0, 0, [])
    assert len(rows(store)) == 4


def test_files_are_stored_in_order_the_later_one_kept(store):
    store.project()
    later = HEADER + "google,cpc,2026-03-01,2026-03-28,10,1,10,0\n"
    assert load(store, TWO, later) == (3, 1, 0, [])
    assert rows(store)[0] == (SOURCE_MEDIUM, ["google", "cpc"], D1, D28, 10, 1, 10, 0)


def test_bad_lines_are_reported_with_file_and_line_and_the_rest_stored(store):
    store.project()
    text = TWO + "google,cpc,2026-04-01,2026-03-01,1,0,1,0\ngoogle,cpc,2026-04-01,2026-04-02,1,2,1,0\n"
    assert load(store, "\n" + HEADER, text) == (2, 0, 2, [
        "b.csv:4: start 2026-04-01 is after end 2026-03-01",
        "b.csv:5: test_conversions 2 is more than test_persons 1: count converting persons, not conversions",
    ])
    assert rows(store) == STORED


def test_strict_stores_nothing_when_a_line_is_bad(store):
    store.project()
    report = import_experiments(store, "default", [CsvFile("a.csv", (TWO + "x,y\n").encode())], strict=True)
    assert (report.checked_only, report.rejected, report.problems) == (True, 1, ["a.csv:4: 2 fields, the header has 8"])
    assert rows(store) == []


def test_a_file_that_is_no_experiments_file_stores_nothing_of_any(store):
    store.project()
    with pytest.raises(InputError, match=r"^b\.csv:1: the header has no column for end"):
        load(store, TWO, "utm_source,start\n")
    assert rows(store) == []


def test_values_are_stored_as_given_never_read_as_sql(store):
    store.project()
    hostile = ("\"it's\",\"'); DROP TABLE experiments; --\",start,end,test_persons,test_conversions,"
               "control_persons,control_conversions\n\"x' OR '1'='1\",\"$\\\\\",2026-03-01,2026-03-28,1,0,1,0\n")
    assert load(store, hostile) == (1, 0, 0, [])
    assert rows(store) == [(["it's", "'); DROP TABLE experiments; --"], ["x' OR '1'='1", "$\\\\"], D1, D28, 1, 0, 1, 0)]
    assert store.delete_experiments("default", {"'); DROP TABLE experiments; --": "$\\\\", "it's": "x' OR '1'='1"}) == 1


def test_delete_one_keys_tests_in_any_order_or_all(store):
    store.project()
    load(store, TWO, HEADER + "google,cpc,2026-04-01,2026-04-28,1,0,1,0\n")
    assert store.delete_experiments("default", {"utm_source": "google"}) == 0  # another key
    assert store.delete_experiments("default", {"utm_medium": "cpc", "utm_source": "google"}) == 2
    assert rows(store) == [STORED[1]]
    assert store.delete_experiments("default", None) == 1 and rows(store) == []


def test_projects_keep_their_own_experiments(store):
    store.project()
    store.create_project("other")
    load(store, TWO)
    load(store, HEADER + "google,cpc,2026-03-01,2026-03-28,1,0,1,0\n", project="other")
    assert rows(store) == STORED and rows(store, "other") == [(SOURCE_MEDIUM, ["google", "cpc"], D1, D28, 1, 0, 1, 0)]
    assert store.delete_experiments("other", None) == 1 and rows(store) == STORED


def test_reading_experiments_changes_nothing_on_disk(tmp_path):
    path = tmp_path / "r.duckdb"
    with Store(path) as store:
        store.project()
        load(store, TWO)
    before = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    with Store(path, read_only=True) as reading:
        assert rows(reading) == STORED
    assert {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == before
