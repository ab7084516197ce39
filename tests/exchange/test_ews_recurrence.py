"""Series through real exchangelib and the EWS sandbox: what ``to_ews`` writes is read
back by ``from_ews`` as the same series, the sandbox's calendar view has exactly the
occurrences the domain (and so python-dateutil) computes, in Berlin and New York, and
the mailbox adapter reads a master with its moved and deleted occurrences."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from exchangelib import EWSDateTime, EWSTimeZone
from exchangelib.items import SEND_TO_NONE, CalendarItem, Task

from esexchange.domain.model import Kind
from esexchange.domain.recurrence import (
    Recurrence,
    Regenerating,
    Unit,
    format_rrule,
    occurrences_utc,
    parse_rrule,
)
from esexchange.exchange.ews.recurrence import from_ews, to_ews
from tests.domain.recurrence_support import oracle
from tests.exchange.ews_helpers import connected, user_settings
from tests.support.sandbox import ANNA, CARL, RunningSandbox

SERIES = [
    ("FREQ=DAILY;INTERVAL=3;COUNT=30", datetime(2026, 3, 20, 9)),
    ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20261102", datetime(2026, 3, 2, 8, 30)),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU;COUNT=40", datetime(2026, 3, 5, 17)),
    ("FREQ=MONTHLY;BYMONTHDAY=15", datetime(2026, 1, 15, 10)),
    ("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=14", datetime(2026, 1, 31, 16)),
    ("FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1;COUNT=14", datetime(2026, 1, 30, 16)),
    ("FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU", datetime(2026, 2, 10, 14)),
    ("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20271231", datetime(2026, 1, 30, 12)),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", datetime(2026, 1, 30, 9)),
    ("FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=1;COUNT=12", datetime(2026, 1, 3, 11)),
    ("FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=14", datetime(2026, 5, 14, 9)),
    ("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU;COUNT=3", datetime(2026, 3, 29, 9)),
    ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;UNTIL=20281231", datetime(2026, 11, 26, 18)),
]
MAILBOXES = [(ANNA, "Europe/Berlin"), (CARL, "America/New_York")]


def _local(moment: datetime, zone: str) -> EWSDateTime:
    return EWSDateTime.from_datetime(moment.replace(tzinfo=EWSTimeZone(zone)))


@pytest.mark.parametrize(("mailbox", "zone"), MAILBOXES)
@pytest.mark.parametrize(("rule", "start"), SERIES)
def test_a_series_round_trips_and_the_sandbox_has_its_occurrences(
    ews: RunningSandbox, mailbox: str, zone: str, rule: str, start: datetime
) -> None:
    series = parse_rrule(rule, start=start, time_zone=zone)
    account = ews.account(mailbox)
    master = CalendarItem(
        folder=account.calendar, subject=rule, start=_local(start, zone),
        end=_local(start + timedelta(hours=1), zone), recurrence=to_ews(series))
    master.save(send_meeting_invitations=SEND_TO_NONE)

    [read] = account.calendar.filter(subject=rule)
    wall = read.start.astimezone(EWSTimeZone(zone)).replace(tzinfo=None)
    assert from_ews(read.recurrence, start=wall, time_zone=zone) == series
    assert format_rrule(from_ews(read.recurrence, start=wall, time_zone=zone)) == rule

    window_end = start + timedelta(days=731)
    view = account.calendar.view(start=_local(start, zone), end=_local(window_end, zone))
    starts = sorted(datetime.fromtimestamp(item.start.timestamp(), UTC) for item in view)
    expected = occurrences_utc(series, before=window_end)
    assert starts == expected
    assert [d.replace(tzinfo=EWSTimeZone(zone)).astimezone(UTC)
            for d in oracle(rule, start, before=window_end)] == expected


def test_a_regenerating_task_round_trips(ews: RunningSandbox) -> None:
    series = Recurrence(start=datetime(2026, 6, 1), pattern=Regenerating(Unit.WEEK, 2),
                        time_zone="Europe/Berlin")
    account = ews.account(ANNA)
    task = Task(folder=account.tasks, subject="Reisekosten", start_date=date(2026, 6, 1),
                due_date=date(2026, 6, 1), recurrence=to_ews(series, task=True))
    task.save()

    [read] = account.tasks.filter(subject="Reisekosten")
    assert from_ews(read.recurrence, start=datetime(2026, 6, 1),
                    time_zone="Europe/Berlin") == series


def test_the_mailbox_reads_a_series_with_its_moved_and_deleted_occurrences(
    ews: RunningSandbox,
) -> None:
    zone = "Europe/Berlin"
    series = parse_rrule("FREQ=WEEKLY;BYDAY=MO;COUNT=10", start=datetime(2026, 3, 23, 9),
                         time_zone=zone)
    account = ews.account(ANNA)
    master = CalendarItem(
        folder=account.calendar, subject="Jour fixe", start=_local(series.start, zone),
        end=_local(series.start + timedelta(hours=1), zone), recurrence=to_ews(series))
    master.save(send_meeting_invitations=SEND_TO_NONE)
    moved = master.occurrence(index=2)  # 30 March, the first Monday of summer time
    moved.start, moved.end = (_local(datetime(2026, 3, 31, 14), zone),
                              _local(datetime(2026, 3, 31, 15), zone))
    moved.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_NONE)
    master.occurrence(index=4).delete(send_meeting_cancellations=SEND_TO_NONE)

    with connected(user_settings(ews.url)) as connection:
        page = connection.mailbox(ANNA).changes(Kind.APPOINTMENT, None)

    [change] = page.changes
    assert change.remote is not None
    read = change.remote.item
    assert read.recurring  # still skipped by the planner, as every series today
    assert read.recurrence == replace(series, modified=frozenset({datetime(2026, 3, 30, 9)}),
                                      deleted=frozenset({datetime(2026, 4, 13, 9)}))


def test_the_mailbox_reads_a_regenerating_task(ews: RunningSandbox) -> None:
    series = Recurrence(start=datetime(2026, 6, 1), pattern=Regenerating(Unit.MONTH),
                        time_zone="Europe/Berlin")
    account = ews.account(ANNA)
    Task(folder=account.tasks, subject="Monatsabschluss", start_date=date(2026, 6, 1),
         due_date=date(2026, 6, 1), recurrence=to_ews(series, task=True)).save()

    with connected(user_settings(ews.url)) as connection:
        page = connection.mailbox(ANNA).changes(Kind.TASK, None)

    [change] = page.changes
    assert change.remote is not None and change.remote.item.recurring
    assert change.remote.item.recurrence == series
