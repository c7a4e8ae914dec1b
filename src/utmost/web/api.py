"""The JSON query API: the CLI's questions over HTTP, answered in the CLI's own JSON.

``GET /api/attribution`` (and ``/api/report``, ``/api/journey`` likewise) takes ``utmost attribute``'s options as query parameters (``from`` and
``to`` as named on the command line, ``session_timeout`` for ``--session-timeout``) and returns
exactly the rows ``--format json`` prints. The parameters, their checks and their OpenAPI docs
come from the question's table (:data:`utmost.engine.options.PARAMETERS`). Every error has one
shape, ``{"error": {"status": 400, "message": "..."}}`` (see :func:`error_response`).
"""

from __future__ import annotations

import dataclasses
import difflib
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
    delete_person,
    make_options,
    parameters,
)
from utmost.errors import InputError
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
    for name in params:
        if name not in QUESTION:
            close = difflib.get_close_matches(name, QUESTION, n=1)
            hint = f". Did you mean {close[0]}?" if close else f" (known: {', '.join(QUESTION)})"
            raise InputError(f"unknown parameter {name!r}{hint}")
    if not params.get("conversion"):
        raise InputError("parameter 'conversion' is required, e.g. conversion=Reservation%20Completed")
    given: dict[str, Any] = {QUESTION[k]: v for k, v in params.items() if v != ""}
    for flag in _FLAGS:
        if flag in given:
            given[flag] = str(given[flag]).lower() in _TRUE
    conversion = given.pop("conversion")
    try:
        return make_options(conversion, project=project, question=question, **given)
    except ValueError as error:  # int()/float() of a malformed number
        raise InputError(str(error)) from None


def asked(question: str, *, before: tuple[inspect.Parameter, ...] = (),
          after: tuple[inspect.Parameter, ...] = ()) -> Callable[..., dict[str, str]]:
    """A dependency giving the query as sent (:func:`query_of`), whose signature FastAPI reads
    as ``question``'s parameters from the table: it checks their types and documents them.

    Only the types are checked here (an int is an int, a flag a boolean), as FastAPI words it;
    what a value means is the engine's to judge, in its own words, as for every interface.
    """

    def query(request: Request, **_: Any) -> dict[str, str]:
        return query_of(request)

    declared = [_declared(p, question) for p in parameters(question)]
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


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape of the query API."""
    return JSONResponse({"error": {"status": status, "message": message}}, status, headers=headers)


@router.get("/{path:path}", include_in_schema=False)
async def unknown(path: str) -> Response:
    """Unknown API paths answer in the API's error shape, not the collector's."""
    return error_response(404, f"no API endpoint /api/{path} (see /docs)")
