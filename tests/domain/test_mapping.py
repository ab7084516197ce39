"""Mapping rules for tasks, pass-through fields, writing over current copies, field tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from esexchange.domain.errors import ItemRejected
from esexchange.domain.mapping import (
    erp_fields,
    erp_to_item,
    exchange_carriers,
    exchange_fields,
    exchange_to_item,
    item_to_erp,
    item_to_exchange,
)
from esexchange.domain.model import (
    SYNC_FIELDS,
    ErpActivity,
    ExchangeItem,
    Importance,
    Item,
    Kind,
    TaskStatus,
)
from esexchange.domain.recurrence import parse_rrule
from tests.domain.mapping_support import HIGH, TASK, context, local, utc

A, T = Kind.APPOINTMENT, Kind.TASK
DONE = TaskStatus.COMPLETED


# --- tasks ------------------------------------------------------------------------------


def test_task_dates_are_the_local_dates_of_the_erp_times() -> None:
    row = ErpActivity(
        id=1,
        kind=T,
        subject="x",
        start_at=local("2026-03-02T23:30"),
        due_at=local("2026-03-06T08:00"),
    )
    item = erp_to_item(row, context())
    assert (item.start, item.due, item.end) == (date(2026, 3, 2), date(2026, 3, 6), None)


def test_task_dates_are_written_to_the_erp_as_local_midnight() -> None:
    item = Item(kind=T, subject="x", start=date(2026, 3, 2), due=date(2026, 3, 6))
    row = item_to_erp(item, context())
    assert (row.start_at, row.due_at) == (local("2026-03-02T00:00"), local("2026-03-06T00:00"))


def test_erp_time_of_day_of_a_task_date_is_kept_while_the_date_is_unchanged() -> None:
    ctx = context()
    row = ErpActivity(id=1, kind=T, subject="x", due_at=local("2026-03-06T17:00"))
    item = erp_to_item(row, ctx)
    assert item_to_erp(replace(item, subject="y"), ctx, current=row).due_at == row.due_at
    moved = item_to_erp(replace(item, due=date(2026, 3, 9)), ctx, current=row)
    assert moved.due_at == local("2026-03-09T00:00")


def test_exchange_task_dates_and_progress_pass_through() -> None:
    incoming = ExchangeItem(
        kind=T,
        subject="x",
        start=date(2026, 3, 2),
        due=date(2026, 3, 6),
        status=TaskStatus.WAITING,
        percent_complete=40,
    )
    item = exchange_to_item(incoming, context())
    assert (item.start, item.due, item.status, item.percent_complete) == (
        date(2026, 3, 2),
        date(2026, 3, 6),
        TaskStatus.WAITING,
        40,
    )


def test_exchange_task_date_given_as_a_time_counts_by_its_erp_local_day() -> None:
    incoming = ExchangeItem(kind=T, subject="x", due=utc("2026-03-05T23:30"))
    assert exchange_to_item(incoming, context()).due == date(2026, 3, 6)


def test_exchange_completed_status_forces_100_percent() -> None:
    incoming = ExchangeItem(kind=T, subject="x", status=DONE, percent_complete=30)
    assert exchange_to_item(incoming, context()).percent_complete == 100


def test_exchange_100_percent_forces_completed() -> None:
    incoming = ExchangeItem(
        kind=T, subject="x", status=TaskStatus.IN_PROGRESS, percent_complete=100
    )
    assert exchange_to_item(incoming, context()).status is DONE


def test_erp_status_and_percent_are_taken_as_they_are() -> None:
    row = ErpActivity(id=1, kind=T, subject="x", status=DONE, percent_complete=30)
    item = erp_to_item(row, context())
    assert (item.status, item.percent_complete) == (DONE, 30)


def test_task_without_status_is_not_started() -> None:
    assert (
        erp_to_item(ErpActivity(id=1, kind=T, subject="x"), context()).status
        is TaskStatus.NOT_STARTED
    )
    item = exchange_to_item(ExchangeItem(kind=T, subject="x"), context())
    assert item.status is TaskStatus.NOT_STARTED


def test_percent_complete_outside_0_to_100_is_rejected() -> None:
    with pytest.raises(ItemRejected) as caught:
        erp_to_item(ErpActivity(id=4, kind=T, subject="x", percent_complete=120), context())
    assert caught.value.field == "percent_complete"
    with pytest.raises(ItemRejected):
        exchange_to_item(ExchangeItem(kind=T, subject="x", percent_complete=-1), context())


def test_completed_at_is_now_in_erp_time_when_a_task_becomes_completed() -> None:
    ctx = context()
    row = ErpActivity(id=1, kind=T, subject="x", status=TaskStatus.IN_PROGRESS)
    done = replace(erp_to_item(row, ctx), status=DONE, percent_complete=100)
    written = item_to_erp(done, ctx, current=row, now=utc("2026-07-01T10:00"))
    assert (written.status, written.completed_at) == (DONE, local("2026-07-01T12:00"))
    assert item_to_erp(done, ctx, current=row).completed_at is None  # no time given


def test_completed_at_is_kept_while_completed_and_cleared_when_reopened() -> None:
    ctx = context()
    row = ErpActivity(
        id=1,
        kind=T,
        subject="x",
        status=DONE,
        percent_complete=100,
        completed_at=local("2026-06-30T16:45"),
    )
    item = erp_to_item(row, ctx)
    later = utc("2026-07-01T10:00")
    assert item_to_erp(replace(item, subject="y"), ctx, current=row, now=later).completed_at == (
        row.completed_at
    )
    reopened = replace(item, status=TaskStatus.IN_PROGRESS, percent_complete=50)
    assert item_to_erp(reopened, ctx, current=row, now=later).completed_at is None


# --- pass-through and writing over current copies ------------------------------------------


@pytest.mark.parametrize("minutes", [None, 0, 15, 1440])
def test_reminder_minutes_pass_both_ways(minutes: int | None) -> None:
    ctx = context()
    row = ErpActivity(id=1, kind=T, subject="x", reminder_minutes=minutes)
    outgoing = item_to_exchange(erp_to_item(row, ctx), ctx)
    assert outgoing.reminder_minutes == minutes
    assert item_to_erp(exchange_to_item(outgoing, ctx), ctx).reminder_minutes == minutes


def test_recurring_items_are_mapped_not_rejected() -> None:
    ctx = context()
    series = ErpActivity(
        id=1,
        kind=A,
        subject="Weekly",
        start_at=local("2026-01-05T09:00"),
        end_at=local("2026-01-05T10:00"),
        recurring=True,
    )
    assert erp_to_item(series, ctx).subject == "Weekly"
    assert item_to_erp(erp_to_item(series, ctx), ctx, current=series).recurring is True
    remote = ExchangeItem(kind=T, subject="Weekly", recurring=True)
    assert item_to_exchange(exchange_to_item(remote, ctx), ctx, current=remote).recurring is True


def test_erp_id_to_stamp_comes_from_the_argument_else_from_current() -> None:
    ctx = context()
    item = Item(kind=T, subject="x")
    assert item_to_exchange(item, ctx, erp_id=42).erp_id == 42
    stamped = ExchangeItem(kind=T, subject="x", erp_id=7)
    assert item_to_exchange(item, ctx, current=stamped).erp_id == 7
    assert item_to_exchange(item, ctx).erp_id is None


def test_writing_to_the_erp_keeps_identity_participants_and_equipment() -> None:
    ctx = context()
    row = ErpActivity(
        id=9,
        kind=A,
        subject="Board",
        start_at=local("2026-01-05T09:00"),
        end_at=local("2026-01-05T10:00"),
        participant_ids=(1, 2),
        equipment=("Beamer",),
    )
    changed = replace(erp_to_item(row, ctx), subject="Board meeting", equipment=())
    written = item_to_erp(changed, ctx, current=row)
    assert written == replace(row, subject="Board meeting")


def test_writing_a_moved_appointment_to_the_erp_changes_only_its_time_columns() -> None:
    ctx = context()
    row = ErpActivity(
        id=9,
        kind=A,
        subject="x",
        start_at=local("2026-01-05T09:00"),
        end_at=local("2026-01-05T10:00"),
        priority_id=HIGH,
        activity_type_no=TASK,
    )
    moved = replace(
        erp_to_item(row, ctx), start=utc("2026-01-06T08:00"), end=utc("2026-01-06T09:00")
    )
    written = item_to_erp(moved, ctx, current=row)
    assert written == replace(
        row, start_at=local("2026-01-06T09:00"), end_at=local("2026-01-06T10:00")
    )


def test_timed_appointment_becoming_all_day_writes_midnights_and_the_flag() -> None:
    ctx = context()
    row = ErpActivity(
        id=9,
        kind=A,
        subject="x",
        start_at=local("2026-01-05T09:00"),
        end_at=local("2026-01-05T10:00"),
    )
    all_day = replace(erp_to_item(row, ctx), start=date(2026, 1, 5), end=date(2026, 1, 6))
    written = item_to_erp(all_day, ctx, current=row)
    assert (written.start_at, written.end_at, written.all_day) == (
        local("2026-01-05T00:00"),
        local("2026-01-06T00:00"),
        True,
    )


def test_writing_a_task_over_an_appointment_is_rejected() -> None:
    row = ErpActivity(id=9, kind=A, subject="x", start_at=local("2026-01-05T09:00"))
    with pytest.raises(ItemRejected) as caught:
        item_to_erp(Item(kind=T, subject="x"), context(), current=row)
    assert caught.value.field == "kind"


def test_appointments_carry_no_task_fields_and_tasks_no_end() -> None:
    ctx = context()
    row = ErpActivity(
        id=1,
        kind=A,
        subject="x",
        start_at=local("2026-01-05T09:00"),
        end_at=local("2026-01-05T10:00"),
        status=DONE,
        percent_complete=100,
    )
    item = erp_to_item(row, ctx)
    assert (item.due, item.status, item.percent_complete) == (None, None, 0)
    task = erp_to_item(replace(row, kind=T), ctx)
    assert task.end is None


# --- field tables -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changed", "options", "expected"),
    [
        ({"subject"}, {}, {"subject"}),
        ({"private"}, {}, {"sensitivity"}),
        ({"activity_type_no"}, {}, {"categories"}),
        ({"importance"}, {}, {"importance"}),
        ({"importance"}, {"priority_as_text": True}, {"importance", "body"}),
        ({"equipment"}, {}, set()),
        ({"equipment"}, {"equipment_as_text": True}, {"body"}),
        ({"priority_name"}, {}, set()),
        ({"priority_name"}, {"priority_as_text": True}, {"body"}),
        ({"start", "end"}, {}, {"start", "end"}),
        ({"due", "status", "percent_complete"}, {}, {"due", "status", "percent_complete"}),
        ({"reminder_minutes", "location", "body"}, {}, {"reminder_minutes", "location", "body"}),
    ],
)
def test_exchange_fields_to_write_for_changed_item_fields(
    changed: set[str], options: dict[str, bool], expected: set[str]
) -> None:
    assert exchange_fields(changed, context(**options)) == expected


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ({"body"}, {"text"}),
        ({"start"}, {"start_at", "all_day"}),
        ({"end"}, {"end_at", "all_day"}),
        ({"due"}, {"due_at"}),
        ({"importance"}, {"priority_id"}),
        ({"status"}, {"status", "completed_at"}),
        ({"equipment", "priority_name"}, set()),
        ({"subject", "location", "private"}, {"subject", "location", "private"}),
        ({"activity_type_no", "reminder_minutes"}, {"activity_type_no", "reminder_minutes"}),
        ({"percent_complete"}, {"percent_complete"}),
    ],
)
def test_erp_fields_to_write_for_changed_item_fields(changed: set[str], expected: set[str]) -> None:
    assert erp_fields(changed) == expected


def test_the_exchange_fields_of_what_a_backend_cannot_hold() -> None:
    # A backend without sensitivity or categories (To Do) reads these fields back as
    # their defaults: the in-memory mailbox drops exactly these.
    assert exchange_carriers({"private", "activity_type_no"}) == {"sensitivity", "categories"}
    assert exchange_carriers(set()) == frozenset()


def test_every_synchronized_field_names_real_fields_on_both_sides() -> None:
    erp_names = set(ErpActivity.__dataclass_fields__)
    exchange_names = set(ExchangeItem.__dataclass_fields__)
    everything = context(priority_as_text=True, equipment_as_text=True)
    for name in SYNC_FIELDS:
        assert erp_fields([name]) <= erp_names
        assert exchange_fields([name], everything) <= exchange_names


def test_an_unknown_field_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="importnace"):
        erp_fields(["importnace"])
    with pytest.raises(ValueError):
        exchange_fields(["importnace"], context())


def test_importance_round_trips_from_exchange_through_the_erp() -> None:
    ctx = context()
    for importance in Importance:
        item = exchange_to_item(ExchangeItem(kind=T, subject="x", importance=importance), ctx)
        assert erp_to_item(item_to_erp(item, ctx), ctx).importance is importance


# --- series -----------------------------------------------------------------------------


def test_an_erp_rule_that_is_no_rrule_is_rejected_naming_the_row_and_the_field() -> None:
    row = ErpActivity(id=4, kind=A, subject="x", start_at=local("2026-11-05T10:00"),
                      end_at=local("2026-11-05T11:00"), recurring=True,
                      recurrence="FREQ=SOMETIMES")
    with pytest.raises(ItemRejected) as caught:
        erp_to_item(row, context())
    assert str(caught.value) == ("not an RFC 5545 RRULE: FREQ=SOMETIMES is not a frequency "
                                 "(item ERP activity 4 'x', field recurrence)")


@pytest.mark.parametrize(("start_at", "all_day", "until", "last"), [
    # 09:00 Berlin time on Wednesday 25 November is before the series' 10:00: the 18th.
    ("2026-11-04T10:00", False, "20261125T080000Z", "20261124"),
    # An all-day series occurs at midnight, whatever time its row's start carries.
    ("2026-11-04T08:00", True, "20261125T060000Z", "20261125"),
])
def test_an_erp_series_until_a_time_ends_on_the_last_day_it_still_occurs(
    start_at: str, all_day: bool, until: str, last: str
) -> None:
    row = ErpActivity(id=5, kind=A, subject="x", start_at=local(start_at),
                      end_at=local(start_at[:11] + "11:00"), all_day=all_day, recurring=True,
                      recurrence=f"FREQ=WEEKLY;BYDAY=WE;UNTIL={until}")
    assert erp_to_item(row, context()).recurrence == f"FREQ=WEEKLY;BYDAY=WE;UNTIL={last}"


def test_a_recurring_erp_task_with_only_a_due_day_repeats_from_that_day() -> None:
    ctx = context()
    row = ErpActivity(id=5, kind=T, subject="x", due_at=local("2026-11-05T00:00"),
                      recurring=True, recurrence="FREQ=WEEKLY;BYDAY=TH;COUNT=3")
    written = item_to_exchange(erp_to_item(row, ctx), ctx, erp_id=5)
    assert written.recurrence is not None
    assert written.recurrence.start == datetime(2026, 11, 5)
    assert written.due == date(2026, 11, 5)


def test_an_outlook_task_series_is_counted_from_its_start_not_its_due_day() -> None:
    # Started on the second Thursday, due two days later: two occurrences are left.
    ctx = context()
    task = ExchangeItem(kind=T, subject="x", start=date(2026, 11, 12), due=date(2026, 11, 14),
                        recurring=True, recurrence=parse_rrule(
                            "FREQ=WEEKLY;BYDAY=TH;COUNT=3", start=datetime(2026, 11, 5),
                            time_zone=ctx.erp_zone.key))
    assert exchange_to_item(task, ctx).recurrence == "FREQ=WEEKLY;BYDAY=TH;COUNT=2"


def test_a_task_series_with_neither_start_nor_due_day_is_refused_in_words() -> None:
    # Nothing to count its occurrences from: refused, never written to Outlook.
    item = Item(kind=T, subject="x", recurrence="FREQ=DAILY")
    with pytest.raises(ItemRejected) as caught:
        item_to_exchange(item, context(), erp_id=6)
    assert str(caught.value) == ("a series needs its first occurrence, and it is empty "
                                 "(item task 'x', field start)")


def test_an_outlook_series_becomes_a_recurring_erp_row() -> None:
    item = Item(kind=A, subject="x", start=utc("2026-11-05T09:00"), end=utc("2026-11-05T10:00"),
                recurrence="FREQ=WEEKLY;BYDAY=TH;COUNT=3")
    row = item_to_erp(item, context())
    assert (row.recurring, row.recurrence) == (True, "FREQ=WEEKLY;BYDAY=TH;COUNT=3")
    assert item_to_erp(replace(item, recurrence=None), context()).recurring is False
