"""Data-driven attribution models on aggregated journeys: one row per distinct path.

Pure numpy/scipy; no I/O and no events — the engine hands over ``Journeys``. Each model is its
module (:mod:`~utmost.models.markov`, :mod:`~utmost.models.shapley`), imported where it is used,
so that nothing loads numpy and scipy before a data-driven model is asked for.
"""

#: The highest Markov order the chain is built for: the states of an order-k chain grow as the
#: keys to the k-th power.
MAX_MARKOV_ORDER = 4
