"""``utmost channels``: the rules in effect, a project's own (docs/semantics.md §13), and every
interface asking with them: the CLI, the Python API, and a running server's query API."""

from __future__ import annotations

import httpx
import orjson
from conftest import raw_lines
from engine.journeys import DAY, MINUTE, book, land, page
from test_access import served
from test_cli import utmost

import utmost as api
from utmost.access import Handoff
from utmost.store import Store

BOOKED = "Reservation Completed"
NEWSLETTER_RULE = '# our own\n\n[[rule]]\nchannel = "Newsletter"\nwhen = [{ source_is = "newsletter" }]\n'


def maya(tmp_path):
    """docs/semantics.md §13's Maya: newsletter (Email), a Google search, a typed return, a booking."""
    google = {"$referrer": "https://www.google.com/", "$referring_domain": "www.google.com"}
    events = [land(0, "newsletter", utm_medium="email"), page(2 * DAY, **google), page(5 * DAY),
              book(5 * DAY + 5 * MINUTE, amount=200)]
    with Store(tmp_path / "d.duckdb") as store:
        store.open_project()
        store.insert_lines("default", raw_lines(events)).result()
    return tmp_path / "d.duckdb"


def first_touch(folder) -> dict:
    done = utmost("attribute", "--conversion", BOOKED, "--by", "channel", "--models", "first_touch",
                  "--format", "json", "--db", "d.duckdb", cwd=folder)
    assert done.returncode == 0, done.stderr
    return {row["channel"]: row["conversions"] for row in orjson.loads(done.stdout)}


def test_without_a_database_it_prints_ga4s_rules(tmp_path):
    shown = utmost("channels", cwd=tmp_path)
    assert shown.returncode == 0 and not (tmp_path / "utmost.duckdb").exists()
    lines = shown.stdout.splitlines()
    assert lines[0] == "GA4's default channel group (no database at utmost.duckdb, so no project has rules of its own):"
    assert lines[2] == " 1. Direct: source is '(direct)' and (medium is '(not set)' or '(none)')"
    assert "19. Unassigned: when no rule above holds" in shown.stdout


def test_a_projects_own_rules_hold_for_every_interface_until_reset(tmp_path):
    db = maya(tmp_path)
    assert first_touch(tmp_path) == {"Email": 1}
    (tmp_path / "mine.toml").write_text(NEWSLETTER_RULE)
    kept = utmost("channels", "--rules", "mine.toml", "--db", "d.duckdb", cwd=tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.splitlines()[:3] == [
        "project default: 1 rule(s) of its own from mine.toml, before the 18 of GA4's default channel group", "",
        " 1. Newsletter: source is 'newsletter'"]
    assert first_touch(tmp_path) == {"Newsletter": 1}
    python = api.attribute(BOOKED, db=db, by="channel", models="first_touch").to_pylist()
    assert [(r["channel"], r["conversions"]) for r in python] == [("Newsletter", 1)]
    assert utmost("channels", "--db", "d.duckdb", cwd=tmp_path).stdout == kept.stdout
    with served(db):
        url = Handoff.read(db).url
        secret = utmost("project", "secret", "default", "--rotate", "--db", "d.duckdb", cwd=tmp_path)
        auth = (secret.stdout.split("secret ")[1].split()[0], "")
        question = {"conversion": BOOKED, "by": "channel", "models": "first_touch"}
        asked = httpx.get(f"{url}/api/attribution", params=question, auth=auth).json()
        assert [(r["channel"], r["conversions"]) for r in asked] == [("Newsletter", 1)]
        reset = utmost("channels", "--reset", "--db", "d.duckdb", cwd=tmp_path)  # through the server
        assert reset.stdout.startswith("project default: GA4's default channel group\n")
        asked = httpx.get(f"{url}/api/attribution", params=question, auth=auth).json()
        assert [(r["channel"], r["conversions"]) for r in asked] == [("Email", 1)]  # at once
    assert first_touch(tmp_path) == {"Email": 1}


def test_a_rules_file_with_a_mistake_is_refused_with_its_line_and_nothing_changes(tmp_path):
    maya(tmp_path)
    (tmp_path / "bad.toml").write_text(NEWSLETTER_RULE.replace("source_is", "source_iz"))
    refused = utmost("channels", "--rules", "bad.toml", "--db", "d.duckdb", cwd=tmp_path)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.startswith("error: bad.toml:3: unknown condition 'source_iz' (one of source_is, ")
    missing = utmost("channels", "--rules", "nowhere.toml", "--db", "d.duckdb", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (2, "error: nowhere.toml: cannot read: No such file or directory\n")
    assert first_touch(tmp_path) == {"Email": 1}
