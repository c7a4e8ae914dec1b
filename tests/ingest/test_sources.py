"""``sources``: a JSONL file comes back as its lines, numbered, whatever the block size."""

from __future__ import annotations

import gzip

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utmost.ingest import sources

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


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(0, 9000), min_size=1, max_size=40),
    final_newline=st.booleans(),
    block=st.sampled_from([1, 100, 4095, 4096, 4097, 10_000, 65_536]),
)
def test_mapped_blocks_past_page_boundaries_give_back_every_line(tmp_path_factory, monkeypatch, sizes, final_newline, block):
    # Mappings start at a multiple of mmap.ALLOCATIONGRANULARITY: lines of up to 9 kB cross many.
    monkeypatch.setattr(sources, "BLOCK_BYTES", block)
    lines = [bytes([65 + n % 26]) * size for n, size in enumerate(sizes)]
    body = b"\n".join(lines) + (b"\n" if final_newline else b"")
    path = tmp_path_factory.mktemp("source") / "events.jsonl"
    path.write_bytes(body)
    read = [line for chunk in sources.Source(path, "line").chunks() for line in chunk.lines.column("line").to_pylist()]
    *whole, last = body.split(b"\n")
    assert read == [line + b"\n" for line in whole] + ([last] if last else [])
