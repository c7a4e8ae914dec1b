"""``utmost channels``: the channel rules a project's questions use (docs/semantics.md §13)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from utmost.cli.shell import cli, db_option, out, project_option, reports_errors
from utmost.errors import InputError
from utmost.store import default_path

GA4 = "GA4's default channel group"


@cli.command("channels")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False),
              help="Keep this TOML file's rules for the project: before GA4's, or instead with replace = true.")
@click.option("--reset", is_flag=True, help="Drop the project's own rules: GA4's alone again.")
@db_option()
@project_option
@reports_errors
def channels_command(rules_file: str | None, reset: bool, db: str | None, project: str) -> None:
    """Print the channel rules in effect for the project (`--by channel`), or set its own."""
    from utmost.access import opened, project_channels, set_project_channels
    from utmost.engine import channels_from, default_channels, describe

    if rules_file is not None and reset:
        raise InputError("--rules and --reset: give one")
    if rules_file is None and not reset:
        if not Path(db or default_path()).exists():
            out.print(f"{GA4} (no database at {db or default_path()}, so no project has rules of its own):\n",
                      markup=False)
            out.print(describe(default_channels()), markup=False)
            return
        with opened(db, read_only=True) as database:
            found = database.run(project_channels, project=project)
        _print(found.project, found.name, found.text)
        return
    text = None
    if rules_file is not None:
        try:
            text = Path(rules_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"{rules_file}: cannot read: {getattr(error, 'strerror', None) or error}") from None
        channels_from(text, rules_file)  # FILE:LINE: reason, before the database is opened
    with opened(db) as database:
        found = database.run(set_project_channels, project=project, name=rules_file, text=text)
    _print(found.project, found.name, found.text)


def _print(project: str, name: str | None, text: str | None) -> None:
    from utmost.engine import Channels, channels_from, default_channels, describe

    if text is None:
        out.print(f"project {escape(project)}: {GA4}\n")
        out.print(describe(default_channels()), markup=False)
        return
    channels = channels_from(text, name or "rules")
    ga4 = default_channels()
    own = len(channels_from(text, name or "rules", Channels((), ga4.categories)).rules)
    how = "instead of GA4's" if own == len(channels.rules) else f"before the {len(ga4.rules)} of {GA4}"
    out.print(f"project {escape(project)}: {own} rule(s) of its own from {escape(name or 'rules')}, {how}\n")
    out.print(describe(channels), markup=False)
