"""``POST /api/evaluate`` on a real server on 127.0.0.1: ``utmost evaluate --format json``'s answer
for the truth in the body, auth, same origin, the size limit, and hostile bodies and truths that
never get a 5xx (docs/semantics.md §20)."""

from __future__ import annotations

import base64
import json
import socket

import httpx
import orjson
import pytest
from collector.live import serving
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import utmost
from test_cli_evaluate import TRUTH, events

from utmost.store import Store
from utmost.web import create_app
from utmost.web.api import MAX_TRUTH_BYTES

SECRET = "evaluate-secret-0123456789"
OTHER = "other-secret-0123456789abc"
BODY = json.dumps(TRUTH).encode()
#: Asked of the CLI and of the API alike: (CLI flags, API query).
QUESTIONS = [
    (["--models", "last_touch,first_touch,linear"], {"models": "last_touch,first_touch,linear"}),
    (["--models", "markov,shapley,time_decay", "--half-life", "1d"],
     [("models", "markov"), ("models", "shapley,time_decay"), ("half_life", "1d")]),
    (["--scope", "session", "--split-on-key"], {"scope": "session", "split_on_key": "true"}),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The hand-worked events of tests/test_cli_evaluate.py in project ``shop`` (and an empty
    ``other``), the CLI's answers to QUESTIONS, then the server."""
    folder = tmp_path_factory.mktemp("evaluate-api")
    (folder / "events.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events()))
    (folder / "truth.json").write_bytes(BODY)
    with Store(folder / "e.duckdb") as store:
        store.create_project("shop", secret=SECRET)
        store.create_project("other", secret=OTHER)
    assert utmost("import", "events.jsonl", "--db", "e.duckdb", "--project", "shop", cwd=folder).returncode == 0
    answers = []
    for flags, _ in QUESTIONS:
        done = utmost("evaluate", "--truth", "truth.json", "--db", "e.duckdb", "--project", "shop", "--format", "json",
                      *flags, cwd=folder)
        assert done.returncode == 0, done.stderr
        answers.append(done.stdout.strip())
    with Store(folder / "e.duckdb") as store, serving(create_app(store)) as url:
        with httpx.Client(base_url=url, timeout=120) as client:
            yield {"client": client, "url": url, "answers": answers}


def post(site, body: bytes = BODY, params=None, secret: str | None = SECRET, headers=None) -> httpx.Response:
    return site["client"].post("/api/evaluate", content=body, params=params,
                               auth=(secret, "") if secret is not None else None,
                               headers={"content-type": "application/json", **(headers or {})})


@pytest.mark.parametrize("n", range(len(QUESTIONS)))
def test_the_answer_is_exactly_the_cli_json(site, n):
    answer = post(site, params=QUESTIONS[n][1])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.text == site["answers"][n]


def test_the_hand_worked_scores(site):
    scores = {s["model"]: s for s in post(site, params={"models": "last_touch"}).json()["scores"]}
    assert (scores["last_touch"]["tvd_pp"], scores["last_touch"]["rank_correlation"]) == (32.1428571428571, 0.5)


@pytest.mark.parametrize(("secret", "headers", "status", "message"), [
    (None, {"origin": "OWN"}, 401, "sign in, or send the project secret by HTTP Basic auth"),
    (None, {}, 403, "a request that changes something must say where it comes from"),
    ("wrong-secret", {}, 401, "invalid project secret"),
    (SECRET, {"origin": "https://evil.example"}, 403, "refused a request from https://evil.example"),
    (SECRET, {"referer": "https://evil.example/page"}, 403, "refused a request from https://evil.example"),
    (OTHER, {}, 400, "project 'other' has no events yet"),  # a secret reads its own project only
])
def test_a_stranger_another_origin_or_another_project_is_refused(site, secret, headers, status, message):
    answer = post(site, secret=secret, headers={k: site["url"] if v == "OWN" else v for k, v in headers.items()})
    assert answer.status_code == status
    assert answer.json() == {"error": {"status": status, "message": answer.json()["error"]["message"]}}
    assert answer.json()["error"]["message"].startswith(message)


def test_a_signed_in_browser_must_say_it_comes_from_this_server(site):
    with httpx.Client(base_url=site["url"], timeout=120) as browser:
        signed = browser.post("/signin", data={"secret": SECRET, "next": "/evaluate"},
                              headers={"origin": site["url"]})
        assert signed.status_code == 303
        bare = browser.post("/api/evaluate", content=BODY, params={"models": "last_touch"})
        assert bare.status_code == 403 and "must say where it comes from" in bare.json()["error"]["message"]
        own = browser.post("/api/evaluate", content=BODY, params={"models": "last_touch"},
                           headers={"origin": site["url"]})
        assert own.status_code == 200 and own.json()["scores"][0]["model"] == "last_touch"


@pytest.mark.parametrize(("body", "params", "message"), [
    (b"", None, "empty body: send the truth file (Content-Type: application/json)"),
    (b"{", None, "body: not JSON: "),
    (b"[]", None, "body: not a truth file written by `utmost simulate`: Expected `object`, got `array`"),
    (json.dumps({**TRUTH, "format": "x"}).encode(), None, "body: format 'x'; this utmost reads 'utmost-truth/1'"),
    (BODY.replace(b'"baseline": 1.5', b'"baseline": 1e999'), None,
     "body: not a truth file written by `utmost simulate`: Number out of range - at `$.baseline`"),
    (json.dumps({**TRUTH, "by": []}).encode(), None, "body: channel {'utm_source': 'ads'} must name exactly"),
    (json.dumps({**TRUTH, "end": "soon"}).encode(), None, "body: to: 'soon' is not a date"),
    (json.dumps({**TRUTH, "conversion": "Signup"}).encode(), None, "conversion event 'Signup' never occurs"),
    (json.dumps({**TRUTH, "by": ["utm_medium"], "channels": [{"key": {"utm_medium": "cpc"}, "removal": 1,
                                                              "shapley": 1}]}).encode(), None,
     "no landing in project 'shop' carries any of the truth's channels by utm_medium (cpc)"),
    (BODY, {"conversion": "Purchase"}, "conversion: utmost evaluate takes it from the truth file"),
    (BODY, {"from": "2024-01-02"}, "from: utmost evaluate takes it from the truth file"),
    (BODY, {"ci": "0.9"}, "ci: utmost evaluate has no intervals"),
    (BODY, {"interval": "week"}, "unknown parameter 'interval'"),
    (BODY, {"lookbak": "7d"}, "unknown parameter 'lookbak'. Did you mean lookback?"),
    (BODY, {"models": "lienar"}, "unknown model 'lienar'. Did you mean linear?"),
    (BODY, {"markov_order": "9"}, "markov order must be 1, 2, 3 or 4, not 9"),
    (BODY, {"markov_order": "two"}, "parameter 'markov_order'"),
    (BODY, {"scope": "everyone"}, "scope: 'everyone' is not one of user, session"),
])
def test_what_cannot_be_scored_is_a_400_in_the_apis_shape(site, body, params, message):
    answer = post(site, body, params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["status"] == 400 and answer.json()["error"]["message"].startswith(message)


def test_a_body_over_the_limit_is_refused_unread(site):
    url = httpx.URL(site["url"])
    credentials = base64.b64encode(f"{SECRET}:".encode()).decode()
    with socket.create_connection((url.host, url.port), timeout=30) as connection:
        connection.sendall(f"POST /api/evaluate HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
                           f"Authorization: Basic {credentials}\r\nContent-Length: {MAX_TRUTH_BYTES + 1}\r\n\r\n".encode())
        head = connection.recv(65536).decode()
    assert head.startswith("HTTP/1.1 413 ") and f"at most {MAX_TRUTH_BYTES:,}" in head
    streamed = post(site, b" " * (MAX_TRUTH_BYTES + 1))
    assert streamed.status_code == 413


def test_the_endpoint_is_in_the_openapi_documents(site):
    for document in ("/openapi.json", "/docs/openapi.json"):
        operation = site["client"].get(document).json()["paths"]["/api/evaluate"]["post"]
        assert "application/json" in operation["requestBody"]["content"]
        assert [p["name"] for p in operation["parameters"]] == [
            "models", "lookback", "scope", "session_timeout", "half_life", "min_lag", "split_on_key", "exclude_direct",
            "markov_order"]
        assert operation["parameters"][0]["schema"]["default"].startswith("first_touch,last_touch,")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=600) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bodies_never_get_a_5xx(site, body):
    answer = post(site, body, {"models": "last_touch"})
    assert answer.status_code in (400, 413), answer.text
    assert set(answer.json()["error"]) == {"status", "message"}


_TEXT = st.text(max_size=12)
_NAME = st.sampled_from(["utm_source", "utm_medium", "channel", "amount", "model", "time", "(none)", ""]) | _TEXT
_VALUE = st.sampled_from(["ads", "newsletter", "social", "tv", "(none)", "(baseline)", "(not set)", "Direct"]) | _TEXT
_NUMBER = (st.sampled_from([0, -1, 0.5, 3, 1e308, 5e-324, -1e308]) | st.integers(-10**20, 10**20)
           | st.floats(allow_nan=False, allow_infinity=False))
_DAY = st.sampled_from(["2024-01-01", "2024-01-31", "0001-01-01", "9999-12-31", "2024-01-01T00:00:00Z", "2024-02-30"]) | _TEXT


@st.composite
def truths(draw) -> dict:
    """Truth files that parse more often than not, with hostile values where the engine reads them."""
    by = draw(st.just(["utm_source"]) | st.lists(_NAME, min_size=1, max_size=3, unique=True))
    channel = st.builds(lambda values, removal, shapley, views: {"key": dict(zip(by, values)), "removal": removal,
                                                                 "shapley": shapley, "views": views},
                        st.lists(_VALUE, min_size=len(by), max_size=len(by)), _NUMBER, _NUMBER,
                        st.integers(0, 10**6))
    return {**TRUTH, **draw(st.fixed_dictionaries({"by": st.just(by), "channels": st.lists(channel, max_size=5)}, optional={
        "conversion": st.sampled_from(["Purchase", "Page View", "Signup"]) | _TEXT,
        "revenue_property": st.sampled_from(["amount", "utm_source", "time"]) | _TEXT,
        "start": _DAY, "end": _DAY, "conversions": _NUMBER, "baseline": _NUMBER,
        "parameters": st.dictionaries(_TEXT, _NUMBER | _TEXT, max_size=3),
    }))}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(truth=truths(), params=st.fixed_dictionaries({}, optional={
    "lookback": st.sampled_from(["0s", "1d", "36600d", "x"]), "scope": st.sampled_from(["user", "session"]),
    "markov_order": st.sampled_from(["1", "4", "5"]), "split_on_key": st.sampled_from(["true", "no"]),
    "exclude_direct": st.sampled_from(["1", "0"]), "models": st.sampled_from(["markov", "participation,linear"])}))
def test_hostile_truths_never_get_a_5xx(site, truth, params):
    answer = post(site, json.dumps(truth).encode(), {"models": "last_touch,shapley", **params})
    assert answer.status_code in (200, 400), answer.text
    assert set(answer.json()) == ({"error"} if answer.status_code == 400 else
                                  {"conversion", "by", "models", "truth", "database", "scores", "channels"})


def test_an_integer_beyond_64_bits_is_refused_not_a_5xx(site):
    """A 30-digit number anywhere in the truth (here its echoed parameters) is a 400 with a reason."""
    answer = post(site, json.dumps({**TRUTH, "parameters": {"reach": 10**30}}).encode(), {"models": "last_touch"})
    assert answer.status_code == 400
    assert "beyond 64 bits" in answer.json()["error"]["message"]
