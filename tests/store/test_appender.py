"""Concurrent batches share rounds of the writer, and each caller still gets its own answer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from conftest import event, raw_lines, stored
from hypothesis import given, settings
from hypothesis import strategies as st

from utmost.store import Store, appender
from utmost.store.importer import import_files


@pytest.mark.parametrize("ahead", [1, 4, 10**9], ids=["all decoded by callers", "mixed", "all decoded by the writer"])
def test_concurrent_batches_each_get_their_own_rejections_and_duplicates_are_stored_once(store, monkeypatch, ahead):
    """Batches of 4 lines (even n) and 3 lines: SPLIT_AHEAD_LINES 4 mixes both kinds in a round."""
    monkeypatch.setattr(appender, "SPLIT_AHEAD_LINES", ahead)

    def batch(n: int) -> list:
        lines = [event(distinct_id=f"d{n % 5}", time=1_700_000_000 + n % 5, **{"$insert_id": f"i{n % 5}"})]  # repeats
        lines.append(event(distinct_id=f"u{n}", **{"$insert_id": f"own{n}"}))
        lines.append({"event": "Bad", "properties": {"distinct_id": "x", "time": "soon"}} if n % 3 == 0 else event(
            distinct_id=f"v{n}", **{"$insert_id": f"more{n}"}))
        if n % 2 == 0:
            lines.append(event(distinct_id=f"w{n}", **{"$insert_id": f"even{n}"}))
        return lines

    with ThreadPoolExecutor(8) as pool:
        futures = list(pool.map(lambda n: store.append("default", raw_lines(batch(n))), range(40)))
    for n, future in enumerate(futures):
        expected = [(3, '"properties.time" is not a number')] if n % 3 == 0 else []
        assert future.result() == expected, n
    rows = stored(store, "insert_id")
    valid_distinct = 5 + 40 + sum(1 for n in range(40) if n % 3) + 20
    assert len(rows) == valid_distinct
    assert len({r["insert_id"] for r in rows}) == valid_distinct


def test_seq_follows_arrival_when_rounds_alternate_with_other_ways_of_storing(store, tmp_path):
    """Rounds of plain lines number rows from the appender's counter; Store.insert_lines, a bulk
    import and a round with lines for the ingest query number from the stored maximum, and
    make the next round ask DuckDB again. Each batch's three events must follow the last's."""
    def batch(tag: str) -> list[dict]:
        return [event(distinct_id=f"{tag}{n}", **{"$insert_id": f"{tag}{n}-id"}) for n in range(3)]

    store.append("default", raw_lines(batch("a"))).result()
    store.insert_lines("default", raw_lines(batch("b"))).result()
    store.append("default", raw_lines(batch("c"))).result()
    imported = tmp_path / "d.jsonl"
    imported.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in batch("d")))
    import_files(store, "default", [imported])
    store.append("default", raw_lines(batch("e"))).result()
    odd = [event(distinct_id="f0"), *batch("f")[1:]]  # no $insert_id: judged by the query
    store.append("default", raw_lines(odd)).result()
    store.append("default", raw_lines(batch("g"))).result()

    rows = stored(store, "seq, distinct_id")
    assert [r["distinct_id"] for r in rows] == [f"{tag}{n}" for tag in "abcdefg" for n in range(3)]
    assert len({r["seq"] for r in rows}) == len(rows)


def live(tag: str, n: int, at: float) -> list[dict]:
    """Events dated after now, as a live browser sends them: the keys the store keeps lately."""
    return [event(distinct_id=f"{tag}{k}", time=at + k / 1000, **{"$insert_id": f"{tag}{k}"}) for k in range(n)]


def test_a_live_batch_sent_again_is_stored_once_alone_or_beside_new_events(store):
    at = time.time() + 60
    store.append("default", raw_lines(live("a", 3, at))).result()
    store.append("default", raw_lines(live("a", 3, at))).result()  # the SDK's re-send
    store.append("default", raw_lines(live("b", 2, at + 1) + live("a", 2, at))).result()
    assert [r["insert_id"] for r in stored(store, "insert_id")] == ["a0", "a1", "a2", "b0", "b1"]


def import_file(store, tmp_path, records):
    path = tmp_path / "more.jsonl"
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    import_files(store, "default", [path])


@pytest.mark.parametrize(
    "store_apart",
    [
        lambda store, tmp_path, records: store.insert_lines("default", raw_lines(records)).result(),
        import_file,
        # a line for the ingest query sends the whole round there
        lambda store, tmp_path, records: store.append("default", raw_lines([*records, event("$merge")])).result(),
    ],
    ids=["Store.insert_lines", "import", "a round with a line for the query"],
)
def test_live_events_stored_another_way_are_not_stored_again_by_a_round(store, tmp_path, store_apart):
    """A round after one of them asks DuckDB again for the keys stored lately."""
    at = time.time() + 60
    store.append("default", raw_lines(live("a", 2, at))).result()  # the round keeps its keys
    store_apart(store, tmp_path, live("b", 2, at + 1))
    store.append("default", raw_lines(live("b", 2, at + 1) + live("c", 1, at + 2))).result()
    rows = stored(store, "event, insert_id")
    assert [r["insert_id"] for r in rows if r["event"] != "$merge"] == ["a0", "a1", "b0", "b1", "c0"]


#: A pool of keys for the property below: live ones (dated after now) and one dated before.
_POOL_AT = time.time() + 86_400  # after the floor however late the test runs
_POOL = [*live("p", 6, _POOL_AT), event(distinct_id="old", **{"$insert_id": "old"})]


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(
    st.tuples(st.sampled_from(["round", "apart", "concurrent rounds"]), st.lists(st.integers(0, len(_POOL) - 1), min_size=1, max_size=5)),
    min_size=1, max_size=8,
))
def test_any_order_of_rounds_and_other_ways_of_storing_stores_each_key_once(tmp_path_factory, steps):
    """Whatever mix of rounds (alone or together) and Store.insert_lines sends the pool's keys,
    in any repetition, each key sent is stored exactly once."""
    with Store(tmp_path_factory.mktemp("keys") / "k.duckdb") as store:
        for how, picks in steps:
            records = [_POOL[n] for n in picks]
            if how == "apart":
                store.insert_lines("default", raw_lines(records)).result()
            elif how == "round":
                store.append("default", raw_lines(records)).result()
            else:
                with ThreadPoolExecutor(3) as pool:
                    list(pool.map(lambda record: store.append("default", raw_lines([record])).result(), records))
        sent = {_POOL[n]["properties"]["$insert_id"] for _, picks in steps for n in picks}
        assert sorted(r["insert_id"] for r in stored(store, "insert_id")) == sorted(sent)


class _HeldDecode:
    """Holds the decoding of a batch of ``rows`` lines (on its caller's thread) until released."""

    def __init__(self, monkeypatch, rows: int) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        split_lines = appender.split_lines

        def held(project, table):
            if table.num_rows == rows:
                self.started.set()
                assert self.release.wait(30)
            return split_lines(project, table)

        monkeypatch.setattr(appender, "split_lines", held)


def import_batch(tag: str, n: int):
    return raw_lines([event(distinct_id=f"{tag}{k}", **{"$insert_id": f"{tag}{k}"}) for k in range(n)])


@pytest.mark.parametrize(
    ("row_group_size", "hold", "rounds"),
    [(2048, 30.0, [2]), (2048, 0.05, [1, 1]), (None, 30.0, [1, 1]), (122_880, 30.0, [1, 1])],
    ids=["waits for the batch being decoded", "waits no longer than HOLD_SECONDS",
         "not without small row groups", "not when two batches cannot make a row group"],
)
def test_a_lone_import_batch_short_of_a_row_group_waits_for_one_being_decoded(tmp_path, monkeypatch, row_group_size, hold, rounds):
    """Together, 1,000 + 1,500 rows make a row group of 2,048: written into the file, not the log."""
    monkeypatch.setattr(appender, "HOLD_SECONDS", hold)
    decode = _HeldDecode(monkeypatch, rows=1500)
    taken, take = [], appender.Appender.take
    monkeypatch.setattr(appender.Appender, "take", lambda self: taken.append(len(batches := take(self))) or batches)
    with Store(tmp_path / "db.duckdb", row_group_size=row_group_size) as store, ThreadPoolExecutor(1) as caller:
        second = caller.submit(lambda: store.append("default", import_batch("b", 1500)).result())
        assert decode.started.wait(10)
        first = store.append("default", import_batch("a", 1000))
        if rounds == [2]:
            time.sleep(0.3)
            assert not first.done()  # its round waits for the second batch
        else:
            assert first.result(timeout=10) == []  # stored alone
        decode.release.set()
        assert first.result(timeout=10) == [] and second.result(timeout=10) == []
        assert len(stored(store, "insert_id")) == 2500
    assert taken == rounds
