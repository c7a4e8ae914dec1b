"""The ``incremental`` model's credit (docs/semantics.md §18): person-time from the backend,
the additive hazard of :mod:`utmost.models.incremental` fitted to it, experiments applied.

Unlike the other models it reads the persons and the time *without* touches (the baseline's
exposure), the lag between every touch and every later conversion, and each person's history
of conversions. The backend sums what can be summed (each person's exposure to each key);
only conversions, their touches within the lookback, and persons who ever converted come to
Python as rows.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from utmost.backends import Backend
from utmost.dialect import Dialect
from utmost.engine.calibration import CALIBRATION_ROUNDS, DAY_US, Move, Rounds, Shares, calibrate, micros, rounds
from utmost.engine.data_driven import key_fields
from utmost.engine.experiments import matching
from utmost.engine.options import Options
from utmost.engine.queries import KEY_SEPARATOR
from utmost.models import incremental as hazard

Row = dict[str, Any]
BASELINE_KEY = "(baseline)"


@dataclass(frozen=True)
class Window:
    """The question's time, in microseconds since the epoch: conversions count in [start, end)."""

    start: int
    end: int

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY_US


def credit_incremental(backend: Backend, options: Options, per_conversion: bool) -> tuple[list[Row], list[Row], dict[str, Any]]:
    """Totals, per-conversion rows and the explanation of ``incremental``, if asked for."""
    asked = [(order, m) for order, m in enumerate(options.models) if m.name == "incremental"]
    if not asked:
        return [], [], {}
    order, model = asked[0]
    d = backend.dialect
    window = _window(backend, options)
    if window is None:
        return [], [], {}
    built = _person_time(backend, d, options, window)
    data, conversions = built.data, built.conversions
    fitted = hazard.fit(data)
    revenue = _array(conversions, "revenue", float)
    shares = Shares.of(fitted)
    tested = matching(options.experiments, options.by)
    # The bootstrap gives the intervals, and the model's own uncertainty beside a test's.
    replay = rounds(data, fitted, options.bootstrap if options.ci is not None else CALIBRATION_ROUNDS, options.seed)
    checks: list[dict[str, Any]] = []
    moves: list[Move] = []
    if tested:
        checks, moves = calibrate(data, shares, _array(conversions, "t", np.int64), tested, replay)
    caused = shares.caused(data)
    caused_revenue = shares.caused(data, revenue)
    totals = [_total(order, model.name, key, float(caused[i]), float(caused_revenue[i]), options)
              for i, key in enumerate(data.keys) if caused[i] > 0]
    baseline = float(shares.baseline.sum())
    if baseline > 0:
        totals.append(_total(order, model.name, BASELINE_KEY, baseline, float(shares.baseline @ revenue), options))
    rows: list[Row] = []
    if per_conversion:
        rows = _per_conversion(order, model.name, data, shares, conversions, options)
    if options.ci is not None:
        _with_intervals(totals, data, replay, moves, revenue, options)
    explanation = {"incremental": _explained(data, fitted, shares, built, checks, options)}
    return totals, rows, explanation


def _total(order: int, model: str, key: str, conversions: float, revenue: float, options: Options) -> Row:
    fields = ({f"k{i}": BASELINE_KEY for i in range(len(options.by))} if key == BASELINE_KEY
              else key_fields(key, options))
    return {"model_order": order, "model": model, **fields, "conversions": conversions, "revenue": revenue}


def _window(backend: Backend, options: Options) -> Window | None:
    """[--from, --to) when given, else from the first event to just after the last."""
    d = backend.dialect
    first, last = backend.arrow(
        f"SELECT min({d.micros.format('time')}) AS first, max({d.micros.format('time')}) AS last FROM sessions"
    ).to_pylist()[0].values()
    if first is None:
        return None
    start = micros(options.start) if options.start is not None else first
    end = micros(options.end) if options.end is not None else last + 1
    return Window(start, end) if end > start else None


@dataclass(frozen=True)
class Built:
    data: hazard.PersonTime
    conversions: pa.Table  # in the window: conversion, insert_id, person, name, time, t (µs), revenue; the data's order
    first_touch: np.ndarray  # per touch-exposure row: the first touch's time (µs), for diagnostics
    touches: np.ndarray  # per touch-exposure row: how many touches
    immediate: dict[str, int]  # per key: conversions with one of its touches less than min_lag before
    history: dict[str, np.ndarray]  # every conversion of a converting person: person index, time (µs)
    window: Window


def _person_time(backend: Backend, d: Dialect, options: Options, window: Window) -> Built:
    """Every array :class:`~utmost.models.incremental.PersonTime` holds, from the backend's tables
    ``sessions``, ``touchpoints`` and ``conversions`` (built by the question before)."""
    us = d.micros.format
    lookback = int(options.lookback.total_seconds() * 1_000_000)
    min_lag = int(options.min_lag.total_seconds() * 1_000_000)
    start, end = window.start, window.end
    everyone = backend.arrow(
        f"SELECT count(DISTINCT person) AS n FROM sessions WHERE {us('time')} < {end} AND {us('time')} >= {start - lookback}"
    ).column("n")[0].as_py()
    history = backend.arrow(
        f"SELECT person, {us('time')} AS t, seq FROM sessions WHERE event = {d.literal(options.conversion)} "
        f"AND {us('time')} < {end}"
    )
    ladder = hazard.HALF_LIVES
    # ∫ 2^(−lag/h) dlag over [a, b] (days) = h/ln2 · (2^(−a/h) − 2^(−b/h)); a, b the part of
    # [min_lag, lookback] after the touch that lies in the window.
    a = f"greatest({min_lag}, {start} - t) / {float(DAY_US)!r}"
    b = f"least({lookback}, {end} - t) / {float(DAY_US)!r}"
    integrals = ", ".join(
        f"sum(CASE WHEN {b} > {a} THEN {h / math.log(2)!r} * (pow(2.0, -({a}) / {h!r}) - pow(2.0, -({b}) / {h!r})) "
        f"ELSE 0.0 END) AS e{i}" for i, h in enumerate(ladder))
    exposure = backend.arrow(
        f"SELECT person, key, min(t) AS first, count(*) AS touches, {integrals} FROM "
        f"(SELECT person, key, {us('time')} AS t FROM touchpoints) AS tp "
        f"WHERE t < {end} AND t >= {start} - {lookback} GROUP BY person, key ORDER BY person, key"
    )
    conversions = backend.arrow(
        f"SELECT conversion, insert_id, person, name, time, {us('time')} AS t, revenue FROM conversions "
        f"ORDER BY {us('time')}, conversion"
    )
    pairs = backend.arrow(
        f"SELECT c.conversion, t.key, {us('c.time')} - {us('t.time')} AS lag FROM conversions AS c "
        f"JOIN touchpoints AS t ON t.person = c.person "
        f"AND {us('c.time')} - {us('t.time')} >= 0 AND {us('c.time')} - {us('t.time')} <= {lookback} "
        f"ORDER BY c.conversion, t.key, lag"
    )
    # Persons with a row get numbers 0..n-1; everyone else observed is counted, one row each.
    named = _sorted_unique([history.column("person"), exposure.column("person"), conversions.column("person")])
    persons_total = max(everyone, len(named))
    keys = _sorted_unique([exposure.column("key"), pairs.column("key")])

    h_person = _numbers(history.column("person"), named)
    h_time = _array(history, "t", np.int64)
    h_seq = _array(history, "seq", np.int64)
    ordered = np.lexsort((h_seq, h_time, h_person))  # by person number, then time: the backend need not sort
    h_person, h_time, h_seq = h_person[ordered], h_time[ordered], h_seq[ordered]
    # The rank of each conversion among its person's: how many came before (the stratum, capped).
    rank = np.zeros(len(h_person), dtype=np.int64)
    if len(h_person):
        starts = np.flatnonzero(np.r_[True, h_person[1:] != h_person[:-1]])
        rank = np.arange(len(h_person)) - np.repeat(starts, np.diff(np.r_[starts, len(h_person)]))
    base_person, base_stratum, base_days = _baseline_exposure(h_person, h_time, rank, len(named), persons_total, window)

    by_seq = np.argsort(h_seq)
    conversion_seq = _array(conversions, "conversion", np.int64)
    found = by_seq[np.searchsorted(h_seq[by_seq], conversion_seq)] if len(h_seq) else np.zeros(0, dtype=np.int64)
    conv_stratum = np.minimum(rank[found], hazard.HISTORY - 1) if len(found) else np.zeros(0, dtype=np.int64)
    lag = _array(pairs, "lag", np.int64)
    pair_key_all = _numbers(pairs.column("key"), keys)
    pair_conversion_all = _numbers(pairs.column("conversion"), conversions.column("conversion"))
    kept = lag >= min_lag
    immediate: dict[str, int] = {}
    if (~kept).any():
        soon = np.unique(pair_key_all[~kept] * len(conversion_seq) + pair_conversion_all[~kept])
        for k_i, count in zip(*np.unique(soon // max(len(conversion_seq), 1), return_counts=True), strict=True):
            immediate[keys[int(k_i)].as_py()] = int(count)
    touch_days = np.stack([_array(exposure, f"e{i}", float) for i in range(len(ladder))], axis=1)
    touch_person = _numbers(exposure.column("person"), named)
    conversion_person = _numbers(conversions.column("person"), named)
    # Persons reached by any key have a baseline of their own: the strata after the first HISTORY.
    reached = np.zeros(persons_total, dtype=np.int64)
    reached[touch_person] = hazard.HISTORY
    base_stratum = base_stratum + reached[base_person]
    conv_stratum = conv_stratum + reached[conversion_person]
    # One row per (conversion, key): the key's kernels summed over its touches.
    pair = pair_conversion_all[kept] * len(keys) + pair_key_all[kept]
    unique_pairs, row_of = np.unique(pair, return_inverse=True)
    kernels = hazard.kernel(lag[kept] / DAY_US)
    summed = np.stack([np.bincount(row_of, kernels[:, c], minlength=len(unique_pairs)) for c in range(len(ladder))],
                      axis=1).reshape(-1, len(ladder))
    data = hazard.PersonTime(
        persons=persons_total,
        keys=tuple(keys.to_pylist()),
        base_person=base_person, base_stratum=base_stratum, base_days=base_days,
        touch_person=touch_person,
        touch_key=_numbers(exposure.column("key"), keys),
        touch_days=touch_days.reshape(-1, len(ladder)),
        conversion_person=conversion_person, conversion_stratum=conv_stratum,
        pair_conversion=unique_pairs // max(len(keys), 1), pair_key=unique_pairs % max(len(keys), 1),
        pair_kernel=summed,
    )
    return Built(data, conversions, _array(exposure, "first", np.int64), _array(exposure, "touches", np.int64),
                 immediate, {"person": h_person, "time": h_time}, window)


def _sorted_unique(columns: list[pa.ChunkedArray]) -> pa.Array:
    values = pc.unique(pa.chunked_array([chunk for column in columns for chunk in column.chunks], type=columns[0].type))
    return values.take(pc.sort_indices(values))


def _numbers(column: pa.ChunkedArray, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Each value's position in ``values`` (every value is there)."""
    return pc.index_in(column, value_set=values).to_numpy(zero_copy_only=False).astype(np.int64)


def _array(table: pa.Table, column: str, kind: type) -> np.ndarray:
    return table.column(column).to_numpy(zero_copy_only=False).astype(kind)


def _baseline_exposure(person: np.ndarray, time: np.ndarray, rank: np.ndarray, named: int, everyone: int,
                       window: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days each person spent in the window in each stratum of history.

    A person's conversions cut the window into segments: before the first (stratum 0), between
    the first and the second (1), after the second (2, and every later one). Persons who never
    converted spend the whole window in stratum 0.
    """
    clipped = np.clip(time, window.start, window.end)
    # Segment j of a person runs from its j-th conversion (the window's start for j = 0) to the next.
    converted = np.zeros(named, dtype=bool)
    converted[person] = True
    last = np.r_[person[1:] != person[:-1], True] if len(person) else np.zeros(0, dtype=bool)
    seg_person = np.concatenate([person, np.flatnonzero(converted)])
    seg_begin = np.concatenate([clipped, np.full(int(converted.sum()), window.start)])
    next_time = np.r_[clipped[1:], 0] if len(person) else np.zeros(0, dtype=np.int64)
    seg_end = np.concatenate([np.where(last, window.end, next_time), np.zeros(int(converted.sum()), dtype=np.int64)])
    seg_stratum = np.concatenate([np.minimum(rank + 1, hazard.HISTORY - 1), np.zeros(int(converted.sum()), dtype=np.int64)])
    # The stratum-0 segment of a converting person ends at its first conversion.
    first_of = np.flatnonzero(np.r_[True, person[1:] != person[:-1]]) if len(person) else np.zeros(0, dtype=np.int64)
    seg_end[len(person):] = clipped[first_of]
    others = np.setdiff1d(np.arange(everyone), np.flatnonzero(converted))
    base_person = np.concatenate([seg_person, others]).astype(np.int64)
    base_stratum = np.concatenate([seg_stratum, np.zeros(len(others), dtype=np.int64)]).astype(np.int64)
    base_days = np.concatenate([(seg_end - seg_begin) / DAY_US, np.full(len(others), window.days)])
    return base_person, base_stratum, np.maximum(base_days, 0.0)


def _per_conversion(order: int, model: str, data: hazard.PersonTime, shares: Shares, table: pa.Table,
                    options: Options) -> list[Row]:
    """Each conversion split over the baseline and the keys of its touches, by responsibility
    (and over keys an experiment gave a part of it, docs/semantics.md §18)."""
    conversions = table.to_pylist()
    rows = []
    by_key: dict[tuple[int, int], float] = {}
    for i, share in enumerate(shares.pairs):
        pair = (int(data.pair_conversion[i]), int(data.pair_key[i]))
        by_key[pair] = by_key.get(pair, 0.0) + float(share)
    for key, extra in shares.moved.items():
        for at in np.flatnonzero(extra).tolist():
            by_key[(at, key)] = by_key.get((at, key), 0.0) + float(extra[at])
    for (n, k), share in sorted(by_key.items()):
        c = conversions[n]
        if share > 0:
            rows.append({"model_order": order, "model": model, "insert_id": c["insert_id"], "person": c["name"],
                         "time": c["time"], **key_fields(data.keys[k], options), "credit": share,
                         "revenue": share * c["revenue"]})
    for n, c in enumerate(conversions):
        share = float(shares.baseline[n])
        if share > 0:
            rows.append({"model_order": order, "model": model, "insert_id": c["insert_id"], "person": c["name"],
                         "time": c["time"], **{f"k{i}": BASELINE_KEY for i in range(len(options.by))},
                         "credit": share, "revenue": share * c["revenue"]})
    return rows


def _with_intervals(totals: list[Row], data: hazard.PersonTime, replay: Rounds, moves: list[Move],
                    revenue: np.ndarray, options: Options) -> None:
    """Percentile intervals of every row. Each test's move (:func:`~utmost.engine.calibration.calibrate`)
    is made again in every round, from the round's model estimate and a new draw of the test's."""
    assert options.ci is not None
    keys = len(data.keys)
    credit = np.zeros((keys + 1, options.bootstrap))
    money = np.zeros((keys + 1, options.bootstrap))
    rng = np.random.default_rng([options.seed, 1])  # the tests' draws, apart from the persons'
    for r, (w_conv, shares) in enumerate(replay()):
        for move in moves:
            move.in_round(data, shares, w_conv, rng)
        credit[:keys, r] = shares.caused(data, w_conv)
        money[:keys, r] = shares.caused(data, w_conv * revenue)
        credit[keys, r] = float(shares.baseline @ w_conv)
        money[keys, r] = float(shares.baseline @ (w_conv * revenue))
    tail = (1 - options.ci) / 2
    index = {key: i for i, key in enumerate(data.keys)}
    for row in totals:
        i = keys if row["k0"] == BASELINE_KEY else index[_combined(row, options)]
        low, high = np.quantile(credit[i], [tail, 1 - tail])
        rlow, rhigh = np.quantile(money[i], [tail, 1 - tail])
        row.update(conversions_low=float(low), conversions_high=float(high),
                   revenue_low=float(rlow), revenue_high=float(rhigh))


def _combined(row: Row, options: Options) -> str:
    return KEY_SEPARATOR.join(row[f"k{i}"] for i in range(len(options.by)))


def _explained(data: hazard.PersonTime, fitted: hazard.Fit, shares: Shares, built: Built,
               checks: list[dict[str, Any]], options: Options) -> dict[str, Any]:
    """The fitted rates, and per key what it caused, its decay, and signs of harvest or targeting.

    - harvest: conversions that came less than ``min_lag`` after one of the key's touches,
      against what the key is credited with later. Many immediate conversions and little
      later lift is the mark of a touch caused by the decision to buy (a brand search).
    - targeting: how often the persons it reached converted *before* it first reached them,
      against the baseline of persons reached by some key, without a conversion before. A key
      that reaches people already likely to buy (retargeting) shows a ratio well above 1: its
      lift is then an upper bound.

    ``caused`` is the answer's (after experiments); ``fitted`` holds the rates before them.
    """
    caused = shares.caused(data)
    per_touch = fitted.per_touch()
    window = built.window
    # Conversions of each reached person in the window before the key first reached them, by
    # binary search over (person, time) packed into one sortable integer.
    history = built.history
    span = window.end - window.start
    unit = 1 if span.bit_length() + data.persons.bit_length() <= 62 else 1_000_000  # µs, or s for long windows
    shift = (span // unit).bit_length()
    inside = (history["time"] >= window.start) & (history["time"] < window.end)
    packed = np.sort((history["person"][inside] << shift) | ((history["time"][inside] - window.start) // unit))
    first_all = np.clip(built.first_touch, window.start, window.end) - window.start
    low = np.searchsorted(packed, data.touch_person << shift)
    high = np.searchsorted(packed, (data.touch_person << shift) | (first_all // unit))
    before_all = high - low
    keys = []
    for i, key in enumerate(data.keys):
        rows = np.flatnonzero(data.touch_key == i)
        before = int(before_all[rows].sum())
        days_before = float(first_all[rows].sum() / DAY_US)
        rate_before = before / days_before if days_before > 0 else None
        reached_base = fitted.base[hazard.HISTORY]  # persons reached by some key, no conversion before
        targeting = float(rate_before / reached_base) if rate_before is not None and reached_base > 0 else None
        touches = int(built.touches[rows].sum())
        immediate = built.immediate.get(key, 0)
        decay = {f"{h:g}d": float(fitted.effects[i, j]) for j, h in enumerate(hazard.HALF_LIVES)}
        signs = []
        if immediate >= 5 and immediate > 2 * caused[i]:
            signs.append(f"harvest: {immediate} conversions came within {_spoken(options.min_lag)} after its touches, but "
                         f"its touches explain only {caused[i]:.1f} later ones: its clicks may come from people "
                         "who had already decided (a brand search); an experiment can tell")
        if targeting is not None and before >= 5 and targeting > 2:
            signs.append(f"targeting: the persons it reached converted {targeting:.1f}× as often as others before it "
                         "first reached them: it may reach people likely to buy anyway (retargeting), so its "
                         "estimate is an upper bound; an experiment can tell")
        keys.append({"key": list(key_fields(key, options).values()), "caused": float(caused[i]),
                     "touches": touches, "per_touch": float(per_touch[i]), "effects_per_day_by_half_life": decay,
                     "immediate_conversions": immediate, "conversions_before_reached": before,
                     "rate_before_reached_vs_baseline": targeting, "signs": signs})
    return {
        "persons": data.persons, "window_days": window.days, "min_lag_seconds": options.min_lag.total_seconds(),
        "half_lives_days": list(hazard.HALF_LIVES),
        "baseline_per_person_day": {
            group: {"0": float(fitted.base[at]), "1": float(fitted.base[at + 1]), "2+": float(fitted.base[at + 2])}
            for group, at in (("never_reached", 0), ("reached", hazard.HISTORY))},
        "baseline": float(shares.baseline.sum()), "iterations": fitted.iterations,
        "log_likelihood": fitted.log_likelihood, "keys": keys, "experiments": checks,
    }


def _spoken(duration: dt.timedelta) -> str:
    """A duration as a user types it: ``1h``, ``30m``, ``2d``."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
