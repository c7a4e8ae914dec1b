"""The single writer: every change to the database goes through one thread.

DuckDB allows one writing process and serialises writers anyway; funnelling writes through
one queue lets concurrent callers (import chunks now, collector requests later) share one
transaction per round — group commit — so each caller waits for one fsync, not a queue of
them, and a caller's ``result()`` returns only once its rows are committed to the file.

A checkpoint (moving the write-ahead log into the file) holds every commit for its whole
length, ~0.5 s at 256 MB of log. So the writer runs it on a thread of its own and, meanwhile,
lets jobs that can (:class:`Spillable`, the collector's rounds) store their rows in another
file and answer; other jobs, and every job after the first of them, wait (a read's
:meth:`Writer.barrier` waits too, but holds up no job behind it). Once it ends, what
they spilled (:class:`Spilled`) moves in, in short steps (moving the spilled rows in, a chunk a transaction)
on a thread and connection of its own while the jobs keep spilling, so no answer waits for all
of it; once little is left, the writer runs the rest itself, then the jobs that waited, in the
order they came.

A write can fail for a reason of the machine's: a full disk fails a commit (DuckDB then has no
transaction left to roll back), and a failed checkpoint invalidates the attached file until it
is detached and attached again (DuckDB 1.x/2.0, seen on a full tmpfs). The writer then fails
the group's jobs with :class:`~utmost.errors.UnavailableError`, nothing of them committed,
attaches the file again if it must, and keeps taking jobs: each later group tries again, so
writing resumes by itself once there is room (``failure`` says why it last failed, until a
commit succeeds).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import duckdb

from utmost.dialect import DUCKDB
from utmost.errors import UnavailableError

T = TypeVar("T")
log = logging.getLogger("utmost.store")
Job = Callable[[duckdb.DuckDBPyConnection], T]

#: At most this many queued jobs share one transaction.
MAX_GROUP = 64
#: Write-ahead log size at which the writer checkpoints, on a thread of its own (DuckDB's
#: default is 16 MB, at a commit): while requests keep coming the log may grow this far, as
#: smaller checkpoints cost more in all (at 200 /track requests a second over 45 s, p99 1.2 s
#: at 16 MB, 0.78 s at 64, 0.35 s at 256, with DuckDB checkpointing at commits). The writer
#: also checkpoints once it has been idle for ``IDLE_SECONDS``.
CHECKPOINT_BYTES = 256 * 1024 * 1024
#: DuckDB's own threshold meanwhile, never reached first: no commit checkpoints by itself.
CHECKPOINT_THRESHOLD = "1000GB"
#: Bulk loads keep DuckDB's own threshold: their large commits checkpoint as they go (held
#: back, a 5M-event import grew to 4 GiB instead of 1; an explicit CHECKPOINT after each
#: commit held 1.8 GiB).
BULK_CHECKPOINT_THRESHOLD = "16MB"
IDLE_SECONDS = 1.0
#: The interpreter's switch interval while the writer works beside busy Python threads (its
#: default is 5 ms). DuckDB's client takes the interpreter lock between the tasks of every
#: query, so each task can wait a whole interval for a thread decoding JSON:
#: - an import's duplicate check took 1.1 s a million events against 1.6-1.8 s;
#: - ``utmost serve`` took 500k events by ``/import`` at 85k and 82k events/s against 74k
#:   and 78k (alternating runs).
SWITCH_INTERVAL = 0.0005
#: What a job that failed to be written tells its caller to wait before trying again: a disk
#: fills up for minutes, not milliseconds, and each try costs a request.
RETRY_AFTER_SECONDS = 5
_STOP = object()
#: Queued by a checkpoint as it ends, so that the writer wakes to finish after it.
_WAKE = object()
#: Queued by the mover as it ends.
_MOVED = object()


@runtime_checkable
class Spillable(Protocol):
    """A job that can store its rows elsewhere while the file checkpoints."""

    def spill(self, connection: duckdb.DuckDBPyConnection) -> bool:
        """Store the rows apart and be done (True), or leave them for the job itself (False).

        ``connection`` may be read, not written: the file is checkpointing.
        """


class Spilled(Protocol):
    """What :class:`Spillable` jobs stored elsewhere during a checkpoint, to be moved in after it."""

    def move(self, connection: duckdb.DuckDBPyConnection) -> Callable[[], None] | None:
        """Store the next few in ``connection``'s open transaction: one step. Returns what to
        call once that step is committed, or None when nothing was left."""

    def far_behind(self) -> bool:
        """Whether so much is left that the steps should run beside the jobs (which keep
        spilling) rather than on the writer's thread, with every job waiting."""


@contextlib.contextmanager
def quick_handover() -> Iterator[None]:
    """Run the block with the interpreter's switch interval at ``SWITCH_INTERVAL``."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


class Writer:
    """Runs submitted jobs on its own connection, committing them in groups.

    ``wal``: the file's write-ahead log, whose size tells when to checkpoint.
    ``spilled``: where :class:`Spillable` jobs spill; after a checkpoint during which one did,
    it is moved in by steps (each its own transaction) until none is left. The steps run on a
    thread and connection of their own, beside the jobs, which keep spilling, while
    :meth:`Spilled.far_behind`; the rest run on the writer's thread, with nothing spilling and
    every job waiting. Without it, no job spills.
    ``attach``: the statement that attaches the file again once DuckDB invalidated it.
    """

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        wal: Path | None = None,
        spilled: Spilled | None = None,
        attach: str | None = None,
    ) -> None:
        self._con = connection
        #: The database the connection uses, which the checkpoint's own connection must use.
        ((self._database,),) = connection.execute("SELECT current_database()").fetchall()
        self._set_threshold(CHECKPOINT_THRESHOLD)
        self._wal = wal
        self._spilled_to = spilled
        self._attach = attach
        #: Why the last write failed, until a commit succeeds (read on any thread).
        self.failure: str | None = None
        #: The error the last checkpoint failed with, if it did (set on its thread).
        self._checkpoint_error: duckdb.Error | None = None
        #: Whether anything was committed since the last checkpoint.
        self._dirty = False
        #: The checkpoint running on its own thread, if any; whether a job spilled during it;
        #: the thread moving the spilled rows in, if any; the jobs waiting for all that to end.
        self._checkpointing: threading.Thread | None = None
        self._spilled = False
        self._mover: threading.Thread | None = None
        self._waiting: list[tuple[Job[Any], Future[Any]]] = []
        #: The barriers that came meanwhile: they run with the jobs that waited.
        self._barriers: list[tuple[Job[Any], Future[Any]]] = []
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="utmost-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Job[T]) -> Future[T]:
        """Queue ``job(connection)``; its future resolves after the commit that includes it."""
        future: Future[T] = Future()
        self._queue.put((job, future))
        return future

    def run(self, job: Job[T]) -> T:
        """Run ``job`` and wait for its commit; its exception, if any, is raised here."""
        return self.submit(job).result()

    def run_bulk(self, job: Job[T]) -> T:
        """Run ``job`` alone on the writer thread, managing its own transactions.

        For bulk loads: committing every row group's worth of rows lets DuckDB write them
        straight to the file instead of through the WAL, several times faster than one
        small transaction per chunk. Other jobs wait meanwhile.
        """
        future: Future[T] = Future()
        self._queue.put((_Bulk(job), future))
        return future.result()

    def barrier(self) -> None:
        """Return once the jobs queued before have run, and spilled rows are moved in.

        While the file checkpoints or the spilled rows move in, the jobs queued after it do
        not wait for it: they keep spilling. A read after a checkpoint once held every round
        until the moves were done (at 200 /track requests a second, 200-350 ms with no answer)."""
        self.run(_nothing)

    def on_thread(self) -> bool:
        """Whether the caller runs on the writer's thread (inside a job)."""
        return threading.current_thread() is self._thread

    def close(self) -> None:
        """Finish the queued jobs, then stop the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _loop(self) -> None:
        while True:
            idle = self._dirty and self._checkpointing is None and self._mover is None
            try:
                group = [self._queue.get(timeout=IDLE_SECONDS if idle else None)]
            except queue.Empty:
                if self.failure is None:
                    self._start_checkpoint()
                else:
                    self._dirty = False  # the next commit, once writes succeed, makes it dirty again
                continue
            while len(group) < MAX_GROUP and not self._queue.empty():
                group.append(self._queue.get_nowait())
            stop = any(item is _STOP for item in group)
            jobs = [item for item in group if not any(item is marker for marker in (_STOP, _WAKE, _MOVED))]
            if self._checkpointing is not None and (stop or any(item is _WAKE for item in group)):
                self._checkpointing.join()  # ended, or stopping: let it end
                self._checkpointing, spilled, self._spilled = None, self._spilled, False
                if self._checkpoint_error is not None:  # the file may be invalidated: attach it again
                    self._failed(self._checkpoint_error)
                    self._checkpoint_error = None
                if spilled and self._spilled_to is not None and self.failure is None:
                    self._start_mover(self._spilled_to)
                else:
                    self._run_waiting()
            if self._mover is not None and (stop or any(item is _MOVED for item in group)):
                self._finish_moving()
            if stop:
                self._commit(jobs)
                return
            if self._checkpointing is not None or self._mover is not None:
                self._set_aside(jobs)
                continue
            self._commit(jobs)
            if self.failure is None and self._log_bytes() >= CHECKPOINT_BYTES:
                self._start_checkpoint()

    def _log_bytes(self) -> int:
        return self._wal.stat().st_size if self._wal is not None and self._wal.exists() else 0

    def _set_aside(self, jobs: list[tuple[Job[Any], Future[Any]]]) -> None:
        """While the file checkpoints, or the spilled rows move in: spill what can be, in
        order; the rest waits, and so does every job after the first that waits. A barrier
        waits apart, and runs after them."""
        for job, future in jobs:
            if job is _nothing:
                self._barriers.append((job, future))
                continue
            if not self._waiting and self._spilled_to is not None and isinstance(job, Spillable):
                try:
                    spilled = job.spill(self._con)
                except Exception as error:  # the job itself will do, once the spill is moved in
                    _report(f"cannot spill while checkpointing: {error}")
                    spilled = False
                if spilled:
                    self._spilled = True
                    future.set_result(None)
                    continue
            self._waiting.append((job, future))

    def _start_checkpoint(self) -> None:
        """Checkpoint on a thread of its own; it queues a wake-up as it ends."""
        self._dirty = False
        connection = self._own_connection()

        def run() -> None:
            try:
                _checkpoint(connection)
            except duckdb.Error as error:
                self._checkpoint_error = error
            finally:
                connection.close()
                self._queue.put(_WAKE)

        self._checkpointing = threading.Thread(target=run, name="utmost-checkpoint", daemon=True)
        self._checkpointing.start()

    def _start_mover(self, spilled: Spilled) -> None:
        """Move ``spilled`` in by steps on a thread and connection of their own while it is far behind,
        as this thread keeps spilling: a request then waits for a round, not for a move (a
        1,000-line move takes ~20 ms). Only the moves write to the file meanwhile. It queues a
        wake-up as it ends."""
        connection = self._own_connection()

        def run() -> None:
            try:
                _all_steps(connection, spilled.move, spilled.far_behind)
            finally:
                connection.close()
                self._queue.put(_MOVED)

        self._mover = threading.Thread(target=run, name="utmost-mover", daemon=True)
        self._mover.start()

    def _finish_moving(self) -> None:
        """Once the mover ends: move here what it left, then run the jobs that waited
        (nothing spills meanwhile, as this thread is busy)."""
        assert self._mover is not None and self._spilled_to is not None
        self._mover.join()
        self._mover = None
        self._dirty = True
        _all_steps(self._con, self._spilled_to.move)
        self._run_waiting()

    def _own_connection(self) -> duckdb.DuckDBPyConnection:
        connection = self._con.cursor()
        connection.execute(f"USE {DUCKDB.identifier(self._database)}")
        return connection

    def _run_waiting(self) -> None:
        waiting, self._waiting, self._barriers = self._waiting + self._barriers, [], []
        if waiting:
            self._commit(waiting)

    def _commit(self, group: list[tuple[Job[Any], Future[Any]]]) -> None:
        for item in group:
            if isinstance(item[0], _Bulk):
                self._run_bulk(*item)
        group = [item for item in group if not isinstance(item[0], _Bulk)]
        if not group:
            return
        if self.failure is not None and not self._usable():
            self._refuse(group)
            return
        try:
            self._con.begin()
            results = [job(self._con) for job, _ in group]
        except Exception as error:
            _rollback_if_open(self._con)
            self._job_failed(group, error)
            return
        try:
            self._con.commit()
        except Exception as error:  # nothing of the group is committed
            _rollback_if_open(self._con)
            self._failed(error)
            self._refuse(group)
            return
        recovered = self.failure is not None and any(job is not _nothing for job, _ in group)
        if recovered:  # a barrier's empty commit succeeds on a full disk too
            self.failure = None
        self._dirty = True
        for (_, future), result in zip(group, results):
            future.set_result(result)
        if recovered and self._spilled_to is not None:
            _all_steps(self._con, self._spilled_to.move)  # lines a failed move left spilled

    def _job_failed(self, group: list[tuple[Job[Any], Future[Any]]], error: Exception) -> None:
        """A job raised: a write failure refuses the group; a job's own error fails that job."""
        if _is_write_failure(error):
            self._failed(error)
            self._refuse(group)
        elif len(group) > 1:
            # One bad job must not fail its neighbours: retry each in its own transaction.
            for item in group:
                self._commit([item])
        else:
            group[0][1].set_exception(error)

    def _run_bulk(self, job: Job[Any], future: Future[Any]) -> None:
        result, error = None, None
        try:
            self._set_threshold(BULK_CHECKPOINT_THRESHOLD)
            result = job(self._con)
        except Exception as failure:
            error = failure
            _rollback_if_open(self._con)
            if _is_write_failure(failure):
                self._failed(failure)
        with contextlib.suppress(duckdb.Error):  # an invalidated file refuses even settings
            self._set_threshold(CHECKPOINT_THRESHOLD)  # before the caller wakes
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def _failed(self, error: BaseException) -> None:
        """Note a write failure (said once while it lasts), and attach the file again if
        DuckDB invalidated it, so that the next group can try."""
        if self.failure is None:
            _report(f"writes fail, refused until one succeeds: {error}")
        self.failure = str(error).splitlines()[0] or type(error).__name__
        self._usable()

    def _refuse(self, group: list[tuple[Job[Any], Future[Any]]]) -> None:
        for _, future in group:
            future.set_exception(UnavailableError(self.failure or "", RETRY_AFTER_SECONDS))

    def _usable(self) -> bool:
        """Whether the file can be used, once attached again if it had been invalidated."""
        try:
            self._con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ?", [self._database])
            return True
        except duckdb.Error:
            pass
        if self._attach is None:
            return False
        cursor = None
        try:
            cursor = self._con.cursor()  # a connection of its own: the writer's uses the file
            with contextlib.suppress(duckdb.Error):  # it may detach it, then fail to checkpoint it
                cursor.execute(f"DETACH {DUCKDB.identifier(self._database)}")
            cursor.execute(self._attach)
            return True
        except duckdb.Error as error:
            _report(f"cannot attach {self._database} again: {error}")
            return False
        finally:
            if cursor is not None:
                cursor.close()

    def _set_threshold(self, size: str) -> None:
        self._con.execute(f"SET checkpoint_threshold = '{size}'")


def _all_steps(
    connection: duckdb.DuckDBPyConnection,
    step: Callable[[duckdb.DuckDBPyConnection], Callable[[], None] | None],
    ahead: Callable[[], bool] = lambda: True,
) -> None:
    """Run ``step`` in a transaction at a time until it has nothing left or ``ahead()`` is
    false; a failed step ends it (its rows stay spilled, for the next time) and is reported."""
    try:
        while ahead():
            connection.begin()
            try:
                then = step(connection)
                connection.commit()
            except Exception:
                _rollback_if_open(connection)
                raise
            if then is None:
                return
            then()
    except Exception as error:
        _report(f"moving spilled rows in: {error}")


def _report(message: str) -> None:
    """Log what went wrong. A handler that cannot write (on a full disk the log may be full
    too) is logging's own affair: it never raises into the writer."""
    log.error(message)


def _nothing(connection: duckdb.DuckDBPyConnection) -> None:
    """A job that does nothing: it waits its turn, as every job not spilled does."""


def _checkpoint(connection: duckdb.DuckDBPyConnection) -> None:
    """Move the write-ahead log into the file; raise if that failed to write (a full disk)."""
    try:
        connection.execute("CHECKPOINT")
    except duckdb.Error as error:
        if _is_write_failure(error):
            raise
        # else another connection holds a transaction open: the next time will do


def _is_write_failure(error: BaseException) -> bool:
    """Whether ``error`` is the machine's (a file could not be written, or is invalidated by
    that), not a job's own."""
    return isinstance(error, (duckdb.IOException, duckdb.FatalException, OSError))


class _Bulk:
    """Marks a job that manages its own transactions."""

    def __init__(self, job: Job[Any]) -> None:
        self._job = job

    def __call__(self, connection: duckdb.DuckDBPyConnection) -> Any:
        return self._job(connection)


def _rollback_if_open(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.rollback()
    except duckdb.Error:
        pass  # no transaction was open (a failed commit leaves none), or nothing to undo
