"""`esexchange sync`, `esexchange check ...` and `esexchange token`: running and checking.

Thin commands over ``esexchange.service``; the web console calls the same functions.
``sync`` and ``token`` are single commands (registered in ``cli/__init__.py``);
``check_app`` is the ``check`` group.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from esexchange import config
from esexchange.cli.common import (
    USER_ERROR,
    DbOption,
    database,
    err,
    fail,
    out,
    reports_errors,
)
from esexchange.cli.render import item_lines, outcome_table, progress_bar
from esexchange.domain.errors import EsExchangeError
from esexchange.service.checks import CheckResult, check_assignment, check_connection
from esexchange.service.runner import (
    DEFAULT_PARALLEL_MAILBOXES,
    UnknownEmployee,
    sync_connection,
)
from esexchange.service.token import request_token

check_app = typer.Typer(no_args_is_help=True, help="Check a connection before synchronizing.")


@reports_errors
def sync(
    connection: Annotated[
        str | None, typer.Option(help="Only this connection (default: every connection).")
    ] = None,
    employee: Annotated[
        str | None, typer.Option(metavar="EMAIL", help="Only this employee.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Print what would move; change nothing on either side.")
    ] = False,
    approve_deletions: Annotated[
        bool, typer.Option(help="Let through deletions the circuit breaker held.")
    ] = False,
    reject_deletions: Annotated[
        bool, typer.Option(help="Refuse the deletions the circuit breaker held: keep the "
                           "remaining copies and stop synchronizing those pairs.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List each item skipped or failed, and why.")
    ] = False,
    parallel: Annotated[
        int, typer.Option(min=1, metavar="N", help="Mailboxes of a connection synchronized "
                          "at once (each never twice; 1: one after another).")
    ] = DEFAULT_PARALLEL_MAILBOXES,
    db: DbOption = None,
) -> None:
    """Run one synchronization pass, print what moved per employee.

    Exits with 1 when a mailbox failed or items were left out, 2 on a user error.
    """
    console = out()
    failed = False
    ran = 0
    with database(db) as engine:
        names = [connection] if connection else [c.name for c in config.list_connections(engine)]
        if not names:
            console.print("No connection is configured; add one with `esexchange connection add`.")
            return
        for name in names:
            try:
                with progress_bar(console, name) as bar:
                    outcomes = sync_connection(
                        engine, name, employee=employee, dry_run=dry_run,
                        approve_deletions=approve_deletions,
                        reject_deletions=reject_deletions, progress=bar, parallel=parallel,
                    )
            except UnknownEmployee:
                if connection:
                    raise
                continue  # --employee on a connection that does not list them
            except EsExchangeError as error:
                if connection:
                    raise
                err().print(f"[bold red]error:[/] connection {escape(name)}: {escape(str(error))}")
                failed = True  # one connection's problem does not stop the others
                continue
            ran += 1
            title = f"Connection {name}" + (" (dry run: nothing was changed)" if dry_run else "")
            console.print(outcome_table(title, outcomes, dry_run=dry_run))
            if verbose:
                for line in item_lines(outcomes):
                    console.print(escape(line), soft_wrap=True)
            failed = failed or any(not o.ok and not o.skipped for o in outcomes)
    if employee and not ran and not failed:
        raise fail(f"{employee} is not synchronized over any connection; add the employee "
                   "with: esexchange personnel add CONNECTION EMAIL")
    if failed:
        raise typer.Exit(1)


@check_app.command("connection")
@reports_errors
def connection_command(
    name: Annotated[str, typer.Argument(help="The connection to check.")], db: DbOption = None
) -> None:
    """Server reachable, certificate trusted, credentials accepted, EWS URL stored."""
    with database(db) as engine:
        _print_results(f"Connection {name}", check_connection(engine, name))


@check_app.command("assignment")
@reports_errors
def assignment_command(
    name: Annotated[str, typer.Argument(help="The connection to check.")], db: DbOption = None
) -> None:
    """Per employee: mailbox found, impersonation allowed, ERP permission, employment."""
    with database(db) as engine:
        _print_results(f"Personnel of connection {name}", check_assignment(engine, name))


@reports_errors
def token(
    name: Annotated[str, typer.Argument(help="A connection with --auth app.")],
    db: DbOption = None,
) -> None:
    """Request an OAuth token; show its expiry and roles, never the token itself."""
    with database(db) as engine:
        info = request_token(engine, name)
    console = out()
    console.print(f"Token endpoint: {escape(info.token_url)}")
    console.print(f"Expires at:     {info.expires_at:%Y-%m-%d %H:%M:%S} UTC")
    console.print(f"Roles:          {escape(', '.join(info.roles) or '(none)')}")
    if info.missing_roles:
        missing = ", ".join(info.missing_roles)
        console.print(
            f"[red]The token lacks the role {escape(missing)}: grant the app registration "
            f"the application permission {escape(missing)} and give admin consent.[/]"
        )
        raise typer.Exit(USER_ERROR)


def _print_results(title: str, results: list[CheckResult]) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("What")
    table.add_column("Check")
    table.add_column("Result")
    for result in results:
        mark = "[green]ok[/]" if result.ok else "[red]FAILED[/]"
        table.add_row(escape(result.subject), escape(result.check),
                      f"{mark} {escape(result.detail)}")
    out().print(table)
    if not all(result.ok for result in results):
        raise typer.Exit(1)
