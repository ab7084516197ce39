"""DESIGN.md §3, private items: with an employee's "no private" setting on, Private and
Confidential items stay where they are, in both directions; with it off they move.

To Do tasks have no sensitivity (Graph's task capabilities say ``private`` cannot be held):
there the ERP's private tasks are still filtered and, once moved, stay private in the ERP
(ERP-owned); a user cannot make a task private on that side, so those rows have none."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Person, World

KINDS = ["appointment", "task"]
PLURAL = {"appointment": "appointments", "task": "tasks"}


def _private_in_outlook(world: World, person: Person, kind: str, *levels: str) -> list[str]:
    """Items of ``kind`` made Private (or ``levels``) in Outlook, where the backend can
    hold a sensitivity; their subjects."""
    if "private" in world.cannot_hold(kind):
        return []
    for level in levels:
        person.outlook.add(kind, f"{level} in Outlook", sensitivity=level)
    return sorted(f"{level} in Outlook" for level in levels)


@pytest.mark.parametrize("kind", KINDS)
def test_no_private_setting_keeps_private_items_on_their_side(world: World, kind: str) -> None:
    anna = world.employee()
    world.add(kind, "Private in the ERP", anna, private=True)
    world.add(kind, "Public in the ERP", anna)
    in_outlook = _private_in_outlook(world, anna, kind, "Private", "Confidential")

    world.sync_ok()

    assert anna.outlook.subjects(kind) == [*in_outlook, "Public in the ERP"]
    assert world.subjects(anna, kind) == ["Private in the ERP", "Public in the ERP"]


@pytest.mark.parametrize("kind", KINDS)
def test_private_items_move_when_the_no_private_setting_is_off(world: World, kind: str) -> None:
    anna = world.employee()
    world.setting(anna, f"no_private_{PLURAL[kind]}", False)
    erp_id = world.add(kind, "Private in the ERP", anna, private=True)
    in_outlook = _private_in_outlook(world, anna, kind, "Private")

    world.sync_ok()

    sent = anna.outlook.item(kind, "Private in the ERP")
    if in_outlook:
        assert sent.sensitivity == "Private"
        assert world.activity_named(anna, kind, "Private in Outlook")["private"]
    else:  # To Do: the copy has no sensitivity; the ERP keeps its own, pass after pass
        assert sent.sensitivity is None
        world.sync_ok()
        assert world.activity(erp_id)["private"]  # type: ignore[index]


@pytest.mark.parametrize("kind", KINDS)
def test_switching_the_no_private_setting_off_brings_the_skipped_items(
    world: World, kind: str
) -> None:
    """Items skipped while the setting was on have not changed since; they still move."""
    anna = world.employee()
    world.add(kind, "Private in the ERP", anna, private=True)
    in_outlook = _private_in_outlook(world, anna, kind, "Private")
    world.sync_ok()
    assert anna.outlook.subjects(kind) == in_outlook

    world.setting(anna, f"no_private_{PLURAL[kind]}", False)
    world.sync_ok()

    assert anna.outlook.subjects(kind) == [*in_outlook, "Private in the ERP"]
    assert world.subjects(anna, kind) == [*in_outlook, "Private in the ERP"]


def test_no_private_setting_is_per_kind(world: World) -> None:
    """Switching it off for tasks leaves private appointments filtered."""
    anna = world.employee()
    world.setting(anna, "no_private_tasks", False)
    world.add("appointment", "Private appointment", anna, private=True)
    world.add("task", "Private task", anna, private=True)

    world.sync_ok()

    assert anna.outlook.subjects("appointment") == []
    assert anna.outlook.subjects("task") == ["Private task"]
