"""Channels (docs/semantics.md §13): GA4's rules as data, every session a touchpoint, Direct.

The worked example of §13 is :func:`test_the_worked_example_of_the_docs`; the others take one
rule or one source of traffic at a time, each with the channel a reader can find in the rules.
"""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import raw_lines
from engine.journeys import DAY, MINUTE, book, land, page

from utmost.api import answer
from utmost.dialect import DUCKDB
from utmost.engine import make_options, queries
from utmost.engine.models import MODELS, Rule, parse_model
from utmost.engine.channels import channel_sql, channels_from, default_channels, describe
from utmost.errors import InputError
from utmost.store import Store

BOOKED = "Reservation Completed"
THIRD = round(1 / 3, 12)
GOOGLE = {"$referrer": "https://www.google.com/", "$referring_domain": "www.google.com"}


def credit(tmp_path, events, **options) -> dict[str, dict[str, float]]:
    """Conversions credited per model and key (keys joined by " / ")."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    with Store(tmp_path / "channels.duckdb") as store:
        store.insert_lines("default", raw_lines(events)).result()
        result = answer(store, make_options(BOOKED, **options))
    by = options.get("by", "utm_source").split(",")
    found: dict[str, dict[str, float]] = {}
    for row in result.totals.to_pylist():
        found.setdefault(row["model"], {})[" / ".join(row[p] for p in by)] = round(row["conversions"], 12)
    return found


def maya() -> list[dict]:
    """Lands from the newsletter; two days later comes from a Google search (no UTM); three days
    later types the address and books in that visit."""
    return [
        land(0, "newsletter", utm_medium="email"),
        page(MINUTE),  # the same visit: not a touchpoint
        page(2 * DAY, **GOOGLE),
        page(5 * DAY),  # typed: no referrer
        book(5 * DAY + 5 * MINUTE, amount=200),
    ]


def test_the_worked_example_of_the_docs(tmp_path):
    models = "first_touch,last_touch,last_non_direct,linear"
    assert credit(tmp_path / "utm", maya(), models=models) == {  # today's reading: one touchpoint
        "first_touch": {"newsletter": 1}, "last_touch": {"newsletter": 1},
        "last_non_direct": {"newsletter": 1}, "linear": {"newsletter": 1},
    }
    assert credit(tmp_path / "channel", maya(), models=models, by="channel") == {
        "first_touch": {"Email": 1}, "last_touch": {"Direct": 1}, "last_non_direct": {"Organic Search": 1},
        "linear": {"Email": THIRD, "Organic Search": THIRD, "Direct": THIRD},
    }
    assert credit(tmp_path / "excluded", maya(), models=models, by="channel", exclude_direct=True) == {
        "first_touch": {"Email": 1}, "last_touch": {"Organic Search": 1}, "last_non_direct": {"Organic Search": 1},
        "linear": {"Email": 0.5, "Organic Search": 0.5},
    }


RULE_MODELS = [m.name for m in MODELS if isinstance(m.computes, Rule) and not m.pattern] + ["position:30/40/30"]


@pytest.fixture(scope="module")
def every_rule(tmp_path_factory) -> dict[str, dict[str, float]]:
    return credit(tmp_path_factory.mktemp("all"), maya(), models=",".join(RULE_MODELS), by="channel")


@pytest.mark.parametrize("model", RULE_MODELS)
def test_each_rule_credits_alone_what_it_does_among_all(tmp_path, every_rule, model):
    """A question computes only the measures its rules read (``Rule.reads``): a rule asked alone
    gives the credit it gives beside every other, Direct, decay and all."""
    assert credit(tmp_path / "alone", maya(), models=model, by="channel") == {model: every_rule[model]}
    attributable = queries.attributable(DUCKDB, make_options(BOOKED, models=model, by="channel"))
    computed = {measure for measure, columns in queries.MEASURES.items() if columns[0] in attributable}
    assert computed == set(parse_model(model).computes.reads)


def test_a_conversion_with_only_direct_keeps_it_unless_direct_is_left_out(tmp_path):
    events = [page(0, dev="d2"), book(MINUTE, dev="d2")]
    assert credit(tmp_path / "kept", events, models="last_non_direct", by="channel") == {
        "last_non_direct": {"Direct": 1}}
    assert credit(tmp_path / "out", events, models="last_non_direct", by="channel", exclude_direct=True) == {
        "last_non_direct": {"(none)": 1}}


def test_click_ids_referrers_and_the_sites_own_pages(tmp_path):
    """gclid alone is Google Ads (Paid Search); fbclid alone is read by its referrer (Facebook
    adds it to organic links: Organic Social); a new visit referred by the site itself is Direct."""
    own = {"$referrer": "https://hotel.example/rooms", "$referring_domain": "hotel.example"}
    facebook = {"$referrer": "https://l.facebook.com/", "$referring_domain": "l.facebook.com"}
    events = [
        land(0, None, dev="d3", gclid="abc"),
        land(DAY, None, dev="d3", fbclid="xyz", **facebook),
        page(DAY + 2 * 60 * MINUTE, dev="d3", **own),  # after the 30-minute timeout: a new visit
        book(DAY + 2 * 60 * MINUTE + MINUTE, dev="d3"),
    ]
    assert credit(tmp_path, events, models="first_touch,last_touch,last_non_direct,linear", by="channel") == {
        "first_touch": {"Paid Search": 1}, "last_touch": {"Direct": 1}, "last_non_direct": {"Organic Social": 1},
        "linear": {"Paid Search": THIRD, "Organic Social": THIRD, "Direct": THIRD},
    }


def test_channel_beside_another_key_reads_not_set_for_a_visit(tmp_path):
    assert credit(tmp_path, maya(), models="linear", by="channel,utm_source") == {"linear": {
        "Email / newsletter": THIRD, "Organic Search / (not set)": THIRD, "Direct / (not set)": THIRD}}


#: One touchpoint's (source, medium, campaign) → its channel, one row per rule of GA4's, in order.
RULES = [
    (("(direct)", "(none)", ""), "Direct"),
    (("google", "cpc", "brand cross-network q3"), "Cross-network"),
    (("amazon", "cpc", ""), "Paid Shopping"),
    (("partner", "paid", "summer shopping"), "Paid Shopping"),
    (("Google", "CPC", ""), "Paid Search"),  # case-insensitive
    (("www.bing.com", "ppc", ""), "Paid Search"),
    (("facebook", "paid_social", ""), "Paid Social"),
    (("youtube", "cpv", ""), "Paid Video"),
    (("dv360", "display", ""), "Display"),
    (("partner", "retargeting", ""), "Paid Other"),
    (("etsy.com", "referral", ""), "Organic Shopping"),
    (("l.facebook.com", "referral", ""), "Organic Social"),
    (("blog", "social", ""), "Organic Social"),
    (("vimeo.com", "referral", ""), "Organic Video"),
    (("duckduckgo.com", "referral", ""), "Organic Search"),
    (("partner", "organic", ""), "Organic Search"),
    (("hotels.example", "referral", ""), "Referral"),
    (("newsletter", "email", "spring"), "Email"),
    (("e-mail", "(not set)", ""), "Email"),
    (("partner", "affiliate", ""), "Affiliates"),
    (("podcast", "audio", ""), "Audio"),
    (("sms", "(not set)", ""), "SMS"),
    (("app", "web-push", ""), "Mobile Push Notifications"),
    (("firebase", "(not set)", ""), "Mobile Push Notifications"),
    (("newsletter", "(not set)", ""), "Unassigned"),
    (("googleplex", "cpc", ""), "Paid Other"),  # "google" is a label of the domain, not a prefix
]


@pytest.mark.parametrize(("traffic", "channel"), RULES, ids=[f"{c}:{'/'.join(t)}" for t, c in RULES])
def test_each_rule_of_ga4s_default_channel_group(traffic, channel):
    sql = channel_sql(DUCKDB, default_channels(), "s", "m", "c")
    assert duckdb.execute(f"SELECT {sql} FROM (SELECT ? AS s, ? AS m, ? AS c)", list(traffic)).fetchone()[0] == channel


def test_a_projects_own_rules_come_first_and_extend_the_lists(tmp_path):
    own = channels_from(
        '[[rule]]\nchannel = "Hotel partners"\nwhen = [{ source_is = ["booking", "expedia"] }]\n\n'
        '[categories]\nsearch = ["hotelsearch.example"]\n',
        "mine.toml",
    )
    assert [r.channel for r in own.rules[:2]] == ["Hotel partners", "Direct"]
    sql = channel_sql(DUCKDB, own, "s", "m", "c")
    for traffic, channel in [(("Booking", "cpc", ""), "Hotel partners"),
                             (("hotelsearch.example", "cpc", ""), "Paid Search")]:
        assert duckdb.execute(f"SELECT {sql} FROM (SELECT ? AS s, ? AS m, ? AS c)", list(traffic)).fetchone()[0] == channel
    replaced = channels_from('replace = true\n[[rule]]\nchannel = "All"\nwhen = [{ medium_matches = ".*" }]\n', "x")
    assert [r.channel for r in replaced.rules] == ["All"] and replaced.names == ("All", "Unassigned")


@pytest.mark.parametrize(("text", "message"), [
    ('[[rule]]\nchannel = "X"\n', "rules.toml:1: a rule has exactly `channel = \"…\"` and `when = [{…}, …]`"),
    ('\n\n[[rule]]\nchannel = "X"\nwhen = [{ source_iz = "a" }]\n', "rules.toml:3: unknown condition 'source_iz'"),
    ('[[rule]]\nchannel = "X"\nwhen = [{ source_category = "news" }]\n', "rules.toml:1: unknown source category 'news'"),
    ('[[rule]]\nchannel = "X"\nwhen = [{ medium_matches = "(" }]\n', "rules.toml:1: bad regular expression '('"),
    ('[[rule]]\nchannel = "X"\nwhen = [{ medium_matches = "(?!a)b" }]\n',
     "rules.toml:1: '(?!a)b': look-arounds and back-references are not supported"),
    ('[[rule]]\nchannel = "X"\nwhen = []\n', "rules.toml:1: when must be a non-empty list"),
    ('[[rule]]\nchannel = ""\nwhen = [{ medium_is = "a" }]\n', "rules.toml:1: channel must be a non-empty string"),
    ('[[rule]]\nchannel = "X"\nwhen = [{ medium_is = 3 }]\n', "rules.toml:1: medium_is takes a string or a list"),
    ('channel = = 3\n', "rules.toml:1: not TOML"),
    ('[categories]\nvideo = "peertube"\n', "rules.toml:1: categories.video must be a list of site names"),
    ('rules = 1\n', "rules.toml:1: unknown key 'rules'"),
])
def test_a_rules_file_it_cannot_use_is_refused_with_its_line(text, message):
    with pytest.raises(InputError) as refused:
        channels_from(text, "rules.toml")
    assert str(refused.value).startswith(message)


def test_the_rules_are_described_in_order_with_their_lists():
    said = describe(default_channels())
    assert said.splitlines()[0] == " 1. Direct: source is '(direct)' and (medium is '(not set)' or '(none)')"
    assert "19. Unassigned: when no rule above holds" in said
    assert "\nsearch sites (" in said and "google" in said


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_as_a_rules_file_is_used_or_refused_with_a_line(text):
    try:
        channels_from(text, "any.toml")
    except InputError as refused:
        assert str(refused).startswith("any.toml:")


#: Values that break SQL quoting or a regular expression if they ever reached either unescaped.
HOSTILE = st.text(alphabet=st.sampled_from(list("ab'\"\\%_.*?()[]|^$ \x00é")), max_size=12)


@settings(max_examples=150, deadline=None)
@given(source=HOSTILE, medium=HOSTILE, campaign=HOSTILE, value=HOSTILE)
def test_hostile_values_in_touchpoints_and_in_a_projects_rules_stay_values(source, medium, campaign, value):
    """A rule's value and a touchpoint's are compared as text: each value only ever reaches the
    SQL as a literal (or an escaped pattern), so the query runs and names one of the channels."""
    rules = channels_from(f'[[rule]]\nchannel = "Odd"\nwhen = [{{ source_is = {_toml_string(value)} }}]\n', "odd.toml")
    sql = channel_sql(DUCKDB, rules, "s", "m", "c")
    found = duckdb.execute(f"SELECT {sql} FROM (SELECT ? AS s, ? AS m, ? AS c)", [source, medium, campaign]).fetchone()[0]
    assert found in rules.names
    assert (found == "Odd") == (source.lower() == value.lower())


def _toml_string(value: str) -> str:
    """``value`` as a TOML basic string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "\\u0000")
    return f'"{escaped}"'
