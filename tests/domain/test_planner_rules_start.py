"""The start of synchronization and the time window (DESIGN.md §3), for items never
synchronized: the start is ``start_sync_at`` (clamped to 30 days back), an item last
modified before it stays where it is, an appointment overlapping the start is in."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from esexchange.domain.actions import SkipReason
from esexchange.domain.model import Kind, Side
from tests.domain.planner_support import fate
from tests.domain.test_planner import (
    NOW,
    OPTIONS,
    activity,
    changed_erp,
    changed_exchange,
    exchange_copy,
    run,
)

START = NOW - timedelta(days=5)
FROM_START = replace(OPTIONS, start_sync_at=START)


@pytest.mark.parametrize(
    ("modified", "synced"),
    [
        (START - timedelta(days=2), False),  # within the 30-day default, but before the start
        (START - timedelta(seconds=1), False),
        (START, True),
        (START + timedelta(days=1), True),
    ],
)
def test_start_sync_at_decides_which_erp_activities_are_synchronized(
    modified: datetime, synced: bool
) -> None:
    outcome = fate(run(erp=(changed_erp(activity(), modified=modified),), options=FROM_START))
    assert (outcome.created == {Side.EXCHANGE}) is synced
    assert (outcome.skipped == {SkipReason.BEFORE_START}) is not synced


@pytest.mark.parametrize(
    ("modified", "imported"),
    [(START - timedelta(days=2), False), (START - timedelta(seconds=1), False), (START, True)],
)
def test_exchange_items_modified_before_the_start_are_not_imported(
    modified: datetime, imported: bool
) -> None:
    item = replace(exchange_copy(activity()), erp_id=None)
    outcome = fate(run(exchange=(changed_exchange(item, modified=modified),),
                       options=FROM_START))
    assert (outcome.created == {Side.ERP}) is imported
    assert (outcome.skipped == {SkipReason.BEFORE_START}) is not imported


def test_an_unset_start_is_30_days_back() -> None:
    month_ago = NOW - timedelta(days=30)
    inside = fate(run(erp=(changed_erp(activity(), modified=month_ago),)))
    outside = fate(run(erp=(changed_erp(activity(), modified=month_ago - timedelta(seconds=1)),)))
    assert inside.created == {Side.EXCHANGE} and outside.skipped == {SkipReason.BEFORE_START}


@pytest.mark.parametrize(
    ("start_at", "end_at", "synced"),
    [
        # Berlin times; START is 28 October 09:00 UTC, 10:00 in Berlin.
        (datetime(2026, 10, 28, 8), datetime(2026, 10, 28, 12), True),  # overlaps the start
        (datetime(2026, 10, 28, 8), datetime(2026, 10, 28, 10), True),  # ends at the start
        (datetime(2026, 10, 28, 8), datetime(2026, 10, 28, 9, 59), False),
        (datetime(2026, 10, 27, 8), datetime(2026, 10, 27, 9), False),
    ],
)
def test_an_appointment_counts_by_its_end_against_the_start(
    start_at: datetime, end_at: datetime, synced: bool
) -> None:
    meeting = activity(start_at=start_at, end_at=end_at)
    outcome = fate(run(erp=(changed_erp(meeting, modified=NOW),), options=FROM_START))
    assert (outcome.created == {Side.EXCHANGE}) is synced
    assert (outcome.skipped == {SkipReason.OUTSIDE_WINDOW}) is not synced


def test_an_appointment_without_an_end_counts_by_its_start() -> None:
    item = replace(exchange_copy(activity()), erp_id=None, start=START - timedelta(minutes=1),
                   end=None)
    outcome = fate(run(exchange=(changed_exchange(item, modified=NOW),), options=FROM_START))
    assert outcome.skipped == {SkipReason.OUTSIDE_WINDOW}


@pytest.mark.parametrize(
    ("start_at", "synced"),
    # NOW + 365 days is 2 November 2027, 09:00 UTC, 10:00 in Berlin.
    [(datetime(2027, 11, 2, 10), True), (datetime(2027, 11, 2, 10, 1), False)],
)
def test_the_window_ends_window_future_days_ahead(start_at: datetime, synced: bool) -> None:
    meeting = activity(start_at=start_at, end_at=start_at + timedelta(hours=1))
    outcome = fate(run(erp=(changed_erp(meeting, modified=NOW),)))
    assert (outcome.created == {Side.EXCHANGE}) is synced
    assert (outcome.skipped == {SkipReason.OUTSIDE_WINDOW}) is not synced


def test_an_all_day_appointment_on_the_start_day_is_synchronized() -> None:
    day = activity(start_at=datetime(2026, 10, 28), end_at=datetime(2026, 10, 29), all_day=True)
    outcome = fate(run(erp=(changed_erp(day, modified=NOW),), options=FROM_START))
    assert outcome.created == {Side.EXCHANGE}
    before = activity(start_at=datetime(2026, 10, 26), end_at=datetime(2026, 10, 27),
                      all_day=True)
    assert fate(run(erp=(changed_erp(before, modified=NOW),),
                    options=FROM_START)).skipped == {SkipReason.OUTSIDE_WINDOW}
    assert isinstance(fate(run(erp=(changed_erp(day, modified=NOW),), options=FROM_START))
                      .exchange_written.start, date)  # type: ignore[union-attr]


def test_tasks_are_not_held_to_the_appointment_window() -> None:
    # The window (start_sync_at .. window_future_days) bounds appointments by their
    # dates; a task starting or due beyond it is synchronized.
    later = datetime(2028, 1, 10)
    task = activity(kind=Kind.TASK, start_at=later, end_at=None, due_at=later,
                    activity_type_no=2)
    outcome = fate(run(kind=Kind.TASK, erp=(changed_erp(task, modified=NOW),)))
    assert outcome.created == {Side.EXCHANGE} and outcome.skipped == set()
