"""``utmost project …``: create, list, set, rotate a secret, add a service account."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from utmost.cli.shell import SHORT_SECRET, cli, db_option, err, out, reports_errors, secret_command
from utmost.errors import InputError


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
    from utmost.access import create_project, opened

    with opened(db) as database:
        created = database.run(create_project, name=name, token=token, secret=secret, mixpanel_id=mixpanel_id)
    _warn_if_short(secret)
    out.print(f"project {created.name}")
    out.print(f"  token  {created.token}")
    out.print(f"  secret {created.secret}   (keep it safe: it authorises /import and the query API)")
    if created.mixpanel_id is not None:
        out.print(f"  mixpanel id {created.mixpanel_id}   (/import?project_id={created.mixpanel_id} names it)")


@project.command("set")
@click.argument("name")
@mixpanel_id_option
@click.option("--key-event", "key_event", multiple=True, metavar="EVENT",
              help="A conversion to keep credited as events land (repeatable; replaces the key events): "
                   "default questions about it read the kept credit.")
@click.option("--no-key-events", is_flag=True, help="Drop every key event (and its kept credit).")
@db_option()
@reports_errors
def project_set(name: str, mixpanel_id: str | None, key_event: tuple[str, ...], no_key_events: bool,
                db: str | None) -> None:
    """Change project NAME: give it the id it had at Mixpanel, or its key events."""
    if mixpanel_id is None and not key_event and not no_key_events:
        raise InputError("nothing to set: give --mixpanel-id N, --key-event EVENT or --no-key-events")
    if key_event and no_key_events:
        raise InputError("--key-event and --no-key-events contradict each other: give one")
    from utmost.access import opened, set_key_events, set_mixpanel_id

    with opened(db) as database:
        if mixpanel_id is not None:
            changed = database.run(set_mixpanel_id, name=name, mixpanel_id=mixpanel_id)
            out.print(f"project {escape(changed.name)}: mixpanel id {changed.mixpanel_id}"
                      f"   (/import?project_id={changed.mixpanel_id} names it)")
        if key_event or no_key_events:
            with err.status("keeping the key events' credit…"):
                kept = database.run(set_key_events, name=name, events=list(key_event))
            listed = ", ".join(escape(repr(event)) for event in kept) or "none"
            out.print(f"project {escape(name)}: key events {listed}")


@project.command("secret")
@click.argument("name")
@click.option("--rotate", is_flag=True,
              help="Replace the secret with a new one, printed once; the old one stops working at once.")
@db_option()
@reports_errors
def project_secret(name: str, rotate: bool, db: str | None) -> None:
    """Give project NAME a new secret (--rotate): the file keeps only a hash of the old one."""
    from utmost.access import find_project, opened, rotate_secret

    if not rotate:
        with opened(db, read_only=True) as database:
            found = database.run(find_project, name=name)
        raise InputError(
            f"the secret of project {found.name} cannot be shown: the database keeps only its hash; "
            f"`{secret_command(database.path, found)}` replaces it with a new one, printed once (the old one stops working)"
        )
    with opened(db, create=False) as database:
        rotated = database.run(rotate_secret, name=name)
    out.print(f"project {escape(rotated.name)}")
    out.print(f"  secret {rotated.secret}   (printed once; the old secret no longer works for /import, "
              "the query API or the dashboard)")


@project.command("service-account")
@click.argument("name")
@click.option("--username", help="The account's user name (default: NAME.<random>).")
@click.option("--secret", help="Keep a secret your importers already use.")
@db_option()
@reports_errors
def project_service_account(name: str, username: str | None, secret: str | None, db: str | None) -> None:
    """Add a service account to project NAME: /import by Basic USER:SECRET with ?project_id=NAME."""
    from utmost.access import create_service_account, opened

    with opened(db) as database:
        found, account = database.run(create_service_account, project=name, username=username, secret=secret)
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
    """List projects, their tokens, Mixpanel ids and key events (secrets are not shown)."""
    from utmost.access import key_events, list_projects, opened

    with opened(db, read_only=True) as database:
        found = database.run(list_projects)
        kept = {each.name: database.run(key_events, name=each.name) for each in found}
    if not found:
        out.print("no projects yet (`utmost project create NAME` or `utmost import` makes one)")
        return
    table = Table("project", "token", "mixpanel id", "key events", box=None)
    for each in found:
        table.add_row(escape(each.name), each.token, "" if each.mixpanel_id is None else str(each.mixpanel_id),
                      escape(", ".join(kept[each.name])))
    out.print(table)
