"""The collector: Mixpanel's ingestion API over the store, as an ASGI app.

``/track``, ``/engage`` and ``/groups`` are authorised by the project token inside each record;
``/import`` by the project secret (HTTP Basic ``secret:``) or a service account (``user:secret``
with ``?project_id=``, the project's name or the numeric id it had at Mixpanel). A request is answered only after its rows are committed to the DuckDB
file: events go through :meth:`Store.append`, which lets concurrent requests share one insert
and one commit. Bad records are named by index and field in a 4xx answer while the valid
records beside them are stored; see :mod:`utmost.collector.answers` for the shapes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
import pyarrow as pa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from utmost.collector.answers import Outcome, answer
from utmost.collector.records import (
    EventLine,
    Failure,
    event_lines,
    field_of,
    import_lines,
    insert_id_of,
    profile_updates,
)
from utmost.collector.wire import (
    MAX_REQUEST_BYTES,
    Payload,
    RawRecords,
    RequestError,
    asks_verbose,
    check_head,
    decode,
    maybe_compressed,
)
from utmost.credentials import basic_credentials
from utmost.errors import UnavailableError
from utmost.limits import FailureLimit, TooManyFailuresError
from utmost.store import RETRY_AFTER_SECONDS, SPLIT_AHEAD_LINES, Project, Store

Handler = Callable[[Request], Awaitable[Response]]

#: A body (or query string) longer than this is decoded on a worker thread, where a 10 MB one
#: (20-100 ms) does not hold up the requests on the event loop; a shorter one is decoded on
#: the loop, where it takes less than the hop to a thread and back (~0.2 ms; a browser's 50
#: events, 21 KB, take 0.08 ms on the loop).
DECODE_ON_LOOP_BYTES = 64 * 1024
#: How much of a body is read before its nesting is first checked (:func:`check_head`): a
#: body refused then is not read on.
HEAD_BYTES = 64 * 1024

log = logging.getLogger("utmost.collector")


class Collector:
    """The endpoints, bound to one open store."""

    def __init__(self, store: Store, failures: FailureLimit | None = None) -> None:
        self.store = store
        self.failures = failures if failures is not None else FailureLimit()
        self._tokens: dict[str, Project] = {}
        self._imports: dict[tuple[tuple[str, str] | None, str | None], Project] = {}
        #: The store's count of secret and Mixpanel id changes when ``_imports`` was last emptied.
        self._credentials_seen = store.credentials_changed
        # Large bodies are decoded one at a time: each thread decoding one takes its turn at the
        # interpreter lock with the event loop, so with eight at once the loop had a ninth of it
        # and a small /track took 0.4 s (p50; p99 1.6 s) instead of 15 ms. They wait for each other.
        self._decoding = anyio.CapacityLimiter(1)

    # Endpoints

    async def track(self, request: Request) -> Response:
        return await self._handle(request, "track", self._store_events_by_token, raw=True)

    async def engage(self, request: Request) -> Response:
        return await self._handle(request, "track", lambda payload: self._store_profiles("people", payload))

    async def groups(self, request: Request) -> Response:
        return await self._handle(request, "track", lambda payload: self._store_profiles("groups", payload))

    async def import_(self, request: Request) -> Response:
        # Credentials that were good once stay good until a secret changes: a lookup per
        # request was a tenth of the server's time under load. Keyed by the decoded credentials,
        # not the header, so only good ones are kept (a header spelt 6,000 ways grew it 24 MB).
        key = (_credentials_or_none(request.headers.get("authorization")), request.query_params.get("project_id"))
        client = request.client.host if request.client else ""
        try:
            self.failures.check(client)  # before the cache, which would tell a right guess
            if (project := self._checked_import(key)) is None:
                changes = self.store.credentials_changed
                project = await run_in_threadpool(self._import_project, request)
                if changes == self.store.credentials_changed:  # else checked against a secret now gone
                    self._imports[key] = project
        except TooManyFailuresError as error:
            refused = _answer(request, "import", None, Outcome(0, error=str(error), status=429),
                              await _body_or_none(request))
            refused.headers["Retry-After"] = str(error.retry_after)
            return refused
        except RequestError as error:
            if error.status == 401 and request.headers.get("authorization"):  # a guess, not a forgotten header
                self.failures.failed(client)
            outcome = Outcome(0, error=str(error), status=error.status)
            return _answer(request, "import", None, outcome, await _body_or_none(request))
        return await self._handle(request, "import", lambda payload: self._store_events(project, payload), raw=True)

    async def healthz(self, request: Request) -> Response:
        """200 ``ok``; 503 ``degraded`` with the reason while the store cannot write (a full disk)."""
        failure = await run_in_threadpool(self.store.write_failure)
        if failure is None:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "degraded", "reason": failure}, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})

    async def side_call(self, request: Request) -> Response:
        """Session recordings (/record), remote settings (/decide, /flags): acknowledged, not kept."""
        return JSONResponse({"code": 200, "status": "OK"})

    # The shared path: read, decode, store, answer

    async def _handle(
        self, request: Request, endpoint: str, store: Callable[[Payload], Awaitable[Outcome]], raw: bool = False
    ) -> Response:
        """``raw``: keep the records as text for the store (events; profiles are parsed)."""
        body = payload = None
        try:
            body = await _body(request)
            payload = await _decoded(request, body, raw, self._decoding)
            outcome = await store(payload)
        except _Unread as error:  # the rest of the body is not worth reading: close the connection
            response = _answer(request, endpoint, None, Outcome(0, error=str(error), status=error.status))
            response.headers["connection"] = "close"
            return response
        except RequestError as error:
            outcome = Outcome(0, error=str(error), status=error.status)
        except UnavailableError as error:  # not committed: the sender keeps it and retries
            response = _answer(request, endpoint, payload, Outcome(0, error=str(error), status=503), body)
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        except ClientDisconnect:  # nobody is left to answer; the server serves on
            log.warning("%s %s: the client went away before sending its whole body", request.method, request.url.path)
            return Response(status_code=400)
        return _answer(request, endpoint, payload, outcome, body)

    async def _store_events_by_token(self, payload: Payload) -> Outcome:
        lines, failures = event_lines(payload.records, time.time(), require_time=False)
        by_project: dict[str, list[EventLine]] = {}
        for line in lines:
            project = await self._project_of_token(line.token)
            if project is None:
                failures.append(_token_failure(line, payload.records))
            else:
                by_project.setdefault(project.name, []).append(line)
        if lines and not by_project:
            return Outcome(0, failures, status=401)
        return await self._store_lines(by_project, payload, failures)

    async def _store_events(self, project: Project, payload: Payload) -> Outcome:
        if isinstance(payload.records, RawRecords):
            judged = await self._append(project.name, import_lines, payload.records, time.time())
            failures = _rejections(judged, payload.records)
            return Outcome(len(payload.records) - len(failures), failures)
        lines, failures = event_lines(payload.records, time.time(), require_time=True)
        return await self._store_lines({project.name: lines}, payload, failures)

    async def _store_lines(
        self, by_project: dict[str, list[EventLine]], payload: Payload, failures: list[Failure]
    ) -> Outcome:
        appended = [self._append(project, _numbered, lines) for project, lines in by_project.items()]
        for judged in await asyncio.gather(*appended):
            failures.extend(_rejections(judged, payload.records))
        return Outcome(len(payload.records) - len(failures), failures)

    async def _append(self, project: str, make_lines: Callable[..., Any], *args: Any) -> list[tuple[int, str]]:
        """Make a batch's lines, hand them to the store and await the commit.

        The store decodes a large batch as it takes it (:meth:`Store.append`): on a worker
        thread, off the event loop, where that work overlaps with the writer's inserts.
        """
        lines = make_lines(*args)
        if len(lines) >= SPLIT_AHEAD_LINES:
            appended = await run_in_threadpool(self.store.append, project, lines)
        else:  # small: the writer decodes it with the rest of its round
            appended = self.store.append(project, lines)
        return await asyncio.wrap_future(appended)

    async def _store_profiles(self, kind: str, payload: Payload) -> Outcome:
        good, failures = profile_updates(kind, payload.records)
        by_project: dict[str, list[Any]] = {}
        for record in good:
            project = await self._project_of_token(record.token)
            if project is None:
                failures.append(Failure(record.index, None, "$token", _unknown_token(record.token)))
            else:
                by_project.setdefault(project.name, []).extend(record.updates)
        if good and not by_project:
            return Outcome(0, failures, status=401)
        await asyncio.gather(
            *(asyncio.wrap_future(self.store.submit_profiles(kind, p, u)) for p, u in by_project.items())
        )
        return Outcome(len(payload.records) - len(failures), failures)

    # Credentials

    def _checked_import(self, key: tuple[tuple[str, str] | None, str | None]) -> Project | None:
        """The project these /import credentials were found good for, unless a secret changed
        since (``utmost project secret --rotate``), or a Mixpanel id: then every one is checked again."""
        if self._credentials_seen != self.store.credentials_changed:
            self._imports.clear()
            self._credentials_seen = self.store.credentials_changed
        return self._imports.get(key)

    async def _project_of_token(self, token: Any) -> Project | None:
        if not isinstance(token, str) or not token:
            return None
        if token not in self._tokens:
            found = await run_in_threadpool(self.store.project_by, "token", token)
            if found is None:
                return None  # not cached: a project created later is found then
            self._tokens[token] = found
        return self._tokens[token]

    def _import_project(self, request: Request) -> Project:
        user, password = _basic_auth(request.headers.get("authorization"))
        wanted = request.query_params.get("project_id")
        if user and password:
            account = self.store.service_account(user, password)
            if account is None:
                raise RequestError("invalid service account user name or secret", 401)
            if wanted is None:
                raise RequestError("a service account must name the project: add ?project_id=", 400)
            project = self.store.project(account.project)
            if not project.named_by(wanted):
                raise RequestError(f"service account {user!r} has no access to project {wanted!r}", 403)
            return project
        found = self.store.project_by("secret", user or password)
        if found is None:
            raise RequestError("invalid project secret", 401)
        if wanted is not None and not found.named_by(wanted):
            raise RequestError(f"this secret belongs to another project than {wanted!r}", 403)
        return found


def create_app(store: Store, failures: FailureLimit | None = None) -> Starlette:
    """The ASGI app; endpoints answer with and without a trailing slash, by GET and POST.

    ``failures``: the server's count of wrong secrets per client, shared with the dashboard's.
    """
    collector = Collector(store, failures)
    # pyarrow imports pandas on its first array, ~0.3 s: pay it now rather than in a request.
    pa.array([0])
    endpoints: dict[str, Handler] = {
        "track": collector.track,
        "engage": collector.engage,
        "groups": collector.groups,
        "import": collector.import_,
        "record": collector.side_call,
        "decide": collector.side_call,
        "flags": collector.side_call,
    }
    routes = [
        Route(f"/{name}{slash}", handler, methods=["GET", "POST"])
        for name, handler in endpoints.items()
        for slash in ("", "/")
    ]
    routes.append(Route("/healthz", collector.healthz))
    # Browsers send credentials with their XHRs: the origin must be echoed, not "*".
    cors = Middleware(
        CORSMiddleware,
        allow_origin_regex=".*",
        allow_credentials=True,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        max_age=86400,
    )
    app = Starlette(routes=routes, middleware=[cors])
    app.state.collector = collector
    return app


async def _decoded(request: Request, body: bytes, raw: bool, limiter: anyio.CapacityLimiter) -> Payload:
    """The request's records; a large or compressed body is decoded off the event loop, under ``limiter``."""
    query = request.url.query
    encoding = request.headers.get("content-encoding", "")
    if len(body) + len(query) <= DECODE_ON_LOOP_BYTES and not maybe_compressed(body, query, encoding):
        return decode(body, query, encoding, raw=raw)
    return await anyio.to_thread.run_sync(partial(decode, body, query, encoding, raw=raw), limiter=limiter)


class _Unread(RequestError):
    """A request refused before its whole body was read."""


async def _body(request: Request) -> bytes:
    """The raw body, refused past the request limit, or nested too deep, before it is all read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        raise _Unread(f"request is {int(declared):,} bytes (at most {MAX_REQUEST_BYTES:,})", 413)
    chunks, size, head = [], 0, True
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise _Unread(f"request is over {MAX_REQUEST_BYTES:,} bytes", 413)
        chunks.append(chunk)
        if head and size >= HEAD_BYTES:
            head, chunks = False, [b"".join(chunks)]
            try:
                # Exactly the head: a first read can be 256 KB, whose scan would cost the loop 4x.
                check_head(chunks[0][:HEAD_BYTES], request.url.query, request.headers.get("content-encoding", ""))
            except RequestError as error:
                raise _Unread(str(error), error.status) from None
    return b"".join(chunks)


async def _body_or_none(request: Request) -> bytes | None:
    """The body of a request refused before it was read, for the ``verbose`` it may hold; None
    when it is too large to read or the client went away."""
    try:
        return await _body(request)
    except (RequestError, ClientDisconnect):
        return None


def _basic_auth(header: str | None) -> tuple[str, str]:
    try:
        credentials = basic_credentials(header)
    except ValueError as error:
        raise RequestError(str(error), 401) from None
    if credentials is None:
        raise RequestError("/import needs HTTP Basic auth: the project secret as user name", 401)
    return credentials


def _credentials_or_none(header: str | None) -> tuple[str, str] | None:
    try:
        return basic_credentials(header)
    except ValueError:
        return None


def _answer(
    request: Request, endpoint: str, payload: Payload | None, outcome: Outcome, body: bytes | None = None
) -> Response:
    """Answer in the shape the sender expects; a request that failed to decode is judged by its
    headers, and by the ``verbose`` field of its ``body`` when that was read."""
    if payload is not None:
        return answer(endpoint, outcome, verbose=payload.verbose, form=payload.from_form)
    content_type = request.headers.get("content-type", "")
    form = "json" not in content_type or request.method == "GET"
    return answer(endpoint, outcome, verbose=asks_verbose(body, request.url.query), form=form)


def _numbered(lines: list[EventLine]) -> list[tuple[int, dict[str, Any] | bytes]]:
    """The store's numbered records; line numbers are record indexes + 1."""
    return [(line.index + 1, line.record) for line in lines]


def _rejections(rejected: list[tuple[int, str]], records: Sequence[Any]) -> list[Failure]:
    return [Failure(line - 1, insert_id_of(records[line - 1]), field_of(why), why) for line, why in rejected]


def _unknown_token(token: Any) -> str:
    if token in (None, ""):
        return "missing project token"
    return f"{token!r} is not a project token"


def _token_failure(line: EventLine, records: Sequence[Any]) -> Failure:
    return Failure(line.index, insert_id_of(records[line.index]), "properties.token", _unknown_token(line.token))
