"""A key event's kept credit (docs/semantics.md §21): what it holds by hand, which questions read
it, and that those get the answer a question computed from the events gets."""

from __future__ import annotations

import math

import pytest
from conftest import raw_lines
from engine.journeys import DAY, MINUTE, book, identify, land

from utmost.access import set_key_events
from utmost.backends.duckdb import DuckDBBackend
from utmost.engine import make_options, maintained
from utmost.engine.run import Result, attribute
from utmost.store import Store
from utmost.store.schema import CREDIT_MODELS

CONVERSION = "Reservation Completed"
EVERY_KEPT_MODEL = ",".join(CREDIT_MODELS)


def totals(result: Result) -> dict[tuple[str, str], tuple[float, float]]:
    return {(r["model"], r["utm_source"]): (r["conversions"], r["revenue"]) for r in result.totals.to_pylist()}


def assert_same_answer(kept: Result, computed: Result) -> None:
    """The same rows, each number equal to within its 15th significant digit (docs/semantics.md §21)."""
    assert (kept.conversions, kept.converted_without_touchpoints) == (computed.conversions,
                                                                       computed.converted_without_touchpoints)
    for mine, theirs in ((kept.totals, computed.totals), (kept.per_conversion, computed.per_conversion)):
        assert mine.column_names == theirs.column_names
        assert mine.num_rows == theirs.num_rows
        for a, b in zip(mine.to_pylist(), theirs.to_pylist()):
            assert a.keys() == b.keys()
            for column, value in a.items():
                if isinstance(value, float):
                    assert math.isclose(value, b[column], rel_tol=1e-14, abs_tol=1e-300), (column, a, b)
                else:
                    assert value == b[column], (column, a, b)


def test_the_kept_credit_follows_a_late_sign_in(store: Store):
    """Maya lands from the newsletter on her phone, from google on her laptop a week later, signs
    in there and books (100); Tom books (50) with no touchpoint. Until she signs in on her phone,
    her booking is google's alone; after, the newsletter's first touch joins it: the kept credit
    of her person is redone, Tom's is not."""
    store.insert_lines("default", raw_lines([
        land(0, "newsletter", dev="phone"),
        land(7 * DAY - 2 * MINUTE, "google", dev="laptop"), identify(7 * DAY - MINUTE, "laptop", "maya"),
        book(7 * DAY, user="maya", dev="laptop", amount=100),
        book(8 * DAY, dev="tom", amount=50),
    ])).result()
    set_key_events(store, name="default", events=[CONVERSION])
    options = make_options(CONVERSION, models=EVERY_KEPT_MODEL)
    backend = DuckDBBackend.of(store)
    assert maintained.credit_readable(backend, options)
    before = attribute(backend, options)
    assert (before.conversions, before.converted_without_touchpoints) == (2, 1)
    assert totals(before) == {**{(m, "google"): (1.0, 100.0) for m in CREDIT_MODELS},
                              **{(m, "(none)"): (1.0, 50.0) for m in CREDIT_MODELS}}

    store.insert_lines("default", raw_lines([identify(9 * DAY, "phone", "maya")])).result()
    after = attribute(backend, options)
    # newsletter 7 days (one half-life) before the booking, google 2 minutes before.
    google_decay = 2 ** (-2 * MINUTE / (7 * DAY))
    shares = {"first_touch": (1, 0), "last_touch": (0, 1), "last_non_direct": (0, 1), "linear": (0.5, 0.5),
              "u_shaped": (0.5, 0.5), "j_shaped": (0.25, 0.75), "inverse_j": (0.75, 0.25),
              "time_decay": (0.5 / (0.5 + google_decay), google_decay / (0.5 + google_decay)),
              "participation": (1, 1)}
    expected = {(m, "(none)"): (1.0, 50.0) for m in CREDIT_MODELS}
    for model, (newsletter, google) in shares.items():
        for key, share in (("newsletter", newsletter), ("google", google)):
            if share:
                expected[(model, key)] = (share, share * 100)
    found = totals(after)
    assert found.keys() == expected.keys()
    for key, (conversions, revenue) in expected.items():
        assert found[key] == (pytest.approx(conversions, rel=1e-14), pytest.approx(revenue, rel=1e-14)), key
    assert_same_answer(after, attribute(backend, options, steps=True))
    kept = store.reader().execute("SELECT DISTINCT person FROM derived_credit ORDER BY person").fetchall()
    assert kept == [("$device:tom",), ("maya",)]
    # Her journey, newsletter then google, and Tom's empty one, are kept for markov and shapley.
    journeys = store.reader().execute("SELECT person, converted, bare, replace(path, chr(30), ' > ') "
                                      "FROM derived_journeys ORDER BY person").fetchall()
    assert journeys == [("$device:tom", True, True, None), ("maya", True, False, "newsletter > google")]
    fitted = make_options(CONVERSION, models="markov,shapley,linear", markov_order=2)
    assert maintained.credit_readable(backend, fitted)
    assert_same_answer(attribute(backend, fitted), attribute(backend, fitted, steps=True))


@pytest.mark.parametrize("asked", [
    {"by": "utm_medium"}, {"models": "markov", "scope": "session"}, {"models": "position:30/40/30"},
    {"models": "linear,incremental"},
    {"lookback": "7d"}, {"scope": "session"}, {"half_life": "1d"}, {"revenue_property": "price"},
    {"session_timeout": "1h"},
])
def test_a_question_the_kept_credit_does_not_hold_is_computed_from_the_events(store: Store, asked):
    store.insert_lines("default", raw_lines([land(0, "google"), book(MINUTE)])).result()
    set_key_events(store, name="default", events=[CONVERSION])
    backend = DuckDBBackend.of(store)
    assert maintained.credit_readable(backend, make_options(CONVERSION, models="linear", start="2023-11-01"))
    assert not maintained.credit_readable(backend, make_options(CONVERSION, **asked))
    assert attribute(backend, make_options(CONVERSION, **asked)).conversions == 1


def test_key_events_named_are_built_at_once_and_dropped_with_their_rows(store: Store):
    store.insert_lines("default", raw_lines([land(0, "google"), book(MINUTE), book(2 * MINUTE, dev="d2")])).result()
    backend = DuckDBBackend.of(store)
    assert not maintained.credit_readable(backend, make_options(CONVERSION))  # not a key event yet
    assert set_key_events(store, name="default", events=[CONVERSION, "Page View", CONVERSION]) == [
        "Page View", CONVERSION]
    rows = store.reader().execute("SELECT event, count(DISTINCT conversion) FROM derived_credit "
                                  "GROUP BY event ORDER BY event").fetchall()
    assert rows == [("Page View", 1), (CONVERSION, 2)]
    assert set_key_events(store, name="default", events=["Page View"]) == ["Page View"]
    assert store.reader().execute("SELECT DISTINCT event FROM derived_credit").fetchall() == [("Page View",)]
    assert not maintained.credit_readable(backend, make_options(CONVERSION))
    assert set_key_events(store, name="default", events=[]) == []
    assert store.reader().execute("SELECT count(*) FROM derived_credit").fetchone() == (0,)


def test_a_deletion_takes_its_person_out_of_the_kept_credit_at_the_next_refresh_and_leaves_the_others(store: Store):
    store.insert_lines("default", raw_lines([land(0, "google"), book(MINUTE), book(2 * MINUTE, dev="d2")])).result()
    set_key_events(store, name="default", events=[CONVERSION])
    seq = store.reader().execute("SELECT max(seq) FROM events").fetchone()[0]
    store.delete("default", [seq], [])
    assert not maintained.current(DuckDBBackend.of(store), "default")  # no question reads them as they are
    # d2's only event went: nothing of d2 is taken in again, and d1 is not redone.
    assert maintained.keep_up(DuckDBBackend.of(store), "default") == maintained.Refreshed(0, False, 0)
    result = attribute(DuckDBBackend.of(store), make_options(CONVERSION))
    assert (result.conversions, result.converted_without_touchpoints) == (1, 0)
    assert store.reader().execute("SELECT person, k0, last_touch FROM derived_credit").fetchall() == [
        ("$device:d1", "google", 1.0)]


def test_a_store_open_to_read_reads_the_kept_credit_only_while_it_is_current(tmp_path):
    path = tmp_path / "k.duckdb"
    options = make_options(CONVERSION)
    with Store(path) as store:
        store.insert_lines("default", raw_lines([land(0, "google"), book(MINUTE)])).result()
        set_key_events(store, name="default", events=[CONVERSION])
        store.insert_lines("default", raw_lines([book(2 * MINUTE, dev="d2")])).result()  # not yet derived
    with Store(path, read_only=True) as store:
        backend = DuckDBBackend.of(store)
        assert not maintained.credit_readable(backend, options)
        assert attribute(backend, options).conversions == 2


def test_the_parameters_a_kept_question_may_set_freely_are_parameters():
    """A name in ``_KEPT_FREE`` that is no field of Options would be a rule about nothing."""
    import dataclasses

    from utmost.engine.options import Options

    assert maintained._KEPT_FREE <= {f.name for f in dataclasses.fields(Options)}


def test_every_kept_model_is_a_rule_based_model_users_can_name():
    """A refresh asks :func:`maintained.kept_question` with these names: one gone from the models
    would stop every refresh of a project with key events."""
    from utmost.engine.models import MODELS

    assert set(CREDIT_MODELS) <= {m.name for m in MODELS if m.rule_based and not m.pattern}


def test_a_key_event_with_quotes_in_its_name_is_kept_and_asked_about(store: Store):
    odd = "it's \"odd\"'); DROP TABLE events; --"
    store.insert_lines("default", raw_lines([land(0, "google"), {**book(MINUTE), "event": odd}])).result()
    assert set_key_events(store, name="default", events=[odd]) == [odd]
    options = make_options(odd, models="linear,markov")
    backend = DuckDBBackend.of(store)
    assert maintained.credit_readable(backend, options)
    assert totals(attribute(backend, options)) == {("linear", "google"): (1.0, 100.0),
                                                   ("markov", "google"): (1.0, 100.0)}
