"""DESIGN.md §3, ``start_sync_at``: changes from that moment on are observed; a value in
the future or more than 30 days back becomes now minus 30 days.

An ERP change's moment is when the change journal recorded it; the tests date journal
rows back as if the ERP had been edited then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from esexchange.erp.schema import esx_change
from tests.e2e.conftest import Person, World


def _edited_days_ago(world: World, person: Person, subject: str, days: int) -> None:
    activity_id = world.add("appointment", subject, person)
    with world.engine.begin() as db:
        db.execute(update(esx_change).where(esx_change.c.activity_id == activity_id)
                   .values(changed_at=datetime.now(UTC) - timedelta(days=days)))


def _start_at(world: World, days_from_now: int) -> None:
    moment = datetime.now(UTC) + timedelta(days=days_from_now)
    world.option("start_sync_at", moment.isoformat(timespec="seconds"))


def test_start_more_than_30_days_back_is_clamped_to_30_days(world: World) -> None:
    _start_at(world, -60)
    anna = world.employee()
    _edited_days_ago(world, anna, "Edited 40 days ago", 40)
    _edited_days_ago(world, anna, "Edited 10 days ago", 10)

    world.sync_ok()

    assert anna.outlook.subjects("appointment") == ["Edited 10 days ago"]


def test_start_in_the_future_is_clamped_to_30_days_back(world: World) -> None:
    _start_at(world, +10)
    anna = world.employee()
    _edited_days_ago(world, anna, "Edited 40 days ago", 40)
    _edited_days_ago(world, anna, "Edited 10 days ago", 10)

    world.sync_ok()

    assert anna.outlook.subjects("appointment") == ["Edited 10 days ago"]


def test_start_within_the_last_30_days_is_honoured(world: World) -> None:
    _start_at(world, -5)
    anna = world.employee()
    _edited_days_ago(world, anna, "Edited 10 days ago", 10)
    world.add("appointment", "Edited now", anna)

    world.sync_ok()

    assert anna.outlook.subjects("appointment") == ["Edited now"]
