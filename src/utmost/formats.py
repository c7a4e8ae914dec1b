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

from utmost.engine import Journey, Result


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
    """One row per key, each model's credit (and revenue) side by side, totals, and a footer."""
    by = result.options.by
    models = [m.name for m in result.options.models]
    cells: dict[tuple, dict[str, tuple[float, float]]] = {}
    for row in rows(result.totals):
        key = tuple(row[p] for p in by)
        cells.setdefault(key, {})[row["model"]] = (row["conversions"], row["revenue"])
    first = models[0]
    order = sorted(cells, key=lambda k: (-cells[k].get(first, (0.0, 0.0))[0], k))
    table = Table(*_headers(by), box=None, caption=_plain(_footer(result)), caption_justify="left",
                  show_footer=True)
    table.columns[0].footer = "total"
    for name in models:
        table.add_column(name, justify="right", footer=_number(_total(cells, name, 0)))
        if revenue:
            table.add_column("revenue", justify="right", footer=_number(_total(cells, name, 1)), style="dim")
    for key in order:
        values = []
        for name in models:
            credit, money = cells[key].get(name, (0.0, 0.0))
            values += [_number(credit), _number(money)] if revenue else [_number(credit)]
        table.add_row(*map(_plain, key), *values)
    return table


def _total(cells: dict, model: str, index: int) -> float:
    return sum(by_model[model][index] for by_model in cells.values() if model in by_model)


def _number(value: float) -> str:
    return f"{value:,.2f}" if value else "·"


def _footer(result: Result) -> str:
    o = result.options
    with_touch = result.conversions - result.converted_without_touchpoints
    window = f"{o.lookback.days}d" if o.lookback.seconds == 0 else str(o.lookback)
    return (
        f"{result.conversions:,} {o.conversion!r} conversions: {with_touch:,} with touchpoints, "
        f"{result.converted_without_touchpoints:,} without (credited to (none)); "
        f"lookback {window}, scope {o.scope}, by {', '.join(o.by)}"
    )


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
