"""DESIGN.md §3: an item leaving the time window (``window_future_days``) is never
treated as deleted, on either side."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import World, soon, tomorrow_at


def test_erp_appointment_moved_beyond_the_window_is_not_deleted_in_exchange(
    world: World,
) -> None:
    world.option("window_future_days", "30")
    anna = world.employee()
    erp_id = world.add_appointment("Moved far ahead in the ERP", anna)
    world.sync_ok()

    far = tomorrow_at(10) + timedelta(days=90)
    world.update_activity(erp_id, start_at=far, end_at=far + timedelta(hours=1))
    world.sync_ok()

    assert anna.outlook.subjects("appointment") == ["Moved far ahead in the ERP"]
    assert world.activity(erp_id) is not None


def test_outlook_appointment_moved_beyond_the_window_is_not_deleted_in_the_erp(
    world: World,
) -> None:
    world.option("window_future_days", "30")
    anna = world.employee()
    anna.outlook.add("appointment", "Moved far ahead in Outlook")
    world.sync_ok()
    erp_id = world.activity_named(anna, "appointment", "Moved far ahead in Outlook")["id"]

    far = soon(days=90)
    anna.outlook.edit(anna.outlook.appointment("Moved far ahead in Outlook"),
                      start=far, end=far + timedelta(hours=1))
    world.sync_ok()

    assert world.activity(erp_id) is not None
    assert anna.outlook.subjects("appointment") == ["Moved far ahead in Outlook"]
