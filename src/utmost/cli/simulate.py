"""``utmost simulate``: a simulated site's events, and the truth of what each channel caused."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from utmost.cli.shell import cli, err, out, reports_errors
from utmost.errors import InputError

if TYPE_CHECKING:
    from utmost.simulation import Simulation, World


@cli.command("simulate")
@click.argument("scenario", required=False)
@click.option("--out", "folder", type=click.Path(file_okay=False), metavar="DIR",
              help="Folder to write events.jsonl.gz, truth.json (and experiments.csv) into; made if missing.")
@click.option("--persons", default=100_000, show_default=True, help="Persons to simulate, visible or not.")
@click.option("--days", default=90, show_default=True, help="Days to simulate, from 2026-01-01.")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(0, 2**63 - 1), help="Seed of every draw.")
@click.option("--params", type=click.Path(dir_okay=False), metavar="FILE.toml",
              help="A world's parameters: a complete world, or base = \"SCENARIO\" and what differs "
                   "(with SCENARIO given, the file changes it).")
@click.option("--holdout", "holdouts", multiple=True, metavar="CHANNEL=SHARE",
              help="Never expose a random SHARE of all persons to CHANNEL (its utm_source), and write "
                   "the test's counts to experiments.csv; repeatable.")
@click.option("--list", "list_", is_flag=True, help="List the scenarios and exit.")
@reports_errors
def simulate_command(scenario: str | None, folder: str | None, persons: int, days: int, seed: int,
                     params: str | None, holdouts: tuple[str, ...], list_: bool) -> None:
    """Simulate a site's traffic in a world whose causes are known: write the events (a Mixpanel
    export for `utmost import`), and beside them the truth: how many conversions each channel caused.

    SCENARIO is a named world (--list shows them); --params reads one from a TOML file. The
    same scenario, persons, days and seed give byte-identical files.
    """
    from utmost.simulation import describe, scenario_names

    if list_:
        for name in scenario_names():
            out.print(f"{name:<12} {escape(describe(name))}", soft_wrap=True)
        return
    if folder is None:
        raise click.UsageError("missing option '--out'")
    world, name = _world(scenario, params)
    holdout = _holdouts(holdouts)
    simulation = _run(world, name, Path(folder), persons, days, seed, holdout)
    _print_summary(simulation, Path(folder), days)


def _world(scenario: str | None, params: str | None) -> tuple[World, str]:
    from utmost.simulation import load_params
    from utmost.simulation import scenario as named

    if params is None:
        if scenario is None:
            raise InputError("name a scenario (`utmost simulate --list` lists them) or give --params FILE.toml")
        return named(scenario), scenario
    path = Path(params)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"{params}: cannot read the parameters ({error.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(f"{params}: not TOML (not UTF-8 text)") from None
    world = load_params(text, params, scenario)
    return world, path.stem if scenario is None else f"{scenario}+{path.stem}"


def _holdouts(pairs: tuple[str, ...]) -> dict[str, float]:
    """``CHANNEL=SHARE`` pairs; the channels are checked against the world when it is run."""
    found = {}
    for pair in pairs:
        source, sign, share = pair.rpartition("=")
        try:
            value = float(share)
        except ValueError:
            value = math.nan
        if not sign or not source or not math.isfinite(value):
            raise InputError(f"--holdout {pair!r}: expected CHANNEL=SHARE, e.g. newsletter=0.1")
        if source in found:
            raise InputError(f"--holdout: {source} is held out twice")
        found[source] = value
    return found


def _run(world: World, name: str, folder: Path, persons: int, days: int, seed: int,
         holdout: dict[str, float]) -> Simulation:
    from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from utmost.simulation import simulate

    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())
    # Drawn on a terminal only: elsewhere (a log, a pipe) it would leave a blank line.
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:

        class Shown:
            task: TaskID | None = None

            def phase(self, description: str, total: int) -> None:
                if self.task is not None:
                    bar.update(self.task, completed=bar.tasks[self.task].total)
                self.task = bar.add_task(description, total=max(total, 1))

            def advance(self, amount: int) -> None:
                if self.task is not None:
                    bar.update(self.task, advance=amount)

        return simulate(world, name, folder, persons, days, seed, holdout, Shown())


def _print_summary(simulation: Simulation, folder: Path, days: int) -> None:
    from utmost.simulation import EVENTS, EXPERIMENTS, TRUTH

    truth, shown = simulation.truth, simulation.written
    out.print(escape(f"simulated {truth.scenario}: {truth.persons:,} persons over {days:,} days "
                     f"({truth.start} to {truth.end}), seed {truth.seed}"), soft_wrap=True)
    out.print(f"events {shown.events:,} ({shown.visible:,} persons visible); conversions {truth.conversions:,} "
              f"(revenue {truth.revenue:,.2f}); baseline {truth.baseline:,.0f} without any channel "
              f"(revenue {truth.baseline_revenue:,.2f}); the channels caused {truth.caused:,.0f}")
    table = Table("channel", "clicks", "views", "removal", "shapley", "revenue shapley", box=None)
    for channel in truth.channels:
        table.add_row(escape(channel.key[truth.by[0]]), f"{channel.clicks:,}", f"{channel.views:,}",
                      f"{channel.removal:,.0f}", f"{channel.shapley:,.2f}", f"{channel.revenue_shapley:,.2f}")
    out.print(table)
    files = [EVENTS, TRUTH, *([EXPERIMENTS] if simulation.experiments else [])]
    out.print(escape(f"wrote {', '.join(str(folder / name) for name in files)}; "
                     f"`utmost import {folder / EVENTS} --db FILE` reads the events"), soft_wrap=True)
