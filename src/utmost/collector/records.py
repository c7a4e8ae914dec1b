"""Checking a request's records before they reach the store, and naming each bad one. Pure.

Events are only pre-sorted here (by project token, and with a receive time filled in for
``/track``); the store judges them by the importer's rules, so a collector batch and an export
file are judged alike (:func:`utmost.ingest.plain.decode_lines` for ordinary records, else
:func:`utmost.ingest.events.normalise_sql`). Profile operations are checked by dry-running them on
an empty profile.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from utmost.collector.wire import RawRecords, Unparsed
from utmost.errors import InputError
from utmost.ingest import apply_operation, operations_of
from utmost.store import Update


@dataclass(frozen=True)
class Failure:
    """One rejected record, in the terms of Mixpanel's ``failed_records``."""

    index: int
    insert_id: str | None
    field: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "$insert_id": self.insert_id, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"record {self.index}: {self.message}"


@dataclass
class EventLine:
    """An event record (its time filled in where due), with its index in the request.

    ``record`` is parsed, or the JSON text it came in (the store takes either).
    """

    index: int
    token: Any
    record: dict[str, Any] | bytes


def event_lines(
    records: Sequence[Any], receive_time: float, *, require_time: bool
) -> tuple[list[EventLine], list[Failure]]:
    """Each event record with its token; records that are not objects fail here.

    ``receive_time`` fills in a missing ``properties.time``, as Mixpanel does for events sent
    live (``/track``: the Python SDK's ``alias`` sends none) and for ``$merge``, which the
    Python SDK sends to ``/import`` without one; other ``/import`` events need their own
    (``require_time``). Records kept as text (:class:`RawRecords`) stay text unless a time is
    to be filled in: only their token is read.
    """
    lines, failures = [], []
    texts = records if isinstance(records, RawRecords) else None
    for index in range(len(records)):
        if texts is not None:
            try:
                head = _HEAD(texts.text(index))
            except ValueError:
                pass  # not an object, or odd properties: judged below, parsed
            else:
                properties = head.properties
                if properties is None or properties.time is not msgspec.UNSET:
                    lines.append(EventLine(index, properties and properties.token, texts.text(index)))
                    continue
        record = records[index]
        if isinstance(record, Unparsed):
            failures.append(Failure(index, None, "", record.reason))
            continue
        if not isinstance(record, dict):
            failures.append(Failure(index, None, "", "not a JSON object"))
            continue
        properties = record.get("properties")
        token = properties.get("token") if isinstance(properties, dict) else None
        lines.append(EventLine(index, token, _timed(record, receive_time, require_time)))
    return lines, failures


class _HeadProperties(msgspec.Struct, gc=False):
    token: Any = None
    time: Any = msgspec.UNSET


class _Head(msgspec.Struct, gc=False):
    """What the collector reads of an event record before the store judges it."""

    properties: _HeadProperties | None = None


_HEAD = msgspec.json.Decoder(_Head).decode


def _timed(record: dict[str, Any], receive_time: float, require_time: bool) -> dict[str, Any]:
    """The record, with ``receive_time`` as its time where it has none and one is due."""
    properties = record.get("properties")
    fill = not require_time or record.get("event") == "$merge"
    if fill and isinstance(properties, dict) and "time" not in properties:
        return {**record, "properties": {**properties, "time": receive_time}}
    return record


def import_lines(records: RawRecords, receive_time: float) -> pa.Table | list[tuple[int, Any]]:
    """``/import``'s records, numbered from 1, as the store takes them: as the text they came in.

    The store judges them all, "not a JSON object" included. Only a ``$merge`` is parsed, to
    be given the receive time when it has none, as :func:`event_lines` does; a batch without
    one is handed over as its lines (``lineno``, ``line``), with no Python object per record.
    """
    if not records.mentions(b"$merge"):
        column = records.column()
        return pa.table({"lineno": pa.array(np.arange(1, len(column) + 1)), "line": column})
    numbered: list[tuple[int, Any]] = []
    for index in range(len(records)):
        line = records.text(index)
        record = records[index] if b"$merge" in line else None
        numbered.append((index + 1, _timed(record, receive_time, True) if isinstance(record, dict) else line))
    return numbered


def insert_id_of(record: Any) -> str | None:
    properties = record.get("properties") if isinstance(record, dict) else None
    value = properties.get("$insert_id") if isinstance(properties, dict) else None
    return value if isinstance(value, str) else None


_QUOTED = re.compile(r'"([^"]+)"')


def field_of(reason: str) -> str:
    """The field a rejection reason (from :mod:`utmost.ingest.events`) is about."""
    if found := _QUOTED.search(reason):
        return found.group(1)
    return "properties" if "properties" in reason else ""


#: The fields that name one profile, per endpoint.
PROFILE_IDS = {"people": ("$distinct_id",), "groups": ("$group_key", "$group_id")}


@dataclass
class ProfileUpdates:
    """A record's operations on one profile, checked, with the token that authorises them."""

    index: int
    token: Any
    updates: list[Update]


def profile_updates(kind: str, records: Sequence[Any]) -> tuple[list[ProfileUpdates], list[Failure]]:
    """Each ``/engage`` or ``/groups`` record as profile operations, or why it cannot be."""
    good, failures = [], []
    for index, record in enumerate(records):
        try:
            good.append(_profile_updates(kind, index, record))
        except _FieldError as error:
            failures.append(Failure(index, None, error.field, str(error)))
    return good, failures


class _FieldError(InputError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def _profile_updates(kind: str, index: int, record: Any) -> ProfileUpdates:
    if isinstance(record, Unparsed):
        raise _FieldError("", record.reason)
    if not isinstance(record, dict):
        raise _FieldError("", "not a JSON object")
    profile_id = []
    for name in PROFILE_IDS[kind]:
        value = record.get(name)
        if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
            raise _FieldError(name, f'missing "{name}"' if value in (None, "") else f'"{name}" is not a string')
        profile_id.append(str(value))
    try:
        operations = operations_of(record)
        for operation, value in operations:
            apply_operation({}, operation, value)  # raises on a malformed value
    except InputError as error:
        field = field_of(str(error)) or "operation"
        raise _FieldError(field, str(error)) from None
    updates = [(tuple(profile_id), operation, value) for operation, value in operations]
    return ProfileUpdates(index, record.get("$token"), updates)
