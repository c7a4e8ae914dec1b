"""``utmost spend import`` and ``utmost spend show`` through the real command, on a file and
through the `utmost serve` that holds it; ``utmost.spend`` the same both ways."""

from __future__ import annotations

import datetime
import gzip

import httpx
from test_access import served
from test_cli import utmost

import utmost as api
from utmost.access import Handoff
from utmost.store import Store

SECRET = "shop-secret-0123456789"
HEADER = "date,utm_source,utm_medium,utm_campaign,cost,currency\n"
FIVE = (HEADER
        + "2026-03-01,google,cpc,brand,12.50,EUR\n"
        + "2026-03-01,google,cpc,brand,7.25,EUR\n"
        + "2026-03-01,newsletter,,,0,EUR\n"
        + "2026-03-02,google,cpc,brand,\"1,234.56\",EUR\n"
        + "2026-03-02,facebook,paid_social,spring,oops,EUR\n")


def test_import_reports_rows_replacements_and_bad_lines(tmp_path):
    (tmp_path / "a.csv").write_text(FIVE)
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress((HEADER + "2026-03-02,google,cpc,brand,1000,EUR\n").encode()))
    first = utmost("spend", "import", "a.csv", "--db", "s.duckdb", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "imported 3 rows (replaced 0) · rejected 1 · currency EUR\n"
    assert first.stderr.splitlines()[1:] == ["a.csv:6: cost 'oops' is not a number"]  # after the note of the project made
    again = utmost("spend", "import", "a.csv", "b.csv.gz", "--db", "s.duckdb", cwd=tmp_path)
    assert (again.stdout, again.stderr) == ("imported 4 rows (replaced 4) · rejected 1 · currency EUR\n",
                                            "a.csv:6: cost 'oops' is not a number\n")
    shown = utmost("spend", "show", "--db", "s.duckdb", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = [line.split("│")[1:-1] for line in shown.stdout.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in line] for line in lines] == [
        ["google", "cpc", "brand", "1,019.75", "EUR", "2026-03-01", "2026-03-02", "2"],
        ["newsletter", "(not set)", "(not set)", "0.00", "EUR", "2026-03-01", "2026-03-01", "1"],
        ["total", "", "", "1,019.75", "EUR", "", "", "3"],
    ]


def test_strict_imports_nothing_and_exits_1(tmp_path):
    (tmp_path / "a.csv").write_text(FIVE)
    done = utmost("spend", "import", "a.csv", "--strict", "--db", "s.duckdb", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-2:] == ["a.csv:6: cost 'oops' is not a number",
                                             "error: 1 bad line(s); --strict imported nothing"]
    with Store(tmp_path / "s.duckdb", read_only=True) as store:
        assert store.spend("default").num_rows == 0


def test_many_bad_lines_show_twenty_and_a_count(tmp_path):
    (tmp_path / "a.csv").write_text(HEADER + "".join(f"2026-03-{day:02},g,cpc,x,-1,EUR\n" for day in range(1, 26)))
    done = utmost("spend", "import", "a.csv", "--db", "s.duckdb", cwd=tmp_path)
    problems = done.stderr.splitlines()[1:]
    assert problems[0] == "a.csv:2: cost -1 is negative" and len(problems) == 21
    assert problems[-1] == "… and 5 more bad line(s)"
    assert done.stdout == "imported 0 rows (replaced 0) · rejected 25\n"


def test_wrong_input_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "a.csv").write_text("Day,Campaign,Cost\n2026-03-01,Brand,1\n")
    cases = {
        ("a.csv",): "error: a.csv:1: the header has no column for date, utm_source, utm_medium, utm_campaign "
                    "(found: Day,Campaign,Cost); name them with --map COLUMN=FIELD, --set FIELD=VALUE or --columns",
        ("missing.csv",): "error: missing.csv: no such file",
        ("a.csv", "--map", "Day=dat"): "error: --map Day=dat: no field 'dat'. Did you mean date?",
        ("a.csv", "--set", "cost=1"): "error: --set cost=1: only utm_source, utm_medium, utm_campaign, currency can "
                                      "be set (known: utm_source, utm_medium, utm_campaign, currency)",
    }
    for args, message in cases.items():
        done = utmost("spend", "import", *args, "--db", "s.duckdb", cwd=tmp_path)
        assert (done.returncode, done.stderr.strip()) == (2, message), args
    assert not (tmp_path / "s.duckdb").exists()  # said before the database was made
    bad = utmost("spend", "import", "a.csv", "--columns", "googleads", "--db", "s.duckdb", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: invalid value for '--columns': 'googleads'")


def test_map_and_set_read_any_export(tmp_path):
    (tmp_path / "bing.csv").write_text("Day,Campaign,Spend\n2026-03-01,Brand,3.5\n")
    done = utmost("spend", "import", "bing.csv", "--map", "Day=date", "--map", "Campaign=utm_campaign",
                  "--map", "Spend=cost", "--set", "utm_source=bing", "--set", "utm_medium=cpc",
                  "--set", "currency=usd", "--db", "s.duckdb", cwd=tmp_path)
    assert done.stdout == "imported 1 rows (replaced 0) · rejected 0 · currency USD\n", done.stderr
    assert api.spend(db=tmp_path / "s.duckdb").to_pylist() == [
        {"date": datetime.date(2026, 3, 1), "utm_source": "bing", "utm_medium": "cpc",
         "utm_campaign": "Brand", "cost": 3.5, "currency": "USD"}]


def test_the_presets_read_their_platforms_exports(tmp_path):
    (tmp_path / "google.csv").write_text("Campaign report\nMarch 1, 2026 - March 1, 2026\nDay,Campaign,Currency code,Cost\n"
                                         "2026-03-01,Brand,EUR,\"1,024.50\"\nTotal: Account,--,EUR,\"1,024.50\"\n")
    (tmp_path / "meta.csv").write_text("Reporting starts,Reporting ends,Campaign name,Amount spent (EUR)\n"
                                       "2026-03-01,2026-03-01,Spring,40.10\n")
    for name, columns in (("google.csv", "google-ads"), ("meta.csv", "meta")):
        done = utmost("spend", "import", name, "--columns", columns, "--db", "s.duckdb", cwd=tmp_path)
        assert done.stdout == "imported 1 rows (replaced 0) · rejected 0 · currency EUR\n", done.stderr
    table = api.spend(db=tmp_path / "s.duckdb")
    assert [(r["utm_source"], r["utm_medium"], r["utm_campaign"], r["cost"]) for r in table.to_pylist()] == [
        ("facebook", "paid_social", "Spring", 40.1), ("google", "cpc", "Brand", 1024.5)]


def test_import_and_show_through_the_server_that_holds_the_file(tmp_path):
    db = tmp_path / "d.duckdb"
    with Store(db) as store:
        store.open_project()
        store.create_project("shop", secret=SECRET)
    (tmp_path / "a.csv").write_text(FIVE)
    here = tmp_path / "here"
    here.mkdir()
    (here / "a.csv").write_text(FIVE)
    direct = utmost("spend", "import", "a.csv", "--db", "h.duckdb", cwd=here)
    direct_show = utmost("spend", "show", "--db", "h.duckdb", cwd=here)
    with served(db):
        through = utmost("spend", "import", "a.csv", "--db", "d.duckdb", cwd=tmp_path)
        shown = utmost("spend", "show", "--db", "d.duckdb", cwd=tmp_path)
        table = api.spend(db=db)
        report = api.import_spend(tmp_path / "a.csv", db=db)
        posted = httpx.post(f"{Handoff.read(db).url}/api/spend", content=FIVE.encode(), auth=(SECRET, ""),
                            params={"project": "shop"})
        shop = api.spend(db=db, project="shop")
    assert posted.status_code == 200 and posted.json()["imported"] == 3
    assert shop.equals(api.spend(db=db)) and shop.num_rows == 3  # the same rows in both projects
    assert (through.returncode, through.stdout) == (0, direct.stdout)
    assert through.stderr == "a.csv:6: cost 'oops' is not a number\n"
    assert shown.stdout == direct_show.stdout
    assert table.equals(api.spend(db=db)) and table.num_rows == 3
    assert (report.imported, report.replaced, report.rejected) == (3, 3, 1)
