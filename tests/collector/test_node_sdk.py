"""The official Node SDK (npm ``mixpanel``), unchanged, against ``utmost serve`` over HTTPS.

The SDK sends a secret only over HTTPS ("Must use HTTPS if authenticating with API Secret"), so
the server runs with ``--tls-cert``/``--tls-key`` and a certificate made here, which node trusts
through ``NODE_EXTRA_CA_CERTS`` as a user of a self-signed one would. Every call the SDK makes
goes over the wire: ``track``, ``track_batch``, ``alias``, every ``people.*`` and ``groups.*``,
``import`` and ``import_batch`` with the project secret and with a service account naming the
project by the numeric id it had at Mixpanel. The SDK reports an answer it does not expect as an
error, so each call's error being null is the SDK's own judgement. The answer comes from the
``utmost`` command, as a user would ask it.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from collector.live import free_port, self_signed, start_server

from utmost.store import Store

NODE_DIR = Path(__file__).parent / "node"
SCRIPT = NODE_DIR / "sdk.js"
SDK = NODE_DIR / "node_modules" / "mixpanel" / "package.json"
PROJECT, TOKEN, SECRET, MIXPANEL_ID = "shop", "node-token", "node-secret-0123456789", "2195193"
SA_USER, SA_SECRET = "migrated.importer", "migrated-secret-0123456789"
#: Every call of the SDK, in the order a day of a site's traffic would make them.
EVERY_CALL = [
    "track_landing", "alias", "track_conversion", "track_batch",
    "people_set", "people_set_one", "people_set_once", "people_increment", "people_increment_one", "people_append",
    "people_union", "people_remove", "people_unset", "people_track_charge", "people_clear_charges",
    "people_delete_user",
    "groups_set", "groups_set_once", "groups_union", "groups_remove", "groups_unset", "groups_delete_group",
    "import", "import_batch", "import_by_mixpanel_id", "import_batch_by_mixpanel_id",
]


def utmost(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "utmost", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@dataclass
class Served:
    db: Path
    cert: Path
    port: int
    process: subprocess.Popen
    #: The clock of every run of sdk.js: a batch sent twice is then the same events twice.
    now: int = field(default_factory=lambda: int(time.time()))

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """SIGTERM, then a clean exit: DuckDB lets one process at a time open the file."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, self.db.with_suffix(".log").read_text()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    assert shutil.which("node"), "node is missing: scripts/test needs Node.js and npm"
    assert SDK.exists(), f"{SDK} is missing: run scripts/test (npm ci in {NODE_DIR})"
    db = tmp_path / "utmost.duckdb"
    for args in (("create", PROJECT, "--token", TOKEN, "--secret", SECRET, "--mixpanel-id", MIXPANEL_ID),
                 ("service-account", PROJECT, "--username", SA_USER, "--secret", SA_SECRET)):
        made = utmost("project", *args, "--db", str(db), cwd=tmp_path)
        assert made.returncode == 0, made.stderr
    cert, key = self_signed(tmp_path)
    port = free_port()
    process = start_server(db, port, tls=(cert, key))
    try:
        yield Served(db, cert, port, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def node(served: Served, calls: list[str], verbose: bool = False) -> dict[str, str | None]:
    """Run ``calls`` of ``sdk.js`` in order; each call's error as the SDK reported it, or None."""
    config = {"host": f"127.0.0.1:{served.port}", "token": TOKEN, "secret": SECRET, "user": SA_USER,
              "userSecret": SA_SECRET, "projectId": MIXPANEL_ID, "verbose": verbose, "now": served.now,
              "calls": calls}
    ran = subprocess.run(["node", str(SCRIPT), json.dumps(config)], cwd=NODE_DIR, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "NODE_EXTRA_CA_CERTS": str(served.cert)})
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)["results"]


def test_every_call_of_the_node_sdk_over_https(served: Served, tmp_path: Path) -> None:
    assert node(served, EVERY_CALL) == dict.fromkeys(EVERY_CALL)
    # verbose: true sends verbose=1 and parses the JSON answer instead of comparing with "1".
    assert node(served, ["track_batch", "import_batch", "import_batch_by_mixpanel_id"], verbose=True) == dict.fromkeys(
        ["track_batch", "import_batch", "import_batch_by_mixpanel_id"])
    # A refused import reaches the SDK in the shape it asked for: "0", not JSON it cannot read.
    assert node(served, ["import_with_a_wrong_secret"]) == {"import_with_a_wrong_secret": "Mixpanel Server Error: 0"}
    assert node(served, ["import_with_a_wrong_secret"], verbose=True) == {
        "import_with_a_wrong_secret": "Mixpanel Server Error: invalid project secret"}
    served.stop()

    with Store(served.db) as store:
        events = store.reader().execute(
            "SELECT event, count(*) FROM events WHERE project = ? GROUP BY event ORDER BY event", [PROJECT]).fetchall()
        person = store.profile("people", PROJECT, "user-7")
        cleared = store.profile("people", PROJECT, "user-8")
        deleted = store.profile("people", PROJECT, "user-9")
        group = store.profile("groups", PROJECT, "company", "acme")
        gone = store.profile("groups", PROJECT, "company", "gone")
    # The batches sent twice (verbose and not) are the same events (by $insert_id, or by the one
    # derived from the event, id and time): stored once. Room Viewed has no time, so /track gives
    # each its arrival time.
    assert events == [("$create_alias", 1), ("Historical Booking", 1), ("Imported Stay", 2),
                      ("Migrated Booking", 1), ("Migrated Stay", 2), ("Page View", 1),
                      ("Reservation Completed", 1), ("Room Viewed", 4)]
    assert person is not None
    assert [t["$amount"] for t in person.pop("$transactions")] == [240]
    assert person == {"plan": "free", "$name": "Ada Guest", "city": "Oslo", "nights": 3, "hotels": ["h-1"],
                      "rooms": ["deluxe"]}
    assert cleared == {"$transactions": []} and deleted is None
    assert group == {"name": "Acme", "city": "Oslo", "regions": ["EU"]} and gone is None

    # The landing two days before, then alias() and the booking: first touch credits the landing.
    attributed = utmost("attribute", "--db", str(served.db), "--project", PROJECT, "--conversion",
                        "Reservation Completed", "--models", "first_touch", "--format", "json", cwd=tmp_path)
    assert attributed.returncode == 0, attributed.stderr
    assert json.loads(attributed.stdout) == [
        {"model": "first_touch", "utm_source": "newsletter", "conversions": 1.0, "revenue": 240.0}]


def test_the_session_cookie_is_secure_over_https(served: Served) -> None:
    trusted = ssl.create_default_context(cafile=served.cert)
    with httpx.Client(base_url=served.url, verify=trusted, headers={"origin": served.url}) as client:
        response = client.post("/signin", data={"secret": SECRET, "next": "/"})
        assert response.status_code == 303, response.text
        assert response.headers["set-cookie"].lower().endswith("; httponly; samesite=lax; secure")
    with pytest.raises(httpx.RemoteProtocolError):  # plain HTTP is not answered on the HTTPS port
        httpx.get(f"http://127.0.0.1:{served.port}/healthz", timeout=5).raise_for_status()
    served.stop()
    assert f"utmost on https://127.0.0.1:{served.port}" in served.db.with_suffix(".log").read_text()



def test_the_python_sdk_imports_over_the_same_https(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python SDK sends verbose=1 in the form body and parses the JSON: the other half of verbose."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(served.cert))  # how requests trusts a self-signed certificate
    _import_with_the_python_sdk(served)
    # Its pooled connections are gone with the SDK's objects, as when a program ends: an idle
    # TLS connection whose client never reads again holds a server's stop for 30 s (asyncio's
    # TLS shutdown timeout), waiting for the client's close_notify.
    gc.collect()
    served.stop()
    with Store(served.db) as store:
        assert store.reader().execute("SELECT event, insert_id FROM events").fetchall() == [("Python Booking", "py-1")]


def _import_with_the_python_sdk(served: Served) -> None:
    from mixpanel import Consumer, Mixpanel, MixpanelException, ServiceAccountCredentials

    credentials = ServiceAccountCredentials(SA_USER, SA_SECRET, MIXPANEL_ID)
    consumer = Consumer(import_url=f"{served.url}/import", credentials=credentials)
    Mixpanel(TOKEN, consumer=consumer).import_data(TOKEN, "user-7", "Python Booking", int(time.time()) - 60,
                                                   {"$insert_id": "py-1"})
    wrong = Consumer(import_url=f"{served.url}/import", credentials=ServiceAccountCredentials(SA_USER, "nope", "1"))
    with pytest.raises(MixpanelException, match="invalid service account user name or secret"):
        Mixpanel(TOKEN, consumer=wrong).import_data(TOKEN, "user-7", "Python Booking", int(time.time()))
