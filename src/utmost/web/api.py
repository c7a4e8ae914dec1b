"""The JSON query API: the CLI's questions over HTTP, answered in the CLI's own JSON.

``GET /api/attribution`` (and ``/api/report``, ``/api/journey`` likewise) takes ``utmost attribute``'s options as query parameters (``from`` and
``to`` as named on the command line, ``session_timeout`` for ``--session-timeout``) and returns
exactly the rows ``--format json`` prints. The parameters, their checks and their OpenAPI docs
come from the question's table (:data:`utmost.engine.options.PARAMETERS`). ``POST /api/evaluate``
takes a simulation's truth file as its body and ``utmost evaluate``'s options as its query, and
answers as ``utmost evaluate --format json``. Every error has one shape, ``{"error": {"status":
400, "message": "..."}}`` (see :func:`error_response`).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from utmost import formats
from utmost.engine import (
    ATTRIBUTE,
    JOURNEY,
    MODELS,
    PARAMETERS,
    REPORT,
    REQUIRED,
    Options,
    Parameter,
    Truth,
    delete_person,
    evaluation_options,
    evaluation_parameters,
    make_options,
    parameters,
    parse_truth,
)
from utmost.errors import InputError, did_you_mean
from utmost.store import Project
from utmost.web.auth import request_project
from utmost.web.service import Service

router = APIRouter(prefix="/api", tags=["query"])

#: Each query parameter of a question, and the keyword it maps to.
QUESTION = {p.query: p.name for p in PARAMETERS}
_FLAGS = tuple(p.query for p in PARAMETERS if p.type is bool)
#: Parameters that take several values: repeated (``models=a&models=b``) or comma-separated.
_LISTS = tuple(p.query for p in PARAMETERS if p.many)
_TRUE = ("1", "true", "yes", "on")


def query_of(request: Request) -> dict[str, str]:
    """The query parameters, each once: lists joined with commas, any other repeat an error."""
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in params and name not in _LISTS:
            raise InputError(f"parameter {name!r} given more than once")
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


def options_of(params: dict[str, str], project: str, question: str = ATTRIBUTE) -> Options:
    """Options for ``question`` from query parameters (empty ones are not given); an unknown
    parameter is an error that suggests the right one."""
    given = _given(params, QUESTION)
    if not given.get("conversion"):
        raise InputError("parameter 'conversion' is required, e.g. conversion=Reservation%20Completed")
    conversion = given.pop("conversion")
    try:
        return make_options(conversion, project=project, question=question, **given)
    except ValueError as error:  # int()/float() of a malformed number
        raise InputError(str(error)) from None


#: The query parameters of ``POST /api/evaluate``: its own, and those the truth fixes or it has
#: no use for, which are refused by name (``utmost evaluate`` takes them from the truth file).
EVALUATION = {p.query: p.name for p in parameters(ATTRIBUTE)}


def evaluation_options_of(params: dict[str, str], project: str, truth: Truth) -> Options:
    """The question ``truth`` asks, with the rest of it from query parameters, as :func:`options_of`
    reads them."""
    try:
        return evaluation_options(truth, project=project, where="body", **_given(params, EVALUATION))
    except ValueError as error:
        raise InputError(str(error)) from None


def _given(params: dict[str, str], known: dict[str, str]) -> dict[str, Any]:
    """Query parameters (``known``: by name, each the keyword it sets) as keywords, empty ones left
    out and flags made booleans; an unknown name is an error that suggests the right one."""
    for name in params:
        if name not in known:
            listed = ", ".join(known)
            raise InputError(f"unknown parameter {name!r}{did_you_mean(name, known, f' (known: {listed})')}")
    given: dict[str, Any] = {known[k]: v for k, v in params.items() if v != ""}
    for flag in _FLAGS:
        if QUESTION[flag] in given:
            given[QUESTION[flag]] = str(given[QUESTION[flag]]).lower() in _TRUE
    return given


def asked(question: str, *, before: tuple[inspect.Parameter, ...] = (),
          after: tuple[inspect.Parameter, ...] = (),
          offered: tuple[Parameter, ...] | None = None) -> Callable[..., dict[str, str]]:
    """A dependency giving the query as sent (:func:`query_of`), whose signature FastAPI reads
    as ``question``'s parameters from the table (``offered``: only these rows): it checks their
    types and documents them.

    Only the types are checked here (an int is an int, a flag a boolean), as FastAPI words it;
    what a value means is the engine's to judge, in its own words, as for every interface.
    """

    def query(request: Request, **_: Any) -> dict[str, str]:
        return query_of(request)

    declared = [_declared(p, question) for p in (parameters(question) if offered is None else offered)]
    query.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        *before, *declared, *after,
    ])
    return query


def _declared(parameter: Parameter, question: str) -> inspect.Parameter:
    default = parameter.default_for(question)
    schema = ({"enum": list(parameter.choices)} if parameter.choices
              else {"minimum": parameter.bounds[0], "maximum": parameter.bounds[1]} if parameter.bounds else None)
    found = Query(alias=parameter.alias or None, description=parameter.help, json_schema_extra=schema)
    return inspect.Parameter(
        parameter.name, inspect.Parameter.KEYWORD_ONLY,
        default=inspect.Parameter.empty if default is REQUIRED else default,
        annotation=Annotated[parameter.type if default is not None else parameter.type | None, found],
    )


def _query_parameter(name: str, kind: type, description: str, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[kind, Query(description=description)])


#: The models, for the endpoints' docs: each name, its meaning and the parameters it reads.
MODELS_DOC = "Models:\n\n" + "\n".join(
    f"- `{m.name}`: {m.meaning}" + "".join(f" (`{p}`)" for p in m.parameters) for m in MODELS
)
#: What the attribution endpoint answers in: the CLI's machine formats, the table being for terminals.
ANSWER_FORMATS = ("json", "csv")
AttributionQuery = Annotated[dict[str, str], Depends(asked(ATTRIBUTE, after=(
    _query_parameter("per_conversion", bool, "One row per (conversion, model, key)", False),
    _query_parameter("format", Literal["json", "csv"], "json, or csv as `utmost attribute --format csv` prints it "
                     "(a download: attribution.csv)", "json"),
)))]
ReportQuery = Annotated[dict[str, str], Depends(asked(REPORT, after=(
    _query_parameter("format", Literal["json", "csv"], "json, or csv as `utmost report --format csv` prints it "
                     "(a download: report.csv)", "json"),
)))]
#: A journey also takes the attribution's other parameters, unlisted: an address on the dashboard
#: carries its whole question from an answer to a person's journey.
JourneyQuery = Annotated[dict[str, str], Depends(asked(JOURNEY, before=(
    _query_parameter("id", str, "Any id of the person: user, distinct or device id"),)))]


def _service(request: Request) -> Service:
    return request.app.state.service


Asker = Annotated[Project, Depends(request_project)]
Answering = Annotated[Service, Depends(_service)]


def _json(text: str) -> Response:
    return Response(text, media_type="application/json")


@router.get("/attribution", summary="Credit per model and key, as `utmost attribute --format json`",
            description=MODELS_DOC)
async def attribution(project: Asker, service: Answering, params: AttributionQuery) -> Response:
    per = str(params.pop("per_conversion", "")).lower() in _TRUE
    answer_format = _answer_format(params)
    options = options_of(params, project.name)
    result = await run_in_threadpool(service.attribution, options, per)
    rows = result.per_conversion if per else result.totals
    if answer_format == "csv":
        name = "attribution-per-conversion.csv" if per else "attribution.csv"
        return Response(formats.to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return _json(formats.to_json(rows))


@router.get("/report", summary="The campaign report, as `utmost report --format json`", description=MODELS_DOC)
async def report(project: Asker, service: Answering, params: ReportQuery) -> Response:
    answer_format = _answer_format(params)
    options = options_of(params, project.name, REPORT)
    found = await run_in_threadpool(service.report, options)
    if answer_format == "csv":
        return Response(formats.to_csv(found.table), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="report.csv"'})
    return _json(formats.to_json(found.table))


def _answer_format(params: dict[str, str]) -> str:
    """The ``format`` asked for (taken out of ``params``): json or csv."""
    answer_format = params.pop("format", "json") or "json"
    if answer_format not in ANSWER_FORMATS:
        raise InputError(f"format: {answer_format!r} is not one of {', '.join(ANSWER_FORMATS)}")
    return answer_format


@router.get("/journey", summary="One person's journey, as `utmost journey --format json`", description=MODELS_DOC)
async def journey(project: Asker, service: Answering, params: JourneyQuery) -> Response:
    any_id = params.pop("id")
    options = options_of(params, project.name, JOURNEY)
    found = await run_in_threadpool(service.journey, options, any_id)
    return _json(formats.journey_json(found))


@router.get("/events/names", summary="Event names with their counts, most frequent first")
async def event_names(project: Asker, service: Answering) -> list[dict[str, Any]]:
    return await run_in_threadpool(service.event_names, project.name)


@router.get("/properties", summary="Properties to attribute by: channel, landing columns, then those seen on events")
async def properties(project: Asker, service: Answering) -> list[str]:
    return await run_in_threadpool(service.properties, project.name)


@router.get("/people/{person_id}", summary="A person: merged ids, profile, first and last touchpoint")
async def person(
    person_id: str,
    project: Asker,
    service: Answering,
    conversion: Annotated[str | None, Query(description="Whose journey's touchpoints (default: the dashboard's)")] = None,
) -> Response:
    return _json(formats.dumps(await run_in_threadpool(service.person, project.name, person_id, conversion)))


@router.delete("/people/{person_id}", summary="Delete a person: every event of every id merged into them, "
               "their identity links and profiles (GDPR, CCPA)")
async def delete_person_route(person_id: str, project: Asker, service: Answering) -> Response:
    deleted = await run_in_threadpool(delete_person, service.store, project.name, person_id)
    return _json(formats.dumps(dataclasses.asdict(deleted)))


#: The largest truth file ``POST /api/evaluate`` reads (a simulation of thousands of campaigns
#: writes a few hundred kilobytes).
MAX_TRUTH_BYTES = 8 << 20
_TRUTH_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"type": "object"}, "example": {
        "format": "utmost-truth/1", "scenario": "example", "seed": 1, "persons": 1000, "conversion": "Purchase",
        "revenue_property": "amount", "by": ["utm_source"], "start": "2026-03-01", "end": "2026-03-31",
        "conversions": 120, "revenue": 9000.0, "baseline": 40.0, "baseline_revenue": 3000.0,
        "channels": [{"key": {"utm_source": "newsletter"}, "removal": 30.0, "shapley": 50.0},
                     {"key": {"utm_source": "ads"}, "removal": 25.0, "shapley": 30.0}]}}},
}
EvaluationQuery = Annotated[dict[str, str], Depends(asked(ATTRIBUTE, offered=evaluation_parameters()))]


@router.post("/evaluate", summary="Score models against a simulation's truth, as `utmost evaluate --format json`",
             description="The body is the truth file `utmost simulate` wrote (JSON, up to "
             f"{MAX_TRUTH_BYTES >> 20} MiB); it fixes the question's conversion, keys, revenue property and "
             "days, and the query gives the rest of it, as `utmost evaluate`'s options (`models`: every model "
             "that splits conversions when not given). Each model's credit per channel is scored against the "
             "conversions each channel truly caused: `tvd_pp`, `max_error_pp` and its channel, "
             "`rank_correlation`, `inflation` (docs/semantics.md §20).\n\n" + MODELS_DOC,
             openapi_extra={"requestBody": _TRUTH_BODY})
async def evaluate(request: Request, project: Asker, service: Answering, params: EvaluationQuery) -> Response:
    try:
        body = await read_body(request, MAX_TRUTH_BYTES, "empty body: send the truth file (Content-Type: "
                               "application/json)")
    except TooLarge as error:
        return error_response(413, str(error))
    truth = parse_truth(body, "body")
    options = evaluation_options_of(params, project.name, truth)
    found = await run_in_threadpool(service.evaluation, options, truth)
    return _json(formats.dumps(formats.evaluation_document(found)))


class TooLarge(Exception):
    """A request body over its limit: answered 413."""


async def read_body(request: Request, limit: int, empty: str) -> bytes:
    """The body, refused past ``limit`` bytes before it is all read (:class:`TooLarge`); none at
    all is the :class:`~utmost.errors.InputError` ``empty``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body is {int(declared):,} bytes (at most {limit:,})")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body is over {limit:,} bytes")
        chunks.append(chunk)
    if not size:
        raise InputError(empty)
    return b"".join(chunks)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape of the query API."""
    return JSONResponse({"error": {"status": status, "message": message}}, status, headers=headers)


@router.get("/{path:path}", include_in_schema=False)
async def unknown(path: str) -> Response:
    """Unknown API paths answer in the API's error shape, not the collector's."""
    return error_response(404, f"no API endpoint /api/{path} (see /docs)")
