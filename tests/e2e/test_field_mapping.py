"""DESIGN.md §3, what fields become on the other side: activity types as categories with
colours in the master list (the user's own kept), default activity types, the priority
map, the priority/equipment text trailer, the ERP's text exact after a round trip, and
``alternative_text_sync``."""

from __future__ import annotations

from decimal import Decimal

from tests.e2e.conftest import World

ERP_TEXT = "Agenda:\n1. Zahlen für Q3 – Übersicht\n2. <b>not HTML</b> & more\n\n   indented"


def test_activity_type_becomes_category_with_its_colour_in_the_master_list(world: World) -> None:
    anna = world.employee()
    world.add("appointment", "Phone call", anna, activity_type_no=20)

    world.sync_ok()

    assert anna.outlook.appointment("Phone call").categories == ["ES_20_Telefonat"]
    master = anna.outlook.master_categories()
    assert master["ES_10_Besuch"] == 4
    assert master["ES_20_Telefonat"] == 7
    assert master["ES_30_Schulung"] == -1


def test_users_own_categories_are_kept_on_items_and_in_the_master_list(world: World) -> None:
    anna = world.employee()
    anna.outlook.set_master_categories({"Family": 1, "Golf": 5})
    anna.outlook.add("appointment", "Workshop", categories=["Golf", "ES_30_Schulung"])
    world.sync_ok()
    row = world.activity_named(anna, "appointment", "Workshop")
    assert row["activity_type_no"] == 30

    world.update_activity(row["id"], activity_type_no=10)
    world.sync_ok()

    assert sorted(anna.outlook.appointment("Workshop").categories) == ["ES_10_Besuch", "Golf"]
    master = anna.outlook.master_categories()
    assert (master["Family"], master["Golf"]) == (1, 5)
    assert master["ES_10_Besuch"] == 4


def test_categories_match_by_prefix_so_a_renamed_type_is_the_same_category(
    world: World,
) -> None:
    anna = world.employee()
    anna.outlook.add("task", "Old category name", categories=["ES_30_Training (old name)"])

    world.sync_ok()

    assert world.activity_named(anna, "task", "Old category name")["activity_type_no"] == 30


def test_sync_activity_type_off_writes_no_categories(world: World) -> None:
    world.option("sync_activity_type", "off")
    anna = world.employee()
    world.add("appointment", "Untyped in Outlook", anna, activity_type_no=20)

    world.sync_ok()

    assert not anna.outlook.appointment("Untyped in Outlook").categories
    assert not any(name.startswith("ES_") for name in _master_or_empty(world, anna.email))


def test_default_activity_types_apply_to_items_from_exchange(world: World) -> None:
    world.option("default_activity_type_appointment", "20")
    world.option("default_activity_type_task", "30")
    anna = world.employee()
    anna.outlook.add("appointment", "No category appointment")
    anna.outlook.add("task", "No category task")
    anna.outlook.add("task", "Typed task", categories=["ES_10_Besuch"])

    world.sync_ok()

    assert world.activity_named(anna, "appointment", "No category appointment")[
        "activity_type_no"] == 20
    assert world.activity_named(anna, "task", "No category task")["activity_type_no"] == 30
    assert world.activity_named(anna, "task", "Typed task")["activity_type_no"] == 10


def test_default_activity_type_is_the_lowest_type_number_when_unset(world: World) -> None:
    anna = world.employee()
    anna.outlook.add("appointment", "Plain appointment")

    world.sync_ok()

    assert world.activity_named(anna, "appointment", "Plain appointment")[
        "activity_type_no"] == 10


def test_priority_map_between_erp_priority_and_outlook_importance(world: World) -> None:
    for key, priority in (("priority_low", "1"), ("priority_normal", "2"),
                          ("priority_high", "3")):
        world.option(key, priority)
    anna = world.employee()
    world.add("task", "ERP high", anna, priority_id=3)
    world.add("task", "ERP low", anna, priority_id=1)
    world.add("task", "ERP unmapped", anna, priority_id=4)
    anna.outlook.add("task", "Outlook high", importance="High")
    anna.outlook.add("task", "Outlook low", importance="Low")

    world.sync_ok()

    assert anna.outlook.task("ERP high").importance == "High"
    assert anna.outlook.task("ERP low").importance == "Low"
    assert anna.outlook.task("ERP unmapped").importance == "Normal"
    assert world.activity_named(anna, "task", "Outlook high")["priority_id"] == 3
    assert world.activity_named(anna, "task", "Outlook low")["priority_id"] == 1


def test_priority_and_equipment_text_trailer_round_trips_to_the_exact_erp_text(
    world: World,
) -> None:
    world.option("priority_as_text", "on")
    world.option("equipment_as_text", "on")
    anna = world.employee()
    erp_id = world.add("appointment", "Customer visit", anna, text=ERP_TEXT, priority_id=3)
    world.add_equipment(erp_id, 2, 1)
    world.sync_ok()

    body = str(anna.outlook.appointment("Customer visit").body)
    assert "hoch" in body
    assert "Beamer, Laptop" in body

    anna.outlook.edit(anna.outlook.appointment("Customer visit"), subject="Customer visit, 2h")
    world.sync_ok()

    row = world.activity(erp_id)
    assert row is not None
    assert row["subject"] == "Customer visit, 2h"
    assert row["text"] == ERP_TEXT


def test_erp_text_is_exact_after_a_round_trip_without_trailers(world: World) -> None:
    anna = world.employee()
    erp_id = world.add("task", "Prepare numbers", anna, text=ERP_TEXT)
    world.sync_ok()

    percent_in_outlook = "percent_complete" not in world.cannot_hold("task")
    edits = {"percent_complete": Decimal(50)} if percent_in_outlook else {}
    anna.outlook.edit(anna.outlook.task("Prepare numbers"), status="InProgress", **edits)
    world.sync_ok()

    row = world.activity(erp_id)
    assert row is not None
    assert row["status"] == "in_progress"
    # To Do has no percent complete: the ERP's stays as it was (ERP-owned)
    assert row["percent_complete"] == (50 if percent_in_outlook else 0)
    assert row["text"] == ERP_TEXT


def test_alternative_text_sync_keeps_the_erp_text_against_outlook_edits(world: World) -> None:
    world.option("alternative_text_sync", "on")
    anna = world.employee()
    erp_id = world.add("appointment", "ERP owns the text", anna, text=ERP_TEXT)
    world.sync_ok()

    anna.outlook.edit(anna.outlook.appointment("ERP owns the text"),
                      body="Rewritten in Outlook", location="Room 9")
    world.sync_ok()

    row = world.activity(erp_id)
    assert row is not None
    assert row["location"] == "Room 9"
    assert row["text"] == ERP_TEXT


def _master_or_empty(world: World, email: str) -> dict[str, int]:
    """The master category list, or nothing when the mailbox has none yet."""
    from exchangelib.errors import ErrorItemNotFound

    try:
        return world.sandbox.outlook(email).master_categories()
    except ErrorItemNotFound:
        return {}
