"""DESIGN.md §3, private items: with an employee's "no private" setting on, Private and
Confidential items stay where they are, in both directions; with it off they move."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import World

KINDS = ["appointment", "task"]
PLURAL = {"appointment": "appointments", "task": "tasks"}


@pytest.mark.parametrize("kind", KINDS)
def test_no_private_setting_keeps_private_items_on_their_side(world: World, kind: str) -> None:
    anna = world.employee()
    world.add(kind, "Private in the ERP", anna, private=True)
    world.add(kind, "Public in the ERP", anna)
    anna.outlook.add(kind, "Private in Outlook", sensitivity="Private")
    anna.outlook.add(kind, "Confidential in Outlook", sensitivity="Confidential")

    world.sync_ok()

    assert anna.outlook.subjects(kind) == [
        "Confidential in Outlook", "Private in Outlook", "Public in the ERP",
    ]
    assert world.subjects(anna, kind) == ["Private in the ERP", "Public in the ERP"]


@pytest.mark.parametrize("kind", KINDS)
def test_private_items_move_when_the_no_private_setting_is_off(world: World, kind: str) -> None:
    anna = world.employee()
    world.setting(anna, f"no_private_{PLURAL[kind]}", False)
    world.add(kind, "Private in the ERP", anna, private=True)
    anna.outlook.add(kind, "Private in Outlook", sensitivity="Private")

    world.sync_ok()

    assert anna.outlook.item(kind, "Private in the ERP").sensitivity == "Private"
    assert world.activity_named(anna, kind, "Private in Outlook")["private"]


@pytest.mark.parametrize("kind", KINDS)
def test_switching_the_no_private_setting_off_brings_the_skipped_items(
    world: World, kind: str
) -> None:
    """Items skipped while the setting was on have not changed since; they still move."""
    anna = world.employee()
    world.add(kind, "Private in the ERP", anna, private=True)
    anna.outlook.add(kind, "Private in Outlook", sensitivity="Private")
    world.sync_ok()
    assert anna.outlook.subjects(kind) == ["Private in Outlook"]

    world.setting(anna, f"no_private_{PLURAL[kind]}", False)
    world.sync_ok()

    assert anna.outlook.subjects(kind) == ["Private in Outlook", "Private in the ERP"]
    assert world.subjects(anna, kind) == ["Private in Outlook", "Private in the ERP"]


def test_no_private_setting_is_per_kind(world: World) -> None:
    """Switching it off for tasks leaves private appointments filtered."""
    anna = world.employee()
    world.setting(anna, "no_private_tasks", False)
    world.add("appointment", "Private appointment", anna, private=True)
    world.add("task", "Private task", anna, private=True)

    world.sync_ok()

    assert anna.outlook.subjects("appointment") == []
    assert anna.outlook.subjects("task") == ["Private task"]
