"""Landing UTM parsing (docs/semantics.md §4), through the real ingest query on a real DuckDB file."""

from __future__ import annotations

import re

import pytest
from conftest import event, raw_lines, stored
from hypothesis import given, settings
from hypothesis import strategies as st

from utmost.ingest.campaign import CLICK_IDS, LANDING_HINT, LANDING_PARAMS, UTM_KEYS, landing_values

SITE = "https://hotel.example/rooms"


def landing(store, **properties) -> dict:
    store.insert_lines("default", raw_lines([event(**properties)])).result()
    (row,) = stored(store, ", ".join(LANDING_PARAMS))
    return {key: value for key, value in row.items() if value is not None}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("utm_source=newsletter&utm_medium=email", {"utm_source": "newsletter", "utm_medium": "email"}),
        ("utm_source=spring+sale", {"utm_source": "spring sale"}),
        ("utm_source=spring%20sale", {"utm_source": "spring sale"}),
        ("utm_source=caf%C3%A9%20%E2%82%AC", {"utm_source": "café €"}),
        ("utm_source=a%2Bb", {"utm_source": "a+b"}),
        ("utm_source=100%25", {"utm_source": "100%"}),
        ("utm_source=%E9t%E9", {"utm_source": "%E9t%E9"}),  # not UTF-8: kept as sent
        ("utm_source=first&utm_source=second", {"utm_source": "first"}),
        ("utm_source=&utm_medium=email", {"utm_medium": "email"}),
        ("utm_source&utm_medium=email", {"utm_medium": "email"}),
        ("utm_source=Newsletter", {"utm_source": "Newsletter"}),
        ("UTM_SOURCE=newsletter", {}),
        ("xutm_source=newsletter&autm_medium=x", {}),
        ("utm_source=a#utm_medium=b", {"utm_source": "a"}),
        ("utm_source=a=b", {"utm_source": "a=b"}),
        ("gclid=abc123&fbclid=xyz&ttclid=t1", {"gclid": "abc123", "fbclid": "xyz", "ttclid": "t1"}),
        ("li_fat_id=l&msclkid=m&twclid=w&gbraid=g&wbraid=w2&dclid=d", {
            "li_fat_id": "l", "msclkid": "m", "twclid": "w", "gbraid": "g", "wbraid": "w2", "dclid": "d"}),
        ("utm_id=42&utm_term=hotel+rooms&utm_content=hero", {"utm_id": "42", "utm_term": "hotel rooms", "utm_content": "hero"}),
    ],
)
def test_query_string_is_read_as_a_browser_does(store, query, expected):
    assert landing(store, **{"$current_url": f"{SITE}?{query}"}) == expected


def test_fragment_is_not_the_query(store):
    assert landing(store, **{"$current_url": f"{SITE}#/?utm_source=spa"}) == {}


def test_url_wins_over_persisted_echoes(store):
    """A later page's URL has no UTMs: the echoed super properties are not a click."""
    echoes = {"utm_source": "newsletter", "utm_medium": "email", "gclid": "old"}
    assert landing(store, **{"$current_url": SITE, **echoes}) == {}


def test_url_keys_do_not_mix_with_property_keys(store):
    """Fixture h: the URL carries facebook/paid_social, the properties still hold the newsletter's campaign."""
    props = {"utm_source": "facebook", "utm_medium": "paid_social", "utm_campaign": "spring_sale"}
    url = f"{SITE}?utm_source=facebook&utm_medium=paid_social"
    assert landing(store, **{"$current_url": url, **props}) == {"utm_source": "facebook", "utm_medium": "paid_social"}


def test_server_side_event_reads_properties(store):
    props = {key: f"v-{key}" for key in LANDING_PARAMS}
    assert landing(store, **props) == props


def test_server_side_empty_and_numeric_values(store):
    assert landing(store, utm_source="", utm_medium=7, utm_campaign=None) == {"utm_medium": "7"}


def test_empty_current_url_counts_as_absent(store):
    assert landing(store, **{"$current_url": "", "utm_source": "crm"}) == {"utm_source": "crm"}


def test_param_lists_match_the_contract():
    assert UTM_KEYS == ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "utm_id")
    assert set(CLICK_IDS) == {"gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "ttclid", "li_fat_id", "twclid"}


_url_parts = st.lists(
    st.tuples(
        st.sampled_from(["?", "&", "#", "", "%3F", ";"]),
        st.one_of(st.sampled_from([*LANDING_PARAMS, "UTM_SOURCE", "utm_", "page"]), st.text(max_size=3)),
        st.sampled_from(["=", ""]),
        st.sampled_from(["spring", "", "a+b", "%20"]),
    ),
    max_size=5,
)


@settings(max_examples=300)
@given(_url_parts)
def test_every_url_that_lands_with_a_parameter_matches_the_hint(parts):
    # The ingest query calls landing_values only when LANDING_HINT matches: it must never
    # skip a URL that has something to give.
    url = "https://hotel.example/rooms" + "".join("".join(part) for part in parts)
    if any(landing_values(url) or []):
        assert re.search(LANDING_HINT, url), url
