"""The ``utmost`` command: a thin shell over the store, importer and demo.

Every command takes ``--db`` (default ``utmost.duckdb``, env ``UTMOST_DB``) and, where it
reads or writes events, ``--project`` (default ``default``). Errors print one line on stderr
and exit with status 2; nothing prints a traceback for bad input.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import shlex
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from utmost import __version__
from utmost.engine import (
    ATTRIBUTE,
    FORMATS,
    JOURNEY,
    MODELS,
    NAMES,
    PARAMETERS_BY_NAME,
    REQUIRED,
    Parameter,
    make_options,
    parameters,
)
from utmost.errors import InputError, UtmostError
from utmost.store import COLLECTOR_ROW_GROUP_ROWS, DB_ENV, DEFAULT_DB, DEFAULT_PROJECT, default_path

if TYPE_CHECKING:
    from utmost.engine import Result
    from utmost.store import ImportReport, Project, Store

# What answers a command (Arrow, DuckDB, scipy, FastAPI, uvicorn) is imported inside it: `utmost
# --help` took ~1.1 s when this module imported them all, and a command needs only its own.

DEMO_DB = "utmost-demo.duckdb"
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


def question_options(question: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The click options of ``question`` (``attribute`` or ``journey``), one per row of the
    question's table (:data:`utmost.engine.options.PARAMETERS`)."""

    def add(command: Callable[..., Any]) -> Callable[..., Any]:
        for parameter in reversed(parameters(question)):
            command = click.option(parameter.option, parameter.name, **_click_settings(parameter, question))(command)
        return command

    return add


def _click_settings(parameter: Parameter, question: str) -> dict[str, Any]:
    default = parameter.default_for(question)
    if default is REQUIRED:
        return {"required": True, "help": parameter.help}
    if parameter.type is bool:
        return {"is_flag": True, "default": default, "help": parameter.help}
    kind = (click.Choice(parameter.choices) if parameter.choices
            else click.IntRange(*parameter.bounds) if parameter.bounds else parameter.type)
    return {"type": kind, "default": default, "show_default": default is not None, "help": parameter.help}


def models_epilog() -> str:
    """The models table at the end of ``--help``: each name, its meaning, the options it reads.

    A ``\b`` paragraph, which click prints as it is instead of rewrapping it.
    """
    width = max(len(m.name) for m in MODELS)
    lines = [f"  {m.name:<{width}}  {m.meaning}" + "".join(f" ({PARAMETERS_BY_NAME[name].option})"
                                                           for name in m.parameters) for m in MODELS]
    return "\b\nModels:\n" + "\n".join(lines)


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
    from utmost.ingest import open_source
    from utmost.store import Store

    for path in paths:  # a mistyped path is said before the database is created or changed
        open_source(path)
    with Store(db) as store:
        found, created = store.open_project(project)
        name = found.name
        _note_if_created(store, found, created)
        started = time.perf_counter()
        report = _import_with_progress(store, name, paths, strict)
        _print_import_report(report, time.perf_counter() - started)
    if report.rejected and strict:
        sys.exit(1)


def _import_with_progress(store: Store, project: str, paths: tuple[str, ...], strict: bool) -> ImportReport:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from utmost.store import import_files

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
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("importing", total=total or None, events=0, rate=0.0)
        seen = 0

        def advance(done_bytes: int, events: int) -> None:
            nonlocal seen
            seen += events
            rate = seen / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=done_bytes, events=seen, rate=rate)

        return import_files(store, project, paths, strict=strict, progress=advance)


def _print_import_report(report: ImportReport, seconds: float) -> None:
    for problem in report.problems:
        err.print(problem, markup=False)
    hidden = report.rejected - len(report.problems)
    if hidden > 0:
        err.print(f"… and {hidden:,} more bad line(s)", markup=False)
    if report.checked_only:
        err.print(f"[red]error:[/] {report.rejected:,} bad line(s); --strict imported nothing")
        return
    total = report.imported + report.duplicates + report.rejected
    rate = total / seconds if seconds > 0 else 0.0
    out.print(
        f"imported {report.imported:,} · duplicates {report.duplicates:,} · rejected {report.rejected:,}"
        f"  ({seconds:,.1f} s, {rate:,.0f} events/s)"
    )


@cli.group()
def project() -> None:
    """Create and list projects (name, token for SDKs, secret for /import)."""


mixpanel_id_option = click.option(
    "--mixpanel-id", metavar="N",
    help="The project's numeric id at Mixpanel: /import?project_id=N then names it too (migrating from Mixpanel).")


@project.command("create")
@click.argument("name")
@click.option("--token", help="Keep the token your pages already send (migrating from Mixpanel).")
@click.option("--secret", help="Keep the API secret your importers already use.")
@mixpanel_id_option
@db_option()
@reports_errors
def project_create(name: str, token: str | None, secret: str | None, mixpanel_id: str | None, db: str | None) -> None:
    """Create project NAME; generated credentials are printed once."""
    from utmost.store import Store

    with Store(db) as store:
        created = store.create_project(name, token, secret, mixpanel_id)
    _warn_if_short(secret)
    out.print(f"project {created.name}")
    out.print(f"  token  {created.token}")
    out.print(f"  secret {created.secret}   (keep it safe: it authorises /import and the query API)")
    if created.mixpanel_id is not None:
        out.print(f"  mixpanel id {created.mixpanel_id}   (/import?project_id={created.mixpanel_id} names it)")


@project.command("set")
@click.argument("name")
@mixpanel_id_option
@db_option()
@reports_errors
def project_set(name: str, mixpanel_id: str | None, db: str | None) -> None:
    """Change project NAME: give it the id it had at Mixpanel."""
    if mixpanel_id is None:
        raise InputError("nothing to set: give --mixpanel-id N")
    from utmost.store import Store

    with Store(db) as store:
        changed = store.set_mixpanel_id(name, mixpanel_id)
    out.print(f"project {changed.name}: mixpanel id {changed.mixpanel_id}"
              f"   (/import?project_id={changed.mixpanel_id} names it)")


@project.command("secret")
@click.argument("name")
@click.option("--rotate", is_flag=True,
              help="Replace the secret with a new one, printed once; the old one stops working at once.")
@db_option()
@reports_errors
def project_secret(name: str, rotate: bool, db: str | None) -> None:
    """Give project NAME a new secret (--rotate): the file keeps only a hash of the old one."""
    from utmost.store import Store

    if not rotate:
        with Store(db, read_only=True) as store:
            found = store.project(name)
        raise InputError(
            f"the secret of project {found.name} cannot be shown: the database keeps only its hash; "
            f"`{_secret_command(store, found)}` replaces it with a new one, printed once (the old one stops working)"
        )
    with Store(db, create=False) as store:
        rotated = store.rotate_secret(name)
    out.print(f"project {escape(rotated.name)}")
    out.print(f"  secret {rotated.secret}   (printed once; the old secret no longer works for /import, "
              "the query API or the dashboard)")


def _secret_command(store: Store, project: Project) -> str:
    """The command that gives ``project`` a new secret, as the user would type it."""
    db = "" if str(store.path) == default_path() else f" --db {shlex.quote(str(store.path))}"
    return f"utmost project secret {shlex.quote(project.name)} --rotate{db}"


def _note_if_created(store: Store, project: Project, created: bool) -> None:
    """Say once that a command made a project unasked: no one was shown its secret."""
    if created:
        err.print(
            f"note: created project {project.name}; its secret (for /import, the query API and the dashboard)"
            f" is kept only as a hash: `{_secret_command(store, project)}` prints a new one",
            markup=False, soft_wrap=True,
        )


@project.command("service-account")
@click.argument("name")
@click.option("--username", help="The account's user name (default: NAME.<random>).")
@click.option("--secret", help="Keep a secret your importers already use.")
@db_option()
@reports_errors
def project_service_account(name: str, username: str | None, secret: str | None, db: str | None) -> None:
    """Add a service account to project NAME: /import by Basic USER:SECRET with ?project_id=NAME."""
    from utmost.store import Store

    with Store(db) as store:
        found = store.project(name)
        account = store.create_service_account(found.name, username, secret)
    _warn_if_short(secret)
    named = account.project if found.mixpanel_id is None else f"{account.project} (or {found.mixpanel_id})"
    out.print(f"service account {account.username} for project {account.project}")
    out.print(f"  secret {account.secret}   (printed once; send ?project_id={named} with it)")


def _warn_if_short(secret: str | None) -> None:
    if secret is not None and len(secret) < SHORT_SECRET:
        err.print(
            f"[yellow]warning:[/] a {len(secret)}-character secret can be guessed from a copy of the database"
            " file; a generated one has 32 random hex digits",
            soft_wrap=True,
        )


@project.command("list")
@db_option()
@reports_errors
def project_list(db: str | None) -> None:
    """List projects, their tokens and Mixpanel ids (secrets are not shown)."""
    from utmost.store import Store

    with Store(db, read_only=True) as store:
        found = store.projects()
    if not found:
        out.print("no projects yet (`utmost project create NAME` or `utmost import` makes one)")
        return
    table = Table("project", "token", "mixpanel id", box=None)
    for each in found:
        table.add_row(each.name, each.token, "" if each.mixpanel_id is None else str(each.mixpanel_id))
    out.print(table)


@cli.command("attribute", epilog=models_epilog())
@question_options(ATTRIBUTE)
@click.option("--format", "output", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--per-conversion", is_flag=True, help="One row per conversion, model and key instead of totals.")
@click.option("--explain-model", is_flag=True,
              help="With --format json: print {rows, markov: removal effects and transitions}.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="duckdb: the --db file; spark: Parquet from `utmost export` (--events).")
@click.option("--events", "events_dir", type=click.Path(), help="Parquet folder of events (with --engine spark).")
@click.option("--spark-master", default="local[*]", show_default=True, help="Spark master URL.")
@db_option()
@project_option
@reports_errors
def attribute_command(
    db: str | None, project: str, output: str, per_conversion: bool, explain_model: bool, engine: str,
    events_dir: str | None, spark_master: str, **question: Any,
) -> None:
    """Credit each conversion to the campaigns that brought it, under one or more models."""
    from utmost import formats
    from utmost.api import answer, answer_on_spark
    from utmost.store import Store

    options = make_options(project=project, **question)
    if engine == "spark":
        if not events_dir:
            raise InputError("--engine spark needs --events DIR (write it with `utmost export --parquet DIR`)")
        result = answer_on_spark(options, events_dir, spark_master)
    else:
        with Store(db, read_only=True) as store:
            store.project(project)
            result = answer(store, options, per_conversion)
    if explain_model:
        if output != "json":
            raise InputError("--explain-model needs --format json")
        rows = formats.rows(result.per_conversion if per_conversion else result.totals)
        click.echo(formats.dumps({"rows": rows, **result.explanation}))
        return
    _print_result(result, output, per_conversion)


@cli.command("journey", epilog=models_epilog())
@click.argument("person_id", metavar="ID")
@question_options(JOURNEY)
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@db_option()
@project_option
@reports_errors
def journey_command(person_id: str, db: str | None, project: str, output: str, **question: Any) -> None:
    """One person (any of their ids): merged ids, sessions, touchpoints kept or dropped and why,
    and each conversion's credit under every model."""
    from utmost import formats
    from utmost.api import follow
    from utmost.store import Store

    options = make_options(project=project, **question)
    with Store(db, read_only=True) as store:
        store.project(project)
        path = follow(store, options, person_id)
    if output == "json":
        click.echo(formats.journey_json(path))
        return
    for part in formats.journey_tables(path, options.by):
        out.print(part)
        out.print()


@cli.command("export")
@click.option("--parquet", "folder", required=True, type=click.Path(file_okay=False),
              help="Folder to write the events to, one sub-folder per date.")
@db_option()
@project_option
@reports_errors
def export_command(folder: str, db: str | None, project: str) -> None:
    """Write the project's canonical events as Parquet (partitioned by date) for Spark."""
    from utmost.store import Store

    with Store(db, read_only=True) as store:
        count = store.export_parquet(store.project(project).name, folder)
    out.print(f"exported {count:,} events to {folder}")


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
    from utmost.engine import delete_person
    from utmost.store import Store

    if not yes:
        click.confirm(f"delete the person who owns {person_id!r}, with every event of theirs?", abort=True)
    with Store(db) as store:
        deleted = delete_person(store, store.project(project).name, person_id)
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


def _print_result(result: Result, output: str, per_conversion: bool) -> None:
    from utmost import formats

    table = result.per_conversion if per_conversion else result.totals
    if output == "json":
        click.echo(formats.to_json(table))
    elif output == "csv":
        click.echo(formats.to_csv(table), nl=False)
    elif per_conversion:
        out.print(formats.per_conversion_table(result))
    else:
        out.print(formats.to_table(result))


@cli.command("demo")
@db_option(DEMO_DB)
@click.option("--seed", default=7, show_default=True, help="Seed of the generated traffic.")
@click.option("--visitors", default=2_000, show_default=True, help="Anonymous visitors to simulate.")
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="Then serve the dashboard on a free local port until interrupted.")
@reports_errors
def demo_command(db: str, seed: int, visitors: int, serve: bool) -> None:
    """Generate hotel-booking traffic into a fresh demo database, show what it holds, serve it.

    An existing --db file is replaced only if an earlier `utmost demo` made it and no process
    holds it; any other file is refused, untouched.
    """
    from utmost import demo
    from utmost.store import Store, discard_demo

    path = Path(db)
    discard_demo(path)
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "demo-export.jsonl"
        with open(export, "wb") as file:
            file.writelines(demo.generate_lines(seed=seed, visitors=visitors))
        with Store(path) as store:
            store.mark_demo(seed, visitors)  # first: an interrupted demo is still replaced next time
            project, created = store.open_project()
            _note_if_created(store, project, created)
            started = time.perf_counter()
            report = _import_with_progress(store, project.name, (str(export),), strict=True)
            _print_import_report(report, time.perf_counter() - started)
            _print_summary(store, project.name, path)
            _print_comparison(store, project.name)
            if serve:
                _serve(store, "127.0.0.1", 0)


@cli.command("serve")
@db_option()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, help="TCP port (0: any free port).")
@click.option("--row-group-size", default=COLLECTOR_ROW_GROUP_ROWS, show_default=True,
              help="Rows per row group written (a multiple of 2048). Small ones let /import's rounds "
                   "skip the write-ahead log; 122880, DuckDB's default, stores them in less space.")
@click.option("--tls-cert", metavar="FILE",
              help="Serve HTTPS with this PEM certificate (chain); the key too, unless --tls-key.")
@click.option("--tls-key", metavar="FILE",
              help="The PEM private key of --tls-cert.")
@reports_errors
def serve_command(
    db: str | None, host: str, port: int, row_group_size: int, tls_cert: str | None, tls_key: str | None
) -> None:
    """Serve the collector, the query API and the dashboard until interrupted.

    Point an SDK at it: mixpanel.init(TOKEN, {api_host: "http://HOST:PORT"}); open
    http://HOST:PORT/ and sign in with a project secret; API docs at /docs. With --tls-cert,
    HTTPS: what the Node SDK needs to send a secret, and the session cookie is then Secure.
    """
    from utmost.store import Store

    tls = _tls(tls_cert, tls_key)
    with Store(db, row_group_size=row_group_size) as store:
        found, created = store.open_project()  # `default` exists from first use, as everywhere else
        _note_if_created(store, found, created)
        _serve(store, host, port, tls=tls)


@dataclass(frozen=True)
class Tls:
    """The PEM files ``utmost serve`` serves HTTPS with: uvicorn's ``ssl_certfile`` and ``ssl_keyfile``."""

    cert: str
    key: str | None


def _tls(cert: str | None, key: str | None) -> Tls | None:
    """The HTTPS settings, both files read once here so that a wrong one is one line of error
    before the server starts, not a traceback from inside uvicorn."""
    if cert is None:
        if key is not None:
            raise InputError("--tls-key needs --tls-cert FILE")
        return None
    import ssl

    files = f"--tls-cert {cert}" + (f" and --tls-key {key}" if key else "")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except ssl.SSLError as error:
        why = ("the key is not the certificate's" if error.reason == "KEY_VALUES_MISMATCH"
               else "expected a PEM certificate and its private key" + ("" if key else " in the one file"))
        raise InputError(f"cannot serve HTTPS with {files}: {why}") from None
    except OSError as error:
        raise InputError(f"cannot serve HTTPS with {files}: {error.strerror or error}") from None
    return Tls(cert, key)


def _serve(store: Store, host: str, port: int, tls: Tls | None = None) -> None:
    """Run the app on ``host:port`` until SIGTERM or Ctrl-C; print where, and a one-time
    sign-in link for each project: the secrets are not known, so this is a way in to all."""
    import uvicorn

    from utmost.store import quick_handover
    from utmost.web import Server, create_app

    listening = socket.create_server((host, port))
    port = listening.getsockname()[1]
    app = create_app(store)
    url = f"{'https' if tls else 'http'}://{host}:{port}"
    out.print(f"\n[bold]utmost[/] on {url} — {store.path}  (Ctrl-C stops)")
    for project in store.projects():
        code = app.state.sign_in_links.make(project)
        out.print(f"  dashboard: {url}/signin/{code}   (signs you in to project {escape(project.name)}, once)")
    out.print(f"  API docs:  {url}/docs · collector: mixpanel.init(TOKEN, {{api_host: \"{url}\"}})", markup=False)
    # The dashboard's first question, answered before anyone asks: its steps are then kept.
    warming = threading.Thread(target=app.state.service.warm, name="utmost-warm", daemon=True)
    warming.start()
    config = uvicorn.Config(app, log_level="warning", lifespan="off",
                            ssl_certfile=tls.cert if tls else None, ssl_keyfile=tls.key if tls else None)
    # Everything loaded so far lives as long as the server: keep it out of the garbage
    # collector's full passes, which otherwise stalled requests for 50-100 ms several times a
    # minute under load.
    gc.freeze()
    try:
        with quick_handover():  # requests are decoded on threads beside the writer's queries
            Server(config).run(sockets=[listening])
    finally:
        app.state.service.close()  # interrupts the warm-up: no query may outlive the store
        warming.join()


DEMO_QUESTION = dict(conversion="Reservation Completed", models=",".join(NAMES))


def _print_comparison(store: Store, project: str) -> None:
    """The seed question answered on screen: every model, then last touch across sessions or not."""
    from utmost import formats
    from utmost.api import answer

    by_user = answer(store, make_options(project=project, **DEMO_QUESTION))
    by_session = answer(store, make_options(project=project, scope="session", **DEMO_QUESTION))
    out.print("\n[bold]Which campaign brought each reservation?[/] (utmost attribute --models …)")
    out.print(formats.to_table(by_user, revenue=False))
    out.print(
        "\n[bold]Last touch, across sessions and devices (user) vs only the booking's own session (session)[/]"
    )
    out.print(formats.side_by_side([("scope user", by_user), ("scope session", by_session)], "last_touch"))


def _print_summary(store: Store, project: str, path: Path) -> None:
    summary = store.summary(project)
    out.print(f"\n[bold]{path}[/] — project {project}")
    out.print(
        f"  {summary['events']:,} events from {summary['distinct_ids']:,} distinct ids, "
        f"{summary['first']:%Y-%m-%d} to {summary['last']:%Y-%m-%d}; "
        f"{summary['utm_landings']:,} events landed with a utm_source"
    )
    table = Table("event", "count", box=None)
    for name, count in summary["top_events"]:
        table.add_row(name, f"{count:,}")
    out.print(table)


def main() -> None:
    cli(prog_name="utmost")
