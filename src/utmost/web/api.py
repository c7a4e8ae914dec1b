"""The JSON query API: the CLI's questions over HTTP, answered in the CLI's own JSON.

``GET /api/attribution`` takes ``utmost attribute``'s options as query parameters (``from`` and
``to`` as named on the command line, ``session_timeout`` for ``--session-timeout``) and returns
exactly the rows ``--format json`` prints. Every error has one shape,
``{"error": {"status": 400, "message": "..."}}`` (see :func:`error_response`).
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from utmost import formats
from utmost.engine import Options, make_options
from utmost.engine.models import MODELS, NAMES
from utmost.errors import InputError
from utmost.store.projects import Project
from utmost.web.auth import request_project
from utmost.web.service import Service

router = APIRouter(prefix="/api", tags=["query"])

#: The options of ``utmost attribute`` as query parameters, and the keyword each maps to.
QUESTION = {
    "conversion": "conversion", "models": "models", "by": "by", "lookback": "lookback", "scope": "scope",
    "session_timeout": "session_timeout", "half_life": "half_life", "revenue_property": "revenue_property",
    "split_on_key": "split_on_key", "markov_order": "markov_order", "ci": "ci", "bootstrap": "bootstrap",
    "seed": "seed", "from": "start", "to": "end",
}
_FLAGS = ("split_on_key",)
#: Parameters that take several values: repeated (``models=a&models=b``) or comma-separated.
_LISTS = ("models", "by")


def query_of(request: Request) -> dict[str, str]:
    """The query parameters, each once: lists joined with commas, any other repeat an error."""
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in params and name not in _LISTS:
            raise InputError(f"parameter {name!r} given more than once")
        params[name] = f"{params[name]},{value}" if name in params else value
    return params
_TRUE = ("1", "true", "yes", "on")


def options_of(params: dict[str, str], project: str, allowed: tuple[str, ...] = ()) -> Options:
    """Options from query parameters; an unknown parameter is an error that suggests the right one."""
    known = (*QUESTION, *allowed)
    for name in params:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f". Did you mean {close[0]}?" if close else f" (known: {', '.join(known)})"
            raise InputError(f"unknown parameter {name!r}{hint}")
    if not params.get("conversion"):
        raise InputError("parameter 'conversion' is required, e.g. conversion=Reservation%20Completed")
    question: dict[str, Any] = {QUESTION[k]: v for k, v in params.items() if k in QUESTION and v != ""}
    for flag in _FLAGS:
        if flag in question:
            question[flag] = str(question[flag]).lower() in _TRUE
    conversion = question.pop("conversion")
    try:
        return make_options(conversion, project=project, **question)
    except ValueError as error:  # int()/float() of a malformed number
        raise InputError(str(error)) from None


#: The models, for the endpoints' docs: each name, its meaning and the parameters it reads.
MODELS_DOC = "Models:\n\n" + "\n".join(
    f"- `{m.name}`: {m.meaning}" + "".join(f" (`{p}`)" for p in m.parameters) for m in MODELS
)


def _service(request: Request) -> Service:
    return request.app.state.service


Asker = Annotated[Project, Depends(request_project)]
Answering = Annotated[Service, Depends(_service)]


def _json(text: str) -> Response:
    return Response(text, media_type="application/json")


@router.get("/attribution", summary="Credit per model and key, as `utmost attribute --format json`",
            description=MODELS_DOC)
async def attribution(
    request: Request,
    project: Asker,
    service: Answering,
    conversion: Annotated[str, Query(description="The conversion event, e.g. Reservation Completed")],
    models: Annotated[str, Query(description="Comma-separated models")] = "last_touch",
    by: Annotated[str, Query(description="Comma-separated key properties")] = "utm_source",
    lookback: str = "30d",
    scope: Annotated[str, Query(description="user or session")] = "user",
    session_timeout: str = "30m",
    half_life: str = "7d",
    revenue_property: str = "amount",
    split_on_key: bool = False,
    markov_order: int = 1,
    ci: Annotated[float | None, Query(description="Confidence level, e.g. 0.95")] = None,
    bootstrap: int = 200,
    seed: int = 0,
    from_: Annotated[str | None, Query(alias="from", description="First day of conversions")] = None,
    to: Annotated[str | None, Query(description="Last day of conversions (inclusive)")] = None,
    per_conversion: Annotated[bool, Query(description="One row per (conversion, model, key)")] = False,
) -> Response:
    params = query_of(request)
    per = str(params.pop("per_conversion", "")).lower() in _TRUE
    options = options_of(params, project.name)
    result = await run_in_threadpool(service.attribution, options, per)
    return _json(formats.to_json(result.per_conversion if per else result.totals))


@router.get("/journey", summary="One person's journey, as `utmost journey --format json`", description=MODELS_DOC)
async def journey(
    request: Request,
    project: Asker,
    service: Answering,
    id: Annotated[str, Query(description="Any id of the person: user, distinct or device id")],
    conversion: str,
    models: Annotated[str, Query(description="Comma-separated models (default: every model)")] = "",
) -> Response:
    params = query_of(request)
    any_id = params.pop("id")
    params["models"] = params.get("models") or ",".join(NAMES)
    options = options_of(params, project.name)
    found = await run_in_threadpool(service.journey, options, any_id)
    return _json(formats.journey_json(found))


@router.get("/events/names", summary="Event names with their counts, most frequent first")
async def event_names(project: Asker, service: Answering) -> list[dict[str, Any]]:
    return await run_in_threadpool(service.event_names, project.name)


@router.get("/properties", summary="Properties to attribute by: landing columns, then those seen on events")
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


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape of the query API."""
    return JSONResponse({"error": {"status": status, "message": message}}, status, headers=headers)


@router.get("/{path:path}", include_in_schema=False)
async def unknown(path: str) -> Response:
    """Unknown API paths answer in the API's error shape, not the collector's."""
    return error_response(404, f"no API endpoint /api/{path} (see /docs)")
