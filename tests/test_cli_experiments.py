"""``utmost experiments import``, ``show`` and ``delete`` through the real command, on a file and
through the `utmost serve` that holds it; ``utmost.experiments`` the same both ways; hostile
files an import or a clean refusal, never a traceback."""

from __future__ import annotations

import csv
import datetime
import gzip
import io
import json
import traceback

from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_access import served
from test_cli import utmost

import utmost as api
from utmost import formats
from utmost.cli import cli
from utmost.store import Store

HEADER = "utm_source,utm_medium,start,end,test_persons,test_conversions,control_persons,control_conversions\n"
FOUR = (HEADER
        + "google,cpc,2026-03-01,2026-03-28,10000,300,1000,20\n"
        + "newsletter,email,2026-03-01,2026-03-14,\"5,000\",40,500,6\n"
        + "facebook,paid_social,2026-03-01,2026-03-14,800,9,200,0\n"
        + "tiktok,cpc,2026-03-14,2026-03-01,800,9,200,0\n")
BAD_LINE = "a.csv:5: start 2026-03-14 is after end 2026-03-01"


def cells(shown: str) -> list[list[str]]:
    """The body rows of a rich table, each as its stripped cells."""
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in shown.splitlines() if line.startswith("│")]


def test_import_then_show_as_a_table_json_and_csv(tmp_path):
    (tmp_path / "a.csv").write_text(FOUR)
    first = utmost("experiments", "import", "a.csv", "--db", "x.duckdb", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "imported 3 experiments (replaced 0) · rejected 1\n"
    assert first.stderr.splitlines()[1:] == [BAD_LINE]  # after the note of the project made
    again = utmost("experiments", "import", "a.csv", "--db", "x.duckdb", cwd=tmp_path)
    assert (again.stdout, again.stderr) == ("imported 3 experiments (replaced 3) · rejected 1\n", BAD_LINE + "\n")

    shown = utmost("experiments", "show", "--db", "x.duckdb", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert cells(shown.stdout) == [
        ["utm_source=facebook, utm_medium=paid_social", "2026-03-01", "2026-03-14", "9 / 800", "0 / 200", "1.12%",
         "0.00%", "9.0", "3.2 – 14.8*", "·"],
        ["utm_source=google, utm_medium=cpc", "2026-03-01", "2026-03-28", "300 / 10,000", "20 / 1,000", "3.00%",
         "2.00%", "100.0", "7.0 – 193.0", "+50.0%"],
        ["utm_source=newsletter, utm_medium=email", "2026-03-01", "2026-03-14", "40 / 5,000", "6 / 500", "0.80%",
         "1.20%", "-20.0", "-69.3 – 29.3*", "-33.3%"],
    ]
    assert "* fewer than 10 converting or 10 non-converting persons in a group" in shown.stdout

    as_json = json.loads(utmost("experiments", "show", "--format", "json", "--db", "x.duckdb", cwd=tmp_path).stdout)
    google = as_json[1]
    assert {k: google[k] for k in list(google)[:11]} == {
        "properties": ["utm_source", "utm_medium"], "key": ["google", "cpc"], "start": "2026-03-01",
        "end": "2026-03-28", "test_persons": 10000, "test_conversions": 300, "control_persons": 1000,
        "control_conversions": 20, "test_rate": 0.03, "control_rate": 0.02, "incremental": 100.0}
    assert google["standard_error"] == 2251**0.5 and google["relative_lift"] == 0.5 and google["large_enough"]
    assert as_json[0]["relative_lift"] is None and google["imported_at"].endswith("Z")

    as_csv = utmost("experiments", "show", "--format", "csv", "--db", "x.duckdb", cwd=tmp_path).stdout
    read = list(csv.DictReader(io.StringIO(as_csv)))
    assert [json.loads(row["key"]) for row in read] == [["facebook", "paid_social"], ["google", "cpc"],
                                                      ["newsletter", "email"]]
    assert float(read[1]["standard_error"]) == google["standard_error"]  # exact
    assert (read[0]["relative_lift"], read[0]["large_enough"], read[1]["large_enough"]) == ("", "false", "true")


def test_an_empty_project_says_how_to_add_experiments(tmp_path):
    with Store(tmp_path / "x.duckdb") as store:
        store.project()
    shown = utmost("experiments", "show", "--db", "x.duckdb", cwd=tmp_path)
    assert shown.stdout == "no experiments in project default (`utmost experiments import FILE.csv` adds them)\n"
    assert utmost("experiments", "show", "--format", "json", "--db", "x.duckdb", cwd=tmp_path).stdout == "[]\n"
    assert utmost("experiments", "show", "--format", "csv", "--db", "x.duckdb", cwd=tmp_path).stdout.startswith(
        "properties,key,start,end,")


def test_strict_imports_nothing_and_exits_1(tmp_path):
    (tmp_path / "a.csv").write_text(FOUR)
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(FOUR.encode()))
    done = utmost("experiments", "import", "a.csv", "b.csv.gz", "--strict", "--db", "x.duckdb", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[-3:] == [BAD_LINE, BAD_LINE.replace("a.csv", "b.csv.gz"),
                                             "error: 2 bad line(s); --strict imported nothing"]
    with Store(tmp_path / "x.duckdb", read_only=True) as store:
        assert store.experiments("default").num_rows == 0


def test_many_bad_lines_show_twenty_and_a_count(tmp_path):
    lines = "".join(f"k{n},cpc,2026-03-01,2026-03-02,1,2,1,0\n" for n in range(25))
    (tmp_path / "a.csv").write_text(HEADER + lines)
    done = utmost("experiments", "import", "a.csv", "--db", "x.duckdb", cwd=tmp_path)
    problems = done.stderr.splitlines()[1:]
    assert problems[0] == ("a.csv:2: test_conversions 2 is more than test_persons 1: count converting persons, "
                           "not conversions") and len(problems) == 21
    assert problems[-1] == "… and 5 more bad line(s)"
    assert done.stdout == "imported 0 experiments (replaced 0) · rejected 25\n"


def test_wrong_input_is_one_line_and_exit_2_before_the_database_is_made(tmp_path):
    (tmp_path / "spend.csv").write_text("date,utm_source,utm_medium,utm_campaign,cost\n2026-03-01,google,cpc,a,1\n")
    (tmp_path / "model.csv").write_text(HEADER.replace("utm_medium", "model"))
    cases = {
        ("missing.csv",): "error: missing.csv: no such file",
        ("spend.csv",): "error: spend.csv:1: the header has no column for start, end, test_persons, test_conversions, "
                        "control_persons, control_conversions (found: date,utm_source,utm_medium,utm_campaign,cost); "
                        "expected key properties (e.g. utm_source,utm_medium) and start,end,test_persons,"
                        "test_conversions,control_persons,control_conversions",
        ("model.csv",): "error: model.csv:1: the header's key properties: 'model' is also a column of the answer "
                        "(model, conversions, revenue, …)",
    }
    for args, message in cases.items():
        done = utmost("experiments", "import", *args, "--db", "x.duckdb", cwd=tmp_path)
        assert (done.returncode, done.stdout, done.stderr.strip()) == (2, "", message), args
    assert not (tmp_path / "x.duckdb").exists()
    read = utmost("experiments", "show", "--db", "x.duckdb", cwd=tmp_path)
    deleted = utmost("experiments", "delete", "--all", "--db", "x.duckdb", cwd=tmp_path)
    assert read.returncode == deleted.returncode == 2 and not (tmp_path / "x.duckdb").exists()
    assert deleted.stderr.startswith("error: x.duckdb: no such file")


def test_delete_one_keys_experiments_or_all(tmp_path):
    (tmp_path / "a.csv").write_text(FOUR)
    assert utmost("experiments", "import", "a.csv", "--db", "x.duckdb", cwd=tmp_path).returncode == 0
    for args in ((), ("--all", "utm_source=google")):
        refused = utmost("experiments", "delete", *args, "--db", "x.duckdb", cwd=tmp_path)
        assert (refused.returncode, refused.stderr) == (
            2, "error: name a key as PROPERTY=VALUE ..., or --all, not both (see `utmost experiments delete --help`)\n")
    malformed = utmost("experiments", "delete", "google", "--db", "x.duckdb", cwd=tmp_path)
    assert (malformed.returncode, malformed.stderr) == (2, "error: key 'google': expected FIELD=VALUE\n")
    one = utmost("experiments", "delete", "utm_medium=cpc", "utm_source=google", "--db", "x.duckdb", cwd=tmp_path)
    none = utmost("experiments", "delete", "utm_source=google", "--db", "x.duckdb", cwd=tmp_path)
    assert (one.stdout, none.stdout) == ("deleted 1 experiment\n", "deleted 0 experiments\n")
    assert [row["key"] for row in api.experiments(db=tmp_path / "x.duckdb").to_pylist()] == [
        ["facebook", "paid_social"], ["newsletter", "email"]]
    everything = utmost("experiments", "delete", "--all", "--db", "x.duckdb", cwd=tmp_path)
    assert everything.stdout == "deleted 2 experiments\n"
    assert api.experiments(db=tmp_path / "x.duckdb").num_rows == 0


def test_the_python_api_imports_and_reads_what_the_command_shows(tmp_path, monkeypatch):
    (tmp_path / "a.csv").write_text(FOUR)
    monkeypatch.chdir(tmp_path)
    report = api.import_experiments("a.csv", db=tmp_path / "x.duckdb")
    assert (report.imported, report.replaced, report.rejected, report.problems) == (3, 0, 1, [BAD_LINE])
    table = api.experiments(db=tmp_path / "x.duckdb")
    shown = utmost("experiments", "show", "--format", "json", "--db", "x.duckdb", cwd=tmp_path).stdout
    assert shown == formats.to_json(table) + "\n"
    assert table.column("start").to_pylist()[0] == datetime.date(2026, 3, 1)


def test_import_show_and_delete_through_the_server_that_holds_the_file(tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    for folder in (here, there):
        folder.mkdir()
        (folder / "a.csv").write_text(FOUR)
        with Store(folder / "x.duckdb") as store:
            store.project()
    commands = [("experiments", "import", "a.csv"), ("experiments", "import", "a.csv", "--strict"),
                ("experiments", "show"), ("experiments", "show", "--format", "csv"),
                ("experiments", "delete", "utm_source=google", "utm_medium=cpc"), ("experiments", "show"),
                ("experiments", "show", "--project", "nope"), ("experiments", "delete", "--all")]

    def run(folder):
        return [(done.returncode, done.stdout, done.stderr) for done in
                (utmost(*command, "--db", "x.duckdb", cwd=folder) for command in commands)]

    direct = run(here)
    with served(there / "x.duckdb"):
        through = run(there)
        api.import_experiments(there / "a.csv", db=there / "x.duckdb")
        table = api.experiments(db=there / "x.duckdb")
    for command, mine, theirs in zip(commands, direct, through):
        if command[-1] == "csv":  # imported_at differs: the two files were imported apart
            mine, theirs = (tuple(_without_imported_at(part) for part in each) for each in (mine, theirs))
        assert theirs == mine, command
    assert direct[2][0] == 0 and "utm_source=google" in direct[2][1] and direct[-2][2].startswith("error: no project")
    assert table.num_rows == 3 and table.equals(api.experiments(db=there / "x.duckdb"))


def _without_imported_at(text: object) -> object:
    return "\n".join(line.rsplit(",", 1)[0] for line in text.splitlines()) if isinstance(text, str) else text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda text: (HEADER + text).encode("utf-8", "surrogatepass")))
@example(data=b"\x1f\x8b\x08\x00garbage")
@example(data=(HEADER + "a,b,2026-03-01,2026-03-01," + "9" * 5000 + ",0,1,0\n").encode())
@example(data=b"\xff\xfe" + HEADER.encode("utf-16-le")[:51])
def test_any_bytes_are_imported_or_refused_with_a_line_never_a_traceback(tmp_path, data):
    path = tmp_path / "hostile.csv"
    path.write_bytes(data)
    for strict in ((), ("--strict",)):
        command = CliRunner().invoke(cli, ["experiments", "import", str(path), f"--db={tmp_path / 'h.duckdb'}",
                                           *strict], env={"COLUMNS": "200"})
        assert command.exception is None or isinstance(command.exception, SystemExit), (
            "".join(traceback.format_exception(command.exception)))
        assert command.exit_code in (0, 1, 2) and "Traceback" not in command.stderr
        lines = command.stderr.rstrip("\n").split("\n") if command.stderr else []  # a name may hold \x1c …
        if command.exit_code == 2:  # no experiments file at all: one line naming it
            assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), lines
            continue
        assert command.stdout.startswith("imported ") if command.exit_code == 0 else command.stdout == ""
        for line in lines:  # each bad line named by the file and its line, then how many more
            assert line.startswith((f"{path}:", "note: created project", "… and ", "error: ")), line
