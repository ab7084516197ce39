"""`esexchange personnel ...`: the employees a connection synchronizes, and their settings."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from esexchange import config
from esexchange.cli.common import (
    USER_ERROR,
    ConnectionName,
    DbOption,
    database,
    err,
    fail,
    not_synced_reason,
    on_off,
    out,
    reports_errors,
    warn,
)
from esexchange.domain.model import Employee
from esexchange.domain.options import EMPLOYEE_SETTING_KEYS
from esexchange.service.claims import take_over

app = typer.Typer(no_args_is_help=True, help="Employees synchronized over a connection.")

Emails = Annotated[list[str], typer.Argument(metavar="EMAIL...", help="Main email addresses.")]


@app.command("add")
@reports_errors
def add(name: ConnectionName, emails: Emails, db: DbOption = None) -> None:
    """Add employees by email with every setting on (all or nothing)."""
    with database(db) as engine:
        result = config.add_personnel(engine, name, emails)
    for person in result.added:
        out().print(f"Added {escape(_who(person))}.")
    for person in result.already:
        out().print(f"Already listed: {escape(_who(person))}.")
    for person in (*result.added, *result.already):
        if not person.syncable:
            warn(f"{_who(person)} {not_synced_reason(person)}: listed, but reported instead "
                 "of synchronized")


@app.command("set")
@reports_errors
def set_(
    name: ConnectionName,
    email: Annotated[str, typer.Argument(help="The employee's main email address.")],
    key: Annotated[str, typer.Argument(help="A setting, as `personnel list` shows them.")],
    value: Annotated[str, typer.Argument(metavar="on|off")],
    db: DbOption = None,
) -> None:
    """Switch one setting of an employee on or off."""
    switch = value.strip().lower()
    if switch not in ("on", "off"):
        raise fail(f"setting {key!r}: {value!r} is not on or off")
    with database(db) as engine:
        config.set_personnel_setting(engine, name, email, key, switch == "on")
    out().print(f"{name}: {email} {key} = {switch}")


@app.command("remove")
@reports_errors
def remove(name: ConnectionName, emails: Emails, db: DbOption = None) -> None:
    """Take employees off the connection (all or nothing)."""
    with database(db) as engine:
        removed = config.remove_personnel(engine, name, emails)
    for person in removed:
        out().print(f"Removed {escape(_who(person))}.")


@app.command("claim")
@reports_errors
def claim(name: ConnectionName, emails: Emails, db: DbOption = None) -> None:
    """Take mailboxes over from another esExchange installation (a test system on a copy
    of the database, a former server): this installation's claim is written into each
    mailbox, its passes synchronize it from now on and the other's are refused."""
    with database(db) as engine:
        results = take_over(engine, name, emails)
    for result in results:
        if result.problem:
            err().print(f"[bold red]error:[/] {escape(result.problem)}", soft_wrap=True)
        elif result.previous is None:
            out().print(f"Claimed {escape(result.email)} (no installation had claimed it).")
        else:
            out().print(f"Claimed {escape(result.email)}, taken over from installation "
                        f"{escape(result.previous.installation)} (host "
                        f"{escape(result.previous.host)}).")
    if any(result.problem for result in results):
        raise typer.Exit(USER_ERROR)


@app.command("list")
@reports_errors
def list_(name: ConnectionName, db: DbOption = None) -> None:
    """Each employee with employment status and every setting."""
    with database(db) as engine:
        listed = config.personnel(engine, name)
    if not listed:
        out().print(f"No personnel on {name} yet; add with `esexchange personnel add {name} "
                    "EMAIL...`.")
        return
    console = out()
    width = max(len(key) for key in EMPLOYEE_SETTING_KEYS)
    for person, settings in listed:
        state = person.employment_status
        if not person.syncable:
            state += f" [yellow]({escape(not_synced_reason(person))}: not synchronized)[/]"
        console.print(f"[bold]{escape(_who(person))}[/] #{escape(person.number)}, {state}")
        for key in EMPLOYEE_SETTING_KEYS:
            console.print(f"  {key:<{width}}  {on_off(getattr(settings, key))}")


def _who(person: Employee) -> str:
    return f"{person.email} ({person.name})"

