"""The question's table is the one list of its parameters, and every interface shows all of it.

Walks :data:`~utmost.engine.options.PARAMETERS` (datasette's docs-coverage test is the model)
and fails when a parameter is missing from ``utmost attribute --help`` or ``utmost journey
--help`` (as its row says), from ``/openapi.json``, from the Python API's signature, from the
dashboard's form or from the docs — or when any of them shows another default than the table's.
"""

from __future__ import annotations

import dataclasses
import inspect
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner
from collector.live import serving
from conftest import event, raw_lines

import utmost
from utmost.cli import cli
from utmost.engine.models import MODELS
from utmost.engine.options import (
    ATTRIBUTE,
    JOURNEY,
    PARAMETERS,
    REPORT,
    REQUIRED,
    Options,
    Parameter,
    make_options,
    parameters,
)
from utmost.store import Store
from utmost.web import create_app

ROOT = Path(__file__).parents[2]
QUESTIONS = (ATTRIBUTE, JOURNEY, REPORT)
ENDPOINTS = {ATTRIBUTE: "/api/attribution", JOURNEY: "/api/journey", REPORT: "/api/report"}
PYTHON = {ATTRIBUTE: utmost.attribute, JOURNEY: utmost.journey, REPORT: utmost.report}
#: The dashboard's pages that ask a question with a form of its parameters.
PAGES = {ATTRIBUTE: "/attribution", REPORT: "/report"}
SECRET = "question-secret-0123456789abcdef"
ASKED = [pytest.param(question, p, id=f"{question}-{p.name}") for question in QUESTIONS for p in parameters(question)]


def as_text(value: object) -> set[str]:
    """A default as the values a form or an address holds: none for no value, each of a list."""
    if value is None or value is False or value is REQUIRED:
        return set()
    return set(str(value).split(","))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """A real app over a project with a landing and a conversion, on 127.0.0.1."""
    path = tmp_path_factory.mktemp("question") / "question.duckdb"
    with Store(path) as store:
        store.create_project("shop", "shop-token", SECRET)
        lines = [event("Page View", utm_source="google"), event("Buy", time=1_700_000_060, amount=5)]
        store.insert_lines("shop", raw_lines(lines)).result()
        with serving(create_app(store)) as url, httpx.Client(base_url=url, auth=(SECRET, ""), timeout=60) as client:
            yield client


def test_each_parameter_sets_a_field_of_the_options_and_the_defaults_parse() -> None:
    """The engine gives every row its meaning: a field of Options (the project, and its channel
    rules, come from elsewhere)."""
    assert [p.name for p in PARAMETERS] + ["project", "channels", "experiments"] == [f.name for f in dataclasses.fields(Options)]
    for question in QUESTIONS:
        make_options("Buy", question=question)


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_cli_offers_exactly_the_questions_parameters_with_their_defaults(question: str) -> None:
    command = cli.commands[question]
    shown = CliRunner().invoke(cli, [question, "--help"]).output
    options = {option: param for param in command.params for option in param.opts}
    offered = {p.option for p in PARAMETERS} & set(options)
    assert offered == {p.option for p in parameters(question)}
    for parameter in parameters(question):
        assert parameter.option in shown and parameter.help.split()[0] in shown
        default = parameter.default_for(question)
        found = options[parameter.option]
        if default is REQUIRED:
            assert found.required
        else:
            assert found.default == default, parameter.option


@pytest.mark.parametrize(("question", "parameter"), ASKED)
def test_the_query_api_documents_each_parameter_with_its_default(site, question: str, parameter: Parameter) -> None:
    spec = site.get("/openapi.json").json()
    declared = {p["name"]: p for p in spec["paths"][ENDPOINTS[question]]["get"]["parameters"]}
    found = declared[parameter.query]
    assert found["description"] == parameter.help
    default = parameter.default_for(question)
    if default is REQUIRED:
        assert found["required"]
    else:
        assert found["schema"].get("default") == default


@pytest.mark.parametrize(("question", "parameter"), ASKED)
def test_the_python_api_takes_each_parameter_with_its_default(question: str, parameter: Parameter) -> None:
    function = PYTHON[question]
    found = inspect.signature(function).parameters[parameter.name]
    default = parameter.default_for(question)
    assert found.default == (inspect.Parameter.empty if default is REQUIRED else default)
    assert default is REQUIRED or f"``{parameter.name}=" in (function.__doc__ or "")


class _Form(HTMLParser):
    """The values a page's question form holds, by field name: what submitting it would send."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, set[str]] = {}
        self.inside = False
        self.select: str | None = None
        self.chosen_text = False  # a selected option without a value attribute sends its text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.inside = self.inside or (tag == "form" and "question" in (found.get("class") or ""))
        name = found.get("name")
        if not self.inside:
            return
        if tag == "input" and name:
            held = self.fields.setdefault(name, set())
            if found.get("type") not in ("checkbox", "radio") or "checked" in found:
                held.update({found.get("value") or ""} - {""})
        elif tag == "select" and name:
            self.select = name
            self.fields[name] = set()
        elif tag == "option" and self.select and "selected" in found:
            self.chosen_text = "value" not in found
            self.fields[self.select].update({found.get("value") or ""} - {""})

    def handle_data(self, data: str) -> None:
        if self.chosen_text and self.select:
            self.fields[self.select].add(data.strip())
            self.chosen_text = False

    def handle_endtag(self, tag: str) -> None:
        self.select = None if tag == "select" else self.select
        self.inside = self.inside and tag != "form"


@pytest.mark.parametrize("question", PAGES)
def test_the_dashboard_form_has_a_field_for_each_parameter_showing_its_default(site, question: str) -> None:
    page = site.get(f"{PAGES[question]}?conversion={quote('Buy')}")
    assert page.status_code == 200, page.text
    form = _Form()
    form.feed(page.text)
    assert set(form.fields) == {p.query for p in parameters(question)}, "a field of another question, or none"
    for parameter in parameters(question):
        default = parameter.default_for(question)
        if default is not REQUIRED:
            assert form.fields[parameter.query] == as_text(default), parameter.query


@pytest.mark.parametrize("parameter", PARAMETERS, ids=lambda p: p.name)
def test_the_docs_name_each_option(parameter: Parameter) -> None:
    docs = "\n".join(path.read_text(encoding="utf-8") for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
    assert parameter.option in docs, f"{parameter.option} is in no doc: add it to README.md's CLI reference"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_the_docs_name_each_model(model) -> None:
    docs = "\n".join(path.read_text(encoding="utf-8") for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
    assert f"`{model.name}`" in docs
