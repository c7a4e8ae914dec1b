"""``import_files``: formats, re-imports, bad lines with their places, and --strict."""

from __future__ import annotations

import gzip
import random
import time

import orjson
import pytest
from conftest import event, stored
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utmost.errors import InputError
from utmost.ingest import sources
from utmost.store import Store, importer, writer
from utmost.store.importer import import_files


def lines_of(records) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


RECORDS = [event(time=1_700_000_000 + i, distinct_id=f"d{i % 3}", **{"$insert_id": f"i{i}"}) for i in range(10)]


@pytest.mark.parametrize("form", ["jsonl", "gz", "array", "array.gz", "no-final-newline"])
def test_formats(store, tmp_path, form):
    body = {
        "jsonl": lines_of(RECORDS),
        "no-final-newline": lines_of(RECORDS).rstrip(b"\n"),
        "gz": gzip.compress(lines_of(RECORDS)),
        "array": orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2),
        "array.gz": gzip.compress(orjson.dumps(RECORDS)),
    }[form]
    path = tmp_path / f"export.{form}"
    path.write_bytes(body)
    report = import_files(store, "default", [path])
    assert (report.imported, report.duplicates, report.rejected) == (10, 0, 0)
    assert [r["insert_id"] for r in stored(store, "insert_id")] == [f"i{i}" for i in range(10)]


def test_reimport_adds_nothing(store, tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_bytes(lines_of(RECORDS + RECORDS[:3]))
    first = import_files(store, "default", [path])
    again = import_files(store, "default", [path, path])
    assert (first.imported, first.duplicates) == (10, 3)
    assert (again.imported, again.duplicates) == (0, 26)
    assert len(stored(store)) == 10


def test_duplicates_across_chunks(store, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "BLOCK_BYTES", 300)  # many small chunks
    path = tmp_path / "export.jsonl"
    path.write_bytes(lines_of(RECORDS + RECORDS))
    report = import_files(store, "default", [path])
    assert (report.imported, report.duplicates) == (10, 10)


def test_a_copy_at_the_edge_of_the_stored_times_is_found(tmp_path, monkeypatch):
    # A chunk looks into the stored events only when one of them falls within its times (so an
    # import in time order skips that join); a copy of the last event stored, at the same
    # instant, is within them. In chunks of 2-3 lines each copy lands in its original's chunk
    # or the next: the copies within a chunk are found apart from the store. The $merge events
    # have no distinct_id, which the rule compares as a value of its own.
    monkeypatch.setattr(sources, "BLOCK_BYTES", 300)
    monkeypatch.setattr(importer, "INSERT_ROWS", 1)
    merges = [
        {"event": "$merge", "properties": {"time": 1_700_000_000 + i, "$distinct_ids": [f"d{i}", f"$device:{i}"], "$insert_id": "m"}}
        for i in (3, 7)
    ]
    records = sorted(RECORDS + merges, key=lambda r: r["properties"]["time"])
    for k in range(len(records)):
        path = tmp_path / f"copy-{k}.jsonl"
        path.write_bytes(lines_of(records[: k + 1] + records[k:]))
        with Store(tmp_path / f"copy-{k}.duckdb") as store:
            report = import_files(store, "default", [path])
            assert (report.imported, report.duplicates) == (12, 1), k
            assert len(stored(store)) == 12


@pytest.mark.parametrize("bound", ["rows", "bytes"])
def test_chunks_are_inserted_in_groups_bounded_by_rows_or_bytes(store, tmp_path, monkeypatch, bound):
    monkeypatch.setattr(sources, "BLOCK_BYTES", 300)  # chunks of 2-3 lines
    monkeypatch.setattr(importer, "INSERT_ROWS", 5 if bound == "rows" else 10**9)
    monkeypatch.setattr(importer, "INSERT_BYTES", 10**12 if bound == "rows" else 1)
    inserted = []
    real = importer.fresh_rows
    monkeypatch.setattr(importer, "fresh_rows", lambda con, numbering, project, judged: inserted.append(judged.staged.num_rows) or real(con, numbering, project, judged))
    path = tmp_path / "export.jsonl"
    path.write_bytes(lines_of(RECORDS + RECORDS))
    report = import_files(store, "default", [path])
    assert (report.imported, report.duplicates) == (10, 10)  # copies in other inserts found too
    chunks = [chunk.lines.num_rows for chunk in sources.open_source(path).chunks()]
    assert sum(inserted) == 20
    if bound == "rows":
        assert all(5 <= rows < 5 + max(chunks) for rows in inserted[:-1]) and len(inserted) > 1
    else:
        assert inserted == chunks


def test_commits_hold_whole_row_groups_so_duckdb_keeps_what_it_wrote(store, tmp_path, monkeypatch):
    """Every commit but the last stores exactly ``COMMIT_ROWS`` new rows, cut inside chunks.

    Visible in the file before any checkpoint: every row group but the last is full. Commits
    of other sizes leave part-filled row groups between full ones (and a checkpoint that
    writes the table again).
    """
    monkeypatch.setattr(importer, "COMMIT_ROWS", importer.ROW_GROUP_ROWS)
    events = 200_000
    lines = []  # (line number, event number): every 7th event is sent twice; one line is bad
    body = bytearray()
    for n in range(events):
        line = orjson.dumps({"event": "e", "properties": {"time": 1_700_000_000 + n, "distinct_id": "d", "$insert_id": f"i{n}"}})
        for _ in range(2 if n % 7 == 0 else 1):
            body += line + b"\n"
            lines.append(n)
        if n == 150_000:
            body += b'{"event": "e"}\n'
            lines.append(None)
    path = tmp_path / "export.jsonl"
    path.write_bytes(bytes(body))
    report = import_files(store, "default", [path])
    assert (report.imported, report.duplicates, report.rejected) == (events, len(range(0, events, 7)), 1)
    groups = store.reader().sql(
        "SELECT row_group_id, max(count) FROM pragma_storage_info('events') WHERE column_name = 'seq' GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert [rows for _, rows in groups[:-1]] == [importer.ROW_GROUP_ROWS] * (events // importer.ROW_GROUP_ROWS)
    first_line = {}
    for lineno, n in enumerate(lines, 1):
        first_line.setdefault(n, lineno)
    stored_seq = store.reader().sql("SELECT insert_id, seq FROM events").fetchall()
    assert len({seq - first_line[int(insert_id[1:])] for insert_id, seq in stored_seq}) == 1  # seq follows the lines


def test_bad_lines_are_reported_with_file_and_line(store, tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_bytes(lines_of(RECORDS[:2]) + b"{oops\n\n" + lines_of(RECORDS[2:4]) + b'{"event": ""}\n')
    report = import_files(store, "default", [path])
    assert report.problems == [f"{path}:3: invalid JSON", f'{path}:7: empty "event"']
    assert (report.imported, report.rejected) == (4, 2)


def test_only_the_first_20_bad_lines_are_listed(store, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "BLOCK_BYTES", 64)
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"{x\n" * 45 + lines_of(RECORDS[:1]))
    report = import_files(store, "default", [path])
    assert report.rejected == 45 and len(report.problems) == 20
    assert report.problems[-1] == f"{path}:20: invalid JSON"


def test_array_elements_are_named_as_elements(store, tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps([RECORDS[0], {"event": "E"}]))
    report = import_files(store, "default", [path])
    assert report.problems == [f'{path}:element 2: missing "properties"']


def test_broken_array_keeps_what_came_before(store, tmp_path):
    many = [event(n=i, **{"$insert_id": f"i{i}"}) for i in range(3000)]
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(many)[:-1] + b", {oops")
    report = import_files(store, "default", [path])
    assert (report.imported, report.rejected) == (3000, 1)
    assert report.problems == [f"{path}: invalid JSON array after element 3000: lexical error: invalid char in json text."]


def test_strict_imports_nothing_when_any_line_is_bad(store, tmp_path):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_bytes(lines_of(RECORDS))
    bad.write_bytes(lines_of(RECORDS[:1]) + b"{oops\n")
    report = import_files(store, "default", [good, bad], strict=True)
    assert report.checked_only and report.rejected == 1 and report.problems == [f"{bad}:2: invalid JSON"]
    assert stored(store) == []
    assert import_files(store, "default", [good], strict=True).imported == 10


def test_missing_file_is_an_input_error(store, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        import_files(store, "default", [tmp_path / "nope.jsonl"])


def test_progress_reports_every_byte_and_event(store, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "BLOCK_BYTES", 200)
    path = tmp_path / "export.jsonl"
    path.write_bytes(lines_of(RECORDS))
    seen = []
    import_files(store, "default", [path], progress=lambda b, n: seen.append((b, n)))
    assert sum(b for b, _ in seen) == path.stat().st_size and sum(n for _, n in seen) == 10


@pytest.mark.parametrize("strict", [False, True])
def test_the_switch_interval_is_short_while_importing_and_restored_after(store, tmp_path, strict):
    import sys

    path = tmp_path / "export.jsonl"
    path.write_bytes(lines_of(RECORDS) + b"{oops\n")  # strict: checked, then nothing imported
    before = sys.getswitchinterval()
    during = []
    import_files(store, "default", [path], strict=strict, progress=lambda b, n: during.append(sys.getswitchinterval()))
    assert during and set(during) == {writer.SWITCH_INTERVAL} != {before}
    assert sys.getswitchinterval() == before


MIXED = [event(time=1_700_000_000 + i % 4, distinct_id=f"d{i % 2}", **({"$insert_id": f"x{i % 5}"} if i % 3 else {}))
         for i in range(12)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(MIXED))), copies=st.lists(st.integers(0, len(MIXED) - 1), max_size=12),
       seed=st.integers(0, 2**16))
def test_any_shuffle_or_duplication_stores_the_same_events(tmp_path_factory, order, copies, seed):
    """Property: the stored set depends only on the set of distinct events in the file."""
    folder = tmp_path_factory.mktemp("prop")
    reference = folder / "reference.jsonl"
    reference.write_bytes(lines_of(MIXED))
    lines = [MIXED[i] for i in order] + [MIXED[i] for i in copies]
    random.Random(seed).shuffle(lines)
    shuffled = folder / "shuffled.jsonl"
    shuffled.write_bytes(lines_of(lines))
    key = "event, distinct_id, time, insert_id"
    results = []
    for path in (reference, shuffled):
        with Store(folder / f"{path.stem}.duckdb") as store:
            import_files(store, "default", [path])
            import_files(store, "default", [path])  # and re-importing changes nothing
            results.append(sorted(tuple(r.values()) for r in stored(store, key)))
    assert results[0] == results[1]


def test_live_rounds_and_an_import_share_one_numbering_and_one_duplicate_rule(store, tmp_path):
    # An import numbers its lines from the store's counter, after the live rounds before it, and
    # stores without telling the live rounds' recent keys: a live copy of an imported event,
    # sent after, must still be found stored (and a live event before, in the file, too).
    now = int(time.time())
    live = [event(time=now, distinct_id="a", **{"$insert_id": "live1"}),
            event(time=now + 1, distinct_id="a", **{"$insert_id": "live2"})]
    imported = [event(time=now + 2, distinct_id="b", **{"$insert_id": "file1"}),
                event(time=now + 3, distinct_id="b", **{"$insert_id": "file2"})]
    assert store.append("default", list(enumerate(live, 1))).result() == []
    path = tmp_path / "export.jsonl"
    path.write_bytes(lines_of([live[1], *imported]))
    report = import_files(store, "default", [path])
    assert (report.imported, report.duplicates) == (2, 1)
    later = event(time=now + 4, distinct_id="a", **{"$insert_id": "live3"})
    assert store.append("default", [(1, imported[0]), (2, later)]).result() == []
    rows = sorted(stored(store, "insert_id, seq"), key=lambda r: r["seq"])
    # seq: the live rounds 1 and 2; the file's lines 1-3 as 3-5 (its first, a copy, leaves 3
    # unused); the last round's lines 1-2 as 6-7, its first a copy (6 unused).
    assert [(r["insert_id"], r["seq"]) for r in rows] == [
        ("live1", 1), ("live2", 2), ("file1", 4), ("file2", 5), ("live3", 7)]
