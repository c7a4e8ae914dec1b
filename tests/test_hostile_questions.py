"""Any string, as any option, through the CLI, the Python API and the HTTP API.

Each answer is either right — a property name taken literally, checked against a reading of
the events in plain Python — or one clean error (HTTP 400 in the API's shape, ``error:`` and
exit status 2 from the CLI, an ``InputError`` from Python): never a 500, a traceback, or a
byte of another project's data.
"""

from __future__ import annotations

import itertools
import traceback
import uuid
from collections import Counter
from urllib.parse import quote

import httpx
import orjson
import pytest
from click.testing import CliRunner
from collector.live import serving
from conftest import raw_lines
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import utmost
from utmost.cli import cli
from utmost.errors import InputError
from utmost.ingest.campaign import LANDING_PARAMS
from utmost.ingest.keys import RESULT_COLUMNS
from utmost.store import Store
from utmost.web import create_app

T0 = 1_700_000_000
#: Properties the test's events set for their own sake; a name among them would change the events.
OWN = {"time", "distinct_id", "$insert_id", "$device_id", "$user_id", "$current_url", "token", *LANDING_PARAMS}
#: A project whose data and secret no answer to anyone else may ever contain.
#: Made at run time, so that no string hypothesis draws (it also tries the literals it finds in
#: the source) can hold it by chance and be echoed back in an error.
VICTIM_MARK = f"leak-{uuid.uuid4().hex}"
VICTIM, VICTIM_SECRET = "victim", f"{VICTIM_MARK}-secret"
#: Who asks the hostile questions: a project of its own, with ordinary data.
ASKER, ASKER_SECRET = "asker", "asker-secret-0123456789abcdef"
numbers = itertools.count()
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def events(prop: str, conversion: str, values: list[str], amounts: list[int]) -> list[dict]:
    """Person i lands from ``src`` with ``prop`` = values[i], then converts with ``prop`` = amounts[i]."""
    lines = []
    for i, (value, amount) in enumerate(zip(values, amounts)):
        person = {"distinct_id": f"person-{i}"}
        lines.append({"event": "Page View", "properties": {
            **person, "time": T0 + 100 * i, "$insert_id": f"land-{i}", "utm_source": "src", prop: value}})
        lines.append({"event": conversion, "properties": {
            **person, "time": T0 + 100 * i + 5, "$insert_id": f"conv-{i}", prop: amount}})
    return lines


def expected(values: list[str], amounts: list[int]) -> dict[str, tuple[float, float]]:
    """Last touch by the landing's value: the plain-Python reading of the events above."""
    keys = [value or "(not set)" for value in values]
    counts, revenue = Counter(keys), Counter()
    for key, amount in zip(keys, amounts):
        revenue[key] += amount
    return {key: (float(counts[key]), float(revenue[key])) for key in counts}


def answered(rows: list[dict], prop: str) -> dict[str, tuple[float, float]]:
    assert {row["model"] for row in rows} == {"last_touch"}
    return {row[prop]: (row["conversions"], row["revenue"]) for row in rows}


def expressible(prop: str, as_list: bool) -> bool:
    """Whether the interface can name ``prop``: a comma-separated string cannot hold a comma
    or surrounding spaces; no interface takes a name that is also a column of the answer."""
    if prop in RESULT_COLUMNS or not prop.strip():
        return False
    return as_list or ("," not in prop and prop == prop.strip())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    victim_events = events("secret_note", "Purchase", [VICTIM_MARK], [999])
    asker_events = events("plan", "Purchase", ["gold", "", "silver"], [10, 20, 30])
    for file in ("api.duckdb", "http.duckdb"):
        with Store(folder / file) as store:
            for name, secret, lines in ((VICTIM, VICTIM_SECRET, victim_events), (ASKER, ASKER_SECRET, asker_events)):
                store.create_project(name, f"{name}-token", secret)
                store.insert_lines(name, raw_lines(lines)).result()
    with Store(folder / "http.duckdb") as store:
        with serving(create_app(store)) as url, httpx.Client(base_url=url, timeout=60) as client:
            yield {"db": folder / "api.duckdb", "store": store, "client": client}


def new_project(store: Store, lines: list[dict]) -> tuple[str, str]:
    """A fresh project holding ``lines``; its name and secret."""
    number = next(numbers)
    name, secret = f"p{number}", f"secret-{number}-0123456789abcdef"
    store.create_project(name, f"token-{number}", secret)
    result = store.insert_lines(name, raw_lines(lines)).result()
    assume(result.inserted == len(lines))  # an event name the importer refuses is another test's subject
    return name, secret


case = given(
    prop=st.text(min_size=1, max_size=30),
    conversion=st.text(min_size=1, max_size=20),
    values=st.lists(st.text(max_size=8), min_size=1, max_size=3),
    data=st.data(),
)


def _case_ok(prop: str, conversion: str) -> None:
    assume(prop not in OWN and conversion.strip() and conversion != "Page View")


@SETTINGS
@case
@example(prop="$current_url\"') || (SELECT string_agg(name || ':' || secret, ',') FROM projects) || ('",
         conversion="Buy", values=["a"], data=None)
@example(prop="a.b[0]\"'\\$\x00ü" * 200, conversion="it's \x00", values=["", "x"], data=None)
def test_python_api_takes_a_property_name_literally(files, prop, conversion, values, data):
    _case_ok(prop, conversion)
    amounts = list(range(1, len(values) + 1))
    with Store(files["db"]) as store:
        project, _ = new_project(store, events(prop, conversion, values, amounts))
    try:
        table = utmost.attribute(conversion, db=files["db"], project=project, by=[prop], revenue_property=prop)
    except InputError as error:
        assert not expressible(prop, as_list=True), error
        return
    assert answered(table.to_pylist(), prop) == expected(values, amounts)


@SETTINGS
@case
@example(prop="x') || (SELECT read_text('/etc/hostname')) || ('", conversion="Buy", values=["a"], data=None)
@example(prop="[/]", conversion="[bold]", values=["[/red]"], data=None)
def test_cli_takes_a_property_name_literally(files, prop, conversion, values, data):
    _case_ok(prop, conversion)
    amounts = list(range(1, len(values) + 1))
    with Store(files["db"]) as store:
        project, _ = new_project(store, events(prop, conversion, values, amounts))
    result = CliRunner().invoke(cli, ["attribute", f"--db={files['db']}", f"--project={project}",
                                      f"--conversion={conversion}", f"--by={prop}", f"--revenue-property={prop}",
                                      "--format=json"])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        "".join(traceback.format_exception(result.exception)))
    if result.exit_code:
        assert result.exit_code == 2 and result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
        assert not expressible(prop, as_list=False), result.stderr
        return
    assert answered(orjson.loads(result.stdout), prop) == expected(values, amounts)
    table = CliRunner().invoke(cli, ["attribute", f"--db={files['db']}", f"--project={project}",
                                     f"--conversion={conversion}", f"--by={prop}", f"--revenue-property={prop}"])
    assert table.exit_code == 0 and table.exception is None, table.stderr  # a name like "[/]" is not rich markup


@SETTINGS
@case
@example(prop="$current_url\"') || ' | ' || (SELECT string_agg(name || ':' || secret) FROM projects) || ' | ' "
              "|| (properties->>'$.\"$current_url", conversion="Buy", values=["a"], data=None)
def test_http_api_takes_a_property_name_literally(files, prop, conversion, values, data):
    _case_ok(prop, conversion)
    amounts = list(range(1, len(values) + 1))
    project, secret = new_project(files["store"], events(prop, conversion, values, amounts))
    response = files["client"].get("/api/attribution", auth=(secret, ""), params={
        "conversion": conversion, "by": prop, "revenue_property": prop})
    assert VICTIM_MARK not in response.text
    if response.status_code != 200:
        assert response.status_code == 400, response.text
        assert set(response.json()) == {"error"} and response.json()["error"]["status"] == 400
        assert not expressible(prop, as_list=False), response.text
        return
    assert answered(response.json(), prop) == expected(values, amounts)


#: Every string option of a question, as a user could type it.
OPTIONS = ("conversion", "models", "by", "lookback", "scope", "session_timeout", "half_life", "revenue_property",
           "markov_order", "ci", "bootstrap", "seed", "from", "to")
hostile_text = st.one_of(st.text(max_size=40), st.sampled_from(
    ["'", '"', "\\", "0", "-1", "1e400", "nan", "inf", "99999999999999999999d", "9999-12-31", "0001-01-01T00:00+14:00",
     "position:nan/50/50", "markov", "a,a", "model", "$", "\x00", "[0]", "7d", "0.95", "10000000"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(OPTIONS), hostile_text, min_size=1, max_size=5), st.text(max_size=20))
def test_any_string_as_any_option_is_an_answer_or_a_clean_error(files, options, any_id):
    """Through HTTP (the API and the dashboard's pages), the CLI and Python: an answer or a clean
    error (400, exit status 2, InputError), never a 500, a traceback or another project's data."""
    client = files["client"]
    params = {"conversion": "Purchase", **options}
    for path, extra in (("/api/attribution", {}), ("/api/journey", {"id": any_id}),
                        ("/attribution", {}), ("/journey", {"id": any_id})):
        response = client.get(path, auth=(ASKER_SECRET, ""), params={**params, **extra})
        assert response.status_code in ((200, 400) if path.startswith("/api") else (200, 303, 400)), response.text
        assert response.headers.get("location", "/").startswith("/")  # a page may send on to its canonical URL
        assert VICTIM_MARK not in response.text
    person = client.get(f"/api/people/{quote(any_id, safe='')}", auth=(ASKER_SECRET, ""),
                        params={"conversion": params["conversion"]})
    assert person.status_code in (200, 400, 404), person.text
    assert VICTIM_MARK not in person.text
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in {"conversion": "Purchase", **options}.items()]
    command = CliRunner().invoke(cli, ["attribute", f"--db={files['db']}", f"--project={ASKER}", *flags])
    assert command.exit_code in (0, 2) and (command.exception is None or isinstance(command.exception, SystemExit)), (
        "".join(traceback.format_exception(command.exception)) if command.exception else command.stderr)
    assert VICTIM_MARK not in command.output and "Traceback" not in command.stderr
    keywords = {{"from": "start", "to": "end"}.get(k, k): v for k, v in options.items()}
    conversion = keywords.pop("conversion", "Purchase")
    try:
        utmost.attribute(conversion, db=files["db"], project=ASKER, **keywords)
    except InputError:
        pass


#: Every string option of the campaign report, as a user could type it.
REPORT_OPTIONS = ("conversion", "model", "interval", "by", "lookback", "scope", "session_timeout", "revenue_property",
                  "from", "to", "models", "ci")
report_text = st.one_of(hostile_text, st.sampled_from(["day", "week", "month", "year", "linear", "channel"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(REPORT_OPTIONS), report_text, min_size=1, max_size=5))
def test_any_string_as_any_option_of_the_report_is_an_answer_or_a_clean_error(files, options):
    """The campaign report through HTTP (its API and page), the CLI and Python: an answer or a
    clean error, never a 500, a traceback or another project's data."""
    client = files["client"]
    params = {"conversion": "Purchase", **options}
    for path in ("/api/report", "/report"):
        response = client.get(path, auth=(ASKER_SECRET, ""), params=params)
        assert response.status_code in ((200, 400) if path.startswith("/api") else (200, 303, 400)), response.text
        assert response.headers.get("location", "/").startswith("/")
        assert VICTIM_MARK not in response.text
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in params.items()]
    command = CliRunner().invoke(cli, ["report", f"--db={files['db']}", f"--project={ASKER}", *flags])
    assert command.exit_code in (0, 2) and (command.exception is None or isinstance(command.exception, SystemExit)), (
        "".join(traceback.format_exception(command.exception)) if command.exception else command.stderr)
    assert VICTIM_MARK not in command.output and "Traceback" not in command.stderr
    keywords = {{"from": "start", "to": "end"}.get(k, k): v for k, v in options.items()}
    conversion = keywords.pop("conversion", "Purchase")
    try:
        utmost.report(conversion, db=files["db"], project=ASKER, **keywords)
    except InputError:
        pass
