"""The named scenarios are fixed, and so is what they give.

Issue 23: a simulator is a fair test of a model only if its worlds were set before the model was
fitted to them. The scenarios' parameters were set from how marketing works (docs/semantics.md
§17) and are pinned here: a change to one fails this test, and must come with a reason that is
not "the model does better on it".
"""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from utmost.simulation.draw import draw
from utmost.simulation.truth import counterfactuals
from utmost.simulation.world import load_params, scenario, scenario_names

#: SHA-256 of each scenario's parameters (as msgspec encodes the World, its description left out).
PINNED = {
    "all": "6d97b8f6e22aa7575399a6f65ee72ffcc0ce5fd6b930f812674e903ef9b9e3f6",
    "decay": "bb454c0ede8fc124578bc6804f48fd036a24c032b668099b940990d24319e7c7",
    "harvest": "97e6c2de95ed044f9bf987b3d5520407271d2808c688f0cb1eb4e8cde185defe",
    "in_market": "9f9b00fdf2c60fcd4d3e38ceb9e24482e09d16b1ab77f92b4f74aca7cbee8ade",
    "independent": "38e07ec6aa538da37acafa091fd5bfbb0a821f12a74d7c5f67a86d0e5cdfb591",
    "repeat": "5ef85a32181628f64e71b5f335939bd4af7dec91bc74ff86066c0f8cbf1a8901",
    "saturation": "7830ebe75fcd13e5c260cc9bf8515fbb78731044179e7bb98a03557a69e60068",
    "synergy": "6961102237eaef0e8276d8517705c286708bed483ae09076af0b49c6ffcba986",
    "targeting": "a007319bb7e9ccc2dac333ba6382d83bac996bb5e9e22184924f2d1f6d2a2912",
}


def digest(name: str) -> str:
    world = msgspec.structs.replace(scenario(name), description="")
    return hashlib.sha256(msgspec.json.encode(world)).hexdigest()


def test_the_scenarios_are_the_pinned_ones():
    assert set(scenario_names()) == set(PINNED)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_a_scenarios_parameters_are_pinned(name: str):
    assert digest(name) == PINNED[name], f"scenario {name}'s parameters changed: they are fixed (issue 23)"


def test_each_scenario_adds_one_effect_to_the_independent_world():
    plain = scenario("independent")
    assert plain.in_market is None and plain.repeat is None and not plain.synergy
    assert all(c.half_life == c.saturation == c.targeting == c.harvest == 0 for c in plain.channel)
    assert {c.half_life > 0 for c in scenario("decay").channel} == {True}
    assert any(c.saturation > 0 for c in scenario("saturation").channel)
    assert scenario("synergy").synergy and scenario("repeat").repeat and scenario("in_market").in_market
    assert [c.source for c in scenario("targeting").channel if c.targeting > 0] == ["criteo"]
    assert [c.source for c in scenario("harvest").channel if c.harvest > 0] == ["brand_search"]
    everything = scenario("all")
    assert everything.in_market and everything.repeat and everything.synergy
    assert all(any(getattr(c, field) > 0 for c in everything.channel)
               for field in ("half_life", "saturation", "targeting", "harvest"))


def test_a_harvest_channel_has_no_effect_of_its_own():
    for name in scenario_names():
        assert all(c.lift == 0 for c in scenario(name).channel if c.harvest > 0)


def test_a_small_all_world_gives_the_pinned_truth():
    """The mechanics, pinned on one small world: a change to how the world is played changes
    these numbers, and is then a change of every scenario's truth, to be made on purpose."""
    world = scenario("all")
    outcome = counterfactuals(world, draw(world, persons=2000, days=90, seed=1))
    assert (outcome.conversions, outcome.baseline, outcome.cents) == (58, 41, 490606)
    assert outcome.removal == [5, 4, 0, 8, 0, 0]
    assert [round(v, 4) for v in outcome.shapley] == [5.6667, 3.1667, 0.5, 7.5, 0.1667, 0.0]


def test_params_that_name_a_scenario_change_only_what_they_say():
    changed = load_params('[[channel]]\nsource = "google"\nlift = 1.0\n[repeat]\nfactor = 3.0\n', "p.toml", "all")
    base = scenario("all")
    assert changed.channel[3].lift == 1.0 and changed.repeat.factor == 3.0
    assert changed.repeat.refractory == base.repeat.refractory
    assert changed.channel[:3] == base.channel[:3] and changed.channel[4:] == base.channel[4:]
    assert msgspec.structs.replace(changed.channel[3], lift=base.channel[3].lift) == base.channel[3]
