"""The demo traffic generator: deterministic, time-ordered, and shaped like mixpanel-browser.

The checks replay what the browser SDK does (persisted UTM super properties, identify) as an
independent reference model and compare every event with it, so a generator that drifted from
the SDK's behaviour fails here rather than in an attribution number.
"""

from __future__ import annotations

import collections
import datetime
import re
import tracemalloc
import uuid
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utmost.demo import CAMPAIGNS, SPEND_FACTOR, generate, generate_lines, generate_spend
from utmost.ingest.spend import KEYS, parse_spend

INSERT_ID = re.compile(r"^[0-9a-z]{16}$")
USER_ID = re.compile(r"^user-\d{6}$")
CLICK_IDS = {"gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "ttclid", "li_fat_id",
             "twclid", "ko_click_id", "sccid"}
# What mixpanel-browser 2.83.0 puts on every event (wire fixtures, README "Event properties").
ALWAYS = {"$os", "$browser", "$browser_version", "$screen_height", "$screen_width", "mp_lib",
          "$lib_version", "$insert_id", "time", "distinct_id", "$device_id", "token",
          "mp_sent_by_lib_version", "$current_url", "$initial_referrer",
          "$initial_referring_domain"}
START = datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return list(generate())


def props(event: dict) -> dict:
    return event["properties"]


def url_params(url: str) -> dict[str, str]:
    """A URL's query as a browser reads it: ``+`` is a space, the first occurrence wins."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(urlsplit(url).query):
        params.setdefault(key, value)
    return params


def by_device(events: list[dict]) -> dict[str, list[dict]]:
    devices = collections.defaultdict(list)
    for event in events:
        devices[props(event)["$device_id"]].append(event)
    return devices


def persistence_mismatches(events: list[dict]) -> list[str]:
    """Replay the SDK's UTM persistence per device; describe every event that disagrees.

    Reference behaviour (stop_utm_persistence: false): a landing registers its URL's utm_*
    key by key over the older ones; every event carries the registered set; click ids appear
    only on events whose own URL carries them.
    """
    problems = []
    registered: dict[str, dict] = collections.defaultdict(dict)
    for event in events:
        p = props(event)
        in_url = url_params(p["$current_url"])
        utm_now = registered[p["$device_id"]]
        utm_now.update({k: v for k, v in in_url.items() if k.startswith("utm_")})
        utm_seen = {k: v for k, v in p.items() if k.startswith("utm_")}
        clicks_seen = {k: v for k, v in p.items() if k in CLICK_IDS}
        clicks_in_url = {k: v for k, v in in_url.items() if k in CLICK_IDS}
        if utm_seen != utm_now or clicks_seen != clicks_in_url:
            problems.append(f"{p['$insert_id']}: {utm_seen} {clicks_seen}, expected "
                            f"{utm_now} {clicks_in_url}")
    return problems


def identity_mismatches(events: list[dict]) -> list[str]:
    """Check each device's distinct_id before, at and after its one ``$identify``."""
    problems = []
    for device_id, stream in by_device(events).items():
        anonymous, user = "$device:" + device_id, None
        for event in stream:
            p = props(event)
            if event["event"] == "$identify":
                if user is not None or p["$anon_distinct_id"] != anonymous:
                    problems.append(f"{device_id}: unexpected $identify {p['$insert_id']}")
                user = p["$user_id"]
            expected = (user, user) if user else (anonymous, None)
            if (p["distinct_id"], p.get("$user_id")) != expected:
                problems.append(f"{device_id}: {p['$insert_id']} is not {expected}")
    return problems


# -- determinism and order ----------------------------------------------------------------


def test_same_seed_gives_identical_output():
    assert list(generate_lines(seed=3, visitors=150, days=10)) == list(
        generate_lines(seed=3, visitors=150, days=10))


def test_another_seed_gives_other_output():
    assert list(generate_lines(seed=3, visitors=150, days=10)) != list(
        generate_lines(seed=4, visitors=150, days=10))


def test_events_are_in_global_time_order(events):
    times = [props(event)["time"] for event in events]
    assert times == sorted(times)


def test_events_stay_inside_the_window(events):
    start = START.timestamp()
    assert all(start <= props(event)["time"] < start + 60 * 86_400 for event in events)


def test_each_device_has_strictly_increasing_times(events):
    for stream in by_device(events).values():
        times = [props(event)["time"] for event in stream]
        assert all(a < b for a, b in zip(times, times[1:]))


# -- the browser SDK's shape --------------------------------------------------------------


def test_every_event_has_the_sdk_properties(events):
    for event in events:
        p = props(event)
        assert ALWAYS <= p.keys(), ALWAYS - p.keys()
        assert p["mp_lib"] == "web"
        assert p["$lib_version"] == p["mp_sent_by_lib_version"] == "2.83.0"
        assert p["token"] == "demo-token"
        assert list(p)[-2:] == ["token", "mp_sent_by_lib_version"]


def test_insert_ids_have_the_sdk_format_and_are_unique(events):
    insert_ids = [props(event)["$insert_id"] for event in events]
    assert all(INSERT_ID.match(insert_id) for insert_id in insert_ids)
    assert len(set(insert_ids)) == len(insert_ids)


def test_time_is_epoch_seconds_with_milliseconds(events):
    for event in events:
        time = props(event)["time"]
        assert isinstance(time, float) and 1e9 < time < 1e11
        assert round(time, 3) == time


def test_device_ids_are_uuid4_and_anonymous_ids_use_them(events):
    for device_id, stream in by_device(events).items():
        assert uuid.UUID(device_id).version == 4 and str(uuid.UUID(device_id)) == device_id
        assert props(stream[0])["distinct_id"] == "$device:" + device_id


def test_only_phones_report_a_device(events):
    for event in events:
        p = props(event)
        assert ("$device" in p) == (p["$os"] in {"iOS", "Android"})


def test_first_landing_from_a_google_ad_is_laid_out_like_the_sdk(events):
    """Key order of fixture browser-a (landing with UTMs, a click id and a search referrer)."""
    first_events = [stream[0] for stream in by_device(events).values()]
    landing = next(e for e in first_events
                   if url_params(props(e)["$current_url"]).get("utm_medium") == "cpc"
                   and "$device" not in props(e))
    p = props(landing)
    utm = [key for key in url_params(p["$current_url"]) if key.startswith("utm_")]
    assert landing["event"] == "$mp_web_page_view"
    assert list(p) == [
        "$os", "$browser", "$referrer", "$referring_domain", "$current_url",
        "$browser_version", "$screen_height", "$screen_width", "mp_lib", "$lib_version",
        "$insert_id", "time", *utm, "gclid", "distinct_id", "$device_id", "$search_engine",
        "$initial_referrer", "$initial_referring_domain", "language", "search_layout",
        "current_page_title", "current_domain", "current_url_path", "current_url_protocol",
        "current_url_search", "token", "mp_sent_by_lib_version"]
    assert p["$search_engine"] == "google"
    assert p["current_url_search"] == "?" + urlsplit(p["$current_url"]).query


def test_page_views_have_a_search_only_with_a_query(events):
    for event in events:
        p = props(event)
        if event["event"] == "$mp_web_page_view":
            query = urlsplit(p["$current_url"]).query
            assert p.get("current_url_search") == ("?" + query if query else None)
            assert p["current_url_path"] == urlsplit(p["$current_url"]).path
        else:
            assert "current_page_title" not in p


# -- campaigns and persistence ------------------------------------------------------------


def test_utm_super_properties_persist_key_by_key_like_the_sdk(events):
    assert persistence_mismatches(events) == []


def test_landings_carry_utms_in_the_url_and_later_pages_echo_them_without_a_query(events):
    with_query = [e for e in events if urlsplit(props(e)["$current_url"]).query]
    echoes = [e for e in events
              if "utm_source" in props(e) and not urlsplit(props(e)["$current_url"]).query]
    assert with_query and all("utm_source" in url_params(props(e)["$current_url"])
                              for e in with_query)
    assert len(echoes) > len(with_query)


def test_utm_values_are_url_encoded_and_decoded_as_a_browser_does(events):
    spaced = [e for e in events if " " in props(e).get("utm_term", "")]
    landing = next(e for e in spaced if "utm_term" in url_params(props(e)["$current_url"]))
    assert "+" in props(landing)["$current_url"]


def test_utm_keys_of_two_campaigns_mix_as_in_fixture_h(events):
    tagged = [set(c.utm.items()) for c in CAMPAIGNS]
    mixed = [e for e in events
             if (utm := {(k, v) for k, v in props(e).items() if k.startswith("utm_")})
             and not any(utm <= campaign for campaign in tagged)]
    assert len(mixed) > 100
    assert any(props(e)["utm_source"] == "instagram" and "utm_campaign" in props(e)
               for e in mixed)


def test_reloaded_landings_fire_the_same_click_twice_within_a_minute(events):
    reloads = 0
    for stream in by_device(events).values():
        views = [props(e) for e in stream if e["event"] == "$mp_web_page_view"]
        reloads += sum(1 for a, b in zip(views, views[1:])
                       if a["$current_url"] == b["$current_url"]
                       and "utm_source=" in a["$current_url"] and b["time"] - a["time"] < 60)
    assert reloads > 10


def test_initial_referrer_is_the_first_pages_and_never_changes(events):
    for stream in by_device(events).values():
        first = props(stream[0])
        initial = (first.get("$referrer", "$direct"), first.get("$referring_domain", "$direct"))
        assert {(props(e)["$initial_referrer"], props(e)["$initial_referring_domain"])
                for e in stream} == {initial}


def test_links_within_a_visit_refer_from_the_previous_page(events):
    followed = 0
    for stream in by_device(events).values():
        views = [props(e) for e in stream if e["event"] == "$mp_web_page_view"]
        for before, after in zip(views, views[1:]):
            if after["time"] - before["time"] < 600 and not urlsplit(after["$current_url"]).query:
                assert after["$referrer"] == before["$current_url"]
                assert after["$referring_domain"] == "hotel.example"
                followed += 1
    assert followed > len(events) / 5


def test_visitors_return_in_later_sessions_some_after_thirty_days(events):
    spans = [props(s[-1])["time"] - props(s[0])["time"] for s in by_device(events).values()]
    assert sum(span > 3600 for span in spans) > len(spans) / 4
    assert any(span > 30 * 86_400 for span in spans)


# -- identity and conversions -------------------------------------------------------------


def test_sign_in_links_each_device_once_with_identify(events):
    identifies = [props(e) for e in events if e["event"] == "$identify"]
    assert identifies
    for p in identifies:
        assert USER_ID.match(p["$user_id"]) and p["distinct_id"] == p["$user_id"]
        assert p["$anon_distinct_id"] == "$device:" + p["$device_id"]
    assert identity_mismatches(events) == []


def test_some_users_sign_in_on_two_devices(events):
    devices_of = collections.defaultdict(set)
    for event in events:
        if event["event"] == "$identify":
            devices_of[props(event)["$user_id"]].add(props(event)["$device_id"])
    assert sum(len(devices) >= 2 for devices in devices_of.values()) >= 20


def test_reservations_come_only_from_signed_in_users(events):
    reservations = [props(e) for e in events if e["event"] == "Reservation Completed"]
    assert 100 <= len(reservations) <= 800
    for p in reservations:
        assert USER_ID.match(p["$user_id"]) and p["distinct_id"] == p["$user_id"]
        assert isinstance(p["amount"], float) and p["amount"] > 0
        assert round(p["amount"], 2) == p["amount"]
        assert p["currency"] == "EUR"
    per_user = collections.Counter(p["$user_id"] for p in reservations)
    assert 1 <= sum(count == 2 for count in per_user.values()) < len(per_user) / 5


def test_first_and_last_touch_disagree(events):
    """Social ads open journeys, newsletters close them: the models must tell that apart."""
    user_of = {props(e)["$device_id"]: props(e)["$user_id"]
               for e in events if e["event"] == "$identify"}
    touches = collections.defaultdict(list)
    first, last = collections.Counter(), collections.Counter()
    for event in events:
        p = props(event)
        person = user_of.get(p["$device_id"], p["$device_id"])
        source = url_params(p["$current_url"]).get("utm_source")
        if source:
            touches[person].append(source)
        if event["event"] == "Reservation Completed" and touches[person]:
            first[touches[person][0]] += 1
            last[touches[person][-1]] += 1
    social = {"facebook", "instagram", "tiktok"}
    assert sum(first[s] for s in social) > 1.3 * sum(last[s] for s in social)
    assert last["newsletter"] > 1.3 * first["newsletter"]


def test_visits_without_utms_carry_the_referrer_the_sdk_sends_and_returns_are_often_direct(events):
    """Organic visits are told apart by ``$referrer`` (a search engine, a social site, a blog,
    as origins: the browser's default referrer policy), Direct ones by having none."""
    first_views: dict[str, list[dict]] = collections.defaultdict(list)
    for stream in by_device(events).values():
        previous = None
        for event in stream:
            p = props(event)
            if event["event"] == "$mp_web_page_view" and (previous is None or p["time"] - previous > 1800):
                first_views[p["$device_id"]].append(p)
            previous = p["time"]
    landings = [view for views in first_views.values() for view in views]
    untagged = [v for v in landings if "utm_source" not in url_params(v["$current_url"])]
    referred = collections.Counter(v.get("$referring_domain", "$direct") for v in untagged)
    assert {"www.google.com", "l.facebook.com", "www.wanderlustdiaries.example"} <= referred.keys()
    assert all(v["$referrer"] == f"https://{v['$referring_domain']}/" for v in untagged if "$referrer" in v)
    returns = [v for views in first_views.values() for v in views[1:]]
    direct_returns = [v for v in returns if "$referrer" not in v]
    assert len(direct_returns) > len(returns) / 4


# -- spend --------------------------------------------------------------------------------

PAID = [c for c in CAMPAIGNS if c.daily_budget]


def spend_rows(**kwargs) -> list:
    parsed = parse_spend(generate_spend(**kwargs), "demo-spend.csv", currency=None)
    assert parsed.problems == [] and parsed.currency == "EUR"
    return parsed.rows


def test_spend_is_the_same_for_a_seed_and_another_for_another():
    assert generate_spend(seed=3) == generate_spend(seed=3)
    assert generate_spend(seed=3) != generate_spend(seed=4)


def test_spend_is_one_row_per_day_the_traffic_covers_and_paid_campaign():
    rows = spend_rows(seed=3, days=10, start=START)
    days = sorted({row.date for row in rows})
    assert days == [START.date() + datetime.timedelta(d) for d in range(10)]
    assert len(rows) == 10 * len(PAID) and len(PAID) == 4
    budgets = {(c.utm_source, c.utm_medium, c.utm_campaign): c.daily_budget for c in PAID}
    scale = (2_000 / 10) / (2_000 / 60)  # the default visitors over 10 days, not 60
    low, high = SPEND_FACTOR
    for row in rows:
        budget = budgets[(row.utm_source, row.utm_medium, row.utm_campaign)] * scale
        assert budget * low - 0.005 <= row.cost <= budget * high + 0.005


def test_spend_follows_the_visitors_per_day():
    """Half the visitors, half the spend: each day's factor is drawn the same for a seed."""
    full, half = spend_rows(seed=5), spend_rows(seed=5, visitors=1_000)
    assert all(abs(a.cost / 2 - b.cost) <= 0.01 for a, b in zip(full, half, strict=True))  # cents, rounded twice


def test_every_spend_key_is_a_key_the_landings_carry(events):
    """Spend joins attribution rows by (utm_source, utm_medium, utm_campaign): the landings'
    own spelling, read from ``$current_url`` as the engine reads it."""
    landed = {tuple(url_params(props(e)["$current_url"]).get(key) for key in KEYS) for e in events}
    spent = {tuple(getattr(row, key) for key in KEYS) for row in spend_rows()}
    assert spent <= landed


def test_the_wasteful_campaign_spends_the_most_on_the_most_first_visits():
    tiktok = max(PAID, key=lambda c: c.daily_budget)
    assert tiktok.utm_campaign == "weekend_escape"
    assert tiktok.weight == max(c.weight for c in CAMPAIGNS) and tiktok.prospects < 0.5


# -- size and format ----------------------------------------------------------------------


def test_default_size_and_properties_per_event(events):
    assert 20_000 <= len(events) <= 40_000
    assert 25 <= sum(len(props(e)) for e in events) / len(events) <= 35


def test_generate_lines_is_a_mixpanel_export_jsonl():
    kwargs = dict(seed=11, visitors=80, days=5, token="tok")
    lines = list(generate_lines(**kwargs))
    assert lines and all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    assert [orjson.loads(line) for line in lines] == list(generate(**kwargs))
    assert all(orjson.loads(line)["properties"]["token"] == "tok" for line in lines)


def test_streaming_holds_a_small_fraction_of_the_output_in_memory():
    tracemalloc.start()
    try:
        for _ in generate(visitors=600, days=20):
            pass
        streaming_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        everything = list(generate(visitors=600, days=20))
        listed_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert everything and streaming_peak < listed_peak / 5


def test_a_naive_start_is_read_as_utc():
    naive = START.replace(tzinfo=None)
    assert list(generate_lines(visitors=20, days=3, start=naive)) == list(
        generate_lines(visitors=20, days=3, start=START))


@pytest.mark.parametrize("kwargs", [dict(visitors=-1), dict(days=0)])
def test_bad_sizes_are_rejected_at_the_call(kwargs):
    with pytest.raises(ValueError):
        generate(**kwargs)


def test_no_visitors_means_no_events():
    assert list(generate(visitors=0, days=3)) == []


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**64), visitors=st.integers(0, 40), days=st.integers(1, 15))
def test_invariants_hold_for_any_seed_and_size(seed, visitors, days):
    events = list(generate(seed=seed, visitors=visitors, days=days))
    times = [props(e)["time"] for e in events]
    assert times == sorted(times)
    assert len({props(e)["$insert_id"] for e in events}) == len(events)
    assert persistence_mismatches(events) == []
    assert identity_mismatches(events) == []
