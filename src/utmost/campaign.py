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


def query_params_sql(query: str) -> str:
    """SQL for a STRUCT of each landing key's raw value in a query from :func:`query_string_sql`.

    Read as a browser does: the first occurrence wins, keys match exactly (case included) and
    ``+`` is a space; NULL when the key is absent. Values are still percent-encoded
    (:func:`decoded_sql`). Computed once per event, in its own step: repeating these look-ups
    inside each later expression made DuckDB's planning of the ingest query several times
    slower, and that planning is most of the time of a small collector request.
    """
    return "{" + ", ".join(
        f"'{k}': CASE WHEN contains({query}, '&{k}=') "
        f"THEN replace(regexp_extract({query}, '&{k}=([^&]*)', 1), '+', ' ') END"
        for k in LANDING_PARAMS
    ) + "}"


def decoded_sql(value: str) -> str:
    """SQL for a raw query value, percent-decoded; an empty value is missing (NULL).

    A value that is not valid percent-encoded UTF-8 is kept as sent (DuckDB's ``url_decode``
    raises there). Only values holding a ``%`` are decoded: decoding (under ``try``) was the
    costliest step of an import.
    """
    return (
        f"nullif(CASE WHEN contains({value}, '%') THEN coalesce(try(url_decode({value})), {value}) "
        f"ELSE {value} END, '')"
    )


def landing_sql(url: str, query: str, params: str, property_text: Callable[[str], str]) -> str:
    """SQL for a STRUCT of an event's landing parameters, one field per ``LANDING_PARAMS``.

    ``url`` is the event's ``$current_url`` (NULL when absent), ``query`` its query string
    from :func:`query_string_sql`, ``params`` the :func:`query_params_sql` of it, and
    ``property_text(key)`` the SQL of the property ``key`` as text. Events with a URL read only
    the URL, so persisted echoes never count as clicks. Most events have a URL without a
    query: they skip all fifteen look-ups at once.
    """
    from_url = ", ".join(f"'{k}': {decoded_sql(f'{params}.{k}')}" for k in LANDING_PARAMS)
    from_properties = ", ".join(f"'{k}': nullif({property_text(k)}, '')" for k in LANDING_PARAMS)
    return (
        f"CASE WHEN {url} IS NULL THEN {{{from_properties}}} "
        f"WHEN {query} <> '&' THEN {{{from_url}}} END"
    )
