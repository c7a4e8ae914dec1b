"""Hand-worked journeys with exact credit per model (docs/semantics.md §7), and the engine's invariants.

Each case below is small enough to check with a pencil; its comment says why each number is
what it is. Every case is also run through the pure-Python reference reading of docs/semantics.md.
"""

from __future__ import annotations

import pytest
from conftest import raw_lines, stored
from engine import reference
from engine.journeys import DAY, HOUR, MINUTE, book, identify, land, page, server

from utmost.api import answer as attribute_in
from utmost.backends.duckdb import DuckDBBackend
from utmost.engine import attribute, make_options
from utmost.store import Store

ALL = "first_touch,last_touch,linear,u_shaped,j_shaped,inverse_j,time_decay,participation"


def run(tmp_path, events, **options):
    tmp_path.mkdir(parents=True, exist_ok=True)
    with Store(tmp_path / "case.duckdb") as store:
        store.insert_lines("default", raw_lines(events)).result()
        result = attribute_in(store, make_options("Reservation Completed", **options))
        rows = stored(store)
    by = tuple(options.get("by", "utm_source").split(","))
    got: dict = {}
    for row in result.totals.to_pylist():
        key = tuple(row[p] for p in by)
        got.setdefault(row["model"], {})[key if len(key) > 1 else key[0]] = round(row["conversions"], 12)
    return got, result, rows


def expect_reference(rows, got, **options):
    """The reference reading of docs/semantics.md agrees with the engine on the same stored rows."""
    models = options.get("models", "last_touch").split(",")
    by = tuple(options.get("by", "utm_source").split(","))
    canonical = [dict(r, time=int(r["time"].timestamp() * 1_000_000), properties=_json(r["properties"])) for r in rows]
    ref = reference.attribute(canonical, "Reservation Completed", models, by=by,
                              scope=options.get("scope", "user"),
                              lookback_us=int(options.get("lookback_days", 30) * DAY * 1_000_000))
    flat = {m: {(k if len(k) > 1 else k[0]): round(v[0], 12) for k, v in keys.items()} for m, keys in ref.items()}
    assert flat == got


def _json(text):
    import orjson

    return orjson.loads(text)


def test_seed_story_user_scope_credits_the_newsletter(tmp_path):
    """Lands from the newsletter, leaves, types the address a week later, signs in, books."""
    events = [
        land(0, "newsletter", utm_medium="email", utm_campaign="spring"),
        page(60, utm_source="newsletter", utm_medium="email"),
        page(7 * DAY),  # typed the address: no UTM in the URL, echoes dropped here for clarity
        identify(7 * DAY + 30, "d1", "user-1"),
        book(7 * DAY + 120, "user-1", amount=240),
    ]
    got, result, rows = run(tmp_path, events, models=ALL)
    assert got == {m: {"newsletter": 1.0} for m in ALL.split(",")}
    assert result.totals.column("revenue").to_pylist() == [240.0] * 8
    expect_reference(rows, got, models=ALL)


def test_seed_story_session_scope_credits_none(tmp_path):
    """The booking's session began with a typed address: in-session, nothing brought it."""
    events = [land(0, "newsletter"), page(7 * DAY), identify(7 * DAY + 30, "d1", "user-1"),
              book(7 * DAY + 120, "user-1")]
    got, _, rows = run(tmp_path, events, models="first_touch,last_touch", scope="session")
    assert got == {"first_touch": {"(none)": 1.0}, "last_touch": {"(none)": 1.0}}
    expect_reference(rows, got, models="first_touch,last_touch", scope="session")


def test_lookback_bound_is_inclusive(tmp_path):
    """A touch exactly 30 days before counts; one a millisecond older does not."""
    events = [
        land(0, "google", dev="a"), book(30 * DAY, dev="a", user=None),
        land(0, "bing", dev="b"), book(30 * DAY + 0.001, dev="b", user=None),
    ]
    got, _, rows = run(tmp_path, events, models="last_touch")
    assert got == {"last_touch": {"google": 1.0, "(none)": 1.0}}
    expect_reference(rows, got, models="last_touch")


def test_reloads_and_repeat_events_on_one_landing_are_one_click(tmp_path):
    """newsletter, its reload, facebook, newsletter again — all one session: 3 touches, not 4."""
    events = [
        land(0, "newsletter"), land(10, "newsletter"),  # reload: same key, same session
        land(5 * MINUTE, "facebook"), land(10 * MINUTE, "newsletter"),
        book(15 * MINUTE),
    ]
    got, _, rows = run(tmp_path, events, models="linear,first_touch,last_touch,participation")
    assert got == {
        "linear": {"newsletter": round(2 / 3, 12), "facebook": round(1 / 3, 12)},
        "first_touch": {"newsletter": 1.0},
        "last_touch": {"newsletter": 1.0},
        "participation": {"newsletter": 1.0, "facebook": 1.0},
    }
    expect_reference(rows, got, models="linear,first_touch,last_touch,participation")


def test_same_key_in_a_new_session_is_a_new_touch(tmp_path):
    events = [land(0, "newsletter"), land(2 * HOUR, "newsletter"), book(2 * HOUR + 60)]
    got, result, rows = run(tmp_path, events, models="linear")
    assert got == {"linear": {"newsletter": 1.0}}  # two touches of one key: 0.5 + 0.5
    assert result.per_conversion.num_rows == 1
    expect_reference(rows, got, models="linear")


def test_persisted_echoes_and_mixed_keys_fixture_h(tmp_path):
    """Second landing from facebook: the URL carries only source and medium, so the
    campaign echoed from the newsletter visit is not part of facebook's key."""
    echo = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring_sale"}
    events = [
        land(0, "newsletter", utm_medium="email", utm_campaign="spring_sale"),
        page(60, **echo),
        land(2 * DAY, "facebook", utm_medium="paid_social"),
        page(2 * DAY + 60, utm_source="facebook", utm_medium="paid_social", utm_campaign="spring_sale"),
        identify(2 * DAY + 90, "d1", "user-55"),
        book(2 * DAY + 120, "user-55"),
    ]
    options = dict(models="first_touch,last_touch", by="utm_source,utm_campaign")
    got, _, rows = run(tmp_path, events, **options)
    assert got == {
        "first_touch": {("newsletter", "spring_sale"): 1.0},
        "last_touch": {("facebook", "(not set)"): 1.0},
    }
    expect_reference(rows, got, **options)


def test_two_devices_merge_into_one_person(tmp_path):
    """Laptop from google, phone from facebook days later, both signed in as user-1."""
    events = [
        land(0, "google", dev="laptop"), identify(60, "laptop", "user-1"),
        land(3 * DAY, "facebook", dev="phone"), identify(3 * DAY + 60, "phone", "user-1"),
        book(3 * DAY + 120, "user-1", dev="phone"),
    ]
    got, result, rows = run(tmp_path, events, models="first_touch,last_touch,linear")
    assert got == {"first_touch": {"google": 1.0}, "last_touch": {"facebook": 1.0},
                   "linear": {"google": 0.5, "facebook": 0.5}}
    assert set(result.per_conversion.column("person").to_pylist()) == {"user-1"}
    expect_reference(rows, got, models="first_touch,last_touch,linear")


def test_a_shared_device_belongs_to_its_first_user(tmp_path):
    """The anonymous newsletter landing on the family tablet is user-1's (first sign-in);
    user-2's later signed-in tiktok landing is user-2's own."""
    events = [
        land(0, "newsletter", dev="tablet"), identify(60, "tablet", "user-1"),
        book(120, "user-1", dev="tablet"),
        identify(2 * DAY, "tablet", "user-2"),
        land(2 * DAY + 60, "tiktok", dev="tablet", user="user-2"),
        book(2 * DAY + 120, "user-2", dev="tablet"),
    ]
    got, result, rows = run(tmp_path, events, models="first_touch,last_touch")
    assert got == {"first_touch": {"newsletter": 1.0, "tiktok": 1.0}, "last_touch": {"newsletter": 1.0, "tiktok": 1.0}}
    by_person = {r["person"]: r["utm_source"] for r in result.per_conversion.to_pylist()}
    assert by_person == {"user-1": "newsletter", "user-2": "tiktok"}
    expect_reference(rows, got, models="first_touch,last_touch")


def test_alias_and_merge_link_ids_whatever_their_time(tmp_path):
    events = [
        server("Page View", 0, "crm-9", utm_source="partner"),
        server("Reservation Completed", DAY, "a-1", amount=50),
        server("$create_alias", 2 * DAY, "crm-9", alias="a-1"),  # after the booking: still links
        server("Page View", 0, "x-1", utm_source="google"),
        server("Reservation Completed", DAY, "x-2", amount=70),
        {"event": "$merge", "properties": {"time": 1_700_000_000 + 3 * DAY, "$distinct_ids": ["x-1", "x-2"]}},
    ]
    got, result, rows = run(tmp_path, events, models="last_touch")
    assert got == {"last_touch": {"partner": 1.0, "google": 1.0}}
    assert sorted(result.per_conversion.column("person").to_pylist()) == ["crm-9", "x-1"]
    expect_reference(rows, got, models="last_touch")


@pytest.mark.parametrize(
    ("model", "n", "weights"),
    [
        ("u_shaped", 1, [1.0]),
        ("u_shaped", 2, [0.5, 0.5]),
        ("u_shaped", 3, [0.4, 0.2, 0.4]),
        ("u_shaped", 6, [0.4, 0.05, 0.05, 0.05, 0.05, 0.4]),
        ("j_shaped", 2, [0.25, 0.75]),
        ("j_shaped", 3, [0.2, 0.2, 0.6]),
        ("inverse_j", 2, [0.75, 0.25]),
        ("inverse_j", 6, [0.6, 0.05, 0.05, 0.05, 0.05, 0.2]),
        ("position:30/40/30", 6, [0.3, 0.1, 0.1, 0.1, 0.1, 0.3]),
        ("position:10/0/90", 3, [0.1, 0.0, 0.9]),
    ],
)
def test_position_based_weights(tmp_path, model, n, weights):
    events = [land(i * DAY, f"s{i}") for i in range(n)] + [book((n - 1) * DAY + 60)]
    got, _, _ = run(tmp_path, events, models=model)
    expected = {f"s{i}": round(w, 12) for i, w in enumerate(weights) if w}
    assert got == {model: expected}


def test_time_decay_halves_per_half_life(tmp_path):
    """Touches 14 and 7 days old weigh 2^-2 and 2^-1: one third and two thirds."""
    events = [land(0, "old"), land(7 * DAY, "recent"), book(14 * DAY)]
    got, _, rows = run(tmp_path, events, models="time_decay")
    assert got == {"time_decay": {"old": round(1 / 3, 12), "recent": round(2 / 3, 12)}}
    expect_reference(rows, got, models="time_decay")


def test_participation_counts_each_key_once_per_conversion(tmp_path):
    events = [land(0, "a"), land(DAY, "b"), land(2 * DAY, "a"), book(2 * DAY + 60), book(2 * DAY + 90)]
    got, _, rows = run(tmp_path, events, models="participation,linear")
    assert got == {"participation": {"a": 2.0, "b": 2.0},
                   "linear": {"a": round(4 / 3, 12), "b": round(2 / 3, 12)}}
    expect_reference(rows, got, models="participation,linear")


def test_milliseconds_and_seconds_mix(tmp_path):
    """The landing is sent in ms, the booking in s; the same booking again in ms is a duplicate."""
    landing = land(0, "google")
    landing["properties"]["time"] = landing["properties"]["time"] * 1000
    booking = book(60)
    again = {"event": booking["event"], "properties": dict(booking["properties"], time=booking["properties"]["time"] * 1000)}
    got, result, _ = run(tmp_path, [landing, booking, again], models="last_touch")
    assert got == {"last_touch": {"google": 1.0}} and result.conversions == 1


def test_a_server_side_conversion_can_be_its_own_touchpoint(tmp_path):
    events = [server("Reservation Completed", 0, "u-1", utm_source="crm", amount="240.50")]
    got, result, _ = run(tmp_path, events, models="last_touch")
    assert got == {"last_touch": {"crm": 1.0}}
    assert result.totals.column("revenue").to_pylist() == [240.5]


@pytest.mark.parametrize(("amount", "revenue"), [(99.5, 99.5), ("240.50", 240.5), ("abc", 0.0), (None, 0.0),
                                                 (True, 0.0), ("NaN", 0.0), ({"v": 1}, 0.0)])
def test_revenue_reading(tmp_path, amount, revenue):
    got, result, _ = run(tmp_path, [land(0, "g"), book(60, amount=amount)], models="last_touch")
    assert got == {"last_touch": {"g": 1.0}} and result.totals.column("revenue").to_pylist() == [revenue]


def test_conversion_dates_and_non_utm_keys(tmp_path):
    events = [land(0, "g", page_type="landing"), book(60), book(2 * DAY)]
    got, result, _ = run(tmp_path, events, models="last_touch", by="utm_source,page_type",
                         start="2023-11-16", end="2023-11-16")
    assert got == {"last_touch": {("g", "landing"): 1.0}} and result.conversions == 1


def test_split_on_key_starts_a_session_at_a_new_campaign(tmp_path):
    """newsletter, then facebook ten minutes later, then the booking: one session by time, but
    two when a new key splits it — so in-session first touch moves from newsletter to facebook."""
    events = [land(0, "newsletter"), land(10 * MINUTE, "facebook"), book(20 * MINUTE)]
    plain, _, _ = run(tmp_path / "plain", events, models="first_touch", scope="session")
    split, _, rows = run(tmp_path / "split", events, models="first_touch", scope="session", split_on_key=True)
    assert plain == {"first_touch": {"newsletter": 1.0}}
    assert split == {"first_touch": {"facebook": 1.0}}
    canonical = [dict(r, time=int(r["time"].timestamp() * 1_000_000), properties=_json(r["properties"])) for r in rows]
    assert reference.attribute(canonical, "Reservation Completed", ["first_touch"], scope="session",
                               split_on_key=True)["first_touch"] == {("facebook",): [1.0, 100.0]}


def test_markov_and_shapley_on_the_three_path_example(tmp_path):
    """The journeys of tests/models/test_markov.py::test_three_paths_by_hand as browser events:
    A→B converts (100), A is lost, B converts (50), B is lost. Markov: A 0.5, B 1.5 (revenue by
    the same shares of 150). Shapley: the A,B conversion splits ¼/¾, the B one is all B's."""
    events = [
        land(0, "A", dev="p1"), land(DAY, "B", dev="p1"), book(DAY + 60, dev="p1", amount=100),
        land(0, "A", dev="p2"),
        land(0, "B", dev="p3"), book(60, dev="p3", amount=50),
        land(0, "B", dev="p4"),
    ]
    got, result, _ = run(tmp_path, events, models="markov,shapley")
    assert got == {"markov": {"A": 0.5, "B": 1.5}, "shapley": {"A": 0.25, "B": 1.75}}
    revenue = {(r["model"], r["utm_source"]): round(r["revenue"], 9) for r in result.totals.to_pylist()}
    assert revenue == {("markov", "A"): 37.5, ("markov", "B"): 112.5, ("shapley", "A"): 25.0, ("shapley", "B"): 125.0}
    per = {(r["model"], r["person"], r["utm_source"]): round(r["credit"], 12) for r in result.per_conversion.to_pylist()}
    assert per == {("markov", "$device:p1", "A"): 0.25, ("markov", "$device:p1", "B"): 0.75,
                   ("markov", "$device:p3", "B"): 1.0, ("shapley", "$device:p1", "A"): 0.25,
                   ("shapley", "$device:p1", "B"): 0.75, ("shapley", "$device:p3", "B"): 1.0}


class Fetching(DuckDBBackend):
    """The real DuckDB backend, noting how many rows each result it hands over holds."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.reader(), store)
        self.fetched: list[int] = []

    def arrow(self, sql: str):
        table = super().arrow(sql)
        self.fetched.append(table.num_rows)
        return table


def test_the_learned_models_fetch_a_row_per_path_not_per_conversion(tmp_path):
    """200 persons land from A then B and book (100 each), 50 land from A only. Markov by hand:
    start→A 250, A→B 200, A lost 50, B→booking 200; removing A or B loses every booking, so
    each takes half: A 100, B 100 (revenue 10,000 each). No result handed to Python (on Spark,
    to the driver) holds a row per conversion: the models see paths, the engine sums."""
    events = []
    for p in range(200):
        events += [land(0, "A", dev=f"c{p}"), land(DAY, "B", dev=f"c{p}"), book(DAY + 60, dev=f"c{p}", amount=100)]
    events += [land(0, "A", dev=f"l{p}") for p in range(50)]
    with Store(tmp_path / "paths.duckdb") as store:
        store.insert_lines("default", raw_lines(events)).result()
        backend = Fetching(store)
        result = attribute(backend, make_options("Reservation Completed", models="markov,shapley"), per_conversion=False)
    totals = {(r["model"], r["utm_source"]): (r["conversions"], r["revenue"]) for r in result.totals.to_pylist()}
    assert totals[("markov", "A")] == totals[("markov", "B")] == (100.0, 10_000.0)
    assert sum(c for (model, _), (c, _) in totals.items() if model == "shapley") == 200.0
    assert result.conversions == 200 and max(backend.fetched) < 20


def test_journeys_start_after_the_previous_conversion(tmp_path):
    """Two bookings: the second's journey holds only what came after the first, so under the
    data-driven models a second booking with no new touch goes to (none)."""
    events = [land(0, "A"), book(60), book(DAY), land(2 * DAY, "B")]
    got, _, _ = run(tmp_path, events, models="last_touch,shapley,markov")
    assert got["last_touch"] == {"A": 2.0}
    assert got["shapley"] == {"A": 1.0, "(none)": 1.0} and got["markov"] == {"A": 1.0, "(none)": 1.0}


def test_a_date_range_without_conversions_gives_no_rows(tmp_path):
    """Nothing converted between --from and --to: an empty answer, not an error."""
    events = [land(0, "newsletter"), book(3600, amount=100)]
    got, result, _ = run(tmp_path, events, models="linear,markov", start="2030-01-01", end="2030-01-31")
    assert got == {} and result.totals.num_rows == 0 and result.conversions == 0
