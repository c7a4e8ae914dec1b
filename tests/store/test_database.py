"""The store: projects, schema versions, reopening a file, and the single writer."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import event, raw_lines, stored

from utmost.errors import ProjectError, UtmostError
from utmost.store import Store, writer
from utmost.store.schema import SCHEMA_VERSION


def test_default_project_is_created_on_first_use(store):
    assert store.projects() == []
    default = store.project()
    assert default.name == "default" and len(default.token) == 32 and len(default.secret) == 32
    assert store.project() == default and store.projects() == [default]


def test_create_project_keeps_given_credentials(store):
    created = store.create_project("hotel", token="test-token", secret="test-secret")
    assert (created.token, created.secret) == ("test-token", "test-secret")
    assert store.project("hotel") == created


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "hotel"}, "name already used by project 'hotel'"),
        ({"name": "b", "token": "test-token"}, "token already used by project 'hotel'"),
        ({"name": "b", "secret": "test-secret"}, "secret already used by project 'hotel'"),
    ],
)
def test_project_names_and_credentials_are_unique(store, kwargs, message):
    store.create_project("hotel", token="test-token", secret="test-secret")
    with pytest.raises(ProjectError, match=message):
        store.create_project(**kwargs)


def test_unknown_project(store):
    with pytest.raises(ProjectError, match="no project 'nope'"):
        store.project("nope")


def test_reopening_keeps_everything(tmp_path):
    path = tmp_path / "u.duckdb"
    with Store(path) as first:
        first.create_project("hotel")
        first.insert_lines("hotel", raw_lines([event()])).result()
    with Store(path) as again:
        assert [p.name for p in again.projects()] == ["hotel"]
        assert len(stored(again, project="hotel")) == 1
        version = again.reader().execute("SELECT max(version) FROM schema_version").fetchone()[0]
        assert version == SCHEMA_VERSION


@pytest.mark.parametrize("row_group_size, groups", [(None, [3000]), (2048, [2048, 952])],
                         ids=["DuckDB's row groups", "the collector's"])
def test_a_round_of_a_row_group_or_more_goes_straight_into_the_file(tmp_path, monkeypatch, row_group_size, groups):
    """DuckDB logs a transaction smaller than a row group, and writes it again at the checkpoint;
    one of at least a row group goes into the file as it is committed, and the log only says
    where. With the collector's 2,048-row groups, a 3,000-event round is one of those."""
    monkeypatch.setattr(writer, "IDLE_SECONDS", 3600)  # no checkpoint empties the log meanwhile
    path = tmp_path / "u.duckdb"
    lines = [event(distinct_id=f"d{n}", **{"$insert_id": f"i{n}"}) for n in range(3000)]
    with Store(path, row_group_size=row_group_size) as store:
        store.project()
        store.append("default", raw_lines(lines)).result()
        logged = Path(f"{path}.wal").stat().st_size
        assert (logged > 100 * 3000) is (row_group_size is None)  # the rows, or a few pointers
    with Store(path) as again:  # any row group size reads back, under any other
        assert [r["distinct_id"] for r in stored(again, "distinct_id")] == [f"d{n}" for n in range(3000)]
        sizes = again.reader().execute(
            "SELECT row_group_id, max(count) FROM pragma_storage_info('events')"
            " WHERE column_name = 'seq' AND segment_type <> 'VALIDITY' GROUP BY ALL ORDER BY 1"
        ).fetchall()
        assert [count for _, count in sizes] == groups


def test_what_does_not_fit_in_memory_spills_beside_the_file(tmp_path):
    """As DuckDB does for a file it opens itself; the store attaches its file to an in-memory one."""
    with Store(tmp_path / "u.duckdb") as store:
        (folder,) = store.reader().execute("SELECT current_setting('temp_directory')").fetchone()
    assert folder == f"{tmp_path / 'u.duckdb'}.tmp"


def test_a_row_group_size_duckdb_refuses_names_the_file(tmp_path):
    with pytest.raises(UtmostError, match=r"cannot open .*u\.duckdb: .*row group size"):
        Store(tmp_path / "u.duckdb", row_group_size=1000)


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "u.duckdb"
    with Store(path) as store:
        store._writer.run(lambda con: con.execute("INSERT INTO schema_version VALUES (99)"))
    with pytest.raises(UtmostError, match="schema version 99; this utmost knows up to"):
        Store(path)


def test_env_var_names_the_default_file(tmp_path, monkeypatch):
    monkeypatch.setenv("UTMOST_DB", str(tmp_path / "from-env.duckdb"))
    with Store() as store:
        assert store.path == tmp_path / "from-env.duckdb"
    assert (tmp_path / "from-env.duckdb").exists()


def test_concurrent_writers_share_commits_and_lose_nothing(store):
    """Many threads insert at once; every acknowledged event is stored, seq is unique."""
    def send(worker: int) -> None:
        for batch in range(5):
            records = [event(distinct_id=f"w{worker}", **{"$insert_id": f"b{batch}-{i}"}) for i in range(20)]
            assert store.insert_lines("default", raw_lines(records)).result().inserted == 20

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = stored(store, "seq")
    assert len(rows) == 800 and len({r["seq"] for r in rows}) == 800


def test_a_failing_job_does_not_fail_its_group(store):
    def boom(con):
        raise RuntimeError("boom")

    futures = [store._writer.submit(boom), store.insert_lines("default", raw_lines([event()]))]
    with pytest.raises(RuntimeError, match="boom"):
        futures[0].result()
    assert futures[1].result().inserted == 1
