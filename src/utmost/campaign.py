"""Campaign parameters: which UTM values and click ids an event landed with.

Pure definitions, no I/O. The browser SDK repeats persisted UTM super properties on every
later event (key by key, sometimes mixed with an older campaign's), so an event's *landing*
parameters are read from its ``$current_url`` query string whenever it has one, and from its
properties only when it has none (server-side events). See DESIGN §3 "Landing UTM".

The rules are written once, as SQL expressions that the store compiles into its ingest query,
so the importer and the collector read campaigns identically and at DuckDB's speed.
"""

from __future__ import annotations

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
    """SQL for the query string of ``url``: after the first ``?``, before any ``#fragment``."""
    return f"regexp_extract({url}, '^[^#?]*\\?([^#]*)', 1)"


def url_param_sql(query: str, key: str) -> str:
    """SQL for the decoded value of ``key`` in a query string, as a browser reads it.

    The first occurrence wins; ``+`` and ``%20`` are spaces; a value that is not valid
    percent-encoded UTF-8 is kept as sent (DuckDB's ``url_decode`` raises there); an empty
    value is missing (NULL). Keys match exactly, case included.
    """
    raw = f"regexp_extract('&' || {query}, '&{key}=([^&]*)', 1)"
    spaced = f"replace({raw}, '+', ' ')"
    return f"nullif(coalesce(try(url_decode({spaced})), {spaced}), '')"


def landing_param_sql(key: str, url: str, query: str, property_value: str) -> str:
    """SQL for an event's landing value of ``key``.

    ``url`` is the event's ``$current_url`` (NULL when absent), ``query`` its query string
    (from :func:`query_string_sql`) and ``property_value`` the property of the same name as
    text. Events with a URL read only the URL, so persisted echoes never count as clicks.
    """
    return (
        f"CASE WHEN {url} IS NOT NULL THEN {url_param_sql(query, key)} "
        f"ELSE nullif({property_value}, '') END"
    )
