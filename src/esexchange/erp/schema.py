"""Table definitions: the reference ERP schema and esExchange's own ``esx_*`` tables.

SQLAlchemy Core, portable between SQLite and PostgreSQL. The reference tables'
names and columns are a contract (docs/design.md §2): other tools write them with plain SQL.
``erp/script.py`` creates these tables; the triggers that fill ``esx_change`` are in
``erp/triggers.py``.

Time conventions:

- ERP times (``activity.start_at`` ...) are naive local times in the connection's ERP
  time zone (``TIMESTAMP WITHOUT TIME ZONE``), as an ERP stores them.
  ``activity.created_at``/``modified_at`` default to the database's current time (UTC on
  SQLite, the session's time zone on PostgreSQL); the sync reads the journal's UTC
  ``changed_at`` instead.
- Every ``esx_*`` timestamp is UTC (``UtcDateTime``): ``timestamptz`` on PostgreSQL,
  naive UTC text on SQLite; either way Python sees an aware UTC ``datetime``.

Series (script version 5): ``activity.recurrence`` holds RFC 5545 RRULE text and marks a
series master; a modified occurrence is an ``activity`` row with ``series_id`` (the
master) and ``original_start``; a deleted occurrence is a row of ``activity_exdate``.
Step 5 of the database script adds the columns to an existing ``activity`` table where
they are missing. ``series_id`` has no foreign key: an ERP that deletes a master first
must not be stopped by its exceptions (the sync reads an occurrence without its master
as recurring and leaves it alone).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
    true,
)

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """An instant in UTC: accepts aware datetimes only, returns aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given for a UTC column")
        value = value.astimezone(UTC)
        # SQLite has no time zones; its column holds naive UTC.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Seq = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit sequence number; on SQLite only ``INTEGER PRIMARY KEY`` is the rowid."""

_now = func.current_timestamp()  # UTC on SQLite; an instant on PostgreSQL.


def _one_of(
    table: str, column: str, values: tuple[str, ...], *, nullable: bool = False
) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    condition = f"{column} IN ({allowed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=f"ck_{table}_{column}")


EMPLOYMENT_STATUSES = ("active", "inactive", "left")
ACTIVITY_KINDS = ("appointment", "task")
TASK_STATUSES = ("not_started", "in_progress", "completed", "waiting", "deferred")

# --- The reference ERP schema (docs/design.md §2) --------------------------------------------

employee = Table(
    "employee",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("email", String(255), nullable=True),
    Column("employment_status", String(10), nullable=False, server_default="active"),
    Column("may_create_appointments", Boolean, nullable=False, server_default=true()),
    _one_of("employee", "employment_status", EMPLOYMENT_STATUSES),
    sqlite_autoincrement=True,
)

activity_type = Table(
    "activity_type",
    metadata,
    Column("no", Integer, primary_key=True, autoincrement=False),
    Column("description", String(100), nullable=False),
)

priority = Table(
    "priority",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("rank", Integer, nullable=False),
    sqlite_autoincrement=True,
)

activity = Table(
    "activity",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("text", Text, nullable=True),
    Column("start_at", DateTime, nullable=True),
    Column("end_at", DateTime, nullable=True),
    Column("all_day", Boolean, nullable=False, server_default=false()),
    Column("location", String(255), nullable=True),
    Column("due_at", DateTime, nullable=True),
    Column("status", String(20), nullable=True),
    Column("percent_complete", Integer, nullable=False, server_default="0"),
    Column("completed_at", DateTime, nullable=True),
    Column("private", Boolean, nullable=False, server_default=false()),
    Column("priority_id", Integer, ForeignKey("priority.id"), nullable=True),
    Column("activity_type_no", Integer, ForeignKey("activity_type.no"), nullable=True),
    Column("reminder_minutes", Integer, nullable=True),
    Column("created_at", DateTime, nullable=False, server_default=_now),
    Column("modified_at", DateTime, nullable=False, server_default=_now),
    Column("recurrence", Text, nullable=True),
    # Added by step 5 where missing (see the module docstring); ``system=True`` keeps them
    # out of step 1's CREATE TABLE, so a fresh install walks the same steps as an upgrade.
    Column("series_id", Integer, nullable=True, system=True),
    Column("original_start", DateTime, nullable=True, system=True),
    _one_of("activity", "kind", ACTIVITY_KINDS),
    _one_of("activity", "status", TASK_STATUSES, nullable=True),
    CheckConstraint(
        "percent_complete BETWEEN 0 AND 100", name="ck_activity_percent_complete"
    ),
    sqlite_autoincrement=True,  # an id is never reused: links refer to deleted ids
)

activity_participant = Table(
    "activity_participant",
    metadata,
    Column("activity_id", Integer, ForeignKey("activity.id", ondelete="CASCADE"),
           nullable=False),
    Column("employee_id", Integer, ForeignKey("employee.id"), nullable=False),
    PrimaryKeyConstraint("activity_id", "employee_id"),
    Index("ix_activity_participant_employee_id", "employee_id"),
)

equipment = Table(
    "equipment",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    sqlite_autoincrement=True,
)

activity_equipment = Table(
    "activity_equipment",
    metadata,
    Column("activity_id", Integer, ForeignKey("activity.id", ondelete="CASCADE"),
           nullable=False),
    Column("equipment_id", Integer, ForeignKey("equipment.id"), nullable=False),
    PrimaryKeyConstraint("activity_id", "equipment_id"),
)

activity_exdate = Table(
    "activity_exdate",
    metadata,
    Column("activity_id", Integer, ForeignKey("activity.id", ondelete="CASCADE"),
           nullable=False),
    Column("original_start", DateTime, nullable=False),
    PrimaryKeyConstraint("activity_id", "original_start"),
)
"""A deleted occurrence of a series: the master's id and the start the rule gave it."""

REFERENCE_TABLES: tuple[Table, ...] = (
    employee, activity_type, priority, activity, activity_participant, equipment,
    activity_equipment, activity_exdate,
)
"""Created by ``db install`` only where missing: an existing ERP already has them."""

# --- esExchange's tables ------------------------------------------------------------------

esx_meta = Table(
    "esx_meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

esx_connection = Table(
    "esx_connection",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("backend", String(10), nullable=False),
    Column("ews_url", String(1000), nullable=True),
    Column("autodiscover_email", String(255), nullable=True),
    Column("auth", String(10), nullable=False),
    Column("upn", String(255), nullable=True),
    Column("tenant_id", String(100), nullable=True),
    Column("client_id", String(100), nullable=True),
    Column("token_url", String(1000), nullable=True),
    Column("ca_bundle", Text, nullable=True),
    Column("accept_untrusted", Boolean, nullable=False, server_default=false()),
    Column("secret_encrypted", Text, nullable=True),
    Column("options_json", Text, nullable=False, server_default="{}"),
    Column("created_at", UtcDateTime, nullable=False, server_default=_now),
    # Added by step 3 of the database script with ALTER TABLE. ``system=True`` keeps it
    # out of CREATE TABLE, so step 1 creates the table as version 1 had it and a fresh
    # install walks the same steps as an upgrade.
    Column("autodiscover_url", String(1000), nullable=True, system=True),
    Column("graph_url", String(1000), nullable=True, system=True),  # step 10
    _one_of("esx_connection", "backend", ("ews", "graph")),
    _one_of("esx_connection", "auth", ("user", "app")),
    sqlite_autoincrement=True,
)


def _connection_fk() -> Column[int]:
    return Column(
        "connection_id", Integer, ForeignKey("esx_connection.id", ondelete="CASCADE"),
        nullable=False,
    )


esx_personnel = Table(
    "esx_personnel",
    metadata,
    _connection_fk(),
    Column("employee_id", Integer, ForeignKey("employee.id", ondelete="CASCADE"),
           nullable=False),
    Column("settings_json", Text, nullable=False, server_default="{}"),
    Column("added_at", UtcDateTime, nullable=False, server_default=_now),
    PrimaryKeyConstraint("connection_id", "employee_id"),
)

esx_activity_type_color = Table(
    "esx_activity_type_color",
    metadata,
    Column("activity_type_no", Integer,
           ForeignKey("activity_type.no", ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    Column("color", Integer, nullable=False),
    CheckConstraint("color BETWEEN -1 AND 24", name="ck_esx_activity_type_color_color"),
)

esx_change = Table(
    "esx_change",
    metadata,
    Column("seq", Seq, primary_key=True),
    Column("table_name", String(40), nullable=False),
    Column("activity_id", Integer, nullable=True),
    Column("employee_id", Integer, nullable=True),
    Column("kind", String(20), nullable=True),
    Column("op", String(1), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False, server_default=_now),
    _one_of("esx_change", "op", ("I", "U", "D")),
    Index("ix_esx_change_activity_id", "activity_id"),
    sqlite_autoincrement=True,  # a sequence number is never reused
)
"""The change journal, filled by triggers (``erp/triggers.py``); ``seq`` is its order.

``employee_id`` is set by rows of ``activity_participant`` (who was added or removed)
and ``employee``. ``kind`` is the activity's kind as the row saw it (the old kind on an
update, so an activity turned from appointment into task is seen leaving the
appointments); NULL where the activity was already gone. It is an addition to the
column list of the brief, so that a deleted activity is reported only to its own kind.
"""

esx_link = Table(
    "esx_link",
    metadata,
    _connection_fk(),
    Column("employee_id", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("erp_id", Integer, nullable=False),
    Column("exchange_id", String(512), nullable=False),
    Column("version", String(512), nullable=False),
    Column("erp_seq", Seq, nullable=False),
    Column("erp_hash", String(64), nullable=False),
    Column("exchange_hash", String(64), nullable=False),
    Column("synced_json", Text, nullable=False),
    Column("detached", String(10), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False, server_default=_now),
    PrimaryKeyConstraint("connection_id", "employee_id", "kind", "erp_id"),
    UniqueConstraint("connection_id", "employee_id", "kind", "exchange_id",
                     name="uq_esx_link_exchange_id"),
    _one_of("esx_link", "kind", ACTIVITY_KINDS),
    _one_of("esx_link", "detached", ("erp", "exchange"), nullable=True),
)

esx_retry = Table(
    "esx_retry",
    metadata,
    _connection_fk(),
    Column("employee_id", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("pair_key", String(530), nullable=False),
    Column("erp_id", Integer, nullable=True),
    Column("exchange_id", String(512), nullable=True),
    Column("label", String(600), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("next_try_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False, server_default=_now),
    PrimaryKeyConstraint("connection_id", "employee_id", "kind", "pair_key"),
    _one_of("esx_retry", "kind", ACTIVITY_KINDS),
)
"""Parked pairs (added in script version 5): a pair whose step failed, retried by id
with growing back-off (``domain.state.Parked``); ``esexchange status`` lists them."""

esx_cursor = Table(
    "esx_cursor",
    metadata,
    _connection_fk(),
    Column("employee_id", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("erp_seq", Seq, nullable=False, server_default="0"),
    Column("sync_state", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False, server_default=_now),
    PrimaryKeyConstraint("connection_id", "employee_id", "kind"),
    _one_of("esx_cursor", "kind", ACTIVITY_KINDS),
)

# History tables keep no foreign key to the connection: the record outlives it.
esx_conflict = Table(
    "esx_conflict",
    metadata,
    Column("id", Seq, primary_key=True),
    Column("at", UtcDateTime, nullable=False, server_default=_now),
    Column("connection_id", Integer, nullable=False),
    Column("employee_id", Integer, nullable=False),
    Column("erp_id", Integer, nullable=False),
    Column("field", String(50), nullable=False),
    Column("erp_value", Text, nullable=False),
    Column("exchange_value", Text, nullable=False),
    Column("winner", String(10), nullable=False),
    # Added by step 8 (an administrator applied the side that lost); ``system=True``
    # keeps them out of step 1's CREATE TABLE.
    Column("resolved_at", UtcDateTime, nullable=True, system=True),
    Column("resolved_by", String(200), nullable=True, system=True),
    _one_of("esx_conflict", "winner", ("erp", "exchange")),
    Index("ix_esx_conflict_scope", "connection_id", "employee_id", "at"),
    sqlite_autoincrement=True,
)

esx_audit = Table(
    "esx_audit",
    metadata,
    Column("id", Seq, primary_key=True),
    Column("at", UtcDateTime, nullable=False, server_default=_now),
    Column("connection_id", Integer, nullable=False),
    Column("employee_id", Integer, nullable=False),
    Column("action", String(40), nullable=False),
    Column("erp_id", Integer, nullable=True),
    Column("exchange_id", String(512), nullable=True),
    Column("detail", Text, nullable=False, server_default=""),
    Index("ix_esx_audit_scope", "connection_id", "employee_id", "at"),
    sqlite_autoincrement=True,
)

esx_archive = Table(
    "esx_archive",
    metadata,
    Column("id", Seq, primary_key=True),
    Column("archived_at", UtcDateTime, nullable=False, server_default=_now),
    Column("activity_id", Integer, nullable=False),
    Column("row_json", Text, nullable=False),
    Index("ix_esx_archive_activity_id", "activity_id"),
    sqlite_autoincrement=True,
)
"""What the sync deleted in the ERP: the row with participants and equipment, as JSON."""

esx_lease = Table(
    "esx_lease",
    metadata,
    _connection_fk(),
    Column("employee_id", Integer, nullable=False),
    Column("holder", String(200), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("connection_id", "employee_id"),
)

esx_pass = Table(
    "esx_pass",
    metadata,
    Column("id", Seq, primary_key=True),
    Column("connection_id", Integer, nullable=False),
    Column("employee_id", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("outcome", String(20), nullable=False),
    Column("summary_json", Text, nullable=False, server_default="{}"),
    Index("ix_esx_pass_scope", "connection_id", "employee_id", "started_at"),
    sqlite_autoincrement=True,
)
"""One row per pass over one mailbox (added in script version 2)."""

esx_admin = Table(
    "esx_admin",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, server_default=_now),
    Column("failed_sign_ins", Integer, nullable=False, server_default="0"),
    Column("last_failed_at", UtcDateTime, nullable=True),
)
"""Console administrators (added in script version 4); passwords as argon2 hashes."""

esx_worker = Table(
    "esx_worker",
    metadata,
    Column("holder", String(200), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("address", String(255), nullable=False, server_default=""),
    Column("started_at", UtcDateTime, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
)
"""Running ``esexchange run`` processes and when each was last seen (script version 4)."""

esx_console_session = Table(
    "esx_console_session",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("csrf", String(64), nullable=False),
    Column("admin", String(100), nullable=True),
    Column("expires_at", UtcDateTime, nullable=False),
)
"""Console sign-ins, by the SHA-256 of the cookie's token (script version 9): shared by
every service of the installation, kept across restarts."""
