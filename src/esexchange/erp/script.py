"""The database script: installs and upgrades esExchange's tables in an ERP database.

``install(engine)`` brings a database to ``SCRIPT_VERSION`` by running the migration
steps it has not run yet, all in one transaction, and records the version in
``esx_meta.script_version``. Running it again changes nothing. Two installs at once
are serialised (a PostgreSQL advisory lock; SQLite's write lock).

The reference ERP tables are created only where missing: an existing ERP has them and
they are never altered, except that step 5 adds the series columns to ``activity``
where they are missing. The esx_* tables and the journal triggers are always ours.

A released step never changes: a later change to the schema is a new step with its own
DDL, so every database walks the same path whatever version it starts from. A column a
later step adds to an existing table is declared with ``system=True`` in ``schema.py``,
which keeps it out of the CREATE TABLE of the step that made the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, inspect, select, text

from esexchange.erp import schema
from esexchange.erp.db import write_connection
from esexchange.erp.errors import ScriptNotInstalled, ScriptTooNew
from esexchange.erp.triggers import (
    create_journal_triggers,
    create_notify_trigger,
    create_series_triggers,
)

VERSION_KEY = "script_version"


@dataclass(frozen=True)
class Step:
    """One migration: what it brings and the function that brings it."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_base(conn: Connection) -> None:
    for table in (schema.employee, schema.activity_type, schema.priority, schema.activity,
                  schema.activity_participant, schema.equipment, schema.activity_equipment):
        table.create(conn, checkfirst=True)
    for table in (
        schema.esx_meta, schema.esx_connection, schema.esx_personnel,
        schema.esx_activity_type_color, schema.esx_change, schema.esx_link,
        schema.esx_cursor, schema.esx_conflict, schema.esx_audit, schema.esx_archive,
        schema.esx_lease,
    ):
        table.create(conn, checkfirst=True)
    create_journal_triggers(conn)


def _create_pass_log(conn: Connection) -> None:
    schema.esx_pass.create(conn, checkfirst=True)


def _add_autodiscover_url(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE esx_connection ADD COLUMN autodiscover_url VARCHAR(1000)"))


def _rename_change_key_to_version(conn: Connection) -> None:
    # Released step 1 created the column as ``change_key``; step 1 now creates the table
    # from schema.py, which names it ``version``, so only an older install renames it.
    # Both SQLite (3.25+) and PostgreSQL rename a column in place, keeping its rows.
    columns = {column["name"] for column in inspect(conn).get_columns(schema.esx_link.name)}
    if "change_key" in columns:
        conn.execute(text("ALTER TABLE esx_link RENAME COLUMN change_key TO version"))


def _add_series(conn: Connection) -> None:
    present = {c["name"] for c in inspect(conn).get_columns(schema.activity.name)}
    for column in (schema.activity.c.recurrence, schema.activity.c.series_id,
                   schema.activity.c.original_start):
        if column.name not in present:
            conn.execute(text(f"ALTER TABLE activity ADD COLUMN {column.name} "
                              f"{column.type.compile(conn.dialect)}"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_activity_series_id ON activity (series_id)"))
    schema.activity_exdate.create(conn, checkfirst=True)
    create_series_triggers(conn)


def _create_retry_table(conn: Connection) -> None:
    schema.esx_retry.create(conn, checkfirst=True)


def _add_graph_url(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE esx_connection ADD COLUMN graph_url VARCHAR(1000)"))


def _create_service_tables(conn: Connection) -> None:
    schema.esx_admin.create(conn, checkfirst=True)
    schema.esx_worker.create(conn, checkfirst=True)


def _create_console_sessions(conn: Connection) -> None:
    schema.esx_console_session.create(conn, checkfirst=True)


def _add_conflict_resolution(conn: Connection) -> None:
    for column in (schema.esx_conflict.c.resolved_at, schema.esx_conflict.c.resolved_by):
        conn.execute(text(f"ALTER TABLE esx_conflict ADD COLUMN {column.name} "
                          f"{column.type.compile(conn.dialect)}"))


STEPS: tuple[Step, ...] = (
    Step(1, "reference ERP tables where missing; sync tables; change journal and triggers",
         _create_base),
    Step(2, "esx_pass: one row per synchronization pass, for status and the console",
         _create_pass_log),
    Step(3, "esx_connection.autodiscover_url: the Autodiscover service to ask when it is "
            "not at the address's domain", _add_autodiscover_url),
    Step(4, "esx_link.change_key renamed to version: the backend's version token (an EWS "
            "change key, a Graph etag)", _rename_change_key_to_version),
    Step(5, "series: activity.series_id and original_start (recurrence where missing), "
            "activity_exdate, and journal rows that show a changed exception or deleted "
            "occurrence as a change of its series", _add_series),
    Step(6, "esx_retry: pairs whose step failed, retried by id with growing back-off",
         _create_retry_table),
    Step(7, "esx_admin and esx_worker: console administrators and the running services",
         _create_service_tables),
    Step(8, "esx_conflict.resolved_at and resolved_by: an administrator applied the side "
            "that lost", _add_conflict_resolution),
    Step(9, "esx_console_session: console sign-ins, shared by the installation's services "
            "and kept across restarts", _create_console_sessions),
    Step(10, "esx_connection.graph_url: the Microsoft Graph root of a Graph connection "
            "(a national cloud, the sandbox)", _add_graph_url),
    Step(11, "PostgreSQL: every journal row also notifies channel esx_journal, so the "
             "service hears of an ERP change at once", create_notify_trigger),
)
SCRIPT_VERSION = STEPS[-1].version


@dataclass(frozen=True)
class InstallReport:
    """What ``install`` did: the version before and after, the steps it ran."""

    before: int
    after: int
    applied: tuple[Step, ...]


def installed_version(conn: Connection) -> int:
    """The script version recorded in the database; 0 when nothing is installed."""
    if not inspect(conn).has_table(schema.esx_meta.name):
        return 0
    value = conn.scalar(
        select(schema.esx_meta.c.value).where(schema.esx_meta.c.key == VERSION_KEY)
    )
    return int(value) if value is not None else 0


def install(
    engine: Engine, *, upto: int | None = None, steps: Sequence[Step] = STEPS
) -> InstallReport:
    """Bring the database to version ``upto`` (the newest step) in one transaction.

    Idempotent: steps already recorded in ``esx_meta`` are not run again.
    """
    with write_connection(engine) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('esexchange.install'))"))
        before = installed_version(conn)
        newest = steps[-1].version
        if before > newest:
            raise ScriptTooNew(
                f"the database has esExchange script version {before}, but this "
                f"esExchange knows versions up to {newest}: upgrade esExchange"
            )
        target = newest if upto is None else upto
        pending = tuple(step for step in steps if before < step.version <= target)
        for step in pending:
            step.apply(conn)
        after = pending[-1].version if pending else before
        if pending:
            _record_version(conn, after)
    return InstallReport(before=before, after=after, applied=pending)


def require_current(conn: Connection) -> None:
    """Raise ``ScriptNotInstalled``/``ScriptTooNew`` unless the script is current."""
    version = installed_version(conn)
    if version < SCRIPT_VERSION:
        raise ScriptNotInstalled(
            f"the database has esExchange script version {version}, this release needs "
            f"{SCRIPT_VERSION}: run 'esexchange db install'"
        )
    if version > SCRIPT_VERSION:
        raise ScriptTooNew(
            f"the database has esExchange script version {version}, newer than this "
            f"release ({SCRIPT_VERSION}): upgrade esExchange"
        )


@dataclass(frozen=True)
class DatabaseStatus:
    """What ``esexchange db status`` shows."""

    script_version: int
    journal_rows: int
    journal_last_seq: int
    rows: dict[str, int]


def database_status(engine: Engine) -> DatabaseStatus:
    """Script version, journal size and row counts of the main tables."""
    with engine.connect() as conn:
        version = installed_version(conn)
        existing = set(inspect(conn).get_table_names())
        counted = [t for t in (*schema.REFERENCE_TABLES, schema.esx_connection,
                               schema.esx_personnel, schema.esx_link, schema.esx_archive)
                   if t.name in existing]
        rows = {t.name: conn.scalar(select(func.count()).select_from(t)) or 0 for t in counted}
        journal_rows = journal_last = 0
        if schema.esx_change.name in existing:
            journal_rows, journal_last = conn.execute(
                select(func.count(), func.coalesce(func.max(schema.esx_change.c.seq), 0))
            ).one()
    return DatabaseStatus(version, journal_rows, journal_last, rows)


def prune_journal(engine: Engine) -> int:
    """Delete journal rows every cursor has passed; returns how many were deleted.

    A scope without a cursor reads current rows, not the journal, on its first pass, so
    only the oldest stored cursor counts. The newest row is always kept.
    """
    c = schema.esx_change.c
    with write_connection(engine) as conn, conn.begin():
        require_current(conn)
        oldest_cursor = conn.scalar(select(func.min(schema.esx_cursor.c.erp_seq)))
        newest = conn.scalar(select(func.max(c.seq)))
        if newest is None:
            return 0
        keep_from = min(newest, oldest_cursor if oldest_cursor is not None else newest)
        return conn.execute(schema.esx_change.delete().where(c.seq <= keep_from,
                                                             c.seq < newest)).rowcount


def _record_version(conn: Connection, version: int) -> None:
    meta = schema.esx_meta
    updated = conn.execute(
        meta.update().where(meta.c.key == VERSION_KEY).values(value=str(version))
    ).rowcount
    if not updated:
        conn.execute(meta.insert().values(key=VERSION_KEY, value=str(version)))
