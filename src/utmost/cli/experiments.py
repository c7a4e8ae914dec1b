"""``utmost experiments …``: import the results of holdout (lift) tests, show what each one
estimates, delete them (docs/semantics.md §19)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from utmost.cli.shell import cli, db_option, note_if_created, out, print_problems, project_option, reports_errors
from utmost.engine import FORMATS
from utmost.ingest import parse_assignments

if TYPE_CHECKING:
    import pyarrow as pa

#: The mark of an experiment too small for the normal approximation, and what it means.
ROUGH = "*"
ROUGH_NOTE = (f"{ROUGH} fewer than 10 converting or 10 non-converting persons in a group: "
              "the interval is a rough one")


@cli.group()
def experiments() -> None:
    """Holdout (lift) tests: the conversions a key caused, measured against a control group."""


@experiments.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--strict", is_flag=True, help="Any bad line imports nothing and exits non-zero.")
@db_option()
@project_option
@reports_errors
def experiments_import(paths: tuple[str, ...], strict: bool, db: str | None, project: str) -> None:
    """Import holdout test results from CSV files (or gzipped CSV), one test a line, whose header
    names the tested key's properties (as --by does, e.g. utm_source,utm_medium) and
    start,end,test_persons,test_conversions,control_persons,control_conversions.

    Conversions are converting persons. An import replaces the stored test of every key, start
    and end it holds, so importing a file twice counts nothing twice. Bad lines are reported as
    FILE:LINE: reason and skipped.
    """
    from utmost.access import import_experiment_files, opened
    from utmost.ingest import check_experiments_file, read_experiments_file

    for path in paths:  # a missing file, or one that is no experiments file, is said before the database is opened
        check_experiments_file(read_experiments_file(path), path)
    with opened(db) as database:
        imported = database.run(import_experiment_files, project=project, paths=list(paths), folder=os.getcwd(),
                                strict=strict)
    note_if_created(database.path, imported.project, imported.created)
    report = imported.report
    if print_problems(report.problems, report.rejected, report.checked_only):
        out.print(f"imported {report.imported:,} experiments (replaced {report.replaced:,}) · "
                  f"rejected {report.rejected:,}", markup=False)
    if report.checked_only:
        sys.exit(1)


@experiments.command("show")
@click.option("--format", "output", type=click.Choice(FORMATS), default="table", show_default=True)
@db_option()
@project_option
@reports_errors
def experiments_show(output: str, db: str | None, project: str) -> None:
    """Show each test: its key and days, both groups' conversion rates, and the conversions the
    key caused in the test group, (p_t - p_c) x test_persons, with a 95% interval. The table
    rounds for reading; JSON and CSV are exact."""
    from utmost import formats
    from utmost.access import opened, stored_experiments

    with opened(db, read_only=True) as database:
        table = database.run(stored_experiments, project=project)
    if output == "json":
        click.echo(formats.to_json(table))
    elif output == "csv":
        click.echo(formats.to_csv(table), nl=False)
    elif not table.num_rows:
        out.print(escape(f"no experiments in project {project} (`utmost experiments import FILE.csv` adds them)"))
    else:
        out.print(experiments_table(table))


@experiments.command("delete")
@click.argument("key", nargs=-1, metavar="[PROPERTY=VALUE]...")
@click.option("--all", "everything", is_flag=True, help="Delete every experiment of the project.")
@db_option()
@project_option
@reports_errors
def experiments_delete(key: tuple[str, ...], everything: bool, db: str | None, project: str) -> None:
    """Delete one key's experiments, whatever their days, or --all of them.

    The key is every property of it as PROPERTY=VALUE, in any order: utm_source=google
    utm_medium=cpc deletes the tests of exactly that key, not those of utm_source=google alone."""
    from utmost.access import delete_experiments, opened

    if bool(key) == everything:
        raise click.UsageError("name a key as PROPERTY=VALUE ..., or --all, not both", click.get_current_context())
    pairs = parse_assignments(key, "key", last=False) if key else None
    with opened(db, create=False) as database:
        deleted = database.run(delete_experiments, project=project, key=pairs)
    out.print(f"deleted {deleted:,} experiment{'' if deleted == 1 else 's'}", markup=False)


def experiments_table(table: pa.Table) -> Table:
    """The experiments as a table for people: rates as percentages, the estimate and its
    interval to one decimal, the relative lift; a mark on those too small to trust the interval."""
    grid = Table()
    for name in ("key", "start", "end"):
        grid.add_column(name)
    for name in ("test", "control", "test rate", "control rate", "incremental", "95% interval", "lift"):
        grid.add_column(name, justify="right")
    rough = False
    for row in table.to_pylist():
        mark = "" if row["large_enough"] else ROUGH
        rough = rough or bool(mark)
        lift = row["relative_lift"]
        grid.add_row(
            escape(", ".join(f"{name}={value}" for name, value in zip(row["properties"], row["key"]))),
            str(row["start"]), str(row["end"]),
            f"{row['test_conversions']:,} / {row['test_persons']:,}",
            f"{row['control_conversions']:,} / {row['control_persons']:,}",
            f"{row['test_rate']:.2%}", f"{row['control_rate']:.2%}", f"{row['incremental']:,.1f}",
            f"{row['incremental_low']:,.1f} – {row['incremental_high']:,.1f}{mark}",
            "·" if lift is None else f"{lift:+.1%}",
        )
    if rough:
        grid.caption, grid.caption_justify = ROUGH_NOTE, "left"
    return grid

