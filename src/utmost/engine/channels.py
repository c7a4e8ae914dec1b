"""Channels: which of GA4's default channel groups a touchpoint belongs to, by rules kept as data.

The rules (``channel_data/rules.toml``) and the source lists (``channel_data/search.txt``, …)
are data files; this module reads and checks them, lets a project's own file extend or replace
them (errors as ``FILE:LINE: reason``), and turns them into one SQL ``CASE`` for either dialect
(docs/semantics.md §13). Pure: no I/O but reading the package's own data files.

A touchpoint's source, medium and campaign, which the rules read, come from its landing's UTM
values, else from an advertiser's click id (:data:`CLICK_ID_TRAFFIC`), else from the visit's
referring domain (:func:`traffic_sql`).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from utmost.dialect import Dialect, url_host
from utmost.errors import InputError

DATA = Path(__file__).parent / "channel_data"
#: The virtual key property: a touchpoint's channel, by the rules in effect.
CHANNEL = "channel"
DIRECT = "Direct"
UNASSIGNED = "Unassigned"
FIELDS = ("source", "medium", "campaign")
OPERATORS = ("is", "matches", "contains", "ends_with")
CATEGORIES = ("search", "social", "video", "shopping")
#: What an advertiser's auto-tagging click id says when the landing has no utm_source: the
#: source and medium its platform adds it for. ``fbclid`` is absent on purpose: Facebook adds
#: it to organic links too, so a landing with only it is read by its referrer, as a visit.
CLICK_ID_TRAFFIC: dict[str, tuple[str, str]] = {
    "gclid": ("google", "cpc"),  # Google Ads auto-tagging
    "gbraid": ("google", "cpc"),  # Google Ads, iOS app-to-web
    "wbraid": ("google", "cpc"),  # Google Ads, iOS web-to-app
    "dclid": ("google", "display"),  # Display & Video 360 / Campaign Manager
    "msclkid": ("bing", "cpc"),  # Microsoft Advertising auto-tagging
    "ttclid": ("tiktok", "cpc"),  # TikTok ads
    "li_fat_id": ("linkedin", "cpc"),  # LinkedIn ads
    "twclid": ("twitter", "cpc"),  # X (Twitter) ads
}
#: What mixpanel-browser sends as the referring domain of a visit without a referrer.
NO_REFERRER = "$direct"
_LOOKAROUND = re.compile(r"\(\?<?[=!]|\\[1-9]")


@dataclass(frozen=True)
class Condition:
    """``field operator values``: true when the touchpoint's field (lowercased) passes for any value."""

    field: str  # source, medium or campaign
    operator: str  # is, matches, contains, ends_with, or category (of the source)
    values: tuple[str, ...]


@dataclass(frozen=True)
class ChannelRule:
    """The channel a touchpoint belongs to when every group of ``when`` holds, a group holding
    when any of its conditions does; ``where`` is the rule's FILE:LINE."""

    channel: str
    when: tuple[tuple[Condition, ...], ...]
    where: str = field(default="", compare=False)


@dataclass(frozen=True)
class Channels:
    """The rules in effect, in order, and the source lists they read."""

    rules: tuple[ChannelRule, ...]
    categories: tuple[tuple[str, tuple[str, ...]], ...]

    def category(self, name: str) -> tuple[str, ...]:
        return dict(self.categories)[name]

    @property
    def names(self) -> tuple[str, ...]:
        """Every channel a touchpoint can get, in rule order, then Unassigned."""
        return tuple(dict.fromkeys([*(r.channel for r in self.rules), UNASSIGNED]))


@functools.cache
def default_channels() -> Channels:
    """GA4's default channel group, from the package's data files."""
    path = DATA / "rules.toml"
    rules, _, _ = _parse(path.read_text(), str(path))
    categories = tuple((name, _category_file(DATA / f"{name}.txt")) for name in CATEGORIES)
    return Channels(rules, categories)


def channels_from(text: str, name: str, base: Channels | None = None) -> Channels:
    """The rules in effect for a project whose own rules file ``name`` holds ``text``.

    Its rules come before ``base``'s (GA4's, by default) unless it says ``replace = true``; its
    ``[categories]`` add names to the source lists. Raises :class:`InputError` as
    ``FILE:LINE: reason`` for anything it cannot use.
    """
    base = base or default_channels()
    rules, added, replace = _parse(text, name)
    categories = tuple((cat, tuple(dict.fromkeys([*names, *added.get(cat, ())]))) for cat, names in base.categories)
    return Channels(rules if replace else rules + base.rules, categories)


def _parse(text: str, name: str) -> tuple[tuple[ChannelRule, ...], dict[str, tuple[str, ...]], bool]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        raise InputError(f"{name}:{found[1] if found else 1}: not TOML: {error}") from None
    lines = [n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith("[[rule]]")]
    unknown = set(document) - {"rule", "replace", "categories"}
    if unknown:
        raise InputError(f"{name}:1: unknown key {sorted(unknown)[0]!r} (expected [[rule]], replace, [categories])")
    entries = document.get("rule", [])
    if not isinstance(entries, list):
        raise InputError(f"{name}:1: rule must be an array of tables ([[rule]])")
    rules = tuple(_rule(entry, f"{name}:{lines[i] if i < len(lines) else 1}") for i, entry in enumerate(entries))
    replace = document.get("replace", False)
    if not isinstance(replace, bool):
        raise InputError(f"{name}:1: replace must be true or false")
    return rules, _categories(document.get("categories", {}), name, text), replace


def _rule(entry: object, where: str) -> ChannelRule:
    if not isinstance(entry, dict) or set(entry) != {"channel", "when"}:
        raise InputError(f"{where}: a rule has exactly `channel = \"…\"` and `when = [{{…}}, …]`")
    channel, when = entry["channel"], entry["when"]
    if not isinstance(channel, str) or not channel.strip():
        raise InputError(f"{where}: channel must be a non-empty string")
    if not isinstance(when, list) or not when or not all(isinstance(g, dict) and g for g in when):
        raise InputError(f"{where}: when must be a non-empty list of groups, {{condition = value, …}}")
    return ChannelRule(channel.strip(), tuple(tuple(_condition(k, v, where) for k, v in g.items()) for g in when),
                       where)


def _condition(key: str, value: object, where: str) -> Condition:
    field_name, _, operator = key.partition("_")
    if key != "source_category" and (field_name not in FIELDS or operator not in OPERATORS):
        conditions = ", ".join(f"{f}_{o}" for f in FIELDS for o in OPERATORS)
        raise InputError(f"{where}: unknown condition {key!r} (one of {conditions}, source_category)")
    values = tuple(value) if isinstance(value, list) else (value,)
    if not values or not all(isinstance(v, str) for v in values):
        raise InputError(f"{where}: {key} takes a string or a list of strings")
    if key == "source_category":
        for each in values:
            if each not in CATEGORIES:
                raise InputError(f"{where}: unknown source category {each!r} (one of {', '.join(CATEGORIES)})")
        return Condition("source", "category", values)
    if operator == "matches":
        for each in values:
            _check_regex(each, where)
    return Condition(field_name, operator, tuple(v.lower() for v in values) if operator != "matches" else values)


def _check_regex(pattern: str, where: str) -> None:
    """A pattern both engines read alike: Python's reading of it, and none of what RE2 (DuckDB)
    lacks, look-arounds and back-references."""
    try:
        re.compile(pattern)
    except re.error as error:
        raise InputError(f"{where}: bad regular expression {pattern!r}: {error}") from None
    if _LOOKAROUND.search(pattern):
        raise InputError(f"{where}: {pattern!r}: look-arounds and back-references are not supported")


def _categories(table: object, name: str, text: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, dict):
        raise InputError(f"{name}:1: [categories] must be a table of lists")
    line = next((n for n, each in enumerate(text.splitlines(), 1) if each.strip() == "[categories]"), 1)
    added = {}
    for category, names in table.items():
        if category not in CATEGORIES:
            raise InputError(f"{name}:{line}: unknown source category {category!r} (one of {', '.join(CATEGORIES)})")
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise InputError(f"{name}:{line}: categories.{category} must be a list of site names")
        added[category] = tuple(n.strip().lower() for n in names)
    return added


def _category_file(path: Path) -> tuple[str, ...]:
    lines = (line.strip().lower() for line in path.read_text().splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


# SQL


def channel_sql(d: Dialect, channels: Channels, source: str, medium: str, campaign: str) -> str:
    """The channel of a touchpoint whose source, medium and campaign are these SQL expressions."""
    values = {"source": f"lower({source})", "medium": f"lower({medium})", "campaign": f"lower({campaign})"}
    cases = " ".join(
        f"WHEN {' AND '.join(_group(d, channels, group, values) for group in rule.when)} THEN {d.literal(rule.channel)}"
        for rule in channels.rules
    )
    return f"(CASE {cases} ELSE {d.literal(UNASSIGNED)} END)"


def _group(d: Dialect, channels: Channels, group: tuple[Condition, ...], values: dict[str, str]) -> str:
    return "(" + " OR ".join(_test(d, channels, c, values[c.field]) for c in group) + ")"


def _test(d: Dialect, channels: Channels, condition: Condition, value: str) -> str:
    if condition.operator == "category":
        names = [n for category in condition.values for n in channels.category(category)]
        return in_sites(d, value, names)
    tests = {
        "is": lambda v: f"{value} = {d.literal(v)}",
        "matches": lambda v: d.regex_match.format(value, d.literal("(?i)" + v)),
        "contains": lambda v: f"instr({value}, {d.literal(v)}) > 0",
        "ends_with": lambda v: f"right({value}, {len(v)}) = {d.literal(v)}",
    }[condition.operator]
    return "(" + " OR ".join(tests(v) for v in condition.values) + ")"


def in_sites(d: Dialect, host: str, names: list[str] | tuple[str, ...]) -> str:
    """Whether ``host`` (lowercase) is one of the sites ``names`` lists: a name without a dot is
    any label of the host, a name with one is the host or a domain ending in it."""
    alternatives = "|".join(re.escape(name) for name in names)
    return d.regex_match.format(host, d.literal(f"(^|\\.)({alternatives})(\\.|$)"))


def traffic_sql(d: Dialect, channels: Channels, table: str) -> tuple[str, str, str]:
    """SQL for a touchpoint's (source, medium, campaign), from the columns of ``table``: its UTM
    values when it landed with a utm_source; else the platform of its click id; else its visit's
    referring domain (``www.`` dropped): ``organic`` from a search engine, ``referral`` from any
    other site, and ``(direct)`` / ``(none)`` with no referrer or from the site itself."""

    def present(column: str) -> str:
        return f"({table}.{column} IS NOT NULL AND {table}.{column} <> '')"

    tagged = present("utm_source")
    domain = f"lower(coalesce(nullif({table}.referring_domain, ''), {url_host(f'{table}.referrer')}, ''))"
    own = f"lower(coalesce({url_host(f'{table}.current_url')}, ''))"
    external = f"({domain} NOT IN ('', {d.literal(NO_REFERRER)}) AND {domain} <> {own})"
    site = f"regexp_replace({domain}, '^www[.]', '')"
    search = in_sites(d, site, channels.category("search"))
    clicks = [(present(column), source, medium) for column, (source, medium) in CLICK_ID_TRAFFIC.items()]
    source = (f"CASE WHEN {tagged} THEN {table}.utm_source "
              + " ".join(f"WHEN {test} THEN {d.literal(s)}" for test, s, _ in clicks)
              + f" WHEN {external} THEN {site} ELSE '(direct)' END")
    medium = (f"CASE WHEN {tagged} THEN coalesce(nullif({table}.utm_medium, ''), '(not set)') "
              + " ".join(f"WHEN {test} THEN {d.literal(m)}" for test, _, m in clicks)
              + f" WHEN {external} THEN CASE WHEN {search} THEN 'organic' ELSE 'referral' END ELSE '(none)' END")
    campaign = f"CASE WHEN {tagged} THEN coalesce(nullif({table}.utm_campaign, ''), '(not set)') ELSE '(not set)' END"
    return source, medium, campaign


def paid_click(table: str) -> str:
    """SQL: the row landed with a click id that names its platform (:data:`CLICK_ID_TRAFFIC`)."""
    return " OR ".join(f"({table}.{c} IS NOT NULL AND {table}.{c} <> '')" for c in CLICK_ID_TRAFFIC)


def describe(channels: Channels) -> str:
    """The rules in effect as a person reads them (``utmost channels``)."""
    lines = []
    for number, rule in enumerate(channels.rules, 1):
        groups = [" or ".join(_said(c) for c in group) for group in rule.when]
        said = " and ".join(f"({g})" if len(rule.when) > 1 and " or " in g else g for g in groups)
        lines.append(f"{number:>2}. {rule.channel}: {said}")
    lines.append(f"{len(channels.rules) + 1:>2}. {UNASSIGNED}: when no rule above holds")
    for name, names in channels.categories:
        lines.append(f"\n{name} sites ({len(names)}): {', '.join(names)}")
    return "\n".join(lines)


def _said(condition: Condition) -> str:
    if condition.operator == "category":
        return f"source is a {' or '.join(condition.values)} site"
    verb = {"is": "is", "matches": "matches", "contains": "contains", "ends_with": "ends with"}[condition.operator]
    shown = " or ".join(repr(v) for v in condition.values)
    return f"{condition.field} {verb} {shown}"
