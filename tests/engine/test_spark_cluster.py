"""The Spark engine on a real standalone cluster, not only ``local[*]`` (issue 24).

The ``spark`` fixture's session is the cluster's (``tests/engine/spark_cluster.py``: one master
and two workers from the installed PySpark's own launcher, on 127.0.0.1), so the parity suite
(``tests/engine/test_spark_parity.py``) runs there. This file holds that it does, and that
``spark-submit`` sends utmost's own command to the cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine.spark_cluster import Cluster, spark_home

pytest.importorskip("pyspark")


def test_the_tests_session_runs_on_both_workers(spark, spark_cluster: Cluster):
    """The session the parity suite asks through is registered with the master, and both
    workers run its executors: a job of many tasks reaches each of them."""
    assert spark.sparkContext.master == spark_cluster.url
    assert spark.range(0, 10_000, numPartitions=8).selectExpr("sum(id) AS s").collect()[0]["s"] == 49_995_000
    assert "Registering app utmost" in (spark_cluster.logs / "master.log").read_text()
    for worker in (1, 2):
        assert "Asked to launch executor" in (spark_cluster.logs / f"worker{worker}.log").read_text()


def test_spark_submit_runs_the_command_on_the_cluster(spark_cluster: Cluster, tmp_path):
    """The scale-out path end to end: ``utmost export --parquet``, then ``spark-submit --master
    spark://…`` of utmost's own entry point: the command takes the master it was given (no
    --spark-master) and answers as DuckDB does."""
    import json

    from conftest import raw_lines
    from utmost import demo
    from utmost.store import Store

    url, logs = spark_cluster.url, spark_cluster.logs
    with Store(tmp_path / "s.duckdb") as store:
        store.project()  # a command asks about a project that exists
        store.insert_lines("default", raw_lines(list(demo.generate(seed=5, visitors=150, days=20)))).result()
    subprocess.run([sys.executable, "-m", "utmost", "export", "--db", str(tmp_path / "s.duckdb"), "--parquet",
                    str(tmp_path / "events")], capture_output=True, check=True)
    # Models whose credits are the same doubles in both engines (time_decay's pow differs from
    # the JVM's in the last digit: the parity suite compares it within a tolerance).
    question = ["attribute", "--conversion", "Reservation Completed", "--models", "first_touch,linear,u_shaped",
                "--format", "json"]
    on_duckdb = subprocess.run([sys.executable, "-m", "utmost", *question, "--db", str(tmp_path / "s.duckdb")],
                               capture_output=True, text=True, check=True).stdout
    import utmost

    entry = Path(utmost.__file__).with_name("__main__.py")  # imported, it would run the CLI
    home = spark_home()
    environment = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
                   "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    registered = (logs / "master.log").read_text().count("Registering app utmost")
    submitted = subprocess.run([str(home / "bin" / "spark-submit"), "--master", url, "--conf", "spark.ui.enabled=false",
                                str(entry), *question, "--engine", "spark", "--events", str(tmp_path / "events")],
                               capture_output=True, text=True, env=environment, timeout=600)
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    assert json.loads(submitted.stdout) == json.loads(on_duckdb)
    assert (logs / "master.log").read_text().count("Registering app utmost") == registered + 1
