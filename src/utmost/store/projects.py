"""Projects: a name, the public token SDKs put in payloads, and the secret for /import."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import duckdb

from utmost.errors import InputError, ProjectError

DEFAULT_PROJECT = "default"


@dataclass(frozen=True)
class Project:
    name: str
    token: str
    secret: str


def new_credential() -> str:
    """A random 32-hex-digit credential, the shape of Mixpanel's tokens and secrets."""
    return secrets.token_hex(16)


def find_project(con: duckdb.DuckDBPyConnection, name: str) -> Project | None:
    row = con.execute("SELECT name, token, secret FROM projects WHERE name = ?", [name]).fetchone()
    return Project(*row) if row else None


def list_projects(con: duckdb.DuckDBPyConnection) -> list[Project]:
    rows = con.execute("SELECT name, token, secret FROM projects ORDER BY created_at, name").fetchall()
    return [Project(*row) for row in rows]


def insert_project(
    con: duckdb.DuckDBPyConnection, name: str, token: str | None = None, secret: str | None = None
) -> Project:
    """Create a project; a site migrating from Mixpanel passes the token its pages already use."""
    if not name or not name.strip():
        raise InputError("project name is empty")
    project = Project(name, token or new_credential(), secret or new_credential())
    for field, value in (("name", project.name), ("token", project.token), ("secret", project.secret)):
        taken = con.execute(f"SELECT name FROM projects WHERE {field} = ?", [value]).fetchone()
        if taken:
            raise ProjectError(f"{field} already used by project {taken[0]!r}")
    con.execute(
        "INSERT INTO projects (name, token, secret) VALUES (?, ?, ?)",
        [project.name, project.token, project.secret],
    )
    return project


def find_project_by(con: duckdb.DuckDBPyConnection, credential: str, value: str) -> Project | None:
    """The project whose ``token`` or ``secret`` is ``value``."""
    if credential not in ("token", "secret"):
        raise ValueError(credential)
    row = con.execute(f"SELECT name, token, secret FROM projects WHERE {credential} = ?", [value]).fetchone()
    return Project(*row) if row else None


@dataclass(frozen=True)
class ServiceAccount:
    """Mixpanel's other /import credential: a user name and secret tied to one project."""

    username: str
    secret: str
    project: str


def insert_service_account(
    con: duckdb.DuckDBPyConnection, project: str, username: str | None = None, secret: str | None = None
) -> ServiceAccount:
    if not find_project(con, project):
        raise ProjectError(f"no project {project!r} (see `utmost project list`)")
    account = ServiceAccount(username or f"{project}.{new_credential()[:8]}", secret or new_credential(), project)
    if con.execute("SELECT 1 FROM service_accounts WHERE username = ?", [account.username]).fetchone():
        raise ProjectError(f"service account {account.username!r} already exists")
    con.execute(
        "INSERT INTO service_accounts (username, secret, project) VALUES (?, ?, ?)",
        [account.username, account.secret, account.project],
    )
    return account


def find_service_account(con: duckdb.DuckDBPyConnection, username: str) -> ServiceAccount | None:
    row = con.execute(
        "SELECT username, secret, project FROM service_accounts WHERE username = ?", [username]
    ).fetchone()
    return ServiceAccount(*row) if row else None
