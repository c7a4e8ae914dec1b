"""Run the attribution queries, in order, on a backend (DuckDB by default, or Spark).

A backend materialises named intermediate tables and returns results as Arrow. Every step's
SQL comes from :mod:`utmost.engine.queries`, once for every backend; this module adds only the
small reads of those tables (totals, one person's ids, the checks of a question), in SQL common
to both dialects, with any value in it made by ``Dialect.literal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from utmost.backends import Backend
from utmost.engine import maintained, money, queries
from utmost.engine.identity import resolve_people
from utmost.engine.data_driven import credit_data_driven, key_fields, split_path
from utmost.engine.channels import CHANNEL
from utmost.engine.options import Options
from utmost.engine.sums import exact_sums
from utmost.errors import InputError, did_you_mean

#: Credit and revenue are shown to this many significant digits (docs/semantics.md §12). A
#: double holds every decimal of up to 15 significant digits exactly (C's DBL_DIG), so a sum
#: of amounts typed with cents, up to ten trillion, keeps every digit; what a double adds
#: beyond them (``27685.170000000002``, ``0.30000000000000004``) is the binary rounding of
#: the amounts, a unit or two in the 17th digit, and goes.
SIGNIFICANT_DIGITS = 15


def decimal(value: float) -> float:
    """``value`` rounded to :data:`SIGNIFICANT_DIGITS`, so that its shortest form has no noise.

    >>> decimal(27685.170000000002), decimal(0.1 + 0.2), decimal(1 / 3)
    (27685.17, 0.3, 0.333333333333333)
    """
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


@dataclass(frozen=True)
class Result:
    """Totals per model and key, and the per-conversion credits they sum."""

    totals: pa.Table
    per_conversion: pa.Table
    options: Options
    conversions: int
    converted_without_touchpoints: int
    explanation: dict = field(default_factory=dict)  # the fitted Markov chain, when markov ran


def attribute(backend: Backend, options: Options, per_conversion: bool = True, steps: bool = False) -> Result:
    """Answer one attribution question (docs/semantics.md §6 to §10) on ``backend``.

    ``per_conversion=False`` leaves ``Result.per_conversion`` empty: on millions of events the
    per-conversion rows cost more to hand over than everything else to compute. ``steps=True``
    leaves the tables ``touchpoints``, ``conversions`` and ``attributable`` for the caller to
    read, which a key event's kept credit (§21), when it answers, does not make.
    """
    keys = [f"k{i}" for i in range(len(options.by))]
    d = backend.dialect
    rule_based = any(m.rule_based for m in options.models)
    if not steps and maintained.credit_readable(backend, options):
        # A key event's kept credit and journeys (docs/semantics.md §21): the same rows, summed or fitted.
        credited, journeys = maintained.credited(d, options), maintained.journeys(d, options)
        counted = ("SELECT count(DISTINCT conversion) AS n, count(DISTINCT CASE WHEN bare THEN conversion END) AS bare "
                   "FROM credited") if rule_based else (
                   "SELECT count(*) AS n, count(CASE WHEN bare THEN 1 END) AS bare FROM journeys WHERE converted")
    else:
        _credit_steps(backend, options)
        credited, journeys = queries.credited(d, options), queries.journeys(d, options)
        # A conversion is one row of ``conversions``; one without touchpoints, one row of
        # ``attributable`` (the left join's), with no touches: counted without a distinct.
        counted = ("SELECT (SELECT count(*) FROM conversions) AS n, "
                   "(SELECT count(*) FROM attributable WHERE touches = 0) AS bare")
    if rule_based:
        backend.create("credited", credited)
    totals, rows = _credit_rule_based(backend, options, keys, per_conversion)
    more_totals, more_rows, explanation = credit_data_driven(backend, options, per_conversion, journeys)
    # None when the kept credit answered: it covers no caused model (maintained.credit_covers).
    caused_totals, caused_rows, caused_explanation = _credit_incremental(backend, options, per_conversion)
    totals += more_totals + caused_totals
    more_rows += caused_rows
    explanation.update(caused_explanation)
    if options.ci is not None:
        _add_intervals(backend, options, keys, totals)
    totals = _with_spend(backend, options, keys, totals)
    ordered_totals = _ordered(totals, keys, ("model_order", "-conversions", *keys), totals=True)
    ordered_rows = _ordered(rows + more_rows, keys, ("model_order", "time", "insert_id", *keys), totals=False)
    count, bare = backend.arrow(counted).to_pylist()[0].values()
    return Result(_named(ordered_totals, options), _named(ordered_rows, options), options, count, bare, explanation)


def _credit_steps(backend: Backend, options: Options) -> None:
    """The steps up to each conversion's attributable touchpoints: ``sessions``, ``touchpoints``,
    ``conversions``, ``attributable``."""
    d = backend.dialect
    if maintained.readable(backend, options):
        # A table, not a view on the derived rows: every step after reads the same rows, however
        # a refresh meanwhile renumbers them.
        backend.create("sessions", maintained.sessions(d, options))
    else:
        resolve_people(backend, options.project)
        backend.create("sessions", queries.sessions(d, options, backend.source))
    # Conversions before touchpoints: neither reads the other, and a backend that keeps steps
    # (the dashboard's) keys each by the one before it, so a question by another landing
    # property, which shares ``sessions``, reuses ``conversions`` too.
    backend.create("conversions", queries.conversions(d, options, backend.source))
    backend.create("touchpoints", queries.touchpoints(d, options, backend.source))
    backend.create("attributable", queries.attributable(d, options))


def _credit_incremental(backend: Backend, options: Options, per_conversion: bool) -> tuple[list[dict], list[dict], dict]:
    """``incremental``'s totals, rows and explanation, if asked for. Its module (numpy, scipy:
    0.3 s to import) is imported only then: every other question starts without it."""
    if not any(m.name == "incremental" for m in options.models):
        return [], [], {}
    from utmost.engine.incremental import credit_incremental

    return credit_incremental(backend, options, per_conversion)


def _with_spend(backend: Backend, options: Options, keys: list[str], totals: list[dict]) -> list[dict]:
    """The totals with money columns (:mod:`utmost.engine.money`) when the question's keys are
    spend's and the project has recorded any spend; else as they are."""
    spent = spending(backend, options)
    if spent is None:
        return totals
    return money.with_money(totals, {tuple(r[k] for k in keys): r["cost"] for r in spent}, options, keys)


def spending(backend: Backend, options: Options) -> list[dict] | None:
    """The rows of :func:`~utmost.engine.queries.spend_by_key`, or None when the question's keys
    are not spend's or the project has recorded no spend (no money columns then)."""
    if not money.asks_money(options) or backend.spend is None:
        return None
    project = backend.dialect.literal(options.project)
    if not backend.scalar(f"SELECT count(*) FROM {backend.spend} WHERE project = {project}"):
        return None
    return backend.arrow(queries.spend_by_key(backend.dialect, options, backend.spend)).to_pylist()


def _named(table: pa.Table, options: Options) -> pa.Table:
    """Key columns k0, k1, … renamed to the ``--by`` properties they hold."""
    names = {f"k{i}": prop for i, prop in enumerate(options.by)}
    return table.rename_columns([names.get(c, c) for c in table.column_names])


_INTERVALS = ("conversions_low", "conversions_high", "revenue_low", "revenue_high")


def _add_intervals(backend: Backend, options: Options, keys: list[str], totals: list[dict]) -> None:
    """Bootstrap every total (persons resampled), adding the interval columns in place."""
    from utmost.engine import uncertainty  # numpy and scipy, for the questions that ask for intervals

    key_list = ", ".join(keys)
    rule_rows = []
    if any(m.rule_based for m in options.models):
        rule_rows = backend.arrow(
            f"SELECT person, model_order, model, {key_list}, sum(credit) AS credit, sum(revenue) AS revenue "
            f"FROM per_conversion GROUP BY person, model_order, model, {key_list}"
        ).to_pylist()
    driven = [(i, m) for i, m in enumerate(options.models) if m.learned]
    journeys = []
    if driven:
        journeys = backend.arrow(
            "SELECT person, path, CASE WHEN converted THEN 1 ELSE 0 END AS conversions, revenue, "
            "CASE WHEN converted THEN 0 ELSE 1 END AS lost FROM journeys ORDER BY person, path, conversion"
        ).to_pylist()
        for j in journeys:
            j["path"] = split_path(j["path"])
    persons = {p: i for i, p in enumerate(sorted({r["person"] for r in rule_rows} | {j["person"] for j in journeys}))}
    if not persons:
        return
    estimators: list[uncertainty.RuleBased | uncertainty.DataDriven] = []
    if rule_rows:
        estimators.append(uncertainty.RuleBased(persons, rule_rows, keys))
    if driven:
        def fields(key: str) -> tuple:
            return tuple(key_fields(key, options)[k] for k in keys)

        estimators.append(uncertainty.DataDriven(persons, journeys, driven, options, fields))
    assert options.ci is not None, "intervals are added only when asked for"
    rounds = uncertainty.bootstrap(estimators, len(persons), options.bootstrap, options.seed)
    bounds = uncertainty.intervals(rounds, options.ci)
    for row in totals:
        if _INTERVALS[0] in row:
            continue  # its model bootstraps itself (incremental)
        found = bounds.get((row["model_order"], row["model"], *(row[k] for k in keys)), (0.0, 0.0, 0.0, 0.0))
        row.update(zip(_INTERVALS, found))


_ROW_COLUMNS = {"insert_id": pa.string(), "person": pa.string(), "time": pa.timestamp("us")}


def _credit_rule_based(
    backend: Backend, options: Options, keys: list[str], per_conversion: bool
) -> tuple[list[dict], list[dict]]:
    """Totals (with model_order) and per-conversion rows of the rule-based models, if any, from
    ``credited``."""
    key_list = ", ".join(keys)
    if not any(m.rule_based for m in options.models):
        return [], []
    backend.view("per_conversion", queries.per_conversion(backend.dialect, options))
    group = ["model_order", "model", *keys]
    # Summed exactly by the engine (no credit crosses to here: at 10M events they were 4.9M).
    totals = [{**dict(zip(group, key)), "conversions": sums["credit"], "revenue": sums.get("revenue", 0.0)}
              for key, sums in exact_sums(backend, "per_conversion", group, ["credit", "revenue"]).items()]
    rows = backend.arrow(
        f"SELECT model_order, model, insert_id, person, conversion_time AS time, {key_list}, credit, revenue "
        f"FROM per_conversion" + ("" if per_conversion else " LIMIT 0")
    )
    return totals, rows.to_pylist()


def _ordered(rows: list[dict], keys: list[str], order: tuple[str, ...], totals: bool) -> pa.Table:
    """Totals or per-conversion rows, their numbers rounded by :func:`decimal` (every interface
    shows the same), sorted by ``order`` (a leading ``-`` sorts descending), without model_order.

    Rounded before sorting, so that two credits that differ only by noise are equal and
    ordered by their keys, as docs/semantics.md §12 says.
    """
    numbers = ("conversions", "credit", "revenue", *_INTERVALS, *money.MONEY)
    rounded = [{c: decimal(v) if c in numbers and v is not None else v for c, v in row.items()} for row in rows]

    def sort_key(row: dict) -> tuple:
        return tuple(-row[c[1:]] if c.startswith("-") else row[c] for c in order)

    ordered = sorted(rounded, key=sort_key)
    intervals = _INTERVALS if totals and ordered and _INTERVALS[0] in ordered[0] else ()
    spent = money.MONEY if totals and ordered and money.MONEY[0] in ordered[0] else ()
    columns = ["model", *(("insert_id", "person", "time") if not totals else ()), *keys,
               *(("conversions", "revenue") if totals else ("credit", "revenue")), *intervals, *spent]
    types = {"model": pa.string(), **_ROW_COLUMNS, **{k: pa.string() for k in keys},
             **{c: pa.float64() for c in numbers}}
    return pa.table({c: pa.array([r[c] for r in ordered], types[c]) for c in columns})


@dataclass(frozen=True)
class Journey:
    """One person's path to their conversions (``utmost journey``)."""

    person: str
    ids: list[str]
    sessions: pa.Table  # session, start, end, events
    events: pa.Table  # what mattered, and the role each event played
    touches: pa.Table  # per conversion, each touchpoint: counted or why not
    credits: pa.Table  # per conversion, model and key


def journey(backend: Backend, options: Options, any_id: str) -> Journey:
    """Follow the person who owns ``any_id`` (a user id, distinct id or device id)."""
    result = attribute(backend, options, steps=True)
    d = backend.dialect
    resolve_people(backend, options.project)  # the relations a journey reads (a question may not have made them)
    person, ids = person_of(backend, options.project, any_id)
    backend.create("person_sessions", queries.person_sessions(d, options, str(person), backend.source))
    sessions = backend.arrow(
        "SELECT session, min(time) AS start, max(time) AS \"end\", count(*) AS events FROM person_sessions "
        "GROUP BY session ORDER BY session"
    )
    events = backend.arrow(queries.journey_events(d, options, str(person), backend.source))
    touches = backend.arrow(queries.journey_touches(d, options, str(person)))
    touches = _named(touches, options)
    credits = result.per_conversion.filter(pc.equal(result.per_conversion.column("person"), person))
    return Journey(str(person), ids, sessions, events, touches, credits)


def person_of(backend: Backend, project: str, any_id: str) -> tuple[str, list[str]]:
    """The person who owns ``any_id`` (a user, distinct or device id, with or without the
    ``$device:`` prefix, or an id only a link names: an alias, a merged id) and every id merged
    into them, also as the table ``person_ids``; call after :func:`resolve_people`."""
    d = backend.dialect
    candidates = ", ".join(d.literal(i) for i in (any_id, queries.DEVICE_PREFIX + any_id))
    person = backend.scalar(
        f"SELECT min({queries.person_of()}) FROM (SELECT DISTINCT id FROM identified WHERE id IN ({candidates}) "
        f"UNION SELECT id FROM persons WHERE id IN ({candidates})) AS i LEFT JOIN persons AS p ON p.id = i.id"
    )
    if person is None:
        raise InputError(f"no person has the id {any_id!r} in project {project!r}")
    quoted = d.literal(str(person))
    # An id in no link is a person by itself, absent from ``persons``: hence the UNION.
    backend.create("person_ids", f"SELECT id FROM persons WHERE person = {quoted} UNION SELECT {quoted} AS id")
    return str(person), backend.arrow("SELECT id FROM person_ids ORDER BY id").column("id").to_pylist()


#: How many of a project's event names, the most frequent first, a conversion that never occurs
#: is compared with for a suggestion: a project's own are usually far fewer, and the bound keeps
#: the comparison (:func:`utmost.errors.did_you_mean`) short whatever names senders made up.
SUGGESTED_AMONG = 500


def check_question(backend: Backend, options: Options) -> None:
    """Refuse an empty project, a conversion that never occurs, a ``--by`` property no event has;
    a name close to one that does occur is suggested (``Did you mean …?``)."""
    d = backend.dialect
    project = d.literal(options.project)
    events, found = backend.arrow(
        f"SELECT count(*) AS events, count(CASE WHEN event = {d.literal(options.conversion)} THEN 1 END) AS found "
        f"FROM {backend.source} WHERE project = {project}"
    ).to_pylist()[0].values()
    if not events:
        raise InputError(f"project {options.project!r} has no events yet (see `utmost import`)")
    if not found:
        named = backend.arrow(
            f"SELECT event, count(*) AS n FROM {backend.source} WHERE project = {project} "
            f"GROUP BY event ORDER BY n DESC, event LIMIT {SUGGESTED_AMONG}"
        ).column("event").to_pylist()
        listed = f"; most frequent events: {', '.join(named[:5])}"
        raise InputError(f"conversion event {options.conversion!r} never occurs"
                         f"{did_you_mean(options.conversion, named, listed)}")
    for prop in options.by:
        if prop in queries.LANDING_PARAMS or prop == CHANNEL:
            continue
        value = d.json_text("properties", prop)
        if not backend.scalar(
            f"SELECT count(*) FROM {backend.source} WHERE project = {project} AND {value} IS NOT NULL"
        ):
            keys = f" (UTM keys: {', '.join(queries.LANDING_PARAMS[:6])})"
            raise InputError(f"--by {prop!r}: no event has this property"
                             f"{did_you_mean(prop, [*queries.LANDING_PARAMS, CHANNEL], keys)}")
