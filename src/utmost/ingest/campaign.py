"""Campaign parameters: which UTM values and click ids an event landed with.

Pure definitions, no I/O. The browser SDK repeats persisted UTM super properties on every
later event (key by key, sometimes mixed with an older campaign's), so an event's *landing*
parameters are read from its ``$current_url`` query string whenever it has one, and from its
properties only when it has none (server-side events). See docs/semantics.md §4.

The rules are written once: :func:`landing_values` in Python, which the store's ingest query
calls for every URL with a query string, so the importer and the collector read campaigns
identically.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

UTM_KEYS: tuple[str, ...] = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "utm_id",
)
CLICK_IDS: tuple[str, ...] = (
    "gclid",
    "gbraid",
    "wbraid",
    "dclid",
    "fbclid",
    "msclkid",
    "ttclid",
    "li_fat_id",
    "twclid",
)
#: Every landing parameter, in the order of the canonical event's columns.
LANDING_PARAMS: tuple[str, ...] = UTM_KEYS + CLICK_IDS


#: The SQL name under which the store registers :func:`landing_values` for its ingest query.
LANDING_FUNCTION = "utmost_landing_params"
#: A regular expression every URL that lands with a parameter matches: a key can only follow
#: the ``?`` or an ``&``. The ingest query calls :func:`landing_values` only for these URLs;
#: calling it for every URL with a query was a quarter of an import's parsing time.
LANDING_HINT = "[?&](utm_|" + "|".join(CLICK_IDS) + ")"


def landing_values(url: str | None) -> list[str | None] | None:
    """The landing parameters in ``url``'s query string, in ``LANDING_PARAMS`` order.

    None when the URL has no query (then the event landed with nothing). Read as a browser
    does: the query is what follows the first ``?`` before any ``#``; the first occurrence of
    a key wins; keys match exactly, case included; ``+`` and ``%20`` are spaces; a value that
    is not valid percent-encoded UTF-8 is kept as sent; an empty value is missing.

    >>> landing_values("https://hotel.example/?utm_source=spring+sale&gclid=abc")[:2]
    ['spring sale', None]

    Plain Python, run by DuckDB over the URLs that hold a ``?``: the same rules as SQL took
    fifteen regular expressions whose planning alone cost ~10 ms a query, most of the time of
    a small collector request.
    """
    query = (url or "").partition("#")[0].partition("?")[2]
    if not query:
        return None
    values: list[str | None] = [None] * len(LANDING_PARAMS)
    seen: set[int] = set()
    for pair in query.split("&"):
        key, equals, value = pair.partition("=")
        at = _LANDING_INDEX.get(key) if equals else None
        if at is not None and at not in seen:
            seen.add(at)
            values[at] = _decoded(value)
    return values


#: Each landing parameter's position; only the keys a URL holds are decoded.
_LANDING_INDEX = {key: n for n, key in enumerate(LANDING_PARAMS)}


def _decoded(value: str) -> str | None:
    value = value.replace("+", " ")
    if "%" in value:
        try:
            value = unquote(value, errors="strict")
        except UnicodeDecodeError:
            pass  # not UTF-8: kept as sent
    return value or None


def landing_sql(url: str, params: str, property_text: Callable[[str], str]) -> str:
    """SQL for a STRUCT of an event's landing parameters, one field per ``LANDING_PARAMS``.

    ``url`` is the event's ``$current_url`` (NULL when absent), ``params`` the list that
    :func:`landing_values` gives for it, and ``property_text(key)`` the SQL of the property
    ``key`` as text. Events with a URL read only the URL, so persisted echoes never count as
    clicks; a URL without a query lands with nothing.
    """
    from_url = ", ".join(f"'{k}': {params}[{n}]" for n, k in enumerate(LANDING_PARAMS, 1))
    from_properties = ", ".join(f"'{k}': nullif({property_text(k)}, '')" for k in LANDING_PARAMS)
    return (
        f"CASE WHEN {url} IS NULL THEN {{{from_properties}}} "
        f"WHEN {params} IS NOT NULL THEN {{{from_url}}} END"
    )
