"""Mapping rules over ERP reference data: private, importance <-> priority, activity types."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.errors import InvalidOption
from esexchange.domain.mapping import (
    category_name,
    default_activity_type,
    erp_to_item,
    exchange_fields,
    exchange_to_item,
    importance_for_priority,
    item_to_erp,
    item_to_exchange,
    keep_user_categories,
    make_context,
    master_categories,
    priority_for_importance,
)
from esexchange.domain.mapping.categories import activity_type_of_categories, activity_type_of_erp
from esexchange.domain.model import (
    ActivityType,
    Category,
    ErpActivity,
    ExchangeItem,
    Importance,
    Item,
    Kind,
    Priority,
    Reference,
    Sensitivity,
)
from esexchange.domain.options import ConnectionOptions
from tests.domain.mapping_support import (
    CALL,
    HIGH,
    LOW,
    NORMAL,
    REFERENCE,
    TASK,
    VISIT,
    context,
)

A, T = Kind.APPOINTMENT, Kind.TASK


def priorities(*ranks: int) -> Reference:
    """Priorities with ids 1, 2, ... and the given ranks."""
    return Reference(
        priorities=tuple(Priority(i + 1, f"P{i + 1}", rank) for i, rank in enumerate(ranks))
    )


# --- private <-> sensitivity -------------------------------------------------------------


@pytest.mark.parametrize(
    ("sensitivity", "private"),
    [
        (Sensitivity.NORMAL, False),
        (Sensitivity.PERSONAL, False),
        (Sensitivity.PRIVATE, True),
        (Sensitivity.CONFIDENTIAL, True),
    ],
)
def test_private_and_confidential_read_as_private(sensitivity: Sensitivity, private: bool) -> None:
    item = exchange_to_item(ExchangeItem(kind=T, subject="x", sensitivity=sensitivity), context())
    assert item.private is private


def test_private_erp_activity_goes_out_as_private_and_others_as_normal() -> None:
    ctx = context()
    private = erp_to_item(ErpActivity(id=1, kind=T, subject="x", private=True), ctx)
    public = erp_to_item(ErpActivity(id=2, kind=T, subject="x"), ctx)
    assert item_to_exchange(private, ctx).sensitivity is Sensitivity.PRIVATE
    assert item_to_exchange(public, ctx).sensitivity is Sensitivity.NORMAL


@pytest.mark.parametrize(
    ("current", "private", "written"),
    [
        (Sensitivity.PERSONAL, False, Sensitivity.PERSONAL),
        (Sensitivity.CONFIDENTIAL, True, Sensitivity.CONFIDENTIAL),
        (Sensitivity.PERSONAL, True, Sensitivity.PRIVATE),
        (Sensitivity.CONFIDENTIAL, False, Sensitivity.NORMAL),
    ],
)
def test_current_sensitivity_is_kept_when_it_already_agrees(
    current: Sensitivity, private: bool, written: Sensitivity
) -> None:
    existing = ExchangeItem(kind=T, subject="x", sensitivity=current)
    item = Item(kind=T, subject="x", private=private)
    assert item_to_exchange(item, context(), current=existing).sensitivity is written


def test_erp_private_flag_comes_back_from_exchange() -> None:
    ctx = context()
    item = exchange_to_item(ExchangeItem(kind=T, subject="x", sensitivity=Sensitivity.PRIVATE), ctx)
    assert item_to_erp(item, ctx).private is True


# --- importance <-> priority ---------------------------------------------------------------


def test_priorities_by_rank_map_lowest_middle_and_highest() -> None:
    ctx = context()
    assert [priority_for_importance(i, ctx) for i in Importance] == [LOW, NORMAL, HIGH]
    assert [importance_for_priority(p, ctx) for p in (LOW, NORMAL, HIGH)] == list(Importance)


def test_normal_is_the_lower_middle_priority_when_ranked() -> None:
    """Low, Normal, High, Urgent: Normal is Normal (not High), Urgent is High."""
    ctx = context(reference=priorities(40, 10, 30, 20))  # ids ranked: 2, 4, 3, 1
    assert priority_for_importance(Importance.LOW, ctx) == 2
    assert priority_for_importance(Importance.NORMAL, ctx) == 4
    assert priority_for_importance(Importance.HIGH, ctx) == 1
    assert importance_for_priority(3, ctx) is Importance.NORMAL  # outside the map


def test_a_single_priority_serves_every_importance_and_reads_as_normal() -> None:
    ctx = context(reference=priorities(5))
    assert {priority_for_importance(i, ctx) for i in Importance} == {1}
    assert importance_for_priority(1, ctx) is Importance.NORMAL


def test_two_priorities_read_the_shared_one_as_normal() -> None:
    ctx = context(reference=priorities(1, 2))  # low 1, normal 1, high 2
    assert importance_for_priority(1, ctx) is Importance.NORMAL
    assert importance_for_priority(2, ctx) is Importance.HIGH


def test_priorities_of_equal_rank_are_ordered_by_id() -> None:
    listed = (Priority(3, "C", 5), Priority(1, "A", 5), Priority(2, "B", 5))
    ctx = context(reference=Reference(priorities=listed))  # one rank: the ids decide
    assert [priority_for_importance(i, ctx) for i in Importance] == [1, 2, 3]


def test_a_priority_shared_by_high_and_low_reads_as_high() -> None:
    # Normal first, then High, then Low: of two importances on one priority, the one
    # read back is the gentler one in that order.
    ctx = context(priority_low=HIGH, priority_high=HIGH)
    assert importance_for_priority(HIGH, ctx) is Importance.HIGH
    assert importance_for_priority(NORMAL, ctx) is Importance.NORMAL


def test_without_priorities_no_priority_is_written_and_all_read_normal() -> None:
    ctx = context(reference=Reference())
    assert priority_for_importance(Importance.HIGH, ctx) is None
    assert importance_for_priority(None, ctx) is Importance.NORMAL
    assert (
        item_to_erp(Item(kind=T, subject="x", importance=Importance.HIGH), ctx).priority_id is None
    )


def test_priority_options_override_the_rank_order_one_by_one() -> None:
    ctx = context(priority_high=NORMAL)
    assert priority_for_importance(Importance.HIGH, ctx) == NORMAL
    assert priority_for_importance(Importance.LOW, ctx) == LOW
    assert importance_for_priority(HIGH, ctx) is Importance.NORMAL  # no longer mapped


def test_unmapped_erp_priority_goes_out_as_normal_and_is_kept_on_write_back() -> None:
    reference = replace(REFERENCE, priorities=(*REFERENCE.priorities, Priority(99, "Urgent", 4)))
    ctx = context(reference=reference, priority_high=HIGH)
    row = ErpActivity(id=1, kind=T, subject="x", priority_id=99)
    item = erp_to_item(row, ctx)
    assert (item.importance, item.priority_name) == (Importance.NORMAL, "Urgent")
    assert item_to_exchange(item, ctx).importance is Importance.NORMAL
    assert item_to_erp(item, ctx, current=row).priority_id == 99
    raised = replace(item, importance=Importance.HIGH)
    assert item_to_erp(raised, ctx, current=row).priority_id == HIGH


def test_exchange_importance_becomes_the_mapped_priority() -> None:
    ctx = context()
    item = exchange_to_item(ExchangeItem(kind=T, subject="x", importance=Importance.LOW), ctx)
    assert item_to_erp(item, ctx).priority_id == LOW


def test_priority_name_is_the_erp_name_of_the_priority() -> None:
    ctx = context()
    assert (
        erp_to_item(ErpActivity(id=1, kind=T, subject="x", priority_id=HIGH), ctx).priority_name
        == "High"
    )
    assert erp_to_item(ErpActivity(id=1, kind=T, subject="x"), ctx).priority_name == ""


def test_priority_option_naming_an_unknown_priority_is_rejected() -> None:
    with pytest.raises(InvalidOption, match=r"priority_low.*77"):
        make_context(ConnectionOptions(priority_low=77), REFERENCE, "UTC")


# --- activity types <-> categories ---------------------------------------------------------


def test_category_name_is_es_number_and_description_with_spaces_kept() -> None:
    assert category_name(ActivityType(5, "Task")) == "ES_5_Task"
    assert category_name(ActivityType(7, "Site visit")) == "ES_7_Site visit"


def test_master_categories_list_every_type_with_its_colour() -> None:
    assert master_categories(context()) == (
        Category("ES_1_Call", 4),
        Category("ES_5_Task", 7),
        Category("ES_7_Site visit", -1),
    )


def test_first_category_with_a_known_type_number_gives_the_type() -> None:
    categories = ("Red", "ES_99_Gone", "ES_5_Task", "ES_1_Call")
    incoming = ExchangeItem(kind=T, subject="x", categories=categories)
    assert exchange_to_item(incoming, context()).activity_type_no == TASK


def test_renamed_type_is_matched_by_its_number_prefix() -> None:
    incoming = ExchangeItem(kind=T, subject="x", categories=("ES_7_Old name",))
    assert exchange_to_item(incoming, context()).activity_type_no == VISIT


def test_item_without_type_category_gets_the_default_type_of_its_kind() -> None:
    ctx = context(default_activity_type_task=TASK)
    incoming = ExchangeItem(kind=T, subject="x", categories=("ES_x_Nope", "Blue"))
    assert exchange_to_item(incoming, ctx).activity_type_no == TASK
    assert exchange_to_item(incoming, context()).activity_type_no == CALL  # lowest number
    both = context(default_activity_type_appointment=VISIT, default_activity_type_task=TASK)
    assert activity_type_of_categories(("Blue",), A, both) == VISIT
    assert activity_type_of_categories(("Blue",), T, both) == TASK
    start = datetime(2026, 11, 5, 9, tzinfo=UTC)
    meeting = ExchangeItem(kind=A, subject="x", start=start, end=start + timedelta(hours=1),
                           categories=("Blue",))
    assert exchange_to_item(meeting, both).activity_type_no == VISIT


def test_default_activity_type_by_kind_option_else_lowest_else_none() -> None:
    ctx = context(default_activity_type_appointment=VISIT)
    assert default_activity_type(A, ctx) == VISIT
    assert default_activity_type(T, ctx) == CALL
    assert default_activity_type(T, context(reference=Reference())) is None


def test_erp_activity_without_or_with_unknown_type_gets_the_default() -> None:
    ctx = context(default_activity_type_task=VISIT)
    assert erp_to_item(ErpActivity(id=1, kind=T, subject="x"), ctx).activity_type_no == VISIT
    unknown = ErpActivity(id=1, kind=T, subject="x", activity_type_no=42)
    assert erp_to_item(unknown, ctx).activity_type_no == VISIT
    known = ErpActivity(id=1, kind=T, subject="x", activity_type_no=TASK)
    assert erp_to_item(known, ctx).activity_type_no == TASK
    both = context(default_activity_type_appointment=VISIT, default_activity_type_task=TASK)
    assert activity_type_of_erp(None, A, both) == VISIT
    assert activity_type_of_erp(42, T, both) == TASK
    start = datetime(2026, 11, 5, 9)
    meeting = ErpActivity(id=1, kind=A, subject="x", start_at=start, end_at=start,
                          activity_type_no=42)
    assert erp_to_item(meeting, both).activity_type_no == VISIT
    # With sync_activity_type off the ERP row gets the default of its own kind.
    off = context(sync_activity_type=False, default_activity_type_appointment=VISIT,
                  default_activity_type_task=TASK)
    written = item_to_erp(erp_to_item(meeting, off), off)
    assert written.activity_type_no == VISIT


def test_writing_categories_keeps_user_ones_in_order_and_replaces_the_type_category() -> None:
    current = ExchangeItem(kind=T, subject="x", categories=("ES_1_Call", "Red", "ES_99_", "Blue"))
    item = Item(kind=T, subject="x", activity_type_no=VISIT)
    written = item_to_exchange(item, context(), current=current)
    assert written.categories == ("Red", "Blue", "ES_7_Site visit")
    assert item_to_exchange(item, context()).categories == ("ES_7_Site visit",)


def test_activity_type_sync_off_leaves_the_field_and_categories_alone() -> None:
    ctx = context(sync_activity_type=False)
    current = ExchangeItem(kind=T, subject="x", categories=("ES_1_Call", "Red"))
    row = ErpActivity(id=1, kind=T, subject="x", activity_type_no=TASK)
    assert exchange_to_item(current, ctx).activity_type_no is None
    assert erp_to_item(row, ctx).activity_type_no is None
    assert (
        item_to_exchange(erp_to_item(row, ctx), ctx, current=current).categories
        == current.categories
    )
    assert item_to_exchange(erp_to_item(row, ctx), ctx).categories == ()
    assert exchange_fields({"activity_type_no"}, ctx) == frozenset()
    assert master_categories(ctx) == ()


def test_activity_type_sync_off_creates_erp_rows_with_the_default_and_keeps_existing() -> None:
    ctx = context(sync_activity_type=False, default_activity_type_task=VISIT)
    item = exchange_to_item(ExchangeItem(kind=T, subject="x", categories=("ES_1_Call",)), ctx)
    assert item_to_erp(item, ctx).activity_type_no == VISIT
    row = ErpActivity(id=1, kind=T, subject="x", activity_type_no=TASK)
    assert item_to_erp(item, ctx, current=row).activity_type_no == TASK


def test_default_type_option_naming_an_unknown_type_is_rejected() -> None:
    with pytest.raises(InvalidOption, match=r"default_activity_type_task.*42"):
        make_context(ConnectionOptions(default_activity_type_task=42), REFERENCE, "UTC")


def test_writing_categories_keeps_the_users_own_and_replaces_only_es_categories() -> None:
    assert keep_user_categories(
        ["Golf", "ES_1_Visit", "Red"], ["ES_2_Call"]
    ) == ("Golf", "Red", "ES_2_Call")
    assert keep_user_categories(["Golf"], ["Golf-from-a-stale-copy"]) == ("Golf",)
    assert keep_user_categories([], []) == ()
