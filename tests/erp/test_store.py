"""SqlErpStore's unit of work and its reads, on real SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.pool import StaticPool

from esexchange.domain.errors import ItemRejected
from esexchange.domain.model import (
    ErpActivity,
    Importance,
    Item,
    Kind,
    Side,
    TaskStatus,
)
from esexchange.domain.state import Link
from esexchange.erp.db import bookkeeping_connection, open_engine, write_connection
from esexchange.erp.errors import ActivityNotFound
from esexchange.erp.port import Cursor, Scope
from esexchange.erp.script import install
from esexchange.erp.store import SqlErpStore
from tests.erp.conftest import Erp


def connection(erp: Erp, name: str = "Zentrale") -> int:
    return int(erp.sql(
        "INSERT INTO esx_connection (name, backend, auth) VALUES (:n, 'ews', 'user') "
        "RETURNING id", n=name))


def test_nothing_is_written_without_commit(erp: Erp, store: SqlErpStore) -> None:
    anna = erp.employee("Anna Schmidt")
    scope = Scope(connection(erp), anna)

    with store.transaction() as tx:
        tx.create_activity(ErpActivity(None, Kind.TASK, "Angebot"), anna)
        tx.save_cursor(scope, Kind.TASK, Cursor(erp_seq=42, sync_state="s1"))
    with pytest.raises(RuntimeError, match="boom"), store.transaction() as tx:
        tx.create_activity(ErpActivity(None, Kind.TASK, "Angebot"), anna)
        raise RuntimeError("boom")

    assert erp.sql("SELECT count(*) FROM activity") == 0
    assert store.cursor(scope, Kind.TASK) == Cursor()


def test_commit_makes_everything_durable_together(erp: Erp, store: SqlErpStore) -> None:
    anna = erp.employee("Anna Schmidt")
    scope = Scope(connection(erp), anna)
    new = ErpActivity(
        None, Kind.APPOINTMENT, "Kundenbesuch Müller GmbH", text="Zeile 1\nZeile 2",
        start_at=datetime(2026, 12, 3, 14, 0), end_at=datetime(2026, 12, 3, 15, 30),
        location="Köln", private=True, reminder_minutes=15,
    )

    with store.transaction() as tx:
        erp_id = tx.create_activity(new, anna)
        tx.save_cursor(scope, Kind.APPOINTMENT, Cursor(erp_seq=7, sync_state="state-1"))
        tx.audit(scope, "created_in_erp", erp_id, "AAMk=", "from Exchange")
        tx.commit()
        with pytest.raises(RuntimeError, match="ended"):
            tx.audit(scope, "late", None, None, "")

    stored = store.activities([erp_id])[erp_id]
    assert stored == ErpActivity(
        erp_id, Kind.APPOINTMENT, "Kundenbesuch Müller GmbH", text="Zeile 1\nZeile 2",
        start_at=datetime(2026, 12, 3, 14, 0), end_at=datetime(2026, 12, 3, 15, 30),
        location="Köln", private=True, reminder_minutes=15, participant_ids=(anna,),
    )
    assert store.cursor(scope, Kind.APPOINTMENT) == Cursor(erp_seq=7, sync_state="state-1")
    assert erp.sql("SELECT detail FROM esx_audit WHERE erp_id = :id", id=erp_id) == "from Exchange"


def test_update_writes_only_the_named_fields(erp: Erp, store: SqlErpStore) -> None:
    anna, john = erp.employee("Anna Schmidt"), erp.employee("John Miller")
    beamer = erp.sql("INSERT INTO equipment (name) VALUES ('Beamer') RETURNING id")
    meeting = erp.appointment("Old subject", anna, john, location="Room 1", text="ERP text")
    erp.sql("INSERT INTO activity_equipment VALUES (:a, :e)", a=meeting, e=beamer)
    incoming = ErpActivity(None, Kind.APPOINTMENT, "New subject", text="Exchange text",
                           location="Room 9", start_at=datetime(2026, 12, 1, 11, 0))

    with store.transaction() as tx:
        tx.update_activity(meeting, incoming, frozenset({"subject", "start_at"}))
        tx.commit()

    stored = store.activities([meeting])[meeting]
    assert (stored.subject, stored.start_at) == ("New subject", datetime(2026, 12, 1, 11, 0))
    assert (stored.text, stored.location) == ("ERP text", "Room 1")
    assert (stored.participant_ids, stored.equipment) == (tuple(sorted((anna, john))), ("Beamer",))


def test_task_fields_round_trip(erp: Erp, store: SqlErpStore) -> None:
    anna = erp.employee("Anna Schmidt")
    task = ErpActivity(None, Kind.TASK, "Bericht", due_at=datetime(2026, 12, 24),
                       status=TaskStatus.COMPLETED, percent_complete=100,
                       completed_at=datetime(2026, 12, 20, 16, 5), priority_id=None)
    with store.transaction() as tx:
        erp_id = tx.create_activity(task, anna)
        tx.commit()

    stored = store.activities([erp_id])[erp_id]
    assert (stored.status, stored.percent_complete, stored.due_at, stored.completed_at) == (
        TaskStatus.COMPLETED, 100, datetime(2026, 12, 24), datetime(2026, 12, 20, 16, 5))


def test_bad_writes_are_refused_with_the_field_named(erp: Erp, store: SqlErpStore) -> None:
    anna = erp.employee("Anna Schmidt")
    meeting = erp.appointment("Fine", anna)
    with store.transaction() as tx:
        with pytest.raises(ItemRejected) as rejected:
            tx.create_activity(ErpActivity(None, Kind.APPOINTMENT, "x" * 300), anna)
        assert rejected.value.field == "subject" and "255" in str(rejected.value)
        with pytest.raises(ItemRejected, match="percent_complete"):
            tx.update_activity(meeting, ErpActivity(None, Kind.TASK, "t", percent_complete=101),
                               frozenset({"percent_complete"}))
        with pytest.raises(ValueError, match="participant_ids"):
            tx.update_activity(meeting, ErpActivity(None, Kind.APPOINTMENT, "t"),
                               frozenset({"participant_ids"}))
        with pytest.raises(ActivityNotFound):
            tx.update_activity(987_654, ErpActivity(None, Kind.APPOINTMENT, "t"),
                               frozenset({"subject"}))


def test_delete_archives_first_and_restore_brings_it_back(erp: Erp, store: SqlErpStore) -> None:
    anna, john = erp.employee("Anna Schmidt"), erp.employee("John Miller")
    car = erp.sql("INSERT INTO equipment (name) VALUES ('Firmenwagen') RETURNING id")
    trip = erp.appointment("Messe Hannover", anna, john, all_day=True,
                           start_at=datetime(2026, 12, 7), end_at=datetime(2026, 12, 9),
                           text="Stand B12")
    erp.sql("INSERT INTO activity_equipment VALUES (:a, :e)", a=trip, e=car)
    before = store.activities([trip])[trip]

    with store.transaction() as tx:
        tx.delete_activity(trip, employee_id=anna)
        tx.delete_activity(trip, employee_id=anna)  # a retried pass: nothing more happens
        tx.commit()

    assert store.activities([trip]) == {}
    archive_id, row_json = erp.engine.connect().execute(
        text("SELECT id, row_json FROM esx_archive WHERE activity_id = :a"), {"a": trip}
    ).one()
    archived = json.loads(row_json)
    assert archived["activity"]["subject"] == "Messe Hannover"
    assert sorted(archived["participants"]) == sorted([anna, john])
    assert archived["equipment"] == [{"id": car, "name": "Firmenwagen"}]

    assert store.restore_activity(archive_id) == trip
    assert store.activities([trip])[trip] == before
    assert erp.sql("SELECT count(*) FROM esx_archive") == 0


def test_links_and_audit_lines_of_a_savepoint_go_to_the_database_together(
    erp: Erp, store: SqlErpStore, engine: Engine
) -> None:
    anna = erp.employee("Anna Schmidt")
    scope = Scope(connection(erp), anna)
    item = Item(kind=Kind.TASK, subject="Call", due=date(2026, 12, 2))
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *rest: object) -> None:
        statements.append(statement.split()[0].upper())

    with store.transaction() as tx:
        tx.save_link(scope, Link(Kind.TASK, 999, "AAMkAZ=", "CK0", 1, "a", "b", item))
        event.listen(engine, "before_cursor_execute", count)
        try:
            with tx.savepoint():  # 50 pairs, as the engine records them
                tx.drop_link(scope, Kind.TASK, 999)
                for n in range(50):
                    tx.save_link(scope, Link(Kind.TASK, n, f"AAMk{n}=", "CK", n, "a", "b", item))
                    tx.audit(scope, "CreateInExchange", n, f"AAMk{n}=", "task")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        tx.commit()

    # SAVEPOINT, the drop, all links, all audit lines, RELEASE: not 103 statements.
    assert statements == ["SAVEPOINT", "DELETE", "INSERT", "INSERT", "RELEASE"]
    assert [link.erp_id for link in store.links(scope, Kind.TASK)] == list(range(50))
    assert erp.sql("SELECT count(*) FROM esx_audit WHERE employee_id = :e", e=anna) == 50


def test_links_round_trip_with_their_synced_item(erp: Erp, store: SqlErpStore) -> None:
    anna = erp.employee("Anna Schmidt")
    scope = Scope(connection(erp), anna)
    synced = Item(
        kind=Kind.APPOINTMENT, subject="Schulung Ümlaute", body="Text\n\twith tab",
        start=date(2026, 12, 7), end=date(2026, 12, 9), importance=Importance.HIGH,
        activity_type_no=4, reminder_minutes=None, equipment=("Beamer", "Laptop"),
        priority_name="Hoch",
    )
    timed = Item(kind=Kind.TASK, subject="Call", start=datetime(2026, 12, 1, 8, tzinfo=UTC),
                 due=date(2026, 12, 2), status=TaskStatus.WAITING, percent_complete=25)
    links = [
        Link(Kind.APPOINTMENT, 11, "AAMkAD=", "CK1", 5, "h-erp", "h-ex", synced),
        Link(Kind.APPOINTMENT, 12, "AAMkAE=", "CK2", 6, "h2", "h3", synced, Side.EXCHANGE),
    ]
    with store.transaction() as tx:
        for link in links:
            tx.save_link(scope, link)
        tx.save_link(scope, Link(Kind.TASK, 11, "AAMkAF=", "CK3", 9, "a", "b", timed))
        tx.commit()

    assert store.links(scope, Kind.APPOINTMENT) == links
    [task_link] = store.links(scope, Kind.TASK)
    assert task_link.synced == timed and task_link.synced.content_hash() == timed.content_hash()

    replaced = Link(Kind.APPOINTMENT, 11, "AAMkAD=", "CK7", 8, "x", "y", synced)
    with store.transaction() as tx:
        tx.save_link(scope, replaced)
        tx.drop_link(scope, Kind.APPOINTMENT, 12)
        tx.commit()
    assert store.links(scope, Kind.APPOINTMENT) == [replaced]
    assert store.links(Scope(scope.connection_id, anna + 1), Kind.APPOINTMENT) == []


def test_conflicts_and_passes_are_recorded(erp: Erp, store: SqlErpStore) -> None:
    anna = erp.employee("Anna Schmidt")
    scope = Scope(connection(erp), anna)
    with store.transaction() as tx:
        tx.record_conflict(scope, 5, "subject", "ERP says", "Exchange says", Side.EXCHANGE)
        tx.commit()
    started = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    pass_id = store.record_pass(scope, started_at=started,
                                finished_at=started + timedelta(seconds=3),
                                outcome="ok", summary={"created": 2})

    with erp.engine.connect() as conn:
        assert conn.execute(text(
            "SELECT field, erp_value, exchange_value, winner FROM esx_conflict")).all() == [
            ("subject", "ERP says", "Exchange says", "exchange")]
        assert conn.execute(text("SELECT outcome, summary_json FROM esx_pass WHERE id = :i"),
                            {"i": pass_id}).all() == [("ok", '{"created": 2}')]


def test_reference_and_employees(erp: Erp, store: SqlErpStore) -> None:
    erp.sql("INSERT INTO activity_type (no, description) VALUES (2, 'Call'), (1, 'Meeting')")
    erp.sql("INSERT INTO esx_activity_type_color VALUES (1, 7)")
    erp.sql("INSERT INTO priority (name, rank) VALUES ('Hoch', 30), ('Niedrig', 10)")
    anna = erp.employee("Anna Schmidt", email="Anna.Schmidt@Example.test")
    gone = erp.employee("Old Timer", status="left")

    reference = store.reference()

    assert [(t.no, t.description, t.color) for t in reference.activity_types] == [
        (1, "Meeting", 7), (2, "Call", -1)]
    assert [p.name for p in reference.priorities] == ["Niedrig", "Hoch"]
    assert [e.id for e in store.employees()] == [anna, gone]
    assert [e.syncable for e in store.employees([gone])] == [False]


@pytest.mark.postgres
def test_cursor_waits_for_a_transaction_still_writing(fresh_postgres_url: str) -> None:
    """PostgreSQL hands out journal numbers before commit; the cursor must not skip one."""
    from esexchange.erp.db import open_engine
    from esexchange.erp.script import install

    engine = open_engine(fresh_postgres_url)
    install(engine)
    erp, store = Erp(engine), SqlErpStore(engine)
    anna = erp.employee("Anna Schmidt")
    _, start = store.changes(anna, Kind.APPOINTMENT, 0)

    slow = engine.connect()
    slow_tx = slow.begin()
    slow.execute(text("INSERT INTO activity (kind, subject) VALUES ('appointment', 'Slow')"))
    slow_id = slow.execute(text("SELECT max(id) FROM activity")).scalar_one()
    slow.execute(text("INSERT INTO activity_participant VALUES (:a, :e)"),
                 {"a": slow_id, "e": anna})
    fast = erp.appointment("Fast", anna)  # commits, with higher numbers

    seen, cursor = store.changes(anna, Kind.APPOINTMENT, start)
    assert [c.erp_id for c in seen] == [fast]
    assert cursor == start  # held below the hole of the running transaction

    slow_tx.commit()
    slow.close()
    seen, cursor = store.changes(anna, Kind.APPOINTMENT, cursor)
    assert sorted(c.erp_id for c in seen) == sorted([slow_id, fast])
    assert cursor == erp.sql("SELECT max(seq) FROM esx_change")

    # A rolled-back transaction leaves a hole for good; once old it is passed.
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(text("INSERT INTO activity (kind, subject) VALUES ('task', 'Undone')"))
        tx.rollback()
    later = erp.appointment("Later", anna)
    _, held = store.changes(anna, Kind.APPOINTMENT, cursor)
    seen, passed = SqlErpStore(engine, gap_grace=timedelta(0)).changes(
        anna, Kind.APPOINTMENT, cursor)
    assert held == cursor
    assert [c.erp_id for c in seen] == [later]
    assert passed == erp.sql("SELECT max(seq) FROM esx_change")
    engine.dispose()


def test_only_the_services_bookkeeping_commits_without_waiting_for_the_disk(
    sqlite_url: str,
) -> None:
    # SQLite: a lease or a pass record may skip the disk wait (its holder dies with the
    # machine), what the sync writes may not, on the same pooled connection either way.
    engine = open_engine(sqlite_url, poolclass=StaticPool)
    install(engine)

    def synchronous(opened: Callable[[Engine], AbstractContextManager[Connection]]) -> int:
        with opened(engine) as conn, conn.begin():
            return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())

    full, normal = 2, 1
    assert synchronous(write_connection) == full
    assert synchronous(bookkeeping_connection) == normal
    assert synchronous(write_connection) == full
    assert synchronous(lambda e: e.connect()) == full
