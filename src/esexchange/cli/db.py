"""`esexchange db ...`: install or upgrade the database script, sample data, status."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from esexchange.cli.common import DbOption, database, out, reports_errors
from esexchange.erp import sample as sample_data
from esexchange.erp import script
from esexchange.erp.db import check_reachable, open_engine
from esexchange.erp.errors import ErpError
from esexchange.erp.store import SqlErpStore

app = typer.Typer(
    no_args_is_help=True,
    help="The ERP database: database script, sample data, status, archive, journal.",
)


@contextmanager
def _engine(url: str | None, *, create: bool = False) -> Iterator[Engine]:
    """A reachable engine (no script required; a new SQLite file only with ``create``).
    An operational failure on the way (a lost connection, a lock held too long) is
    reported as the database's own message."""
    engine = open_engine(url)
    try:
        check_reachable(engine, create=create)
        yield engine
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ErpError(f"the database {where} failed: {reason}") from None
    finally:
        engine.dispose()


@app.command()
@reports_errors
def install(db: DbOption = None) -> None:
    """Create or upgrade esExchange's tables, change journal and triggers.

    The reference ERP tables are created only where missing. Running it again changes
    nothing.
    """
    with _engine(db, create=True) as engine:
        report = script.install(engine)
    console = out()
    for step in report.applied:
        console.print(f"applied step {step.version}: {escape(step.description)}")
    if report.applied:
        console.print(f"database script version {report.after} installed "
                      f"(was {report.before or 'not installed'})")
    else:
        console.print(f"database script version {report.after} already installed; "
                      "nothing to do")


@app.command()
@reports_errors
def sample(
    db: DbOption = None,
    employees: Annotated[int, typer.Option(min=1, help="How many employees.")] = 20,
    activities: Annotated[int, typer.Option(min=0, help="How many activities.")] = 200,
    seed: Annotated[int, typer.Option(help="The same seed gives the same data.")] = 1,
    force: Annotated[bool, typer.Option(
        "--force", help="Add the sample even though the ERP already holds data.")] = False,
) -> None:
    """Fill an empty ERP with realistic sample data (installs the script first)."""
    with _engine(db, create=True) as engine:
        script.install(engine)
        report = sample_data.fill_sample(engine, employees=employees, activities=activities,
                                         seed=seed, force=force)
    out().print(f"added {report.summary()}")


@app.command()
@reports_errors
def status(db: DbOption = None) -> None:
    """Show the script version, the change journal's size and row counts."""
    with _engine(db) as engine:
        state = script.database_status(engine)
    console = out()
    installed = state.script_version or "not installed"
    console.print(f"database script version: {installed} (this release: {script.SCRIPT_VERSION})")
    console.print(f"change journal: {state.journal_rows} rows, last sequence number "
                  f"{state.journal_last_seq}")
    for table, count in state.rows.items():
        console.print(f"{table}: {count}")


@app.command()
@reports_errors
def archive(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(min=1, help="How many entries, newest first.")] = 50,
) -> None:
    """List activities the sync deleted in the ERP (each restorable with db restore)."""
    with database(db) as engine:
        entries = SqlErpStore(engine).archived(limit)
    console = out()
    if not entries:
        console.print("the archive is empty")
    for entry in entries:
        start = f"{entry.start_at:%Y-%m-%d %H:%M}" if entry.start_at else "no start"
        console.print(f"{entry.archive_id}  archived {entry.archived_at:%Y-%m-%d %H:%M} UTC  "
                      f"activity {entry.activity_id}  {start}  {escape(entry.subject)}")


@app.command()
@reports_errors
def restore(
    archive_id: Annotated[int, typer.Argument(help="The archive entry (see db archive).")],
    db: DbOption = None,
) -> None:
    """Put an archived activity back with its id, participants and equipment."""
    with database(db) as engine:
        erp_id = SqlErpStore(engine).restore_activity(archive_id)
    out().print(f"restored activity {erp_id}; the next pass copies it to the mailboxes again")


@app.command()
@reports_errors
def prune(db: DbOption = None) -> None:
    """Delete change-journal rows that every synchronized mailbox has already read."""
    with database(db) as engine:
        deleted = script.prune_journal(engine)
    out().print(f"deleted {deleted} journal rows")
