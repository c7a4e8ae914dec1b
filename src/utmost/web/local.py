"""``POST /local/NAME``: the commands of this machine's user, run on the server's open store.

While `utmost serve` holds the database, ``utmost attribute``, ``utmost import`` and the rest
send their operation here (:mod:`utmost.access` says how they find the server and what the
credential is). Only the credential in the server's ``.serving`` file is accepted: no project
secret, no session. Not in the API docs: it is a channel between utmost's own processes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from utmost.access import ERROR_FRAME, ERROR_KIND, error_kind, frame, prepare_operation
from utmost.errors import InputError
from utmost.limits import FailureLimit
from utmost.store import Store
from utmost.web.api import error_response

router = APIRouter(include_in_schema=False)


@router.post("/local/{name}")
async def local_operation(name: str, request: Request) -> Response:
    """400 for an unknown operation or wrong arguments; else 200 and the answer's frames, as
    the operation goes (its own error, if it fails, is the last frame)."""
    handoff = request.app.state.handoff
    failures: FailureLimit = request.app.state.failures
    client = request.client.host if request.client else ""
    failures.check(client)  # TooManyFailuresError: 429, as for a guessed project secret
    if handoff is None or not handoff.accepts(request.headers.get("authorization")):
        failures.failed(client)
        return error_response(401, "send the local credential of this server's .serving file (Bearer)")
    try:
        run = prepare_operation(name, await request.body())
    except InputError as error:
        return error_response(400, str(error), {ERROR_KIND: error_kind(error)})
    return StreamingResponse(_frames(run, request.app.state.store), media_type="application/octet-stream")


async def _frames(run: Callable[[Store, Callable[[bytes], None]], None], store: Store) -> AsyncIterator[bytes]:
    """The frames ``run`` sends from a thread of its own, as they come. The operation goes on to
    its end if the caller leaves, as it would have in the caller's own process."""
    frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def work() -> None:
        try:
            run(store, frames.put)
        except BaseException as error:  # a defect of the server's: the caller is told, the log has the rest
            frames.put(frame(ERROR_FRAME, {"kind": "UtmostError", "message": f"the server failed: {error!r}"}))
            raise
        finally:
            frames.put(None)

    threading.Thread(target=work, name="utmost-local", daemon=True).start()
    while (each := await run_in_threadpool(frames.get)) is not None:
        yield each
