"""The Spark parity suite on a real standalone cluster, not only ``local[*]`` (issue 24).

One master and two workers are started from the installed PySpark's own launcher
(``bin/spark-class``), on 127.0.0.1, and ``tests/engine/test_spark_parity.py`` runs again in a
fresh process whose Spark session is the cluster's (``spark://…``): one SparkContext per
process, so the cluster cannot share this run's local one. The workers read the exported
Parquet from this machine's disk, as a cluster reads a shared filesystem.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pyspark = pytest.importorskip("pyspark")
TESTS = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(folder: Path, name: str, *arguments: str) -> subprocess.Popen:
    home = Path(pyspark.__file__).parent
    environment = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    with (folder / f"{name}.log").open("w") as log:  # the process keeps its own copy
        return subprocess.Popen([str(home / "bin" / "spark-class"), *arguments], stdout=log,
                                stderr=subprocess.STDOUT, env=environment, start_new_session=True)


def wait_for(log: Path, pattern: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and re.search(pattern, log.read_text(errors="replace")):
            return
        time.sleep(0.5)
    raise AssertionError(f"{log.name}: no {pattern!r} within {seconds} s:\n{log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """``spark://127.0.0.1:PORT`` and the folder of its logs: a master and two one-core
    workers, stopped afterwards."""
    folder = tmp_path_factory.mktemp("cluster")
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    started = [launch(folder, "master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                      "--port", str(port), "--webui-port", str(free_port()))]
    try:
        wait_for(folder / "master.log", "I have been elected leader")
        for worker in (1, 2):
            started.append(launch(folder, f"worker{worker}", "org.apache.spark.deploy.worker.Worker", url,
                                  "--host", "127.0.0.1", "--cores", "1", "--memory", "1g",
                                  "--webui-port", str(free_port()), "--work-dir", str(folder / f"work{worker}")))
        for worker in (1, 2):
            wait_for(folder / f"worker{worker}.log", "Successfully registered with master")
        yield url, folder
    finally:
        for process in started:
            os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            process.wait(timeout=60)


def test_the_parity_suite_passes_on_a_standalone_cluster(cluster):
    url, logs = cluster
    environment = {**os.environ, "UTMOST_TEST_SPARK_MASTER": url}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(TESTS / "engine" / "test_spark_parity.py")],
                          cwd=TESTS.parent, env=environment, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\b(\d+) passed\b", done.stdout) and " failed" not in done.stdout
    # The questions ran on the cluster: the master registered the session, both workers ran its executors.
    assert "Registering app utmost" in (logs / "master.log").read_text()
    for worker in (1, 2):
        assert "Asked to launch executor" in (logs / f"worker{worker}.log").read_text()


def test_spark_submit_runs_the_command_on_the_cluster(cluster, tmp_path):
    """``spark-submit --master spark://…`` of utmost's own entry point: the command takes the
    master it was given (no --spark-master) and answers as DuckDB does."""
    import json

    from conftest import raw_lines
    from utmost import demo
    from utmost.store import Store

    url, logs = cluster
    with Store(tmp_path / "s.duckdb") as store:
        store.project()  # a command asks about a project that exists
        store.insert_lines("default", raw_lines(list(demo.generate(seed=5, visitors=150, days=20)))).result()
        store.export_parquet("default", tmp_path / "events")
    # Models whose credits are the same doubles in both engines (time_decay's pow differs from
    # the JVM's in the last digit: the parity suite compares it within a tolerance).
    question = ["attribute", "--conversion", "Reservation Completed", "--models", "first_touch,linear,u_shaped",
                "--format", "json"]
    on_duckdb = subprocess.run([sys.executable, "-m", "utmost", *question, "--db", str(tmp_path / "s.duckdb")],
                               capture_output=True, text=True, check=True).stdout
    import utmost

    entry = Path(utmost.__file__).with_name("__main__.py")  # imported, it would run the CLI
    home = Path(pyspark.__file__).parent
    environment = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
                   "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    registered = (logs / "master.log").read_text().count("Registering app utmost")
    submitted = subprocess.run([str(home / "bin" / "spark-submit"), "--master", url, "--conf", "spark.ui.enabled=false",
                                str(entry), *question, "--engine", "spark", "--events", str(tmp_path / "events")],
                               capture_output=True, text=True, env=environment, timeout=600)
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    assert json.loads(submitted.stdout) == json.loads(on_duckdb)
    assert (logs / "master.log").read_text().count("Registering app utmost") == registered + 1
