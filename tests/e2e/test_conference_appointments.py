"""DESIGN.md §3, conference appointments (two or more participants): never changed or
deleted in the ERP because of Exchange; ERP changes reach every participant's mailbox.
And no meeting invitation or cancellation is ever sent."""

from __future__ import annotations

from tests.e2e.conftest import Person, World


def _conference(world: World) -> tuple[Person, Person, int]:
    anna, ben = world.employee(), world.employee()
    erp_id = world.add_appointment("Quarterly review", anna, ben, location="Room 4")
    world.sync_ok()
    return anna, ben, erp_id


def test_erp_conference_appointment_reaches_every_participant(world: World) -> None:
    anna, ben, _ = _conference(world)

    assert anna.outlook.subjects("appointment") == ["Quarterly review"]
    assert ben.outlook.subjects("appointment") == ["Quarterly review"]


def test_erp_change_of_a_conference_appointment_reaches_every_participant(world: World) -> None:
    anna, ben, erp_id = _conference(world)

    world.update_activity(erp_id, subject="Quarterly review (moved)", location="Room 7")
    world.sync_ok()

    for person in (anna, ben):
        item = person.outlook.appointment("Quarterly review (moved)")
        assert item.location == "Room 7"


def test_exchange_edit_never_changes_a_conference_appointment_in_the_erp(world: World) -> None:
    anna, ben, erp_id = _conference(world)

    ben.outlook.edit(ben.outlook.appointment("Quarterly review"), subject="Ben's own title",
                     location="Ben's room")
    world.sync_ok()
    world.sync_ok()

    row = world.activity(erp_id)
    assert row is not None
    assert (row["subject"], row["location"]) == ("Quarterly review", "Room 4")
    assert anna.outlook.appointment("Quarterly review").location == "Room 4"


def test_an_outlook_edit_of_a_conference_appointment_is_undone_and_said(world: World) -> None:
    _anna, ben, erp_id = _conference(world)

    ben.outlook.edit(ben.outlook.appointment("Quarterly review"), subject="Ben's own title")
    outcomes = {o.employee.id: o for o in world.sync_ok()}

    assert ben.outlook.subjects("appointment") == ["Quarterly review"]  # the ERP's version
    report = outcomes[ben.id].report
    assert report is not None
    [skipped] = report.skipped
    assert "Ben's own title" in skipped.item and ben.email in skipped.item
    assert "restored to the ERP's version" in skipped.reason
    audit = world.query("SELECT detail FROM esx_audit WHERE action = 'Skipped' "
                        "AND employee_id = :e", e=ben.id)
    assert [a["detail"] for a in audit] == [f"appointment: {skipped.reason}"]
    assert world.activity(erp_id)["subject"] == "Quarterly review"  # type: ignore[index]
    (again,) = [o for o in world.sync_ok() if o.employee.id == ben.id]
    assert again.report is not None and not again.report.skipped  # converged


def test_exchange_deletion_never_deletes_a_conference_appointment_in_the_erp(
    world: World,
) -> None:
    anna, ben, erp_id = _conference(world)

    anna.outlook.delete(anna.outlook.appointment("Quarterly review"))
    world.sync_ok()
    world.sync_ok()

    assert world.activity(erp_id) is not None
    participants = world.query(
        "SELECT employee_id FROM activity_participant WHERE activity_id = :i ORDER BY 1",
        i=erp_id)
    assert [p["employee_id"] for p in participants] == sorted([anna.id, ben.id])
    assert ben.outlook.subjects("appointment") == ["Quarterly review"]


def test_no_invitations_or_cancellations_are_ever_sent(world: World) -> None:
    anna, ben, erp_id = _conference(world)
    world.update_activity(erp_id, subject="Quarterly review, new time")
    world.sync_ok()
    world.delete_activity(erp_id)
    world.sync_ok()

    assert anna.outlook.subjects("appointment") == []
    assert world.sandbox.sent_messages(anna.email, ben.email) == []
