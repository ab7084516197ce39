"""DESIGN.md §3, both sides changed since the last pass: merged field by field; a field
changed on both sides is a conflict, resolved by ``conflict_policy`` and recorded in
``esx_conflict`` for the administrator."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from typer.testing import CliRunner

from esexchange.cli import app
from tests.e2e.conftest import Person, World, tomorrow_at, utc


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


def _cli(world: World, *args: str) -> tuple[int, str]:
    url = world.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, [*args, "--db", url])
    return result.exit_code, result.output


def _conflict_id(world: World, erp_id: int) -> int:
    [row] = world.query("SELECT id FROM esx_conflict WHERE erp_id = :i", i=erp_id)
    return int(row["id"])


def test_the_admin_applies_the_side_that_lost_and_the_next_pass_carries_it(
    world: World,
) -> None:
    world.option("conflict_policy", "erp_wins")
    anna, erp_id = _synced_appointment(world)
    world.update_activity(erp_id, subject="Title from the ERP")
    anna.outlook.edit(anna.outlook.appointment("Planning"), subject="Title from Outlook")
    world.sync_ok()
    conflict = _conflict_id(world, erp_id)
    code, listed = _cli(world, "conflicts", "list", "--connection", world.connection)
    assert code == 0 and f"conflicts apply-other {conflict}" in listed.replace("\n", " ")

    code, output = _cli(world, "conflicts", "apply-other", str(conflict))
    assert code == 0, output
    assert "now the Exchange value 'Title from Outlook'" in output
    world.sync_ok()

    assert world.activity(erp_id)["subject"] == "Title from Outlook"  # type: ignore[index]
    assert anna.outlook.subjects("appointment") == ["Title from Outlook"]
    assert _conflicts(world, erp_id) == [("subject", "erp")]  # no new conflict
    code, listed = _cli(world, "conflicts", "list", "--connection", world.connection)
    assert "resolved" in listed
    code, again = _cli(world, "conflicts", "apply-other", str(conflict))
    assert code == 2 and "resolved already" in again


def _erp_start(world: World, erp_id: int) -> datetime:
    row = world.activity(erp_id)
    assert row is not None
    return datetime.fromisoformat(str(row["start_at"]))  # SQLite answers text


def test_applying_the_other_side_of_a_moved_start_moves_both_copies_back(
    world: World,
) -> None:
    world.option("conflict_policy", "exchange_wins")
    anna, erp_id = _synced_appointment(world)
    erp_start = tomorrow_at(11)
    world.update_activity(erp_id, start_at=erp_start, end_at=erp_start + timedelta(hours=1))
    item = anna.outlook.appointment("Planning")
    outlook_start = utc(tomorrow_at(14))
    anna.outlook.edit(item, start=outlook_start, end=outlook_start + timedelta(hours=1))
    world.sync_ok()
    assert _erp_start(world, erp_id) == tomorrow_at(14)
    starts = [c for c in world.query("SELECT id, field FROM esx_conflict WHERE erp_id = :i",
                                     i=erp_id) if c["field"] == "start"]

    code, output = _cli(world, "conflicts", "apply-other", str(starts[0]["id"]))
    assert code == 0, output
    world.sync_ok()

    assert _erp_start(world, erp_id) == erp_start
    assert anna.outlook.appointment("Planning").start == utc(erp_start)


def test_a_conflict_that_is_not_there_is_named(world: World) -> None:
    code, output = _cli(world, "conflicts", "apply-other", "999999")
    assert code == 2 and "there is no conflict 999999" in output
