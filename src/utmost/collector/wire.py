"""What the Mixpanel SDKs put on the wire, decoded into a list of records. Pure: bytes in.

One request carries its records in one of several shapes (``tests/fixtures/mixpanel-wire``):
a form field ``data=`` holding base64 or plain JSON (mixpanel-browser's default, and the Python
SDK's), the same field in the query string (``api_method: 'GET'``), a form body sent as
``text/plain`` (``navigator.sendBeacon``), or a raw JSON / NDJSON body (Mixpanel's modern
``/import``); any of them gzipped, flagged by ``Content-Encoding`` or ``format=gzip``. The body
decides, not the Content-Type: SDKs get the header wrong (beacons) and the answer must not.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import msgspec
import numpy as np
import orjson
import pyarrow as pa
import pybase64

from utmost.errors import InputError

#: Mixpanel's per-request limits (docs/semantics.md §1); bytes are counted uncompressed.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_RECORDS = 2000
#: How deep a request's JSON may nest, its outer array counting as one level: an event is
#: three levels and its properties' values the rest. Deeper JSON is refused before any parser
#: sees it: msgspec recurses on the C stack up to Python's recursion limit (~1,000 levels)
#: and raises RecursionError there, and orjson cannot write what nests over 255.
MAX_DEPTH = 64
_GZIP_MAGIC = b"\x1f\x8b"


class RequestError(InputError):
    """A request the collector refuses as a whole, with the HTTP status that says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        self.status = status
        super().__init__(message)


class Unparsed:
    """An NDJSON line that is not JSON: kept in its place so its index can be reported."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class RawRecords(Sequence[Any]):
    """Records kept as the JSON text each came in, parsed one at a time only when asked for.

    ``/import`` hands its events to the store as text (:meth:`column`): the store decodes
    plain ones straight into columns, so a Python object per record and property would be
    pure cost. A record is parsed only to be named in an answer. An NDJSON body's lines are
    an Arrow array over the body itself (:func:`_ndjson_lines`), each with its newline.
    """

    def __init__(self, lines: list[bytes] | pa.LargeBinaryArray, body: bytes | None = None) -> None:
        self._lines = lines
        #: The text every line is part of, when they are views of one body.
        self._body = body

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, index: int) -> Any:  # type: ignore[override]
        try:
            return orjson.loads(self.text(index))
        except orjson.JSONDecodeError as error:
            return Unparsed(f"invalid JSON: {error}")

    def text(self, index: int) -> bytes:
        """Record ``index`` as the text it came in."""
        line = self._lines[index]
        return line if isinstance(line, bytes) else line.as_py()

    def mentions(self, text: bytes) -> bool:
        """Whether any record's text holds ``text``: one search of the body if there is one."""
        if self._body is not None:
            return text in self._body
        return any(text in self.text(index) for index in range(len(self)))

    def column(self) -> pa.LargeBinaryArray:
        """Every record's text, as the store takes lines."""
        if isinstance(self._lines, pa.Array):
            return self._lines
        return pa.array(self._lines, pa.large_binary())


@dataclass(frozen=True)
class Payload:
    """The records of one request, and the flags that shape its answer."""

    records: Sequence[Any]
    params: dict[str, str]
    #: The records came in a ``data=`` field (the form the SDKs use) rather than a raw body.
    from_form: bool

    @property
    def verbose(self) -> bool:
        return self.params.get("verbose") == "1"

    @property
    def strict(self) -> bool:
        return self.params.get("strict") == "1"


def decode(body: bytes, query_string: str, content_encoding: str = "", *, raw: bool = False) -> Payload:
    """Every record of a request, from its raw body, query string and Content-Encoding.

    With ``raw``, records are kept as text (:class:`RawRecords`) instead of parsed.
    """
    query = _fields(query_string)
    if "gzip" in content_encoding.lower() or query.get("format") == "gzip" or body.startswith(_GZIP_MAGIC):
        body = _gunzip(body)
    if len(body) > MAX_REQUEST_BYTES:
        raise _too_large(len(body))
    stripped = body.lstrip()
    if stripped[:1] in (b"[", b"{"):
        _check_depth(stripped, "body")
        return _checked(Payload((_raw_json_body if raw else _json_body)(stripped), query, from_form=False))
    form = _fields(_text(body, "body"))
    params = {**query, **form}
    if "data" not in params:
        raise RequestError('no records: expected a "data" field (body or query) or a JSON body')
    return _checked(Payload(_data_field(params["data"], raw), params, from_form=True))


def asks_verbose(body: bytes | None, query_string: str) -> bool:
    """Whether a request asks for the verbose answer, as :attr:`Payload.verbose` reads a decoded one:
    ``verbose=1`` in its form body or, when the body has none, in its query string.

    For the answer to a request refused before its records were decoded (a wrong secret, a body
    that is not base64): the Python SDK sends ``verbose=1`` in the form body and reads only the
    JSON answer, the Node SDK sends ``verbose=0`` in the query string and reads only ``1``/``0``.
    Only the ``verbose`` field is picked out, so a 10 MB body costs one split, no unescaping.
    """
    verbose = _fields(query_string).get("verbose")
    if body and b"verbose" in body and body.lstrip()[:1] not in (b"[", b"{") and not body.startswith(_GZIP_MAGIC):
        for pair in body.split(b"&"):
            key, _, value = pair.partition(b"=")
            if key == b"verbose":
                verbose = value.decode("utf-8", "replace")
    return verbose == "1"


def check_head(head: bytes, query_string: str, content_encoding: str = "") -> None:
    """Refuse a request from the first bytes of its body, before the rest arrives.

    A JSON body already nested past :data:`MAX_DEPTH` in ``head`` is refused as
    :func:`decode` would refuse it whole: no JSON nests less for going on. A compressed body
    is judged once inflated, by :func:`decode`.
    """
    stripped = head.lstrip()
    if not maybe_compressed(head, query_string, content_encoding) and stripped[:1] in (b"[", b"{"):
        _check_depth(stripped, "body")


def maybe_compressed(body: bytes, query_string: str, content_encoding: str = "") -> bool:
    """Whether :func:`decode` may inflate ``body``, judged before the query string is parsed:
    "gzip" anywhere in it counts, as 100 KB of gzip can hold 10 MB of JSON."""
    return "gzip" in content_encoding.lower() or "gzip" in query_string or body.startswith(_GZIP_MAGIC)


def json_depth(text: bytes) -> int:
    """How deep the JSON in ``text`` nests: at least as deep as any parser of it can go.

    Exact for a JSON document and for NDJSON; for other text an upper bound on what a parser
    reading it whole or line by line meets before its first error. One pass in C and numpy
    over the brackets outside strings (1.6 ms for a 900 KB batch of 2,000 events, where orjson
    takes 6 to parse it), with no recursion however deep the text.
    """
    if b"\\" in text:  # escaped backslashes, then escaped quotes (one byte is found 20x faster than two)
        text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    # What is left of the strings are their quotes and any brackets or newlines in them;
    # an empty pair of quotes leaves every other character as inside or outside as it was.
    kind = np.frombuffer(text.translate(None, _NOT_STRUCTURE).replace(b'""', b""), np.uint8)
    quotes = np.cumsum(kind == ord('"'), dtype=np.int32)
    newline = kind == ord("\n")
    if (quotes[newline] & 1).any():  # a line leaves a string open: JSON cannot, NDJSON lines are apart
        quotes -= np.maximum.accumulate(np.where(newline, quotes, 0))
    step = _STEP[kind]
    step[(quotes & 1) == 1] = 0
    level = np.cumsum(step, dtype=np.int32)
    if level.min(initial=0) < 0:  # more closed than opened: count from the lowest level before
        level -= np.minimum.accumulate(np.minimum(level, 0))
    return int(level.max(initial=0))


_STRUCTURE = b'[]{}"\n'
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in _STRUCTURE)
_STEP = np.zeros(256, np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def _check_depth(text: bytes, where: str) -> None:
    if (depth := json_depth(text)) > MAX_DEPTH:
        raise RequestError(f"{where} nests JSON {depth:,} levels deep (at most {MAX_DEPTH})")


def _checked(payload: Payload) -> Payload:
    if len(payload.records) > MAX_RECORDS:
        raise RequestError(f"{len(payload.records):,} records in one request (at most {MAX_RECORDS:,})", 413)
    return payload


def _too_large(size: int) -> RequestError:
    return RequestError(f"request is {size:,} bytes (at most {MAX_REQUEST_BYTES:,})", 413)


def _gunzip(body: bytes) -> bytes:
    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflate.decompress(body, MAX_REQUEST_BYTES + 1)
    except zlib.error as error:
        raise RequestError(f"body is not valid gzip: {error}") from None
    if len(data) > MAX_REQUEST_BYTES:
        raise _too_large(len(data))
    return data


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(f"{what} is not UTF-8 (byte {error.start})") from None


def _fields(encoded: str) -> dict[str, str]:
    """Form or query fields, the last value of each; ``+`` is a space, as browsers mean it.

    What ``urllib.parse.parse_qs(keep_blank_values=True)`` reads, faster: a browser's 50
    events are ~64 KB of escaped base64, which parse_qs took 130 µs to read on the event
    loop that every request shares.
    """
    fields = {}
    for pair in encoded.split("&"):
        if pair:
            key, _, value = pair.partition("=")
            fields[_unescaped(key)] = _unescaped(value)
    return fields


def _unescaped(text: str) -> str:
    """A form field's text: ``+`` a space, ``%XX`` the UTF-8 byte it stands for.

    As ``urllib.parse.unquote`` reads it, without the regular expression it runs over the
    whole text first (200 µs for 64 KB; this takes 30).
    """
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    return unquote_to_bytes(text.encode()).decode("utf-8", "replace")


def _data_field(value: str, raw: bool = False) -> Sequence[Any]:
    """``data=``: JSON as is (Python SDK, ``api_payload_format: 'json'``) or base64 of it."""
    text = value.strip()
    if text[:1] in ("[", "{"):
        data = text.encode()
    else:
        # Standard base64; a '+' that arrived unescaped was read as a space by form decoding.
        text = text.replace(" ", "+").replace("-", "+").replace("_", "/")
        try:  # pybase64: 3 µs for a browser's 64 KB, where the standard library took 140
            data = pybase64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except ValueError:  # binascii.Error, or a character that is not ASCII
            raise RequestError('"data" is neither JSON nor base64') from None
        _text(data, 'base64 "data"')
    _check_depth(data, '"data"')
    if raw:
        return _raw_records(data, '"data"')
    try:
        return _records(orjson.loads(data), '"data"')
    except orjson.JSONDecodeError as error:
        raise RequestError(f'"data" is not valid JSON: {error}') from None


def _json_body(body: bytes) -> list[Any]:
    """A JSON array or object, else NDJSON: one record per non-blank line."""
    try:
        return _records(orjson.loads(body), "body")
    except orjson.JSONDecodeError:
        pass
    records: list[Any] = []
    for line in body.splitlines():
        if line.strip():
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError as error:
                records.append(Unparsed(f"invalid JSON: {error}"))
    return records


def _raw_json_body(body: bytes) -> RawRecords:
    """:func:`_json_body`, each record kept as its text."""
    try:
        return _raw_records(body, "body")
    except RequestError:
        pass
    lines = _ndjson_lines(body)
    return RawRecords(lines, body if isinstance(lines, pa.Array) else None)


_BLANK = b" \t\r\n"


def _ndjson_lines(body: bytes) -> list[bytes] | pa.LargeBinaryArray:
    """An NDJSON body's non-blank lines.

    When every line starts with ``{`` (as every record of a well-formed body does), they are
    a zero-copy Arrow array over the body, split with numpy: a 2,000-event body then costs no
    Python object per line. Otherwise (blank lines, a line that is not an object) each line
    is copied out, blank ones left out.
    """
    end = len(body)
    while end and body[end - 1] in _BLANK:
        end -= 1
    if not end:
        return []
    byte = np.frombuffer(body, np.uint8, end)
    ends = np.append(np.flatnonzero(byte == ord("\n")) + 1, end)
    starts = np.concatenate(([0], ends[:-1]))
    if not (byte[starts] == ord("{")).all():
        return [line for line in body.splitlines() if line.strip()]
    offsets = np.concatenate(([0], ends)).astype(np.int64)
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(body)]
    )


_SPANS = msgspec.json.Decoder(list[msgspec.Raw] | dict[str, msgspec.Raw])


def _raw_records(text: bytes, where: str) -> RawRecords:
    """A JSON array's elements (or one object) as the text of each, split by msgspec."""
    try:
        value = _SPANS.decode(text)
    except msgspec.ValidationError:
        raise RequestError(f"{where} must be a JSON object or array of objects") from None
    except msgspec.DecodeError as error:
        raise RequestError(f"{where} is not valid JSON: {error}") from None
    if isinstance(value, dict):
        return RawRecords([text.strip()])
    return RawRecords([bytes(element) for element in value])


def _records(value: Any, where: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise RequestError(f"{where} must be a JSON object or array of objects")
