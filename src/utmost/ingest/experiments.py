"""Holdout (lift) test results: the bytes of a CSV in, one :class:`Experiment` per test (or a
reason per bad line) out. Pure: no database, no file but the one :func:`read_experiments_file`
reads. What a row means, and the estimate made of it: docs/semantics.md §19.

The header names the tested key's properties, as ``--by`` names them (``utm_source,utm_medium``,
``channel``: :func:`~utmost.ingest.keys.key_problem` judges them as it judges ``--by``), and the
six :data:`TEST_COLUMNS` columns, in any order among them. The fixed names are reserved: they are
matched without regard to case or surrounding spaces, and every other column is a key property
(its name stripped, its case kept), in the order the header gives them.

::

    utm_source,utm_medium,start,end,test_persons,test_conversions,control_persons,control_conversions
    google,cpc,2026-03-01,2026-03-28,10000,300,1000,20

The file is read as every imported CSV is (:mod:`~utmost.ingest.csvfile`: gzip, a byte-order
mark, UTF-16 with one, comma, tab or semicolon between fields); the header is its first line
that is not blank.
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass

from utmost.errors import InputError
from utmost.ingest.csvfile import BadLine, blank, checked, day, gunzipped, read_file, records, shown, text_of
from utmost.ingest.keys import key_problem

#: The columns every experiments file has beside its key properties, in the order they are shown.
TEST_COLUMNS = ("start", "end", "test_persons", "test_conversions", "control_persons", "control_conversions")
#: Bytes of a file, after gunzip: a test is a line of ~100 bytes, so this is 100,000s of tests.
MAX_EXPERIMENTS_BYTES = 16 << 20
#: The largest count a BIGINT column holds.
MAX_COUNT = 2**63 - 1
#: Delimiters tried, in this order: the first whose first line names every fixed column wins.
DELIMITERS = (",", "\t", ";")
_TOO_LARGE = "split it"
#: A count: digits, thousands optionally grouped by commas (a spreadsheet's ``10,000``).
_COUNT = re.compile(r"\d{1,3}(?:,\d{3})+|\d+", re.ASCII)


@dataclass(frozen=True)
class Experiment:
    """One holdout test: the key it tested (``properties`` named, ``key`` their values, in the
    same order), the days it ran (both included), and its two groups' persons and converting
    persons (docs/semantics.md §19)."""

    properties: tuple[str, ...]
    key: tuple[str, ...]
    start: datetime.date
    end: datetime.date
    test_persons: int
    test_conversions: int
    control_persons: int
    control_conversions: int


@dataclass
class ParsedExperiments:
    """One file's experiments (in its order), its bad lines as (line, reason), and the key
    properties its header names."""

    experiments: list[Experiment]
    problems: list[tuple[int, str]]
    properties: tuple[str, ...] = ()


def read_experiments_file(path: str | os.PathLike[str], folder: str | os.PathLike[str] | None = None) -> bytes:
    """The bytes of an experiments file (``folder``: where a relative ``path`` is); a missing or
    unreadable file is an :class:`InputError` naming it as given."""
    return read_file(path, folder, MAX_EXPERIMENTS_BYTES, _TOO_LARGE)


def parse_experiments(data: bytes, name: str) -> ParsedExperiments:
    """The experiments of ``data`` (a file's bytes; ``name`` says which in errors).

    Raises :class:`InputError` for what is no experiments file at all: bytes that cannot be
    decoded, or a header without every fixed column, without a key property, or with a name
    ``--by`` would refuse. Anything wrong with a line is that line's problem.
    """
    text = _text(data, name)
    header = _find_header(text, name)
    parsed = ParsedExperiments([], [], header.properties)
    seen: dict[tuple[tuple[str, ...], datetime.date, datetime.date], int] = {}
    for line, row in records(text, header.delimiter):
        if isinstance(row, str):
            parsed.problems.append((line, row))
            continue
        if line <= header.line or blank(row):
            continue
        try:
            experiment = header.experiment(row)
            same = (experiment.key, experiment.start, experiment.end)
            if same in seen:
                raise BadLine(f"the same key and days as line {seen[same]}")
        except BadLine as bad:
            parsed.problems.append((line, bad.reason))
            continue
        seen[same] = line
        parsed.experiments.append(experiment)
    return parsed


def check_experiments_file(data: bytes, name: str) -> None:
    """Raise the :class:`InputError` :func:`parse_experiments` would for what is no experiments
    file at all, reading no further than its header: a command says so before it opens the database."""
    _find_header(_text(data, name), name)


def _text(data: bytes, name: str) -> str:
    return text_of(gunzipped(data, name, MAX_EXPERIMENTS_BYTES, _TOO_LARGE), name)


@dataclass(frozen=True)
class _Header:
    """Where the header is, how wide, the delimiter, the key properties and the column of each
    (in the header's order), and the column of each fixed field."""

    line: int
    width: int
    delimiter: str
    properties: tuple[str, ...]
    key_columns: tuple[int, ...]
    columns: dict[str, int]

    def experiment(self, row: list[str]) -> Experiment:
        """The experiment on ``row``, or :class:`BadLine` with the first thing wrong with it."""
        checked(row, self.width)
        key = tuple(_value(row[column], prop) for prop, column in zip(self.properties, self.key_columns))
        value = {name: _value(row[self.columns[name]], name) for name in TEST_COLUMNS}
        start, end = day(value["start"], "start"), day(value["end"], "end")
        if start > end:
            raise BadLine(f"start {start} is after end {end}")
        count = {name: _count(value[name], name) for name in TEST_COLUMNS[2:]}
        for group in ("test", "control"):
            persons, conversions = count[f"{group}_persons"], count[f"{group}_conversions"]
            if not persons:
                raise BadLine(f"{group}_persons is 0: a group without persons has no conversion rate")
            if conversions > persons:
                raise BadLine(f"{group}_conversions {conversions} is more than {group}_persons {persons}: "
                              "count converting persons, not conversions")
        return Experiment(self.properties, key, start, end, count["test_persons"], count["test_conversions"],
                          count["control_persons"], count["control_conversions"])


def _find_header(text: str, name: str) -> _Header:
    """The first line that is not blank, read with the first delimiter that gives it every fixed
    column; else an InputError naming what is missing, as the comma reads it."""
    first: tuple[int, list[str] | str] | None = None
    for delimiter in DELIMITERS:
        found = next(((line, row) for line, row in records(text, delimiter) if isinstance(row, str) or not blank(row)),
                     None)
        if found is None:
            break
        first = first or found
        line, row = found
        if not isinstance(row, str) and set(TEST_COLUMNS) <= set(map(_folded, row)):
            return _header(name, line, row, delimiter)
    expected = f"key properties (e.g. utm_source,utm_medium) and {','.join(TEST_COLUMNS)}"
    if first is None:
        raise InputError(f"{name}: empty: expected a header line of {expected}")
    line, row = first
    if isinstance(row, str):
        raise InputError(f"{name}:{line}: the header is {row}")
    named = set(map(_folded, row))
    missing = [each for each in TEST_COLUMNS if each not in named]
    raise InputError(f"{name}:{line}: the header has no column for {', '.join(missing)} "
                     f"(found: {shown(row)}); expected {expected}")


def _header(name: str, line: int, row: list[str], delimiter: str) -> _Header:
    where = f"{name}:{line}: the header"
    try:
        checked(row, len(row))
    except BadLine:
        raise InputError(f"{where} is not valid UTF-8") from None
    columns: dict[str, int] = {}
    properties: list[str] = []
    key_columns: list[int] = []
    for position, cell in enumerate(row):
        folded = _folded(cell)
        if folded in TEST_COLUMNS:
            if folded in columns:
                raise InputError(f"{where} names {folded} twice")
            columns[folded] = position
        elif not cell.strip():
            raise InputError(f"{where}'s column {position + 1} has no name (found: {shown(row)})")
        else:
            properties.append(cell.strip())
            key_columns.append(position)
    if not properties:
        raise InputError(f"{where} names no key property: add a column for each property of the tested key "
                         f"(e.g. utm_source) beside {','.join(TEST_COLUMNS)}")
    if problem := key_problem(properties):
        raise InputError(f"{where}'s key properties: {problem}")
    return _Header(line, len(row), delimiter, tuple(properties), tuple(key_columns), columns)


def _folded(cell: str) -> str:
    return cell.strip().casefold()


def _value(cell: str, name: str) -> str:
    """A cell's value, stripped; :class:`BadLine` if that leaves nothing."""
    value = cell.strip()
    if not value:
        raise BadLine(f"missing {name}")
    return value


def _count(text: str, name: str) -> int:
    """A whole number ≥ 0, digits optionally grouped by commas; else :class:`BadLine`."""
    if _COUNT.fullmatch(text):
        digits = text.replace(",", "").lstrip("0") or "0"
        if len(digits) > len(str(MAX_COUNT)) or int(digits) > MAX_COUNT:
            raise BadLine(f"{name} {text} is too large")
        return int(digits)
    if text.startswith("-") and _COUNT.fullmatch(text[1:]):
        raise BadLine(f"{name} {text} is negative")
    raise BadLine(f"{name} {text!r} is not a whole number")
