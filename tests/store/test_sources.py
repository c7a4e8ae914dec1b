"""``sources``: a JSONL file comes back as its lines, numbered, whatever the block size."""

from __future__ import annotations

import gzip

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utmost.store import sources

# Any bytes but a newline; never gzip's magic number first (the file would be read as gzip).
LINE = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" ").replace(b"\x1f", b" "))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(LINE, min_size=1, max_size=30),
    final_newline=st.booleans(),
    zipped=st.booleans(),
    block=st.integers(1, 64),
)
def test_blocks_give_back_every_line_once_in_order(tmp_path_factory, monkeypatch, lines, final_newline, zipped, block):
    monkeypatch.setattr(sources, "BLOCK_BYTES", block)
    body = b"\n".join(lines) + (b"\n" if final_newline else b"")
    path = tmp_path_factory.mktemp("source") / "events.jsonl"
    path.write_bytes(gzip.compress(body) if zipped else body)
    chunks = list(sources.Source(path, "line").chunks())
    read = [line for chunk in chunks for line in chunk.lines.column("line").to_pylist()]
    numbers = [n for chunk in chunks for n in chunk.lines.column("lineno").to_pylist()]
    *whole, last = body.split(b"\n")
    assert read == [line + b"\n" for line in whole] + ([last] if last else [])  # newlines kept
    assert numbers == list(range(1, len(read) + 1))
    assert [chunk.done_bytes for chunk in chunks] == sorted(chunk.done_bytes for chunk in chunks)
