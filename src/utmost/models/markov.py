"""``markov``: removal effects of an order-k Markov chain over journeys, solved exactly.

States are the last min(i, k) keys of a path; transitions are counted over all journeys from
``start`` to ``conversion`` or ``null``. The probability of conversion from ``start`` is the
solution of a sparse linear system (absorbing chain), not a simulation, so the same journeys
always give the same credit, to the last bit. Removing key c redirects every transition into
a state holding c to ``null``; RE_c = 1 − P₋c / P (DESIGN §3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse
import scipy.sparse.linalg as sparse_linalg

from utmost.models.journeys import Journeys, Path

START: tuple = ()
MAX_ORDER = 4


@dataclass(frozen=True)
class Markov:
    """The fitted chain: conversion probability, removal effects and the credit they give."""

    probability: float
    removal_effects: dict[str, float]
    credit: dict[str, float]
    revenue: dict[str, float]
    transitions: dict[tuple[Path, Path | str], int]

    def split(self, path: Path) -> dict[str, float]:
        """One conversion's 1 over the keys of its own path, in proportion to their effects."""
        keys = sorted(set(path))
        effects = np.array([self.removal_effects.get(k, 0.0) for k in keys])
        total = effects.sum()
        if total <= 0:
            return {k: 1 / len(keys) for k in keys}
        return {k: float(e / total) for k, e in zip(keys, effects) if e > 0}


def states_of(path: Path, order: int) -> list[Path]:
    return [tuple(path[max(0, i + 1 - order): i + 1]) for i in range(len(path))]


def markov(journeys: Journeys, order: int = 1) -> Markov:
    """Fit the chain and credit each key (DESIGN §3 ``markov``)."""
    if not 1 <= order <= MAX_ORDER:
        raise ValueError(f"markov order must be 1 to {MAX_ORDER}, not {order}")
    transitions = _count(journeys, order)
    states = sorted({s for s, _ in transitions if s != START} | {t for _, t in transitions if isinstance(t, tuple)})
    index = {s: i + 1 for i, s in enumerate(states)}  # 0 is start
    q, r = _matrices(transitions, index)
    probability = _absorb(q, r)
    keys = journeys.keys
    effects = {}
    for key in keys:
        holding = np.array([False] + [key in s for s in states])
        removed = _absorb(_keep_columns(q, ~holding), r)
        effects[key] = max(0.0, 1 - removed / probability) if probability > 0 else 0.0
    total = sum(effects.values())
    converted = sum(c for p, c in zip(journeys.paths, journeys.conversions) if p)
    money = sum(m for p, m in zip(journeys.paths, journeys.revenue) if p)
    if total > 0:
        credit = {k: e / total * converted for k, e in effects.items() if e > 0}
        revenue = {k: e / total * money for k, e in effects.items() if e > 0}
    else:  # no key changes anything (e.g. nothing converts): nothing to hand out
        credit, revenue = {}, {}
    return Markov(probability, effects, credit, revenue, transitions)


def _count(journeys: Journeys, order: int) -> dict[tuple[Path, Path | str], int]:
    counts: dict[tuple[Path, Path | str], int] = {}
    for path, converted, lost in zip(journeys.paths, journeys.conversions, journeys.non_conversions):
        weight = converted + lost
        if not path or not weight:
            continue
        chain = [START, *states_of(path, order)]
        for a, b in zip(chain, chain[1:]):
            counts[(a, b)] = counts.get((a, b), 0) + weight
        for end, n in (("conversion", converted), ("null", lost)):
            if n:
                counts[(chain[-1], end)] = counts.get((chain[-1], end), 0) + n
    return counts


def _matrices(transitions, index) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Q (transient → transient probabilities) and r (→ conversion), start at row 0."""
    size = len(index) + 1
    out = np.zeros(size)
    for (a, _), n in transitions.items():
        out[0 if a == START else index[a]] += n
    rows, cols, values = [], [], []
    r = np.zeros(size)
    for (a, b), n in sorted(transitions.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))):
        i = 0 if a == START else index[a]
        if b == "conversion":
            r[i] += n / out[i]
        elif b != "null":
            rows.append(i)
            cols.append(index[b])
            values.append(n / out[i])
    q = sparse.csr_matrix((values, (rows, cols)), shape=(size, size))
    return q, r


def _keep_columns(q: sparse.csr_matrix, keep: np.ndarray) -> sparse.csr_matrix:
    """Q with the columns of removed states zeroed: their probability now goes to null."""
    return q @ sparse.diags(keep.astype(float))


#: Chains with more states than this are solved by fixed-point iteration (below).
DIRECT_UP_TO = 4000
MAX_ITERATIONS = 20_000


def _absorb(q: sparse.csr_matrix, r: np.ndarray) -> float:
    """P(absorbed in conversion | start) = [(I − Q)⁻¹ r]₀.

    I − Q is non-singular: every state seen has a way out (each path ends), and removing
    states only sends more mass to null. Small chains are factorised (SuperLU). Large ones —
    order 3 over dozens of channels has tens of thousands of states, and a factorisation per
    removed key took seconds each — iterate x ← r + Qx from x = r until x stops changing to
    the last bit: journeys are short, so it converges in tens of sparse products to the same
    solution, and the same input always takes the same steps.
    """
    size = q.shape[0]
    if size > DIRECT_UP_TO:
        x = r.copy()
        for _ in range(MAX_ITERATIONS):
            following = r + q @ x
            if np.array_equal(following, x):
                return float(x[0])
            x = following
    system = (sparse.identity(size, format="csc") - q.tocsc()).tocsc()
    solution = sparse_linalg.spsolve(system, r)
    return float(np.atleast_1d(solution)[0])
