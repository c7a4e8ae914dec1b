"""Commands and the Python API on a database that `utmost serve` holds (issue 21, item 3).

They find the server by the ``.serving`` file beside the database and ask it: the same bytes
on stdout and stderr, the same exit status, as a run on the file itself; an import goes through
the server's writer. Anything else holding the file is named, with what to do.
"""

from __future__ import annotations

import base64
import json
import shutil
import signal
import stat
import struct
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import msgspec
import orjson
import pyarrow.parquet as pq
import pytest
from collector.live import free_port, self_signed, serving, start_server
from conftest import event, raw_lines
from engine.test_deletion import maya_and_tom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import utmost

import utmost as api
from utmost.access import HANDOFF_SUFFIX, Handoff
from utmost.errors import DatabaseHeldError, ProjectError
from utmost.store import Store
from utmost.web import create_app

BOOKED = "Reservation Completed"
#: Every command that only reads, each a way the answer is printed (or an error is).
READS = [
    ["attribute", "--conversion", BOOKED, "--models", "first_touch,linear,markov,shapley"],
    ["attribute", "--conversion", BOOKED, "--models", "linear,shapley", "--ci", "0.9", "--bootstrap", "20"],
    ["attribute", "--conversion", BOOKED, "--format", "json", "--ci", "0.9", "--bootstrap", "20"],
    ["attribute", "--conversion", BOOKED, "--format", "csv", "--by", "utm_source,utm_campaign"],
    ["attribute", "--conversion", BOOKED, "--per-conversion"],
    ["attribute", "--conversion", BOOKED, "--models", "markov", "--format", "json", "--explain-model"],
    ["journey", "{person}", "--conversion", BOOKED],
    ["report", "--conversion", BOOKED, "--by", "channel"],
    ["report", "--conversion", BOOKED, "--model", "linear", "--interval", "week", "--format", "json"],
    ["report", "--conversion", BOOKED, "--format", "csv", "--by", "utm_source,utm_campaign"],
    ["journey", "{person}", "--conversion", BOOKED, "--format", "json"],
    ["project", "list"],
    ["project", "secret", "default"],  # an error: the secret cannot be shown
    ["attribute", "--conversion", BOOKED, "--project", "nope"],  # an unknown project
    ["journey", "nobody", "--conversion", BOOKED],  # an unknown person
    ["attribute", "--conversion", "Nothing Like It"],  # an event the project never saw
    # The table, csv and an unknown project: tests/test_cli_experiments.py, through the server too.
    ["experiments", "show", "--format", "json"],
]
#: Holdout tests of the demo's keys, which the experiments commands read.
EXPERIMENTS = ("utm_source,utm_medium,start,end,test_persons,test_conversions,control_persons,control_conversions\n"
               "google,cpc,2026-03-01,2026-03-28,10000,300,1000,20\n"
               "newsletter,email,2026-03-01,2026-03-14,5000,40,500,6\n")


def run(folder: Path, *args: str) -> tuple[int, str, str]:
    done = utmost(*(arg.format(person=booker(folder)) for arg in args), "--db", "d.duckdb", cwd=folder)
    return done.returncode, done.stdout, done.stderr


@contextmanager
def served(db: Path, tls: tuple[Path, Path] | None = None) -> Iterator[subprocess.Popen]:
    process = start_server(db, free_port(), tls)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("held")
    assert utmost("demo", "--visitors", "200", "--no-serve", "--db", "d.duckdb", cwd=folder).returncode == 0
    (folder / "tests.csv").write_text(EXPERIMENTS)
    assert utmost("experiments", "import", "tests.csv", "--db", "d.duckdb", cwd=folder).returncode == 0
    with Store(folder / "d.duckdb", read_only=True) as store:
        ((person,),) = store.reader().execute(
            "SELECT user_id FROM events WHERE event = ? ORDER BY seq LIMIT 1", [BOOKED]).fetchall()
    (folder / "booker").write_text(person)
    return folder


def booker(folder: Path) -> str:
    """The user id of the demo's first booking."""
    return (folder / "booker").read_text() if (folder / "booker").exists() else ""


def test_every_read_prints_the_same_through_the_server(demo):
    # Two commands at a time, each way: reads share the file (and the server), and each CLI
    # process spends most of its time starting, on one core.
    with ThreadPoolExecutor(2) as pool:
        direct = list(pool.map(lambda command: run(demo, *command), READS))
    assert direct[0][0] == 0 and "first_touch" in direct[0][1]
    with served(demo / "d.duckdb"), ThreadPoolExecutor(2) as pool:
        through = list(pool.map(lambda command: run(demo, *command), READS))
    for command, here, there in zip(READS, direct, through):
        assert there == here, command


def test_the_python_api_gets_the_same_tables_through_the_server(demo):
    db = demo / "d.duckdb"
    question = dict(models="first_touch,markov", by="utm_source,utm_medium", ci=0.9, bootstrap=10)
    table = api.attribute(BOOKED, db=db, **question)
    per_conversion = api.attribute(BOOKED, db=db, per_conversion=True)
    path = api.journey(booker(demo), BOOKED, db=db)
    report = api.report(BOOKED, db=db, model="shapley", interval="month")
    with served(db):
        assert api.report(BOOKED, db=db, model="shapley", interval="month").equals(report)
        assert api.attribute(BOOKED, db=db, **question).equals(table)
        assert api.attribute(BOOKED, db=db, per_conversion=True).equals(per_conversion)
        through = api.journey(booker(demo), BOOKED, db=db)
        with pytest.raises(ProjectError, match="no project 'nope'"):  # the same kind of error, too
            api.attribute(BOOKED, db=db, project="nope")
    assert (through.person, through.ids) == (path.person, path.ids)
    for part in ("sessions", "events", "touches", "credits"):
        assert getattr(through, part).equals(getattr(path, part)), part


def test_an_export_through_the_server_writes_the_same_parquet(demo, tmp_path):
    assert utmost("export", "--parquet", str(tmp_path / "here"), "--db", "d.duckdb", cwd=demo).returncode == 0
    with served(demo / "d.duckdb"):
        done = utmost("export", "--parquet", "there", "--db", str(demo / "d.duckdb"), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("exported ") and done.stdout.endswith(" dates rewritten, 0 unchanged → there\n")

    def rows(folder: Path) -> list:
        return pq.read_table(folder).sort_by("seq").to_pylist()

    assert rows(tmp_path / "there") == rows(tmp_path / "here")


def write_events(path: Path, records: list[dict], bad_line_at: int | None = None) -> None:
    lines = [orjson.dumps(record) for record in records]
    if bad_line_at is not None:
        lines.insert(bad_line_at - 1, b"{not json")
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_an_import_goes_through_the_servers_writer_with_its_duplicate_checks(tmp_path):
    db = tmp_path / "d.duckdb"
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    landings = [event("Page View", 1_700_000_000 + i, f"v{i}", utm_source="ads", **{"$insert_id": f"p{i}"})
                for i in range(3)]
    write_events(folder / "events.jsonl", landings, bad_line_at=2)
    with served(db):  # a new file: the server made it, and the `default` project
        first = utmost("import", "events.jsonl", "--db", str(db), cwd=folder)  # relative to the command
        again = utmost("import", "events.jsonl", "--db", str(db), cwd=folder)
        strict = utmost("import", "events.jsonl", "--strict", "--db", str(db), cwd=folder)
        tracked = httpx.post(f"{Handoff.read(db).url}/track", data={"data": json.dumps(
            {"event": "Page View", "properties": {"token": token_of(db), "distinct_id": "v9", "time": 1_700_000_100,
                                                  "$insert_id": "t9"}})})
        assert tracked.text == "1"
    assert (first.returncode, first.stderr) == (0, "events.jsonl:2: invalid JSON\n")
    assert first.stdout.startswith("imported 3 · duplicates 0 · rejected 1  (")
    assert (again.returncode, again.stderr) == (0, "events.jsonl:2: invalid JSON\n")
    assert again.stdout.startswith("imported 0 · duplicates 3 · rejected 1  (")
    assert strict.returncode == 1 and "--strict imported nothing" in strict.stderr
    with Store(db, read_only=True) as store:
        stored = store.reader().execute("SELECT seq, distinct_id FROM events ORDER BY seq").fetchall()
    assert [person for _, person in stored] == ["v0", "v1", "v2", "v9"]  # each once
    assert [seq for seq, _ in stored] == sorted({seq for seq, _ in stored})  # numbered by one writer


def token_of(db: Path) -> str:
    """The token of ``db``'s default project, asked of the server that holds it."""
    listed = utmost("project", "list", "--db", str(db), cwd=db.parent)
    return listed.stdout.splitlines()[1].split()[1]


def test_project_changes_through_the_server_hold_there_at_once(tmp_path):
    db = tmp_path / "d.duckdb"
    with Store(db) as store:
        store.open_project()
    with served(db):
        url = Handoff.read(db).url
        created = utmost("project", "create", "shop", "--mixpanel-id", "77", "--db", "d.duckdb", cwd=tmp_path)
        assert created.returncode == 0, created.stderr
        secret = created.stdout.split("secret ")[1].split()[0]

        def names(secret: str) -> httpx.Response:
            return httpx.get(f"{url}/api/events/names", auth=(secret, ""))

        assert names(secret).json() == []  # the server knows the project and its secret at once

        account = utmost("project", "service-account", "shop", "--db", "d.duckdb", cwd=tmp_path)
        user = account.stdout.split()[2]
        password = account.stdout.split("secret ")[1].split()[0]
        body = json.dumps([event("Signup", 1_700_000_000, "s1", **{"$insert_id": "s1"})])

        def imported(project_id: str) -> int:
            return httpx.post(f"{url}/import", params={"project_id": project_id}, content=body,
                              auth=(user, password)).status_code

        assert imported("77") == 200
        moved = utmost("project", "set", "shop", "--mixpanel-id", "78", "--db", "d.duckdb", cwd=tmp_path)
        assert moved.stdout == "project shop: mixpanel id 78   (/import?project_id=78 names it)\n"
        assert imported("77") == 403 and imported("78") == 200  # the old id names it no more

        rotated = utmost("project", "secret", "shop", "--rotate", "--db", "d.duckdb", cwd=tmp_path)
        new = rotated.stdout.split("secret ")[1].split()[0]
        assert names(secret).status_code == 401
        assert names(new).json() == [{"event": "Signup", "events": 1}]
        listed = utmost("project", "list", "--db", "d.duckdb", cwd=tmp_path)
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["project", "default", "shop"]


def test_a_person_deleted_through_the_server_is_gone_from_its_answers(tmp_path):
    db = tmp_path / "d.duckdb"
    with Store(db) as store:
        store.insert_lines("default", raw_lines(maya_and_tom())).result()
    question = ["attribute", "--conversion", BOOKED, "--models", "first_touch", "--format", "csv"]
    with served(db):
        before = utmost(*question, "--db", "d.duckdb", cwd=tmp_path)
        deleted = utmost("people", "delete", "crm-17", "--yes", "--db", "d.duckdb", cwd=tmp_path)
        after = utmost(*question, "--db", "d.duckdb", cwd=tmp_path)
    assert [line.split(",")[1] for line in before.stdout.splitlines()[1:]] == ["newsletter", "tiktok"]
    assert deleted.stdout.startswith("deleted person maya@x: 5 ids ($device:l7, $device:p1, crm-17, maya-old,"
                                     " maya@x), 6 events, 0 profiles\n")
    assert [line.split(",")[1] for line in after.stdout.splitlines()[1:]] == ["tiktok"]


def test_the_serving_file_is_the_owners_only_and_goes_with_the_server(demo):
    db = demo / "d.duckdb"
    beside = db.with_name(db.name + HANDOFF_SUFFIX)
    with served(db) as server:
        handoff = Handoff.read(db)
        assert stat.S_IMODE(beside.stat().st_mode) == 0o600
        assert handoff.pid == server.pid and handoff.url.startswith("http://127.0.0.1:")
        assert len(handoff.credential) >= 40
    assert not beside.exists()


def test_commands_reach_a_server_on_https_trusting_its_certificate_only(demo, tmp_path):
    direct = run(demo, *READS[0])
    with served(demo / "d.duckdb", tls=self_signed(tmp_path)):
        assert Handoff.read(demo / "d.duckdb").url.startswith("https://")
        assert run(demo, *READS[0]) == direct


HOLD = """
import sys, time
from utmost.store import Store
with Store(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


@contextmanager
def held_by_a_script(db: Path) -> Iterator[subprocess.Popen]:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        yield holder
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_a_file_held_by_something_else_names_the_holder(demo, tmp_path):
    db = tmp_path / "d.duckdb"
    shutil.copy(demo / "d.duckdb", db)
    # A file left by a server that was killed names another process: it is not believed.
    db.with_name(db.name + HANDOFF_SUFFIX).write_text(json.dumps(
        {"url": f"http://127.0.0.1:{free_port()}", "pid": 1, "credential": "old"}))
    with held_by_a_script(db) as holder:
        refused = utmost(*READS[0], "--db", "d.duckdb", cwd=tmp_path)
        with pytest.raises(DatabaseHeldError) as raised:
            api.attribute(BOOKED, db=db)
    assert raised.value.pid == holder.pid
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.startswith(f"error: d.duckdb: held by another process: PID {holder.pid} (")
    assert refused.stderr.endswith("); stop it, or use another file\n")


@pytest.mark.parametrize("mode", [0o600, 0o644])
def test_a_server_that_does_not_answer_is_said_to_be_one_if_its_file_is_the_users_alone(demo, tmp_path, mode):
    db = tmp_path / "d.duckdb"
    shutil.copy(demo / "d.duckdb", db)
    with held_by_a_script(db) as holder:
        url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        beside = Path(f"{db}{HANDOFF_SUFFIX}")
        beside.write_text(json.dumps({"url": url, "pid": holder.pid, "credential": "c"}))
        beside.chmod(mode)
        refused = utmost(*READS[0], "--db", "d.duckdb", cwd=tmp_path)
    assert (refused.returncode, refused.stdout) == (2, "")
    if mode & 0o077:  # others may read it, or someone else wrote it: not believed
        assert refused.stderr.startswith(f"error: d.duckdb: held by another process: PID {holder.pid} (")
        return
    assert refused.stderr.startswith(f"error: d.duckdb is held by utmost serve (PID {holder.pid}), which does not answer"
                                     f" at {url} (")
    assert refused.stderr.endswith("); wait for it to start, or stop it\n")


# The server's side: /local/NAME takes only the credential of its .serving file.

SHOP_SECRET = "shop-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Iterator[tuple[httpx.Client, Handoff]]:
    folder = tmp_path_factory.mktemp("local")
    with Store(folder / "d.duckdb") as store:
        store.insert_lines("default", raw_lines(maya_and_tom())).result()
        store.create_project("shop", secret=SHOP_SECRET)
        handoff = Handoff.new("http", "127.0.0.1", 0, None)
        with serving(create_app(store, handoff=handoff)) as url, httpx.Client(base_url=url, timeout=60) as client:
            yield client, handoff


def bearer(handoff: Handoff) -> dict[str, str]:
    return {"Authorization": f"Bearer {handoff.credential}"}


def test_the_local_channel_refuses_every_other_credential(local):
    client, handoff = local
    body = msgspec.msgpack.encode({})
    project_secret = "Basic " + base64.b64encode(f"{SHOP_SECRET}:".encode()).decode()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {handoff.credential}"},
                    {"Authorization": f"Bearer {handoff.credential}x"}, {"Authorization": project_secret},
                    {"Authorization": handoff.credential}):
        refused = client.post("/local/list_projects", content=body, headers=headers)
        assert refused.status_code == (401 if headers else 403), headers  # 403: no credential, and no Origin
        assert refused.json()["error"]["status"] == refused.status_code
    assert client.post("/local/list_projects", content=body, headers=bearer(handoff)).status_code == 200
    # A page of another site cannot make a browser send it (the credential is not a cookie anyway).
    foreign = client.post("/local/list_projects", content=body, headers={**bearer(handoff), "Origin": "http://evil.example"})
    assert foreign.status_code == 403


def frames(answer: httpx.Response) -> list[tuple[bytes, object]]:
    """The frames of an answer: (tag, value), each sent as a 4-byte length, a tag and msgpack."""
    data, found, at = answer.content, [], 0
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        found.append((data[at + 4 : at + 5], msgspec.msgpack.decode(data[at + 5 : at + 5 + length])))
        at += 5 + length
    return found


@pytest.mark.parametrize(("name", "body", "message"), [
    ("format_disk", {}, "no operation 'format_disk'; this server runs attribution, create_project, "),
    ("rotate_secret", {}, "operation rotate_secret: Object missing required field `name`"),
    ("rotate_secret", {"name": 7}, "operation rotate_secret: Expected `str`, got `int` - at `$.name`"),
    ("rotate_secret", {"name": "default", "also": 1}, "operation rotate_secret: Object contains unknown field `also`"),
    ("import_events", {"project": "default", "paths": [], "strict": False, "folder": "/", "progress": 1},
     "operation import_events: Object contains unknown field `progress`"),  # the server's own callback
])
def test_the_local_channel_refuses_a_call_it_cannot_make(local, name, body, message):
    client, handoff = local
    refused = client.post(f"/local/{name}", content=msgspec.msgpack.encode(body), headers=bearer(handoff))
    assert (refused.status_code, refused.headers["x-utmost-error"]) == (400, "InputError")
    assert refused.json()["error"]["message"].startswith(message)


@pytest.mark.parametrize(("name", "body", "kind", "message"), [
    ("rotate_secret", {"name": "nope"}, "ProjectError", "no project 'nope' (see `utmost project list`)"),
    ("attribution", {"question": {"conversion": BOOKED, "start": "2024-02-01", "end": "2024-01-01"},
                     "per_conversion": False}, "InputError",
     "from 2024-02-01 is after to 2024-01-01: no conversion can be between them"),
    ("journey", {"question": {"conversion": BOOKED}, "any_id": "nobody"}, "InputError",
     "no person has the id 'nobody' in project 'default'"),
])
def test_an_operation_that_fails_ends_its_answer_with_its_error(local, name, body, kind, message):
    client, handoff = local
    answered = client.post(f"/local/{name}", content=msgspec.msgpack.encode(body), headers=bearer(handoff))
    assert answered.status_code == 200
    assert frames(answered) == [(b"e", {"kind": kind, "message": message})]


def test_an_import_through_the_channel_reports_progress_before_its_value(local, tmp_path):
    client, handoff = local
    write_events(tmp_path / "a.jsonl", [event("Page View", 1_700_000_000 + i, f"q{i}", **{"$insert_id": f"q{i}"})
                                         for i in range(5)])
    write_events(tmp_path / "b.jsonl", [event("Page View", 1_700_000_100, "q9", **{"$insert_id": "q9"})])
    body = {"project": "default", "paths": ["a.jsonl", "b.jsonl"], "strict": False, "folder": str(tmp_path)}
    answered = client.post("/local/import_events", content=msgspec.msgpack.encode(body), headers=bearer(handoff))
    found = frames(answered)
    size = (tmp_path / "a.jsonl").stat().st_size, (tmp_path / "b.jsonl").stat().st_size
    assert found[:-1] == [(b"p", [size[0], 5]), (b"p", [size[1], 1])]
    tag, value = found[-1]
    assert tag == b"v" and value["report"] == {"imported": 6, "duplicates": 0, "rejected": 0, "problems": [],
                                               "checked_only": False}


#: Names the operations take, and values of every kind for them (questions with wrong keys too).
ARGUMENTS = ["question", "per_conversion", "any_id", "project", "paths", "strict", "folder", "name", "mixpanel_id", "key"]
SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.text(max_size=12)
VALUES = SCALARS | st.lists(SCALARS, max_size=3) | st.dictionaries(
    st.sampled_from(["conversion", "models", "by", "lookback", "start", "end", "ci", "bootstrap", "question", "x"]),
    SCALARS, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["attribution", "journey", "import_events", "delete_person_of", "list_projects",
                             "import_experiment_files", "stored_experiments", "delete_experiments", "x"]),
       body=st.binary(max_size=64) | st.dictionaries(st.sampled_from(ARGUMENTS) | st.text(max_size=8), VALUES, max_size=5)
       .map(msgspec.msgpack.encode))
def test_no_call_however_malformed_gets_a_server_error(local, name, body):
    client, handoff = local
    answered = client.post(f"/local/{name}", content=body, headers=bearer(handoff))
    assert answered.status_code < 500, answered.text
    if answered.status_code != 200:
        assert answered.json()["error"]["message"]


def test_a_killed_servers_file_is_replaced_and_left_alone_by_the_next(tmp_path):
    db = tmp_path / "d.duckdb"
    with Store(db) as store:
        store.open_project()
    server = start_server(db, free_port())
    server.kill()  # no chance to remove its file
    server.wait()
    stale = Handoff.read(db)
    assert stale is not None and stale.pid == server.pid
    with served(db) as again:
        assert Handoff.read(db).pid == again.pid != stale.pid
        listed = utmost("project", "list", "--db", "d.duckdb", cwd=tmp_path)
        assert listed.returncode == 0 and listed.stdout.startswith(" project")
    assert not Path(f"{db}{HANDOFF_SUFFIX}").exists()
