"""The derived tables kept as events land (utmost.engine.maintained) against a rebuild from every
event: random streams arriving in random orders and batches, with merges and deletions."""

from __future__ import annotations

import os

import duckdb
import orjson
import signal
import subprocess
import sys
import time

from conftest import raw_lines
from engine.journeys import DAY, MINUTE, T0, book, land
from engine.test_key_events import assert_same_answer
from engine.test_differential import streams
from store.test_experiments_table import file_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utmost.backends.duckdb import DuckDBBackend
from utmost.engine import delete_person, make_options, maintained, queries
from utmost.engine.identity import resolve_people
from utmost.engine.run import attribute
from utmost.store import Store
from utmost.store.schema import CREDIT_MODELS

CONVERSION = "Reservation Completed"
#: Both ways a question reads sessions: by a landing column, and by channel (with the landed flag).
QUESTIONS = [make_options(CONVERSION, by="utm_source,utm_medium"), make_options(CONVERSION, by="channel")]
#: A question a key event's kept credit and journeys answer.
KEPT = make_options(CONVERSION, models=",".join([*CREDIT_MODELS, "markov"]))  # markov reads the kept journeys


@st.composite
def arrivals(draw):
    """A stream (plus events whose bare id is a device's, read as that device once it is seen),
    split into batches that arrive in a random order, with deletions between some of them."""
    events = draw(streams())
    for n in range(draw(st.integers(0, 3))):
        device = draw(st.sampled_from(["d0", "d1", "d2", "d3"]))
        events.append({"event": draw(st.sampled_from(["Page View", CONVERSION])), "properties": {
            "time": T0 + draw(st.integers(0, 90)) * MINUTE, "distinct_id": device, "$insert_id": f"bare{n}"}})
    order = draw(st.permutations(range(len(events))))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(events) - 1)), max_size=4)))
    batches = [[events[i] for i in order[a:b]] for a, b in zip([0, *cuts], [*cuts, len(events)]) if a < b]
    deletions = [draw(st.lists(st.integers(0, 40), max_size=3)) if draw(st.integers(0, 4)) == 0 else []
                 for _ in batches]
    return batches, deletions


def rebuilt_sessions(store: Store, options) -> list[dict]:
    """``sessions`` as a question computes it from every event (no derived table read)."""
    backend = DuckDBBackend(store.reader())
    resolve_people(backend, options.project)
    return _rows(backend, queries.sessions(backend.dialect, options, backend.source))


def kept_sessions(store: Store, options) -> list[dict]:
    backend = DuckDBBackend.of(store)
    assert maintained.readable(backend, options)
    return _rows(backend, maintained.sessions(backend.dialect, options))


def _rows(backend: DuckDBBackend, sql: str) -> list[dict]:
    return backend.arrow(f"SELECT * FROM ({sql}) AS s ORDER BY seq").to_pylist()


def derived(store: Store, table: str, order: str) -> list[tuple]:
    return store.reader().execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(arrived=arrivals(), bucket_rows=st.sampled_from([1, 3, maintained.BUCKET_ROWS]))
def test_kept_sessions_equal_a_rebuild_after_every_batch(tmp_path_factory, arrived, bucket_rows):
    batches, deletions = arrived
    with Store(tmp_path_factory.mktemp("kept") / "k.duckdb") as store:
        store.set_key_events("default", [CONVERSION])
        for batch, deleting in zip(batches, deletions):
            store.insert_lines("default", raw_lines(batch)).result()
            seqs = [r[0] for r in store.reader().execute("SELECT seq FROM events ORDER BY seq").fetchall()]
            if deleting and seqs:
                store.delete("default", sorted({seqs[i % len(seqs)] for i in deleting}), [])
            with DuckDBBackend.of(store).maintenance() as writable:  # sessions numbered by buckets of persons
                refreshed = maintained.refresh(writable, "default", bucket_rows)
            assert not refreshed.rebuilt or batch is batches[0]  # a deletion too redoes only its persons
            assert derived(store, "derived_person_numbers", "person") == numbers_of_events(store)
            for options in QUESTIONS:
                assert kept_sessions(store, options) == rebuilt_sessions(store, options)
            if store.reader().execute("SELECT count(*) FROM events WHERE event = ?", [CONVERSION]).fetchone()[0]:
                backend = DuckDBBackend.of(store)
                assert maintained.credit_readable(backend, KEPT)
                assert_same_answer(attribute(backend, KEPT), attribute(backend, KEPT, steps=True))
        # Every event's person and session, not only the rows a question keeps, as a rebuild has them.
        incremental = (derived(store, "derived_events", "seq"), derived(store, "derived_persons", "id"),
                       derived(store, "derived_person_numbers", "person"),
                       kept_credit(store), derived(store, "derived_journeys", "person, conversion, path"))
        backend = DuckDBBackend.of(store)
        with backend.maintenance() as writable:
            maintained.forget(writable, "default")
            assert maintained.refresh(writable, "default").rebuilt
        assert (derived(store, "derived_events", "seq"), derived(store, "derived_persons", "id"),
                derived(store, "derived_person_numbers", "person"),
                kept_credit(store), derived(store, "derived_journeys", "person, conversion, path")) == incremental


def numbers_of_events(store: Store) -> list[tuple]:
    """Each person of ``derived_events`` with its number, once: what ``derived_person_numbers``
    must hold (a name with two numbers, or a number with two names, fails here)."""
    rows = derived(store, "(SELECT DISTINCT project, person, person_seq FROM derived_events)", "person")
    assert len({row[1] for row in rows}) == len({row[2] for row in rows}) == len(rows)
    return rows


def kept_credit(store: Store) -> list[tuple]:
    """``derived_credit``'s rows, each credit to 12 significant digits (the order of a sum moves the last)."""
    rows = derived(store, "derived_credit", "conversion, k0")
    return [tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in row) for row in rows]


def test_a_late_sign_in_redoes_only_the_persons_it_merges(store):
    """Maya browses on two devices, Tom on his own; Maya signs in on both later: her two device
    persons become one, and Tom's rows are left as they were."""
    def page(device: str, minute: int, source: str | None = None) -> dict:
        url = "https://h.example/" + (f"?utm_source={source}" if source else "")
        return {"event": "Page View", "properties": {"time": T0 + minute * MINUTE, "distinct_id": f"$device:{device}",
                                                     "$device_id": device, "$current_url": url,
                                                     "$insert_id": f"{device}{minute}"}}

    def sign_in(device: str, minute: int) -> dict:
        return {"event": "$identify", "properties": {"time": T0 + minute * MINUTE, "distinct_id": "maya",
                                                     "$user_id": "maya", "$device_id": device,
                                                     "$anon_distinct_id": f"$device:{device}",
                                                     "$insert_id": f"in{device}{minute}"}}

    store.insert_lines("default", raw_lines([page("phone", 0, "newsletter"), page("laptop", 600),
                                             page("tom", 5, "google")])).result()
    backend = DuckDBBackend.of(store)
    with backend.maintenance() as writable:
        first = maintained.refresh(writable, "default")
    assert (first.events, first.rebuilt, first.persons) == (3, True, 3)
    store.insert_lines("default", raw_lines([sign_in("phone", 700), sign_in("laptop", 701)])).result()
    with backend.maintenance() as writable:
        late = maintained.refresh(writable, "default")
    # The rows of $device:phone and $device:laptop are redone as maya's, one person; not Tom's.
    assert (late.events, late.rebuilt, late.persons) == (2, False, 1)
    persons = dict(store.reader().execute("SELECT seq, person FROM derived_events").fetchall())
    assert sorted(set(persons.values())) == ["$device:tom", "maya"]
    sessions = kept_sessions(store, make_options(CONVERSION, by="channel"))
    # Read by a channel question: each session's first event and the landings. The laptop's
    # page, ten hours after the phone's, starts Maya's second session; the sign-ins, 100 minutes
    # later, her third. Each person's number is the seq of their first event: the phone's page
    # (1) for Maya, 3 for Tom.
    assert [(r["name"], r["person"], r["session"], r["utm_source"]) for r in sessions] == [
        ("maya", 1, 1, "newsletter"), ("maya", 1, 2, None), ("$device:tom", 3, 1, "google"), ("maya", 1, 3, None)]
    # A question by utm_source reads the landings only (and conversions: none here).
    assert [(r["name"], r["session"]) for r in kept_sessions(store, make_options(CONVERSION))] == [
        ("maya", 1), ("$device:tom", 1)]


def test_an_id_is_first_seen_at_its_earliest_time_then_lowest_seq(store):
    """The phone's pages, stored in this order: at 60 s, then two at 30 s (seqs 2 and 3). Its
    first sighting is the earliest, and of those the first stored (seq 2); a later batch's
    page in that second (seq 4) does not take its place, one at 0 s (seq 5) does."""
    def page(second: int, insert_id: str) -> dict:
        return {"event": "Page View", "properties": {"time": T0 + second, "distinct_id": "$device:phone",
                                                     "$device_id": "phone", "$insert_id": insert_id}}

    backend = DuckDBBackend.of(store)
    seen = []
    for batch in ([page(60, "a"), page(30, "b"), page(30, "c")], [page(30, "d")], [page(0, "e")]):
        store.insert_lines("default", raw_lines(batch)).result()
        with backend.maintenance() as writable:
            maintained.refresh(writable, "default")
        ((raw_id, own, time, seq),) = store.reader().execute(
            "SELECT raw_id, own, epoch(time), seq FROM derived_first_seen").fetchall()
        seen.append((raw_id, own, time - T0, seq))
    assert seen == [("phone", True, 30, 2), ("phone", True, 30, 2), ("phone", True, 0, 5)]


def test_nothing_new_reads_nothing(store):
    store.insert_lines("default", raw_lines([{"event": "Page View", "properties": {
        "time": T0, "distinct_id": "$device:a", "$device_id": "a", "$insert_id": "1"}}])).result()
    backend = DuckDBBackend.of(store)
    for expected in (1, 0):
        with backend.maintenance() as writable:
            assert maintained.refresh(writable, "default").events == expected


def test_a_store_open_to_read_uses_the_tables_only_when_they_are_current(tmp_path):
    path = tmp_path / "r.duckdb"
    land = {"event": "Page View", "properties": {"time": T0, "distinct_id": "$device:a", "$device_id": "a",
                                                 "$current_url": "https://h.example/?utm_source=google", "$insert_id": "1"}}
    book = {"event": CONVERSION, "properties": {"time": T0 + MINUTE, "distinct_id": "$device:a", "$device_id": "a",
                                                "$insert_id": "2"}}
    options = make_options(CONVERSION)
    with Store(path) as store:
        store.insert_lines("default", raw_lines([land])).result()
        attribute(DuckDBBackend.of(store), options)  # brings the tables up to date
        store.insert_lines("default", raw_lines([book])).result()  # after them
    with Store(path, read_only=True) as store:
        backend = DuckDBBackend.of(store)
        assert backend.maintenance() is None
        assert not maintained.readable(backend, options)
        assert attribute(backend, options).conversions == 1  # from every event instead
    with Store(path) as store:
        attribute(DuckDBBackend.of(store), options)
    with Store(path, read_only=True) as store:
        assert maintained.readable(DuckDBBackend.of(store), options)


def test_a_backend_as_of_an_event_reads_the_tables_as_they_stand_while_they_hold_it(tmp_path):
    """The web service's backends (``as_of``): the tables are refreshed only when they lack an
    event up to that one or count one deleted since, and read as they stand otherwise."""
    path = tmp_path / "a.duckdb"
    options = make_options(CONVERSION, models="last_touch")

    def credited(as_of: int) -> dict:
        totals = attribute(DuckDBBackend.of(store, as_of=as_of), options).totals.to_pylist()
        return {r["utm_source"]: r["conversions"] for r in totals}

    with Store(path) as store:
        store.insert_lines("default", raw_lines([land(0, "newsletter"), book(60)])).result()
        first = store.version()[0]
        assert credited(first) == {"newsletter": 1.0}  # no tables yet: refreshed first
        assert derived(store, "derived_state", "project") == [("default", first, 2)]
        store.insert_lines("default", raw_lines([land(DAY, "google", dev="d2"), book(DAY + 60, dev="d2")])).result()
        assert credited(first) == {"newsletter": 1.0}  # they hold every event up to first: no refresh
        assert derived(store, "derived_state", "project") == [("default", first, 2)]
        latest = store.version()[0]
        assert credited(latest) == {"newsletter": 1.0, "google": 1.0}  # they lack some: refreshed
        assert derived(store, "derived_state", "project") == [("default", latest, 4)]
        assert credited(first) == {"newsletter": 1.0, "google": 1.0}  # newer than asked: read as they are
    with duckdb.connect(str(path)) as con:  # an event counted, deleted by another program
        con.execute("DELETE FROM events WHERE device_id = 'd2' AND event = 'Page View'")
    with Store(path) as store:
        # the count differs: rebuilt, and d2's booking is left with no touchpoint
        assert credited(first) == {"newsletter": 1.0, "(none)": 1.0}
        assert derived(store, "derived_state", "project") == [("default", latest, 3)]


def test_deleting_a_person_takes_their_rows_out_at_once_and_leaves_the_others_as_they_were(store):
    store.insert_lines("default", raw_lines([
        {"event": "Page View", "properties": {"time": T0, "distinct_id": "maya", "$user_id": "maya",
                                              "$device_id": "phone", "$insert_id": "1"}},
        {"event": "Page View", "properties": {"time": T0 + MINUTE, "distinct_id": "$device:tablet",
                                              "$device_id": "tablet", "$insert_id": "2"}},
        {"event": CONVERSION, "properties": {"time": T0 + 2 * MINUTE, "distinct_id": "$device:tablet",
                                             "$device_id": "tablet", "$insert_id": "3"}},
    ])).result()
    store.set_key_events("default", [CONVERSION])
    attribute(DuckDBBackend.of(store), make_options(CONVERSION))
    leo = derived(store, "derived_events", "seq")[1:]
    assert [row[6] for row in leo] == ["$device:tablet", "$device:tablet"]  # the person of each row
    assert derived(store, "derived_pairs", "seq") and derived(store, "derived_credit", "conversion")
    delete_person(store, "default", "phone")
    # No derived row names her; the other person's rows are his as before (not rebuilt: the
    # state counts 2 events, and the next question reads the tables without a refresh).
    assert derived(store, "derived_state", "project") == [("default", 3, 2)]
    assert derived(store, "derived_events", "seq") == leo
    assert derived(store, "derived_devices", "device_id") == [("default", "tablet")]
    assert derived(store, "derived_pairs", "seq") == []
    assert [row[1] for row in derived(store, "derived_first_seen", "seq")] == ["tablet"]
    assert derived(store, "derived_persons", "id") == []
    assert derived(store, "derived_person_numbers", "person") == [("default", "$device:tablet", 2)]
    assert [row[4] for row in derived(store, "derived_credit", "conversion")] == ["$device:tablet"]
    backend = DuckDBBackend.of(store)
    assert maintained.current(backend, "default")
    assert maintained.keep_up(backend, "default") == maintained.Refreshed(0, False, 0)


def test_a_number_the_derived_tables_counted_is_not_given_again_after_the_newest_event_is_deleted(tmp_path):
    path = tmp_path / "n.duckdb"
    page = {"event": "Page View", "properties": {"time": T0, "distinct_id": "ana", "$insert_id": "1"}}
    with Store(path) as store:
        store.insert_lines("default", raw_lines([page, {**page, "properties": {**page["properties"], "distinct_id": "bo",
                                                                               "$insert_id": "2"}}])).result()
        maintained.keep_up(DuckDBBackend.of(store), "default")
        store.delete("default", [2], [])  # bo's, the newest: no refresh has taken it out yet
    with Store(path) as store:  # numbers from the file again, as a new process does
        store.insert_lines("default", raw_lines([{**page, "properties": {**page["properties"], "distinct_id": "cy",
                                                                         "$insert_id": "3"}}])).result()
        assert [s for (s,) in store.reader().execute("SELECT seq FROM events ORDER BY seq").fetchall()] == [1, 3]
        maintained.keep_up(DuckDBBackend.of(store), "default")
        assert [(row[1], row[6]) for row in derived(store, "derived_events", "seq")] == [(1, "ana"), (3, "cy")]


CRASHING = """
import sys
from utmost.backends.duckdb import DuckDBBackend
from utmost.engine import maintained
from utmost.store import Store
with Store(sys.argv[1]) as store:
    backend = DuckDBBackend.of(store)
    with backend.maintenance() as writable:
        print("started", flush=True)
        maintained.refresh(writable, "default")
        print("done", flush=True)
"""


def test_a_crash_during_a_refresh_leaves_the_tables_as_before(tmp_path):
    """Killed mid-refresh (SIGKILL: no clean-up of any kind), the file holds the last refresh's
    tables; the next refresh finishes the work, as a rebuild would."""
    path = tmp_path / "c.duckdb"
    events = [{"event": "Page View", "properties": {"time": T0 + i * MINUTE, "distinct_id": f"$device:d{i % 500}",
                                                    "$device_id": f"d{i % 500}", "$insert_id": str(i)}}
              for i in range(50_000)]
    with Store(path) as store:
        store.insert_lines("default", raw_lines(events[:100])).result()
        attribute(DuckDBBackend.of(store), make_options(CONVERSION))
        before = derived(store, "derived_events", "seq")
        store.insert_lines("default", raw_lines(events[100:])).result()
    with subprocess.Popen([sys.executable, "-c", CRASHING, str(path)], stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None and process.stdout.readline() == "started\n"
        time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)
        assert "done" not in process.stdout.read()  # killed before the refresh committed
    with Store(path) as store:
        assert derived(store, "derived_events", "seq") == before
        options = make_options(CONVERSION)
        assert kept_sessions(store, options) == rebuilt_sessions(store, options)


def test_a_version_7_file_gains_empty_tables_that_the_first_question_fills(tmp_path):
    path = tmp_path / "seven.duckdb"
    file_at(path, 7)
    with Store(path) as store:
        assert derived(store, "derived_state", "project") == []
        store.insert_lines("default", raw_lines([{"event": CONVERSION, "properties": {
            "time": T0, "distinct_id": "$device:a", "$device_id": "a", "$insert_id": "1"}}])).result()
        assert attribute(DuckDBBackend.of(store), make_options(CONVERSION)).conversions == 1
        ((seq,),) = store.reader().execute("SELECT seq FROM events").fetchall()
        assert derived(store, "derived_state", "project") == [("default", seq, 1)]


def test_a_version_12_file_gains_each_persons_number_from_its_derived_events(tmp_path):
    """Migration 13 fills the numbers' table from the derived events as they stand: no rebuild."""
    path = tmp_path / "twelve.duckdb"
    file_at(path, 12)
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO derived_state VALUES ('default', 3, 3)")
        for seq, person, person_seq in ((1, "maya", 1), (2, "$device:leo", 2), (3, "maya", 1)):
            con.execute("INSERT INTO derived_events VALUES ('default', ?, TIMESTAMP '2026-03-01', 'Page View', ?, FALSE, "
                        "?, ?, 1, 1, NULL, FALSE)", [seq, person, person, person_seq])
    with Store(path) as store:
        assert derived(store, "derived_state", "project") == [("default", 3, 3)]
        assert derived(store, "derived_person_numbers", "person") == [("default", "$device:leo", 2),
                                                                      ("default", "maya", 1)]


def test_an_import_leaves_the_tables_current_for_the_next_process(tmp_path):
    """`utmost import` ends by bringing them up to date: a command that only reads finds them so."""
    lines = [{"event": "Page View", "properties": {"time": T0 + i * MINUTE, "distinct_id": "$device:a",
                                                   "$device_id": "a", "$insert_id": str(i)}} for i in range(3)]
    (tmp_path / "e.jsonl").write_text("\n".join(orjson.dumps(line).decode() for line in lines))
    db = tmp_path / "i.duckdb"
    subprocess.run([sys.executable, "-m", "utmost", "import", "e.jsonl", "--db", str(db)], cwd=tmp_path, check=True,
                   capture_output=True)
    with Store(db, read_only=True) as store:
        assert maintained.current(DuckDBBackend.of(store), "default")
        assert derived(store, "derived_events", "seq")[-1][:3] == ("default", 3, store.reader().execute(
            "SELECT time FROM events WHERE seq = 3").fetchone()[0])


def test_closing_the_store_interrupts_a_refresh_which_rolls_back(tmp_path):
    """`utmost serve` stopping mid-refresh does not wait for it: the refresh is interrupted and
    rolled back, and the next one does its work."""
    import threading

    import duckdb

    path = tmp_path / "i.duckdb"
    events = [{"event": "Page View", "properties": {"time": T0 + i * MINUTE, "distinct_id": f"$device:d{i % 900}",
                                                    "$device_id": f"d{i % 900}", "$insert_id": str(i)}}
              for i in range(60_000)]
    store = Store(path)
    store.insert_lines("default", raw_lines(events)).result()
    failed: list[BaseException] = []
    started = threading.Event()

    def refresh() -> None:
        backend = DuckDBBackend.of(store)
        try:
            with backend.maintenance() as writable:
                started.set()
                maintained.refresh(writable, "default")
        except duckdb.Error as error:
            failed.append(error)

    worker = threading.Thread(target=refresh)
    worker.start()
    assert started.wait(10)
    time.sleep(0.02)
    store.close()
    worker.join()
    assert len(failed) == 1 and "nterrupt" in str(failed[0])
    with Store(path) as store:
        assert derived(store, "derived_events", "seq") == []
        options = make_options(CONVERSION)
        assert kept_sessions(store, options) == rebuilt_sessions(store, options)
