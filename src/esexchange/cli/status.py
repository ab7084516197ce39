"""`esexchange status`: per connection and employee, the last pass, the conflicts, and
the items waiting to be retried (with the error)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from esexchange.cli.common import DbOption, database, not_synced_reason, out, reports_errors
from esexchange.status import MailboxStatus, mailbox_status, skipped_note

_OUTCOME_STYLE = {"ok": "green", "partial": "yellow", "skipped": "yellow", "failed": "red"}


@reports_errors
def status(
    connection: Annotated[
        str | None, typer.Option(help="Only this connection (default: every connection).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Per connection and employee: last pass, outcome, what moved, conflicts recorded."""
    with database(db) as engine:
        rows = mailbox_status(engine, connection)
    if not rows:
        out().print("No personnel to show; add with `esexchange personnel add NAME EMAIL...`.")
        return
    table = Table("Connection", "Employee", "Last pass (UTC)", "Outcome", "To Exchange",
                  "To ERP", "Failed", "Conflicts", "Note")
    for row in rows:
        table.add_row(*_cells(row))
    out().print(table)
    waiting = [(row, parked) for row in rows for parked in row.parked]
    if waiting:
        out().print("Waiting to be retried:")
    for row, parked in waiting:
        out().print(
            f"  {escape(row.employee.email)}: {parked.kind} {escape(parked.label)}: "
            f"{escape(parked.last_error)} (attempt {parked.attempts}, next try "
            f"{_when(parked.next_try_at)} UTC)", soft_wrap=True,
        )


def _cells(row: MailboxStatus) -> list[str]:
    """The table cells of one mailbox, as Rich markup (data escaped)."""
    conflicts = str(row.conflicts)
    if row.last_conflict_at is not None:
        conflicts += f" (last {_when(row.last_conflict_at)})"
    note = "" if row.employee.syncable else f"not synchronized: {not_synced_reason(row.employee)}"
    last = row.last_pass
    who = [escape(row.connection), escape(row.employee.email)]
    if last is None:
        return [*who, "never", "", "", "", "", conflicts, escape(note)]
    return [
        *who,
        _when(last.started_at),
        f"[{_OUTCOME_STYLE.get(last.outcome, 'default')}]{last.outcome}[/]",
        str(last.to_exchange),
        str(last.to_erp),
        str(last.failures),
        conflicts,
        escape(note or last.problem or skipped_note(last)),
    ]


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")
