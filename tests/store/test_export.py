"""The Parquet export: one folder per date, and a later export to the same place rewrites only
the dates whose events changed (new ones, a person deleted), checked file by file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import msgspec
import pyarrow.parquet as pq
import pytest
from conftest import event, raw_lines, stored
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utmost.engine import delete_person
from utmost.errors import InputError
from utmost.store import Exported, Store
from utmost.store.export import MANIFEST

T0 = 1_772_323_200  # 2026-03-01 00:00 UTC
HOUR, DAY = 3600, 86400
#: Maya visits on the 1st and the 3rd; Tom on the 1st and the 2nd, when he books.
EVENTS = [
    event(time=T0 + 9 * HOUR, distinct_id="maya"),
    event(time=T0 + 10 * HOUR, distinct_id="tom"),
    event(time=T0 + DAY + 12 * HOUR, distinct_id="tom"),
    event("Reservation Completed", time=T0 + DAY + 13 * HOUR, distinct_id="tom"),
    event(time=T0 + 2 * DAY + 8 * HOUR, distinct_id="maya"),
]
FILES = ["date=2026-03-01/part-0.parquet", "date=2026-03-02/part-0.parquet", "date=2026-03-03/part-0.parquet"]


def add(store: Store, records: list[dict]) -> None:
    store.insert_lines("default", raw_lines(records)).result()


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file under ``folder`` by its relative path: (inode, mtime), which a rewrite changes."""
    return {str(path.relative_to(folder)): (path.stat().st_ino, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def changed(before: dict, after: dict) -> list[str]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def rows(folder: Path) -> list[dict]:
    """The exported events, ``date`` (the folder's) included, in ``seq`` order."""
    if not any(folder.glob("date=*")):
        return []
    return pq.read_table(folder).sort_by("seq").to_pylist()


@pytest.fixture
def exported(store, tmp_path):
    add(store, EVENTS)
    assert store.export_parquet("default", tmp_path / "out") == Exported(5, 3, 0, 0)
    return store, tmp_path / "out"


def test_the_first_export_writes_a_folder_per_date_and_the_manifest(exported):
    store, out = exported
    assert list(files(out)) == [MANIFEST, *FILES]
    back = rows(out)
    assert [str(row.pop("date")) for row in back] == ["2026-03-01"] * 2 + ["2026-03-02"] * 2 + ["2026-03-03"]
    assert back == stored(store)


def test_an_export_with_nothing_new_writes_nothing(exported):
    store, out = exported
    before = files(out)
    assert store.export_parquet("default", out) == Exported(5, 0, 3, 0)
    assert files(out) == before


def test_new_events_on_one_date_rewrite_that_date_alone(exported):
    store, out = exported
    before = files(out)
    add(store, [event(time=T0 + DAY + 20 * HOUR, distinct_id="ana")])
    assert store.export_parquet("default", out) == Exported(6, 1, 2, 0)
    assert changed(before, files(out)) == [MANIFEST, "date=2026-03-02/part-0.parquet"]
    assert [row["distinct_id"] for row in rows(out)] == ["maya", "tom", "tom", "tom", "maya", "ana"]


def test_deleting_a_person_rewrites_their_dates_and_removes_a_date_left_empty(exported):
    store, out = exported
    before = files(out)
    assert delete_person(store, "default", "maya").events == 2
    assert store.export_parquet("default", out) == Exported(3, 1, 1, 1)
    assert changed(before, files(out)) == [MANIFEST, "date=2026-03-01/part-0.parquet", "date=2026-03-03/part-0.parquet"]
    assert not (out / "date=2026-03-03").exists()
    assert [row["distinct_id"] for row in rows(out)] == ["tom"] * 3


def test_a_date_with_as_many_events_as_before_but_other_ones_is_rewritten(exported):
    """Maya's visit on the 3rd deleted, Ana's added the same day: the count is the same, the
    fingerprint is not."""
    store, out = exported
    delete_person(store, "default", "maya")
    add(store, [event(time=T0 + 9 * HOUR, distinct_id="ana"), event(time=T0 + 2 * DAY + 9 * HOUR, distinct_id="ana")])
    assert store.export_parquet("default", out) == Exported(5, 2, 1, 0)
    assert [row["distinct_id"] for row in rows(out)] == ["tom", "tom", "tom", "ana", "ana"]


@pytest.mark.parametrize("manifest", [
    b"{", b"[]", b"", b"\xff\xfe",
    b'{"format": 2, "project": "default", "columns": [], "dates": {}}',
])
def test_a_manifest_that_cannot_be_believed_means_every_date_is_rewritten(exported, manifest):
    store, out = exported
    (out / MANIFEST).write_bytes(manifest)
    before = files(out)
    assert store.export_parquet("default", out) == Exported(5, 3, 0, 0)
    assert changed(before, files(out)) == [MANIFEST, *FILES]


@pytest.mark.parametrize(("field", "value"), [("format", 2), ("project", "hotel"), ("columns", ["seq int64"])])
def test_another_format_project_or_set_of_columns_means_every_date_is_rewritten(exported, field, value):
    store, out = exported
    manifest = msgspec.json.decode((out / MANIFEST).read_bytes())
    (out / MANIFEST).write_bytes(msgspec.json.encode({**manifest, field: value}))
    assert store.export_parquet("default", out) == Exported(5, 3, 0, 0)


def test_a_missing_manifest_rewrites_every_date_and_clears_an_older_layout(store, tmp_path):
    """A folder the DuckDB ``COPY … PARTITION_BY`` export wrote: its files are replaced, a date
    that has no events any more is removed, and what is not a date's folder is left alone."""
    out = tmp_path / "out"
    for name in ("date=2026-02-27/data_0.parquet", "date=2026-03-01/data_0.parquet", "notes/readme.txt"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(b"old")
    add(store, EVENTS)
    assert store.export_parquet("default", out) == Exported(5, 3, 0, 1)
    assert list(files(out)) == [MANIFEST, *FILES, "notes/readme.txt"]


def test_a_write_that_fails_midway_leaves_a_manifest_that_names_only_what_is_on_disk(exported):
    """The 1st is rewritten, then the 3rd cannot be (a folder where its file is written): the
    manifest no longer names either, so the next export rewrites both and no more."""
    store, out = exported
    add(store, [event(time=T0 + 11 * HOUR, distinct_id="ana"), event(time=T0 + 2 * DAY + 9 * HOUR, distinct_id="ana")])
    (out / "date=2026-03-03" / ".part-0.parquet.partial").mkdir()
    with pytest.raises(InputError, match=r"/out: cannot write there: .* \(the dates written so far are kept; the next"):
        store.export_parquet("default", out)
    assert sorted(msgspec.json.decode((out / MANIFEST).read_bytes())["dates"]) == ["2026-03-02"]
    (out / "date=2026-03-03" / ".part-0.parquet.partial").rmdir()
    assert store.export_parquet("default", out) == Exported(7, 2, 1, 0)
    assert rows(out) == rows_of_a_fresh_export(store, out.parent / "fresh")


def test_a_file_url_writes_what_a_folder_does(exported):
    store, out = exported
    assert store.export_parquet("default", f"file://{out.parent / 'url'}") == Exported(5, 3, 0, 0)
    assert list(files(out.parent / "url")) == list(files(out))
    assert rows(out.parent / "url") == rows(out)


def test_a_destination_that_is_a_file_is_refused(store, tmp_path):
    (tmp_path / "events").write_bytes(b"")
    with pytest.raises(InputError, match=r"/events: a file, not a folder; give a folder"):
        store.export_parquet("default", tmp_path / "events")


def rows_of_a_fresh_export(store: Store, folder: Path) -> list[dict]:
    done = store.export_parquet("default", folder)
    assert (done.unchanged, done.removed) == (0, 0)
    return rows(folder)


PEOPLE = ("maya", "tom", "ana")
STEPS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 4), st.sampled_from(PEOPLE), st.integers(1, 3)),
    st.tuples(st.just("delete"), st.sampled_from(PEOPLE)),
    st.just(("export",)),
), max_size=12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_after_any_adds_and_deletes_an_export_holds_what_a_fresh_one_does(steps):
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "t.duckdb") as store:
        out, made = Path(folder) / "out", 0
        for number, step in enumerate([*steps, ("export",)]):
            if step[0] == "add":
                _, day, person, count = step
                add(store, [event(time=T0 + day * DAY + made + n, distinct_id=person, **{"$insert_id": f"i{made + n}"})
                            for n in range(count)])
                made += count
            elif step[0] == "delete":
                seqs = [row["seq"] for row in stored(store, "seq, distinct_id") if row["distinct_id"] == step[1]]
                store.delete("default", seqs, [])
            else:
                done = store.export_parquet("default", out)
                fresh = rows_of_a_fresh_export(store, Path(folder) / f"fresh{number}")
                assert rows(out) == fresh and done.events == len(fresh) == len(stored(store))
                dates = sorted(path.name for path in out.glob("date=*"))
                assert dates == sorted(path.name for path in (Path(folder) / f"fresh{number}").glob("date=*"))
                assert done.rewritten + done.unchanged == len(dates)
                assert store.export_parquet("default", out) == Exported(done.events, 0, len(dates), 0)
