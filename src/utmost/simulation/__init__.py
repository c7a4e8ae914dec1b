"""``utmost simulate``: a seeded causal simulator of a site's traffic, and the exact truth of what each channel caused.

Click-path models say which touchpoints preceded a conversion, not which caused it. A simulated
world knows: its persons, channels and effects are parameters (:mod:`~utmost.simulation.world`,
the named scenarios under ``scenarios/``), every random number is drawn once
(:mod:`~utmost.simulation.draw`), and the counterfactual worlds with channels removed share those
draws (:mod:`~utmost.simulation.truth`). :func:`simulate` writes the events a site would have
recorded (:mod:`~utmost.simulation.events`), the truth beside them, and, with a holdout, the
experiment's counts (:mod:`~utmost.simulation.experiments`). docs/semantics.md §17 is the
definition of all of it.

The scenarios were set from how marketing works, before any model was fitted to them, and a test
pins them (tests/simulation/test_scenarios.py): they are not to be tuned toward a model.
"""

from typing import TYPE_CHECKING

from utmost.lazy import exports

if TYPE_CHECKING:
    from utmost.simulation.run import EVENTS, EXPERIMENTS, TRUTH, Progress, Simulation, simulate
    from utmost.simulation.world import MAX_CHANNELS, World, describe, load_params, scenario, scenario_names

__getattr__ = exports(__name__, {
    "EVENTS": "utmost.simulation.run",
    "EXPERIMENTS": "utmost.simulation.run",
    "TRUTH": "utmost.simulation.run",
    "Progress": "utmost.simulation.run",
    "Simulation": "utmost.simulation.run",
    "simulate": "utmost.simulation.run",
    "MAX_CHANNELS": "utmost.simulation.world",
    "World": "utmost.simulation.world",
    "describe": "utmost.simulation.world",
    "load_params": "utmost.simulation.world",
    "scenario": "utmost.simulation.world",
    "scenario_names": "utmost.simulation.world",
})

__all__ = ["EVENTS", "EXPERIMENTS", "MAX_CHANNELS", "TRUTH", "Progress", "Simulation", "World", "describe",
           "load_params", "scenario", "scenario_names", "simulate"]
