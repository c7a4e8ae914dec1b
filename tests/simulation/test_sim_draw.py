"""The draws of a simulated world: drawn once, the same whichever channels are removed or added,
and shaped as docs/semantics.md §17 says (targeting, in-market periods, holdouts)."""

from __future__ import annotations

import numpy as np
import pytest

from utmost.simulation.draw import draw, uniforms
from utmost.simulation.world import scenario, to_world


def world(channels, **tables):
    return to_world({"persons": {"organic": 1.0, "shape": 0.5}, "channel": channels, **tables}, "test")


def channel(source, **fields):
    return {"source": source, "medium": "m", "campaign": "c", "reach": 0.5, "rate": 0.4, "ctr": 0.1, **fields}


def test_uniforms_are_a_function_of_seed_stream_person_and_day():
    persons = np.arange(100_000)
    u = uniforms(7, 1, persons, 3)
    assert np.all((u > 0) & (u < 1)) and abs(u.mean() - 0.5) < 0.005
    assert np.array_equal(u[::7], uniforms(7, 1, persons[::7], 3))  # whoever else is asked for
    for other in (uniforms(8, 1, persons, 3), uniforms(7, 2, persons, 3), uniforms(7, 1, persons, 4)):
        assert not np.any(other == u)


def test_targeting_moves_exposures_to_demand_and_keeps_their_number():
    w = world([channel("plain"), channel("targeted", targeting=2.0)])
    draws = draw(w, persons=40_000, days=30, seed=1)
    plain, targeted = draws.exposures
    for exposures in (plain, targeted):
        per_day = exposures.counts.sum() / (exposures.persons.size * 30)
        assert per_day == pytest.approx(0.4, rel=0.05)
    demand = draws.demand
    assert np.corrcoef(demand[plain.persons], plain.counts.sum(axis=0))[0, 1] == pytest.approx(0, abs=0.03)
    assert np.corrcoef(demand[targeted.persons], targeted.counts.sum(axis=0))[0, 1] > 0.5
    assert targeted.clicks == pytest.approx(0.1 * targeted.counts.sum(), rel=0.05)


def test_in_market_days_follow_the_chain():
    w = world([], in_market={"enter": 0.02, "leave": 0.1, "out": 0.05})
    market = draw(w, persons=20_000, days=60, seed=2).market
    inside = market == 1.0
    assert set(np.unique(market).tolist()) == {np.float32(0.05), 1.0}
    assert inside.mean() == pytest.approx(0.02 / 0.12, rel=0.05)
    leaving = (inside[:-1] & ~inside[1:]).sum() / inside[:-1].sum()
    assert leaving == pytest.approx(0.1, rel=0.05)


def test_a_channel_draws_the_same_whatever_the_other_channels():
    alone = draw(world([channel("b")]), persons=5_000, days=20, seed=3).exposures[0]
    among = draw(world([channel("a"), channel("b"), channel("c")]), persons=5_000, days=20, seed=3).exposures[1]
    assert np.array_equal(alone.persons, among.persons) and np.array_equal(alone.counts, among.counts)


def test_a_holdout_removes_its_persons_exposures_and_nothing_else():
    w = scenario("all")
    before = draw(w, persons=5_000, days=30, seed=4)
    after = draw(w, persons=5_000, days=30, seed=4, holdout={"criteo": 0.25})
    criteo = w.index("criteo")
    held = after.exposures[criteo].held_out
    assert held.mean() == pytest.approx(0.25, abs=0.03)
    assert not np.isin(after.exposures[criteo].persons, np.flatnonzero(held)).any()
    kept = ~held[before.exposures[criteo].persons]
    assert np.array_equal(before.exposures[criteo].persons[kept], after.exposures[criteo].persons)
    assert np.array_equal(before.exposures[criteo].counts[:, kept], after.exposures[criteo].counts)
    clicks = after.exposures[criteo]
    assert not held[clicks.persons[clicks.click_members]].any()
    assert np.array_equal(before.demand, after.demand) and np.array_equal(before.market, after.market)
    for c, (one, other) in enumerate(zip(before.exposures, after.exposures)):
        if c != criteo:
            assert np.array_equal(one.counts, other.counts) and not other.held_out.any()
