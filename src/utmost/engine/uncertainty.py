"""Bootstrap intervals for every model's credit: persons resampled with replacement.

Each round draws multinomial weights over the persons (how often each was drawn) and
recomputes every total from aggregated rows — a person's credit per model and key for the
rule-based models, a person's journeys per path for Markov and Shapley, which are refitted on
the weighted paths — so 200 rounds cost a few matrix products and fits, never a re-query.
Reproducible for a seed (DESIGN §3 Uncertainty).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sparse

from utmost.models import Journeys, markov, shapley
from utmost.models.markov import Chain

Group = tuple  # (model_order, model, *keys)


def resample(persons: int, rounds: int, seed: int) -> np.ndarray:
    """rounds × persons multinomial weights: each round draws ``persons`` persons with replacement."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(persons, np.full(persons, 1 / persons), size=rounds).astype(float)


def rule_based_rounds(
    weights: np.ndarray, person_index: dict, rows: list[dict], keys: list[str]
) -> dict[Group, np.ndarray]:
    """Per (model, key): credit and revenue in each round, from each person's contribution."""
    groups: dict[Group, int] = {}
    r, c, credit, revenue = [], [], [], []
    for row in rows:
        group = (row["model_order"], row["model"], *(row[k] for k in keys))
        c.append(groups.setdefault(group, len(groups)))
        r.append(person_index[row["person"]])
        credit.append(row["credit"])
        revenue.append(row["revenue"])
    shape = (len(person_index), len(groups))
    by_credit = sparse.csr_matrix((credit, (r, c)), shape=shape)
    by_revenue = sparse.csr_matrix((revenue, (r, c)), shape=shape)
    credits = (by_credit.T @ weights.T).T  # rounds × groups
    revenues = (by_revenue.T @ weights.T).T
    return {g: np.stack([credits[:, i], revenues[:, i]]) for g, i in groups.items()}


def data_driven_rounds(
    weights: np.ndarray,
    person_index: dict,
    journeys: list[dict],
    models: list[tuple[int, str, str]],
    order: int,
    fields: Callable[[str], tuple],
) -> dict[Group, np.ndarray]:
    """Per (model, key) and round: Markov and Shapley refitted on the resampled journeys.

    ``journeys`` rows: person, path (tuple, empty for a conversion without touchpoints),
    conversions, revenue, lost. ``fields`` turns a key into its ``--by`` values. Each round's
    weighted path counts are one sparse product (persons × paths), not a pass over the rows.
    """
    paths = sorted({j["path"] for j in journeys})
    column = {p: i for i, p in enumerate(paths)}
    rows = [person_index[j["person"]] for j in journeys]
    cols = [column[j["path"]] for j in journeys]
    shape = (len(person_index), len(paths))
    per_path = [sparse.csr_matrix(([j[name] for j in journeys], (rows, cols)), shape=shape)
                for name in ("conversions", "revenue", "lost")]
    counts = [np.asarray((m.T @ weights.T).T) for m in per_path]  # rounds × paths, each
    empty = column.get(())
    nonempty = [i for i, p in enumerate(paths) if p]
    # The chain's structure depends on the paths only: built once, refitted every round.
    chain = Chain(tuple(paths[i] for i in nonempty), order) if any(k == "markov" for _, _, k in models) else None
    rounds = weights.shape[0]
    out: dict[Group, np.ndarray] = {}
    for b in range(rounds):
        converted, revenue, lost = (c[b] for c in counts)
        every = Journeys(tuple(paths[i] for i in nonempty), tuple(converted[nonempty]), tuple(revenue[nonempty]),
                         tuple(lost[nonempty]))
        for model_order, name, kind in models:
            totals = _fit(kind, every, chain)
            if empty is not None and converted[empty]:
                totals["(none)"] = (float(converted[empty]), float(revenue[empty]))
            for key, (credit, money) in totals.items():
                group = (model_order, name, *fields(key))
                out.setdefault(group, np.zeros((2, rounds)))[:, b] = (credit, money)
    return out


def _fit(kind: str, data: Journeys, chain: Chain | None) -> dict[str, tuple[float, float]]:
    if not data.paths:
        return {}
    if kind == "markov":
        fitted = markov(data, chain=chain)
        return {k: (fitted.credit[k], fitted.revenue[k]) for k in fitted.credit}
    totals: dict[str, list[float]] = {}
    splits = shapley(data)
    for path, converted, revenue in zip(data.paths, data.conversions, data.revenue):
        for key, share in splits.get(frozenset(path), {}).items():
            entry = totals.setdefault(key, [0.0, 0.0])
            entry[0] += share * converted
            entry[1] += share * revenue
    return {k: (v[0], v[1]) for k, v in totals.items()}


def intervals(rounds: dict[Group, np.ndarray], level: float) -> dict[Group, tuple[float, float, float, float]]:
    """Percentile intervals: (conversions_low, conversions_high, revenue_low, revenue_high)."""
    tail = (1 - level) / 2
    out = {}
    for group, values in rounds.items():
        low, high = np.quantile(values, [tail, 1 - tail], axis=1)
        out[group] = (float(low[0]), float(high[0]), float(low[1]), float(high[1]))
    return out
