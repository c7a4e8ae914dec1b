"""The single writer: every change to the database goes through one thread.

DuckDB allows one writing process and serialises writers anyway; funnelling writes through
one queue lets concurrent callers (import chunks now, collector requests later) share one
transaction per round — group commit — so each caller waits for one fsync, not a queue of
them, and a caller's ``result()`` returns only once its rows are committed to the file.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import duckdb

T = TypeVar("T")
Job = Callable[[duckdb.DuckDBPyConnection], T]

#: At most this many queued jobs share one transaction.
MAX_GROUP = 64
#: Write-ahead log size at which DuckDB checkpoints during a commit (its default is 16 MB).
#: A checkpoint stalls every writer for 50–300 ms, so while requests keep coming the log may
#: grow this far; the writer checkpoints itself once it has been idle for ``IDLE_SECONDS``.
CHECKPOINT_THRESHOLD = "256MB"
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
_STOP = object()


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
    """Runs submitted jobs on its own connection, committing them in groups."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._con = connection
        self._set_threshold(CHECKPOINT_THRESHOLD)
        #: Whether anything was committed since the last checkpoint.
        self._dirty = False
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

    def close(self) -> None:
        """Finish the queued jobs, then stop the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _loop(self) -> None:
        while True:
            try:
                group = [self._queue.get(timeout=IDLE_SECONDS if self._dirty else None)]
            except queue.Empty:
                self._checkpoint()
                continue
            while len(group) < MAX_GROUP and not self._queue.empty():
                group.append(self._queue.get_nowait())
            stop = any(item is _STOP for item in group)
            self._commit([item for item in group if item is not _STOP])
            if stop:
                return

    def _commit(self, group: list[tuple[Job[Any], Future[Any]]]) -> None:
        bulk = [item for item in group if isinstance(item[0], _Bulk)]
        group = [item for item in group if not isinstance(item[0], _Bulk)]
        for job, future in bulk:
            self._set_threshold(BULK_CHECKPOINT_THRESHOLD)
            try:
                result = job(self._con)
            except Exception as error:
                _rollback_if_open(self._con)
                self._set_threshold(CHECKPOINT_THRESHOLD)
                future.set_exception(error)
                continue
            self._set_threshold(CHECKPOINT_THRESHOLD)  # before the caller wakes
            future.set_result(result)
        if not group:
            return
        try:
            self._con.begin()
            results = [job(self._con) for job, _ in group]
            self._con.commit()
        except Exception as error:
            self._con.rollback()
            if len(group) > 1:
                # One bad job must not fail its neighbours: retry each in its own transaction.
                for item in group:
                    self._commit([item])
                return
            _, future = group[0]
            future.set_exception(error)
            return
        self._dirty = True
        for (_, future), result in zip(group, results):
            future.set_result(result)

    def _set_threshold(self, size: str) -> None:
        self._con.execute(f"SET checkpoint_threshold = '{size}'")

    def _checkpoint(self) -> None:
        """Move the write-ahead log into the file while nothing waits."""
        self._dirty = False
        try:
            self._con.execute("CHECKPOINT")
        except duckdb.Error:
            pass  # another connection holds a transaction open: the next idle moment will do



class _Bulk:
    """Marks a job that manages its own transactions."""

    def __init__(self, job: Job[Any]) -> None:
        self._job = job

    def __call__(self, connection: duckdb.DuckDBPyConnection) -> Any:
        return self._job(connection)


def _rollback_if_open(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.rollback()
    except duckdb.TransactionException:
        pass  # no transaction was open
