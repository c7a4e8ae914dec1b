"""The query API over a real socket: the CLI's answers, auth, and one error shape for all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest
from collector.live import serving

from utmost import demo
from utmost.store import Store
from utmost.store.importer import import_files
from utmost.web import create_app

CONVERSION = "Reservation Completed"
#: Questions asked both of the CLI and of the API: (CLI flags, API query).
QUESTIONS = [
    (["--models", "first_touch,last_touch,linear"], {"models": "first_touch,last_touch,linear"}),
    (["--models", "u_shaped,time_decay", "--scope", "session", "--lookback", "7d"],
     {"models": "u_shaped,time_decay", "scope": "session", "lookback": "7d"}),
    (["--models", "markov,shapley", "--by", "utm_source,utm_medium"], {"models": "markov,shapley", "by": "utm_source,utm_medium"}),
    (["--models", "participation", "--from", "2026-09-15", "--to", "2026-10-01"],
     {"models": "participation", "from": "2026-09-15", "to": "2026-10-01"}),
    (["--models", "linear", "--per-conversion"], {"models": "linear", "per_conversion": "true"}),
]

#: The questions also asked for CSV: totals, and rows per conversion.
CSV_QUESTIONS = (0, 4)


def cli(*args: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "utmost", *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "200"}, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo's data (and a second project), the CLI's answers to QUESTIONS, then the server."""
    folder = tmp_path_factory.mktemp("api")
    export = folder / "demo.jsonl"
    export.write_bytes(b"".join(demo.generate_lines(seed=3, visitors=300)))
    with Store(folder / "api.duckdb") as store:
        mine = store.project()  # created here: the one time its secret is known
        import_files(store, mine.name, [export])
        other = store.create_project("other", "other-token", "other-secret")
        lines = [orjson.dumps({"event": CONVERSION, "properties": {"distinct_id": "o1", "time": 1_790_000_000,
                                                                  "utm_source": "elsewhere", "amount": 1}})]
        (folder / "other.jsonl").write_bytes(b"\n".join(lines))
        import_files(store, other.name, [folder / "other.jsonl"])
    answers = [cli("attribute", "--db", "api.duckdb", "--conversion", CONVERSION, "--format", "json", *flags, cwd=folder)
               for flags, _ in QUESTIONS]
    as_csv = {n: cli("attribute", "--db", "api.duckdb", "--conversion", CONVERSION, "--format", "csv", *QUESTIONS[n][0],
                     cwd=folder) for n in CSV_QUESTIONS}
    journey = cli("journey", "user-000024", "--db", "api.duckdb", "--conversion", CONVERSION, "--format", "json", cwd=folder)
    with Store(folder / "api.duckdb") as store, serving(create_app(store)) as url:
        with httpx.Client(base_url=url, timeout=120) as client:
            yield {"client": client, "secret": mine.secret, "answers": answers, "journey": journey, "csv": as_csv}


def get(site, path, params=None, secret=None):
    auth = (secret if secret is not None else site["secret"], "")
    return site["client"].get(path, params=params, auth=auth)


@pytest.mark.parametrize("n", range(len(QUESTIONS)))
def test_attribution_is_exactly_the_cli_json(site, n):
    response = get(site, "/api/attribution", {"conversion": CONVERSION, **QUESTIONS[n][1]})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == orjson.loads(site["answers"][n])


@pytest.mark.parametrize("n", CSV_QUESTIONS)
def test_attribution_as_csv_is_exactly_the_cli_csv(site, n):
    response = get(site, "/api/attribution", {"conversion": CONVERSION, **QUESTIONS[n][1], "format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    name = "attribution-per-conversion.csv" if "per_conversion" in QUESTIONS[n][1] else "attribution.csv"
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert response.text == site["csv"][n]
    refused = get(site, "/api/attribution", {"conversion": CONVERSION, "format": "xml"})
    assert refused.status_code == 400 and "format" in refused.json()["error"]["message"]


def test_journey_is_exactly_the_cli_json(site):
    response = get(site, "/api/journey", {"id": "user-000024", "conversion": CONVERSION})
    assert response.json() == orjson.loads(site["journey"])


def test_asking_again_reuses_steps_and_gives_the_same_answer(site):
    first = get(site, "/api/attribution", {"conversion": CONVERSION, "models": "linear"}).json()
    get(site, "/api/attribution", {"conversion": CONVERSION, "models": "linear", "scope": "session"})
    assert get(site, "/api/attribution", {"conversion": CONVERSION, "models": "linear"}).json() == first


def test_pickers_and_person(site):
    names = get(site, "/api/events/names").json()
    assert names[0]["events"] >= names[-1]["events"] and CONVERSION in [n["event"] for n in names]
    properties = get(site, "/api/properties").json()
    assert properties[:3] == ["channel", "utm_source", "utm_medium"] and "amount" in properties
    person = get(site, "/api/people/user-000024").json()
    journey = orjson.loads(site["journey"])
    assert person["person"] == journey["person"] and person["ids"] == journey["ids"]
    assert set(person) == {"person", "ids", "profile", "first_touch", "last_touch"}


def test_auth_matrix(site):
    question = {"conversion": CONVERSION, "models": "last_touch"}
    anonymous = site["client"].get("/api/attribution", params=question)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == 'Basic realm="utmost"'
    assert get(site, "/api/attribution", question, secret="wrong").status_code == 401
    assert get(site, "/api/attribution", question, secret="other-token").status_code == 401  # a token is public
    rows = get(site, "/api/attribution", question, secret="other-secret").json()
    assert rows == [{"model": "last_touch", "utm_source": "elsewhere", "conversions": 1.0, "revenue": 1.0}]
    assert "elsewhere" not in get(site, "/api/attribution", question).text
    assert get(site, "/api/people/o1").status_code == 400  # another project's person is nobody here
    assert get(site, "/api/people/o1", secret="other-secret").json()["person"] == "o1"


ERRORS = [
    ({"models": "last_touch"}, "parameter 'conversion' is required"),
    ({"conversion": CONVERSION, "lookbak": "7d"}, "unknown parameter 'lookbak'. Did you mean lookback?"),
    ({"conversion": CONVERSION, "models": "lienar"}, "unknown model 'lienar'. Did you mean linear?"),
    ({"conversion": CONVERSION, "lookback": "soon"}, "lookback"),
    ({"conversion": CONVERSION, "scope": "week"}, "scope"),
    ({"conversion": CONVERSION, "markov_order": "x"}, "markov_order"),
    ({"conversion": "Booking"}, "'Booking'"),
    ({"conversion": CONVERSION, "by": "no_such_property"}, "no_such_property"),
    ({"conversion": CONVERSION, "from": "2026-10-05", "to": "2026-10-04"},
     "from 2026-10-05 is after to 2026-10-04: no conversion can be between them"),
]


@pytest.mark.parametrize(("params", "message"), ERRORS)
def test_parameter_errors(site, params, message):
    response = get(site, "/api/attribution", params)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_one_error_shape(site):
    """Every error of the API, whatever raised it, is {"error": {"status", "message"}}."""
    responses = [
        site["client"].get("/api/attribution", params={"conversion": CONVERSION}),
        get(site, "/api/attribution", {"conversion": CONVERSION, "models": "lienar"}),
        get(site, "/api/attribution", {"conversion": CONVERSION, "bootstrap": "many"}),
        get(site, "/api/journey", {"conversion": CONVERSION}),
        get(site, "/api/journey", {"id": "nobody", "conversion": CONVERSION}),
        get(site, "/api/no/such/thing"),
    ]
    assert [r.status_code for r in responses] == [401, 400, 400, 400, 400, 404]
    for response in responses:
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"status", "message"}
        assert body["error"]["status"] == response.status_code and body["error"]["message"]


def test_openapi_and_docs_are_served_locally(site):
    spec = site["client"].get("/openapi.json").json()
    assert {"/api/attribution", "/api/journey", "/api/events/names", "/api/properties", "/api/people/{person_id}"} <= set(spec["paths"])
    docs = site["client"].get("/docs").text
    assert "/docs/static/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert site["client"].get("/docs/static/swagger-ui-bundle.js").status_code == 200


def test_the_docs_page_reads_the_same_operations_in_openapi_30(site):
    """Swagger UI 4 reads 3.0 only: /docs is given /docs/openapi.json, /openapi.json stays 3.1."""
    spec = site["client"].get("/openapi.json").json()
    page = site["client"].get("/docs/openapi.json").json()
    assert (spec["openapi"], page["openapi"]) == ("3.1.0", "3.0.3")
    assert "url: '/docs/openapi.json'" in site["client"].get("/docs").text
    assert page["paths"].keys() == spec["paths"].keys()
    assert '"null"' not in orjson.dumps(page).decode() and "summary" not in page["info"]
    ci = next(p for p in page["paths"]["/api/attribution"]["get"]["parameters"] if p["name"] == "ci")
    assert ci["schema"] == {"type": "number", "nullable": True, "title": "Ci",
                            "description": "Add bootstrap intervals at this level (e.g. 0.95) to every row."}


def test_repeated_list_parameters_are_joined_and_other_repeats_refused(site):
    joined = get(site, "/api/attribution", {"conversion": CONVERSION, "models": "first_touch,linear"}).json()
    repeated = get(site, "/api/attribution", [("conversion", CONVERSION), ("models", "first_touch"), ("models", "linear")])
    assert repeated.json() == joined
    twice = get(site, "/api/attribution", [("conversion", CONVERSION), ("lookback", "7d"), ("lookback", "30d")])
    assert twice.status_code == 400 and twice.json()["error"]["message"] == "parameter 'lookback' given more than once"


def test_a_persons_first_and_last_touch_are_touchpoints_the_engine_counts(site):
    """Not the raw landing events: a reload of the landing page is no second touch."""
    journey = orjson.loads(site["journey"])
    counted = [e for e in journey["events"] if e["touch"] == "touchpoint"]
    person = get(site, "/api/people/user-000024").json()
    assert counted, "pick a person with touchpoints"
    assert person["first_touch"]["time"] == counted[0]["time"]
    assert person["last_touch"]["time"] == counted[-1]["time"]
    assert person["last_touch"]["utm_source"] == counted[-1]["landing_source"]
