"""Bootstrap intervals: present on every model's rows, around the estimate, tighter with more
data, and the same for the same seed."""

from __future__ import annotations

import pytest
from conftest import raw_lines

import utmost
from utmost import demo
from utmost.store import Store

MODELS = "first_touch,linear,participation,markov,shapley"


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ci")
    paths = {}
    for visitors in (300, 2400):
        path = folder / f"{visitors}.duckdb"
        with Store(path) as store:
            store.project()  # as import does: a read creates no project
            store.insert_lines("default", raw_lines(list(demo.generate(seed=5, visitors=visitors)))).result()
        paths[visitors] = path
    return paths


def ask(db, **options):
    return utmost.attribute("Reservation Completed", db=db, models=MODELS, ci=0.9, bootstrap=60, **options).to_pylist()


def test_every_row_has_an_interval_around_its_estimate(dbs):
    rows = ask(dbs[300], seed=3)
    assert {r["model"] for r in rows} == set(MODELS.split(","))
    for r in rows:
        if r["conversions"] >= 1:  # a key credited a fraction can be missing from most rounds
            assert r["conversions_low"] - 1e-9 <= r["conversions"] <= r["conversions_high"] + 1e-9, r
        assert r["revenue_low"] <= r["revenue_high"]


def test_same_seed_same_intervals_other_seed_other_intervals(dbs):
    assert ask(dbs[300], seed=3) == ask(dbs[300], seed=3)
    assert ask(dbs[300], seed=3) != ask(dbs[300], seed=4)


def test_intervals_shrink_with_more_data(dbs):
    """Relative width (high − low) / estimate of the biggest keys: eight times the visitors,
    about a third of the width (1/√8)."""
    def widths(rows):
        return {(r["model"], r["utm_source"]): (r["conversions_high"] - r["conversions_low"]) / r["conversions"]
                for r in rows if r["conversions"] >= 10}

    small, large = widths(ask(dbs[300], seed=1)), widths(ask(dbs[2400], seed=1))
    shared = small.keys() & large.keys()
    assert len(shared) >= 10
    assert sum(large[k] for k in shared) < 0.6 * sum(small[k] for k in shared)


def test_bad_ci_level(dbs):
    with pytest.raises(ValueError, match="not a level between 0 and 1"):
        utmost.attribute("Reservation Completed", db=dbs[300], ci=95)
