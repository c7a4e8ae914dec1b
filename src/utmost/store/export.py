"""A project's events as Parquet for Spark: one folder per date, rewritten only where they changed.

The destination (:mod:`utmost.store.destinations`) holds ``date=YYYY-MM-DD/part-0.parquet``
for each date that has events (the canonical columns; Spark reads ``date`` from the folder
name) and ``_utmost_export.json``, the manifest: for each date, a fingerprint of its events
when they were written. An export computes the store's fingerprints, rewrites the dates whose
fingerprint differs from the manifest's, removes the folders of dates that have no events any
more (a deleted person's last day), and writes the manifest last. Spark and Hive skip names
that start with ``_`` or ``.``, so the manifest and the files being written are never read as
events.

A fingerprint is the count of a date's events and the sum of ``hash(seq, insert_id)`` over
them. Events are only ever added (with a new ``seq``) or deleted, never changed in place, so
any change to a date changes its count or its sum. DuckDB's ``hash`` may change between its
versions; that only makes the next export rewrite every date.

A crash (or a failing write) at any point leaves a destination the next export repairs: the
manifest never names a date whose files are not those of its fingerprint, because before a
date is rewritten the manifest is replaced by one without it, and a date's new file is written
under a hidden name and renamed into place. A manifest that is missing, unreadable, of another
format version, project or set of columns counts as none: every date is rewritten.

The fingerprints and the rows come from one read transaction, so what the manifest says is
what the files hold even while events arrive. A reader of the destination during an export
may see some dates new and others old, as it would during any rewrite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import duckdb
import msgspec
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from utmost.errors import InputError
from utmost.store.destinations import Destination, first_line

#: The manifest's name; the ``_`` keeps Spark from reading it as data.
MANIFEST = "_utmost_export.json"
#: The version of the destination's layout and of the manifest; another one is rewritten whole.
FORMAT = 1
#: A date's one file, and the hidden name it is written under before it is renamed into place.
DATA_FILE, PARTIAL_FILE = "part-0.parquet", ".part-0.parquet.partial"
#: Rows per batch read from DuckDB and written as one row group: a date is streamed, never held
#: whole in memory. DuckDB's own row group size.
BATCH_ROWS = 122_880
_DATE_FOLDER = re.compile(r"date=(\d{4}-\d{2}-\d{2})")

_FINGERPRINTS = """
SELECT strftime(CAST(time AS DATE), '%Y-%m-%d') AS date,
       CAST(count(*) AS VARCHAR) || ':' || CAST(sum(hash(seq, insert_id)) AS VARCHAR) AS fingerprint
FROM events WHERE project = $project GROUP BY ALL ORDER BY date
"""
# A range on ``time`` rather than CAST(time AS DATE) = …: DuckDB skips row groups by their
# minimum and maximum time (events mostly arrive in time order).
_EVENTS_OF_DATE = """
SELECT * FROM events
WHERE project = $project AND time >= CAST($date AS DATE) AND time < CAST($date AS DATE) + 1
"""


@dataclass(frozen=True)
class Exported:
    """What an export did: the project's ``events`` now at the destination, and how many dates
    were ``rewritten``, left ``unchanged``, and ``removed`` (no events any more)."""

    events: int
    rewritten: int
    unchanged: int
    removed: int


@dataclass(frozen=True)
class Manifest:
    """What ``_utmost_export.json`` holds: who wrote the destination, and each date's fingerprint."""

    format: int
    project: str
    columns: list[str]  # "name type" of each column of the files, as Arrow names the types
    dates: dict[str, str]  # "YYYY-MM-DD" → "count:sum of hashes"


def export_events(cursor: duckdb.DuckDBPyConnection, project: str, destination: Destination) -> Exported:
    """Bring ``destination`` up to date with ``project``'s events (the module says how).

    Raises :class:`InputError` naming the destination when it cannot be reached or written;
    the dates written until then are kept, and the next export finishes the rest.
    """
    cursor.begin()
    try:
        fingerprints = cursor.sql(_FINGERPRINTS, params={"project": project}).fetchall()
        now = Manifest(FORMAT, project, _columns(cursor), dict(fingerprints))
        before, folders = _survey(destination)
        kept = {date: fingerprint for date, fingerprint in now.dates.items()
                if before is not None and _same_source(before, now) and before.dates.get(date) == fingerprint}
        stale = [date for date in now.dates if date not in kept]
        gone = sorted(folders - set(now.dates))
        try:
            if before is not None and (stale or gone):
                _write_manifest(destination, replace(now, dates=kept))
            for date in stale:
                _write_date(cursor, project, destination, date)
            for date in gone:
                destination.filesystem.delete_dir(destination.path(f"date={date}"))
            if before != now:
                _write_manifest(destination, now)
        except OSError as error:
            raise InputError(f"{destination.shown}: cannot write there: {first_line(error)} (the dates written so far"
                             " are kept; the next export writes the rest)") from None
    finally:
        cursor.rollback()
    events = sum(int(fingerprint.partition(":")[0]) for fingerprint in now.dates.values())
    return Exported(events, len(stale), len(kept), len(gone))


def _survey(destination: Destination) -> tuple[Manifest | None, set[str]]:
    """The destination's manifest (None if it has none that can be believed) and the dates of
    its ``date=YYYY-MM-DD`` folders: nothing else there is the export's to replace or remove.
    The first requests to the destination: an error here means it cannot be reached."""
    filesystem = destination.filesystem
    try:
        if filesystem.get_file_info(destination.root).type == pafs.FileType.File:
            raise InputError(f"{destination.shown}: a file, not a folder; give a folder (new or an earlier export's)")
        listed = filesystem.get_file_info(pafs.FileSelector(destination.root, allow_not_found=True))
        data = None
        if any(info.base_name == MANIFEST and info.type == pafs.FileType.File for info in listed):
            with filesystem.open_input_stream(destination.path(MANIFEST)) as file:
                data = file.read()
    except OSError as error:
        raise InputError(f"{destination.shown}: cannot reach it: {first_line(error)}") from None
    folders = {match[1] for info in listed
               if info.type == pafs.FileType.Directory and (match := _DATE_FOLDER.fullmatch(info.base_name))}
    return _manifest(data), folders


def _columns(cursor: duckdb.DuckDBPyConnection) -> list[str]:
    schema = cursor.sql("SELECT * FROM events LIMIT 0").to_arrow_table().schema
    return [f"{field.name} {field.type}" for field in schema]


def _same_source(before: Manifest, now: Manifest) -> bool:
    return (before.format, before.project, before.columns) == (now.format, now.project, now.columns)


def _manifest(data: bytes | None) -> Manifest | None:
    try:
        return msgspec.json.decode(data, type=Manifest) if data is not None else None
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _write_manifest(destination: Destination, manifest: Manifest) -> None:
    partial = destination.path(f"{MANIFEST}.partial")
    destination.filesystem.create_dir(destination.root, recursive=True)
    with destination.filesystem.open_output_stream(partial) as file:
        file.write(msgspec.json.format(msgspec.json.encode(manifest), indent=1))
    destination.filesystem.move(partial, destination.path(MANIFEST))


def _write_date(cursor: duckdb.DuckDBPyConnection, project: str, destination: Destination, date: str) -> None:
    """Write one date's events as its folder's one file, replacing whatever the folder held."""
    filesystem, folder = destination.filesystem, destination.path(f"date={date}")
    filesystem.create_dir(folder, recursive=True)
    partial, final = f"{folder}/{PARTIAL_FILE}", f"{folder}/{DATA_FILE}"
    # Closing the reader, even when a write fails, frees the cursor for the next query.
    with cursor.sql(_EVENTS_OF_DATE, params={"project": project, "date": date}).to_arrow_reader(BATCH_ROWS) as rows, \
            pq.ParquetWriter(partial, rows.schema, filesystem=filesystem) as writer:
        for batch in rows:
            writer.write_batch(batch)
    for old in filesystem.get_file_info(pafs.FileSelector(folder)):
        if old.base_name not in (PARTIAL_FILE, DATA_FILE):  # an older layout's files (DuckDB's data_0.parquet)
            (filesystem.delete_dir if old.type == pafs.FileType.Directory else filesystem.delete_file)(old.path)
    filesystem.move(partial, final)
