"""The engine's exact sums (SQL parts added in Python) against math.fsum, bit for bit."""

from __future__ import annotations

import math

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from utmost.dialect import DUCKDB
from utmost.engine.sums import exact_parts, exact_totals

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
awkward = st.sampled_from([0.1, 1 / 3, 5e-324, 2.2250738585072014e-308, 2.0 ** 52, 2.0 ** 53 - 1, 0.5, -0.0])


def summed(rows: list[tuple[int, float, float]]) -> dict[tuple, dict[str, float]]:
    con = duckdb.connect()
    con.register("given", pa.table({"g": [r[0] for r in rows], "x": [r[1] for r in rows], "y": [r[2] for r in rows]},
                                   schema=pa.schema([("g", pa.int64()), ("x", pa.float64()), ("y", pa.float64())])))
    parts = con.sql(exact_parts(DUCKDB, "given", ["g"], ["x", "y"])).to_arrow_table().to_pylist()
    return exact_totals(parts, ["g"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.one_of(finite, awkward), st.one_of(finite, awkward)), max_size=40))
def test_each_group_sums_as_fsum_does(rows):
    got = summed(rows)
    for group in {g for g, _, _ in rows}:
        for index, measure in ((1, "x"), (2, "y")):
            expected = math.fsum(r[index] for r in rows if r[0] == group)
            assert got.get((group,), {}).get(measure, 0.0).hex() == (expected + 0.0).hex(), (group, measure)


def test_credits_that_plain_addition_gets_wrong():
    """0.1 ten times is 0.9999999999999999 added in turn; its exactly rounded sum is 1.0."""
    assert sum([0.1] * 10) != 1.0
    assert summed([(0, 0.1, 1.0)] * 10) == {(0,): {"x": 1.0, "y": 10.0}}


def test_a_value_held_by_many_rows_counts_once_a_row():
    """Each distinct value is scaled once and multiplied by its rows: 1/3 on 3,000 rows and the
    largest odd double below 2**53 on 1,000, beside -1/3 on 1,000, sum as fsum does."""
    rows = [(0, 1 / 3, 2.0 ** 53 - 1)] * 1000 + [(0, 1 / 3, -1 / 3)] * 2000 + [(1, -1 / 3, 0.1)] * 1000
    got = summed(rows)
    for group in (0, 1):
        for index, measure in ((1, "x"), (2, "y")):
            assert got[(group,)][measure] == math.fsum(r[index] for r in rows if r[0] == group)
    assert got[(0,)]["x"] == 1000.0 and got[(1,)]["x"] == math.fsum([-1 / 3] * 1000)
