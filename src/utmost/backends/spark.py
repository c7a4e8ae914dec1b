"""The engine's Spark backend: the same attribution queries over Parquet, for scale-out.

``utmost export --parquet DIR`` writes the canonical events partitioned by date; a Spark
session (local or a cluster's master URL) reads them back as the ``events`` relation.
PySpark is imported only here and only when asked for, so the embedded default needs no JVM.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from utmost.dialect import SPARK
from utmost.errors import InputError, UtmostError

DEFAULT_MASTER = "local[*]"
#: Spark's setting of how many parts each shuffle (join, window, aggregation) is cut into.
SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
#: Parquet bytes a shuffle partition is sized for: at 100M events (5.4 GB of Parquet) Spark's
#: 1g heap answered with 96 partitions (~56 MB each, two tasks sharing the heap) and ran out
#: of memory with 8; a cluster's one-core executor gives its task twice that share.
PARTITION_BYTES = 64 * 2**20
#: The fewest partitions: a small export's question is quickest in a few.
MIN_PARTITIONS = 8
#: Off for every question, whatever the session was started with. A checkpointed step keeps
#: the constraints of the plan that made it (``isnotnull(seq)``) under that plan's column ids,
#: which a step made from the same columns shares; in a query that reads both, Spark 4.x
#: applied one table's constraint to the other's null-extended side and turned a LEFT JOIN into
#: an inner one (the journeys' lost paths: 15 of 370 on the parity data). The optimiser then
#: infers no ``IS NOT NULL`` filters, which these steps do not need.
CONSTRAINTS = "spark.sql.constraintPropagation.enabled"


def spark_session(master: str | None = DEFAULT_MASTER, conf: dict[str, str] | None = None) -> Any:
    """A Spark session in UTC (timestamps must mean what DuckDB stored), UI off; ``conf``
    (``--spark-conf KEY=VALUE``) is set last, so a cluster's settings can replace these. Its
    shuffle partitions, unless ``conf`` names them, are sized by the events (:class:`SparkBackend`).

    ``master`` None: the one ``spark-submit`` was given, when it started this process (it
    hands the process its JVM's gateway: ``PYSPARK_GATEWAY_PORT``), else ``local[*]``.
    """
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = DEFAULT_MASTER
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UtmostError("the Spark engine needs PySpark: pip install 'utmost[spark]'") from None
    # A local driver listens on loopback only; a cluster master is reached however it says.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder if master is None else SparkSession.builder.master(master)
    builder = (
        builder.appName("utmost")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.ansi.enabled", "false")
    )
    if master is not None and master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        # Local mode runs every task in the driver's JVM, whose default heap (1g) failed at 100M
        # events (``AGGREGATE_OUT_OF_MEMORY``): half the machine (DuckDB's default is 80% of it).
        builder = builder.config("spark.driver.memory", local_memory())
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    # A failed job is reported once, as one line (:func:`_failing`), not by the executors' logs.
    session.sparkContext.setLogLevel("FATAL")
    return session


def local_memory() -> str:
    """Half of this machine's memory in whole GiB (at least 1g): local mode's driver heap."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, total // 2**31)}g"


def parse_spark_conf(settings: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``KEY=VALUE`` settings as a dict, or an :class:`InputError` naming the one that is not.

    >>> parse_spark_conf(["spark.driver.memory=8g", "spark.executor.cores = 2"])
    {'spark.driver.memory': '8g', 'spark.executor.cores': '2'}
    """
    conf = {}
    for setting in settings:
        key, equals, value = setting.partition("=")
        if not equals or not key.strip() or not value.strip():
            raise InputError(f"--spark-conf {setting!r}: expected KEY=VALUE, e.g. spark.driver.memory=8g")
        conf[key.strip()] = value.strip()
    return conf


def shuffle_partitions(parquet_bytes: int) -> int:
    """Shuffle partitions for a question over ``parquet_bytes`` of events: one per
    :data:`PARTITION_BYTES`, at least :data:`MIN_PARTITIONS` (adaptive execution, Spark's
    default, merges the small ones; it never splits one that is too big for its task).

    >>> shuffle_partitions(40_000), shuffle_partitions(5_400_000_000)
    (8, 81)
    """
    return max(MIN_PARTITIONS, -(-parquet_bytes // PARTITION_BYTES))


def _launched_with(session: Any, key: str) -> bool:
    """Whether ``session`` was started with ``key`` set (``--spark-conf``, spark-submit's
    ``--conf``, a cluster's defaults): such a setting is the user's and is kept. True when
    it cannot tell (a remote session without a SparkContext), so nothing is changed then."""
    from pyspark.errors import PySparkException

    try:
        return bool(session.sparkContext.getConf().contains(key))
    except (AttributeError, PySparkException):
        return True


def _size(session: Any, events: str) -> int | None:
    """The bytes under ``events``, by the filesystem Spark reads it with (local, ``s3a://``,
    ``hdfs://``, ``dbfs:/``); None when it cannot tell."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        context = session.sparkContext
        path = context._jvm.org.apache.hadoop.fs.Path(events)
        return int(path.getFileSystem(context._jsc.hadoopConfiguration()).getContentSummary(path).getLength())
    except (AttributeError, Py4JError, PySparkException):
        return None


class SparkBackend:
    dialect = SPARK
    source = "events"
    spend: str | None = None  # the Parquet export holds events only
    derived = False  # nor the store's derived tables
    as_of: int | None = None  # every question reads every exported event

    @staticmethod
    def maintenance(memory_limit: str | None = None) -> None:
        return None

    def __init__(self, session: Any, events: str) -> None:
        from pyspark.errors import AnalysisException

        self._spark = session
        with _failing("reading the events"):
            try:
                frame = session.read.parquet(str(events))
            except AnalysisException as error:  # a missing path, or no Parquet there
                raise InputError(f"--events {events}: cannot read Parquet events: {str(error).splitlines()[0]}") from None
            frame.createOrReplaceTempView(self.source)
            session.conf.set(CONSTRAINTS, "false")
            if not _launched_with(session, SHUFFLE_PARTITIONS):
                size = _size(session, str(events))
                if size is not None:
                    session.conf.set(SHUFFLE_PARTITIONS, str(shuffle_partitions(size)))

    def create(self, name: str, sql: str) -> None:
        # Checkpointing cuts the lineage: label propagation would otherwise grow the plan each round.
        with _failing(name):
            self._spark.sql(sql).localCheckpoint(eager=True).createOrReplaceTempView(name)

    def view(self, name: str, sql: str) -> None:
        with _failing(name):
            self._spark.sql(sql).createOrReplaceTempView(name)

    def put(self, name: str, table: pa.Table) -> None:
        with _failing(name):
            self._spark.createDataFrame(table).localCheckpoint(eager=True).createOrReplaceTempView(name)

    def arrow(self, sql: str) -> pa.Table:
        with _failing("a result"):
            return self._spark.sql(sql).toArrow()

    def scalar(self, sql: str) -> object:
        with _failing("a result"):
            rows = self._spark.sql(sql).collect()
        return rows[0][0] if rows else None

    def close(self) -> None:
        """The session is shared (tests, repeated questions): only the views are dropped."""
        for view in self._spark.catalog.listTables():
            if view.isTemporary:
                self._spark.catalog.dropTempView(view.name)


@contextmanager
def _failing(step: str) -> Iterator[None]:
    """A Spark job that fails (out of memory, a result too large for the driver, a lost
    executor) as one line naming the step and the JVM's first cause, not a Java stack."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        yield
    except (Py4JError, PySparkException) as error:
        raise UtmostError(
            f"the Spark engine failed (step: {step}): {_cause(error)}. If it ran out of memory, give it more "
            "(--spark-conf spark.driver.memory=16g in local mode, spark.executor.memory=8g on a cluster)"
        ) from error  # the CLI shows the line; a program calling the API keeps the Java chain


def _cause(error: Exception) -> str:
    """The first line of the innermost Java exception behind ``error`` (else its own)."""
    found = getattr(error, "java_exception", None)
    try:
        while found is not None and found.getCause() is not None:
            found = found.getCause()
        text = str(found.toString()) if found is not None else str(error)
    except Exception:  # the JVM is gone: what Python was told is all there is
        text = str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
