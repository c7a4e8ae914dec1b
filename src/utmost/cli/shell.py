"""What every ``utmost`` command shares: the consoles, ``--db`` and ``--project``, errors as one
line, and the ``utmost`` group the commands are added to.

What answers a command (Arrow, DuckDB, scipy, FastAPI, uvicorn) is imported inside it: `utmost
--help` took ~1.1 s when the CLI imported them all, and a command needs only its own.
"""

from __future__ import annotations

import contextlib
import functools
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from utmost import __version__
from utmost.errors import UtmostError
from utmost.store import DB_ENV, DEFAULT_DB, DEFAULT_PROJECT, default_path

if TYPE_CHECKING:
    from utmost.access import Database, Imported
    from utmost.store import ImportReport, Project


#: Below this many characters a chosen secret draws a warning: the file keeps a fast hash of
#: it (utmost.store.projects says why), so from a copy of the file a short one can be guessed.
SHORT_SECRET = 16


# Wide when piped: tables and messages are read whole, not folded at 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)


err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)


def db_option(default: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--db``: from ``UTMOST_DB`` when not given, except where the command has a ``default``
    of its own (``utmost demo``, which must never land in the database the variable names)."""
    return click.option(
        "--db",
        type=click.Path(dir_okay=False),
        default=default,
        envvar=None if default else DB_ENV,
        show_default=True if default else DEFAULT_DB,
        help=f"DuckDB file (env {DB_ENV})." if default is None else f"DuckDB file ({DB_ENV} is not read).",
    )


project_option = click.option(
    "--project", default=DEFAULT_PROJECT, show_default=True, help="Project the events belong to."
)


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn utmost's own errors into one line on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UtmostError as error:
            err.print(f"[red]error:[/] {escape(str(error))}", soft_wrap=True)
            sys.exit(2)

    return wrapper


class _UsageErrorLine(click.UsageError):
    """A usage error shown as every other error is: one ``error: …`` line, exit status 2.

    Click's own display (the usage, a hint and ``Error: …`` over three lines) would be the only
    error that looks different, and the only one a script cannot read as one line.
    """

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message(), error.ctx)

    def show(self, file: Any = None) -> None:
        words = " ".join(self.format_message().split())
        words = words[:1].lower() + words[1:]
        where = f" (see `{self.ctx.command_path} --help`)" if self.ctx else ""
        err.print(f"[red]error:[/] {escape(words.removesuffix('.'))}{where}", soft_wrap=True)


class _Group(click.Group):
    """The ``utmost`` group: usage errors anywhere below it (a bad choice, a missing option, an
    unknown command) become :class:`_UsageErrorLine`. Parsing happens in ``make_context`` for the
    group itself and in ``invoke`` for each command below it."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _one_line():
            return super().invoke(ctx)


@contextlib.contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise  # `utmost project` alone: the help is the answer
    except click.UsageError as error:
        raise _UsageErrorLine(error) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="utmost")
def cli() -> None:
    """utmost: which campaign brought this customer — even when they came back later to buy."""


def import_into(database: Database, project: str, paths: tuple[str, ...], strict: bool) -> Imported:
    """Import ``paths`` with a progress bar: here, or through the `utmost serve` that holds the
    database (whose writer stores them, and which reports its progress as it goes)."""
    import os

    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from utmost.access import import_events, keep_derived

    total = sum(Path(p).stat().st_size for p in paths if Path(p).is_file())
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[events]:>12,} events"),
        TextColumn("{task.fields[rate]:>9,.0f} events/s"),
        TimeElapsedColumn(),
    )
    started = time.perf_counter()
    # Drawn on a terminal only: elsewhere (a log, a pipe) it would leave a blank line.
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("importing", total=total or None, events=0, rate=0.0)
        seen = 0

        def advance(done_bytes: int, events: int) -> None:
            nonlocal seen
            seen += events
            rate = seen / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=done_bytes, events=seen, rate=rate)

        imported = database.run(import_events, project=project, paths=list(paths), strict=strict,
                                folder=os.getcwd(), progress=advance)
    note_if_created(database.path, imported.project, imported.created)
    if imported.report.imported:
        # So that the next question, from any process, reads them instead of every event.
        with err.status("bringing identity and sessions up to date…", spinner="dots"):
            database.run(keep_derived, project=imported.project.name)
    return imported


def print_problems(problems: list[str], rejected: int, checked_only: bool) -> bool:
    """An import's bad lines on stderr (the first ones in full, then how many more); with
    ``checked_only`` (``--strict`` found some), the error that nothing was imported. Returns
    whether the import stored anything to report."""
    for problem in problems:
        err.print(problem, markup=False, soft_wrap=True)
    hidden = rejected - len(problems)
    if hidden > 0:
        err.print(f"… and {hidden:,} more bad line(s)", markup=False)
    if checked_only:
        err.print(f"[red]error:[/] {rejected:,} bad line(s); --strict imported nothing")
    return not checked_only


def print_import_report(report: ImportReport, seconds: float) -> None:
    if not print_problems(report.problems, report.rejected, report.checked_only):
        return
    total = report.imported + report.duplicates + report.rejected
    rate = total / seconds if seconds > 0 else 0.0
    out.print(
        f"imported {report.imported:,} · duplicates {report.duplicates:,} · rejected {report.rejected:,}"
        f"  ({seconds:,.1f} s, {rate:,.0f} events/s)"
    )


def secret_command(path: Path, project: Project) -> str:
    """The command that gives ``project`` of the database at ``path`` a new secret, as the user
    would type it."""
    db = "" if str(path) == default_path() else f" --db {shlex.quote(str(path))}"
    return f"utmost project secret {shlex.quote(project.name)} --rotate{db}"


def note_if_created(path: Path, project: Project, created: bool) -> None:
    """Say once that a command made a project unasked: no one was shown its secret."""
    if created:
        err.print(
            f"note: created project {project.name}; its secret (for /import, the query API and the dashboard)"
            f" is kept only as a hash: `{secret_command(path, project)}` prints a new one",
            markup=False, soft_wrap=True,
        )
