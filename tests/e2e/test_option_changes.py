"""An option that changes how items map re-maps every linked pair on the next pass
(issue 10, case 3), and writes only what changed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from esexchange.domain.model import Kind, Side
from esexchange.engine import Outcome
from tests.e2e.conftest import World, tomorrow_at, utc


def _updated(outcomes: list, side: Side = Side.EXCHANGE) -> int:
    return sum(o.report.count(kind, side, Outcome.UPDATED) for o in outcomes for kind in Kind)


def test_a_changed_erp_time_zone_moves_every_linked_item_in_every_mailbox(world: World) -> None:
    anna, ben = world.employee(), world.employee()
    nine = tomorrow_at(9)
    world.add_appointment("Shared", anna, ben, start_at=nine)
    world.add_appointment("Anna's", anna, start_at=nine)
    world.add_task("Untouched by zones", anna)
    world.sync_ok()
    assert anna.outlook.appointment("Shared").start == utc(nine)

    world.option("erp_time_zone", "Europe/London")
    outcomes = world.sync_ok()

    london = nine.replace(tzinfo=ZoneInfo("Europe/London"))
    for person in (anna, ben):
        assert person.outlook.appointment("Shared").start == london
        assert person.outlook.appointment("Shared").end == london.replace(hour=10)
    assert anna.outlook.appointment("Anna's").start == london
    assert _updated(outcomes) == 3  # two mailboxes' "Shared" and Anna's; not the task
    assert _updated(outcomes, Side.ERP) == 0
    stored = world.activity_named(anna, "appointment", "Shared")["start_at"]
    assert datetime.fromisoformat(str(stored)) == nine  # the ERP row is not touched
    assert _updated(world.sync_ok()) == 0  # and then nothing more


def test_priority_as_text_switched_on_reaches_items_synced_before(world: World) -> None:
    anna = world.employee()
    world.add_appointment("Before the switch", anna, priority_id=3, text="Agenda")
    world.sync_ok()
    assert "hoch" not in str(anna.outlook.appointment("Before the switch").body)

    world.option("priority_as_text", "on")
    outcomes = world.sync_ok()

    assert "hoch" in str(anna.outlook.appointment("Before the switch").body)
    assert _updated(outcomes) == 1
    assert world.activity_named(anna, "appointment", "Before the switch")["text"] == "Agenda"
