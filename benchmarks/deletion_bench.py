"""What deleting one person costs, and the question after it, against rebuilding the derived tables.

    python benchmarks/deletion_bench.py [--events 10000000] [--data bench-data]

On a copy of the attribution benchmark's database (``attribution_bench.py``, cached under
--data) whose booking is a key event and whose derived tables are current, each step in a fresh
process, so that time and peak RSS are its own:

1. **question before**: the dashboard's question (first, last and linear touch on the booking);
2. **delete one person**: ``delete_person`` of the file's first signed-in user, which reads who
   they are from the derived tables and takes them out of them (``engine/maintained.py``,
   ``_take_out_deleted``);
3. **question after**: the same question;
4. **baseline, rebuilt**: the derived tables dropped (what a deletion did before) and the same
   question, which builds them again from every event.

The table gives each step's seconds, peak RSS and seconds as a ratio of the question before.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from attribution_bench import make_database  # noqa: E402
from scale_bench import measure  # noqa: E402

from utmost.access import set_key_events  # noqa: E402
from utmost.backends import DuckDBBackend  # noqa: E402
from utmost.engine import keep_up  # noqa: E402
from utmost.store import Store  # noqa: E402

CONVERSION = "Reservation Completed"
ASK = f"""
from utmost.api import answer
from utmost.engine import make_options
from utmost.store import Store
with Store(sys.argv[1]) as store:
    answer(store, make_options({CONVERSION!r}, models="first_touch,last_touch,linear"), per_conversion=False)
"""
DELETE = """
from utmost.engine import delete_person
from utmost.store import Store
with Store(sys.argv[1]) as store:
    print(delete_person(store, store.project().name, {person!r}), file=sys.stderr)
"""
DROP = """
from utmost.backends import DuckDBBackend
from utmost.engine import maintained
from utmost.store import Store
with Store(sys.argv[1]) as store:
    with DuckDBBackend.of(store).maintenance() as writable:
        maintained.forget(writable, store.project().name)
"""


def prepared(data: Path, events: int) -> tuple[Path, str]:
    """A copy of the benchmark database with the booking a key event and its derived tables
    current, and the id of its first signed-in user."""
    db = data / f"deletion-{events}.duckdb"
    shutil.copyfile(make_database(data, events), db)
    with Store(db) as store:
        project = store.project().name
        set_key_events(store, name=project, events=[CONVERSION])
        keep_up(DuckDBBackend.of(store), project)
        ((person,),) = store.reader().execute("SELECT min(user_id) FROM events WHERE user_id <> ''").fetchall()
    return db, person


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    db, person = prepared(args.data, args.events)
    try:
        steps = [("question before", ASK), (f"delete one person ({person})", DELETE.format(person=person)),
                 ("question after", ASK)]
        rows = [(name, *measure(body, db)) for name, body in steps]
        measure(DROP, db)
        rows.append(("baseline: tables dropped, question rebuilds them", *measure(ASK, db)))
    finally:
        for leftover in (db, db.with_name(db.name + ".wal")):
            leftover.unlink(missing_ok=True)
    table = Table(title=f"{args.events:,} events, each step a fresh process")
    for column in ("step", "seconds", "peak RSS", "÷ question before"):
        table.add_column(column, justify="left" if column == "step" else "right")
    before = rows[0][1]
    for name, seconds, peak in rows:
        table.add_row(name, f"{seconds:.2f}", f"{peak:,.0f} MiB", f"{seconds / before:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
