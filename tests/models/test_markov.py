"""``markov``: hand-worked chains, exact rational arithmetic, and the order-1 identity."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utmost.models.journeys import Journeys
from utmost.models.markov import markov
from utmost.models.markov import states_of


def journeys(*rows):
    return Journeys.from_rows([(tuple(p), c, float(r), n) for p, c, r, n in rows])


THREE_PATHS = journeys(("AB", 1, 100, 0), ("A", 0, 0, 1), ("B", 1, 50, 1))


def test_three_paths_by_hand():
    """Transitions: start→A 2, start→B 2; A→B 1, A→null 1; B→conv 2, B→null 1.
    P(B) = 2/3, P(A) = ½·P(B) = 1/3, P = ½·P(A) + ½·P(B) = 1/2.
    Without A: start→A goes to null, P₋A = ½·2/3 = 1/3, RE_A = 1 − (1/3)/(1/2) = 1/3.
    Without B: every way to conversion passes B, P₋B = 0, RE_B = 1.
    Credit: 2 conversions × (1/3, 1) / (4/3) = (0.5, 1.5); revenue 150 × the same shares."""
    fitted = markov(THREE_PATHS)
    assert fitted.probability == pytest.approx(0.5, abs=1e-15)
    assert fitted.removal_effects == pytest.approx({"A": 1 / 3, "B": 1.0}, abs=1e-15)
    assert fitted.credit == pytest.approx({"A": 0.5, "B": 1.5}, abs=1e-12)
    assert fitted.revenue == pytest.approx({"A": 37.5, "B": 112.5}, abs=1e-9)
    assert fitted.split(("A", "B")) == pytest.approx({"A": 0.25, "B": 0.75})


def test_order_two_sees_what_order_one_cannot():
    """After A, B converts; after C, B never does. Order 1 pools every B; order 2 tells them apart.
    Order 1: P(B) = 1/2 whatever came before, so A and C look alike (RE_A = RE_C = 1/2).
    Order 2: state (A,B) converts always, (C,B) never: removing C changes nothing, RE_C = 0."""
    data = journeys(("AB", 1, 10, 0), ("CB", 0, 0, 1))
    first = markov(data, order=1)
    second = markov(data, order=2)
    assert first.removal_effects == pytest.approx({"A": 0.5, "B": 1.0, "C": 0.5})
    assert second.removal_effects == pytest.approx({"A": 1.0, "B": 1.0, "C": 0.0})
    assert "C" not in second.credit and second.credit == pytest.approx({"A": 0.5, "B": 0.5})


def test_states_of_a_path():
    assert states_of(("A", "B", "A", "C"), 2) == [("A",), ("A", "B"), ("B", "A"), ("A", "C")]
    assert states_of(("A", "A"), 1) == [("A",), ("A",)]


def test_self_loops_and_unconverting_states_do_not_break_the_solve():
    fitted = markov(journeys(("AAAA", 1, 1, 3), ("BB", 0, 0, 2), ("C", 0, 0, 1)), order=3)
    assert fitted.credit == pytest.approx({"A": 1.0})
    assert set(fitted.removal_effects) == {"A", "B", "C"} and fitted.removal_effects["B"] == 0


def test_nothing_converts():
    fitted = markov(journeys(("AB", 0, 0, 2)))
    assert fitted.probability == 0 and fitted.credit == {}


def test_deterministic_to_the_bit():
    data = journeys(*[(random.Random(i).choices("ABCDE", k=1 + i % 5), i % 3, i * 1.5, i % 2) for i in range(60)])
    assert markov(data, 2) == markov(data, 2)


def _chain(data: Journeys) -> dict:
    """The fitted order-1 chain as exact probabilities: {state: {next: Fraction}}."""
    counts: dict = {}
    for path, c, n in zip(data.paths, data.conversions, data.non_conversions):
        chain = ["start", *path]
        for a, b in zip(chain, chain[1:]):
            counts.setdefault(a, {}).setdefault(b, 0)
            counts[a][b] += c + n
        for end, k in (("conv", c), ("null", n)):
            counts.setdefault(chain[-1], {}).setdefault(end, 0)
            counts[chain[-1]][end] += k
    return {a: {b: Fraction(int(k), int(sum(outs.values()))) for b, k in outs.items()} for a, outs in counts.items()}


def _absorb(chain: dict, start, target) -> Fraction:
    """P(the walk from ``start`` ends in ``target``), by Gaussian elimination over fractions."""
    states = list(chain)
    index = {s: i for i, s in enumerate(states)}
    size = len(states)
    matrix = [[Fraction(int(i == j)) for j in range(size)] + [Fraction(0)] for i in range(size)]
    for a, outs in chain.items():
        for b, p in outs.items():
            if b == target:
                matrix[index[a]][size] += p
            elif b in index:
                matrix[index[a]][index[b]] -= p
    for col in range(size):
        pivot = next(r for r in range(col, size) if matrix[r][col] != 0)
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        for r in range(size):
            if r != col and matrix[r][col] != 0:
                factor = matrix[r][col] / matrix[col][col]
                matrix[r] = [x - factor * y for x, y in zip(matrix[r], matrix[col])]
    return matrix[index[start]][size] / matrix[index[start]][index[start]]


def _exact(data: Journeys, removed: str | None = None) -> Fraction:
    """P(conversion) of the order-1 chain; with ``removed``, moves into it go to null."""
    chain = _chain(data)
    if removed is not None:
        chain = {a: {("null" if b == removed else b): p for b, p in outs.items()} for a, outs in chain.items()}
        chain = {a: _merged(outs) for a, outs in chain.items()}
    return _absorb(chain, "start", "conv")


def _merged(outs):
    merged: dict = {}
    for b, p in outs.items():
        merged[b] = merged.get(b, 0) + p
    return merged


def _visits(data: Journeys, key: str) -> Fraction:
    """P(the walk visits ``key`` | it converts), on the chain with a visited flag: no removal."""
    chain = _chain(data)
    flagged = {}
    for a, outs in chain.items():
        for seen in (False, True):
            flagged[(a, seen)] = {
                (b if b in ("conv", "null") else (b, seen or b == key)) if b != "conv" else ("conv", seen): p
                for b, p in outs.items()
            }
    converted_seen = _absorb(flagged, ("start", False), ("conv", True))
    return converted_seen / _absorb(chain, "start", "conv")


paths = st.lists(st.tuples(st.lists(st.sampled_from("ABCD"), min_size=1, max_size=4),
                           st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(rows=paths)
def test_sparse_solve_equals_exact_rationals(rows):
    data = journeys(*[(p, c, c * 10, n) for p, c, n in rows])
    if not data.paths:
        return  # only empty journeys: nothing to fit
    fitted = markov(data)
    exact = _exact(data)
    assert fitted.probability == pytest.approx(float(exact), abs=1e-12)
    for key in data.keys:
        without = _exact(data, removed=key)
        expected = 1 - without / exact if exact else 0
        assert fitted.removal_effects[key] == pytest.approx(float(expected), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(rows=paths)
def test_order_one_removal_effect_is_the_chance_a_converting_walk_visits_the_key(rows):
    """For order 1, RE_c = P(the chain's walk visits c | it converts): computed here on a chain
    that remembers whether c was visited, with no removal at all, in exact fractions."""
    data = journeys(*[(p, c, 0, n) for p, c, n in rows])
    if not data.converted:
        return
    fitted = markov(data)
    for key in data.keys:
        assert fitted.removal_effects[key] == pytest.approx(float(_visits(data, key)), abs=1e-12)
    assert all(e >= 0 for e in fitted.removal_effects.values())
    assert sum(fitted.credit.values()) == pytest.approx(data.converted, abs=1e-9)


SOLVERS = {"dense": (10**9, 10**9), "sparse LU": (0, 10**9), "fixed point": (0, 0)}


@pytest.mark.parametrize("solver", SOLVERS)
@settings(max_examples=25, deadline=None)
@given(rows=paths)
def test_every_solver_equals_exact_rationals(solver, rows):
    """Small chains solve densely, middling ones by sparse LU, large ones by fixed-point
    iteration: each is forced here on small chains and checked against exact fractions."""
    import importlib

    module = importlib.import_module("utmost.models.markov")
    data = journeys(*[(p, c, c * 10, n) for p, c, n in rows])
    if not data.paths:
        return
    saved = module.DENSE_UP_TO, module.DIRECT_UP_TO
    module.DENSE_UP_TO, module.DIRECT_UP_TO = SOLVERS[solver]
    try:
        fitted = markov(data)
    finally:
        module.DENSE_UP_TO, module.DIRECT_UP_TO = saved
    exact = _exact(data)
    assert fitted.probability == pytest.approx(float(exact), abs=1e-12)
    for key in data.keys:
        expected = 1 - _exact(data, removed=key) / exact if exact else 0
        assert fitted.removal_effects[key] == pytest.approx(float(expected), abs=1e-12)
