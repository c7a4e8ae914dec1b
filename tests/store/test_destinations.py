"""Where an export writes: folders and URLs mapped to pyarrow's filesystems, and the one-line
errors of a destination that cannot be opened or reached (on loopback: this machine has no
route to S3)."""

from __future__ import annotations

import os
import socket
import time

import pyarrow.fs as pafs
import pytest

from utmost.errors import InputError
from utmost.store.destinations import absolute_destination, open_destination


@pytest.mark.parametrize("url", ["s3a://bucket/events/", "s3://bucket/events", "S3A://bucket/events", "s3n://bucket/events"])
def test_s3a_is_pyarrows_s3(url):
    found = open_destination(f"{url}?region=eu-west-1")
    assert isinstance(found.filesystem, pafs.S3FileSystem)
    assert (found.filesystem.region, found.root, found.shown) == ("eu-west-1", "bucket/events", f"{url}?region=eu-west-1")


def test_an_s3_compatible_store_is_named_by_its_endpoint():
    found = open_destination("s3a://bucket/a/b?endpoint_override=127.0.0.1:9000&scheme=http")
    assert isinstance(found.filesystem, pafs.S3FileSystem) and found.root == "bucket/a/b"


@pytest.mark.parametrize(("given", "root"), [("file:///data/events", "/data/events"), ("/data/events", "/data/events"),
                                             ("events", os.path.join(os.getcwd(), "events"))])
def test_a_folder_and_a_file_url_are_the_local_filesystem(given, root):
    found = open_destination(given)
    assert isinstance(found.filesystem, pafs.LocalFileSystem) and found.root == root


@pytest.mark.parametrize(("given", "made"), [("events", os.path.join(os.getcwd(), "events")),
                                             ("backup:old", os.path.join(os.getcwd(), "backup:old")),
                                             ("/data/events", "/data/events"),
                                             ("s3a://bucket/events?region=eu-west-1", "s3a://bucket/events?region=eu-west-1")])
def test_absolute_makes_a_folder_absolute_and_leaves_a_url(given, made):
    assert absolute_destination(given) == made


@pytest.mark.parametrize(("given", "message"), [
    ("ftp://host/events", "ftp://host/events: unknown scheme ftp://; expected a folder, file://, s3://, s3a://, gs:// "
                          "or hdfs://"),
    ("s3a://bucket/events?region=eu-west-1&acl=public", "s3a://bucket/events?region=eu-west-1&acl=public: unknown option"
     " 'acl'; an S3 URL takes region, endpoint_override, scheme, connect_timeout, request_timeout"),
    ("s3a://bucket/events?region=eu-west-1&connect_timeout=soon", "s3a://bucket/events?region=eu-west-1&"
     "connect_timeout=soon: a timeout is a number of seconds"),
    ("s3a:///events?region=eu-west-1", "s3a:///events?region=eu-west-1: no bucket; expected s3://BUCKET/FOLDER"),
])
def test_a_destination_pyarrow_cannot_open_is_one_line_that_names_it(given, message):
    with pytest.raises(InputError) as raised:
        open_destination(given)
    assert str(raised.value) == message


def test_hdfs_without_java_says_so():
    """No JVM (libjvm) on this machine for pyarrow's HDFS client: said, not a traceback."""
    with pytest.raises(InputError, match=r"^hdfs://127.0.0.1:9/events: cannot open it: \S.*$"):
        open_destination("hdfs://127.0.0.1:9/events")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable_s3() -> str:
    return f"s3a://bucket/events?endpoint_override=127.0.0.1:{closed_port()}&scheme=http&region=us-east-1"


def test_an_unreachable_s3_is_said_in_seconds(store):
    """Refused at each of the AWS client's three attempts: 2 s here (6 s with pyarrow's own timeouts)."""
    url, started = unreachable_s3(), time.perf_counter()
    with pytest.raises(InputError) as raised:
        store.export_parquet("default", url)
    assert time.perf_counter() - started < 20
    assert str(raised.value).startswith(f"{url}: cannot reach it: ") and "\n" not in str(raised.value)
    assert "Could not connect to server" in str(raised.value)
