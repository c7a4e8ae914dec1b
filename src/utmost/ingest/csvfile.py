"""What every CSV file a user imports shares (ad spend, experiments): its bytes read whole under a
size limit, gunzipped, decoded, its records numbered by the line they start on, and the checks
every line of it passes, each failing as a :class:`BadLine` with its reason. Pure: no database,
no file but the one :func:`read_file` reads.

- gzip is recognised by its first bytes; UTF-8 (a byte-order mark dropped) or UTF-16 with its
  byte-order mark are read; UTF-16 without one is refused whole, with a reason;
- bytes that are not UTF-8 fail their own line only (``not valid UTF-8``), not the file;
- a record the csv module refuses (a field over its 128 KiB limit) is a bad line too.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from utmost.errors import InputError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadLine(Exception):
    """One line refused, for ``reason``; the caller knows which line, and reports ``FILE:LINE: reason``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def read_file(path: str | os.PathLike[str], folder: str | os.PathLike[str] | None, limit: int, advice: str) -> bytes:
    """The bytes of a file (``folder``: where a relative ``path`` is); a missing or unreadable
    one, or one over ``limit`` bytes (``advice``: what to do then), is an :class:`InputError`
    naming it as given."""
    name = str(path)
    file = Path(folder, path) if folder is not None else Path(path)
    if not file.is_file():
        raise InputError(f"{name}: no such file")
    try:
        if file.stat().st_size > limit:
            raise InputError(f"{name}: over {limit:,} bytes; {advice}")
        return file.read_bytes()
    except OSError as error:
        raise InputError(f"{name}: cannot read: {error.strerror or error}") from None


def gunzipped(data: bytes, name: str, limit: int, advice: str) -> bytes:
    """``data`` unzipped if it is gzip (by its first bytes), else as it is; at most ``limit`` bytes."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflate.decompress(data, limit + 1)
    except zlib.error as error:
        raise InputError(f"{name}: not a readable gzip file ({error})") from None
    if len(out) > limit:
        raise InputError(f"{name}: over {limit:,} bytes once unzipped; {advice}")
    return out


def text_of(data: bytes, name: str) -> str:
    """The file as text: UTF-16 by its byte-order mark, else UTF-8 (a BOM dropped). Bytes that
    are not UTF-8 are kept as lone surrogates, and make their line fail :func:`checked`."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise InputError(f"{name}: not valid UTF-16 at byte {error.start}") from None
    if b"\x00" in data[:4096]:
        raise InputError(f"{name}: holds NUL bytes: UTF-16 without a byte-order mark, or not text; save it as UTF-8 CSV")
    return data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")


def records(text: str, delimiter: str) -> Iterator[tuple[int, list[str] | str]]:
    """(first line of the record, its cells) — a quoted field may span lines — or, for a
    record the csv module refuses (a field over its 128 KiB limit), the reason instead."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    line = 1
    while True:
        try:
            row: list[str] | str = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            row = f"unreadable: {error}"
        yield line, row
        line = reader.line_num + 1


def blank(row: list[str]) -> bool:
    """Whether a record has nothing in it (a blank line, or only delimiters and spaces)."""
    return not any(cell.strip() for cell in row)


def checked(row: list[str], width: int) -> list[str]:
    """``row``, if it has the header's ``width`` and every cell is text; else :class:`BadLine`."""
    if len(row) != width:
        raise BadLine(f"{len(row)} fields, the header has {width}")
    if any(_SURROGATE.search(cell) for cell in row):
        raise BadLine("not valid UTF-8")
    return row


def day(text: str, field: str) -> datetime.date:
    """The day ``text`` names as ``YYYY-MM-DD``; else :class:`BadLine` naming ``field``."""
    if _DATE.fullmatch(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass
    raise BadLine(f"{field} {text!r} is not a day as YYYY-MM-DD")


def shown(row: list[str]) -> str:
    """A header row as an error message shows it: its cells joined, cut at 300 characters."""
    return ",".join(cell.strip() for cell in row)[:300].encode("utf-8", "replace").decode()
