"""Bootstrap intervals for every model's credit: persons resampled with replacement.

Each round draws multinomial weights over the persons (how often each was drawn) and
recomputes every total from aggregated rows — a person's credit per model and key for the
rule-based models, a person's journeys per path for Markov and Shapley, which are refitted on
the weighted paths — so 200 rounds cost a few matrix products and fits, never a re-query.
Reproducible for a seed (docs/semantics.md §11).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import scipy.sparse as sparse

from utmost.engine.models import Model
from utmost.models.journeys import Journeys

Group = tuple  # (model_order, model, *keys)


#: Rounds drawn at once: 16 × a million persons of weights is 128 MB.
BATCH = 16


def resample(persons: int, rounds: int, seed: int) -> Iterator[np.ndarray]:
    """Batches of rounds × persons multinomial weights: each round (a row) draws ``persons``
    persons with replacement. One generator for all batches, so a seed fixes every round."""
    rng = np.random.default_rng(seed)
    for start in range(0, rounds, BATCH):
        size = min(BATCH, rounds - start)
        weights = np.empty((size, persons))
        for row in weights:
            # Drawing the persons and counting them is the multinomial, without its per-category cost.
            row[:] = np.bincount(rng.integers(0, persons, persons), minlength=persons)
        yield weights


class RuleBased:
    """Each person's credit per (model, key), as a sparse groups × persons matrix."""

    def __init__(self, person_index: dict, rows: list[dict], keys: list[str]) -> None:
        groups: dict[Group, int] = {}
        r, c, credit, revenue = [], [], [], []
        for row in rows:
            group = (row["model_order"], row["model"], *(row[k] for k in keys))
            c.append(groups.setdefault(group, len(groups)))
            r.append(person_index[row["person"]])
            credit.append(row["credit"])
            revenue.append(row["revenue"])
        shape = (len(groups), len(person_index))
        self.groups = groups
        self.credit = sparse.csr_matrix((credit, (c, r)), shape=shape)
        self.revenue = sparse.csr_matrix((revenue, (c, r)), shape=shape)

    def rounds(self, weights: np.ndarray) -> dict[Group, np.ndarray]:
        """Per group: [credit, revenue] × the rounds of this batch."""
        # One sparse matrix-vector product a round: a (… × persons) matrix times a row, uncopied.
        credits = np.stack([self.credit @ w for w in weights], axis=1)  # groups × rounds
        revenues = np.stack([self.revenue @ w for w in weights], axis=1)
        return {g: np.stack([credits[i], revenues[i]]) for g, i in self.groups.items()}


class DataDriven:
    """The learned models refitted on resampled journeys: persons × paths matrices, built once.

    ``journeys`` rows: person, path (tuple, empty for a conversion without touchpoints),
    conversions, revenue, lost. ``models``: (model_order, model) pairs; ``options`` holds the
    parameters they read. ``fields`` turns a key into its ``--by`` values. Each round's weighted
    path counts are one sparse product, not a pass over the rows; what a model's rounds share
    (Markov's chain) is prepared once.
    """

    def __init__(self, person_index: dict, journeys: list[dict], models: list[tuple[int, Model]], options: Any,
                 fields: Callable[[str], tuple]) -> None:
        self.paths = sorted({j["path"] for j in journeys})
        column = {p: i for i, p in enumerate(self.paths)}
        rows = [person_index[j["person"]] for j in journeys]
        cols = [column[j["path"]] for j in journeys]
        shape = (len(self.paths), len(person_index))
        self.per_path = [sparse.csr_matrix(([j[name] for j in journeys], (cols, rows)), shape=shape)
                         for name in ("conversions", "revenue", "lost")]
        for matrix in self.per_path:
            matrix.eliminate_zeros()  # a lost journey is no conversion: half the work per round
        self.empty = column.get(())
        self.nonempty = [i for i, p in enumerate(self.paths) if p]
        self.nonempty_paths = tuple(self.paths[i] for i in self.nonempty)
        self.fields = fields
        prepared = {m.name: m.rounds(self.nonempty_paths, options) for _, m in models}
        self.models = [(model_order, m.name, prepared[m.name]) for model_order, m in models]

    def rounds(self, weights: np.ndarray) -> dict[Group, np.ndarray]:
        out: dict[Group, np.ndarray] = {}
        size = weights.shape[0]
        for b in range(size):
            converted, revenue, lost = (m @ weights[b] for m in self.per_path)
            keep = self.nonempty
            every = Journeys(self.nonempty_paths, converted[keep], revenue[keep], lost[keep])
            for model_order, name, refit in self.models:
                totals = refit(every) if every.paths else {}
                if self.empty is not None and converted[self.empty]:
                    totals["(none)"] = (float(converted[self.empty]), float(revenue[self.empty]))
                for key, (credit, money) in totals.items():
                    group = (model_order, name, *self.fields(key))
                    out.setdefault(group, np.zeros((2, size)))[:, b] = (credit, money)
        return out


def bootstrap(estimators: list, persons: int, rounds: int, seed: int) -> dict[Group, np.ndarray]:
    """Every group's [credit, revenue] in each of ``rounds`` rounds, batch by batch."""
    out: dict[Group, np.ndarray] = {}
    done = 0
    for weights in resample(persons, rounds, seed):
        for estimator in estimators:
            for group, values in estimator.rounds(weights).items():
                out.setdefault(group, np.zeros((2, rounds)))[:, done:done + weights.shape[0]] = values
        done += weights.shape[0]
    return out


def intervals(rounds: dict[Group, np.ndarray], level: float) -> dict[Group, tuple[float, float, float, float]]:
    """Percentile intervals: (conversions_low, conversions_high, revenue_low, revenue_high)."""
    tail = (1 - level) / 2
    out = {}
    for group, values in rounds.items():
        low, high = np.quantile(values, [tail, 1 - tail], axis=1)
        out[group] = (float(low[0]), float(high[0]), float(low[1]), float(high[1]))
    return out
