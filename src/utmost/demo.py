"""A seeded generator of realistic hotel-booking traffic, shaped as a Mixpanel export.

``utmost demo``, the benchmarks and the end-to-end tests need traffic that exercises what
attribution is about: visitors who land from a campaign, leave, come back days later directly
or through another campaign, sign in (which links their anonymous device to a user), switch
devices, and book. Every event is what mixpanel-browser 2.83.0 sends with its default settings
(see the wire fixtures): the same properties in the same order, landing UTMs and click ids both
in ``$current_url`` and as properties, UTM super properties persisted key by key (so keys of
two campaigns mix) and echoed on every later event, ``$identify`` on sign-in, and reloads that
fire a campaign landing twice. :func:`generate_spend` gives what the paid campaigns cost over
the same days, as a spend CSV that joins their landings.

Pure and deterministic: nothing but ``random.Random(seed)``, no clock, no I/O. Events come out
in time order, as in an export. A visitor's visits are planned on the day of the first one and
filed under the quarter of an hour they start in; slot by slot, the visits are played, their
events sorted and yielded. Memory therefore follows the visitors active at once, never the
number of events.

Example:
    >>> events = list(generate(seed=1, visitors=20, days=7))
    >>> events == list(generate(seed=1, visitors=20, days=7))
    True
    >>> times = [event["properties"]["time"] for event in events]
    >>> times == sorted(times)
    True
"""

from __future__ import annotations

import datetime
import random
import re
from bisect import bisect, bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, repeat
from typing import NamedTuple
from urllib.parse import quote_plus

import orjson

from utmost.ingest import UTM_KEYS

__all__ = ["CAMPAIGNS", "Campaign", "DeviceProfile", "Room", "generate", "generate_lines", "generate_spend"]

SITE_ORIGIN = "https://hotel.example"
SITE_NAME = "Hotel Example"
SDK_VERSION = "2.83.0"
CURRENCY = "EUR"
DEFAULT_START = datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC)
DEFAULT_VISITORS = 2_000
DEFAULT_DAYS = 60


@dataclass(frozen=True, slots=True)
class Campaign:
    """One way into the site: a tagged link, or (no ``utm_source``) a visit from a search result,
    a social post or a blog's link (``referrer``), or a typed address (no referrer: Direct).

    ``weight`` is this route's share of first visits and ``return_weight`` its share of later
    visits; ``intent`` multiplies the chance that a signed-in visitor books during a visit that
    came this way, and ``prospects`` the chance that a visitor who first came this way ever
    signs in (so ever books). Social ads bring many first visits and few bookings, newsletters
    and brand search bring people back to book, so first-touch and last-touch credit disagree
    as they do for real hotels. ``click_id`` names the ad platform's click id, appended to the
    URL with a fresh value per click; ``referrer`` is ``document.referrer`` of the landing page
    (browsers send another site only its origin). ``daily_budget`` is what a paid campaign
    spends a day, in EUR, at the default size (:func:`generate_spend`).
    """

    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    click_id: str | None = None
    referrer: str | None = None
    weight: float = 0.0
    return_weight: float = 0.0
    intent: float = 1.0
    prospects: float = 1.0
    daily_budget: float = 0.0
    utm_content: str | None = None
    utm_term: str | None = None
    utm_id: str | None = None
    landing_path: str = "/"

    @property
    def utm(self) -> dict[str, str]:
        """The UTM parameters the link carries, in the SDK's key order (so in URL order too)."""
        values = (self.utm_source, self.utm_medium, self.utm_campaign,
                  self.utm_content, self.utm_term, self.utm_id)
        return {key: value for key, value in zip(UTM_KEYS, values) if value is not None}


# The hotel's marketing, shaped so that the demo's first screen has an answer to "where should
# my next euro go?": TikTok buys many clicks from people who will not travel (the most spent,
# almost no bookings), generic search is cheap and brings new guests who book, and brand search
# is clicked by people who already know the hotel, on the visit they book in (last touch
# flatters it, first touch does not).
CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign("newsletter", "email", "spring_sale", utm_content="hero", utm_term="hotel",
             weight=0.05, return_weight=0.13, intent=1.7, landing_path="/offers/spring-sale"),
    Campaign("newsletter", "email", "autumn_getaway", utm_content="footer_button",
             weight=0.02, return_weight=0.07, intent=1.5, landing_path="/offers/autumn-getaway"),
    Campaign("google", "cpc", "brand_search", "gclid", "https://www.google.com/",
             utm_content="rsa_brand", utm_term="hotel example", utm_id="21400117",
             weight=0.02, return_weight=0.18, intent=2.2, daily_budget=35.0),
    Campaign("google", "cpc", "generic_hotels", "gclid", "https://www.google.com/",
             utm_content="rsa_generic", utm_term="boutique hotel lisbon", utm_id="21400342",
             weight=0.11, return_weight=0.04, intent=1.2, prospects=1.3, daily_budget=12.0),
    Campaign("facebook", "paid_social", "city_breaks", "fbclid", "https://www.facebook.com/",
             utm_content="carousel_a", utm_id="120210000001",
             weight=0.12, return_weight=0.05, intent=0.9, daily_budget=35.0,
             landing_path="/offers/city-breaks"),
    # Hand-made links are often tagged sparsely (a link in bio, a partner's article): their
    # landings overwrite only some persisted keys, and the rest stay from an older campaign.
    Campaign("instagram", "social", None, None, "https://l.instagram.com/",
             utm_content="link_in_bio", weight=0.09, return_weight=0.03, intent=0.5),
    Campaign("partner", "referral", None, None, "https://www.travelblog.example/",
             weight=0.04, return_weight=0.02, intent=1.2),
    Campaign("tiktok", "paid_social", "weekend_escape", "ttclid", "https://www.tiktok.com/",
             utm_content="video_15s", utm_id="1790000000042",
             weight=0.21, return_weight=0.02, intent=0.3, prospects=0.15, daily_budget=110.0),
    # Visits without UTMs, read by their referrer (utmost reads them as channels: Organic
    # Search, Organic Social, Referral), and Direct: a typed address or a bookmark.
    Campaign(None, None, None, None, "https://www.google.com/",
             weight=0.17, return_weight=0.08, intent=1.0),
    Campaign(None, None, None, None, "https://l.facebook.com/",
             weight=0.04, return_weight=0.02, intent=0.6),
    Campaign(None, None, None, None, "https://www.wanderlustdiaries.example/",
             weight=0.03, return_weight=0.01, intent=1.0),
    Campaign(None, None, None, weight=0.10, return_weight=0.35, intent=1.3),
)

#: Click id values look like the platforms' (a fixed prefix, then base64url characters).
CLICK_ID_SHAPES: dict[str, tuple[str, int]] = {
    "gclid": ("Cj0KCQjw", 76),
    "fbclid": ("IwAR", 56),
    "ttclid": ("E.C.P.", 44),
}


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """What the SDK reads from a browser's User-Agent and screen; ``device`` only on phones."""

    os: str
    browser: str
    browser_version: float
    device: str | None
    screen_width: int
    screen_height: int
    weight: float


DEVICE_PROFILES: tuple[DeviceProfile, ...] = (
    DeviceProfile("Windows", "Chrome", 156, None, 1920, 1080, 0.22),
    DeviceProfile("Windows", "Microsoft Edge", 156, None, 1536, 864, 0.08),
    DeviceProfile("Windows", "Firefox", 145, None, 1920, 1080, 0.04),
    DeviceProfile("Mac OS X", "Safari", 26.1, None, 1512, 982, 0.10),
    DeviceProfile("Mac OS X", "Chrome", 156, None, 1440, 900, 0.07),
    DeviceProfile("Linux", "Chrome", 156, None, 1280, 800, 0.02),
    DeviceProfile("iOS", "Mobile Safari", 26.1, "iPhone", 393, 852, 0.25),
    DeviceProfile("Android", "Chrome", 156, "Android", 412, 915, 0.18),
    DeviceProfile("Android", "Samsung Internet", 29, "Android", 384, 832, 0.04),
)

#: Super properties the hotel's own page code registers after ``init()`` on every page, as
#: most sites do: the visitor's language and an A/B-test bucket, both fixed per device. They
#: persist in the cookie and appear on every event, like the SDK's own.
LANGUAGE_WEIGHTS = {"en-GB": 0.25, "en-US": 0.15, "pt-PT": 0.2, "de-DE": 0.12,
                    "fr-FR": 0.12, "es-ES": 0.1, "nl-NL": 0.06}
SEARCH_LAYOUT_VARIANTS = ("control", "compact")


@dataclass(frozen=True, slots=True)
class Room:
    slug: str
    title: str
    nightly_rate: float


#: Rates and stays keep a booking's amount roughly between 80 and 900 EUR.
ROOMS: tuple[Room, ...] = (
    Room("standard", "Standard Room", 79.0),
    Room("superior", "Superior Room", 99.0),
    Room("deluxe", "Deluxe Room", 129.0),
    Room("junior-suite", "Junior Suite", 159.0),
    Room("suite", "Suite", 199.0),
)
ROOM_WEIGHTS = (0.30, 0.25, 0.22, 0.13, 0.10)
#: A room's price on a given visit: its rate times a seasonal factor in this range.
PRICE_FACTOR = (1.0, 1.12)
NIGHTS_WEIGHTS = (0.30, 0.35, 0.25, 0.10)  # 1, 2, 3, 4 nights
GUESTS_WEIGHTS = (0.25, 0.50, 0.15, 0.10)  # 1, 2, 3, 4 guests
CHECKIN_DAYS_AHEAD = (3, 75)

#: First visits per hour of the day from ``start`` (midnight UTC by default), for a European
#: audience: quiet nights, an evening peak.
HOUR_WEIGHTS = (1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.0, 2.0, 3.0, 3.5, 3.5, 3.5,
                4.0, 4.0, 3.5, 3.5, 3.5, 4.0, 4.5, 5.5, 6.0, 5.5, 4.0, 2.5)
#: First visits per weekday, Monday first (weekend trips are planned on Sundays).
WEEKDAY_WEIGHTS = (1.0, 1.0, 0.95, 0.95, 0.9, 0.85, 1.15)
#: Chance of 0, 1, 2, 3, 4 return visits on the first device.
RETURN_VISIT_WEIGHTS = (0.45, 0.26, 0.15, 0.09, 0.05)
#: Gap before a return visit: at least an hour (a new session), plus an exponential, capped.
RETURN_GAP_MIN_HOURS = 1.0
RETURN_GAP_MEAN_DAYS = 4.0
RETURN_GAP_MAX_DAYS = 25.0
SIGN_IN_RATE = 0.30
#: On which of a device's visits the visitor signs in: the last one, else any of them.
SIGN_IN_ON_LAST_VISIT_RATE = 0.6
#: Signed-in users who later come back on another device (phone after laptop, or the reverse).
SECOND_DEVICE_RATE = 0.30
SECOND_DEVICE_VISIT_WEIGHTS = (0.5, 0.3, 0.2)  # 1, 2, 3 visits
#: Chance of booking on the sign-in visit and on later visits, times the route's intent.
BOOKING_RATE_AT_SIGN_IN = 0.45
BOOKING_RATE_LATER = 0.18
REPEAT_BOOKING_FACTOR = 0.2
MAX_BOOKINGS = 2
#: A day's spend as a share of the campaign's daily budget: platforms pace around it.
SPEND_FACTOR = (0.85, 1.1)
#: Tagged landings reloaded within a minute: the same click, fired twice.
RELOAD_RATE = 0.08
#: Untagged landings that open a room page (a bookmark, a search result) rather than home.
DEEP_LINK_RATE = 0.3
BROWSE_PAGE_WEIGHTS = (0.35, 0.35, 0.20, 0.10)  # 1, 2, 3, 4 pages after landing
SEARCH_AGAIN_RATE = 0.25

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
#: Visits are played and their events released a quarter of an hour at a time: a small
#: batch stays in the CPU cache while it is sorted and yielded, which a day's does not.
SLOT_MS = 15 * MINUTE_MS

#: Delays within a visit, in milliseconds, as (shortest, longest). Every delay is at least
#: 1 ms, so one device's events never share a timestamp and keep their order.
PAGE_VIEW_DELAY = (1, 40)  # track_pageview() after the page loads
PAGE_EVENT_DELAY = (1, 30)  # track('Page View') right after it
RELOAD_DELAY = (3 * SECOND_MS, 50 * SECOND_MS)
READING_DELAY = (15 * SECOND_MS, 4 * MINUTE_MS)  # before following a link
SEARCH_DELAY = (2 * SECOND_MS, 30 * SECOND_MS)
ROOM_VIEWED_DELAY = (200, 1_500)
SIGN_IN_PAGE_DELAY = (20 * SECOND_MS, 2 * MINUTE_MS)
IDENTIFY_DELAY = (8 * SECOND_MS, 45 * SECOND_MS)
CHECKOUT_DELAY = (1 * MINUTE_MS, 5 * MINUTE_MS)  # from the last page to the confirmation
RESERVATION_DELAY = (500, 3 * SECOND_MS)

_ALPHABET36 = b"0123456789abcdefghijklmnopqrstuvwxyz"
_ALPHABET64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Random bytes become id characters by table lookup, far cheaper per event than uuid or
# divmod loops. The 256 → 36 mapping is slightly uneven, which no reader of ids notices.
_TO_BASE36 = bytes.maketrans(bytes(range(256)), bytes(_ALPHABET36[b % 36] for b in range(256)))
_TO_BASE64URL = bytes.maketrans(bytes(range(256)), bytes(_ALPHABET64[b % 64] for b in range(256)))
_INSERT_IDS_PER_BLOCK = 4096
_SIXTEEN_CHARACTERS = re.compile(".{16}")
# The SDK's own test of a referrer for a search engine (update_search_keyword).
_SEARCH_ENGINES = (("google", re.compile(r"https?://(.*)google.([^/?]*)")),
                   ("bing", re.compile(r"https?://(.*)bing.com")),
                   ("yahoo", re.compile(r"https?://(.*)yahoo.com")),
                   ("duckduckgo", re.compile(r"https?://(.*)duckduckgo.com")))


def generate(seed: int = 7, visitors: int = DEFAULT_VISITORS, days: int = DEFAULT_DAYS,
             start: datetime.datetime = DEFAULT_START,
             token: str = "demo-token") -> Iterator[dict]:
    """Yield Mixpanel export events {"event": ..., "properties": {...}} in non-decreasing time order.

    ``visitors`` people arrive over ``days`` days from ``start`` (a naive datetime is read as
    UTC); events after the window are cut, as an export's date range would cut them. The same
    arguments always give the same events. The default size gives about 30k events, a few
    hundred of them ``Reservation Completed``. Arguments are checked at the call, not at the
    first ``next()``.
    """
    if visitors < 0:
        raise ValueError(f"visitors must be >= 0, got {visitors}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if start.tzinfo is None:
        start = start.replace(tzinfo=datetime.UTC)
    return _Traffic(random.Random(seed), token, start, days).events(visitors)


def generate_lines(seed: int = 7, visitors: int = DEFAULT_VISITORS, days: int = DEFAULT_DAYS,
                   start: datetime.datetime = DEFAULT_START,
                   token: str = "demo-token") -> Iterator[bytes]:
    """Yield :func:`generate`'s events as the lines of a Mixpanel export JSONL file."""
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    return (dumps(event, option=newline) for event in generate(seed, visitors, days, start, token))


def generate_spend(seed: int = 7, visitors: int = DEFAULT_VISITORS, days: int = DEFAULT_DAYS,
                   start: datetime.datetime = DEFAULT_START) -> bytes:
    """The paid campaigns' daily spend over the days :func:`generate` covers, as a spend CSV.

    The native header (``date,utm_source,utm_medium,utm_campaign,cost,currency``), one row per
    day and campaign with a ``daily_budget``, keyed by the UTM values its landings carry, so
    it joins them (docs/semantics.md §14). A platform spends about its budget, a little under or
    over from day to day: each day's cost is the budget times a factor in
    :data:`SPEND_FACTOR`. Budgets are the default size's (2,000 visitors over 60 days) and
    follow the visitors per day, so other sizes keep about the same cost per booking. The same
    arguments always give the same bytes, whatever :func:`generate` is given.

    Example:
        >>> lines = generate_spend(seed=1).decode().splitlines()
        >>> lines[:2]
        ['date,utm_source,utm_medium,utm_campaign,cost,currency', '2026-09-01,google,cpc,brand_search,...,EUR']
        >>> len(lines) - 1 == 60 * sum(1 for c in CAMPAIGNS if c.daily_budget)
        True
    """
    if visitors < 0:
        raise ValueError(f"visitors must be >= 0, got {visitors}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    rng = random.Random(f"{seed}/spend")  # its own stream: the traffic's is not drawn from
    scale = (visitors / days) / (DEFAULT_VISITORS / DEFAULT_DAYS)
    low, high = SPEND_FACTOR
    lines = ["date,utm_source,utm_medium,utm_campaign,cost,currency"]
    for day in range(days):
        date = (start.date() + datetime.timedelta(day)).isoformat()
        for c in CAMPAIGNS:
            if c.daily_budget:
                cost = c.daily_budget * scale * (low + rng.random() * (high - low))
                lines.append(f"{date},{c.utm_source},{c.utm_medium},{c.utm_campaign},"
                             f"{cost:.2f},{CURRENCY}")
    return ("\n".join(lines) + "\n").encode()


def _cumulative(weights: Sequence[float]) -> tuple[list[float], float]:
    cumulative = list(accumulate(weights))
    return cumulative, cumulative[-1]


def _referring_domain(url: str) -> str:
    """The SDK's ``referringDomain``: the third ``/``-separated part of the URL."""
    parts = url.split("/")
    return parts[2] if len(parts) >= 3 else ""


_SITE_DOMAIN = _referring_domain(SITE_ORIGIN)


def _search_engine(referrer: str | None) -> str | None:
    for name, pattern in _SEARCH_ENGINES:
        if referrer and pattern.match(referrer):
            return name
    return None


def _insert_ids(rng: random.Random) -> Iterator[str]:
    """Endless SDK-like ``$insert_id``s (16 of ``[0-9a-z]``), cut from large random blocks.

    Per-event calls dominate the generator's time, so ids are made thousands at a time and
    handed out by a C-level iterator.
    """
    size = 16 * _INSERT_IDS_PER_BLOCK
    blocks = (rng.randbytes(size).translate(_TO_BASE36).decode() for _ in repeat(None))
    return chain.from_iterable(map(_SIXTEEN_CHARACTERS.findall, blocks))


@dataclass(frozen=True, slots=True)
class _Page:
    """A page of the site; ``view`` is what ``track_pageview()`` adds to its properties."""

    url: str
    kind: str
    view: dict

    @classmethod
    def of(cls, path: str, kind: str, title: str) -> _Page:
        return cls(SITE_ORIGIN + path, kind,
                   {"current_page_title": f"{SITE_NAME} - {title}",
                    "current_domain": _SITE_DOMAIN,
                    "current_url_path": path,
                    "current_url_protocol": SITE_ORIGIN.split("//")[0]})


@dataclass(frozen=True, slots=True)
class _Route:
    """A :class:`Campaign` with what its landings need computed once."""

    campaign: Campaign
    landing: _Page
    query: str
    utm: dict
    referral: dict
    search_engine: str | None

    @classmethod
    def of(cls, campaign: Campaign) -> _Route:
        path = campaign.landing_path
        title = path.rsplit("/", 1)[-1].replace("-", " ").title() or "Home"
        utm = campaign.utm
        query = "&".join(f"{key}={quote_plus(value)}" for key, value in utm.items())
        return cls(campaign, _Page.of(path, "offer" if path != "/" else "home", title),
                   query, utm, _referral(campaign.referrer), _search_engine(campaign.referrer))


def _referral(referrer: str | None) -> dict:
    """``$referrer`` and ``$referring_domain``, which the SDK leaves out when there is none."""
    if not referrer:
        return {}
    return {"$referrer": referrer, "$referring_domain": _referring_domain(referrer)}


class _PageLoad(NamedTuple):
    """What loading one URL hands the SDK.

    ``view`` is the ``track_pageview()`` call's properties; ``marketing`` the URL's UTMs and
    click ids, added to every event on the page; ``utm`` the part registered as super
    properties; ``search_engine`` is set when the referrer is one.
    """

    page: _Page
    url: str
    view: dict
    referral: dict
    marketing: dict | None = None
    utm: dict | None = None
    search_engine: str | None = None


@dataclass(frozen=True, slots=True)
class _Look:
    """A device profile as ready-made property blocks, in the order the SDK writes them.

    ``after_url`` holds empty ``$insert_id`` and ``time`` slots: setting them per event then
    keeps their place in the key order.
    """

    profile: DeviceProfile
    before_referrer: dict
    after_referrer: dict
    after_url: dict

    @classmethod
    def of(cls, profile: DeviceProfile) -> _Look:
        return cls(profile,
                   {"$os": profile.os, "$browser": profile.browser},
                   {"$device": profile.device} if profile.device else {},
                   {"$browser_version": profile.browser_version,
                    "$screen_height": profile.screen_height,
                    "$screen_width": profile.screen_width,
                    "mp_lib": "web", "$lib_version": SDK_VERSION,
                    "$insert_id": "", "time": 0.0})


class _Device:
    """One browser: what it looks like, and its SDK cookie (the persisted super properties)."""

    __slots__ = ("device_id", "user_id", "look", "site_properties", "persisted", "visits_left")

    def __init__(self, device_id: str, user_id: str | None, look: _Look, site_properties: dict):
        self.device_id = device_id
        self.user_id = user_id
        self.look = look
        self.site_properties = site_properties
        #: The SDK's cookie, made on the first page load.
        self.persisted: dict = {}
        self.visits_left = 0

    def load_page(self, load: _PageLoad) -> None:
        """Update the cookie as a page load does: the SDK's init, then the site's ``register``.

        Order matters: the cookie's insertion order is the order of these properties on every
        event, and a key registered again keeps its place.
        """
        persisted = self.persisted
        if not persisted:
            persisted = self.persisted = {"distinct_id": "$device:" + self.device_id,
                                          "$device_id": self.device_id}
        if load.search_engine:
            persisted["$search_engine"] = load.search_engine
        if load.utm:
            persisted.update(load.utm)
        if "$initial_referrer" not in persisted:
            persisted["$initial_referrer"] = load.referral.get("$referrer", "$direct")
            persisted["$initial_referring_domain"] = load.referral.get("$referring_domain",
                                                                       "$direct")
        persisted.update(self.site_properties)

    def identify(self) -> str:
        """Switch to the user id as ``identify()`` does; return the anonymous distinct_id."""
        anonymous = self.persisted["distinct_id"]
        self.persisted["distinct_id"] = self.user_id
        self.persisted["$user_id"] = self.user_id
        return anonymous


class _Tab:
    """One visit's browser tab: loads pages and records the events tracked on them.

    Every ``call`` dict handed to :meth:`track` already ends with the properties the SDK puts
    last (``token``, ``mp_sent_by_lib_version``), so an event costs one ``update``. Events go
    to ``pending`` as flat (time in ms, name, properties) triples: see :meth:`_Traffic.events`.
    """

    __slots__ = ("traffic", "device", "clock", "pending", "load", "prefix")

    def __init__(self, traffic: _Traffic, device: _Device, clock: int, pending: list):
        self.traffic = traffic
        self.device = device
        self.clock = clock
        self.pending = pending

    def open(self, load: _PageLoad) -> None:
        """Load a page: the SDK inits, then ``track_pageview()`` and ``track('Page View')``."""
        self.load = load
        self.device.load_page(load)
        self.refresh()
        self.track("$mp_web_page_view", load.view, PAGE_VIEW_DELAY)
        self.track("Page View", self.traffic.page_view_calls[load.page.kind], PAGE_EVENT_DELAY)

    def wait(self, delay: tuple[int, int]) -> None:
        low, high = delay
        self.clock += low + int(self.traffic.random() * (high - low))

    def navigate(self, page: _Page, delay: tuple[int, int]) -> None:
        """Follow a link after ``delay``: the page left becomes ``document.referrer``."""
        self.wait(delay)
        referral = {"$referrer": self.load.url, "$referring_domain": _SITE_DOMAIN}
        self.open(_PageLoad(page, page.url, self.traffic.page_views[page.url], referral))

    def refresh(self) -> None:
        """Rebuild the properties every event on this page starts with, in the SDK's order."""
        look, load = self.device.look, self.load
        prefix = look.before_referrer.copy()
        prefix.update(load.referral)
        prefix.update(look.after_referrer)
        prefix["$current_url"] = load.url
        prefix.update(look.after_url)
        if load.marketing:
            prefix.update(load.marketing)
        prefix.update(self.device.persisted)
        self.prefix = prefix

    def track(self, name: str, call: dict, delay: tuple[int, int]) -> None:
        """Record one event, a random ``delay`` after the previous one on this device."""
        traffic = self.traffic
        low, high = delay
        clock = self.clock = self.clock + low + int(traffic.random() * (high - low))
        properties = self.prefix.copy()
        properties["$insert_id"] = traffic.next_insert_id()
        properties["time"] = clock / 1000
        properties.update(call)
        self.pending += (clock, name, properties)

    def identify(self, delay: tuple[int, int]) -> None:
        anonymous = self.device.identify()
        self.refresh()
        self.track("$identify", self.traffic.closed({"$anon_distinct_id": anonymous}), delay)


class _Traffic:
    """The whole simulation: plans visitors day by day, then plays their visits in tabs."""

    def __init__(self, rng: random.Random, token: str, start: datetime.datetime, days: int):
        self.rng = rng
        self.random = rng.random
        self.next_insert_id = _insert_ids(rng).__next__
        self.start = start
        self.start_ms = round(start.timestamp() * 1000)
        self.days = days
        self.last_properties = {"token": token, "mp_sent_by_lib_version": SDK_VERSION}
        self.routes = tuple(_Route.of(campaign) for campaign in CAMPAIGNS)
        self.first_routes = _cumulative([c.weight for c in CAMPAIGNS])
        self.return_routes = _cumulative([c.return_weight for c in CAMPAIGNS])
        self.looks = tuple(_Look.of(profile) for profile in DEVICE_PROFILES)
        self.look_weights = _cumulative([p.weight for p in DEVICE_PROFILES])
        self.languages = tuple(LANGUAGE_WEIGHTS)
        self.language_weights = _cumulative(tuple(LANGUAGE_WEIGHTS.values()))
        self.rooms = tuple((room, _Page.of(f"/rooms/{room.slug}", "room", room.title))
                           for room in ROOMS)
        self.search_page = _Page.of("/search", "search", "Availability")
        self.sign_in_page = _Page.of("/account/sign-in", "account", "Sign in")
        self.confirmation_page = _Page.of("/booking/confirmation", "booking", "Booking confirmed")
        pages = [page for _, page in self.rooms] + [route.landing for route in self.routes]
        pages += [self.search_page, self.sign_in_page, self.confirmation_page]
        self.page_views = {page.url: self.closed(page.view) for page in pages}
        self.page_view_calls = {page.kind: self.closed({"page_type": page.kind})
                                for page in pages}
        self.dates = [(start.date() + datetime.timedelta(d)).isoformat()
                      for d in range(days + CHECKIN_DAYS_AHEAD[1] + 1)]
        # Planned visits are tuples of plain values naming their device by a key: the garbage
        # collector untracks such tuples, so millions of them cost it nothing.
        self.slots: list[list | None] = [[] for _ in range(days * DAY_MS // SLOT_MS)]
        self.devices: dict[int, _Device] = {}
        self.device_serial = 0

    def closed(self, call: dict) -> dict:
        """``call`` followed by the properties every event ends with."""
        return {**call, **self.last_properties}

    # -- the clock --------------------------------------------------------------------------

    def events(self, visitors: int) -> Iterator[dict]:
        """Slot by slot: plan new visitors at each day's start, play visits, yield what is final.

        A visit can run past the end of its slot, so later events stay pending and are merged
        with the next slot's before they are yielded; those past the window are dropped.
        Pending events are flat (time, name, properties) triples, and the event dict is made
        only when yielded: the properties dicts hold no containers, so the cyclic garbage
        collector never tracks them (tracked, they cost a fifth of the run at millions of
        events).
        """
        arrivals = self.arrivals_per_day(visitors)
        slots_per_day = DAY_MS // SLOT_MS
        visitor_serial = 0
        pending: list = []
        for slot in range(len(self.slots)):
            day, slot_of_day = divmod(slot, slots_per_day)
            if slot_of_day == 0:
                for _ in range(arrivals[day]):
                    visitor_serial += 1
                    self.plan_visitor(visitor_serial, self.arrival_time(day))
            visits, self.slots[slot] = self.slots[slot], None
            assert visits is not None, "each slot is played once"
            visits.sort()
            for visit in visits:
                self.play(visit, pending)
            order = sorted(range(0, len(pending), 3), key=pending.__getitem__)
            end_ms = self.start_ms + (slot + 1) * SLOT_MS
            final = bisect_left(order, end_ms, key=pending.__getitem__)
            for i in order[:final]:
                yield {"event": pending[i + 1], "properties": pending[i + 2]}
            pending = [item for i in order[final:] for item in pending[i:i + 3]]

    def arrivals_per_day(self, visitors: int) -> list[int]:
        start_weekday = self.start.weekday()
        cumulative, total = _cumulative([WEEKDAY_WEIGHTS[(start_weekday + d) % 7]
                                         for d in range(self.days)])
        counts = [0] * self.days
        for _ in range(visitors):
            counts[bisect(cumulative, self.random() * total)] += 1
        return counts

    def arrival_time(self, day: int) -> int:
        hour = self.pick(_HOURS)
        return self.start_ms + day * DAY_MS + hour * HOUR_MS + int(self.random() * HOUR_MS)

    def pick(self, cumulative_weights: tuple[list[float], float]) -> int:
        cumulative, total = cumulative_weights
        return bisect(cumulative, self.random() * total)

    # -- planning ---------------------------------------------------------------------------

    def plan_visitor(self, serial: int, first_ms: int) -> None:
        """File every visit of one person (and of their second device) under its slot."""
        first_route = self.pick(self.first_routes)
        prospects = self.routes[first_route].campaign.prospects
        user_id = f"user-{serial:06d}" if self.random() < SIGN_IN_RATE * prospects else None
        look = self.looks[self.pick(self.look_weights)]
        times = self.visit_times(first_ms, 1 + self.pick(_RETURN_VISITS))
        routes = [first_route] + [self.pick(self.return_routes) for _ in times[1:]]
        sign_in_at = self.sign_in_visit(len(times)) if user_id else None
        bookings = self.schedule(self.new_device(user_id, look), times, routes, sign_in_at, 0)
        if sign_in_at is not None and self.random() < SECOND_DEVICE_RATE:  # signs in iff user_id
            first_ms = times[sign_in_at] + self.return_gap()
            times = self.visit_times(first_ms, 1 + self.pick(_SECOND_DEVICE_VISITS))
            routes = [self.pick(self.return_routes) for _ in times]
            self.schedule(self.new_device(user_id, self.other_look(look)), times, routes,
                          self.sign_in_visit(len(times)), bookings)

    def visit_times(self, first_ms: int, count: int) -> list[int]:
        times = [first_ms]
        for _ in range(count - 1):
            times.append(times[-1] + self.return_gap())
        return times

    def return_gap(self) -> int:
        days = min(self.rng.expovariate(1 / RETURN_GAP_MEAN_DAYS), RETURN_GAP_MAX_DAYS)
        return round(RETURN_GAP_MIN_HOURS * HOUR_MS + days * DAY_MS)

    def sign_in_visit(self, visits: int) -> int:
        if self.random() < SIGN_IN_ON_LAST_VISIT_RATE:
            return visits - 1
        return int(self.random() * visits)

    def new_device(self, user_id: str | None, look: _Look) -> _Device:
        """A device with a uuid4-shaped id and site properties, drawn from the seeded generator."""
        bits = self.rng.getrandbits(128)
        bits = (bits & ~(0xF << 76)) | (0x4 << 76)  # version 4
        bits = (bits & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
        h = f"{bits:032x}"
        site_properties = {"language": self.languages[self.pick(self.language_weights)],
                           "search_layout": SEARCH_LAYOUT_VARIANTS[self.random() < 0.5]}
        return _Device(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}", user_id, look,
                       site_properties)

    def other_look(self, look: _Look) -> _Look:
        """A profile of the other kind: a phone after a computer, or the reverse."""
        is_phone = look.profile.device is not None
        others = [other for other in self.looks if (other.profile.device is not None) != is_phone]
        return others[self.pick(_cumulative([other.profile.weight for other in others]))]

    def schedule(self, device: _Device, times: list[int], routes: list[int],
                 sign_in_at: int | None, bookings: int) -> int:
        """File a device's visits; return the person's bookings so far (they are capped)."""
        self.device_serial += 1
        key = self.device_serial
        for index, (start_ms, route) in enumerate(zip(times, routes)):
            signs_in = index == sign_in_at
            books = (sign_in_at is not None and index >= sign_in_at
                     and self.books(self.routes[route].campaign, signs_in, bookings))
            bookings += books
            slot = (start_ms - self.start_ms) // SLOT_MS
            planned = self.slots[slot] if slot < len(self.slots) else None
            if planned is not None:  # a slot is played after every visit filed under it
                planned.append((start_ms, key, route, signs_in, books))
                device.visits_left += 1
        if device.visits_left:
            self.devices[key] = device
        return bookings

    def books(self, campaign: Campaign, signs_in: bool, bookings: int) -> bool:
        if bookings >= MAX_BOOKINGS:
            return False
        rate = (BOOKING_RATE_AT_SIGN_IN if signs_in else BOOKING_RATE_LATER) * campaign.intent
        if bookings:
            rate *= REPEAT_BOOKING_FACTOR
        return self.random() < rate

    # -- playing a visit --------------------------------------------------------------------

    def play(self, visit: tuple, pending: list) -> None:
        """One session: land, browse, maybe sign in, maybe book — minutes apart."""
        start_ms, key, route, signs_in, books = visit
        device = self.devices[key]
        device.visits_left -= 1
        if not device.visits_left:
            del self.devices[key]
        tab = _Tab(self, device, start_ms, pending)
        self.land(tab, self.routes[route])
        room, price, search = self.browse(tab, (start_ms - self.start_ms) // DAY_MS)
        if signs_in:
            tab.navigate(self.sign_in_page, SIGN_IN_PAGE_DELAY)
            tab.identify(IDENTIFY_DELAY)
        if books:
            self.book(tab, room, price, search)

    def land(self, tab: _Tab, route: _Route) -> None:
        if route.utm:
            self.land_tagged(tab, route)
            return
        page = route.landing
        if self.random() < DEEP_LINK_RATE:
            page = self.rooms[self.pick(_ROOMS)][1]
        tab.open(_PageLoad(page, page.url, self.page_views[page.url], route.referral,
                           search_engine=route.search_engine))

    def land_tagged(self, tab: _Tab, route: _Route) -> None:
        """Land on the campaign URL; sometimes reload it (the same click, fired again)."""
        query, marketing = route.query, route.utm
        click_id = route.campaign.click_id
        if click_id:
            value = self.click_id_value(click_id)
            query = f"{query}&{click_id}={value}"
            marketing = {**marketing, click_id: value}
        page = route.landing
        view = self.closed({**page.view, "current_url_search": "?" + query})
        load = _PageLoad(page, f"{page.url}?{query}", view, route.referral, marketing,
                         route.utm, route.search_engine)
        tab.open(load)
        if self.random() < RELOAD_RATE:
            tab.wait(RELOAD_DELAY)
            tab.open(load)

    def click_id_value(self, name: str) -> str:
        prefix, length = CLICK_ID_SHAPES.get(name, ("", 32))
        return prefix + self.rng.randbytes(length).translate(_TO_BASE64URL).decode()

    def browse(self, tab: _Tab, day: int) -> tuple[Room, float, dict]:
        """Search and look at rooms; return the last room seen, its price and the search."""
        room, room_page = self.rooms[self.pick(_ROOMS)]
        price = self.price(room)
        search = {"checkin": self.dates[day + self.rng.randint(*CHECKIN_DAYS_AHEAD)],
                  "nights": 1 + self.pick(_NIGHTS), "guests": 1 + self.pick(_GUESTS)}
        search_call = self.closed(search)
        for step in range(1 + self.pick(_BROWSE_PAGES)):
            if step == 0 or self.random() < SEARCH_AGAIN_RATE:
                tab.navigate(self.search_page, READING_DELAY)
                tab.track("Search", search_call, SEARCH_DELAY)
            else:
                room, room_page = self.rooms[self.pick(_ROOMS)]
                price = self.price(room)
                tab.navigate(room_page, READING_DELAY)
                tab.track("Room Viewed", self.closed(
                    {"room_type": room.slug, "price": price, "currency": CURRENCY}),
                    ROOM_VIEWED_DELAY)
        return room, price, search

    def price(self, room: Room) -> float:
        low, high = PRICE_FACTOR
        return round(room.nightly_rate * (low + self.random() * (high - low)), 2)

    def book(self, tab: _Tab, room: Room, price: float, search: dict) -> None:
        tab.navigate(self.confirmation_page, CHECKOUT_DELAY)
        tab.track("Reservation Completed", self.closed(
            {"amount": round(price * search["nights"], 2), "currency": CURRENCY,
             "room_type": room.slug, **search}), RESERVATION_DELAY)


_HOURS = _cumulative(HOUR_WEIGHTS)
_RETURN_VISITS = _cumulative(RETURN_VISIT_WEIGHTS)
_SECOND_DEVICE_VISITS = _cumulative(SECOND_DEVICE_VISIT_WEIGHTS)
_ROOMS = _cumulative(ROOM_WEIGHTS)
_NIGHTS = _cumulative(NIGHTS_WEIGHTS)
_GUESTS = _cumulative(GUESTS_WEIGHTS)
_BROWSE_PAGES = _cumulative(BROWSE_PAGE_WEIGHTS)
