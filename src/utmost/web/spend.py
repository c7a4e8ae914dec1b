"""``POST /api/spend``: ad spend as CSV over HTTP, read as ``utmost spend import`` reads a file.

Authorised like every ``/api`` endpoint (the project secret by HTTP Basic, or a signed-in
session), and, since it changes something, only from this server's own pages or a script that
sends its own credentials (``utmost.web.auth.cross_site``). The body is capped at
:data:`~utmost.ingest.MAX_SPEND_BYTES` (after gunzip too): past it, 413 before it is all read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from utmost.errors import UnavailableError
from utmost.ingest import MAX_SPEND_BYTES, PRESETS, Layout, parse_assignments
from utmost.store import Project, SpendFile, Store, import_spend
from utmost.web.api import TooLarge, error_response, read_body
from utmost.web.auth import request_project

router = APIRouter(prefix="/api", tags=["spend"])

_BODY = {
    "required": True,
    "content": {"text/csv": {"schema": {"type": "string"}, "example": (
        "date,utm_source,utm_medium,utm_campaign,cost,currency\n2026-03-01,google,cpc,brand,12.50,EUR\n")}},
}
_DESCRIPTION = (
    "The body is a CSV file (or gzipped CSV, up to "
    f"{MAX_SPEND_BYTES >> 20} MiB) whose header is `date,utm_source,utm_medium,utm_campaign,cost[,currency]`, "
    "or an ad platform's export named by `columns`. Rows with the same date and key are added together; "
    "the stored rows of every date and key the body holds are replaced, so sending it twice counts "
    "nothing twice. Bad lines are skipped and listed in `problems` as `line N: reason`; a body that is "
    "no spend file at all (no header with the needed columns) is a 400 and stores nothing."
)


@router.post("/spend", summary="Import ad spend (CSV), as `utmost spend import`", description=_DESCRIPTION,
             openapi_extra={"requestBody": _BODY})
async def import_spend_route(
    request: Request,
    project: Annotated[Project, Depends(request_project)],
    columns: Annotated[str | None, Query(description="An ad platform's export: " + "; ".join(
        f"`{p.name}`: {p.help}" for p in PRESETS.values()), json_schema_extra={"enum": sorted(PRESETS)})] = None,
    map: Annotated[list[str] | None, Query(description="`COLUMN=FIELD`, as `--map` (repeatable)")] = None,  # noqa: A002
    set: Annotated[list[str] | None, Query(description="`FIELD=VALUE`, as `--set` (repeatable)")] = None,  # noqa: A002
    named: Annotated[str | None, Query(alias="project", description="The project, if named: must be the "
                                       "secret's")] = None,
) -> Response:
    """200 ``{"imported", "replaced", "rejected", "problems", "currency"}``."""
    if named is not None and named != project.name:
        return error_response(403, f"this secret is project {project.name}'s, not {named}'s")
    layout = Layout.of(columns, parse_assignments(map or [], "map", last=True), parse_assignments(set or [], "set", last=False))
    try:
        body = await read_body(request, MAX_SPEND_BYTES, "empty body: send the CSV (Content-Type: text/csv)")
    except TooLarge as error:
        return error_response(413, str(error))
    store: Store = request.app.state.store
    try:
        report = await run_in_threadpool(import_spend, store, project.name, [SpendFile("", body)], layout)
    except UnavailableError as error:
        return error_response(503, str(error), {"Retry-After": str(error.retry_after)})
    answer: dict[str, Any] = {"imported": report.imported, "replaced": report.replaced, "rejected": report.rejected,
                              "problems": report.problems, "currency": report.currency}
    return JSONResponse(answer)

