"""Plain events: the ordinary lines the SDKs send, decoded to canonical columns in one pass.

Pure, no I/O. :func:`utmost.ingest.events.normalise_sql` is the one definition of how a line is
judged, and it is exact about every odd line, but it parses each line three times in SQL:
most of an import's time. Nearly every real line is *plain* — an event name, a numeric time,
string ids and ``$insert_id``, strings (or nothing) wherever a column is read — and for those
the answer is simple. :func:`decode_lines` reads them with msgspec's compiled decoder into
typed fields, checks the rest a column at a time, and hands every other line back for the
query to judge. A differential property test holds the two to the same answer.

The properties are kept as sent (the bytes of the object in the line), where the query
re-serialises them: the same JSON, possibly spelt differently. When a property name appears
twice in one object the decoder reads the last, the query the first; RFC 8259 leaves that
undefined, and no SDK or export writes it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from utmost.ingest.campaign import LANDING_HINT, LANDING_PARAMS, landing_values
from utmost.ingest.events import (
    COLUMN_NAMES,
    MAX_EVENT_BYTES,
    MAX_INSERT_ID_LENGTH,
    MAX_PROPERTIES,
    MAX_TIME_MS,
    MILLISECONDS_ABOVE,
    MIN_BYTES_FOR_TOO_MANY,
    PROPERTY_COLUMNS,
)

#: The columns :func:`decode_lines` gives: the canonical ones but ``project`` and ``seq``.
PLAIN_COLUMNS: tuple[str, ...] = tuple(name for name in COLUMN_NAMES if name not in ("project", "seq"))
#: Every column is text but these. ``properties`` is marked as JSON (Arrow's extension type),
#: which DuckDB stores as it is: as plain text it would parse every object again to check it,
#: a quarter of the time of an insert. Its text is held as string views, so that an import's
#: properties can stay where they were read, in the block (:func:`_views_of`).
_TYPES = {"time": pa.timestamp("us"), "properties": pa.json_(pa.string_view())}
PLAIN_SCHEMA = pa.schema([(name, _TYPES.get(name, pa.large_string())) for name in PLAIN_COLUMNS])
#: All of them but ``properties``, the last.
_SCALAR_SCHEMA = PLAIN_SCHEMA.remove(PLAIN_SCHEMA.get_field_index("properties"))

#: Text columns read from a property of the same meaning, besides the landing parameters.
_TEXTS = ("device_id", "user_id", "current_url", "referrer", "referring_domain")


class _Line(msgspec.Struct, gc=False):
    """A line's envelope; ``properties`` stays the text it is, to be stored as sent."""

    event: str
    properties: msgspec.Raw


class _OnlyLine(_Line, forbid_unknown_fields=True):
    """An envelope of these two members and no other: a whole block is decoded as these,
    so that where each ``properties`` lies in its line can be told from its length alone
    (:func:`_spans`)."""


# Fields of the properties the columns come from. A wrong type (a number where text is read, a
# string time) fails the decode, which sends the line to the query.
_Properties = msgspec.defstruct(
    "_Properties",
    [
        ("time", float),
        ("distinct_id", str),
        ("insert_id", str, msgspec.field(name="$insert_id")),
        *((column, str | None, msgspec.field(default=None, name=PROPERTY_COLUMNS[column])) for column in _TEXTS),
    ],
    gc=False,  # hundreds of thousands of them, holding no containers: untracked by the GC
)
# The landing parameters sent as properties, read only for events without a URL (the query
# ignores them when there is one): browser events carry them all as super properties.
_Landing = msgspec.defstruct("_Landing", [(key, str | None, None) for key in LANDING_PARAMS], gc=False)
_DECODE_LINE = msgspec.json.Decoder(_Line).decode
_DECODE_LINES = msgspec.json.Decoder(_OnlyLine).decode_lines
_DECODE_PROPERTIES = msgspec.json.Decoder(_Properties).decode
_DECODE_PROPERTIES_LINES = msgspec.json.Decoder(_Properties).decode_lines
_DECODE_LANDING = msgspec.json.Decoder(_Landing).decode
_GETTERS = {name: operator.attrgetter(name) for name in _Properties.__struct_fields__}
_EVENT_OF, _PROPERTIES_OF = operator.attrgetter("event"), operator.attrgetter("properties")

#: Lines decoded by one call. msgspec holds the interpreter lock while it runs, and an
#: import's writer thread needs the lock between the tasks of each DuckDB query: one call
#: for a whole 8 MB block kept it waiting ~5 ms a time (see ``utmost.store.writer.SWITCH_INTERVAL``).
_SLICE_LINES = 1024
#: ``$insert_id`` values taken as they are; the query alone handles an empty one.
_INSERT_ID = f"^[A-Za-z0-9-]{{1,{MAX_INSERT_ID_LENGTH}}}$"


def decode_lines(lines: pa.Array | pa.ChunkedArray) -> tuple[pa.Table, np.ndarray]:
    """The plain lines of ``lines`` (binary) as canonical rows, and which lines they were.

    Returns ``(rows, taken)``: ``rows`` has ``PLAIN_SCHEMA`` (``time`` in µs since the epoch,
    ``properties`` as the JSON text sent), one row per index in ``taken``, in order. Lines
    not taken — bad, unusual, or ``$merge`` — are for :func:`utmost.ingest.events.normalise_sql`.
    """
    text = _text(lines)
    if text is None:
        return PLAIN_SCHEMA.empty_table(), np.empty(0, np.int64)
    buffer, offsets = text
    data = memoryview(buffer) if buffer is not None else memoryview(b"")
    sizes = np.diff(offsets)
    # An export's framing is read with numpy and only the properties are decoded; any other
    # block has its envelopes decoded too. Each row's properties text is raw_of(row).
    framed = _framed_lines(data, offsets)
    fields = _framed_properties(data, offsets, framed) if framed is not None else None
    raw_of: Callable[[int], Any]
    spans: tuple[np.ndarray, np.ndarray] | None
    if framed is not None and fields is not None:
        event, taken, spans = framed.events, np.arange(len(sizes)), (framed.starts, framed.sizes)
        raw_of = framed.text_of(data)
    else:
        event, raws, fields, taken, whole = _enveloped(data, offsets)
        spans = _spans(buffer, offsets, raws) if whole else None
        raw_of = raws.__getitem__
    if not len(taken):
        return PLAIN_SCHEMA.empty_table(), taken
    columns = {name: list(map(getter, fields)) for name, getter in _GETTERS.items()}
    micros, timely = _micros(np.array(columns["time"], np.float64))
    distinct_id = pa.array(columns["distinct_id"], pa.large_string())
    insert_id = pa.array(columns["insert_id"], pa.large_string())
    plain = (
        timely
        & (sizes[taken] <= MAX_EVENT_BYTES)
        & _fewer_keys_than_limit(data, offsets, taken)
        & _true(pc.and_(pc.not_equal(event, ""), pc.not_equal(event, "$merge")))
        & _true(pc.not_equal(distinct_id, ""))
        & _true(pc.match_substring_regex(insert_id, _INSERT_ID))
    )
    texts = {name: pa.array(columns[name], pa.large_string()) for name in _TEXTS}
    url = texts["current_url"] = _null_if_empty(texts["current_url"])
    landing, landed = _landing(url, raw_of)
    plain &= landed
    rows = pa.table(
        {
            "event": event,
            "time": pa.array(micros, pa.timestamp("us")),
            "distinct_id": distinct_id,
            "device_id": texts["device_id"],
            "user_id": texts["user_id"],
            "insert_id": insert_id,
            **landing,
            "current_url": url,
            "referrer": texts["referrer"],
            "referring_domain": texts["referring_domain"],
        },
        schema=_SCALAR_SCHEMA,
    )
    # Arrow cannot filter string views, so the properties are taken for the kept rows only.
    kept = None if plain.all() else np.flatnonzero(plain)
    if kept is not None:
        rows = rows.filter(pa.array(plain))
    properties = _views_of(buffer, *spans, kept) if spans is not None else None
    if properties is None:
        properties = _joined(list(map(raw_of, range(len(taken)) if kept is None else kept.tolist())))
    return rows.append_column(PLAIN_SCHEMA.field("properties"), properties), taken if kept is None else taken[kept]


def filter_rows(rows: pa.Table, mask: pa.Array) -> pa.Table:
    """``rows.filter(mask)`` for rows with ``PLAIN_SCHEMA``'s properties, string views, which
    Arrow cannot filter: those are filtered as a copy."""
    at = rows.schema.get_field_index("properties")
    column = rows.column(at)
    copied = pa.concat_arrays([chunk.storage.cast(pa.large_string()) for chunk in column.chunks]).filter(mask)
    kept = rows.remove_column(at).filter(mask)
    return kept.add_column(at, rows.field(at), [pa.ExtensionArray.from_storage(column.type, copied.cast(pa.string_view()))])


def _enveloped(data: memoryview, offsets: np.ndarray) -> tuple[pa.Array, list[msgspec.Raw], list[Any], np.ndarray, bool]:
    """Decode each line's envelope, then its properties: for lines not framed as an export's.

    Returns the events, the properties texts and fields of the plain lines, which lines those
    are, and whether the block was decoded whole (:func:`_whole_lines`).
    """
    parsed, views = _whole_lines(data, offsets), None
    whole = parsed is not None
    try:  # all at once, in C, when every line is plain
        if parsed is None:
            views = _views(data, offsets)
            parsed = list(map(_DECODE_LINE, views))
        raws = list(map(_PROPERTIES_OF, parsed))
        fields = _decoded_properties(raws)
        taken = np.arange(len(offsets) - 1)
    except ValueError:  # not plain: malformed, a wrong type, invalid text
        parsed, raws, fields, taken = _each_line(views if views is not None else _views(data, offsets))
        whole = False
    return pa.array(list(map(_EVENT_OF, parsed)), pa.large_string()), raws, fields, taken, whole


def _decoded_properties(raws: list[Any]) -> list[Any]:
    fields: list[Any] = []
    for first in range(0, len(raws), _SLICE_LINES):
        fields += map(_DECODE_PROPERTIES, raws[first : first + _SLICE_LINES])
    return fields


class _Framed(NamedTuple):
    """Lines in an export's framing: their events, and where each properties object lies."""

    events: pa.Array
    starts: np.ndarray
    sizes: np.ndarray

    def text_of(self, data: memoryview) -> Callable[[int], memoryview]:
        """Line n's properties object, as a view of ``data``."""
        return lambda n: data[self.starts[n] : self.starts[n] + self.sizes[n]]


_HEAD = np.frombuffer(b'{"event":"', np.uint8)
_AFTER_EVENT = np.frombuffer(b'","properties":{', np.uint8)
#: Longer event names (or ones with escapes) send the block the other way.
_LONGEST_FRAMED_EVENT = 64


def _framed_lines(data: memoryview, offsets: np.ndarray) -> _Framed | None:
    """The lines' events and properties spans, found with numpy without decoding the
    envelope, when every line is ``{"event":"E","properties":{…}}`` (a newline after it or
    not): how Mixpanel's export and the SDKs write an event. None when any line is not.

    E is taken as it is when it holds no ``\\`` and no control character (then its bytes are
    the string: the block is valid UTF-8, :func:`_text`). A line ending ``}}`` leaves the
    span up to its last ``}`` to a properties object, unless the object ends earlier and
    another member follows (``{…},"x":{…}``): :func:`_framed_properties` makes sure each
    span is one object, and such a line sends the block the other way too.
    Decoding the envelope only to find these spans skipped every properties object once
    more: 0.6 s a million events.
    """
    starts, ends = offsets[:-1], offsets[1:]
    if not len(starts) or not (ends - starts >= len(_HEAD) + len(_AFTER_EVENT) + 2).all():
        return None
    byte = np.frombuffer(data, np.uint8)
    close = ends - 1 - (byte[ends - 1] == ord("\n"))  # each line's last "}"
    if not ((byte[close] == ord("}")) & (byte[close - 1] == ord("}"))).all():
        return None
    if not (byte[starts[:, None] + np.arange(len(_HEAD))] == _HEAD).all():
        return None
    first = starts + len(_HEAD)  # each event's first byte
    length = np.full(len(starts), -1, np.int64)
    pending = np.arange(len(starts))
    for k in range(_LONGEST_FRAMED_EVENT):
        if (first[pending] + k + len(_AFTER_EVENT) >= close[pending]).any():
            return None
        found = byte[first[pending] + k]
        quote = found == ord('"')
        if ((found < 0x20) | (found == ord("\\")))[~quote].any():
            return None
        length[pending[quote]] = k
        pending = pending[~quote]
        if not len(pending):
            break
    else:
        return None
    after = first + length  # each event's closing quote
    if not (byte[after[:, None] + np.arange(len(_AFTER_EVENT))] == _AFTER_EVENT).all():
        return None
    spans = after + len(_AFTER_EVENT) - 1, close  # each properties object, "{" to "}"
    event_offsets = np.concatenate(([0], np.cumsum(length)))
    gather = np.repeat(first - event_offsets[:-1], length) + np.arange(event_offsets[-1])
    events = pa.LargeStringArray.from_buffers(
        len(starts), pa.py_buffer(event_offsets), pa.py_buffer(byte[gather].tobytes())
    )
    return _Framed(events, spans[0], spans[1] - spans[0])


def _framed_properties(data: memoryview, offsets: np.ndarray, framed: _Framed) -> list[Any] | None:
    """Every framed line's properties fields, or None if a line's span is not one object.

    A copy of the lines with each envelope blanked out (its head made spaces, its last ``}``
    a newline) is decoded by one call a slice of lines, as :func:`_whole_lines` does, and for
    the same reason one value per line means each line's span is one object: every span
    then ends a line (no string runs on past a newline), and starts with ``{``, which cannot
    follow a value inside another. A span ``{…},"x":{…}`` fails; ``{…} {…}`` gives one value
    too many. One decode call per line took as long as decoding the envelopes did.
    """
    first_byte, starts = offsets[0], offsets[:-1]
    text = np.frombuffer(data, np.uint8)[first_byte : offsets[-1]].copy()
    head = framed.starts - starts
    text[np.repeat(starts - first_byte - (np.cumsum(head) - head), head) + np.arange(head.sum())] = ord(" ")
    text[framed.starts + framed.sizes - first_byte] = ord("\n")  # the envelope's last "}"
    return _one_a_line(_DECODE_PROPERTIES_LINES, text.data, offsets - first_byte)


def _each_line(views: list[memoryview]) -> tuple[list[_Line], list[msgspec.Raw], list[Any], np.ndarray]:
    """Decode line by line, keeping the plain ones: for a batch with a line that is not."""
    index, parsed, fields = [], [], []
    for n, view in enumerate(views):
        try:
            line = _DECODE_LINE(view)
            fields.append(_DECODE_PROPERTIES(line.properties))
        except ValueError:
            continue
        index.append(n)
        parsed.append(line)
    return parsed, list(map(_PROPERTIES_OF, parsed)), fields, np.array(index, np.int64)


def _text(lines: pa.Array | pa.ChunkedArray) -> tuple[pa.Buffer | None, np.ndarray] | None:
    """The lines' bytes as one buffer and where each line starts (and the last ends) in it.

    None if any line is not UTF-8: msgspec checks the text it decodes, not the properties it
    skips, so the whole batch is checked first (Arrow's cast validates without copying); a
    batch with invalid text is left to the query, which names the line. An import's chunk is
    one buffer already (batches of one block); other batches are copied into one.
    """
    chunks = lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]
    chunks = [chunk.cast(pa.large_binary()) for chunk in chunks]
    spans = [_span(chunk) for chunk in chunks]
    if not all(map(_continues, spans, spans[1:])):
        chunks = [pa.concat_arrays(chunks)]
        spans = [_span(chunks[0])]
    try:
        for chunk in chunks:
            chunk.cast(pa.large_string())
    except pa.ArrowInvalid:
        return None
    if not spans:
        return None, np.zeros(1, np.int64)
    offsets = np.concatenate([spans[0][1], *(offsets[1:] for _, offsets in spans[1:])])
    return spans[0][0], offsets


def _continues(before: tuple[pa.Buffer | None, np.ndarray], after: tuple[pa.Buffer | None, np.ndarray]) -> bool:
    """Whether the ``after`` chunk's lines follow on from ``before``'s in the same buffer."""
    (data, offsets), (next_data, next_offsets) = before, after
    if data is None or next_data is None:
        return False
    return (data.address, data.size, offsets[-1]) == (next_data.address, next_data.size, next_offsets[0])


def _span(chunk: pa.Array) -> tuple[pa.Buffer | None, np.ndarray]:
    """A binary array's data buffer and its own offsets into it."""
    _, offsets_buffer, data_buffer = chunk.buffers()
    return data_buffer, np.frombuffer(offsets_buffer, np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]


def _whole_lines(data: memoryview, offsets: np.ndarray) -> list[_Line] | None:
    """Every line decoded by one call over the buffer (a slice of lines at a time), or None
    where that is not sure.

    One call saves a view and a call per line (a third of decoding an import's chunk), but
    msgspec reads the buffer as values apart by any whitespace, so it is used only when the
    lines are sure to be one value each: every line starts with ``{`` and ends with ``}``
    before its newline. A value can then not run on past its line's end (``}`` then ``{``
    is malformed inside any value), so n lines giving n values means one value a line.
    """
    starts, ends = offsets[:-1], offsets[1:]
    if not len(starts) or not (ends > starts).all():
        return None
    byte = np.frombuffer(data, np.uint8)
    last = ends - 1
    newline = byte[last] == ord("\n")
    if not newline[:-1].all() or not (byte[starts] == ord("{")).all():
        return None
    closing = last - newline
    if not (closing > starts).all() or not (byte[closing] == ord("}")).all():
        return None
    return _one_a_line(_DECODE_LINES, data, offsets)


def _one_a_line(decode_lines: Callable[[memoryview], list[Any]], text: memoryview, offsets: np.ndarray) -> list[Any] | None:
    """``decode_lines`` over the lines of ``text`` (at ``offsets`` in it), a slice of lines a
    call; None unless it decodes and gives exactly one value a line."""
    values: list[Any] = []
    for first in range(0, len(offsets) - 1, _SLICE_LINES):
        stop = min(first + _SLICE_LINES, len(offsets) - 1)
        try:
            part = decode_lines(text[offsets[first] : offsets[stop]])
        except ValueError:
            return None
        if len(part) != stop - first:
            return None
        values += part
    return values


def _views(data: memoryview, offsets: np.ndarray) -> list[memoryview]:
    return list(map(data.__getitem__, map(slice, offsets[:-1].tolist(), offsets[1:].tolist())))


def _micros(number: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """µs since the epoch of valid times, rounded half away from zero as the query's ``round``."""
    factor = np.where(number > MILLISECONDS_ABOVE, 1.0, 1000.0)
    with np.errstate(invalid="ignore", over="ignore"):
        valid = (number >= 0) & (number * factor < MAX_TIME_MS)
        scaled = np.where(valid, number * factor * 1000, 0.0)
    whole = np.floor(scaled)
    return (whole + (scaled - whole >= 0.5)).astype(np.int64), valid


def _fewer_keys_than_limit(data: memoryview, offsets: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """False where a line might hold more than MAX_PROPERTIES properties.

    Every key is followed by a ``:``, so a line with few colons has few keys; only long lines
    are counted at all.
    """
    ok = np.ones(len(taken), bool)
    starts, ends = offsets[taken], offsets[taken + 1]
    for n in np.flatnonzero(ends - starts > MIN_BYTES_FOR_TOO_MANY).tolist():
        ok[n] = data[starts[n] : ends[n]].tobytes().count(b":") <= MAX_PROPERTIES
    return ok


def _true(mask: pa.Array) -> np.ndarray:
    return mask.fill_null(False).to_numpy(zero_copy_only=False)


def _null_if_empty(texts: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(texts, ""), pa.scalar(None, texts.type), texts)


def _landing(url: pa.Array, raw_of: Callable[[int], Any]) -> tuple[dict[str, pa.Array], np.ndarray]:
    """The landing columns, and False where an event without a URL sent a non-text one.

    From the URL when there is one, else from the properties. Each distinct URL is looked at
    once (a page view and its autotracked twin share one, reloads too), and parsed only if
    it can hold a landing parameter.
    """
    landed = np.ones(len(url), bool)
    encoded = url.dictionary_encode()
    distinct = encoded.dictionary
    hinted = np.flatnonzero(_true(pc.match_substring_regex(distinct, LANDING_HINT)))
    found: list[list[str | None]] = [landing_values(address) or [] for address in distinct.take(hinted).to_pylist()]
    # Row n of each column is found[position[n]], or null: each distinct URL's entry, or -1
    # (and -1 in the extra last slot, for rows without a URL).
    entry = np.full(len(distinct) + 1, -1, np.int64)
    entry[hinted] = np.arange(len(hinted))
    position = entry[pc.fill_null(encoded.indices, len(distinct)).to_numpy()]
    for row in np.flatnonzero(_true(pc.is_null(url))).tolist():
        try:
            sent = _DECODE_LANDING(raw_of(row))
        except ValueError:
            landed[row] = False
            continue
        position[row] = len(found)
        found.append([value or None for value in msgspec.structs.astuple(sent)])
    take = pa.array(position, mask=position < 0)
    nothing = [None] * len(LANDING_PARAMS)
    columns = list(zip(*(values or nothing for values in found))) or [()] * len(LANDING_PARAMS)
    nulls = pa.nulls(len(url), pa.large_string())
    landing = {
        key: pa.array(values, pa.large_string()).take(take) if any(values) else nulls
        for key, values in zip(LANDING_PARAMS, columns)
    }
    return landing, landed


def _joined(raws: list[Any]) -> pa.Array:
    """The properties objects as one string array, copied once."""
    sizes = np.fromiter(map(len, raws), np.int64, len(raws))
    offsets = np.concatenate(([0], np.cumsum(sizes)))
    text = pa.LargeStringArray.from_buffers(len(raws), pa.py_buffer(offsets), pa.py_buffer(b"".join(raws)))
    return pa.ExtensionArray.from_storage(_TYPES["properties"], text.cast(pa.string_view()))


#: Arrow keeps a string of up to this many bytes inside its view; longer ones are pointed at.
_INLINE_BYTES = 12


def _spans(buffer: pa.Buffer, offsets: np.ndarray, raws: list[msgspec.Raw]) -> tuple[np.ndarray, np.ndarray] | None:
    """Where each properties object ``raws`` of a whole block's lines lies in the block:
    (starts, sizes), or None where that cannot be told.

    Only for lines decoded as :class:`_OnlyLine`, every one ``{…}`` up to its newline
    (:func:`_whole_lines`). Each object then ends just before its line's last ``}`` when the
    byte before that is a ``}`` too, and starts its length before that. Why that is sound:
    the members are only ``event`` (a string, ending ``"``) and ``properties``, so a line
    ending ``}}`` ends with a ``properties`` member, the last one, which is the one msgspec
    keeps; a space before the final ``}`` fails the test.
    """
    byte = np.frombuffer(buffer, np.uint8)
    lines, ends = offsets[:-1], offsets[1:]
    ends = ends - (byte[ends - 1] == ord("\n"))  # each line's last "}" is at ends - 1
    sizes = np.fromiter(map(len, raws), np.int64, len(ends))
    starts = ends - 1 - sizes
    if not (byte[ends - 2] == ord("}")).all() or not (starts > lines).all():  # a view never leaves its line
        return None
    return starts, sizes


def _views_of(buffer: pa.Buffer, starts: np.ndarray, sizes: np.ndarray, kept: np.ndarray | None) -> pa.Array | None:
    """The properties objects at ``starts`` (of ``sizes`` bytes) in ``buffer``, those of the
    lines numbered ``kept`` (or all), as string views of it: no copy, they stay where they
    were read. None where a view cannot point at one: a short object (Arrow keeps those
    inside the view) or an offset past Arrow's 32 bits. The caller copies instead."""
    if kept is not None:
        starts, sizes = starts[kept], sizes[kept]
    if not len(starts) or (starts + sizes).max() >= 2**31 or not (sizes > _INLINE_BYTES).all():
        return None
    byte = np.frombuffer(buffer, np.uint8)
    views = np.empty((len(starts), 4), np.int32)  # length, first 4 bytes, buffer 0, offset
    views[:, 0] = sizes
    views[:, 1] = byte[starts[:, None] + np.arange(4)].view(np.int32)[:, 0]
    views[:, 2] = 0
    views[:, 3] = starts
    text = pa.Array.from_buffers(pa.string_view(), len(starts), [None, pa.py_buffer(views), buffer])
    return pa.ExtensionArray.from_storage(_TYPES["properties"], text)
