"""The engine against the pure-Python reference of docs/semantics.md on random event streams,
and the invariants every answer must keep."""

from __future__ import annotations

import math

import orjson
from conftest import raw_lines, stored
from engine import reference
from engine.journeys import DAY, MINUTE, T0
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utmost.api import answer as attribute_in
from utmost.engine import make_options
from utmost.store import Store

MODELS = "first_touch,last_touch,linear,u_shaped,j_shaped,inverse_j,position:30/40/30,time_decay,participation"
SOURCES = ["newsletter", "google", "facebook"]


@st.composite
def streams(draw):
    """Events of a few devices and users: landings, echoes, sign-ins, bookings, aliases, merges."""
    devices = [f"d{i}" for i in range(draw(st.integers(1, 4)))]
    users = [f"u{i}" for i in range(draw(st.integers(1, 3)))]
    events = []
    for n in range(draw(st.integers(1, 25))):
        # Few days and close minutes: sessions hold several events, lookbacks cut some off.
        t = T0 + draw(st.sampled_from([0, 1, 3, 29, 31, 38])) * DAY + draw(st.integers(0, 45)) * MINUTE
        dev = draw(st.sampled_from(devices))
        user = draw(st.one_of(st.none(), st.sampled_from(users)))
        kind = draw(st.sampled_from(["land", "land", "page", "identify", "book", "book", "alias", "merge"]))
        props = {"time": t, "$insert_id": f"i{n}", "$device_id": dev, "distinct_id": user or f"$device:{dev}"}
        if user:
            props["$user_id"] = user
        if kind == "land":
            source = draw(st.sampled_from(SOURCES))
            medium = draw(st.sampled_from(["email", "cpc", ""]))
            props["$current_url"] = f"https://h.example/?utm_source={source}" + (f"&utm_medium={medium}" if medium else "")
            events.append({"event": "Page View", "properties": props})
        elif kind == "page":
            props.update({"$current_url": "https://h.example/rooms", "utm_source": draw(st.sampled_from(SOURCES))})
            events.append({"event": "Page View", "properties": props})
        elif kind == "identify":
            u = draw(st.sampled_from(users))
            props.update({"distinct_id": u, "$user_id": u, "$anon_distinct_id": f"$device:{dev}"})
            events.append({"event": "$identify", "properties": props})
        elif kind == "book":
            props["amount"] = draw(st.sampled_from([100, 250.5, "80", "x"]))
            if draw(st.booleans()):
                props["utm_source"] = "crm"  # server-side: no URL, its own touchpoint
                del props["$device_id"]
                props.pop("$user_id", None)
                props["distinct_id"] = user or "crm-only"
            events.append({"event": "Reservation Completed", "properties": props})
        elif kind == "alias":
            events.append({"event": "$create_alias", "properties": {"time": t, "$insert_id": f"i{n}",
                           "distinct_id": draw(st.sampled_from(users)), "alias": draw(st.sampled_from(users + ["crm-only"]))}})
        else:
            events.append({"event": "$merge", "properties": {"time": t, "$insert_id": f"i{n}",
                           "$distinct_ids": draw(st.lists(st.sampled_from(users + devices), min_size=2, max_size=3))}})
    if not any(e["event"] == "Reservation Completed" for e in events):
        events.append({"event": "Reservation Completed", "properties": {"time": T0, "distinct_id": "u0", "amount": 1}})
    return events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(events=streams(), scope=st.sampled_from(["user", "session"]), lookback=st.sampled_from([1, 7, 30]),
       by=st.sampled_from(["utm_source", "utm_source,utm_medium"]), split=st.booleans())
def test_engine_matches_the_reference(tmp_path_factory, events, scope, lookback, by, split):
    folder = tmp_path_factory.mktemp("diff")
    with Store(folder / "d.duckdb") as store:
        store.insert_lines("default", raw_lines(events)).result()
        options = make_options("Reservation Completed", models=MODELS, scope=scope, lookback=f"{lookback}d", by=by,
                               split_on_key=split)
        result = attribute_in(store, options)
        driven = attribute_in(store, make_options("Reservation Completed", models="markov,shapley", scope=scope,
                                                  lookback=f"{lookback}d", by=by, split_on_key=split))
        rows = stored(store)
    keys = tuple(by.split(","))
    canonical = [dict(r, time=int(r["time"].timestamp() * 1_000_000), properties=orjson.loads(r["properties"]))
                 for r in rows]
    expected = reference.attribute(canonical, "Reservation Completed", MODELS.split(","), by=keys, scope=scope,
                                   lookback_us=lookback * DAY * 1_000_000, split_on_key=split)
    got: dict = {}
    for row in result.totals.to_pylist():
        got.setdefault(row["model"], {})[tuple(row[k] for k in keys)] = (row["conversions"], row["revenue"])
    assert set(got) == {m for m, keys_ in expected.items() if keys_}
    for model, credits in expected.items():
        assert set(got.get(model, {})) == set(credits), model
        for key, (credit, revenue) in credits.items():
            assert math.isclose(got[model][key][0], credit, abs_tol=1e-9), (model, key)
            assert math.isclose(got[model][key][1], revenue, rel_tol=1e-9, abs_tol=1e-6), (model, key)
    _check_invariants(result)
    for model in ("markov", "shapley"):  # (none) plus every key: one credit per conversion
        rows_ = [r for r in driven.totals.to_pylist() if r["model"] == model]
        assert math.isclose(sum(r["conversions"] for r in rows_), driven.conversions, abs_tol=1e-9), model
        assert all(r["conversions"] > 0 for r in rows_)


def _check_invariants(result):
    """Every model but participation hands out exactly one credit per conversion, and all its revenue."""
    per = result.per_conversion.to_pylist()
    conversions = {r["insert_id"] for r in per}
    assert len(conversions) == result.conversions
    revenue_of = {}
    for r in per:
        if r["model"] == "last_touch":
            revenue_of[r["insert_id"]] = r["revenue"] / r["credit"]
    for model in MODELS.split(","):
        rows = [r for r in result.totals.to_pylist() if r["model"] == model]
        credit = sum(r["conversions"] for r in rows)
        if model == "participation":
            assert credit >= result.conversions - 1e-9
            continue
        assert math.isclose(credit, result.conversions, abs_tol=1e-9), model
        assert math.isclose(sum(r["revenue"] for r in rows), sum(revenue_of.values()), rel_tol=1e-9, abs_tol=1e-6)
