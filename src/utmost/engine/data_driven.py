"""The data-driven models' credit on the engine's journeys (docs/semantics.md §8, §9, §10).

The backend builds every journey and aggregates them to one row per distinct path; only those
rows reach the models, each fitted as its row of :data:`utmost.engine.models.MODELS` says. A
fitted model splits a conversion over its own path's keys (Markov by their removal effects,
Shapley by its set); those shares, one row per path and key, go back to the backend
(:meth:`~utmost.backends.Backend.put`), which credits every conversion and sums the credit
exactly, so nothing that grows with the conversions comes back (on Spark: to the driver) unless
per-conversion rows are asked for. Conversions whose journey is empty go to ``(none)``. A model
with totals of its own (Markov's, global) keeps them; its splits only explain them.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from utmost.backends import Backend
from utmost.engine import queries
from utmost.engine.models import Fitted, Model
from utmost.engine.options import Options
from utmost.engine.queries import KEY_SEPARATOR, PATH_SEPARATOR
from utmost.engine.sums import exact_sums
from utmost.models.journeys import Journeys

Row = dict[str, Any]


def credit_data_driven(
    backend: Backend, options: Options, per_conversion: bool, journeys_sql: str
) -> tuple[list[Row], list[Row], dict[str, Any]]:
    """Totals, per-conversion rows and the fitted models' explanations (for ``--explain-model``)
    of the data-driven models among ``options.models``, fitted to the rows of ``journeys_sql``
    (of the shape of :func:`utmost.engine.queries.journeys`), made the table ``journeys``."""
    models = [(order, m) for order, m in enumerate(options.models) if m.learned]
    if not models:
        return [], [], {}
    backend.create("journeys", journeys_sql)
    lost = backend.arrow(
        "SELECT path, count(*) AS lost FROM journeys WHERE NOT converted AND path IS NOT NULL GROUP BY path"
    ).to_pylist()
    # An empty path ('') is a conversion with no touchpoint: it goes to (none).
    backend.view("converting", "SELECT coalesce(path, '') AS path, revenue FROM journeys WHERE converted")
    counts = backend.arrow("SELECT path, count(*) AS conversions FROM converting GROUP BY path").to_pylist()
    # Revenue is summed exactly, in the engine: a parallel sum's last bits vary.
    revenue = exact_sums(backend, "converting", ["path"], ["revenue"])
    journeys = Journeys.from_rows(
        [(split_path(c["path"]), c["conversions"], revenue.get((c["path"],), {}).get("revenue", 0.0), 0) for c in counts]
        + [(split_path(p["path"]), 0, 0.0, p["lost"]) for p in lost]
    )
    fits = {m.name: m.fit(journeys, options) for _, m in models}
    shares = []
    for order, model in models:
        for c in counts:
            for key, share in _split(fits[model.name], c["path"]).items():
                shares.append({"model_order": order, "model": model.name, "path": c["path"], "key": key, "share": share})
    backend.put("shares", pa.Table.from_pylist(shares, schema=_SHARES))
    backend.view("credited_journeys", "SELECT s.model_order, s.model, s.key, s.share AS credit, "
                 "s.share * c.revenue AS revenue FROM converting AS c JOIN shares AS s ON s.path = c.path")
    group = ["model_order", "model", "key"]
    summed = exact_sums(backend, "credited_journeys", group, ["credit", "revenue"])
    totals = []
    for order, model in models:
        credit = {key: (sums["credit"], sums.get("revenue", 0.0)) for (o, _, key), sums in summed.items() if o == order}
        fitted = fits[model.name]
        if fitted.totals is not None:
            # The model's own totals (Markov's, docs/semantics.md §9); the splits only explain them.
            none = credit.get(queries.NONE_KEY)
            credit = dict(fitted.totals)
            if none:
                credit[queries.NONE_KEY] = none
        totals += [{"model_order": order, "model": model.name, **key_fields(k, options), "conversions": c, "revenue": r}
                   for k, (c, r) in credit.items() if c]
    rows = _rows(backend, options, models, fits) if per_conversion else []
    return totals, rows, {name: value for f in fits.values() for name, value in f.explanation.items()}


_SHARES = pa.schema([("model_order", pa.int64()), ("model", pa.string()), ("path", pa.string()),
                     ("key", pa.string()), ("share", pa.float64())])


def _rows(backend: Backend, options: Options, models: list[tuple[int, Model]], fits: dict[str, Fitted]) -> list[Row]:
    """The per-conversion rows, when asked for: each conversion split by its path's shares."""
    rows = []
    conversions = backend.arrow(
        "SELECT insert_id, person, time, revenue, path FROM journeys WHERE converted ORDER BY time, conversion"
    ).to_pylist()
    for order, model in models:
        for c in conversions:
            for key, share in _split(fits[model.name], c["path"]).items():
                rows.append({"model_order": order, "model": model.name, "insert_id": c["insert_id"],
                             "person": c["person"], "time": c["time"], **key_fields(key, options),
                             "credit": share, "revenue": share * c["revenue"]})
    return rows


def _split(fitted: Fitted, path: str | None) -> dict[str, float]:
    """A conversion's 1 split over the keys of its journey's ``path`` (as the backend writes it)
    by ``fitted``; an empty journey's goes to (none)."""
    keys = split_path(path)
    return fitted.split(keys) if keys else {queries.NONE_KEY: 1.0}


def split_path(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(PATH_SEPARATOR)) if text else ()


def key_fields(key: str, options: Options) -> dict[str, str]:
    """A combined key back into one field per ``--by`` property; (none) fills every field."""
    if key == queries.NONE_KEY:
        return {f"k{i}": queries.NONE_KEY for i in range(len(options.by))}
    return {f"k{i}": part for i, part in enumerate(key.split(KEY_SEPARATOR))}
