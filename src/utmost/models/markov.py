"""``markov``: removal effects of an order-k Markov chain over journeys, solved exactly.

States are the last min(i, k) keys of a path; transitions are counted over all journeys from
``start`` to ``conversion`` or ``null``. The probability of conversion from ``start`` is the
solution of a sparse linear system (absorbing chain), not a simulation, so the same journeys
always give the same credit, to the last bit. Removing key c redirects every transition into
a state holding c to ``null``; RE_c = 1 − P₋c / P (docs/semantics.md §9).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sparse
import scipy.sparse.linalg as sparse_linalg

from utmost.models import MAX_MARKOV_ORDER
from utmost.models.journeys import Journeys, Path

START: tuple = ()


@dataclass(frozen=True)
class Markov:
    """The fitted chain: conversion probability, removal effects and the credit they give."""

    probability: float
    removal_effects: dict[str, float]
    credit: dict[str, float]
    revenue: dict[str, float]
    counted: Callable[[], dict[tuple[Path, Path | str], float]] = field(compare=False, repr=False)

    @property
    def transitions(self) -> dict[tuple[Path, Path | str], float]:
        """Every counted transition (start is ``()``, ends are "conversion" and "null")."""
        return self.counted()

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


class Chain:
    """The structure of an order-k chain over fixed paths: the states and transitions each
    path makes. Fitting it to counts is then a few sparse products and solves, so the
    bootstrap refits it hundreds of times without walking the paths again."""

    def __init__(self, paths: tuple[Path, ...], order: int) -> None:
        if not 1 <= order <= MAX_MARKOV_ORDER:
            raise ValueError(f"markov order must be 1 to {MAX_MARKOV_ORDER}, not {order}")
        self.paths = paths
        index: dict[Path, int] = {START: 0}
        edges: dict[tuple[int, int], int] = {}
        rows, cols, ends = [], [], []
        for number, path in enumerate(paths):
            chain = [0, *(index.setdefault(state, len(index)) for state in states_of(path, order))]
            for step in zip(chain, chain[1:]):
                rows.append(number)
                cols.append(edges.setdefault(step, len(edges)))
            ends.append(chain[-1])
        self.states = list(index)
        self.size = len(index)
        self.keys = sorted({key for path in paths for key in path})
        # For each key, the states holding it: those its removal sends to null.
        self.holding = {key: np.array([key in state for state in self.states]) for key in self.keys}
        self.incidence = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(paths), len(edges)))
        self.edge_from = np.array([a for a, _ in edges], dtype=np.int64)
        self.edge_to = np.array([b for _, b in edges], dtype=np.int64)
        self.ends = np.array(ends, dtype=np.int64)

    def fit(self, conversions: np.ndarray, lost: np.ndarray) -> tuple[float, dict[str, float], Callable[[], dict]]:
        """P(conversion), the removal effect of every key, and a function giving the counts."""
        along = self.incidence.T @ (conversions + lost)
        converted = np.bincount(self.ends, weights=conversions, minlength=self.size)
        nulls = np.bincount(self.ends, weights=lost, minlength=self.size)
        leaving = np.bincount(self.edge_from, weights=along, minlength=self.size) + converted + nulls
        safe = np.where(leaving > 0, leaving, 1.0)
        moves = along / safe[self.edge_from]
        r = converted / safe
        if self.size <= DENSE_UP_TO:  # a few channels: LAPACK on a dense matrix beats sparse set-up
            q = np.zeros((self.size, self.size))
            np.add.at(q, (self.edge_from, self.edge_to), moves)
            system = np.identity(self.size) - q

            def absorb(keep: np.ndarray | None = None) -> float:
                matrix = system if keep is None else np.identity(self.size) - q * keep
                return float(np.linalg.solve(matrix, r)[0])
        else:
            sparse_q = sparse.csr_matrix((moves, (self.edge_from, self.edge_to)), shape=(self.size, self.size))

            def absorb(keep: np.ndarray | None = None) -> float:
                return _absorb(sparse_q if keep is None else _keep_columns(sparse_q, keep), r)

        probability = absorb()
        effects = {}
        for key in self.keys:
            removed = absorb(~self.holding[key])
            effects[key] = max(0.0, 1 - removed / probability) if probability > 0 else 0.0
        return probability, effects, lambda: self._counts(along, converted, nulls)

    def _counts(self, along, converted, nulls) -> dict[tuple[Path, Path | str], float]:
        counts: dict[tuple[Path, Path | str], float] = {}
        for a, b, n in zip(self.edge_from, self.edge_to, along):
            if n:
                counts[(self.states[a], self.states[b])] = float(n)
        for end, column in (("conversion", converted), ("null", nulls)):
            for state in np.flatnonzero(column):
                counts[(self.states[state], end)] = float(column[state])
        return counts


def markov(journeys: Journeys, order: int = 1, chain: Chain | None = None) -> Markov:
    """Fit the chain and credit each key (docs/semantics.md §9).

    ``chain``: a :class:`Chain` built over these very paths, reused (the bootstrap's rounds).
    """
    chain = chain or Chain(journeys.paths, order)
    conversions = np.asarray(journeys.conversions, dtype=float)
    lost = np.asarray(journeys.non_conversions, dtype=float)
    probability, effects, counted = chain.fit(conversions, lost)
    total = sum(effects.values())
    # Journeys come sorted by path, so these sums run in one order: the same bits every time.
    converted = float(np.sum(conversions))
    money = float(np.sum(np.asarray(journeys.revenue, dtype=float)))
    if total > 0:
        credit = {k: e / total * converted for k, e in effects.items() if e > 0}
        revenue = {k: e / total * money for k, e in effects.items() if e > 0}
    else:  # no key changes anything (e.g. nothing converts): nothing to hand out
        credit, revenue = {}, {}
    return Markov(probability, effects, credit, revenue, counted)


def _keep_columns(q: sparse.csr_matrix, keep: np.ndarray) -> sparse.csr_matrix:
    """Q with the columns of removed states zeroed: their probability now goes to null."""
    return q @ sparse.diags(keep.astype(float))


#: Chains up to this many states are solved densely, up to DIRECT_UP_TO by a sparse
#: factorisation, larger ones by fixed-point iteration (see _absorb).
DENSE_UP_TO = 256
DIRECT_UP_TO = 500
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
