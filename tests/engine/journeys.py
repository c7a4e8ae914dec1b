"""Builders for hand-worked journeys: browser-shaped events at times given in seconds."""

from __future__ import annotations

from urllib.parse import urlencode

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC
MINUTE, HOUR, DAY = 60, 3600, 86400
SITE = "https://hotel.example/"
_counter = iter(range(1, 10**9))


def _event(name, t, dev=None, user=None, distinct=None, url=None, **props):
    properties = {"time": T0 + t, "$insert_id": f"e{next(_counter)}", **props}
    if dev is not None:
        properties["$device_id"] = dev
    if user is not None:
        properties["$user_id"] = user
    properties["distinct_id"] = distinct or user or (f"$device:{dev}" if dev else "anonymous")
    if url is not None:
        properties["$current_url"] = url
    return {"event": name, "properties": properties}


def land(t, source=None, dev="d1", user=None, **utm):
    """A page view on a landing URL carrying the UTMs (and the echo properties the SDK adds)."""
    query = {"utm_source": source, **utm} if source else utm
    url = SITE + ("?" + urlencode(query) if query else "")
    return _event("Page View", t, dev, user, url=url, **query)


def page(t, dev="d1", user=None, **echo):
    """A later page: no query in the URL, persisted UTM super properties echoed."""
    return _event("Page View", t, dev, user, url=SITE + "rooms", **echo)


def identify(t, dev, user):
    return _event("$identify", t, dev, user, url=SITE + "login", **{"$anon_distinct_id": f"$device:{dev}"})


def book(t, user=None, dev="d1", amount=100, **props):
    return _event("Reservation Completed", t, dev, user, url=SITE + "book", amount=amount, **props)


def server(name, t, distinct, **props):
    """A server-side event: no device, no URL (UTMs, if any, are read from its properties)."""
    return _event(name, t, distinct=distinct, **props)
