"""The Store: the only code that opens the DuckDB file.

Reads use cursors of the one connection (DuckDB runs them concurrently); every write is a job
for the single :class:`~utmost.store.writer.Writer`. Opening a file creates or upgrades its
schema (:mod:`utmost.store.schema`).

Only the owner may read or write the file and the files beside it (its log, the spill file,
DuckDB's temporary folder): they hold every event, and the hashes of the secrets. DuckDB
creates them itself, the log again after every checkpoint, with the process's umask; so while
any store is open the umask also masks group and other (:class:`_OwnerOnly`), and opening a
file made before that tightens it and its companions to 0600.

The file is attached to an in-memory DuckDB, not opened as its main database, because only
``ATTACH`` takes a row group size (:data:`COLLECTOR_ROW_GROUP_ROWS` says why one would); every
cursor therefore starts with ``USE``.

A store opened to read (``read_only=True``: every command and function that only asks
questions) changes nothing on disk: a missing file, or one that is not a utmost database, is
refused instead of created or given utmost's tables; DuckDB attaches it read-only (it replays
a log left beside it in memory, leaving the log as it is); there is no writer, no spill file,
no migration and no tightening of modes, which wait for the next store opened to write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from utmost.dialect import DUCKDB
from utmost.errors import DatabaseFileError, InputError, UnavailableError, UtmostError
from utmost.ingest.experiments import Experiment
from utmost.ingest.people import Profile
from utmost.ingest.spend import SpendRow
from utmost.store import experiments, files, inserts, profiles, projects, spend
from utmost.store.appender import Appender, Records
from utmost.store.defaults import DEFAULT_PROJECT, default_path
from utmost.store.destinations import open_destination
from utmost.store.export import Exported, export_events
from utmost.store.projects import Project, ServiceAccount
from utmost.store.schema import MIGRATIONS, SCHEMA_VERSION
from utmost.store.inserts import Numbering
from utmost.store.spill import Spill, SpilledLines
from utmost.store.writer import Writer

T = TypeVar("T")
#: The name the file is attached under.
CATALOG = "utmost"
#: The table only ``utmost demo``'s files hold (:meth:`Store.mark_demo`).
DEMO_TABLE = "demo"
#: Free bytes a full disk must have again before :meth:`Store.write_failure` tries a write: the
#: small write it tries still fitted in the last page of the log on a full tmpfs, where every
#: round of 50 events failed.
ROOM_BYTES = 1 << 20


class Store:
    """An open utmost database file. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        row_group_size: int | None = None,
        *,
        read_only: bool = False,
        create: bool = True,
    ) -> None:
        """``row_group_size``: rows per row group of what this store writes (a multiple of
        2,048; DuckDB's 122,880 if None). It applies to new rows only, and any size reads back.

        ``read_only``: open to read, changing nothing on disk (the module says what that
        means); raises :class:`DatabaseFileError` for a missing file or one that is not a
        utmost database. ``create=False``: open to write, but only a database that exists.
        """
        self.path = Path(path or default_path())
        self.read_only = read_only
        #: How many times a secret or a Mixpanel id was changed through this store: whatever
        #: keeps credentials it checked (the collector) checks them again when this moves.
        self.credentials_changed = 0
        if read_only or not create:
            files.check_readable(self.path)
        options = [f"ROW_GROUP_SIZE {int(row_group_size)}"] if row_group_size is not None else []
        options += ["READ_ONLY"] if read_only else []
        attach = f"ATTACH {DUCKDB.literal(str(self.path))} AS {CATALOG}" + (f" ({', '.join(options)})" if options else "")
        _OwnerOnly.enter()
        try:
            self._con = _open(self.path, attach, read_only)
        except BaseException:
            _OwnerOnly.exit()
            raise
        self._key = projects.credential_key(self._con)
        #: Rounds number events here; whatever else stores events is handed it (:meth:`bulk`).
        self._numbering = Numbering()
        self._writer: Writer | None = None
        self._appender: Appender | None = None
        #: How many deletions this store made: part of the data's version (:meth:`version`).
        self._deletions = 0
        self._deleting = threading.Lock()
        #: Held by the one transaction that may change the derived tables (:meth:`maintaining`),
        #: whose cursor :meth:`close` interrupts (it rolls back: a refresh is redone next time).
        self._maintenance = threading.Lock()
        self._maintained: duckdb.DuckDBPyConnection | None = None
        if read_only:
            return
        spilled = SpilledLines(Spill(Path(f"{self.path}.spill")), self._numbering)
        self._writer = Writer(self._cursor(), wal=Path(f"{self.path}.wal"), spilled=spilled, attach=attach)
        self._appender = Appender(self._writer, spilled, self._numbering, row_group_size or 0)
        self._appender.recover()

    @property
    def _writing(self) -> Writer:
        if self._writer is None:
            raise UtmostError(f"{self.path} is open for reading only")
        return self._writer

    @property
    def _appending(self) -> Appender:
        if self._appender is None:
            raise UtmostError(f"{self.path} is open for reading only")
        return self._appender

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        # A refresh is interrupted until it has rolled back: DuckDB forgets an interrupt that
        # lands between two of its queries, and the refresh would then run on to its end.
        while not self._maintenance.acquire(timeout=0.01):
            maintained = self._maintained
            if maintained is not None:
                maintained.interrupt()
        self._maintenance.release()
        if self._writer is not None and self._appender is not None:
            self._writer.close()
            self._appender.spilled.file.close()
        # Drop the Python function from the database before Python shuts down: a reader cursor
        # that outlives the store would otherwise free it during interpreter finalisation,
        # which aborts the process (seen as SIGABRT after SIGTERM).
        inserts.unregister_functions(self._con)
        self._con.close()
        _OwnerOnly.exit()

    def write_failure(self) -> str | None:
        """Why writes fail (a full disk), or None if they succeed. While they fail, once the
        disk has ``ROOM_BYTES`` free this tries a write, so that the answer changes with no
        traffic."""
        if self._writer is None:
            return None
        if self._writer.failure is not None and shutil.disk_usage(self.path.parent).free >= ROOM_BYTES:
            with contextlib.suppress(UnavailableError):
                self._writer.run(_try_write)
        return self._writer.failure

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A cursor for reading; cheap, and safe to use beside the writer.

        Every event answered before the call is readable through it: events spilled during
        a checkpoint (:mod:`utmost.store.spill`) are moved in first.
        """
        if self._appender is not None:
            self._appender.settle()
        return self._cursor()

    @contextlib.contextmanager
    def maintaining(self, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor in a transaction of its own, for the derived tables (migration 8), one such
        transaction at a time: committed when the block ends, rolled back if it raises.
        ``memory_limit`` bounds DuckDB meanwhile (it spills the rest to its temporary folder).

        Not a job for the writer: a refresh takes up to seconds, and the collector's rounds
        must not wait for it. It changes only the derived tables, which no writer job
        touches, so the two never conflict; a checkpoint meanwhile waits for the next one.
        """
        if self.read_only:
            raise UtmostError(f"{self.path} is open for reading only")
        with self._maintenance:
            cursor = self._maintained = self.reader()
            if memory_limit is not None:
                cursor.execute(f"SET memory_limit = {DUCKDB.literal(memory_limit)}")
            try:
                cursor.execute("BEGIN TRANSACTION")
                try:
                    yield cursor
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
            finally:
                self._maintained = None
                if memory_limit is not None:
                    cursor.execute("RESET memory_limit")  # DuckDB's default, as the importer leaves it
                cursor.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = self._con.cursor()
        cursor.execute(f"USE {CATALOG}")
        return cursor

    # Projects

    def project(self, name: str = DEFAULT_PROJECT) -> Project:
        """The named project; ``default`` is created on first use (by a store open to write),
        others must exist."""
        return self.open_project(name)[0]

    def open_project(self, name: str = DEFAULT_PROJECT) -> tuple[Project, bool]:
        """The named project as :meth:`project` finds it, and whether this call created it:
        who creates a project unasked says so, since its secret is then known to no one."""
        found = projects.find_project(self.reader(), name)
        if found:
            return found, False
        if name != DEFAULT_PROJECT or self.read_only:
            raise projects.unknown_project(self.reader(), name)
        created: list[bool] = []

        def find_or_create(con: duckdb.DuckDBPyConnection) -> Project:
            existing = projects.find_project(con, name)
            created.append(existing is None)
            return existing or projects.insert_project(con, self._key, name)

        return self._writing.run(find_or_create), created[0]

    def create_project(
        self, name: str, token: str | None = None, secret: str | None = None, mixpanel_id: str | int | None = None
    ) -> Project:
        """The new project, holding its secret: the only time it is known (the file keeps a hash).

        ``mixpanel_id``: the numeric id the project had at Mixpanel, which ``?project_id=`` may give.
        """
        number = None if mixpanel_id is None else projects.mixpanel_id_of(mixpanel_id)
        return self._writing.run(lambda con: projects.insert_project(con, self._key, name, token, secret, number))

    def set_mixpanel_id(self, name: str, mixpanel_id: str | int) -> Project:
        """Give project ``name`` the numeric id it had at Mixpanel; the project as it now is."""
        number = projects.mixpanel_id_of(mixpanel_id)
        changed = self._writing.run(lambda con: projects.set_mixpanel_id(con, name, number))
        self.credentials_changed += 1  # `/import?project_id=` with the old id names it no more
        return changed

    def rotate_secret(self, name: str) -> Project:
        """Give project ``name`` a new generated secret, returned once (the file keeps its hash).

        The old one stops working at once: for ``/import`` (:attr:`credentials_changed` tells the
        collector), the query API, and the dashboard's sessions signed in with it.
        """
        rotated = self._writing.run(lambda con: projects.rotate_secret(con, self._key, name))
        self.credentials_changed += 1
        return rotated

    def projects(self) -> list[Project]:
        return projects.list_projects(self.reader())

    def project_by(self, credential: str, value: str) -> Project | None:
        """The project whose ``token`` or ``secret`` is ``value``, if any."""
        if credential == "token":
            return projects.find_project_by_token(self.reader(), value)
        if credential == "secret":
            return projects.find_project_by_secret(self.reader(), self._key, value)
        raise ValueError(credential)

    def create_service_account(
        self, project: str, username: str | None = None, secret: str | None = None
    ) -> ServiceAccount:
        """The new account, holding its secret: the only time it is known (the file keeps a hash)."""
        return self._writing.run(
            lambda con: projects.insert_service_account(con, self._key, project, username, secret)
        )

    def service_account(self, username: str, secret: str) -> ServiceAccount | None:
        """The service account ``username`` if ``secret`` is its secret, else None."""
        return projects.verify_service_account(self.reader(), self._key, username, secret)

    def channel_rules(self, project: str) -> tuple[str, str] | None:
        """The (file name, text) of the project's own channel rules, None if it has none."""
        found = self.reader().execute("SELECT name, rules FROM channel_rules WHERE project = ?", [project]).fetchall()
        return (found[0][0], found[0][1]) if found else None

    def set_channel_rules(self, project: str, rules: tuple[str, str] | None) -> None:
        """Keep (file name, text) as the project's channel rules, or drop them (None)."""

        def keep(con: duckdb.DuckDBPyConnection) -> None:  # one transaction, as every writer job
            con.execute("DELETE FROM channel_rules WHERE project = ?", [project])
            if rules is not None:
                con.execute("INSERT INTO channel_rules (project, name, rules) VALUES (?, ?, ?)", [project, *rules])

        self._writing.run(keep)

    def key_events(self, project: str) -> list[str]:
        """The project's key events, whose credit the store keeps (docs/semantics.md §19), sorted."""
        found = self.reader().execute("SELECT event FROM key_events WHERE project = ? ORDER BY event", [project])
        return [row[0] for row in found.fetchall()]

    def set_key_events(self, project: str, events: list[str]) -> None:
        """Make ``events`` the project's key events (an empty list: none)."""

        def keep(con: duckdb.DuckDBPyConnection) -> None:
            con.execute("DELETE FROM key_events WHERE project = ?", [project])
            for event in sorted(set(events)):
                con.execute("INSERT INTO key_events (project, event) VALUES (?, ?)", [project, event])

        self._writing.run(keep)

    # Events

    def insert_lines(self, project: str, lines: pa.Table) -> Future[inserts.IngestResult]:
        """Queue the valid, new events of raw JSON ``lines(lineno, line)`` for storing.

        The future resolves once they are committed to the file.
        """
        return self._writing.submit(lambda con: inserts.insert_lines(con, self._numbering, project, lines))

    def append(self, project: str, lines: pa.Table | Records) -> Future[list[tuple[int, str]]]:
        """Judge and store raw ``lines(lineno, line)``, or parsed records ``[(lineno, record)]``.

        Resolves after the commit, to the rejected lines as ``(lineno, reason)``. Concurrent
        calls share one query and one commit (:mod:`utmost.store.appender`).
        """
        return self._appending.append(project, lines)

    def bulk(self, job: Callable[[duckdb.DuckDBPyConnection, inserts.Numbering], T]) -> T:
        """Run a bulk load on the writer thread: ``job(connection, numbering)`` begins and
        commits its own transactions, and stores events with :mod:`utmost.store.inserts`'
        functions, which take ``numbering`` (or calls ``numbering.forget()`` before storing
        events by SQL of its own)."""
        return self._writing.run_bulk(lambda con: job(con, self._numbering))

    def check_lines(self, project: str, lines: pa.Table) -> inserts.IngestResult:
        """Validate raw lines without storing anything."""
        return inserts.check_lines(self.reader(), project, lines)

    # Profiles

    def update_profiles(self, kind: str, project: str, updates: Iterable[profiles.Update]) -> int:
        updates = list(updates)
        return self._writing.run(lambda con: profiles.update_profiles(con, kind, project, updates))

    def submit_profiles(self, kind: str, project: str, updates: list[profiles.Update]) -> Future[int]:
        """:meth:`update_profiles` without waiting: the future resolves after the commit."""
        return self._writing.submit(lambda con: profiles.update_profiles(con, kind, project, updates))

    def profile(self, kind: str, project: str, *profile_id: str) -> Profile | None:
        return profiles.read_profile(self.reader(), kind, project, profile_id)

    def delete(self, project: str, seqs: list[int], profile_ids: list[str]) -> tuple[int, int]:
        """Delete the events numbered ``seqs`` and the people profiles of ``profile_ids``, in one
        transaction; returns how many of each. The events leave the file itself at the next
        checkpoint (on closing, or once the writer has been idle a second).

        The derived tables then hold fewer events than they counted, so no question reads them
        until a refresh has taken out the rows of the persons those events belonged to and
        redone those persons (:func:`utmost.engine.maintained.refresh`; ``delete_person`` runs
        it at once)."""
        numbers = pa.table({"seq": pa.array(seqs, pa.int64())})
        ids = pa.table({"id": pa.array(profile_ids, pa.string())})

        def delete(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
            con.register("deleted_seqs", numbers)
            con.register("deleted_profiles", ids)
            try:
                ((events,),) = con.execute(
                    "DELETE FROM events WHERE project = ? AND seq IN (SELECT seq FROM deleted_seqs)", [project]
                ).fetchall()
                ((people,),) = con.execute(
                    "DELETE FROM people WHERE project = ? AND distinct_id IN (SELECT id FROM deleted_profiles)", [project]
                ).fetchall()
            finally:
                con.unregister("deleted_seqs")
                con.unregister("deleted_profiles")
            return events, people

        deleted = self._writing.run(delete)
        with self._deleting:
            self._deletions += 1
        return deleted

    def export_parquet(self, project: str, destination: str | os.PathLike[str]) -> Exported:
        """Bring ``destination`` (a folder, or a URL such as ``s3a://bucket/events``) up to date
        with the project's canonical events as Parquet, one folder per date, rewriting only the
        dates whose events changed since the last export there (:mod:`utmost.store.export`)."""
        return export_events(self.reader(), project, open_destination(str(destination)))

    # Spend

    def store_spend(self, project: str, batches: list[list[SpendRow]], currency: str | None) -> tuple[int, int]:
        """Store each batch of spend rows in turn, in one transaction, replacing the stored rows
        of their keys and days (:func:`utmost.store.spend.replace_spend`): (stored, replaced)."""
        return self._writing.run(lambda con: spend.replace_spend(con, project, batches, currency))

    def spend_currency(self, project: str) -> str | None:
        """The currency of ``project``'s spend, or None while none was given."""
        return spend.project_currency(self.reader(), project)

    def spend(self, project: str) -> pa.Table:
        """``project``'s spend rows: date, utm_source, utm_medium, utm_campaign, cost, currency."""
        return spend.read_spend(self.reader(), project)

    def spend_totals(self, project: str) -> pa.Table:
        """``project``'s spend per key: cost, first and last day, days, currency."""
        return spend.spend_totals(self.reader(), project)

    # Holdout experiments (docs/semantics.md §19)

    def store_experiments(self, project: str, batches: list[list[Experiment]]) -> tuple[int, int]:
        """Store each batch of experiments in turn, in one transaction, replacing the stored one
        of each key and days (:func:`utmost.store.experiments.replace_experiments`): (stored, replaced)."""
        return self._writing.run(lambda con: experiments.replace_experiments(con, project, batches))

    def experiments(self, project: str) -> pa.Table:
        """``project``'s experiments: properties, key, start, end, the four counts, imported_at."""
        return experiments.read_experiments(self.reader(), project)

    def delete_experiments(self, project: str, key: dict[str, str] | None) -> int:
        """Delete ``project``'s experiments of ``key`` (property → value), or all of them (None): how many."""
        return self._writing.run(lambda con: experiments.delete_experiments(con, project, key))

    # What made the file

    def mark_demo(self, seed: int, visitors: int) -> None:
        """Record in the file that ``utmost demo`` made it: the demo replaces no other file.

        A table of its own rather than a migration: only demo files have it.
        """

        def mark(con: duckdb.DuckDBPyConnection) -> None:
            con.execute(f"CREATE TABLE IF NOT EXISTS {DEMO_TABLE} (seed BIGINT, visitors BIGINT, "
                        "made_at TIMESTAMP NOT NULL DEFAULT current_timestamp)")
            con.execute(f"INSERT INTO {DEMO_TABLE} (seed, visitors) VALUES (?, ?)", [seed, visitors])

        self._writing.run(mark)

    def is_demo(self) -> bool:
        """Whether ``utmost demo`` made this file (:meth:`mark_demo`)."""
        return _has_table(self.reader(), DEMO_TABLE)

    # Summaries

    def version(self) -> tuple[int, int]:
        """The data's version: the newest event's ``seq`` in any project (0 when empty), and
        how many deletions this store has made (a deletion leaves the newest ``seq`` as it was)."""
        ((seq,),) = self.reader().execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()
        return seq, self._deletions

    def event_counts(self, project: str) -> list[tuple[str, int]]:
        """Every event name of ``project`` with its count, most frequent first."""
        return self.reader().execute(
            "SELECT event, count(*) AS events FROM events WHERE project = ? GROUP BY event ORDER BY events DESC, event",
            [project],
        ).fetchall()

    def property_names(self, project: str, newest: int) -> list[str]:
        """The property names found on the ``newest`` events of ``project``, sorted."""
        cursor = self.reader().execute(
            "SELECT DISTINCT unnest(json_keys(properties)) AS name FROM "
            "(SELECT properties FROM events WHERE project = ? ORDER BY seq DESC LIMIT ?) ORDER BY name",
            [project, newest],
        )
        return [name for (name,) in cursor.fetchall()]

    def summary(self, project: str) -> dict[str, Any]:
        """Counts that say what a project holds, for `utmost demo` and `utmost status`."""
        con = self.reader()
        ((events, persons, first, last, landings),) = con.execute(
            "SELECT count(*), count(DISTINCT distinct_id), min(time), max(time),"
            " count(*) FILTER (utm_source IS NOT NULL) FROM events WHERE project = ?",
            [project],
        ).fetchall()
        top = con.execute(
            "SELECT event, count(*) AS n FROM events WHERE project = ? GROUP BY event ORDER BY n DESC, event LIMIT 8",
            [project],
        ).fetchall()
        ((people,),) = con.execute("SELECT count(*) FROM people WHERE project = ?", [project]).fetchall()
        return {
            "events": events,
            "distinct_ids": persons,
            "first": first,
            "last": last,
            "utm_landings": landings,
            "profiles": people,
            "top_events": top,
        }


def discard_demo(path: str | os.PathLike[str]) -> None:
    """Delete the demo database at ``path`` and the files beside it, for a fresh demo.

    Refuses (:class:`DatabaseFileError`, nothing deleted) a file the demo did not make, and one
    any running process holds: a server writing to it, or a reader. A log or spill file with no
    database beside it is refused too, since a new database would read it as its own.
    """
    path = Path(path)
    beside = [each for each in files.companions(path) if each.exists()]
    if not path.exists():
        if beside:
            raise DatabaseFileError(beside[0], f"left without {path}; remove it, or use another file")
        return
    with Store(path, read_only=True) as old:  # refuses a file that is not utmost's, or held to write
        made_by_demo = old.is_demo()
    if not made_by_demo:
        raise DatabaseFileError(path, "not a demo database; `utmost demo` replaces only one it made (choose another --db)")
    _check_unheld(path)
    for each in (path, *beside):
        each.unlink(missing_ok=True)


def _check_unheld(path: Path) -> None:
    """Raise if any process holds ``path``: attaching to write needs the only lock on it."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH {DUCKDB.literal(str(path))} AS held")
        con.execute("DETACH held")
    except duckdb.Error as error:
        raise files.held_error(path, str(error)) or DatabaseFileError(path, f"cannot open: {error}") from None
    finally:
        con.close()


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?", [CATALOG, name]
    ).fetchall()
    return found[0][0] > 0


def _try_write(con: duckdb.DuckDBPyConnection) -> None:
    """A write that changes nothing, so that its commit goes to the log (and can fail)."""
    con.execute("UPDATE schema_version SET version = version")


def compact(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Rewrite the database file with only what it holds now; returns its size before and after.

    A checkpoint frees the blocks of deleted rows but leaves their bytes in the file until
    DuckDB reuses the blocks (seen: a deleted person's property still readable in the file
    after a checkpoint). A copy of every table into a new file, put in the old one's place,
    keeps nothing of them. The file must not be open anywhere else (DuckDB's lock says so).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    with Store(path):  # brings the schema up to date, and moves in what a crash left in the log
        pass
    before = path.stat().st_size
    copy = path.with_name(path.name + ".compacting")
    copy.unlink(missing_ok=True)
    _OwnerOnly.enter()
    try:
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"ATTACH {DUCKDB.literal(str(path))} AS old (READ_ONLY)")
            con.execute(f"ATTACH {DUCKDB.literal(str(copy))} AS new")
            con.execute("COPY FROM DATABASE old TO new")
        except duckdb.Error as error:
            raise UtmostError(f"cannot compact {path}: {error}") from None
        finally:
            con.close()
        os.replace(copy, path)
    finally:
        copy.unlink(missing_ok=True)
        _OwnerOnly.exit()
    return before, path.stat().st_size


class _OwnerOnly:
    """Keeps the process umask masking group and other while any store is open.

    The umask is the process's: files any thread creates meanwhile are owner-only too (a
    Parquet export included), which errs on the private side. Each store opening masks them
    again (in case the umask was changed since); the last one to close restores the umask the
    first one found.
    """

    _lock = threading.Lock()
    _open = 0
    _found = 0

    @classmethod
    def enter(cls) -> None:
        with cls._lock:
            found = os.umask(0o077)
            os.umask(found | 0o077)
            if cls._open == 0:
                cls._found = found
            cls._open += 1

    @classmethod
    def exit(cls) -> None:
        with cls._lock:
            cls._open -= 1
            if cls._open == 0:
                os.umask(cls._found)


def _tighten(path: Path) -> None:
    """Make the file and its companions, if they exist, readable by their owner only: files
    made before utmost created them 0600 were world-readable. Another user's file is left
    as it is (only its owner may change its mode)."""
    for each in (path, Path(f"{path}.wal"), Path(f"{path}.spill"), Path(f"{path}.spill.wal")):
        try:
            if each.stat().st_mode & 0o077:
                each.chmod(0o600)
        except (FileNotFoundError, PermissionError):
            pass


def _open(path: Path, attach: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the file attached (``attach``), its schema up to date (or,
    ``read_only``, checked to be)."""
    if not read_only:
        if path.is_file() and path.stat().st_size and not files.is_duckdb_file(path):
            raise DatabaseFileError(path, "not a utmost database (not a DuckDB file)")
    con = duckdb.connect(":memory:")
    try:
        try:
            con.execute(attach)
        except duckdb.Error as error:
            raise files.held_error(path, str(error)) or UtmostError(f"cannot open {path}: {error}") from None
        con.execute(f"USE {CATALOG}")
        # Where DuckDB spills what does not fit in memory: beside the file, as for a file it
        # opens itself (an in-memory database would spill to .tmp in the working directory).
        con.execute(f"SET temp_directory = {DUCKDB.literal(f'{path}.tmp')}")
        inserts.register_functions(con)
        if read_only:
            _check_schema(con, path)
        else:
            _migrate(con, path)  # first: it refuses a file of someone else's, whose modes stay
            _tighten(path)
    except BaseException:
        con.close()
        raise
    return con


def _schema_version(con: duckdb.DuckDBPyConnection, path: Path) -> int | None:
    """The file's schema version; None for a new, empty file. Refuses a newer one, and a
    DuckDB file of someone else's (tables, but not utmost's), which utmost neither reads nor
    fills with its own tables."""
    if not _has_table(con, "schema_version"):
        ((tables,),) = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ?", [CATALOG]).fetchall()
        if tables:
            raise DatabaseFileError(path, "not a utmost database (a DuckDB file with other tables)")
        return None
    ((current,),) = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()
    if current > SCHEMA_VERSION:
        raise UtmostError(
            f"{path} has schema version {current}; this utmost knows up to {SCHEMA_VERSION}: upgrade utmost"
        )
    return current


def _check_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """For reading: the file must be a utmost database at this utmost's schema version."""
    current = _schema_version(con, path)
    if current is None:
        raise DatabaseFileError(path, "not a utmost database (an empty DuckDB file)")
    if current < SCHEMA_VERSION:
        raise DatabaseFileError(
            path, f"schema version {current}, older than this utmost's {SCHEMA_VERSION}; a command that"
                  " writes (`utmost import`, `utmost serve`) upgrades it in place"
        )


def _migrate(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    current = _schema_version(con, path)
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    current = current or 0
    for version in range(current + 1, SCHEMA_VERSION + 1):
        con.begin()
        for step in MIGRATIONS[version - 1]:
            if isinstance(step, str):
                con.execute(step)
            else:
                step(con)
        con.execute("INSERT INTO schema_version VALUES (?)", [version])
        con.commit()
