"""``utmost serve`` and ``utmost demo``: the app on a port, and the demo that builds a database (events and
ad spend) to serve."""

from __future__ import annotations

import gc
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from utmost.cli.shell import (
    cli,
    db_option,
    import_into,
    note_if_created,
    out,
    print_import_report,
    reports_errors,
)
from utmost.engine import make_options
from utmost.errors import InputError
from utmost.store import COLLECTOR_ROW_GROUP_ROWS
from utmost.web.defaults import REFRESH_EVERY

if TYPE_CHECKING:
    from utmost.store import Store


DEMO_DB = "utmost-demo.duckdb"


@cli.command("demo")
@db_option(DEMO_DB)
@click.option("--seed", default=7, show_default=True, help="Seed of the generated traffic.")
@click.option("--visitors", default=2_000, show_default=True, help="Anonymous visitors to simulate.")
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="Then serve the dashboard on a free local port until interrupted.")
@reports_errors
def demo_command(db: str, seed: int, visitors: int, serve: bool) -> None:
    """Generate hotel-booking traffic and its ad spend into a fresh demo database, show what
    each campaign and channel cost per booking under two models, serve it.

    An existing --db file is replaced only if an earlier `utmost demo` made it and no process
    holds it; any other file is refused, untouched.
    """
    from utmost import demo
    from utmost.access import Database
    from utmost.store import SpendFile, Store, discard_demo, import_spend

    path = Path(db)
    discard_demo(path)
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "demo-export.jsonl"
        with open(export, "wb") as file:
            file.writelines(demo.generate_lines(seed=seed, visitors=visitors))
        with Store(path) as store:
            store.mark_demo(seed, visitors)  # first: an interrupted demo is still replaced next time
            project, created = store.open_project()
            note_if_created(store.path, project, created)
            # A key event, as GA4 marks a purchase: the import ends by keeping its credit, and the
            # dashboard's first question reads it (docs/semantics.md §21).
            store.set_key_events(project.name, [DEMO_CONVERSION])
            started = time.perf_counter()
            report = import_into(Database(path, store=store), project.name, (str(export),), strict=True).report
            print_import_report(report, time.perf_counter() - started)
            spend = SpendFile("demo-spend.csv", demo.generate_spend(seed=seed, visitors=visitors))
            import_spend(store, project.name, [spend], strict=True)
            _print_spend(store, project.name)
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
@click.option("--refresh-every", type=click.IntRange(min=0), default=REFRESH_EVERY, show_default=True,
              metavar="SECONDS",
              help="How often the dashboard takes new events in: its answers are at most this much "
                   "behind the collector, plus one rebuild. 0: each question takes them in first.")
@reports_errors
def serve_command(
    db: str | None, host: str, port: int, row_group_size: int, tls_cert: str | None, tls_key: str | None,
    refresh_every: int,
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
        note_if_created(store.path, found, created)
        _serve(store, host, port, tls=tls, refresh_every=refresh_every)


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


def _serve(store: Store, host: str, port: int, tls: Tls | None = None, refresh_every: int = REFRESH_EVERY) -> None:
    """Run the app on ``host:port`` until SIGTERM or Ctrl-C; print where, and a one-time
    sign-in link for each project: the secrets are not known, so this is a way in to all.
    New events reach the dashboard's answers every ``refresh_every`` seconds."""
    import uvicorn

    from utmost.access import Handoff
    from utmost.store import quick_handover
    from utmost.web import Server, create_app

    listening = socket.create_server((host, port))
    port = listening.getsockname()[1]
    scheme = "https" if tls else "http"
    handoff = Handoff.new(scheme, host, port, tls.cert if tls else None)  # how commands here reach it
    app = create_app(store, handoff=handoff, refresh_every=refresh_every)
    url = f"{scheme}://{host}:{port}"
    out.print(f"\n[bold]utmost[/] on {url} — {store.path}  (Ctrl-C stops)")
    for project in store.projects():
        code = app.state.sign_in_links.make(project)
        out.print(f"  dashboard: {url}/signin/{code}   (signs you in to project {escape(project.name)}, once)")
    out.print(f"  API docs:  {url}/docs · collector: mixpanel.init(TOKEN, {{api_host: \"{url}\"}})", markup=False)
    # The dashboard's first question, answered before anyone asks: its steps are then kept.
    warming = threading.Thread(target=app.state.service.warm, name="utmost-warm", daemon=True)
    warming.start()
    # The derived tables follow the collector with nobody asking; not joined: closing the
    # store interrupts a refresh under way, which could otherwise hold up the shutdown.
    threading.Thread(target=app.state.service.upkeep, name="utmost-upkeep", daemon=True).start()
    config = uvicorn.Config(app, log_level="warning", lifespan="off",
                            ssl_certfile=tls.cert if tls else None, ssl_keyfile=tls.key if tls else None)
    # Everything loaded so far lives as long as the server: keep it out of the garbage
    # collector's full passes, which otherwise stalled requests for 50-100 ms several times a
    # minute under load.
    gc.freeze()
    try:
        with quick_handover(), handoff.kept(store.path):  # requests are decoded beside the writer's queries
            Server(config).run(sockets=[listening])
    finally:
        app.state.service.close()  # interrupts the warm-up: no query may outlive the store
        warming.join()


#: What the demo asks on screen: (title, --by, --models), each a table of credit, cost, CPA
#: and ROAS under two models that disagree, narrow enough for a 100-column terminal.
DEMO_QUESTIONS = (
    ("Where should my next euro go?", "utm_source,utm_campaign", "first_touch,last_touch"),
    ("By channel: every visit is a touchpoint, and last_non_direct passes over Direct",
     "channel", "first_touch,last_non_direct"),
)
DEMO_CONVERSION = "Reservation Completed"


def _print_comparison(store: Store, project: str) -> None:
    """The demo's questions answered on screen, with the command that asks each."""
    from utmost import formats
    from utmost.access import answer

    for title, by, models in DEMO_QUESTIONS:
        result = answer(store, make_options(project=project, conversion=DEMO_CONVERSION, by=by, models=models),
                        per_conversion=False)
        out.print(f"\n[bold]{escape(title)}[/]\n[dim]utmost attribute --by {by} --models {models}[/]")
        out.print(formats.to_table(result, revenue=False))
    out.print("cpa: cost per booking credited; roas: revenue credited per euro spent; ·: none", markup=False)


def _print_spend(store: Store, project: str) -> None:
    totals = store.spend_totals(project).to_pylist()
    cost = sum(row["cost"] for row in totals)
    days = max((row["days"] for row in totals), default=0)
    currency = totals[0]["currency"] if totals else ""
    out.print(f"spend: {len(totals)} paid campaigns, {days} days, {cost:,.2f} {currency}", markup=False)


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
