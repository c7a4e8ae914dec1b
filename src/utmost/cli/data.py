"""The commands that move events in or out: ``import``, ``export``, ``people delete``, ``compact``."""

from __future__ import annotations

import sys
import time

import click
from rich.markup import escape

from utmost.cli.shell import (
    cli,
    db_option,
    import_into,
    out,
    print_import_report,
    project_option,
    reports_errors,
)
from utmost.store import default_path


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@db_option()
@project_option
@click.option("--strict", is_flag=True, help="Any bad line imports nothing and exits non-zero.")
@reports_errors
def import_command(paths: tuple[str, ...], db: str | None, project: str, strict: bool) -> None:
    """Import Mixpanel export files: JSONL (one {"event", "properties"} per line), .gz, or a JSON array.

    Duplicates (same event, distinct_id, time and $insert_id) are dropped, within the files
    and against what is stored, so importing a file twice adds nothing. Bad lines are
    reported as FILE:LINE: reason and skipped.
    """
    from utmost.access import opened
    from utmost.ingest import open_source

    for path in paths:  # a mistyped path is said before the database is created or changed
        open_source(path)
    with opened(db) as database:
        started = time.perf_counter()
        report = import_into(database, project, paths, strict).report
        print_import_report(report, time.perf_counter() - started)
    if report.rejected and strict:
        sys.exit(1)


@cli.command("export")
@click.option("--parquet", "destination", required=True, metavar="FOLDER|URL",
              help="Where to write the events, one sub-folder per date: a folder, or a URL "
                   "(file://, s3://, s3a://, gs://, hdfs://).")
@db_option()
@project_option
@reports_errors
def export_command(destination: str, db: str | None, project: str) -> None:
    """Write the project's canonical events as Parquet (partitioned by date) for Spark.

    Exporting again to the same place rewrites only the dates whose events changed since
    (new events, a person deleted), and removes the folders of dates left with none.
    """
    from utmost.access import export_events, opened
    from utmost.store import absolute_destination

    with opened(db, read_only=True) as database:
        done = database.run(export_events, project=project, destination=absolute_destination(destination))
    dates = f"{done.rewritten:,} date{'' if done.rewritten == 1 else 's'} rewritten, {done.unchanged:,} unchanged"
    removed = f", {done.removed:,} removed" if done.removed else ""
    out.print(f"exported {done.events:,} events: {dates}{removed} → {destination}", markup=False, soft_wrap=True)


@cli.group()
def people() -> None:
    """People: delete one, with every id merged into them (GDPR, CCPA)."""


@people.command("delete")
@click.argument("person_id", metavar="ID")
@click.option("--yes", is_flag=True, help="Delete without asking first.")
@db_option()
@project_option
@reports_errors
def people_delete(person_id: str, yes: bool, db: str | None, project: str) -> None:
    """Delete the person who owns ID (a user, distinct or device id): every event of every id
    merged into them, their identity links and their profiles, in one transaction."""
    from utmost.access import delete_person_of, opened

    if not yes:
        click.confirm(f"delete the person who owns {person_id!r}, with every event of theirs?", abort=True)
    with opened(db) as database:
        deleted = database.run(delete_person_of, project=project, any_id=person_id)
    out.print(escape(f"deleted person {deleted.person}: {len(deleted.ids):,} ids ({', '.join(deleted.ids)}), "
                     f"{deleted.events:,} events, {deleted.profiles:,} profiles"))
    out.print("Their bytes may stay in the file's free space until reused: `utmost compact` rewrites the file "
              "without them.", markup=False)


@cli.command("compact")
@db_option()
@reports_errors
def compact_command(db: str | None) -> None:
    """Rewrite the database file with only what it holds now, so that nothing of deleted events is
    left in it (the file must not be open elsewhere: stop `utmost serve` first)."""
    from utmost.store import compact

    path = db or default_path()
    before, after = compact(path)
    out.print(escape(f"compacted {path}: {before:,} bytes → {after:,} bytes"))
