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
