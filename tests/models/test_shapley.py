"""``shapley``: hand-worked games, clipping, and the subset formula against permutations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utmost.models.journeys import Journeys
from utmost.models.shapley import shapley
from utmost.models.shapley import _values, conversion_rates


def journeys(*rows):
    return Journeys.from_rows([(tuple(p), c, float(c), n) for p, c, n in rows])


def test_two_channels_by_hand():
    """cr({A,B}) = 1/1, cr({A}) = 0/1, cr({B}) = 1/2.
    φ_A = ½[(cr(A) − 0) + (cr(AB) − cr(B))] = ½[0 + ½] = ¼;  φ_B = ½[½ + (1 − 0)] = ¾."""
    splits = shapley(journeys(("AB", 1, 0), ("A", 0, 1), ("B", 1, 1)))
    assert splits[frozenset("AB")] == pytest.approx({"A": 0.25, "B": 0.75})
    assert splits[frozenset("B")] == {"B": 1.0}


def test_three_channels_by_hand():
    """Only the full set converts (cr = 1/2); every other set never does. By symmetry each of
    the three gets a third of v(ABC) − … = 1/6 each, normalised to 1/3."""
    splits = shapley(journeys(("ABC", 1, 1), ("A", 0, 1), ("B", 0, 1), ("C", 0, 1), ("AB", 0, 1)))
    assert splits[frozenset("ABC")] == pytest.approx({"A": 1 / 3, "B": 1 / 3, "C": 1 / 3})


def test_negative_values_are_clipped_then_normalised():
    """cr(A) = 1, cr(B) = 0, cr(AB) = 1/4: φ_A = ½[1 + (¼ − 0)] = 5/8, φ_B = ½[0 + (¼ − 1)] = −3/8
    → clipped to 0: A takes the whole conversion."""
    splits = shapley(journeys(("A", 1, 0), ("B", 0, 1), ("AB", 1, 3)))
    assert splits[frozenset("AB")] == {"A": 1.0}


def _permutation_average(players, rates):
    total = np.zeros(len(players))
    orders = list(itertools.permutations(range(len(players))))
    for order in orders:
        members, before = set(), 0.0
        for i in order:
            members.add(players[i])
            after = rates.get(frozenset(members), 0.0)
            total[i] += after - before
            before = after
    return total / len(orders)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.frozensets(st.sampled_from("ABCDE"), min_size=1), st.floats(0, 1), min_size=1))
def test_subset_formula_equals_the_permutation_average(rates):
    players = sorted(set().union(*rates))
    assert _values(players, rates) == pytest.approx(_permutation_average(players, rates), abs=1e-12)


def test_rates_and_splits_sum_to_one():
    data = journeys(("AB", 3, 1), ("BA", 1, 0), ("C", 0, 2), ("ABC", 2, 2))
    assert conversion_rates(data)[frozenset("AB")] == pytest.approx(4 / 5)
    for split in shapley(data).values():
        assert math.isclose(sum(split.values()), 1.0)
