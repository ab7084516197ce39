"""The triggers fill the change journal on real SQLite and real PostgreSQL, and the
store reads it back per employee and kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from esexchange.domain.model import Kind
from esexchange.erp.store import SqlErpStore
from tests.erp.conftest import Erp


def journal(erp: Erp) -> list[tuple[str, int | None, int | None, str | None, str]]:
    with erp.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT table_name, activity_id, employee_id, kind, op FROM esx_change ORDER BY seq"
        ))]


def test_inserts_updates_and_deletes_are_journaled(erp: Erp) -> None:
    anna = erp.employee("Anna Schmidt")
    meeting = erp.appointment("Projektbesprechung", anna)
    erp.sql("UPDATE activity SET subject = 'Project review' WHERE id = :id", id=meeting)
    erp.sql("UPDATE employee SET email = 'anna@example.test' WHERE id = :id", id=anna)
    erp.sql("DELETE FROM activity WHERE id = :id", id=meeting)

    rows = journal(erp)
    assert rows[0] == ("employee", None, anna, None, "I")
    assert rows[1] == ("activity", meeting, None, "appointment", "I")
    assert rows[2] == ("activity_participant", meeting, anna, "appointment", "I")
    assert rows[3] == ("activity", meeting, None, "appointment", "U")
    assert rows[4] == ("employee", None, anna, None, "U")
    # The delete is seen for the activity and, through the cascade, for its participant
    # (the order of the two and the participant row's kind depend on the dialect).
    assert sorted((table, a, e, op) for table, a, e, _kind, op in rows[5:]) == [
        ("activity", meeting, None, "D"),
        ("activity_participant", meeting, anna, "D"),
    ]


def test_equipment_changes_are_changes_of_the_activity(erp: Erp, store: SqlErpStore) -> None:
    anna = erp.employee("Anna Schmidt")
    meeting = erp.appointment("Kundenbesuch", anna)
    _, seq = store.changes(anna, Kind.APPOINTMENT, 0)
    beamer = erp.sql("INSERT INTO equipment (name) VALUES ('Beamer') RETURNING id")
    erp.sql("INSERT INTO activity_equipment VALUES (:a, :e)", a=meeting, e=beamer)

    changes, newer = store.changes(anna, Kind.APPOINTMENT, seq)

    assert newer > seq
    assert [(c.erp_id, c.activity.equipment if c.activity else None) for c in changes] == [
        (meeting, ("Beamer",))
    ]


def test_participant_removed_from_conference_sees_a_deletion(
    erp: Erp, store: SqlErpStore
) -> None:
    anna, john = erp.employee("Anna Schmidt"), erp.employee("John Miller")
    conference = erp.appointment("Quarterly review", anna, john)
    _, seq = store.changes(anna, Kind.APPOINTMENT, 0)

    erp.sql("DELETE FROM activity_participant WHERE activity_id = :a AND employee_id = :e",
            a=conference, e=john)

    johns, _ = store.changes(john, Kind.APPOINTMENT, seq)
    annas, _ = store.changes(anna, Kind.APPOINTMENT, seq)
    assert [(c.erp_id, c.activity) for c in johns] == [(conference, None)]
    assert [c.erp_id for c in annas] == [conference]
    assert annas[0].activity is not None
    assert annas[0].activity.participant_ids == (anna,)
    assert not annas[0].activity.conference


def test_first_pass_reports_every_current_activity_of_the_kind(
    erp: Erp, store: SqlErpStore
) -> None:
    anna, john = erp.employee("Anna Schmidt"), erp.employee("John Miller")
    own = erp.appointment("Zahnarzt", anna, private=True)
    shared = erp.appointment("Team meeting", anna, john)
    erp.appointment("Johns own", john)
    erp.task("Angebot schreiben", anna)
    gone = erp.appointment("Abgesagt", anna)
    erp.sql("DELETE FROM activity WHERE id = :id", id=gone)

    changes, seq = store.changes(anna, Kind.APPOINTMENT, 0)

    assert sorted(c.erp_id for c in changes) == [own, shared]
    assert all(c.seq == seq and c.activity is not None for c in changes)
    assert seq == erp.sql("SELECT max(seq) FROM esx_change")
    by_id = {c.erp_id: c.activity for c in changes}
    assert by_id[own] is not None and by_id[own].private
    assert by_id[shared] is not None and by_id[shared].conference


def test_changes_after_the_cursor_one_per_activity_newest_state(
    erp: Erp, store: SqlErpStore
) -> None:
    anna = erp.employee("Anna Schmidt")
    meeting = erp.appointment("Draft", anna)
    untouched = erp.appointment("Untouched", anna)
    _, seq = store.changes(anna, Kind.APPOINTMENT, 0)
    before = datetime.now(UTC) - timedelta(seconds=5)

    erp.sql("UPDATE activity SET subject = 'Second' WHERE id = :id", id=meeting)
    erp.sql("UPDATE activity SET subject = 'Final', location = 'Raum 3' WHERE id = :id",
            id=meeting)
    changes, newest = store.changes(anna, Kind.APPOINTMENT, seq)

    assert [c.erp_id for c in changes] == [meeting]
    change = changes[0]
    assert change.activity is not None
    assert (change.activity.subject, change.activity.location) == ("Final", "Raum 3")
    assert change.seq == newest == erp.sql("SELECT max(seq) FROM esx_change")
    assert change.modified_at is not None and change.modified_at.tzinfo is not None
    assert before < change.modified_at < datetime.now(UTC) + timedelta(seconds=5)
    assert untouched not in [c.erp_id for c in changes]
    assert store.changes(anna, Kind.APPOINTMENT, newest) == ([], newest)


def test_a_deleted_activity_is_reported_to_its_own_kind_only(
    erp: Erp, store: SqlErpStore
) -> None:
    anna = erp.employee("Anna Schmidt")
    task = erp.task("Reisekosten abrechnen", anna)
    _, seq = store.changes(anna, Kind.TASK, 0)

    erp.sql("DELETE FROM activity WHERE id = :id", id=task)

    tasks, _ = store.changes(anna, Kind.TASK, seq)
    appointments, _ = store.changes(anna, Kind.APPOINTMENT, seq)
    assert [(c.erp_id, c.kind, c.activity) for c in tasks] == [(task, Kind.TASK, None)]
    assert appointments == []


def test_a_kind_change_leaves_one_kind_and_enters_the_other(
    erp: Erp, store: SqlErpStore
) -> None:
    anna = erp.employee("Anna Schmidt")
    item = erp.appointment("Prepare slides", anna)
    _, seq = store.changes(anna, Kind.APPOINTMENT, 0)

    erp.sql("UPDATE activity SET kind = 'task', status = 'in_progress' WHERE id = :id", id=item)

    appointments, _ = store.changes(anna, Kind.APPOINTMENT, seq)
    tasks, _ = store.changes(anna, Kind.TASK, seq)
    assert [(c.erp_id, c.activity) for c in appointments] == [(item, None)]
    assert [c.erp_id for c in tasks] == [item] and tasks[0].activity is not None


def test_recurring_rows_are_marked(erp: Erp, store: SqlErpStore) -> None:
    anna = erp.employee("Anna Schmidt")
    series = erp.appointment("Jour fixe", anna, recurrence="FREQ=WEEKLY;BYDAY=MO")
    single = erp.appointment("Einmalig", anna)

    loaded = store.activities([series, single, 999_999])

    assert loaded[series].recurring and not loaded[single].recurring
    assert 999_999 not in loaded


def test_many_activities_load_in_bulk(erp: Erp, store: SqlErpStore) -> None:
    anna, john = erp.employee("Anna Schmidt"), erp.employee("John Miller")
    with erp.engine.begin() as conn:
        for n in range(1200):
            erp_id = conn.execute(text(
                "INSERT INTO activity (kind, subject) VALUES ('task', :s) RETURNING id"
            ), {"s": f"Aufgabe {n}"}).scalar_one()
            conn.execute(text("INSERT INTO activity_participant VALUES (:a, :e)"),
                         {"a": erp_id, "e": anna if n % 2 else john})

    changes, _ = store.changes(anna, Kind.TASK, 0)

    assert len(changes) == 600
    assert {c.activity.participant_ids for c in changes if c.activity} == {(anna,)}
