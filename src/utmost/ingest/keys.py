"""Key properties: the names a question may credit by (``--by``) and an experiment may be keyed by.

Pure. One rule for both, so that an experiment's key can always be asked about: a name is not
empty, not named twice, and not a column of the answers (docs/semantics.md §12, §19).
"""

from __future__ import annotations

from collections.abc import Sequence

#: Columns of the answers beside the ``--by`` keys (totals, per-conversion rows, a journey's
#: touchpoints, the report): a key property of the same name could not be told apart from them.
RESULT_COLUMNS = (
    "model", "conversions", "revenue", "conversions_low", "conversions_high", "revenue_low", "revenue_high",
    "insert_id", "person", "time", "credit", "conversion", "conversion_time", "session", "status",
    "period", "sessions", "persons", "landings", "conversion_rate", "cost", "cpa", "roas",
)


def key_problem(names: Sequence[str]) -> str | None:
    """Why ``names`` cannot be the key properties of a question, or None if they can.

    >>> key_problem(["utm_source", "utm_medium"]) is None
    True
    >>> key_problem(["utm_source", "utm_source"])
    "'utm_source' is named twice"
    """
    if not names or any(not name.strip() for name in names):
        return "name at least one property"
    for index, name in enumerate(names):
        if name in names[:index]:
            return f"{name!r} is named twice"
        if name in RESULT_COLUMNS:
            return f"{name!r} is also a column of the answer ({', '.join(RESULT_COLUMNS[:3])}, …)"
    return None
