"""The ``incremental`` model (docs/semantics.md §18): an additive hazard fitted by EM.

The worked example of §18 has a closed form: with one lag for every touched conversion, the
likelihood's conditions (KKT) give the baseline rate and the caused conversions directly, so
the test computes them from the formulas, not from the code it checks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import raw_lines
from engine.journeys import DAY, HOUR, MINUTE, T0, book, land, page
from hypothesis import given, settings
from hypothesis import strategies as st

from utmost.api import answer
from utmost.engine import make_options
from utmost.models import incremental as hazard
from utmost.store import Store

MIDNIGHT = T0 + 6400  # 2023-11-15 00:00 UTC
WINDOW = {"start": "2023-11-15", "end": "2023-11-24"}  # ten days


def answered(tmp_path, events, **options):
    tmp_path.mkdir(parents=True, exist_ok=True)
    with Store(tmp_path / "incremental.duckdb") as store:
        store.insert_lines("default", raw_lines(events)).result()
        return answer(store, make_options("Reservation Completed", **{"models": "incremental", **options}))


def totals(result) -> dict[str, float]:
    return {row["utm_source"]: row["conversions"] for row in result.totals.to_pylist()}


def worked_example() -> list[dict]:
    """100 persons over ten days. Ten view a page on day 0 and land from the newsletter at the
    start of day 5; two of them had booked on day 2, five book on day 7. Three others book at noon
    on day 4, never reached. The other 87 view a page on day 1 and never book."""
    at = MIDNIGHT - T0
    events = []
    for i in range(10):
        events += [page(at, dev=f"n{i}"), land(at + 5 * DAY, "newsletter", dev=f"n{i}")]
        if i < 2:
            events.append(book(at + 2 * DAY, dev=f"n{i}"))
        elif i < 7:
            events.append(book(at + 7 * DAY, dev=f"n{i}"))
    for i in range(3):
        events.append(book(at + 4 * DAY + 12 * HOUR, dev=f"b{i}"))
    for i in range(87):
        events.append(page(at + DAY, dev=f"p{i}"))
    return events


def test_the_worked_example_of_the_docs(tmp_path):
    result = answered(tmp_path, worked_example(), **WINDOW)
    # The 90 persons never reached: 3 bookings, all of them baseline.
    # The 10 reached, before any booking of theirs: 2 persons × 2 days, 5 × 7, 3 × 10.
    reached_exposure = 2 * 2 + 5 * 7 + 3 * 10
    min_lag = 1 / 24
    # Each reached person's exposure to the newsletter at half-life h: ∫ 2^(−lag/h) from 1 h to 5 days.
    exposure = {h: 10 * h / math.log(2) * (2 ** (-min_lag / h) - 2 ** (-5 / h)) for h in hazard.HALF_LIVES}
    kernel = {h: 2 ** (-2 / h) for h in hazard.HALF_LIVES}
    # At the maximum only the half-life with the largest kernel ÷ exposure carries an effect:
    best = max(hazard.HALF_LIVES, key=lambda h: kernel[h] / exposure[h])
    assert best == 4.0
    touched_rate = 5 * kernel[best] / exposure[best]  # Σ over the 5 touched bookings of g/λ = exposure
    base = 2 / (reached_exposure - 5 / touched_rate)  # 2 / b + 5 / λ = the reached persons' exposure
    caused = 5 * (touched_rate - base) / touched_rate
    for h in hazard.HALF_LIVES:  # the other half-lives' conditions hold: no effect there
        assert 5 * kernel[h] / touched_rate <= exposure[h] + 1e-9
    found = totals(result)
    assert found["newsletter"] == pytest.approx(caused, rel=1e-4)
    assert found["(baseline)"] == pytest.approx(10 - caused, rel=1e-4)
    assert round(caused, 2) == 0.81  # the figure docs/semantics.md §18 quotes
    last_touch = totals(answered(tmp_path / "last", worked_example(), **WINDOW, models="last_touch"))
    assert last_touch == {"newsletter": 5.0, "(none)": 5.0}


def test_a_conversion_with_no_touch_before_it_is_all_baseline(tmp_path):
    events = [land(0, "newsletter", dev="a"), book(3 * DAY, dev="b"), book(4 * DAY, dev="c"), page(DAY, dev="d")]
    found = totals(answered(tmp_path, events))
    assert found == {"(baseline)": 2.0}


def test_a_touch_minutes_before_a_conversion_is_not_its_cause(tmp_path):
    """A brand search by someone about to book: ten minutes is inside the minimum lag."""
    events = []
    for i in range(20):
        events += [land(i * DAY, "brand", dev=f"d{i}"), book(i * DAY + 10 * MINUTE, dev=f"d{i}")]
        events.append(page(i * DAY, dev=f"x{i}"))
    assert totals(answered(tmp_path, events)) == {"(baseline)": 20.0}
    with_lag_zero = totals(answered(tmp_path / "zero", events, min_lag="0s"))
    assert with_lag_zero["brand"] > 19  # without the rule, the harvest is credited with nearly everything


def test_explanation_names_a_harvest_key(tmp_path):
    events = []
    for i in range(20):
        events += [land(i * DAY, "brand", dev=f"d{i}"), book(i * DAY + 10 * MINUTE, dev=f"d{i}")]
    result = answered(tmp_path, events)
    keys = {tuple(k["key"]): k for k in result.explanation["incremental"]["keys"]}
    brand = keys[("brand",)]
    assert brand["immediate_conversions"] == 20 and brand["caused"] == 0.0
    assert brand["signs"] and brand["signs"][0].startswith("harvest: 20 conversions came within 1h")


def test_per_conversion_rows_sum_to_the_totals_and_each_conversion_to_one(tmp_path):
    result = answered(tmp_path, worked_example(), **WINDOW)
    rows = result.per_conversion.to_pylist()
    per_key: dict[str, float] = {}
    per_conversion: dict[str, float] = {}
    for row in rows:
        per_key[row["utm_source"]] = per_key.get(row["utm_source"], 0.0) + row["credit"]
        per_conversion[row["insert_id"]] = per_conversion.get(row["insert_id"], 0.0) + row["credit"]
    assert per_key == pytest.approx(totals(result))
    assert len(per_conversion) == 10 and all(v == pytest.approx(1.0) for v in per_conversion.values())


def test_intervals_hold_the_estimate(tmp_path):
    result = answered(tmp_path, worked_example(), ci=0.9, bootstrap=40, seed=3, **WINDOW)
    for row in result.totals.to_pylist():
        assert row["conversions_low"] <= row["conversions"] + 1e-9 <= row["conversions_high"] + 2e-9


# The model alone, on arrays: EM's invariants on random person-time.

def _random_data(draw) -> hazard.PersonTime:
    persons = draw(st.integers(1, 12))
    keys = draw(st.integers(1, 3))
    conversions = draw(st.integers(0, 15))
    pairs = draw(st.integers(0, 25)) if conversions else 0
    floats = st.floats(0.01, 50)
    conv_person = np.asarray(draw(st.lists(st.integers(0, persons - 1), min_size=conversions, max_size=conversions)),
                             dtype=np.int64)
    pair_conversion = np.asarray(draw(st.lists(st.integers(0, max(conversions - 1, 0)), min_size=pairs,
                                               max_size=pairs)), dtype=np.int64)
    pair_key = np.asarray(draw(st.lists(st.integers(0, keys - 1), min_size=pairs, max_size=pairs)), dtype=np.int64)
    touch_person = np.asarray(conv_person[pair_conversion] if pairs else [], dtype=np.int64)
    return hazard.PersonTime(
        persons=persons, keys=tuple(f"k{i}" for i in range(keys)),
        base_person=np.arange(persons), base_stratum=np.zeros(persons, dtype=np.int64),
        base_days=np.asarray(draw(st.lists(floats, min_size=persons, max_size=persons))),
        touch_person=touch_person, touch_key=pair_key.copy(),
        touch_days=np.asarray(draw(st.lists(st.lists(floats, min_size=3, max_size=3), min_size=pairs,
                                            max_size=pairs)), dtype=float).reshape(-1, 3),
        conversion_person=conv_person, conversion_stratum=np.zeros(conversions, dtype=np.int64),
        pair_conversion=pair_conversion, pair_key=pair_key,
        pair_kernel=hazard.kernel(draw(st.lists(st.floats(0.05, 30), min_size=pairs, max_size=pairs))),
    )


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_em_keeps_every_conversion_and_every_rate_non_negative(data):
    person_time = _random_data(data.draw)
    fitted = hazard.fit(person_time)
    assert (fitted.base >= 0).all() and (fitted.effects >= 0).all()
    assert (fitted.baseline_share >= -1e-12).all() and (fitted.pair_share >= -1e-12).all()
    total = fitted.baseline_share.sum() + fitted.caused(person_time).sum()
    assert total == pytest.approx(len(person_time.conversion_person), abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_em_never_lowers_the_likelihood(data):
    person_time = _random_data(data.draw)
    short = hazard.fit(person_time, tolerance=1e-2)
    long = hazard.fit(person_time, start=short)
    assert long.log_likelihood >= short.log_likelihood - 1e-9 * max(1.0, abs(short.log_likelihood))


# Experiments (docs/semantics.md §18, §19): a holdout test on a key moves its credit.

HEADER = "utm_source,start,end,test_persons,test_conversions,control_persons,control_conversions\n"


def calibrated(tmp_path, line: str):
    from utmost.access import import_experiment_files

    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "tests.csv").write_text(HEADER + line + "\n")
    with Store(tmp_path / "incremental.duckdb") as store:
        store.insert_lines("default", raw_lines(worked_example())).result()
        import_experiment_files(store, project="default", paths=["tests.csv"], folder=str(tmp_path), strict=True)
        return answer(store, make_options("Reservation Completed", models="incremental", **WINDOW))


def test_an_experiment_that_agrees_is_pooled_with_the_model_by_precision(tmp_path):
    # (100/1000 − 95/1000) × 1000 = 5 caused, standard error 1000·√(0.1·0.9/1000 + 0.095·0.905/1000)
    result = calibrated(tmp_path, "newsletter,2023-11-15,2023-11-24,1000,100,1000,95")
    (check,) = result.explanation["incremental"]["experiments"]
    error = 1000 * math.sqrt(0.1 * 0.9 / 1000 + 0.095 * 0.905 / 1000)
    assert check["experiment"] == pytest.approx(5.0) and check["experiment_standard_error"] == pytest.approx(error)
    assert check["model"] == pytest.approx(0.8086723, rel=1e-4) and not check["disagree"]
    assert check["model_error_beyond_chance"] == 0.0  # the gap is within chance: τ² = 0
    w_model, w_test = 1 / check["model_standard_error"] ** 2, 1 / error**2
    pooled = (w_model * check["model"] + w_test * 5.0) / (w_model + w_test)
    found = totals(result)
    assert check["calibrated"] == pytest.approx(pooled) and found["newsletter"] == pytest.approx(pooled)
    assert found["(baseline)"] == pytest.approx(10 - pooled)


def test_an_experiment_that_disagrees_wins_and_takes_from_the_baseline(tmp_path):
    """The test measured far more than the newsletter's clicks show (its unclicked emails, say):
    the model's error beyond chance (τ) is then the whole gap, so the test counts for nearly
    everything, as far as the baseline of those days holds conversions to give."""
    result = calibrated(tmp_path, "newsletter,2023-11-15,2023-11-24,10000,3000,10000,2000")
    (check,) = result.explanation["incremental"]["experiments"]
    assert check["experiment"] == pytest.approx(1000.0) and check["disagree"]
    gap = (1000.0 - check["model"]) ** 2 - check["model_standard_error"] ** 2 - check["experiment_standard_error"] ** 2
    assert check["model_error_beyond_chance"] == pytest.approx(math.sqrt(gap))
    found = totals(result)
    assert found == {"newsletter": pytest.approx(10.0)} and check["calibrated"] == pytest.approx(10.0)
    per_conversion: dict[str, float] = {}
    for row in result.per_conversion.to_pylist():
        per_conversion[row["insert_id"]] = per_conversion.get(row["insert_id"], 0.0) + row["credit"]
    assert len(per_conversion) == 10 and all(v == pytest.approx(1.0) for v in per_conversion.values())


def test_an_experiment_too_small_to_trust_is_shown_not_used(tmp_path):
    """No conversion in either group: its standard error is 0, which no interval believes."""
    result = calibrated(tmp_path, "newsletter,2023-11-15,2023-11-24,1000,0,1000,0")
    (check,) = result.explanation["incremental"]["experiments"]
    assert check["experiment"] == 0.0 and not check["used"]
    assert totals(result)["newsletter"] == pytest.approx(check["model"]) == pytest.approx(0.8086723, rel=1e-4)
