"""`esexchange conflicts ...`: the fields both sides changed, and applying the side that lost."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from esexchange import config, status
from esexchange.cli.common import DbOption, database, out, reports_errors
from esexchange.service.conflicts import apply_other_side

app = typer.Typer(no_args_is_help=True, help="Conflicts: fields changed on both sides.")


@app.command("list")
@reports_errors
def list_(
    connection: Annotated[
        str | None, typer.Option(help="Only this connection (default: every connection).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="The newest this many per connection.")] = 50,
    db: DbOption = None,
) -> None:
    """The newest conflicts: both values, the side that won, open or resolved."""
    with database(db) as engine:
        names = [connection] if connection else [c.name for c in config.list_connections(engine)]
        entries = [(name, c) for name in names for c in status.conflicts(engine, name, limit)]
    if not entries:
        out().print("No conflicts recorded.")
        return
    table = Table("ID", "Connection", "When (UTC)", "Employee", "Activity", "Field",
                  "ERP value", "Exchange value", "Won", "State")
    for name, c in entries:
        state = (f"resolved: other side applied by {c.resolved_by}" if c.resolved_at
                 else f"open: `conflicts apply-other {c.id}` applies the "
                      f"{'Exchange' if c.winner == 'erp' else 'ERP'} value")
        table.add_row(str(c.id), escape(name), f"{c.at:%Y-%m-%d %H:%M}", escape(c.email),
                      str(c.erp_id), c.field, escape(c.erp_value), escape(c.exchange_value),
                      "ERP" if c.winner == "erp" else "Exchange", escape(state))
    out().print(table)


@app.command("apply-other")
@reports_errors
def apply_other(
    conflict_id: Annotated[int, typer.Argument(metavar="ID", help="As `conflicts list` shows.")],
    db: DbOption = None,
) -> None:
    """Apply the value that lost the conflict: it is written into the ERP activity and the
    next pass carries it to Exchange."""
    with database(db) as engine:
        applied = apply_other_side(engine, conflict_id, by=f"{getpass.getuser()} (command line)")
    out().print(f"Conflict {applied.conflict_id}: {applied.field} of activity {applied.erp_id} "
                f"is now the {'Exchange' if applied.side == 'exchange' else 'ERP'} value "
                f"{escape(repr(applied.value))}; the next pass writes it to Exchange.")
