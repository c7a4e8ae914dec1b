"""Credentials at rest: the file keeps keyed hashes of secrets, and only its owner may read it."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import duckdb
import pytest
from conftest import event, raw_lines

from utmost.errors import InputError, ProjectError
from utmost.store import Store
from utmost.store.schema import MIGRATIONS, SCHEMA_VERSION


def table(store: Store, sql: str) -> list[tuple]:
    return store.reader().execute(sql).fetchall()


def hashed(key: bytes, secret: str) -> str:
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_file_keeps_only_keyed_hashes_of_secrets(store):
    created = store.create_project("hotel", "hotel-token", "hotel-secret-0123456789")
    account = store.create_service_account("hotel", "importer", "importer-secret-0123456789")
    assert (created.secret, account.secret) == ("hotel-secret-0123456789", "importer-secret-0123456789")
    ((key,),) = table(store, "SELECT key FROM credential_key")
    assert len(key) == 32
    assert table(store, "SELECT name, token, secret_hash FROM projects") == [
        ("hotel", "hotel-token", hashed(key, "hotel-secret-0123456789"))
    ]
    assert table(store, "SELECT username, secret_hash, project FROM service_accounts") == [
        ("importer", hashed(key, "importer-secret-0123456789"), "hotel")
    ]


def test_a_secret_is_known_only_to_what_creation_returns(store):
    created = store.create_project("hotel", secret="hotel-secret-0123456789")
    found = store.project("hotel")
    assert found == created and found.secret is None and store.projects()[0].secret is None
    assert "hotel-secret" not in repr(created)
    assert store.project_by("secret", "hotel-secret-0123456789") == found
    assert store.project_by("secret", "hotel-secret-012345678") is None
    assert store.project_by("secret", created.token) is None


def test_a_service_account_is_found_only_with_its_secret(store):
    store.create_project("hotel")
    store.create_service_account("hotel", "importer", "importer-secret-0123456789")
    found = store.service_account("importer", "importer-secret-0123456789")
    assert (found.username, found.project, found.secret) == ("importer", "hotel", None)
    assert store.service_account("importer", "importer-secret-012345678") is None
    assert store.service_account("nobody", "importer-secret-0123456789") is None


def test_a_mixpanel_id_names_its_project_and_only_one(store):
    store.create_project("shop", mixpanel_id=2195193)
    spa = store.create_project("spa")
    assert store.project("shop").mixpanel_id == 2195193 and spa.mixpanel_id is None
    assert [store.project("shop").named_by(given) for given in ("shop", "2195193", "02195193", "2195194", "")] == [
        True, True, True, False, False]
    assert not spa.named_by("None") and not spa.named_by("0")
    assert not store.project("shop").named_by("٢١٩٥١٩٣")  # Arabic-Indic digits are not Mixpanel's id
    with pytest.raises(ProjectError, match="already names project 'shop'"):
        store.set_mixpanel_id("spa", "2195193")
    assert store.set_mixpanel_id("spa", " 42 ").mixpanel_id == 42
    assert store.set_mixpanel_id("spa", 43).mixpanel_id == 43
    assert store.project_by("token", spa.token).mixpanel_id == 43
    for bad in ("", "4.0", "1e3", "0", str(2**63), "-1"):
        with pytest.raises(InputError, match="a Mixpanel project id is a whole number"):
            store.set_mixpanel_id("spa", bad)
    with pytest.raises(duckdb.ConstraintException, match="mixpanel_id"):  # the file holds it too
        store._writer.run(lambda con: con.execute("UPDATE projects SET mixpanel_id = 43 WHERE name = 'shop'"))


def old_file(path: Path) -> None:
    """A file as utmost made it before secrets were hashed: schema version 2, plain secrets
    (by the released migrations 1 and 2, which are never edited)."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for version in (1, 2):
        for statement in MIGRATIONS[version - 1]:
            con.execute(statement)
        con.execute("INSERT INTO schema_version VALUES (?)", [version])
    con.execute("INSERT INTO projects (name, token, secret) VALUES ('hotel', 'hotel-token', 'old-secret-1')")
    con.execute("INSERT INTO projects (name, token, secret) VALUES ('spa', 'spa-token', 'old-secret-2')")
    con.execute("INSERT INTO service_accounts (username, secret, project) VALUES ('importer', 'old-sa-secret', 'spa')")
    con.close()
    path.chmod(0o644)  # as DuckDB made it under the usual umask


def test_an_old_file_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.duckdb"
    old_file(path)
    with Store(path) as store:
        assert mode(path) == 0o600
        assert table(store, "SELECT max(version) FROM schema_version") == [(SCHEMA_VERSION,)]
        ((key,),) = table(store, "SELECT key FROM credential_key")
        assert table(store, "SELECT name, token, secret_hash FROM projects ORDER BY name") == [
            ("hotel", "hotel-token", hashed(key, "old-secret-1")),
            ("spa", "spa-token", hashed(key, "old-secret-2")),
        ]
        assert table(store, "SELECT username, secret_hash, project FROM service_accounts") == [
            ("importer", hashed(key, "old-sa-secret"), "spa")
        ]
        assert store.project_by("secret", "old-secret-2").name == "spa"
        assert [p.mixpanel_id for p in store.projects()] == [None, None]
        assert store.service_account("importer", "old-sa-secret").project == "spa"
        store.create_project("golf", "golf-token", "new-secret")
        assert [p.name for p in store.projects()] == ["hotel", "spa", "golf"]
        with pytest.raises(duckdb.ConstraintException, match="secret_hash"):  # the constraints came along
            store._writer.run(lambda con: con.execute(
                "INSERT INTO projects (name, token, secret_hash) SELECT 'golf2', 'golf2-token', secret_hash"
                " FROM projects WHERE name = 'spa'"
            ))


def test_the_file_and_those_beside_it_are_created_owner_only(tmp_path):
    """Under the usual umask 022, which stays the process's once the store is closed."""
    path = tmp_path / "u.duckdb"
    found = os.umask(0o022)
    try:
        with Store(path) as store:
            store.project()
            store.append("default", raw_lines([event()])).result()
            assert (mode(path), mode(Path(f"{path}.wal"))) == (0o600, 0o600)
            store.reader().execute("CHECKPOINT")
            assert not Path(f"{path}.wal").exists()
            store.append("default", raw_lines([event(distinct_id="d2")])).result()  # a new log
            assert (mode(path), mode(Path(f"{path}.wal"))) == (0o600, 0o600)
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(found)
