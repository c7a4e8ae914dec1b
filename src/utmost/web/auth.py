"""Who is asking: a project, from its secret (HTTP Basic) or from a signed-in session.

The query API and the dashboard show one project's data to whoever holds that project's
secret — the same credential ``/import`` takes, so nothing new to hand out. Browsers sign in
once with the secret; scripts send it as HTTP Basic, ``secret:`` or ``:secret``. No
credentials, or wrong ones, is a 401; one project's secret never reads another project's data.

The session cookie (signed, HttpOnly, SameSite=Lax, Secure over HTTPS) holds only a random
session id; the server keeps which project each live id is signed in to (:class:`Sessions`),
so signing out ends the session for every copy of the cookie. Wrong secrets are counted per
client (:mod:`utmost.limits`), and a request that changes something must come from
this server's own pages (:func:`cross_site`).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import Scope

from utmost.credentials import basic_credentials
from utmost.errors import UtmostError
from utmost.limits import FailureLimit
from utmost.store import Project, Store

SESSION_KEY = "session"
#: Methods that only read: a request with any other must come from this server's own pages.
READING = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


class AuthError(UtmostError):
    """No valid credentials: a 401 for the API, a trip to the sign-in page for the dashboard."""


def request_project(request: Request) -> Project:
    """The project a request may read: its Basic credentials, else its signed-in session."""
    store: Store = request.app.state.store
    header = request.headers.get("authorization")
    if header:
        with _counting_failures(request):
            return _project_of_header(store, header)
    name = request.app.state.sessions.project(request.session.get(SESSION_KEY))
    if name:
        for project in store.projects():
            if project.name == name:
                return project
    raise AuthError("sign in, or send the project secret by HTTP Basic auth")


def _project_of_header(store: Store, header: str) -> Project:
    try:
        credentials = basic_credentials(header)
    except ValueError as error:
        raise AuthError(str(error)) from None
    if credentials is None:
        raise AuthError("use HTTP Basic auth with the project secret as user name")
    user, password = credentials
    return _project_of_secret(store, user or password)


def _project_of_secret(store: Store, secret: str) -> Project:
    project = store.project_by("secret", secret) if secret else None
    if project is None:
        raise AuthError("invalid project secret")
    return project


@contextmanager
def _counting_failures(request: Request) -> Iterator[None]:
    """Refuse a client shut out for wrong secrets (TooManyFailuresError); count an AuthError."""
    failures: FailureLimit = request.app.state.failures
    client = request.client.host if request.client else ""
    failures.check(client)
    try:
        yield
    except AuthError:
        failures.failed(client)
        raise


def sign_in(request: Request, secret: str) -> Project | None:
    """Start a session for the project whose secret this is; None when it is no project's.

    Raises TooManyFailuresError while the client is shut out for wrong secrets.
    """
    try:
        with _counting_failures(request):
            project = _project_of_secret(request.app.state.store, secret.strip())
    except AuthError:
        return None
    start_session(request, project)
    return project


def start_session(request: Request, project: Project) -> None:
    """Sign the request's browser in to ``project`` under a new session id.

    A new id at each sign-in, and the one before ended: an id planted before is worth nothing.
    """
    sessions: Sessions = request.app.state.sessions
    sessions.end(request.session.get(SESSION_KEY))
    request.session.clear()
    request.session[SESSION_KEY] = sessions.start(project.name)


def sign_out(request: Request) -> None:
    """End the session on the server, so a copy of the cookie no longer signs anyone in."""
    request.app.state.sessions.end(request.session.get(SESSION_KEY))
    request.session.clear()


class Sessions:
    """The live sessions of this server process: random id → project name.

    Kept in memory: a restart signs everyone out. At most ``most`` at once, the oldest ended
    first (~250 bytes each); one older than ``max_age`` seconds is over, like its cookie.
    """

    def __init__(self, max_age: float, most: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age, self.most = max_age, most
        self._clock = clock
        self._live: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, project: str) -> str:
        session = secrets.token_urlsafe(32)
        with self._lock:
            self._live[session] = (project, self._clock())
            while len(self._live) > self.most:
                self._live.popitem(last=False)
        return session

    def project(self, session: object) -> str | None:
        """The project ``session`` is signed in to; None for an ended, unknown or stale one."""
        found = self._live.get(session) if isinstance(session, str) else None
        if found is None:
            return None
        project, started = found
        if self._clock() - started > self.max_age:
            self.end(session)
            return None
        return project

    def end(self, session: object) -> None:
        if isinstance(session, str):
            with self._lock:
                self._live.pop(session, None)


# --- cross-site requests ---------------------------------------------------------------------

def own_origin(scope: Scope) -> str:
    """This server's origin as the browser sees it: the request's scheme and ``Host``.

    Behind a proxy: the proxy must pass ``Host`` on, and its ``X-Forwarded-Proto`` is taken
    (by uvicorn) only from an address in ``FORWARDED_ALLOW_IPS`` (127.0.0.1 by default).
    """
    return _origin(scope.get("scheme", "http"), Headers(scope=scope).get("host", ""))


def _origin(scheme: str, netloc: str) -> str:
    scheme, netloc = scheme.lower(), netloc.lower()
    if scheme in _DEFAULT_PORTS:
        netloc = netloc.removesuffix(_DEFAULT_PORTS[scheme])
    return f"{scheme}://{netloc}"


def _origin_of_url(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return _origin(parts.scheme, parts.netloc) if parts.scheme and parts.netloc else None


def cross_site(scope: Scope) -> str | None:
    """Why a request that changes something is refused; None when it comes from this server.

    Browsers name the page a request comes from in ``Origin`` (every cross-origin POST), else
    in ``Referer``. A request with neither is refused too (browsers send one with every form
    post), unless it carries its own credentials (``Authorization``, as a script deleting a
    person by the API does): a browser adds ``Origin`` to every cross-origin request that is not
    a plain GET, so such a request comes from no other site's page, and it rides on no cookie.
    """
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is None and "referer" in headers:
        origin = _origin_of_url(headers["referer"]) or "an unreadable Referer"
    if origin is None and "authorization" in headers:
        return None
    if origin is None:
        return "a request that changes something must say where it comes from (an Origin or Referer header)"
    own = own_origin(scope)
    if _origin_of_url(origin) != own:
        return f"refused a request from {origin} to {own}: only this server's own pages may make it"
    return None


def followed_from_elsewhere(request: Request) -> bool:
    """Whether a navigation came from a link on another origin (not typed, pasted or ours)."""
    if request.headers.get("sec-fetch-site", "none") not in ("none", "same-origin"):
        return True
    referer = request.headers.get("referer")
    return referer is not None and _origin_of_url(referer) != own_origin(request.scope)


class SignInLinks:
    """One-time sign-in links (``utmost demo`` prints one): a random code stands for a project.

    It is not the secret, which never goes into a URL (where it would end in history and logs),
    and which the server does not know once the project is created.
    """

    def __init__(self) -> None:
        self._codes: dict[str, Project] = {}

    def make(self, project: Project) -> str:
        code = secrets.token_urlsafe(16)
        self._codes[code] = project
        return code

    def redeem(self, request: Request, code: str) -> Project | None:
        project = self._codes.pop(code, None)
        if project is not None:
            start_session(request, project)
        return project
