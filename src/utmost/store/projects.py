"""Projects: a name, the public token SDKs put in payloads, and the secret for /import.

Secrets, of projects and of service accounts, are stored only as HMAC-SHA256 under a random
256-bit key kept in the file (table ``credential_key``), so a copy of the file (a backup, a
disk) holds no working credential. A fast keyed hash and not bcrypt or scrypt, because a
generated secret carries 128 random bits: even whoever holds the file and its key has 2^127
hashes to try on average, out of reach however fast each is, so a slow hash would only slow
every check; and a deterministic hash finds a project by one indexed equality, so a credential
not yet verified costs one query. The key makes each file's hashes its own: no table computed
in advance serves for every utmost file.
A secret chosen by hand (``--secret``) is only as strong as it is long: from a copy of the
file a short one can be guessed offline, at billions of tries a second.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import duckdb

from utmost.errors import InputError, ProjectError


@dataclass(frozen=True)
class Project:
    """``secret`` is set only on the project that creation (or a rotation) returns: the one
    time it is known. ``secret_hash`` is what the file keeps of it: a session signed in with
    one secret holds it, and ends when it no longer matches (the secret was rotated)."""

    name: str
    token: str
    secret: str | None = field(default=None, compare=False, repr=False)
    secret_hash: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class ServiceAccount:
    """Mixpanel's other /import credential: a user name and secret tied to one project.

    ``secret`` is set only on the account that creation returns, as for :class:`Project`.
    """

    username: str
    project: str
    secret: str | None = field(default=None, compare=False, repr=False)


def new_credential() -> str:
    """A random 32-hex-digit credential, the shape of Mixpanel's tokens and secrets."""
    return secrets.token_hex(16)


def secret_hash(key: bytes, secret: str) -> str:
    """What the file keeps of ``secret``: HMAC-SHA256 under the file's key, in hex."""
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def credential_key(con: duckdb.DuckDBPyConnection) -> bytes:
    """The file's key for :func:`secret_hash` (made by the schema's third migration)."""
    ((key,),) = con.execute("SELECT key FROM credential_key").fetchall()
    return key


def hash_secrets(con: duckdb.DuckDBPyConnection) -> None:
    """Migration step: make the file's key, and copy every plain secret, hashed, into the
    ``hashed_*`` tables that replace ``projects`` and ``service_accounts``."""
    key = secrets.token_bytes(32)
    con.execute("INSERT INTO credential_key VALUES (?)", [key])
    rows = con.execute("SELECT name, token, secret, created_at FROM projects").fetchall()
    for name, token, secret, created_at in rows:
        con.execute(
            "INSERT INTO hashed_projects VALUES (?, ?, ?, ?)", [name, token, secret_hash(key, secret), created_at]
        )
    rows = con.execute("SELECT username, secret, project, created_at FROM service_accounts").fetchall()
    for username, secret, project, created_at in rows:
        con.execute(
            "INSERT INTO hashed_service_accounts VALUES (?, ?, ?, ?)",
            [username, secret_hash(key, secret), project, created_at],
        )


def _project(row: tuple[str, str, str]) -> Project:
    name, token, hashed = row
    return Project(name, token, secret_hash=hashed)


def find_project(con: duckdb.DuckDBPyConnection, name: str) -> Project | None:
    row = con.execute("SELECT name, token, secret_hash FROM projects WHERE name = ?", [name]).fetchone()
    return _project(row) if row else None


def list_projects(con: duckdb.DuckDBPyConnection) -> list[Project]:
    rows = con.execute("SELECT name, token, secret_hash FROM projects ORDER BY created_at, name").fetchall()
    return [_project(row) for row in rows]


def insert_project(
    con: duckdb.DuckDBPyConnection, key: bytes, name: str, token: str | None = None, secret: str | None = None
) -> Project:
    """Create a project; a site migrating from Mixpanel passes the token its pages already use.

    The project returned is the only one that holds ``secret``: the file keeps its hash.
    """
    if not name or not name.strip():
        raise InputError("project name is empty")
    secret = secret or new_credential()
    hashed = secret_hash(key, secret)
    project = Project(name, token or new_credential(), secret, hashed)
    for column, value in (("name", project.name), ("token", project.token), ("secret_hash", hashed)):
        taken = con.execute(f"SELECT name FROM projects WHERE {column} = ?", [value]).fetchone()
        if taken:
            raise ProjectError(f"{column.removesuffix('_hash')} already used by project {taken[0]!r}")
    con.execute("INSERT INTO projects (name, token, secret_hash) VALUES (?, ?, ?)", [name, project.token, hashed])
    return project


def rotate_secret(con: duckdb.DuckDBPyConnection, key: bytes, name: str) -> Project:
    """Replace project ``name``'s secret with a generated one; the project returned holds it.

    Generated only: a rotation is for a secret lost or leaked, and a chosen one could be
    weaker than the one it replaces.
    """
    found = find_project(con, name)
    if found is None:
        raise ProjectError(f"no project {name!r} (see `utmost project list`)")
    secret = new_credential()
    hashed = secret_hash(key, secret)
    con.execute("UPDATE projects SET secret_hash = ? WHERE name = ?", [hashed, name])
    return Project(found.name, found.token, secret, hashed)


def find_project_by_token(con: duckdb.DuckDBPyConnection, token: str) -> Project | None:
    row = con.execute("SELECT name, token, secret_hash FROM projects WHERE token = ?", [token]).fetchone()
    return _project(row) if row else None


def find_project_by_secret(con: duckdb.DuckDBPyConnection, key: bytes, secret: str) -> Project | None:
    """The project whose secret is ``secret``: found by its hash, then compared in constant time."""
    hashed = secret_hash(key, secret)
    row = con.execute("SELECT name, token, secret_hash FROM projects WHERE secret_hash = ?", [hashed]).fetchone()
    if row is None or not hmac.compare_digest(row[2], hashed):
        return None
    return Project(row[0], row[1], secret_hash=row[2])


def insert_service_account(
    con: duckdb.DuckDBPyConnection, key: bytes, project: str, username: str | None = None, secret: str | None = None
) -> ServiceAccount:
    """Add an account to ``project``; the one returned is the only one that holds ``secret``."""
    if not find_project(con, project):
        raise ProjectError(f"no project {project!r} (see `utmost project list`)")
    secret = secret or new_credential()
    account = ServiceAccount(username or f"{project}.{new_credential()[:8]}", project, secret)
    if con.execute("SELECT 1 FROM service_accounts WHERE username = ?", [account.username]).fetchone():
        raise ProjectError(f"service account {account.username!r} already exists")
    con.execute(
        "INSERT INTO service_accounts (username, secret_hash, project) VALUES (?, ?, ?)",
        [account.username, secret_hash(key, secret), account.project],
    )
    return account


def verify_service_account(
    con: duckdb.DuckDBPyConnection, key: bytes, username: str, secret: str
) -> ServiceAccount | None:
    """The account named ``username`` if ``secret`` is its secret (compared in constant time)."""
    row = con.execute("SELECT secret_hash, project FROM service_accounts WHERE username = ?", [username]).fetchone()
    if row is None or not hmac.compare_digest(row[0], secret_hash(key, secret)):
        return None
    return ServiceAccount(username, row[1])
