"""Vectorised exact sums against math.fsum, bit for bit."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from utmost.engine.sums import exact_sums

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.one_of(finite, st.sampled_from([0.1, 1 / 3, 5e-324, 2.0 ** 52]))),
                max_size=60))
def test_each_group_sums_as_fsum_does(rows):
    values = np.array([v for _, v in rows], dtype=np.float64)
    groups = np.array([g for g, _ in rows], dtype=np.int64)
    expected = [math.fsum(v for g, v in rows if g == group) for group in range(4)]
    assert [s.hex() for s in exact_sums(values, groups, 4)] == [e.hex() for e in expected]


def test_credits_that_plain_addition_gets_wrong():
    """0.1 ten times is 0.9999999999999999 added in turn; its exactly rounded sum is 1.0."""
    values = np.full(10, 0.1)
    assert sum(values.tolist()) != 1.0
    assert exact_sums(values, np.zeros(10, dtype=np.int64), 1) == [1.0]


def test_an_empty_group_sums_to_zero():
    assert exact_sums(np.array([2.5]), np.array([1]), 3) == [0.0, 2.5, 0.0]
