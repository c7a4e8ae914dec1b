"""Where an export writes: a local folder or a URL that one of pyarrow's filesystems opens.

``utmost export --parquet`` takes a folder (``events``, ``/data/events``) or a URL:
``file://``, ``s3://`` (``s3a://``, Spark's name for it, means the same), ``gs://``,
``hdfs://host:port/path``, and whatever else :func:`pyarrow.fs.FileSystem.from_uri` knows,
with that function's query options; an S3 URL takes those of :data:`S3_OPTIONS`
(``s3a://bucket/events?region=eu-west-1``, ``?endpoint_override=host:port&scheme=http`` for
an S3-compatible store).
Credentials come from where each filesystem's own library looks (``AWS_*`` variables, Google's
application default credentials, Hadoop's configuration), never from utmost.

Opening a URL can cost a round trip (S3 asks for a bucket's region when the URL names none),
so the errors of opening are the first a user sees of an unreachable destination: they are
:class:`~utmost.errors.InputError`\\ s that name the destination.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from utmost.errors import InputError

#: Schemes that are other names of one pyarrow knows.
ALIASES = {"s3a": "s3", "s3n": "s3"}
#: Query options added to a URL of these schemes unless it gives them. Left to retry as long as
#: it likes, Google's client held a machine without a route to Google for over a minute (seen,
#: then stopped) where a person wants to hear why.
DEFAULT_OPTIONS = {"gs": {"retry_limit_seconds": "30"}, "gcs": {"retry_limit_seconds": "30"}}
#: What an error names as the schemes it takes (pyarrow takes a few more).
KNOWN = "a folder, file://, s3://, s3a://, gs:// or hdfs://"
#: The query options of an S3 URL, each with how its text is read.
S3_OPTIONS: dict[str, Callable[[str], Any]] = {
    "region": str, "endpoint_override": str, "scheme": str, "connect_timeout": float, "request_timeout": float,
}
#: Seconds. The AWS client's own waits, with its three attempts, held ``utmost export`` for 100 s
#: on a server that accepted the connection and never answered (seen on loopback); with these,
#: 32 s. ``request_timeout`` is how long no byte may flow, not the length of an upload.
S3_TIMEOUTS = {"connect_timeout": 5.0, "request_timeout": 10.0}


@dataclass(frozen=True)
class Destination:
    """A folder on a filesystem: ``root`` is its path there, ``shown`` what the user wrote."""

    filesystem: pafs.FileSystem
    root: str
    shown: str

    def path(self, *parts: str) -> str:
        """The path of ``parts`` under the root, as the filesystem spells paths (``/``)."""
        return "/".join((self.root.rstrip("/"), *parts))


def absolute_destination(destination: str) -> str:
    """A folder made absolute (a command may hand it to a server with another working
    folder); a URL as it is.

    >>> absolute_destination("s3a://bucket/events") == "s3a://bucket/events" and absolute_destination("x").startswith("/")
    True
    """
    return destination if _scheme(destination) else os.path.abspath(destination)


def pyarrow_uri(destination: str) -> str:
    """The URI pyarrow opens for ``destination``: aliases renamed, default options added.

    >>> pyarrow_uri("s3a://bucket/events?region=eu-west-1")
    's3://bucket/events?region=eu-west-1'
    >>> pyarrow_uri("gs://bucket/events")
    'gs://bucket/events?retry_limit_seconds=30'
    """
    scheme = _scheme(destination)
    if not scheme:
        return os.path.abspath(destination)
    parts = urlsplit(destination)
    name = ALIASES.get(scheme, scheme)
    options = dict(DEFAULT_OPTIONS.get(name, {})) | dict(parse_qsl(parts.query, keep_blank_values=True))
    query = f"?{urlencode(options)}" if options else ""
    return f"{name}://{destination[len(scheme) + 3:].partition('?')[0]}{query}"


def open_destination(destination: str) -> Destination:
    """The filesystem and folder of ``destination``, or an :class:`InputError` that says which
    part of it pyarrow refused: an unknown scheme or option, or a filesystem that cannot be
    opened here (no Java for HDFS, no answer from S3)."""
    uri = pyarrow_uri(destination)
    scheme = _scheme(uri)
    try:
        if scheme == "s3":
            return Destination(*_s3(uri, destination), destination)
        filesystem, root = pafs.FileSystem.from_uri(uri)
    except pa.ArrowInvalid as error:
        if "Unrecognized filesystem type" in str(error):
            raise InputError(f"{destination}: unknown scheme {_scheme(destination)}://; expected {KNOWN}") from None
        raise InputError(f"{destination}: {first_line(error)}") from None
    except (OSError, pa.ArrowException) as error:
        raise InputError(f"{destination}: cannot open it: {first_line(error)}") from None
    return Destination(filesystem, root, destination)


def _s3(uri: str, shown: str) -> tuple[pafs.S3FileSystem, str]:
    """The S3 filesystem of an ``s3://bucket/prefix?option=…`` URI, with :data:`S3_TIMEOUTS`
    unless it gives its own. Without a region or an endpoint, S3 is asked the bucket's region,
    as pyarrow's own ``from_uri`` does (a request to another region's endpoint fails)."""
    parts = urlsplit(uri)
    given = dict(parse_qsl(parts.query, keep_blank_values=True))
    if unknown := sorted(set(given) - set(S3_OPTIONS)):
        raise InputError(f"{shown}: unknown option {unknown[0]!r}; an S3 URL takes {', '.join(S3_OPTIONS)}")
    if not parts.netloc:
        raise InputError(f"{shown}: no bucket; expected s3://BUCKET/FOLDER")
    try:
        options = S3_TIMEOUTS | {name: S3_OPTIONS[name](value) for name, value in given.items()}
    except ValueError:
        raise InputError(f"{shown}: a timeout is a number of seconds") from None
    if "region" not in options and "endpoint_override" not in options:
        options["region"] = pafs.resolve_s3_region(parts.netloc)
    return pafs.S3FileSystem(**options), f"{parts.netloc}{parts.path}".rstrip("/")


def first_line(error: BaseException) -> str:
    """The first line of an error's message: pyarrow's go on with details one line cannot hold."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _scheme(destination: str) -> str:
    """The lower-cased scheme of a URL, or "" for a path (``backup:old`` is a folder's name)."""
    head, separator, _ = destination.partition("://")
    return head.lower() if separator and head.replace("+", "").replace("-", "").isalnum() else ""
