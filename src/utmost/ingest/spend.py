"""Ad spend files: the bytes of a CSV export in, rows of daily cost per campaign key (or a
reason per bad line) out. Pure: no database, no file but the one :func:`read_spend_file` reads.

A spend row is the cost of one day for one (utm_source, utm_medium, utm_campaign), in one
currency (docs/semantics.md §14). The native header is
``date,utm_source,utm_medium,utm_campaign,cost[,currency]``; an export with other column names
is read through a :class:`~utmost.ingest.spend_layout.Layout`: a named preset (``--columns``),
the user's renames (``--map column=field``) and constants (``--set field=value``).

What real exports hold beyond a plain CSV, and what is done with it:

- gzip (recognised by its first bytes), a UTF-8 byte-order mark, UTF-16 with its byte-order
  mark (Google Ads' "CSV for Excel"); UTF-16 without one is refused whole, with a reason;
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

import codecs
import csv
import datetime
import io
import math
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from utmost.errors import InputError
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
#: Delimiters tried, in this order.
DELIMITERS = (",", "\t", ";")
#: A cost: digits with an optional fraction, thousands optionally grouped by commas.
_COST = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")


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
    name = str(path)
    file = Path(folder, path) if folder is not None else Path(path)
    if not file.is_file():
        raise InputError(f"{name}: no such file")
    try:
        if file.stat().st_size > MAX_SPEND_BYTES:
            raise InputError(f"{name}: over {MAX_SPEND_BYTES:,} bytes; split it by month")
        return file.read_bytes()
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror or error}") from None


def parse_spend(data: bytes, name: str, layout: Layout | None = None, currency: str | None = None) -> ParsedSpend:
    """The spend rows of ``data`` (a file's bytes; ``name`` says which in errors), given the
    project's ``currency`` (None if it has none yet).

    Raises :class:`InputError` for what is no spend file at all: bytes that cannot be decoded,
    or no header with every needed field among the first rows (naming the missing fields and
    the header found). Anything wrong with a line is that line's problem.
    """
    layout = layout or Layout()
    text = _text(_gunzipped(data, name), name)
    header = _find_header(text, name, layout)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=header.delimiter, strict=False)
    reading = _Reading(layout, header, currency)
    for line, row in _numbered(reader):
        if isinstance(row, str):
            reading.problems.append((line, row))
        elif line > header.line and any(cell.strip() for cell in row):
            reading.add(line, row)
    return reading.result()


def check_spend_file(data: bytes, name: str, layout: Layout | None = None) -> None:
    """Raise the :class:`InputError` :func:`parse_spend` would for what is no spend file at all,
    reading no further than its header: a command says so before it opens the database."""
    _find_header(_text(_gunzipped(data, name), name), name, layout or Layout())


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
        except _BadLine as bad:
            self.problems.append((line, bad.reason))
            return
        self.sums.setdefault(key, []).append(cost)

    def _row(self, line: int, row: list[str]) -> tuple[tuple[datetime.date, str, str | None, str | None], float]:
        if len(row) != self.header.width:
            raise _BadLine(f"{len(row)} fields, the header has {self.header.width}")
        if any(_SURROGATE.search(cell) for cell in row):
            raise _BadLine("not valid UTF-8")
        value = {name: self._value(name, row) for name in FIELDS}
        for name in REQUIRED_VALUES:
            if not value[name]:
                raise _BadLine(f"missing {name}")
        day = _date(value["date"] or "")
        until = self._value("until", row)
        if until is not None and until != value["date"]:
            raise _BadLine(f"covers {value['date']} to {until}: export it with a breakdown by day")
        cost = _cost(value["cost"] or "")
        self._check_currency(line, value["currency"])
        return (day, value["utm_source"] or "", value["utm_medium"], value["utm_campaign"]), cost

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
            raise _BadLine(f"currency {given!r} is not a 3-letter ISO 4217 code")
        if self.currency is None:
            self.currency, self.currency_line = code, line
        elif code != self.currency:
            where = "the project's spend is" if self.currency_line is None else f"line {self.currency_line} is"
            raise _BadLine(f"currency {code}, but {where} in {self.currency}: one currency per project")

    def result(self) -> ParsedSpend:
        rows = [SpendRow(day, source, medium, campaign, math.fsum(costs))
                for (day, source, medium, campaign), costs in self.sums.items()]
        return ParsedSpend(rows, self.problems, self.currency, self.currency_line, self.lines)


class _BadLine(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _find_header(text: str, name: str, layout: Layout) -> _Header:
    """The first row of the first :data:`HEADER_ROWS` that has a column for every needed field,
    trying each delimiter; else an InputError naming the missing fields and the closest row."""
    closest: tuple[int, list[str], list[str]] | None = None  # (line, cells, missing)
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
        seen = 0
        for line, row in _numbered(reader):
            if isinstance(row, str) or not any(cell.strip() for cell in row):
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
    shown = ",".join(cell.strip() for cell in row)[:300].encode("utf-8", "replace").decode()
    raise InputError(f"{name}:{line}: the header has no column for {', '.join(missing)} "
                     f"(found: {shown}); name them with --map COLUMN=FIELD, --set FIELD=VALUE or --columns")


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


def _numbered(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str] | str]]:
    """(first line of the record, its cells) — a quoted field may span lines — or, for a
    record the csv module refuses (a field over its 128 KiB limit), the reason instead."""
    line = 1
    while True:
        try:
            row: list[str] | str = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            row = f"unreadable: {error}"
        yield line, row
        line = reader.line_num + 1  # type: ignore[attr-defined]


def _is_summary(row: list[str], date_column: int | None) -> bool:
    day = row[date_column].strip() if date_column is not None and date_column < len(row) else ""
    if day not in ("", "--") and not day.casefold().startswith("total"):
        return False
    return any(cell.strip().casefold().startswith("total") for cell in row)


def _date(text: str) -> datetime.date:
    if _DATE.fullmatch(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass
    raise _BadLine(f"date {text!r} is not a day as YYYY-MM-DD")


def _cost(text: str) -> float:
    plain = text.lstrip("+")
    negative = plain.startswith("-")
    if negative:
        plain = plain[1:]
    if _COST.fullmatch(plain):
        value = float(plain.replace(",", ""))
        if not math.isfinite(value):
            raise _BadLine(f"cost {text!r} is not finite")
        if negative and value:
            raise _BadLine(f"cost {text} is negative")
        return value
    if plain.casefold() in ("inf", "infinity", "nan"):
        raise _BadLine(f"cost {text!r} is not finite")
    raise _BadLine(f"cost {text!r} is not a number")


def _gunzipped(data: bytes, name: str) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        return data
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflate.decompress(data, MAX_SPEND_BYTES + 1)
    except zlib.error as error:
        raise InputError(f"{name}: not a readable gzip file ({error})") from None
    if len(out) > MAX_SPEND_BYTES:
        raise InputError(f"{name}: over {MAX_SPEND_BYTES:,} bytes once unzipped; split it by month")
    return out


def _text(data: bytes, name: str) -> str:
    """The file as text: UTF-16 by its byte-order mark, else UTF-8 (a BOM dropped). Bytes that
    are not UTF-8 are kept as lone surrogates, and make their line's cells fail as not text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise InputError(f"{name}: not valid UTF-16 at byte {error.start}") from None
    if b"\x00" in data[:4096]:
        raise InputError(f"{name}: holds NUL bytes: UTF-16 without a byte-order mark, or not text; save it as UTF-8 CSV")
    # Undecodable bytes become lone surrogates, which fail their own line only (_Reading._row).
    return data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
