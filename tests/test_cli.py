"""End to end through the real ``utmost`` command, on real DuckDB files in a temp folder."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time

import httpx
import orjson
import pytest
from collector.live import SECRET, TOKEN, free_port, self_signed, start_server
from conftest import event, stored

from utmost.store import Store


def utmost(*args: str, cwd, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "utmost", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=300,
    )


def test_help_on_every_command(tmp_path):
    for command in ([], ["import"], ["project"], ["project", "create"], ["project", "list"], ["demo"],
                    ["attribute"], ["export"], ["serve"], ["project", "service-account"], ["journey"],
                    ["people"], ["people", "delete"], ["compact"], ["project", "set"], ["channels"], ["spend"],
                    ["spend", "import"], ["spend", "show"], ["report"], ["experiments"], ["experiments", "import"],
                    ["experiments", "show"], ["experiments", "delete"], ["evaluate"], ["simulate"]):
        result = utmost(*command, "--help", cwd=tmp_path)
        assert result.returncode == 0 and "Usage: utmost" in result.stdout


def test_import_reports_bad_lines_and_summary(tmp_path):
    good = [event(time=1_700_000_000 + i, **{"$insert_id": f"i{i}"}) for i in range(5)]
    body = b"".join(orjson.dumps(r) + b"\n" for r in good[:3]) + b"{oops\n" + orjson.dumps(good[3]) + b"\n"
    (tmp_path / "a.jsonl").write_bytes(body)
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(orjson.dumps(good[3]) + b"\n" + orjson.dumps(good[4])))
    result = utmost("import", "a.jsonl", "b.jsonl.gz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "a.jsonl:4: invalid JSON" in result.stderr
    assert "imported 5 · duplicates 1 · rejected 1" in result.stdout
    with Store(tmp_path / "utmost.duckdb") as store:
        assert len(stored(store)) == 5
    again = utmost("import", "a.jsonl", cwd=tmp_path)
    assert "imported 0 · duplicates 4 · rejected 1" in again.stdout


def test_strict_import_exits_non_zero_and_imports_nothing(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(orjson.dumps(event()) + b"\n{oops\n")
    result = utmost("import", "--strict", "--db", "s.duckdb", "a.jsonl", cwd=tmp_path)
    assert result.returncode == 1
    assert "a.jsonl:2: invalid JSON" in result.stderr and "--strict imported nothing" in result.stderr
    with Store(tmp_path / "s.duckdb") as store:
        assert stored(store) == []


def test_db_from_environment_and_projects(tmp_path):
    env = {"UTMOST_DB": str(tmp_path / "env.duckdb")}
    created = utmost("project", "create", "hotel", "--token", "test-token", cwd=tmp_path, env=env)
    assert created.returncode == 0 and "token  test-token" in created.stdout and "secret " in created.stdout
    listed = utmost("project", "list", cwd=tmp_path, env=env)
    assert listed.stdout.split() == ["project", "token", "mixpanel", "id", "key", "events", "hotel",
                                     "test-token"]  # no `default` made
    duplicate = utmost("project", "create", "hotel", cwd=tmp_path, env=env)
    assert duplicate.returncode == 2 and duplicate.stderr.strip() == "error: name already used by project 'hotel'"
    (tmp_path / "a.jsonl").write_bytes(orjson.dumps(event()) + b"\n")
    assert utmost("import", "--project", "hotel", "a.jsonl", cwd=tmp_path, env=env).returncode == 0
    with Store(tmp_path / "env.duckdb") as store:
        assert len(stored(store, project="hotel")) == 1 and stored(store) == []


def test_a_project_keeps_the_id_it_had_at_mixpanel(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return utmost("project", *args, "--db", "m.duckdb", cwd=tmp_path)

    created = run("create", "shop", "--mixpanel-id", "2195193")
    assert created.returncode == 0 and "mixpanel id 2195193   (/import?project_id=2195193 names it)" in created.stdout
    assert run("create", "spa").returncode == 0
    changed = run("set", "spa", "--mixpanel-id", "77")
    assert (changed.returncode, changed.stdout.strip()) == (0, "project spa: mixpanel id 77   (/import?project_id=77 names it)")
    listed = run("list").stdout.splitlines()
    assert listed[0].split() == ["project", "token", "mixpanel", "id", "key", "events"]
    assert [line.split()[::2] for line in listed[1:]] == [["shop", "2195193"], ["spa", "77"]]  # no `default` made
    account = run("service-account", "shop", "--username", "importer")
    assert "send ?project_id=shop (or 2195193) with it" in account.stdout
    refusals = {
        ("create", "golf", "--mixpanel-id", "2195193"): "error: Mixpanel id 2195193 already names project 'shop'",
        ("set", "spa", "--mixpanel-id", "2195193"): "error: Mixpanel id 2195193 already names project 'shop'",
        ("create", "77"): "error: 77 is the Mixpanel id of project 'spa': ?project_id=77 would name both",
        ("set", "spa", "--mixpanel-id", "shop"): "error: a Mixpanel project id is a whole number such as 2195193, "
                                                  "not 'shop'",
        ("set", "spa", "--mixpanel-id", "-4"): "error: a Mixpanel project id is a whole number such as 2195193, not '-4'",
        ("set", "nope", "--mixpanel-id", "5"): "error: no project 'nope' (see `utmost project list`)",
        ("set", "shpo", "--mixpanel-id", "5"): "error: no project 'shpo'. Did you mean shop?",
        ("set", "spa"): "error: nothing to set: give --mixpanel-id N, --key-event EVENT or --no-key-events",
        ("set", "spa", "--key-event", "Booked", "--no-key-events"):
            "error: --key-event and --no-key-events contradict each other: give one",
        ("set", "spa", "--key-event", ""): "error: --key-event: name an event (an empty name is no event)",
    }
    for args, message in refusals.items():
        refused = run(*args)
        assert (refused.returncode, refused.stderr.strip()) == (2, message), args
    with Store(tmp_path / "m.duckdb") as store:
        assert [(p.name, p.mixpanel_id) for p in store.projects()] == [("shop", 2195193), ("spa", 77)]


def test_a_secret_is_printed_once_and_never_written_and_a_short_chosen_one_is_warned_of(tmp_path):
    created = utmost("project", "create", "hotel", "--db", "u.duckdb", cwd=tmp_path)
    (secret,) = [line.split()[1] for line in created.stdout.splitlines() if line.startswith("  secret ")]
    assert created.returncode == 0 and created.stderr == "" and len(secret) == 32
    short = utmost("project", "create", "spa", "--secret", "spa-secret", "--db", "u.duckdb", cwd=tmp_path)
    assert short.returncode == 0 and short.stderr.strip() == (
        "warning: a 10-character secret can be guessed from a copy of the database file; "
        "a generated one has 32 random hex digits"
    )
    assert secret.encode() not in (tmp_path / "u.duckdb").read_bytes()
    with Store(tmp_path / "u.duckdb") as store:
        assert store.project_by("secret", secret).name == "hotel"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "nope.jsonl"], "error: nope.jsonl: no such file"),
        (["import", "--project", "nope", "a.jsonl"], "error: no project 'nope' (see `utmost project list`)"),
    ],
)
def test_errors_are_one_line_without_traceback(tmp_path, args, message):
    (tmp_path / "a.jsonl").write_bytes(orjson.dumps(event()) + b"\n")
    result = utmost(*args, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == message


def test_demo_builds_a_fresh_database_through_import(tmp_path):
    result = utmost("demo", "--visitors", "300", "--no-serve", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with Store(tmp_path / "utmost-demo.duckdb") as store:
        summary = store.summary("default")
    assert f"{summary['events']:,} events" in result.stdout and "Reservation Completed" in result.stdout
    assert f"imported {summary['events']:,} · duplicates 0 · rejected 0" in result.stdout
    again = utmost("demo", "--visitors", "300", "--no-serve", cwd=tmp_path)
    assert f"imported {summary['events']:,} · duplicates 0" in again.stdout  # fresh, not appended


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    assert utmost("demo", "--visitors", "400", "--db", "d.duckdb", "--no-serve", cwd=folder).returncode == 0
    return folder


def test_attribute_json_is_the_python_api_and_sums_to_conversions(demo_db):
    import utmost as api

    result = utmost("attribute", "--db", "d.duckdb", "--conversion", "Reservation Completed",
                    "--models", "linear,participation", "--format", "json", cwd=demo_db)
    assert result.returncode == 0, result.stderr
    rows = orjson.loads(result.stdout)
    assert rows == api.attribute("Reservation Completed", db=demo_db / "d.duckdb", models="linear,participation").to_pylist()
    assert [r["model"] for r in rows] == sorted((r["model"] for r in rows), key=["linear", "participation"].index)
    linear = [r for r in rows if r["model"] == "linear"]
    assert [r["conversions"] for r in linear] == sorted((r["conversions"] for r in linear), reverse=True)
    per = orjson.loads(utmost("attribute", "--db", "d.duckdb", "--conversion", "Reservation Completed",
                              "--models", "linear", "--format", "json", "--per-conversion", cwd=demo_db).stdout)
    assert abs(sum(r["credit"] for r in per) - len({r["insert_id"] for r in per})) < 1e-9
    assert abs(sum(r["conversions"] for r in linear) - len({r["insert_id"] for r in per})) < 1e-9
    assert set(per[0]) == {"model", "insert_id", "person", "time", "utm_source", "credit", "revenue"}


def test_attribute_csv_and_table(demo_db):
    csv_out = utmost("attribute", "--db", "d.duckdb", "--conversion", "Reservation Completed", "--format", "csv",
                     "--models", "first_touch,last_touch", cwd=demo_db).stdout.splitlines()
    # the demo has spend, so by utm_source (a spend key) the money columns follow the credit
    assert csv_out[0] == "model,utm_source,conversions,revenue,cost,cpa,roas" and csv_out[1].startswith("first_touch,")
    table = utmost("attribute", "--db", "d.duckdb", "--conversion", "Reservation Completed",
                   "--models", "first_touch,last_touch", "--scope", "session", cwd=demo_db).stdout
    assert "first_touch" in table and "total" in table and "scope session" in table and "lookback 30d" in table


@pytest.mark.parametrize(("args", "message"), [
    (["--models", "lienar"], "error: unknown model 'lienar'. Did you mean linear?"),
    (["--lookback", "3x"], "error: lookback: '3x' is not a duration (use e.g. 90s, 30m, 12h, 30d, 2w)"),
    (["--by", "nope"], "error: --by 'nope': no event has this property (UTM keys: utm_source, utm_medium, "
                       "utm_campaign, utm_content, utm_term, utm_id)"),
    (["--by", "utm_sorce"], "error: --by 'utm_sorce': no event has this property. Did you mean utm_source?"),
    (["--by", "chanel"], "error: --by 'chanel': no event has this property. Did you mean channel?"),
])
def test_attribute_errors_are_one_line(demo_db, args, message):
    result = utmost("attribute", "--db", "d.duckdb", "--conversion", "Reservation Completed", *args, cwd=demo_db)
    assert result.returncode == 2 and result.stderr.startswith(message) and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_attribute_names_the_events_that_do_occur(demo_db, tmp_path):
    result = utmost("attribute", "--db", "d.duckdb", "--conversion", "Booking", cwd=demo_db)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: conversion event 'Booking' never occurs; most frequent events: "
        "$mp_web_page_view, Page View, Search, Room Viewed, $identify")
    # A name close to one that occurs is the fix: it is suggested instead of the list.
    typo = utmost("attribute", "--db", "d.duckdb", "--conversion", "reservation complete", cwd=demo_db)
    assert typo.returncode == 2
    assert typo.stderr.strip() == "error: conversion event 'reservation complete' never occurs. Did you mean Reservation Completed?"
    with Store(tmp_path / "empty.duckdb") as store:
        store.project()
    empty = utmost("attribute", "--db", "empty.duckdb", "--conversion", "Booking", cwd=tmp_path)
    assert empty.returncode == 2 and empty.stderr.strip() == "error: project 'default' has no events yet (see `utmost import`)"


def test_demo_prints_the_comparison_then_serves_the_dashboard(tmp_path):
    """`utmost demo` as the README runs it: data and spend, the models compared with cost per
    booking, then a sign-in link onto an attribution page with the money columns."""
    process = subprocess.Popen(
        [sys.executable, "-m", "utmost", "demo", "--visitors", "300"], cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"},
    )
    printed = []
    try:
        for line in process.stdout:
            printed.append(line)
            if "dashboard: " in line:
                break
        output = "".join(printed)
        assert "Where should my next euro go?" in output and "weekend_escape" in output
        assert "last_non_direct" in output and "Paid Search" in output
        link = output.split("dashboard: ")[1].split()[0]
        with httpx.Client(follow_redirects=True, timeout=60) as browser:
            landed = browser.get(link)
            assert (landed.status_code, landed.url.path) == (200, "/attribution")
            assert all(f'data-metric="{metric}"' in landed.text for metric in ("cost", "cpa", "roas"))  # spend joined
            assert browser.get(link).url.path == "/signin"  # a sign-in link works once
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        process.stdout.close()


def test_export_then_attribute_on_spark_fails_in_one_line(demo_db, tmp_path):
    """The scale-out path's refusals: Parquet by date, then Spark without its events, with a
    setting that is not KEY=VALUE, and a job Spark cannot finish. The same question answered on
    Spark as on DuckDB, through the CLI: ``tests/engine/test_spark_cluster.py`` (spark-submit)."""
    exported = utmost("export", "--db", "d.duckdb", "--parquet", str(tmp_path / "events"), cwd=demo_db)
    assert exported.returncode == 0 and exported.stdout.startswith("exported ")
    assert sorted(p.name for p in (tmp_path / "events").iterdir())[:2] == ["_utmost_export.json", "date=2026-09-01"]
    question = ["--conversion", "Reservation Completed", "--models", "first_touch,linear", "--format", "json"]
    missing = utmost("attribute", "--engine", "spark", *question, cwd=demo_db)
    assert missing.returncode == 2 and "--engine spark needs --events DIR" in missing.stderr
    wrong = utmost("attribute", "--engine", "spark", "--events", str(tmp_path / "events"), "--spark-conf",
                   "spark.driver.memory", *question, cwd=demo_db)
    assert wrong.returncode == 2 and wrong.stderr == (
        "error: --spark-conf 'spark.driver.memory': expected KEY=VALUE, e.g. spark.driver.memory=8g\n")
    # A job Spark cannot finish is one line naming the step and the JVM's cause, not a Java stack.
    failed = utmost("attribute", "--engine", "spark", "--events", str(tmp_path / "events"),
                    "--spark-master", "local[2]", "--spark-conf", "spark.driver.maxResultSize=1k", *question,
                    cwd=demo_db)
    assert failed.returncode == 2, failed.stderr
    line = failed.stderr.splitlines()[-1]
    assert line.startswith("error: the Spark engine failed (step: ") and "spark.driver.maxResultSize" in line, line
    assert "Traceback" not in failed.stderr and "\tat org.apache" not in failed.stderr, failed.stderr


def test_markov_shapley_and_the_explained_chain(demo_db):
    result = utmost("attribute", "--db", "d.duckdb", "--conversion", "Reservation Completed", "--models",
                    "markov,shapley", "--markov-order", "2", "--format", "json", "--explain-model", cwd=demo_db)
    assert result.returncode == 0, result.stderr
    document = orjson.loads(result.stdout)
    assert {r["model"] for r in document["rows"]} == {"markov", "shapley"}
    chain = document["markov"]
    assert chain["order"] == 2 and 0 < chain["conversion_probability"] < 1
    assert all(0 <= e <= 1 for e in chain["removal_effects"].values())
    leaving = {}
    for t in chain["transitions"]:
        leaving[str(t["from"])] = leaving.get(str(t["from"]), 0) + t["probability"]
    assert all(abs(total - 1) < 1e-9 for total in leaving.values())
    for model in ("markov", "shapley"):
        total = sum(r["conversions"] for r in document["rows"] if r["model"] == model)
        assert abs(total - round(total)) < 1e-9
    with_ci = orjson.loads(utmost("attribute", "--db", "d.duckdb", "--conversion", "Reservation Completed",
                                  "--models", "linear", "--format", "json", "--ci", "0.95", "--bootstrap", "30",
                                  cwd=demo_db).stdout)
    assert {"conversions_low", "conversions_high", "revenue_low", "revenue_high"} <= set(with_ci[0])


def test_serve_refuses_a_row_group_size_duckdb_cannot_write(tmp_path):
    served = utmost("serve", "--db", "s.duckdb", "--row-group-size", "1000", "--port", "0", cwd=tmp_path)
    assert served.returncode == 2
    assert served.stderr.startswith("error: cannot open s.duckdb: ") and "divisible by" in served.stderr


def test_serve_takes_new_events_into_the_derived_tables_every_refresh_every_seconds(tmp_path):
    """With nobody asking, the derived tables of `utmost serve --refresh-every 1` hold every event
    the collector stored within seconds (the default, 30 s, would leave them behind here)."""
    refused = utmost("serve", "--db", "s.duckdb", "--port", "0", "--refresh-every", "-1", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr == (
        "error: invalid value for '--refresh-every': -1 is not in the range x>=0 (see `utmost serve --help`)\n")
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        store.create_project("site", TOKEN, SECRET)
    server = start_server(db, port := free_port(), options=("--refresh-every", "1"))
    try:
        lines = [event("Page View", 1_700_000_000 + n, f"d{n % 3}", **{"$insert_id": f"i{n}", "utm_source": "mail"})
                 for n in range(30)]
        sent = httpx.post(f"http://127.0.0.1:{port}/import", content=b"\n".join(map(orjson.dumps, lines)),
                          auth=(SECRET, ""), headers={"Content-Type": "application/x-ndjson"})
        assert sent.status_code == 200 and sent.json()["num_records_imported"] == 30, sent.text
        time.sleep(4)  # several upkeep rounds: the file cannot be read beside the server
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    with Store(db, read_only=True) as store:
        reader = store.reader()
        top = reader.execute("SELECT max(seq), count(*) FROM events WHERE project = 'site'").fetchone()
        assert top[1] == 30
        assert reader.execute("SELECT seq, events FROM derived_state WHERE project = 'site'").fetchall() == [top]
        assert reader.execute("SELECT count(*) FROM derived_events WHERE project = 'site'").fetchone() == (30,)


def test_serve_refuses_tls_files_it_cannot_serve_with_in_one_line(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    cert, key = self_signed(tmp_path / "one")
    _, other_key = self_signed(tmp_path / "two")
    refusals = {
        ("--tls-key", str(key)): "error: --tls-key needs --tls-cert FILE",
        ("--tls-cert", "missing.pem"): "error: cannot serve HTTPS with --tls-cert missing.pem: No such file or directory",
        ("--tls-cert", str(cert)): f"error: cannot serve HTTPS with --tls-cert {cert}: expected a PEM certificate and "
                                   "its private key in the one file",
        ("--tls-cert", str(cert), "--tls-key", str(other_key)):
            f"error: cannot serve HTTPS with --tls-cert {cert} and --tls-key {other_key}: the key is not the "
            "certificate's",
        ("--tls-cert", str(key), "--tls-key", str(key)):
            f"error: cannot serve HTTPS with --tls-cert {key} and --tls-key {key}: expected a PEM certificate and its "
            "private key",
    }
    for args, message in refusals.items():
        refused = utmost("serve", "--db", "s.duckdb", "--port", "0", *args, cwd=tmp_path)
        assert (refused.returncode, refused.stderr.strip()) == (2, message), args
    assert not (tmp_path / "s.duckdb").exists()  # refused before the file was opened


def test_help_loads_nothing_a_command_does_not_need(tmp_path):
    """`utmost --help` took ~1.1 s while the CLI imported Arrow, DuckDB, scipy and FastAPI at
    start; each command now imports what answers it, and --help needs none of them."""
    heavy = ("pyarrow", "duckdb", "numpy", "scipy", "fastapi", "uvicorn", "starlette", "pyspark")
    probe = ("import sys, runpy; sys.argv = ['utmost', '--help']\n"
             "try:\n    runpy.run_module('utmost', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# --- output details (issue 21, item 8) ------------------------------------------------------------

def _sale(insert_id: str, device: str, t: int, event_name: str = "Page View", **properties) -> dict:
    return {"event": event_name, "properties": {"time": 1_700_000_000 + t, "distinct_id": device,
                                                "$insert_id": insert_id, **properties}}


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    """Two 0.1 + 0.2 bookings from google (float noise: 0.30000000000000004), and one of 100
    after three sources (linear: a third each, 33.333333333333336 in binary)."""
    folder = tmp_path_factory.mktemp("small")
    day = 86400
    events = [
        _sale("a1", "d1", 0, utm_source="google"), _sale("a2", "d1", 60, "Booked", amount=0.1),
        _sale("b1", "d2", 0, utm_source="google"), _sale("b2", "d2", 60, "Booked", amount=0.2),
        _sale("c1", "d3", 0, utm_source="facebook"), _sale("c2", "d3", day, utm_source="email"),
        _sale("c3", "d3", 2 * day, utm_source="tiktok"), _sale("c4", "d3", 2 * day + 60, "Booked", amount=100),
    ]
    (folder / "small.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    assert utmost("import", "--db", "s.duckdb", "small.jsonl", cwd=folder).returncode == 0
    return folder


def test_json_and_csv_numbers_have_no_float_noise(small_db):
    question = ["attribute", "--db", "s.duckdb", "--conversion", "Booked", "--models", "first_touch,linear"]
    rows = orjson.loads(utmost(*question, "--format", "json", cwd=small_db).stdout)
    assert rows == [
        {"model": "first_touch", "utm_source": "google", "conversions": 2.0, "revenue": 0.3},
        {"model": "first_touch", "utm_source": "facebook", "conversions": 1.0, "revenue": 100.0},
        {"model": "linear", "utm_source": "google", "conversions": 2.0, "revenue": 0.3},
        {"model": "linear", "utm_source": "email", "conversions": 0.333333333333333, "revenue": 33.3333333333333},
        {"model": "linear", "utm_source": "facebook", "conversions": 0.333333333333333, "revenue": 33.3333333333333},
        {"model": "linear", "utm_source": "tiktok", "conversions": 0.333333333333333, "revenue": 33.3333333333333},
    ]
    assert utmost(*question, "--format", "csv", cwd=small_db).stdout.splitlines() == [
        "model,utm_source,conversions,revenue",
        "first_touch,google,2.0,0.3",
        "first_touch,facebook,1.0,100.0",
        "linear,google,2.0,0.3",
        "linear,email,0.333333333333333,33.3333333333333",
        "linear,facebook,0.333333333333333,33.3333333333333",
        "linear,tiktok,0.333333333333333,33.3333333333333",
    ]
    per = utmost(*question, "--format", "csv", "--per-conversion", cwd=small_db).stdout.splitlines()
    assert per[-1] == "linear,c4,d3,2023-11-16T22:14:20,tiktok,0.333333333333333,33.3333333333333"


def test_a_key_event_is_kept_credited_and_answers_as_the_events_do(small_db, tmp_path):
    """`project set --key-event` builds the kept credit (docs/semantics.md §21); the same
    questions then read it and print what they printed before, and `project list` shows it."""
    (tmp_path / "s.duckdb").write_bytes((small_db / "s.duckdb").read_bytes())
    questions = [["--models", "first_touch,linear", "--format", "json"],
                 ["--models", "time_decay,participation", "--format", "csv", "--per-conversion"],
                 ["--models", "linear", "--from", "2023-11-16", "--format", "json"]]

    def answers() -> list[str]:
        return [utmost("attribute", "--db", "s.duckdb", "--conversion", "Booked", *q, cwd=tmp_path).stdout
                for q in questions]

    before = answers()
    set_ = utmost("project", "set", "default", "--key-event", "Booked", "--db", "s.duckdb", cwd=tmp_path)
    assert (set_.returncode, set_.stdout.strip()) == (0, "project default: key events 'Booked'")
    with Store(tmp_path / "s.duckdb", read_only=True) as store:
        kept = store.reader().execute("SELECT k0, linear FROM derived_credit ORDER BY conversion, k0").fetchall()
    assert kept == [("google", 1.0), ("google", 1.0), ("email", 1 / 3), ("facebook", 1 / 3), ("tiktok", 1 / 3)]
    assert answers() == before
    assert utmost("project", "list", "--db", "s.duckdb", cwd=tmp_path).stdout.splitlines()[1].split()[-1] == "Booked"
    dropped = utmost("project", "set", "default", "--no-key-events", "--db", "s.duckdb", cwd=tmp_path)
    assert dropped.stdout.strip() == "project default: key events none"
    with Store(tmp_path / "s.duckdb", read_only=True) as store:
        assert store.reader().execute("SELECT count(*) FROM derived_credit").fetchone() == (0,)


def test_per_conversion_with_the_table_format_prints_a_table(small_db):
    shown = utmost("attribute", "--db", "s.duckdb", "--conversion", "Booked", "--models", "linear",
                   "--per-conversion", cwd=small_db)
    assert shown.returncode == 0, shown.stderr
    assert [line.split() for line in shown.stdout.splitlines()] == [
        ["model", "insert_id", "person", "time", "utm_source", "credit", "revenue"],
        ["linear", "a2", "d1", "2023-11-14", "22:14:20", "google", "1", "0.10"],
        ["linear", "b2", "d2", "2023-11-14", "22:14:20", "google", "1", "0.20"],
        ["linear", "c4", "d3", "2023-11-16", "22:14:20", "email", "0.3333", "33.33"],
        ["linear", "c4", "d3", "2023-11-16", "22:14:20", "facebook", "0.3333", "33.33"],
        ["linear", "c4", "d3", "2023-11-16", "22:14:20", "tiktok", "0.3333", "33.33"],
    ]


def test_the_table_shows_the_intervals_asked_for(small_db):
    question = ["attribute", "--db", "s.duckdb", "--conversion", "Booked", "--models", "first_touch",
                "--ci", "0.9", "--bootstrap", "50", "--seed", "3"]
    rows = orjson.loads(utmost(*question, "--format", "json", cwd=small_db).stdout)
    table = utmost(*question, cwd=small_db).stdout.splitlines()
    assert table[0].split() == ["utm_source", "first_touch", "90%", "interval", "revenue", "90%", "interval"]
    for row in rows:
        line = next(line for line in table if line.split()[0] == row["utm_source"])
        assert line.split() == [row["utm_source"], f"{row['conversions']:,.2f}",
                                f"{row['conversions_low']:,.2f}", "–", f"{row['conversions_high']:,.2f}",
                                f"{row['revenue']:,.2f}", f"{row['revenue_low']:,.2f}", "–", f"{row['revenue_high']:,.2f}"]
    assert "intervals: 90% bootstrap over persons, 50 rounds, seed 3" in " ".join(table)


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "xml"], "error: invalid value for '--format': 'xml' is not one of 'table', 'json', 'csv' "
                          "(see `utmost attribute --help`)"),
    (["--bogus"], "error: no such option '--bogus' (see `utmost attribute --help`)"),
    (["--markov-order", "9"], "error: invalid value for '--markov-order': 9 is not in the range 1<=x<=4 "
                              "(see `utmost attribute --help`)"),
    (["--from", "2023-11-16", "--to", "2023-11-15"],
     "error: from 2023-11-16 is after to 2023-11-15: no conversion can be between them"),
])
def test_usage_errors_and_a_reversed_range_are_one_line(small_db, args, message):
    result = utmost("attribute", "--db", "s.duckdb", "--conversion", "Booked", *args, cwd=small_db)
    assert (result.returncode, result.stderr, result.stdout) == (2, message + "\n", "")


@pytest.mark.parametrize(("args", "message"), [
    (["attribute", "--db", "s.duckdb"], "error: missing option '--conversion' (see `utmost attribute --help`)"),
    (["atribute"], "error: no such command 'atribute'. Did you mean 'attribute'? (see `utmost --help`)"),
    (["project", "create"], "error: missing argument 'NAME' (see `utmost project create --help`)"),
])
def test_every_usage_error_is_one_line(small_db, args, message):
    result = utmost(*args, cwd=small_db)
    assert (result.returncode, result.stderr) == (2, message + "\n")
