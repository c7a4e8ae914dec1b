"""Data-driven attribution models on aggregated journeys: one row per distinct path.

Pure numpy/scipy; no I/O and no events — the engine hands over ``Journeys``.
"""

from utmost.models.journeys import Journeys
from utmost.models.markov import markov
from utmost.models.shapley import shapley

__all__ = ["Journeys", "markov", "shapley"]
