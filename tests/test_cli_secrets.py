"""A way into every project through the real command (issue 21, item 2): a project made unasked
says so, `utmost project secret NAME --rotate` gives a new secret, and `utmost serve` prints a
one-time sign-in link per project."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx
import orjson
from collector.live import free_port
from conftest import event
from test_cli import utmost
from test_cli_databases import listing

from utmost.store import Store

NOTE = ("note: created project default; its secret (for /import, the query API and the dashboard) is kept only"
        " as a hash: `utmost project secret default --rotate{}` prints a new one\n")


def said(result: subprocess.CompletedProcess) -> list[str]:
    """The lines on stderr but blank ones (the progress bar leaves one)."""
    return [line for line in result.stderr.splitlines() if line]


def test_a_project_made_unasked_says_so_once(tmp_path):
    (tmp_path / "events.jsonl").write_bytes(orjson.dumps(event()) + b"\n")
    first = utmost("import", "events.jsonl", cwd=tmp_path)
    assert (first.returncode, said(first)) == (0, [NOTE.format("").rstrip()])
    again = utmost("import", "events.jsonl", cwd=tmp_path)
    assert (again.returncode, said(again)) == (0, [])
    (tmp_path / "other files").mkdir()
    other = utmost("import", "--db", "other files/u.duckdb", "events.jsonl", cwd=tmp_path)
    assert said(other) == [NOTE.format(" --db 'other files/u.duckdb'").rstrip()]


def test_a_mistyped_import_file_creates_no_database(tmp_path):
    result = utmost("import", "nope.jsonl", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, "error: nope.jsonl: no such file\n")
    assert listing(tmp_path) == {}


def test_a_secret_cannot_be_shown_and_is_rotated_on_demand(tmp_path):
    created = utmost("project", "create", "hotel", "--db", "u.duckdb", cwd=tmp_path)
    (old,) = re.findall(r"^  secret (\w+) ", created.stdout, re.MULTILINE)
    before = listing(tmp_path)
    shown = utmost("project", "secret", "hotel", "--db", "u.duckdb", cwd=tmp_path)
    assert (shown.returncode, shown.stdout, shown.stderr) == (2, "", (
        "error: the secret of project hotel cannot be shown: the database keeps only its hash; "
        "`utmost project secret hotel --rotate --db u.duckdb` replaces it with a new one, printed once "
        "(the old one stops working)\n"))
    assert listing(tmp_path) == before
    rotated = utmost("project", "secret", "hotel", "--rotate", "--db", "u.duckdb", cwd=tmp_path)
    assert rotated.returncode == 0 and rotated.stderr == ""
    (new,) = re.fullmatch(
        r"project hotel\n  secret ([0-9a-f]{32})   \(printed once; the old secret no longer works for /import, "
        r"the query API or the dashboard\)\n", rotated.stdout).groups()
    assert new.encode() not in (tmp_path / "u.duckdb").read_bytes()
    with Store(tmp_path / "u.duckdb", read_only=True) as store:
        assert store.project_by("secret", new).name == "hotel"
        assert store.project_by("secret", old) is None


def test_rotating_names_a_missing_project_or_file_and_creates_nothing(tmp_path):
    unknown = utmost("project", "create", "hotel", "--db", "u.duckdb", cwd=tmp_path)
    assert unknown.returncode == 0
    nope = utmost("project", "secret", "nope", "--rotate", "--db", "u.duckdb", cwd=tmp_path)
    assert (nope.returncode, nope.stderr) == (2, "error: no project 'nope' (see `utmost project list`)\n")
    missing = utmost("project", "secret", "default", "--rotate", "--db", "m.duckdb", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (2, (
        "error: m.duckdb: no such file (`utmost import` or `utmost project create` makes a database)\n"))
    assert not (tmp_path / "m.duckdb").exists()


def test_serve_prints_a_one_time_sign_in_link_per_project(tmp_path):
    for name in ("hotel", "spa"):
        assert utmost("project", "create", name, "--db", "s.duckdb", cwd=tmp_path).returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "utmost", "serve", "--db", "s.duckdb", "--port", str(port)], cwd=tmp_path,
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert server.stdout is not None and server.stderr is not None
        printed = [server.stdout.readline() for _ in range(6)]
        assert server.stderr.readline() == NOTE.format(" --db s.duckdb")
        url = f"http://127.0.0.1:{port}"
        assert printed[:2] == ["\n", f"utmost on {url} — s.duckdb  (Ctrl-C stops)\n"]
        links = {}
        for line in printed[2:5]:
            found = re.fullmatch(rf"  dashboard: ({url}/signin/\S+)   \(signs you in to project (\w+), once\)\n", line)
            assert found, line
            links[found[2]] = found[1]
        assert list(links) == ["hotel", "spa", "default"]
        assert printed[5].startswith(f"  API docs:  {url}/docs")
        for name, link in links.items():
            with httpx.Client(follow_redirects=True, timeout=60) as browser:
                landed = browser.get(link)
                assert (landed.status_code, landed.url.path) == (200, "/attribution")
                assert f'<span class="who">project <strong>{name}</strong>' in landed.text
                assert browser.get(link).url.path == "/signin"  # once
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()
