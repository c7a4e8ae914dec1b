"""Money beside credit: each key's ad spend, and what its credited conversions cost (docs/semantics.md §15).

Pure: the totals' rows and the spend per key in, the same rows with ``cost``, ``cpa`` and
``roas`` out, plus a row for each key that spent and was credited nothing (under each model):
money that bought nothing is the row a marketer most needs to see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from utmost.engine.channels import CHANNEL
from utmost.engine.options import Options

#: The columns money adds to every row of the totals.
MONEY = ("cost", "cpa", "roas")
#: The keys spend is recorded by: a question by any of them (and nothing else) gets money columns.
SPEND_KEYS = ("utm_source", "utm_medium", "utm_campaign", CHANNEL)


def asks_money(options: Options) -> bool:
    """Whether spend can be told apart by the question's keys (any of :data:`SPEND_KEYS`)."""
    return all(key in SPEND_KEYS for key in options.by)


def with_money(rows: list[dict], spend: dict[tuple, float], options: Options, keys: list[str]) -> list[dict]:
    """``rows`` (one per model and key) with their key's cost, cost per credited conversion and
    credited revenue per unit of cost; a row of 0 credit for every (model, key) that spent but
    has none. A key with no spend has all three None, not 0; ``cpa`` is None with no credit,
    ``roas`` None when the cost is 0."""
    found = [{**row, **money_columns(spend.get(tuple(row[k] for k in keys)), row["conversions"], row["revenue"])}
             for row in rows]
    credited = {(row["model_order"], tuple(row[k] for k in keys)) for row in rows}
    intervals = {c: 0.0 for c in rows[0] if c.endswith(("_low", "_high"))} if rows else {}
    for order, model in enumerate(options.models):
        for key, cost in spend.items():
            if (order, key) not in credited:
                found.append({"model_order": order, "model": model.name, **dict(zip(keys, key)),
                              "conversions": 0.0, "revenue": 0.0, **intervals, **money_columns(cost, 0.0, 0.0)})
    return found


def money_totals(cells: Mapping[tuple, Mapping[str, Mapping[str, Any]]],
                 models: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """The total row's money per model, from the totals' rows by key and model (``cells``):
    the cost of every key that spent, and each model's CPA and ROAS over those keys' credited
    conversions and revenue, as each row's are (docs/semantics.md §15)."""
    spent = [by_model for by_model in cells.values() if next(iter(by_model.values()))["cost"] is not None]
    cost = sum(next(iter(by_model.values()))["cost"] for by_model in spent)
    return {model: money_columns(cost, sum(b[model]["conversions"] for b in spent if model in b),
                                 sum(b[model]["revenue"] for b in spent if model in b)) for model in models}


def money_columns(cost: float | None, conversions: float, revenue: float) -> dict[str, float | None]:
    """``cost``, ``cpa`` and ``roas`` of a key that cost ``cost`` (None: no spend recorded) and
    was credited ``conversions`` and ``revenue``."""
    if cost is None:
        return {"cost": None, "cpa": None, "roas": None}
    return {"cost": cost, "cpa": cost / conversions if conversions else None, "roas": revenue / cost if cost else None}
