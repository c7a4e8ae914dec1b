"""``POST /local/NAME``: the commands of this machine's user, run on the server's open store.

While `utmost serve` holds the database, ``utmost attribute``, ``utmost import`` and the rest
send their operation here (:mod:`utmost.access` says how they find the server and what the
credential is). Only the credential in the server's ``.serving`` file is accepted: no project
secret, no session. Not in the API docs: it is a channel between utmost's own processes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from utmost.access import ERROR_KIND, error_kind, run_operation
from utmost.errors import ProjectError, UnavailableError, UtmostError
from utmost.limits import FailureLimit
from utmost.web.api import error_response

router = APIRouter(include_in_schema=False)


@router.post("/local/{name}")
async def local_operation(name: str, request: Request) -> Response:
    handoff = request.app.state.handoff
    failures: FailureLimit = request.app.state.failures
    client = request.client.host if request.client else ""
    failures.check(client)  # TooManyFailuresError: 429, as for a guessed project secret
    if handoff is None or not handoff.accepts(request.headers.get("authorization")):
        failures.failed(client)
        return error_response(401, "send the local credential of this server's .serving file (Bearer)")
    body = await request.body()
    try:
        answer = await run_in_threadpool(run_operation, request.app.state.store, name, body)
    except UtmostError as error:
        status = 404 if isinstance(error, ProjectError) else 503 if isinstance(error, UnavailableError) else 400
        return error_response(status, str(error), {ERROR_KIND: error_kind(error)})
    return Response(answer, media_type="application/msgpack")
