"""What a holdout test estimates, checked by hand (docs/semantics.md §19), and which tests meet a
question's keys."""

from __future__ import annotations

import datetime
import math
from fractions import Fraction
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utmost.engine import ESTIMATE_COLUMNS, Experiment, estimates, experiments_of, lift, matching
from utmost.errors import InputError

D1, D28 = datetime.date(2026, 3, 1), datetime.date(2026, 3, 28)
Z95 = NormalDist().inv_cdf(0.975)


def holdout(test_persons: int, test_conversions: int, control_persons: int, control_conversions: int,
         properties: tuple[str, ...] = ("utm_source",), key: tuple[str, ...] = ("google",)) -> Experiment:
    return Experiment(properties, key, D1, D28, test_persons, test_conversions, control_persons, control_conversions)


def test_the_hand_worked_example():
    """10,000 persons of whom 300 converted against 1,000 of whom 20 did: (0.03 − 0.02) × 10,000 =
    100; variance 10,000 × 0.03 × 0.97 + 10,000² × 0.02 × 0.98 / 1,000 = 291 + 1,960 = 2,251."""
    found = lift(holdout(10_000, 300, 1_000, 20))
    assert (found.test_rate, found.control_rate) == (0.03, 0.02)
    assert found.incremental == 100.0  # exactly: not (0.03 - 0.02) * 10000 = 99.99999999999997
    assert found.standard_error == math.sqrt(2251)  # the float formula meets it to its last digit or so:
    assert found.standard_error == pytest.approx(10_000 * math.sqrt(0.03 * 0.97 / 10_000 + 0.02 * 0.98 / 1_000),
                                                 rel=1e-15)
    assert (found.low, found.high) == (100 - Z95 * math.sqrt(2251), 100 + Z95 * math.sqrt(2251))
    assert (round(found.low, 2), round(found.high, 2)) == (7.01, 192.99)
    assert found.relative_lift == 0.5 and found.large_enough and found.level == 0.95
    assert found.precision == pytest.approx(1 / 2251, rel=1e-15)


def test_a_key_that_costs_conversions_has_a_negative_estimate():
    found = lift(holdout(5_000, 40, 500, 6))  # 0.8% against 1.2%
    assert found.incremental == -20.0 and found.relative_lift == pytest.approx(-1 / 3, rel=1e-15)
    assert found.standard_error == math.sqrt(5_000 * 0.008 * 0.992 + 5_000**2 * 0.012 * 0.988 / 500)
    assert found.low < -20 < found.high and not found.large_enough  # 6 control conversions


def test_no_control_conversions_has_no_relative_lift():
    found = lift(holdout(800, 9, 200, 0))
    assert (found.incremental, found.relative_lift, found.large_enough) == (9.0, None, False)
    assert found.standard_error == math.sqrt(800 * Fraction(9, 800) * Fraction(791, 800))  # the test group's alone


def test_rates_of_nothing_have_no_error_and_say_they_are_not_large_enough():
    found = lift(holdout(100, 0, 100, 0))
    assert (found.incremental, found.standard_error, found.low, found.high) == (0.0, 0.0, 0.0, 0.0)
    assert found.precision == math.inf and not found.large_enough


def test_the_interval_takes_another_level():
    wide, narrow = lift(holdout(10_000, 300, 1_000, 20)), lift(holdout(10_000, 300, 1_000, 20), level=0.9)
    assert narrow.level == 0.9 and narrow.high == 100 + NormalDist().inv_cdf(0.95) * math.sqrt(2251)
    assert wide.low < narrow.low < 100 < narrow.high < wide.high
    for level in (0, 1, 1.5, -0.1):
        with pytest.raises(InputError, match="level"):
            lift(holdout(10, 1, 10, 1), level=level)


def test_counts_as_large_as_a_bigint_holds_are_exact():
    big = 2**63 - 1
    found = lift(holdout(big, big // 2, big, big // 4))
    assert found.incremental == float(big // 2 - big // 4) and math.isfinite(found.standard_error)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**9).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
       st.integers(1, 10**9).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_the_estimate_is_the_formula_in_floats_to_rounding(treated, held_out):
    (n_t, c_t), (n_c, c_c) = treated, held_out
    found = lift(holdout(n_t, c_t, n_c, c_c))
    p_t, p_c = c_t / n_t, c_c / n_c
    assert found.incremental == pytest.approx((p_t - p_c) * n_t, rel=1e-9, abs=1e-6)
    assert found.standard_error == pytest.approx(n_t * math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c),
                                                 rel=1e-9, abs=1e-6)
    assert found.low <= found.incremental <= found.high
    assert found.high - found.incremental == pytest.approx(found.incremental - found.low, rel=1e-9, abs=1e-6)


KEYED = Experiment(("utm_source", "utm_medium"), ("google", "cpc"), D1, D28, 10, 1, 10, 0)


def test_a_question_meets_the_tests_of_exactly_its_properties_in_its_order():
    swapped = Experiment(("utm_medium", "utm_source"), ("email", "newsletter"), D1, D28, 10, 1, 10, 0)
    source_alone = holdout(10, 1, 10, 0)
    wider = Experiment(("utm_source", "utm_medium", "utm_campaign"), ("google", "cpc", "brand"), D1, D28, 10, 1, 10, 0)
    other = Experiment(("utm_source", "channel"), ("google", "Paid Search"), D1, D28, 10, 1, 10, 0)
    tests = [KEYED, swapped, source_alone, wider, other]
    assert matching(tests, ["utm_source", "utm_medium"]) == [
        KEYED, Experiment(("utm_source", "utm_medium"), ("newsletter", "email"), D1, D28, 10, 1, 10, 0)]
    assert matching(tests, ("utm_medium", "utm_source")) == [
        Experiment(("utm_medium", "utm_source"), ("cpc", "google"), D1, D28, 10, 1, 10, 0), swapped]
    assert matching(tests, ["utm_source"]) == [source_alone]
    assert matching(tests, ["channel"]) == [] and matching([], ["utm_source"]) == []


def test_stored_rows_give_back_the_experiments_and_their_estimates():
    rows = [{"properties": ["utm_source", "utm_medium"], "key": ["google", "cpc"], "start": D1, "end": D28,
             "test_persons": 10, "test_conversions": 1, "control_persons": 10, "control_conversions": 0,
             "imported_at": datetime.datetime(2026, 4, 1)}]
    assert experiments_of(rows) == [KEYED]
    (row,) = estimates([KEYED])
    assert tuple(row) == ESTIMATE_COLUMNS
    assert row["properties"] == ["utm_source", "utm_medium"] and row["key"] == ["google", "cpc"]
    assert (row["incremental"], row["relative_lift"], row["large_enough"]) == (1.0, None, False)
    assert (row["incremental_low"], row["incremental_high"]) == (lift(KEYED).low, lift(KEYED).high)
