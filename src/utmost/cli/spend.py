"""``utmost spend …``: import ad spend exports, and show what a project has spent."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from utmost.cli.shell import cli, db_option, note_if_created, out, print_problems, project_option, reports_errors
from utmost.ingest import PRESETS, parse_assignments

if TYPE_CHECKING:
    import pyarrow as pa

    from utmost.store import SpendReport

#: How an empty utm_medium or utm_campaign is shown: as attribution shows a missing key value.
NOT_SET = "(not set)"


@cli.group()
def spend() -> None:
    """Ad spend: daily cost per (utm_source, utm_medium, utm_campaign), from ad platforms' exports."""


@spend.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--columns", type=click.Choice(sorted(PRESETS)),
              help="Read an ad platform's export by its own column names: "
              + "; ".join(f"{p.name}: {p.help}" for p in PRESETS.values()) + ".")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD",
              help="Read the file's COLUMN as FIELD (date, utm_source, utm_medium, utm_campaign, cost, currency); repeatable.")
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE",
              help="Give every row FIELD=VALUE (utm_source, utm_medium, utm_campaign, currency), over any column; repeatable.")
@click.option("--strict", is_flag=True, help="Any bad line imports nothing and exits non-zero.")
@db_option()
@project_option
@reports_errors
def spend_import(paths: tuple[str, ...], columns: str | None, maps: tuple[str, ...], sets: tuple[str, ...],
                 strict: bool, db: str | None, project: str) -> None:
    """Import daily ad spend from CSV files (or gzipped CSV) whose header is
    date,utm_source,utm_medium,utm_campaign,cost[,currency], or an ad platform's (--columns, --map, --set).

    Rows of a file with the same date and key are added together; an import replaces what was
    stored for every date and key it holds, so importing a file twice counts nothing twice. A
    project's spend is in one currency, fixed by the first that names one. Bad lines are
    reported as FILE:LINE: reason and skipped.
    """
    from utmost.access import import_spend_files, opened
    from utmost.ingest import Layout, check_spend_file, read_spend_file

    renames = parse_assignments(maps, "--map", last=True)
    constants = parse_assignments(sets, "--set", last=False)
    layout = Layout.of(columns, renames, constants)  # a wrong name is said before the database is opened,
    for path in paths:  # and so is a missing file, or one that is no spend file
        check_spend_file(read_spend_file(path), path, layout)
    with opened(db) as database:
        imported = database.run(import_spend_files, project=project, paths=list(paths), folder=os.getcwd(),
                                columns=columns, renames=renames, constants=constants, strict=strict)
    note_if_created(database.path, imported.project, imported.created)
    print_spend_report(imported.report)
    if imported.report.checked_only:
        sys.exit(1)


def print_spend_report(report: SpendReport) -> None:
    if not print_problems(report.problems, report.rejected, report.checked_only):
        return
    currency = f" {report.currency}" if report.currency else ""
    out.print(f"imported {report.imported:,} rows (replaced {report.replaced:,}) · rejected {report.rejected:,}"
              + (f" · currency{currency}" if currency else ""), markup=False)


@spend.command("show")
@db_option()
@project_option
@reports_errors
def spend_show(db: str | None, project: str) -> None:
    """Show the project's spend per (utm_source, utm_medium, utm_campaign): total cost, first and
    last day, days, currency; the most spent first."""
    from utmost.access import opened, spend_totals

    with opened(db, read_only=True) as database:
        totals = database.run(spend_totals, project=project)
    if not totals.num_rows:
        out.print(escape(f"no spend in project {project} (`utmost spend import FILE.csv` adds it)"))
        return
    out.print(spend_table(totals))


def spend_table(totals: pa.Table) -> Table:
    """The totals as a table for people: costs to two places, a total line."""
    table = Table(show_footer=True)
    total = sum(totals.column("cost").to_pylist())
    currencies = {c for c in totals.column("currency").to_pylist() if c}
    table.add_column("utm_source", "total")
    table.add_column("utm_medium")
    table.add_column("utm_campaign")
    table.add_column("cost", f"{total:,.2f}", justify="right")
    table.add_column("currency", ", ".join(sorted(currencies)))
    table.add_column("first")
    table.add_column("last")
    table.add_column("days", f"{sum(totals.column('days').to_pylist()):,}", justify="right")
    for row in totals.to_pylist():
        table.add_row(*(escape(row[key] or NOT_SET) for key in ("utm_source", "utm_medium", "utm_campaign")),
                      f"{row['cost']:,.2f}", row["currency"] or "", str(row["first"]), str(row["last"]),
                      f"{row['days']:,}")
    return table
