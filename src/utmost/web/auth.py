"""Who is asking: a project, from its secret (HTTP Basic) or from a signed-in session.

The query API and the dashboard show one project's data to whoever holds that project's
secret — the same credential ``/import`` takes, so nothing new to hand out. Browsers sign in
once with the secret (the session cookie is signed, SameSite=Lax, and holds only the project
name); scripts send it as HTTP Basic, ``secret:`` or ``:secret``. No credentials, or wrong
ones, is a 401; one project's secret never reads another project's data.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request

from utmost.collector.wire import basic_credentials
from utmost.errors import UtmostError
from utmost.store import Store
from utmost.store.projects import Project

SESSION_KEY = "project"


class AuthError(UtmostError):
    """No valid credentials: a 401 for the API, a trip to the sign-in page for the dashboard."""


def request_project(request: Request) -> Project:
    """The project a request may read: its Basic credentials, else its signed-in session."""
    store: Store = request.app.state.store
    header = request.headers.get("authorization")
    if header:
        try:
            credentials = basic_credentials(header)
        except ValueError as error:
            raise AuthError(str(error)) from None
        if credentials is None:
            raise AuthError("use HTTP Basic auth with the project secret as user name")
        user, password = credentials
        project = store.project_by("secret", user or password)
        if project is None:
            raise AuthError("invalid project secret")
        return project
    name = request.session.get(SESSION_KEY)
    if name:
        for project in store.projects():
            if project.name == name:
                return project
    raise AuthError("sign in, or send the project secret by HTTP Basic auth")


def sign_in(request: Request, secret: str) -> Project | None:
    """Start a session for the project whose secret this is; None when it is no project's."""
    project = request.app.state.store.project_by("secret", secret.strip())
    if project is not None:
        request.session.clear()
        request.session[SESSION_KEY] = project.name
    return project


def sign_out(request: Request) -> None:
    request.session.clear()


class SignInLinks:
    """One-time sign-in links (``utmost demo`` prints one): a random code stands for a secret.

    The secret itself never goes into a URL, where it would end in history and logs.
    """

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}

    def make(self, project: Project) -> str:
        code = secrets.token_urlsafe(16)
        self._codes[code] = project.secret
        return code

    def redeem(self, request: Request, code: str) -> Project | None:
        secret = self._codes.pop(code, None)
        return sign_in(request, secret) if secret else None
