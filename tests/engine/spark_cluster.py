"""A real standalone Spark cluster on 127.0.0.1, from the installed PySpark's own launcher
(``bin/spark-class``): one master and two workers (the ``spark`` and ``spark_cluster`` fixtures).

Each worker offers two cores and 2 GiB, so that the tests' own session (two one-core 1 GiB
executors, one per worker: ``SESSION_CONF``) leaves room for an application ``spark-submit``
sends beside it. The workers read Parquet from this machine's disk, as a cluster reads a shared
filesystem.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from collector.live import free_port

#: The tests' session takes one core of each worker; ``spark.deploy.spreadOut`` (the default)
#: places its executors on both.
SESSION_CONF = {"spark.cores.max": "2", "spark.executor.cores": "1", "spark.executor.memory": "1g"}


@dataclass(frozen=True)
class Cluster:
    url: str  # spark://127.0.0.1:PORT
    logs: Path  # master.log, worker1.log, worker2.log


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _launch(folder: Path, name: str, *arguments: str) -> subprocess.Popen:
    home = spark_home()
    environment = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    with (folder / f"{name}.log").open("w") as log:  # the process keeps its own copy
        return subprocess.Popen([str(home / "bin" / "spark-class"), *arguments], stdout=log,
                                stderr=subprocess.STDOUT, env=environment, start_new_session=True)


def _wait_for(log: Path, pattern: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and re.search(pattern, log.read_text(errors="replace")):
            return
        time.sleep(0.5)
    raise AssertionError(f"{log.name}: no {pattern!r} within {seconds} s:\n{log.read_text(errors='replace')[-2000:]}")


@contextmanager
def standalone_cluster(folder: Path) -> Iterator[Cluster]:
    """A master and two workers, logging into ``folder``, stopped afterwards."""
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    started = [_launch(folder, "master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                       "--port", str(port), "--webui-port", str(free_port()))]
    try:
        _wait_for(folder / "master.log", "I have been elected leader")
        for worker in (1, 2):
            started.append(_launch(folder, f"worker{worker}", "org.apache.spark.deploy.worker.Worker", url,
                                   "--host", "127.0.0.1", "--cores", "2", "--memory", "2g",
                                   "--webui-port", str(free_port()), "--work-dir", str(folder / f"work{worker}")))
        for worker in (1, 2):
            _wait_for(folder / f"worker{worker}.log", "Successfully registered with master")
        yield Cluster(url, folder)
    finally:
        for process in started:
            os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            process.wait(timeout=60)
