"""DESIGN.md §3, per-employee settings: each toggle, both kinds, both directions, and the
detach rule for deletions a setting does not propagate."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import World

KINDS = ["appointment", "task"]
PLURAL = {"appointment": "appointments", "task": "tasks"}


@pytest.mark.parametrize("kind", KINDS)
def test_items_flow_both_ways(world: World, kind: str) -> None:
    """With every setting on, an ERP item reaches the mailbox and an Outlook item the ERP."""
    anna = world.employee()
    world.add(kind, "Made in the ERP", anna, text="Bring the contract.")
    anna.outlook.add(kind, "Made in Outlook", body="Entered by Anna.")

    world.sync_ok()

    assert anna.outlook.subjects(kind) == ["Made in Outlook", "Made in the ERP"]
    assert world.subjects(anna, kind) == ["Made in Outlook", "Made in the ERP"]
    assert "Bring the contract." in str(anna.outlook.item(kind, "Made in the ERP").body)
    assert world.activity_named(anna, kind, "Made in Outlook")["text"] == "Entered by Anna."


@pytest.mark.parametrize("kind", KINDS)
def test_kind_setting_off_moves_nothing_either_way_until_switched_on(
    world: World, kind: str
) -> None:
    """``appointments``/``tasks`` off: that kind stays on its side; on again, it catches up."""
    anna = world.employee()
    world.setting(anna, PLURAL[kind], False)
    world.add(kind, "ERP only", anna)
    anna.outlook.add(kind, "Outlook only")

    world.sync_ok()

    assert anna.outlook.subjects(kind) == ["Outlook only"]
    assert world.subjects(anna, kind) == ["ERP only"]

    world.setting(anna, PLURAL[kind], True)
    world.sync_ok()

    assert anna.outlook.subjects(kind) == ["ERP only", "Outlook only"]
    assert world.subjects(anna, kind) == ["ERP only", "Outlook only"]


@pytest.mark.parametrize("kind", KINDS)
def test_delete_in_exchange_on_removes_the_exchange_copy(world: World, kind: str) -> None:
    """``delete_<kind>s_in_exchange`` on: an ERP deletion removes the Exchange copy."""
    anna = world.employee()
    erp_id = world.add(kind, "Cancelled", anna)
    world.sync_ok()
    assert anna.outlook.subjects(kind) == ["Cancelled"]

    world.delete_activity(erp_id)
    world.sync_ok()

    assert anna.outlook.subjects(kind) == []


@pytest.mark.parametrize("kind", KINDS)
def test_delete_in_exchange_off_detaches_and_never_reimports(world: World, kind: str) -> None:
    """``delete_<kind>s_in_exchange`` off: the Exchange copy survives, detached; editing it
    later never brings it back into the ERP."""
    anna = world.employee()
    world.setting(anna, f"delete_{PLURAL[kind]}_in_exchange", False)
    erp_id = world.add(kind, "Kept in Outlook", anna)
    world.sync_ok()

    world.delete_activity(erp_id)
    world.sync_ok()
    assert anna.outlook.subjects(kind) == ["Kept in Outlook"]

    anna.outlook.edit(anna.outlook.item(kind, "Kept in Outlook"), subject="Kept, edited")
    world.sync_ok()
    world.sync_ok()

    assert world.subjects(anna, kind) == []
    assert anna.outlook.subjects(kind) == ["Kept, edited"]


@pytest.mark.parametrize("kind", KINDS)
def test_delete_in_erp_on_archives_and_removes_the_erp_activity(world: World, kind: str) -> None:
    """``delete_<kind>s_in_erp`` on: an Outlook deletion deletes the activity, archived
    first so it can be restored."""
    anna = world.employee()
    erp_id = world.add(kind, "Deleted in Outlook", anna)
    world.sync_ok()
    world.sync_ok()  # settled (see the test of a deletion right after the create below)

    anna.outlook.delete(anna.outlook.item(kind, "Deleted in Outlook"))
    world.sync_ok()

    assert world.activity(erp_id) is None
    archived = world.query("SELECT activity_id FROM esx_archive WHERE activity_id = :i", i=erp_id)
    assert len(archived) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_outlook_deletion_right_after_the_sync_created_the_item_reaches_the_erp(
    world: World, kind: str
) -> None:
    """The sync creates an item in Exchange, the user deletes it before the next pass:
    Exchange reports nothing for an item created and deleted after the stored sync state,
    so the pass must not rely on the deletion being reported."""
    anna = world.employee()
    erp_id = world.add(kind, "Deleted at once in Outlook", anna)
    world.sync_ok()

    anna.outlook.delete(anna.outlook.item(kind, "Deleted at once in Outlook"))
    world.sync_ok()

    assert world.activity(erp_id) is None


@pytest.mark.parametrize("kind", KINDS)
def test_delete_in_erp_off_detaches_and_never_resurrects(world: World, kind: str) -> None:
    """``delete_<kind>s_in_erp`` off: the ERP activity survives, detached; editing it later
    never puts it back into the mailbox."""
    anna = world.employee()
    world.setting(anna, f"delete_{PLURAL[kind]}_in_erp", False)
    erp_id = world.add(kind, "Kept in the ERP", anna)
    world.sync_ok()
    world.sync_ok()

    anna.outlook.delete(anna.outlook.item(kind, "Kept in the ERP"))
    world.sync_ok()
    assert world.activity(erp_id) is not None

    world.update_activity(erp_id, subject="Kept, edited in the ERP")
    world.sync_ok()
    world.sync_ok()

    assert anna.outlook.subjects(kind) == []
    assert world.subjects(anna, kind) == ["Kept, edited in the ERP"]


def test_appointment_sync_off_for_the_connection_moves_only_tasks(world: World) -> None:
    """The connection option ``appointment_sync`` off: no appointment moves either way."""
    world.option("appointment_sync", "off")
    anna = world.employee()
    world.add("appointment", "ERP appointment", anna)
    world.add("task", "ERP task", anna)
    anna.outlook.add("appointment", "Outlook appointment")

    world.sync_ok()

    assert anna.outlook.subjects("appointment") == ["Outlook appointment"]
    assert anna.outlook.subjects("task") == ["ERP task"]
    assert world.subjects(anna, "appointment") == ["ERP appointment"]
