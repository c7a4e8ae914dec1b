"""The truth of simulated worlds: hand-worked cases, the exact Shapley values, and the fast
counterfactuals against the plain reference (docs/semantics.md §17)."""

from __future__ import annotations

import math
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simulation import reference

from utmost.simulation import truth as truth_module
from utmost.simulation.draw import Draws, Exposures, draw
from utmost.simulation.truth import counterfactuals, decay, effect_per_exposure, saturate, shapley_weights
from utmost.simulation.world import scenario, to_world

#: A hazard this large makes a purchase certain (1 − e^(−h) rounds to 1): the hand-worked
#: worlds below buy exactly when something acts on a person, whatever their draws.
CERTAIN = 1e9


def world(channels=(), organic=0.0, **tables):
    return to_world({"persons": {"organic": organic, "shape": 1.0}, "channel": list(channels), **tables}, "test")


def channel(source, **fields):
    return {"source": source, "medium": "m", "campaign": "c", "reach": 1.0, "rate": 50.0, "ctr": 0.0, **fields}


def test_an_exposure_decays_by_half_lives_and_its_area_is_its_lift():
    ch = world([channel("a", lift=2.0, half_life=1.0)]).channel[0]
    assert decay(ch) == 0.5
    assert effect_per_exposure(ch) == pytest.approx(0.001)  # 2/1000 · (1 − ½)
    # Its effect on the days after: 0.001, 0.0005, 0.00025, …, whose sum is 0.002 = lift/1000.
    assert sum(effect_per_exposure(ch) * 0.5**d for d in range(60)) == pytest.approx(0.002)
    assert decay(world([channel("b", lift=1.0)]).channel[0]) == 0.0  # no half-life: the effect lasts its day


def test_saturation_by_hand():
    # (1 − e^(−s·a))/s: s = 1, a = 1 → 1 − 1/e; s = 0.5, a = 2 → 2·(1 − 1/e); never above 1/s.
    assert saturate(np.array([1.0]), 1.0)[0] == pytest.approx(1 - math.exp(-1))
    assert saturate(np.array([2.0]), 0.5)[0] == pytest.approx(2 * (1 - math.exp(-1)))
    assert saturate(np.array([1e6]), 0.25)[0] == pytest.approx(4.0)
    assert saturate(np.array([3.0]), 0.0)[0] == 3.0


def test_one_channel_that_makes_everyone_buy():
    """No organic demand, one channel with a certain effect reaching everyone on day 0: every
    person buys once, and the channel caused all of it by both measures."""
    w = world([channel("only", lift=CERTAIN)])
    outcome = counterfactuals(w, draw(w, persons=50, days=5, seed=3))
    assert (outcome.conversions, outcome.baseline) == (50, 0)
    assert outcome.removal == [50] and outcome.shapley == [50.0]
    assert outcome.revenue_shapley == [pytest.approx(outcome.cents / 100)]


def test_two_channels_either_of_which_suffices():
    """v({a}) = v({b}) = v({a, b}) = N: removing either alone loses nothing, and Shapley splits N
    in halves. The removal effects do not add up to what the channels caused; Shapley values do."""
    w = world([channel("a", lift=CERTAIN), channel("b", lift=CERTAIN)])
    outcome = counterfactuals(w, draw(w, persons=40, days=3, seed=1))
    assert (outcome.conversions, outcome.baseline) == (40, 0)
    assert outcome.removal == [0, 0]
    assert outcome.shapley == [20.0, 20.0]


def test_three_persons_by_hand():
    """Exposures chosen by hand, each certain to make its person buy (once: no repeat table).
    Ann is exposed by a on day 2; Ben by a on day 0 and by b on day 1; Cy by nothing.

    v(∅) = 0, v({a}) = 2 (Ann, Ben), v({b}) = 1 (Ben), v({a, b}) = 2.
    φ_a = ½·(v({a}) − v(∅)) + ½·(v({a, b}) − v({b})) = ½·2 + ½·1 = 1.5; φ_b = ½·1 + ½·0 = 0.5.
    Removal: a = v({a, b}) − v({b}) = 1; b = v({a, b}) − v({a}) = 0.
    """
    w = world([channel("a", lift=CERTAIN), channel("b", lift=CERTAIN)])
    days, none, no = 4, np.zeros(3, dtype=bool), np.zeros(0, dtype=np.int64)
    a = np.array([[0, 0, 1, 0], [1, 0, 0, 0]], dtype=np.int32).T  # (days, audience): Ann, Ben
    b = np.array([[0, 1, 0, 0]], dtype=np.int32).T  # Ben
    draws = Draws(seed=9, persons=3, days=days, demand=np.zeros(3), market=None, exposures=(
        Exposures(np.array([0, 1]), a, no, no, no, none), Exposures(np.array([1]), b, no, no, no, none)))
    outcome = counterfactuals(w, draws)
    assert (outcome.conversions, outcome.baseline) == (2, 0)
    assert outcome.removal == [1, 0]
    assert outcome.shapley == [1.5, 0.5]
    assert outcome.purchases[:, :2].tolist() == [[0, 2], [1, 0]]  # (person, day) as it happened


def test_repeat_purchases_by_hand():
    """Certain organic demand, a refractory week, the same demand after: each person buys on days
    0, 7, 14, 21 and 28 of 30. Without the repeat table, once; with no refractory days, daily."""
    def bought(repeat=None):
        w = world(organic=CERTAIN, **({"repeat": repeat} if repeat else {}))
        return counterfactuals(w, draw(w, persons=10, days=30, seed=2))

    weekly = bought({"refractory": 6, "factor": 1.0})
    assert weekly.conversions == weekly.baseline == 50
    assert sorted(set(weekly.purchases[:, 1].tolist())) == [0, 7, 14, 21, 28]
    assert bought().conversions == 10
    assert bought({"refractory": 0, "factor": 1.0}).conversions == 300
    assert bought({"refractory": 0, "factor": 0.0}).conversions == 10  # factor 0: never again


def test_harvest_causes_exactly_nothing():
    w = scenario("harvest")
    outcome = counterfactuals(w, draw(w, persons=3000, days=60, seed=5))
    brand = w.index("brand_search")
    assert outcome.removal[brand] == 0 and outcome.shapley[brand] == 0.0 and outcome.revenue_shapley[brand] == 0.0
    assert outcome.conversions > outcome.baseline > 0


def test_chunks_change_nothing(monkeypatch):
    w = scenario("all")
    draws = draw(w, persons=800, days=40, seed=4)
    whole = counterfactuals(w, draws)
    monkeypatch.setattr(truth_module, "ROWS_PER_CHUNK", 37)
    chunked = counterfactuals(w, draws)
    assert (chunked.conversions, chunked.baseline, chunked.removal, chunked.cents) == \
        (whole.conversions, whole.baseline, whole.removal, whole.cents)
    assert chunked.shapley == pytest.approx(whole.shapley, abs=1e-9)
    assert np.array_equal(chunked.purchases, whole.purchases)


# -- exact Shapley values ---------------------------------------------------------------------


def _by_orders(values: list[float], k: int) -> list[float]:
    """Shapley values by their definition: marginal contributions averaged over every order."""
    found = [0.0] * k
    orders = list(permutations(range(k)))
    for order in orders:
        subset = 0
        for j in order:
            found[j] += (values[subset | 1 << j] - values[subset]) / len(orders)
            subset |= 1 << j
    return found


@given(st.integers(1, 5).flatmap(lambda k: st.tuples(st.just(k), st.lists(
    st.integers(-50, 50), min_size=1 << k, max_size=1 << k))))
def test_the_integer_weights_give_the_shapley_values(game):
    k, values = game
    weights = shapley_weights(k)
    exact = (np.array(values, dtype=np.int64) @ weights) / math.factorial(k)
    assert exact.tolist() == pytest.approx(_by_orders(values, k))
    assert exact.sum() == pytest.approx(values[-1] - values[0])  # efficiency


@given(st.integers(2, 5).flatmap(lambda k: st.tuples(st.just(k), st.lists(
    st.integers(-50, 50), min_size=1 << k, max_size=1 << k))))
def test_symmetric_channels_get_equal_values(game):
    """Make channels 0 and 1 interchangeable (v(S ∪ {0}) = v(S ∪ {1})): their values are equal."""
    k, values = game
    for subset in range(1 << k):
        if subset & 1 and not subset & 2:
            values[subset] = values[subset ^ 1 | 2]
    phi = (np.array(values, dtype=np.int64) @ shapley_weights(k)) / math.factorial(k)
    assert phi[0] == pytest.approx(phi[1])


# -- the fast counterfactuals against the reference -------------------------------------------


@st.composite
def small_worlds(draw_):
    """Worlds with large hazards (so that persons buy often) and every mechanism on or off."""
    count = draw_(st.integers(1, 3))
    channels = [channel(f"c{i}", reach=draw_(st.sampled_from([0.5, 1.0])),
                        rate=draw_(st.sampled_from([0.0, 0.2, 1.0, 3.0])),
                        ctr=draw_(st.sampled_from([0.0, 0.3])),
                        lift=draw_(st.sampled_from([0.0, 10.0, 60.0, 300.0])),
                        half_life=draw_(st.sampled_from([0.0, 0.5, 3.0])),
                        saturation=draw_(st.sampled_from([0.0, 0.5, 2.0])),
                        targeting=draw_(st.sampled_from([0.0, 1.0, 2.0])))
                for i in range(count)]
    tables = {}
    if draw_(st.booleans()):
        tables["in_market"] = {"enter": 0.2, "leave": 0.3, "out": draw_(st.sampled_from([0.0, 0.2]))}
    if draw_(st.booleans()):
        tables["repeat"] = {"refractory": draw_(st.integers(0, 3)), "factor": draw_(st.sampled_from([0.0, 0.5, 2.0]))}
    if count >= 2 and draw_(st.integers(0, 3)):  # mostly
        tables["synergy"] = [{"channels": ["c0", "c1"], "strength": draw_(st.sampled_from([-1.0, -0.5, 2.0, 10.0]))}]
    organic = draw_(st.sampled_from([0.0, 20.0, 100.0]))
    built = to_world({"persons": {"organic": organic, "shape": draw_(st.sampled_from([0.3, 2.0]))},
                      "channel": channels, **tables}, "test")
    return built, draw_(st.integers(2, 16)), draw_(st.integers(1, 12)), draw_(st.integers(0, 2**32))


@settings(max_examples=80, deadline=None)
@given(small_worlds())
def test_counterfactuals_agree_with_the_reference(case):
    w, persons, days, seed = case
    draws = draw(w, persons, days, seed)
    fast = counterfactuals(w, draws)
    slow = reference.truth(w, draws)
    assert (fast.conversions, fast.baseline, fast.removal, fast.cents, fast.baseline_cents) == \
        (slow["conversions"], slow["baseline"], slow["removal"], slow["cents"], slow["baseline_cents"])
    assert fast.shapley == pytest.approx(slow["shapley"], abs=1e-9)
    assert fast.revenue_shapley == pytest.approx(slow["revenue_shapley"], abs=1e-6)
    assert math.fsum(fast.shapley) == pytest.approx(fast.conversions - fast.baseline, abs=1e-9)  # efficiency
    assert math.fsum(fast.revenue_shapley) == pytest.approx((fast.cents - fast.baseline_cents) / 100, abs=1e-6)
    assert len(fast.purchases) == fast.conversions


def test_efficiency_at_scale():
    w = scenario("all")
    outcome = counterfactuals(w, draw(w, persons=5000, days=90, seed=11))
    assert math.fsum(outcome.shapley) == pytest.approx(outcome.conversions - outcome.baseline, abs=1e-9)
    assert math.fsum(outcome.revenue_shapley) == pytest.approx((outcome.cents - outcome.baseline_cents) / 100,
                                                               abs=1e-6)


#: One world per mechanism, with hazards near the draws' thresholds so that each decides purchases.
MECHANISMS = {
    "synergy": {"synergy": [{"channels": ["c0", "c1"], "strength": 3.0}]},
    "negative synergy": {"synergy": [{"channels": ["c0", "c1"], "strength": -0.8}]},
    "saturation": {"channel": [channel("c0", rate=3.0, lift=40.0, half_life=2.0, saturation=1.0),
                               channel("c1", rate=1.0, lift=80.0, saturation=0.5)]},
    "targeting": {"channel": [channel("c0", rate=0.5, lift=40.0, targeting=2.0),
                              channel("c1", reach=0.5, rate=1.0, lift=80.0, half_life=1.0)]},
    "in_market": {"in_market": {"enter": 0.1, "leave": 0.2, "out": 0.1}},
    "repeat": {"repeat": {"refractory": 2, "factor": 1.5}},
}


@pytest.mark.parametrize("mechanism", sorted(MECHANISMS))
def test_each_mechanism_agrees_with_the_reference(mechanism):
    tables = {"channel": [channel("c0", rate=1.0, lift=30.0, half_life=2.0),
                          channel("c1", reach=0.7, rate=0.5, lift=120.0, half_life=1.0)],
              **MECHANISMS[mechanism]}
    w = to_world({"persons": {"organic": 15.0, "shape": 1.0}, **tables}, "test")
    for seed in range(3):
        draws = draw(w, persons=25, days=15, seed=seed)
        fast, slow = counterfactuals(w, draws), reference.truth(w, draws)
        assert (fast.conversions, fast.baseline, fast.removal, fast.cents) == \
            (slow["conversions"], slow["baseline"], slow["removal"], slow["cents"])
        assert fast.shapley == pytest.approx(slow["shapley"], abs=1e-9)
        assert fast.revenue_shapley == pytest.approx(slow["revenue_shapley"], abs=1e-6)
        assert fast.conversions > fast.baseline  # the channels do something here
