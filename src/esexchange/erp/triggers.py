"""The triggers that fill the change journal ``esx_change``, per dialect.

Every insert, update and delete on ``activity``, ``activity_participant``,
``activity_equipment`` and ``employee`` writes journal rows, inside the writing
transaction, so the sync sees every change, deletes included, whoever made it:

- ``activity``: one row per row change, ``op`` I/U/D, with the kind (the old kind on
  an update).
- ``activity_participant``: one row per participant added (I) or removed (D) with its
  ``employee_id``, so a participant removed from a conference appointment sees the
  appointment leave. An update that moves a participant is a removal plus an addition.
- ``activity_equipment``: a change of the activity (I/D; an update as D plus I).
- ``employee``: one row per change, ``activity_id`` NULL.

Series (``create_series_triggers``, script step 5) are journaled as one thing:

- ``activity_exdate``: a change of the master (I/D; an update as D plus I), like
  equipment.
- ``activity`` rows with a ``series_id`` (modified occurrences): besides their own row,
  a ``U`` row for the master (the old and the new one when ``series_id`` changes), so a
  series is seen changed whichever of its rows changed.

On PostgreSQL every journal row also sends ``pg_notify('esx_journal',
'activity_id:employee_id')`` (``create_notify_trigger``, script step 11; empty where NULL),
delivered at commit to the service that LISTENs (``service/realtime.py``), so an ERP
change starts a pass in seconds. SQLite has no notifications; the service reads the
journal's highest ``seq`` instead.

``changed_at`` is set by the database in UTC. On PostgreSQL it is ``clock_timestamp()``
(the moment of the change, not the start of a long transaction).
"""

from __future__ import annotations

from sqlalchemy import Connection

_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
_COLUMNS = "(table_name, activity_id, employee_id, kind, op, changed_at)"


def _sqlite_row(table: str, activity: str, employee: str, kind: str, op: str) -> str:
    return (
        f"INSERT INTO esx_change {_COLUMNS} "
        f"VALUES ('{table}', {activity}, {employee}, {kind}, '{op}', {_SQLITE_NOW});"
    )


def _sqlite_kind_of(ref: str) -> str:
    return f"(SELECT kind FROM activity WHERE id = {ref}.activity_id)"


def _sqlite_triggers() -> list[str]:
    def trigger(table: str, event: str, body: list[str]) -> str:
        name = f"esx_journal_{table}_{event.lower()}"
        return (
            f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN "
            + " ".join(body)
            + " END"
        )

    def member(table: str, employee: str) -> list[str]:
        old_emp = f"OLD.{employee}" if employee else "NULL"
        new_emp = f"NEW.{employee}" if employee else "NULL"
        removed = _sqlite_row(table, "OLD.activity_id", old_emp, _sqlite_kind_of("OLD"), "D")
        added = _sqlite_row(table, "NEW.activity_id", new_emp, _sqlite_kind_of("NEW"), "I")
        return [
            trigger(table, "INSERT", [added]),
            trigger(table, "DELETE", [removed]),
            trigger(table, "UPDATE", [removed, added]),
        ]

    return [
        trigger("activity", "INSERT", [_sqlite_row("activity", "NEW.id", "NULL", "NEW.kind", "I")]),
        trigger("activity", "UPDATE", [_sqlite_row("activity", "NEW.id", "NULL", "OLD.kind", "U")]),
        trigger("activity", "DELETE", [_sqlite_row("activity", "OLD.id", "NULL", "OLD.kind", "D")]),
        *member("activity_participant", "employee_id"),
        *member("activity_equipment", ""),
        *(
            trigger("employee", event, [_sqlite_row("employee", "NULL", f"{ref}.id", "NULL", op)])
            for event, ref, op in (("INSERT", "NEW", "I"), ("UPDATE", "NEW", "U"),
                                   ("DELETE", "OLD", "D"))
        ),
    ]


_PG_ACTIVITY = """
CREATE OR REPLACE FUNCTION esx_journal_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO esx_change (table_name, activity_id, kind, op, changed_at)
        VALUES ('activity', OLD.id, OLD.kind, 'D', clock_timestamp());
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO esx_change (table_name, activity_id, kind, op, changed_at)
        VALUES ('activity', NEW.id, OLD.kind, 'U', clock_timestamp());
    ELSE
        INSERT INTO esx_change (table_name, activity_id, kind, op, changed_at)
        VALUES ('activity', NEW.id, NEW.kind, 'I', clock_timestamp());
    END IF;
    RETURN NULL;
END $$
"""

# One function for both member tables: the employee is read through to_jsonb, because
# activity_equipment has no employee_id column.
_PG_MEMBER = """
CREATE OR REPLACE FUNCTION esx_journal_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO esx_change (table_name, activity_id, employee_id, kind, op, changed_at)
        VALUES (TG_TABLE_NAME, OLD.activity_id, (to_jsonb(OLD) ->> 'employee_id')::integer,
                (SELECT kind FROM activity WHERE id = OLD.activity_id), 'D', clock_timestamp());
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO esx_change (table_name, activity_id, employee_id, kind, op, changed_at)
        VALUES (TG_TABLE_NAME, NEW.activity_id, (to_jsonb(NEW) ->> 'employee_id')::integer,
                (SELECT kind FROM activity WHERE id = NEW.activity_id), 'I', clock_timestamp());
    END IF;
    RETURN NULL;
END $$
"""

_PG_EMPLOYEE = """
CREATE OR REPLACE FUNCTION esx_journal_employee() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO esx_change (table_name, employee_id, op, changed_at)
    VALUES ('employee', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
            left(TG_OP, 1), clock_timestamp());
    RETURN NULL;
END $$
"""


def _pg_triggers() -> list[str]:
    def trigger(table: str, function: str) -> list[str]:
        name = f"esx_journal_{table}"
        return [
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        ]

    return [
        _PG_ACTIVITY,
        _PG_MEMBER,
        _PG_EMPLOYEE,
        *trigger("activity", "esx_journal_activity"),
        *trigger("activity_participant", "esx_journal_member"),
        *trigger("activity_equipment", "esx_journal_member"),
        *trigger("employee", "esx_journal_employee"),
    ]


def _sqlite_series_triggers() -> list[str]:
    def master_row(ref: str, condition: str) -> str:
        return (
            f"INSERT INTO esx_change {_COLUMNS} SELECT 'activity', {ref}.series_id, NULL, "
            f"(SELECT kind FROM activity WHERE id = {ref}.series_id), 'U', {_SQLITE_NOW} "
            f"WHERE {condition};"
        )

    def trigger(name: str, event: str, body: list[str]) -> str:
        return (f"CREATE TRIGGER {name} AFTER {event} ON activity FOR EACH ROW BEGIN "
                + " ".join(body) + " END")

    exdate = "activity_exdate"
    removed = _sqlite_row(exdate, "OLD.activity_id", "NULL", _sqlite_kind_of("OLD"), "D")
    added = _sqlite_row(exdate, "NEW.activity_id", "NULL", _sqlite_kind_of("NEW"), "I")
    return [
        f"CREATE TRIGGER esx_journal_{exdate}_insert AFTER INSERT ON {exdate} "
        f"FOR EACH ROW BEGIN {added} END",
        f"CREATE TRIGGER esx_journal_{exdate}_delete AFTER DELETE ON {exdate} "
        f"FOR EACH ROW BEGIN {removed} END",
        f"CREATE TRIGGER esx_journal_{exdate}_update AFTER UPDATE ON {exdate} "
        f"FOR EACH ROW BEGIN {removed} {added} END",
        trigger("esx_journal_activity_series_insert", "INSERT",
                [master_row("NEW", "NEW.series_id IS NOT NULL")]),
        trigger("esx_journal_activity_series_delete", "DELETE",
                [master_row("OLD", "OLD.series_id IS NOT NULL")]),
        trigger("esx_journal_activity_series_update", "UPDATE", [
            master_row("OLD", "OLD.series_id IS NOT NULL"),
            master_row("NEW", "NEW.series_id IS NOT NULL "
                              "AND NEW.series_id IS NOT OLD.series_id"),
        ]),
    ]


_PG_SERIES = """
CREATE OR REPLACE FUNCTION esx_journal_series() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF OLD.series_id IS NOT NULL THEN
            INSERT INTO esx_change (table_name, activity_id, kind, op, changed_at)
            VALUES ('activity', OLD.series_id,
                    (SELECT kind FROM activity WHERE id = OLD.series_id), 'U', clock_timestamp());
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        IF NEW.series_id IS NOT NULL AND (TG_OP = 'INSERT' OR
                                          NEW.series_id IS DISTINCT FROM OLD.series_id) THEN
            INSERT INTO esx_change (table_name, activity_id, kind, op, changed_at)
            VALUES ('activity', NEW.series_id,
                    (SELECT kind FROM activity WHERE id = NEW.series_id), 'U', clock_timestamp());
        END IF;
    END IF;
    RETURN NULL;
END $$
"""


def create_series_triggers(conn: Connection) -> None:
    """Journal exceptions and deleted occurrences as changes of their series (step 5)."""
    if conn.dialect.name == "sqlite":
        statements = _sqlite_series_triggers()
    else:
        statements = [
            _PG_SERIES,
            "DROP TRIGGER IF EXISTS esx_journal_activity_series ON activity",
            "CREATE TRIGGER esx_journal_activity_series AFTER INSERT OR UPDATE OR DELETE "
            "ON activity FOR EACH ROW EXECUTE FUNCTION esx_journal_series()",
            "DROP TRIGGER IF EXISTS esx_journal_activity_exdate ON activity_exdate",
            "CREATE TRIGGER esx_journal_activity_exdate AFTER INSERT OR UPDATE OR DELETE "
            "ON activity_exdate FOR EACH ROW EXECUTE FUNCTION esx_journal_member()",
        ]
    for statement in statements:
        conn.exec_driver_sql(statement)


def create_journal_triggers(conn: Connection) -> None:
    """Create the journal triggers on the ERP tables (inside the caller's transaction)."""
    if conn.dialect.name == "sqlite":
        statements = [
            f"DROP TRIGGER IF EXISTS {name}" for name in sqlite_trigger_names()
        ] + _sqlite_triggers()
    else:
        statements = _pg_triggers()
    for statement in statements:
        conn.exec_driver_sql(statement)


def sqlite_trigger_names() -> list[str]:
    """The names of the SQLite journal triggers."""
    return [s.split()[2] for s in _sqlite_triggers()]


_PG_NOTIFY = """
CREATE OR REPLACE FUNCTION esx_journal_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('esx_journal', coalesce(NEW.activity_id::text, '') || ':'
                                     || coalesce(NEW.employee_id::text, ''));
    RETURN NULL;
END $$
"""


def create_notify_trigger(conn: Connection) -> None:
    """PostgreSQL: tell listeners of every journal row at commit (step 11; SQLite: none)."""
    if conn.dialect.name != "postgresql":
        return
    for statement in (
        _PG_NOTIFY,
        "DROP TRIGGER IF EXISTS esx_journal_notify ON esx_change",
        "CREATE TRIGGER esx_journal_notify AFTER INSERT ON esx_change "
        "FOR EACH ROW EXECUTE FUNCTION esx_journal_notify()",
    ):
        conn.exec_driver_sql(statement)
