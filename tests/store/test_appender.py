"""Concurrent batches share rounds of the writer, and each caller still gets its own answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest

from utmost.store import appender
from utmost.store.importer import import_files

from conftest import event, raw_lines, stored


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
