"""DESIGN.md §3, both sides changed since the last pass: merged field by field; a field
changed on both sides is a conflict, resolved by ``conflict_policy`` and recorded in
``esx_conflict`` for the administrator."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import Person, World


def _synced_appointment(world: World) -> tuple[Person, int]:
    anna = world.employee()
    erp_id = world.add("appointment", "Planning", anna, location="Room 1")
    world.sync_ok()
    return anna, erp_id


def _conflicts(world: World, erp_id: int) -> list[tuple[str, str]]:
    rows = world.query("SELECT field, winner FROM esx_conflict WHERE erp_id = :i "
                       "AND employee_id IN (SELECT employee_id FROM activity_participant "
                       "WHERE activity_id = :i)", i=erp_id)
    return [(r["field"], r["winner"]) for r in rows]


def test_changes_to_different_fields_are_merged(world: World) -> None:
    anna, erp_id = _synced_appointment(world)

    world.update_activity(erp_id, location="Room 2")
    anna.outlook.edit(anna.outlook.appointment("Planning"), subject="Planning (Outlook)")
    world.sync_ok()

    row = world.activity(erp_id)
    assert row is not None
    assert (row["subject"], row["location"]) == ("Planning (Outlook)", "Room 2")
    assert anna.outlook.appointment("Planning (Outlook)").location == "Room 2"
    assert _conflicts(world, erp_id) == []


@pytest.mark.parametrize(("policy", "winner", "expected"), [
    ("erp_wins", "erp", "Title from the ERP"),
    ("exchange_wins", "exchange", "Title from Outlook"),
])
def test_a_field_changed_on_both_sides_is_a_recorded_conflict_resolved_by_policy(
    world: World, policy: str, winner: str, expected: str
) -> None:
    world.option("conflict_policy", policy)
    anna, erp_id = _synced_appointment(world)

    world.update_activity(erp_id, subject="Title from the ERP")
    anna.outlook.edit(anna.outlook.appointment("Planning"), subject="Title from Outlook")
    world.sync_ok()

    row = world.activity(erp_id)
    assert row is not None and row["subject"] == expected
    assert anna.outlook.subjects("appointment") == [expected]
    assert _conflicts(world, erp_id) == [("subject", winner)]


def test_newer_wins_takes_the_later_change(world: World) -> None:
    anna, erp_id = _synced_appointment(world)

    world.update_activity(erp_id, subject="Earlier, in the ERP")
    time.sleep(1.1)  # both sides keep whole seconds
    anna.outlook.edit(anna.outlook.appointment("Planning"), subject="Later, in Outlook")
    world.sync_ok()

    row = world.activity(erp_id)
    assert row is not None and row["subject"] == "Later, in Outlook"
    assert _conflicts(world, erp_id) == [("subject", "exchange")]
