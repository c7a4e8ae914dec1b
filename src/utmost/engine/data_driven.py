"""The data-driven models' credit on the engine's journeys (docs/semantics.md §8, §9, §10).

The backend builds every journey and aggregates them to one row per distinct path; only those
rows reach the models, each fitted as its row of :data:`utmost.engine.models.MODELS` says.
Conversions whose journey is empty go to ``(none)``. Per-conversion rows explain each credit: a
fitted model splits a conversion over its own path's keys (Markov by their removal effects,
Shapley by its set); a model with totals of its own (Markov's, global) keeps them.
"""

from __future__ import annotations

import math
from typing import Any

from utmost.backends import Backend
from utmost.engine import queries
from utmost.engine.options import Options
from utmost.engine.queries import KEY_SEPARATOR, PATH_SEPARATOR
from utmost.models.journeys import Journeys

Row = dict[str, Any]


def credit_data_driven(
    backend: Backend, options: Options, per_conversion: bool
) -> tuple[list[Row], list[Row], dict[str, Any]]:
    """Totals, per-conversion rows and the fitted models' explanations (for ``--explain-model``)
    of the data-driven models among ``options.models``."""
    models = [(order, m) for order, m in enumerate(options.models) if m.learned]
    if not models:
        return [], [], {}
    backend.create("journeys", queries.journeys(backend.dialect, options))
    lost = backend.arrow(
        "SELECT path, count(*) AS lost FROM journeys WHERE NOT converted AND path IS NOT NULL GROUP BY path"
    ).to_pylist()
    conversions = backend.arrow(
        "SELECT insert_id, person, time, revenue, path FROM journeys WHERE converted ORDER BY time, conversion"
    ).to_pylist()
    # Revenue is summed here, exactly, not by the backend: a parallel sum's last bits vary.
    journeys = Journeys.from_rows(
        [(split_path(c["path"]), 1, c["revenue"], 0) for c in conversions]
        + [(split_path(p["path"]), 0, 0.0, p["lost"]) for p in lost]
    )
    fits = {m.name: m.fit(journeys, options) for _, m in models}
    totals, rows = [], []
    for order, model in models:
        fitted = fits[model.name]
        credit: dict[str, tuple[list[float], list[float]]] = {}
        for c in conversions:
            path = split_path(c["path"])
            shares = fitted.split(path) if path else {queries.NONE_KEY: 1.0}
            for key, share in shares.items():
                sums = credit.setdefault(key, ([], []))
                sums[0].append(share)
                sums[1].append(share * c["revenue"])
                if per_conversion:
                    rows.append({"model_order": order, "model": model.name, "insert_id": c["insert_id"],
                                 "person": c["person"], "time": c["time"], **key_fields(key, options),
                                 "credit": share, "revenue": share * c["revenue"]})
        summed = {k: (math.fsum(v[0]), math.fsum(v[1])) for k, v in credit.items()}
        if fitted.totals is not None:
            # The model's own totals (Markov's, docs/semantics.md §9); the splits above only explain them.
            none = summed.get(queries.NONE_KEY)
            summed = dict(fitted.totals)
            if none:
                summed[queries.NONE_KEY] = none
        totals += [{"model_order": order, "model": model.name, **key_fields(k, options), "conversions": c, "revenue": r}
                   for k, (c, r) in summed.items() if c]
    return totals, rows, {name: value for f in fits.values() for name, value in f.explanation.items()}


def split_path(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(PATH_SEPARATOR)) if text else ()


def key_fields(key: str, options: Options) -> dict[str, str]:
    """A combined key back into one field per ``--by`` property; (none) fills every field."""
    if key == queries.NONE_KEY:
        return {f"k{i}": queries.NONE_KEY for i in range(len(options.by))}
    return {f"k{i}": part for i, part in enumerate(key.split(KEY_SEPARATOR))}
