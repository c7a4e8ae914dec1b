"""Concurrent batches share rounds of the writer, and each caller still gets its own answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from utmost.store import appender

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
