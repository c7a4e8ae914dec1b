"""Attribution results as the CLI prints them: JSON, CSV, or a table of models side by side.

Pure: turns a :class:`~utmost.engine.Result` into text. JSON and CSV are exact (unrounded,
for machines); the table rounds for people (docs/semantics.md §12).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import orjson
import pyarrow as pa
from rich.table import Column, Table
from rich.text import Text

from utmost.engine import Journey, Options, Report, Result, money_totals


def rows(table: pa.Table) -> list[dict]:
    """Arrow rows as dicts, timestamps as ISO 8601 text."""
    return table.to_pylist()


def dumps(value: object) -> str:
    """JSON for machines: exact floats, timestamps as UTC ISO 8601."""
    return orjson.dumps(value, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z).decode()


def to_json(table: pa.Table) -> str:
    return dumps(rows(table))


def to_csv(table: pa.Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in rows(table):
        writer.writerow([_csv_value(v) for v in row.values()])
    return buffer.getvalue()


def _csv_value(value: object) -> object:
    """A cell as CSV writes it: floats exact, times ISO 8601, lists (an experiment's key) as
    JSON arrays, booleans as JSON's ``true`` and ``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return dumps(value)
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[union-attr]
    return value


def _plain(value: object) -> Text:
    """A value shown as it is: an event or property named ``[bold]`` is not rich markup."""
    return Text(str(value))


def _headers(names: Sequence[str]) -> list[Column]:
    return [Column(header=_plain(name)) for name in names]


def to_table(result: Result, revenue: bool = True) -> Table:
    """One row per key, each model's credit (and revenue) side by side, totals, and a footer.

    With intervals (``--ci``), each number is followed by its interval, ``low – high``: a
    table that dropped them would show a bare number as if it were certain.
    """
    by = result.options.by
    models = [m.name for m in result.options.models]
    intervals = "conversions_low" in result.totals.column_names
    cells: dict[tuple, dict[str, dict[str, float]]] = {}
    for row in rows(result.totals):
        cells.setdefault(tuple(row[p] for p in by), {})[row["model"]] = row
    first = models[0]
    order = sorted(cells, key=lambda k: (-cells[k].get(first, {}).get("conversions", 0.0), k))
    table = Table(*_headers(by), box=None, caption=_plain(_footer(result)), caption_justify="left",
                  show_footer=True)
    table.columns[0].footer = "total"
    spent = "cost" in result.totals.column_names
    costs = {key: next(iter(by_model.values()))["cost"] for key, by_model in cells.items()} if spent else {}
    money = money_totals(cells, models) if spent else {}
    if spent:
        table.add_column("cost", justify="right", footer=_number(money[models[0]]["cost"] or 0.0))
    metrics = ("conversions", "revenue") if revenue else ("conversions",)
    for name in models:
        for metric in metrics:
            heading, style = (name, "") if metric == "conversions" else ("revenue", "dim")
            table.add_column(heading, justify="right", footer=_number(_total(cells, name, metric)), style=style)
            if intervals:
                table.add_column(f"{_level(result.options.ci)} interval", justify="right", style=style)
        if spent:
            table.add_column("cpa", justify="right", footer=_money(money[name]["cpa"]), style="dim")
            table.add_column("roas", justify="right", footer=_money(money[name]["roas"]), style="dim")
    for key in order:
        values = [_money(costs[key])] if spent else []
        for name in models:
            row = cells[key].get(name, {})
            for metric in metrics:
                values.append(_number(row.get(metric, 0.0)))
                if intervals:
                    values.append(_interval(row.get(f"{metric}_low"), row.get(f"{metric}_high")))
            if spent:
                values += [_money(row.get("cpa")), _money(row.get("roas"))]
        table.add_row(*map(_plain, key), *values)
    return table


def _money(value: float | None) -> str:
    """A cost, CPA or ROAS: ``·`` when there is none (no spend, or nothing to divide by)."""
    return "·" if value is None else f"{value:,.2f}"


def _total(cells: dict, model: str, metric: str) -> float:
    return sum(by_model[model][metric] for by_model in cells.values() if model in by_model)


def _number(value: float) -> str:
    return f"{value:,.2f}" if value else "·"


def _interval(low: float | None, high: float | None) -> str:
    return "·" if low is None or high is None else f"{low:,.2f} – {high:,.2f}"


def _level(ci: float | None) -> str:
    """An interval's level as a person writes it: ``95%``, ``97.5%``."""
    return f"{(ci or 0) * 100:g}%"


def _footer(result: Result) -> str:
    o = result.options
    with_touch = result.conversions - result.converted_without_touchpoints
    window = f"{o.lookback.days}d" if o.lookback.seconds == 0 else str(o.lookback)
    intervals = (f"; intervals: {_level(o.ci)} bootstrap over persons, {o.bootstrap:,} rounds, seed {o.seed}"
                 if o.ci is not None else "")
    caused = ("; incremental: what each key caused, (baseline): what would have happened anyway"
              if any(m.name == "incremental" for m in o.models) else "")
    return (
        f"{result.conversions:,} {o.conversion!r} conversions: {with_touch:,} with touchpoints, "
        f"{result.converted_without_touchpoints:,} without (credited to (none)); "
        f"lookback {window}, scope {o.scope}, by {', '.join(o.by)}{intervals}{caused}"
    )


def report_table(report: Report, options: Options) -> Table:
    """The campaign report for people: counts whole, credit and money to two places, the
    conversion rate as a percentage, ``·`` where there is no value (docs/semantics.md §16)."""
    lead = ["period"] if options.interval else []
    names = report.table.column_names
    numbers = [c for c in names if c not in (*lead, *options.by)]
    headings = {"conversions": options.models[0].name, "conversion_rate": "rate"}
    table = Table(*_headers([*lead, *options.by]), *(Column(headings.get(c, c), justify="right") for c in numbers),
                  box=None, caption=_plain(_report_footer(report, options)), caption_justify="left")
    for row in rows(report.table):
        table.add_row(*(_plain(row[c]) for c in [*lead, *options.by]), *(_cell(c, row[c]) for c in numbers))
    return table


def _cell(column: str, value: float | int | None) -> str:
    if value is None:
        return "·"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.1%}" if column == "conversion_rate" else f"{value:,.2f}"


def _report_footer(report: Report, options: Options) -> str:
    window = f"{options.lookback.days}d" if options.lookback.seconds == 0 else str(options.lookback)
    period = f"; per {options.interval} (credit in the period of the conversion)" if options.interval else ""
    return (f"{report.conversions:,} {options.conversion!r} conversions credited by {options.models[0].name} "
            f"({report.converted_without_touchpoints:,} without touchpoints, to "
            f"{'(baseline)' if options.models[0].name == 'incremental' else '(none)'}); rate: credited "
            f"conversions ÷ sessions started; lookback {window}, scope {options.scope}{period}")


def per_conversion_table(result: Result) -> Table:
    """``--per-conversion`` for people: one row per model, conversion and key, as JSON has them."""
    by = result.options.by
    table = Table("model", "insert_id", "person", "time", *_headers(by), Column("credit", justify="right"),
                  Column("revenue", justify="right"), box=None)
    for row in rows(result.per_conversion):
        table.add_row(row["model"], _plain(row["insert_id"]), _plain(row["person"]), f"{row['time']:%Y-%m-%d %H:%M:%S}",
                      *(_plain(row[p]) for p in by), f"{row['credit']:.4g}", f"{row['revenue']:,.2f}")
    return table


def side_by_side(results: Sequence[tuple[str, Result]], model: str) -> Table:
    """One model's credit under several questions (e.g. scope user vs session), per key."""
    by = results[0][1].options.by
    columns: dict[tuple, dict[str, float]] = {}
    for label, result in results:
        for row in rows(result.totals):
            if row["model"] == model:
                columns.setdefault(tuple(row[p] for p in by), {})[label] = row["conversions"]
    first = results[0][0]
    table = Table(*_headers(by), *(label for label, _ in results), box=None)
    for key in sorted(columns, key=lambda k: (-columns[k].get(first, 0.0), k)):
        table.add_row(*map(_plain, key), *(_number(columns[key].get(label, 0.0)) for label, _ in results))
    return table


def journey_json(journey: Journey) -> str:
    document = {
        "person": journey.person,
        "ids": journey.ids,
        "sessions": rows(journey.sessions),
        "events": rows(journey.events),
        "touchpoints": rows(journey.touches),
        "credits": rows(journey.credits),
    }
    return dumps(document)


def journey_tables(journey: Journey, by: Sequence[str]) -> list[Table | Text]:
    """The journey as a reader scans it: who, when, what counted, and the credit it earned."""
    parts: list[Table | Text] = [Text.assemble((journey.person, "bold"), f" — ids: {', '.join(journey.ids)}")]
    sessions = Table("session", "start", "end", "events", box=None, title="sessions", title_justify="left")
    for s in rows(journey.sessions):
        sessions.add_row(str(s["session"]), f"{s['start']:%Y-%m-%d %H:%M:%S}", f"{s['end']:%H:%M:%S}", str(s["events"]))
    events = Table("time", "session", "event", "landing", "role", box=None, title="events that matter",
                   title_justify="left")
    for e in rows(journey.events):
        role = e["touch"] or ""
        if e["conversion"]:
            role = "conversion" + (f"; {role}" if role else "")
        events.add_row(f"{e['time']:%Y-%m-%d %H:%M:%S}", str(e["session"]), _plain(e["event"]),
                       _plain(e["landing_source"] or ""), _plain(role))
    touches = Table("conversion", *_headers(by), "touch time", "status", box=None, title="touchpoints per conversion",
                    title_justify="left")
    for t in rows(journey.touches):
        touches.add_row(_plain(t["conversion"]), *(_plain(t[p]) for p in by), f"{t['time']:%Y-%m-%d %H:%M:%S}",
                        t["status"])
    credits = Table("conversion", "model", *_headers(by), "credit", "revenue", box=None, title="credit", title_justify="left")
    for c in rows(journey.credits):
        credits.add_row(_plain(c["insert_id"]), c["model"], *(_plain(c[p]) for p in by), f"{c['credit']:.4g}", f"{c['revenue']:,.2f}")
    return [*parts, sessions, events, touches, credits]
