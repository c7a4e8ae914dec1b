"""The same queries on Spark (the standalone cluster of the ``spark`` fixture, over exported
Parquet) and DuckDB give the same answers, to 1e-9, on demo traffic plus the identity cases the demo does not produce."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
from conftest import raw_lines
from engine.journeys import DAY, T0, book, land, page, server

from utmost import demo
from utmost.access import campaign_report
from utmost.api import answer
from utmost.backends.spark import SparkBackend
from utmost.engine import REPORT, attribute, make_options, report
from utmost.store import Store

#: Property names that hold what breaks a JSON path or a literal: each is read by its literal name.
HOSTILE, PRICE = "plan.tier[0] \"it's\" \\ $x", "price's \"€\""

QUESTIONS = [
    # Every model, keyed by a property whose name breaks a JSON path or a literal, with revenue
    # read from another such property: each is read by its literal name.
    dict(models="first_touch,last_touch,linear,u_shaped,j_shaped,inverse_j,position:30/40/30,time_decay,participation,"
                "markov,shapley,incremental", by=["utm_source", HOSTILE], revenue_property=PRICE),
    # Per session, on two keys split within a session, from a date, with every window changed.
    dict(models="first_touch,last_touch,linear,u_shaped,time_decay,markov,incremental", by="utm_source,utm_campaign",
         scope="session", lookback="7d", session_timeout="10m", markov_order=2, half_life="2d", start="2026-09-20",
         split_on_key=True),
    dict(models="first_touch,last_touch,last_non_direct,linear,time_decay,markov,shapley,incremental", by="channel",
         min_lag="10m"),
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parity")
    events = list(demo.generate(seed=3, visitors=400, days=40))
    base = events[0]["properties"]["time"] - T0
    events += [
        server("Page View", base, "crm-9", utm_source="partner"),
        server("Reservation Completed", base + DAY, "a-1", amount="50.5"),
        server("$create_alias", base + 2 * DAY, "crm-9", alias="a-1"),
        server("Page View", base, "x-1", utm_source="google", utm_campaign="brand"),
        server("Reservation Completed", base + DAY, "x-2", amount=70),
        {"event": "$merge", "properties": {"time": T0 + base + 3 * DAY, "$distinct_ids": ["x-1", "x-2"]}},
        server("Page View", base, "h-1", utm_source="google", **{HOSTILE: "gold"}),
        server("Reservation Completed", base + DAY, "h-1", **{PRICE: 12.5}),
        # Visits the channel rules read: from a search engine, a social site, a click id, the site itself.
        land(base, None, dev="ch1", gclid="g1"),
        page(base + DAY, dev="ch1", **{"$referrer": "https://www.google.de/", "$referring_domain": "www.google.de"}),
        land(base + 2 * DAY, None, dev="ch1", fbclid="f1", **{"$referring_domain": "l.facebook.com"}),
        page(base + 3 * DAY, dev="ch1", **{"$referrer": "https://hotel.example/", "$referring_domain": "hotel.example"}),
        book(base + 3 * DAY + 60, dev="ch1"),
        page(base, dev="ch2"),
        book(base + 60, dev="ch2"),
    ]
    store = Store(folder / "parity.duckdb")
    store.insert_lines("default", raw_lines(events)).result()
    store.export_parquet("default", folder / "events")
    yield store, folder / "events"
    store.close()


@pytest.mark.parametrize("question", QUESTIONS, ids=["all-models-odd-names", "two-keys-per-session", "channels"])
def test_spark_matches_duckdb(spark, exported, question):
    store, events = exported
    options = make_options("Reservation Completed", **question)
    on_duckdb = answer(store, options)
    backend = SparkBackend(spark, str(events))
    try:
        on_spark = attribute(backend, options)
    finally:
        backend.close()
    assert on_spark.conversions == on_duckdb.conversions > 30
    if HOSTILE in options.by:
        assert {"key": "gold", "revenue": 12.5} in [{"key": r[HOSTILE], "revenue": r["revenue"]}
                                                    for r in on_spark.totals.to_pylist()]
    for name in ("totals", "per_conversion"):
        left, right = getattr(on_duckdb, name).to_pylist(), getattr(on_spark, name).to_pylist()
        assert len(left) == len(right) > 0
        for a, b in zip(left, right):
            assert a.keys() == b.keys()
            for column, value in a.items():
                if isinstance(value, float):
                    assert math.isclose(value, b[column], rel_tol=1e-9, abs_tol=1e-9), (name, a, b)
                else:
                    assert value == b[column], (name, a, b)


REPORTS = [
    # Weeks from a date within one (both engines start a week on Monday, ISO 8601's).
    dict(model="shapley", by="utm_source,utm_campaign", start="2026-09-20", interval="week", scope="session"),
    # Channels without Direct, split on key, per session: the report holds attribution's totals too.
    dict(model="last_non_direct", by="channel,utm_campaign", exclude_direct=True, split_on_key=True, scope="session",
         interval="month"),
]


@pytest.mark.parametrize("question", REPORTS, ids=["campaign-weeks", "months-without-direct"])
def test_the_report_on_spark_matches_duckdb(spark, exported, question):
    """Every column of the campaign report (docs/semantics.md §16): the Parquet export holds no
    spend, so neither side has money columns here."""
    store, events = exported
    options = make_options("Reservation Completed", question=REPORT, **question)
    on_duckdb = campaign_report(store, options)
    backend = SparkBackend(spark, str(events))
    try:
        on_spark = report(backend, options)
    finally:
        backend.close()
    left, right = on_duckdb.table.to_pylist(), on_spark.table.to_pylist()
    assert len(left) == len(right) > 5 and sum(r["sessions"] for r in left) > 100
    for a, b in zip(left, right):
        assert a.keys() == b.keys()
        for column, value in a.items():
            if isinstance(value, float):
                assert math.isclose(value, b[column], rel_tol=1e-9, abs_tol=1e-9), (a, b)
            else:
                assert value == b[column], (a, b)


def test_spark_settings_reach_the_session(spark):
    """``--spark-conf KEY=VALUE`` is set on the session after utmost's own settings."""
    from utmost.backends import parse_spark_conf, spark_session

    before = spark.conf.get("spark.sql.shuffle.partitions")
    session = spark_session("local[2]", parse_spark_conf(["spark.sql.shuffle.partitions=5"]))
    try:
        assert session.conf.get("spark.sql.shuffle.partitions") == "5" != before
    finally:
        session.conf.set("spark.sql.shuffle.partitions", before)


def test_shuffle_partitions_follow_the_size_of_the_events(spark, exported, monkeypatch):
    """Unless the session was started with its own, a question's shuffle partitions are one per
    ``PARTITION_BYTES`` of the events' Parquet, measured by Spark's filesystem (here with 1 KiB
    partitions, so that the small export needs more than the fewest)."""
    from utmost.backends import spark as spark_backend

    _, events = exported
    size = sum(f.stat().st_size for f in events.rglob("*") if f.is_file())
    monkeypatch.setattr(spark_backend, "PARTITION_BYTES", 1024)
    before = spark.conf.get(spark_backend.SHUFFLE_PARTITIONS)
    try:
        SparkBackend(spark, str(events)).close()
        assert spark.conf.get(spark_backend.SHUFFLE_PARTITIONS) == str(-(-size // 1024)) and size > 8 * 1024
        monkeypatch.setattr(spark_backend, "PARTITION_BYTES", 2**30)
        SparkBackend(spark, str(events)).close()
        assert spark.conf.get(spark_backend.SHUFFLE_PARTITIONS) == str(spark_backend.MIN_PARTITIONS)
    finally:
        spark.conf.set(spark_backend.SHUFFLE_PARTITIONS, before)
    # Only what the session was started with is the user's: the value set above is not.
    assert spark_backend._launched_with(spark, "spark.sql.session.timeZone")
    assert not spark_backend._launched_with(spark, spark_backend.SHUFFLE_PARTITIONS)


def test_a_backend_turns_constraint_propagation_off_whatever_the_session_says(spark, exported):
    """With it on, Spark 4 made the journeys' LEFT JOIN to the last conversion an inner one
    (``backends/spark.py``); the channel question above fails then."""
    from utmost.backends import spark as spark_backend

    _, events = exported
    spark.conf.set(spark_backend.CONSTRAINTS, "true")
    SparkBackend(spark, str(events)).close()
    assert spark.conf.get(spark_backend.CONSTRAINTS) == "false"


def test_local_mode_gives_the_driver_half_the_machine():
    """Local mode runs every task in the driver's JVM: its heap is half the machine's memory in
    whole GiB (Spark's own 1g failed at 100M events), and the JVM was started with it. In a
    process of its own: this one's session is the cluster's, and a process has one."""
    probe = ("from utmost.backends.spark import spark_session; s = spark_session('local[1]'); "
             "print(s.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()); s.stop()")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    heap = int(done.stdout.split()[-1])
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0.8 * max(2**30, machine // 2**31 * 2**30) < heap <= max(2**30, machine / 2)
