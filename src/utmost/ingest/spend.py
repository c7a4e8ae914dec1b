"""Ad spend files: the bytes of a CSV export in, rows of daily cost per campaign key (or a
reason per bad line) out. Pure: no database, no file but the one :func:`read_spend_file` reads.

A spend row is the cost of one day for one (utm_source, utm_medium, utm_campaign), in one
currency (docs/semantics.md §14). The native header is
``date,utm_source,utm_medium,utm_campaign,cost[,currency]``; an export with other column names
is read through a :class:`~utmost.ingest.spend_layout.Layout`: a named preset (``--columns``),
the user's renames (``--map column=field``) and constants (``--set field=value``).

What real exports hold beyond a plain CSV, and what is done with it:

- gzip (recognised by its first bytes), a UTF-8 byte-order mark, UTF-16 with its byte-order
  mark (Google Ads' "CSV for Excel"); UTF-16 without one is refused whole, with a reason (read
  as every imported CSV is: :mod:`~utmost.ingest.csvfile`);
- comma, tab or semicolon between fields: the first that gives a header with every field wins;
- title lines before the header (a Google Ads download starts with the report's name and its
  date range): the header is the first of the first :data:`HEADER_ROWS` rows that names every
  field, and the rows before it are skipped;
- summary lines (Google Ads ends with ``Total: Account``, ``Total: Search`` …): a row whose date
  cell is empty or ``--`` and any of whose cells starts with "Total" is skipped, silently;
- thousands separators in costs (``1,234.56``).

Rows of one file with the same (date, source, medium, campaign) are added together (an export
split by device or ad set), with :func:`math.fsum`, so the sum does not depend on their order.
"""

from __future__ import annotations

import datetime
import math
import os
import re
from dataclasses import dataclass

from utmost.errors import InputError
from utmost.ingest.csvfile import BadLine, blank, checked, day, gunzipped, read_file, records, shown, text_of
from utmost.ingest.spend_layout import FIELDS, Layout

#: The campaign key of a row: what replaces, and what a later step joins attribution rows by.
KEYS = ("utm_source", "utm_medium", "utm_campaign")
#: Fields whose column the header must have (after the layout); ``currency`` may be absent.
NEEDED = ("date", "utm_source", "utm_medium", "utm_campaign", "cost")
#: Fields a line must give a value for; an empty utm_medium or utm_campaign is stored as NULL.
#: utm_source is needed because a touchpoint is a landing whose utm_source is set (§4): spend
#: without one could never meet a touchpoint.
REQUIRED_VALUES = ("date", "utm_source", "cost")
#: How many rows from the top may come before the header (a report's title and date range).
HEADER_ROWS = 10
#: Bytes of a file or request body, after gunzip: a year of daily spend on 2,000 campaigns is
#: ~50 MB; a body past this is refused (HTTP 413), a file past it named.
MAX_SPEND_BYTES = 64 << 20
_TOO_LARGE = "split it by month"
#: Delimiters tried, in this order.
DELIMITERS = (",", "\t", ";")
#: A cost: digits with an optional fraction, thousands optionally grouped by commas.
_COST = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class SpendRow:
    date: datetime.date
    utm_source: str
    utm_medium: str | None
    utm_campaign: str | None
    cost: float


@dataclass
class ParsedSpend:
    """One file's rows (summed per key, in first-seen order), its bad lines as (line, reason),
    and the currency its rows are in (None when neither it nor the project says)."""

    rows: list[SpendRow]
    problems: list[tuple[int, str]]
    currency: str | None
    #: The line that fixed ``currency`` in this file, if one did.
    currency_line: int | None = None
    lines: int = 0


def read_spend_file(path: str | os.PathLike[str], folder: str | os.PathLike[str] | None = None) -> bytes:
    """The bytes of a spend file (``folder``: where a relative ``path`` is); a missing or
    unreadable file is an :class:`InputError` naming it as given."""
    return read_file(path, folder, MAX_SPEND_BYTES, _TOO_LARGE)


def parse_spend(data: bytes, name: str, layout: Layout | None = None, currency: str | None = None) -> ParsedSpend:
    """The spend rows of ``data`` (a file's bytes; ``name`` says which in errors), given the
    project's ``currency`` (None if it has none yet).

    Raises :class:`InputError` for what is no spend file at all: bytes that cannot be decoded,
    or no header with every needed field among the first rows (naming the missing fields and
    the header found). Anything wrong with a line is that line's problem.
    """
    layout = layout or Layout()
    text = text_of(gunzipped(data, name, MAX_SPEND_BYTES, _TOO_LARGE), name)
    header = _find_header(text, name, layout)
    reading = _Reading(layout, header, currency)
    for line, row in records(text, header.delimiter):
        if isinstance(row, str):
            reading.problems.append((line, row))
        elif line > header.line and not blank(row):
            reading.add(line, row)
    return reading.result()


def check_spend_file(data: bytes, name: str, layout: Layout | None = None) -> None:
    """Raise the :class:`InputError` :func:`parse_spend` would for what is no spend file at all,
    reading no further than its header: a command says so before it opens the database."""
    _find_header(text_of(gunzipped(data, name, MAX_SPEND_BYTES, _TOO_LARGE), name), name, layout or Layout())


@dataclass(frozen=True)
class _Header:
    """Where the header is, how wide, which column gives each field (``until``: the end of a
    row's date range), the delimiter, and a currency the header names (``Amount spent (EUR)``)."""

    line: int
    width: int
    columns: dict[str, int]
    delimiter: str
    currency: str | None = None


class _Reading:
    """The rows of one file as they are read: sums per key, problems, the currency."""

    def __init__(self, layout: Layout, header: _Header, currency: str | None) -> None:
        self.layout, self.header = layout, header
        self.currency: str | None = currency
        self.currency_line: int | None = None
        self.sums: dict[tuple[datetime.date, str, str | None, str | None], list[float]] = {}
        self.problems: list[tuple[int, str]] = []
        self.lines = 0

    def add(self, line: int, row: list[str]) -> None:
        if _is_summary(row, self.header.columns.get("date")):
            return
        self.lines += 1
        try:
            key, cost = self._row(line, row)
        except BadLine as bad:
            self.problems.append((line, bad.reason))
            return
        self.sums.setdefault(key, []).append(cost)

    def _row(self, line: int, row: list[str]) -> tuple[tuple[datetime.date, str, str | None, str | None], float]:
        checked(row, self.header.width)
        value = {name: self._value(name, row) for name in FIELDS}
        for name in REQUIRED_VALUES:
            if not value[name]:
                raise BadLine(f"missing {name}")
        date = day(value["date"] or "", "date")
        until = self._value("until", row)
        if until is not None and until != value["date"]:
            raise BadLine(f"covers {value['date']} to {until}: export it with a breakdown by day")
        cost = _cost(value["cost"] or "")
        self._check_currency(line, value["currency"])
        return (date, value["utm_source"] or "", value["utm_medium"], value["utm_campaign"]), cost

    def _value(self, name: str, row: list[str]) -> str | None:
        """The field's value on ``row``, stripped; None when empty. A constant wins over a
        column; the header's currency stands in for a currency column."""
        constant = self.layout.constant(name)
        if constant is not None:
            found = constant
        elif name in self.header.columns:
            found = row[self.header.columns[name]]
        else:
            found = (self.header.currency if name == "currency" else None) or ""
        return found.strip() or None

    def _check_currency(self, line: int, given: str | None) -> None:
        if given is None:
            return
        code = given.upper()
        if not _CURRENCY.fullmatch(code):
            raise BadLine(f"currency {given!r} is not a 3-letter ISO 4217 code")
        if self.currency is None:
            self.currency, self.currency_line = code, line
        elif code != self.currency:
            where = "the project's spend is" if self.currency_line is None else f"line {self.currency_line} is"
            raise BadLine(f"currency {code}, but {where} in {self.currency}: one currency per project")

    def result(self) -> ParsedSpend:
        rows = [SpendRow(day, source, medium, campaign, math.fsum(costs))
                for (day, source, medium, campaign), costs in self.sums.items()]
        return ParsedSpend(rows, self.problems, self.currency, self.currency_line, self.lines)


def _find_header(text: str, name: str, layout: Layout) -> _Header:
    """The first row of the first :data:`HEADER_ROWS` that has a column for every needed field,
    trying each delimiter; else an InputError naming the missing fields and the closest row."""
    closest: tuple[int, list[str], list[str]] | None = None  # (line, cells, missing)
    for delimiter in DELIMITERS:
        seen = 0
        for line, row in records(text, delimiter):
            if isinstance(row, str) or blank(row):
                continue
            columns, currency = _columns(row, layout)
            missing = [each for each in NEEDED if each not in columns and layout.constant(each) is None]
            if not missing:
                return _Header(line, len(row), columns, delimiter, currency)
            if closest is None or len(missing) < len(closest[2]):
                closest = (line, row, missing)
            seen += 1
            if seen == HEADER_ROWS:
                break
    if closest is None:
        raise InputError(f"{name}: empty: expected a header line {','.join(NEEDED)}[,currency]")
    line, row, missing = closest
    raise InputError(f"{name}:{line}: the header has no column for {', '.join(missing)} "
                     f"(found: {shown(row)}); name them with --map COLUMN=FIELD, --set FIELD=VALUE or --columns")


def _columns(row: list[str], layout: Layout) -> tuple[dict[str, int], str | None]:
    """Field → index of its column on header ``row``, and the currency a cost column names."""
    index: dict[str, int] = {}
    for position, cell in enumerate(row):
        index.setdefault(_folded(cell), position)
    columns: dict[str, int] = {}
    for each in FIELDS:
        found = next((index[_folded(c)] for c in layout.candidates(each) if _folded(c) in index), None)
        if found is not None:
            columns[each] = found
    currency = None
    preset = layout.preset
    if preset is not None and preset.cost_currency is not None and "cost" not in columns:
        for position, cell in enumerate(row):
            if match := preset.cost_currency.fullmatch(cell.strip()):
                columns["cost"], currency = position, match["currency"].upper()
                break
    if preset is not None and "date" in columns:
        for start, end in preset.ranges:
            if index.get(_folded(start)) == columns["date"] and _folded(end) in index:
                columns["until"] = index[_folded(end)]
    return columns, currency


def _folded(cell: str) -> str:
    return cell.strip().casefold()


def _is_summary(row: list[str], date_column: int | None) -> bool:
    date = row[date_column].strip() if date_column is not None and date_column < len(row) else ""
    if date not in ("", "--") and not date.casefold().startswith("total"):
        return False
    return any(cell.strip().casefold().startswith("total") for cell in row)


def _cost(text: str) -> float:
    plain = text.lstrip("+")
    negative = plain.startswith("-")
    if negative:
        plain = plain[1:]
    if _COST.fullmatch(plain):
        value = float(plain.replace(",", ""))
        if not math.isfinite(value):
            raise BadLine(f"cost {text!r} is not finite")
        if negative and value:
            raise BadLine(f"cost {text} is negative")
        return value
    if plain.casefold() in ("inf", "infinity", "nan"):
        raise BadLine(f"cost {text!r} is not finite")
    raise BadLine(f"cost {text!r} is not a number")
