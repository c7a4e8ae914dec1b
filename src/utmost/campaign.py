"""Campaign parameters: which UTM values and click ids an event landed with.

Pure definitions, no I/O. The browser SDK repeats persisted UTM super properties on every
later event (key by key, sometimes mixed with an older campaign's), so an event's *landing*
parameters are read from its ``$current_url`` query string whenever it has one, and from its
properties only when it has none (server-side events). See DESIGN §3 "Landing UTM".

The rules are written once, as SQL expressions that the store compiles into its ingest query,
so the importer and the collector read campaigns identically and at DuckDB's speed.
"""

from __future__ import annotations

from collections.abc import Callable

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


def query_string_sql(url: str) -> str:
    """SQL for ``'&'`` + the query string of ``url`` (after the first ``?``, before any ``#``).

    The leading ``&`` lets every key be matched as ``&key=``; it is empty without a query.
    """
    return f"'&' || regexp_extract({url}, '^[^#?]*\\?([^#]*)', 1)"


def url_param_sql(query: str, key: str) -> str:
    """SQL for the decoded value of ``key`` in a query from :func:`query_string_sql`.

    Read as a browser does: the first occurrence wins; ``+`` and ``%20`` are spaces; a value
    that is not valid percent-encoded UTF-8 is kept as sent (DuckDB's ``url_decode`` raises
    there); an empty value is missing (NULL). Keys match exactly, case included. Only values
    holding a ``%`` are decoded: decoding (under ``try``) was the costliest step of an import.
    """
    spaced = f"replace(regexp_extract({query}, '&{key}=([^&]*)', 1), '+', ' ')"
    return (
        f"nullif(CASE WHEN contains({spaced}, '%') THEN coalesce(try(url_decode({spaced})), {spaced}) "
        f"ELSE {spaced} END, '')"
    )


def landing_sql(url: str, query: str, property_text: Callable[[str], str]) -> str:
    """SQL for a STRUCT of an event's landing parameters, one field per ``LANDING_PARAMS``.

    ``url`` is the event's ``$current_url`` (NULL when absent), ``query`` its query string
    from :func:`query_string_sql`, and ``property_text(key)`` the SQL of the property ``key``
    as text. Events with a URL read only the URL, so persisted echoes never count as clicks.
    Most events have a URL without a query: they skip all fifteen look-ups at once.
    """
    from_url = ", ".join(
        f"'{k}': CASE WHEN contains({query}, '&{k}=') THEN {url_param_sql(query, k)} END" for k in LANDING_PARAMS
    )
    from_properties = ", ".join(f"'{k}': nullif({property_text(k)}, '')" for k in LANDING_PARAMS)
    return (
        f"CASE WHEN {url} IS NULL THEN {{{from_properties}}} "
        f"WHEN {query} <> '&' THEN {{{from_url}}} END"
    )
