"""Field round-trips of the EWS adapter against the sandbox, with the real exchangelib."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.items import SEND_TO_NONE
from exchangelib.recurrence import DailyPattern, Recurrence

from esexchange.domain.model import (
    ExchangeItem,
    Importance,
    ItemRef,
    Kind,
    RemoteItem,
    Sensitivity,
    TaskStatus,
)
from esexchange.exchange.ews import EwsConnection, EwsMailbox
from tests.exchange.ews_helpers import connected, user_settings
from tests.support.sandbox import ANNA, CARL, RunningSandbox


@pytest.fixture
def connection(ews: RunningSandbox) -> Iterator[EwsConnection]:
    with connected(user_settings(ews.url)) as opened:
        yield opened


@pytest.fixture
def anna(connection: EwsConnection) -> EwsMailbox:
    return connection.mailbox(ANNA)


def _round_trip(mailbox: EwsMailbox, item: ExchangeItem) -> RemoteItem:
    [created] = mailbox.create([item])
    assert created.ok, created.error
    assert created.value is not None
    found = mailbox.find_by_erp_id(item.kind, [item.erp_id or 0])
    remote = found[item.erp_id or 0]
    assert remote.ref.id == created.value.id
    return remote


def _appointment(**fields: object) -> ExchangeItem:
    values: dict[str, object] = {
        "kind": Kind.APPOINTMENT, "subject": "Visit", "erp_id": 1,
        "start": datetime(2026, 6, 3, 7, 30, tzinfo=UTC),
        "end": datetime(2026, 6, 3, 9, 0, tzinfo=UTC),
    }
    return ExchangeItem(**(values | fields))  # type: ignore[arg-type]


def test_a_timed_appointment_keeps_every_field(anna: EwsMailbox) -> None:
    item = _appointment(
        subject="Customer visit Müller & Söhne <2>",
        body="Agenda:\n1. prices\n2. delivery",
        location="Hamburg, Speicherstadt",
        sensitivity=Sensitivity.PRIVATE,
        importance=Importance.HIGH,
        categories=("ES_3_Visit", "My own category"),
        reminder_minutes=45,
        erp_id=4711,
    )
    remote = _round_trip(anna, item)
    assert remote.item == item
    assert remote.modified_at.tzinfo is UTC
    assert abs(remote.modified_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_no_reminder_and_empty_texts_come_back_empty(anna: EwsMailbox) -> None:
    item = _appointment(body="", location="", reminder_minutes=None, erp_id=2)
    remote = _round_trip(anna, item)
    assert remote.item.reminder_minutes is None
    assert remote.item.body == ""
    assert remote.item.location == ""


def test_a_long_body_and_unicode_survive(anna: EwsMailbox) -> None:
    body = ("Zeile mit Umlauten äöüß und Emoji 📅, tab\there.\n" * 3000).rstrip("\n")
    remote = _round_trip(anna, _appointment(body=body, erp_id=3))
    assert remote.item.body == body


def test_control_characters_that_xml_cannot_carry_do_not_fail_the_item(
    anna: EwsMailbox,
) -> None:
    body = "before\x01\x08\x0b\x0c\x1f\x80\x9fafter\ttab\nnewline"
    [created] = anna.create([_appointment(body=body, erp_id=5)])
    assert created.ok, created.error
    remote = anna.find_by_erp_id(Kind.APPOINTMENT, [5])[5]
    # XML 1.0 cannot carry C0 controls other than tab, LF and CR (and exchangelib would
    # turn C1 controls into "?"): they are dropped, the rest is kept as it was.
    assert remote.item.body == "beforeafter\ttab\nnewline"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 3, 29), date(2026, 3, 30)),  # the day Berlin springs forward
        (date(2026, 10, 25), date(2026, 10, 26)),  # the day Berlin falls back
        (date(2026, 3, 27), date(2026, 3, 31)),  # four days across the change
        (date(2026, 6, 1), date(2026, 6, 2)),
    ],
)
def test_all_day_appointments_keep_their_days_across_daylight_saving(
    anna: EwsMailbox, ews: RunningSandbox, start: date, end: date
) -> None:
    remote = _round_trip(anna, _appointment(start=start, end=end, erp_id=6))
    assert (remote.item.start, remote.item.end) == (start, end)
    assert remote.item.all_day
    # On the wire, the bounds are midnights of the mailbox's zone (what Outlook shows).
    outlook = ews.account(ANNA)
    stored = outlook.calendar.get(id=remote.ref.id)
    assert stored.is_all_day
    assert stored.start == start
    assert stored._start_timezone.key == "Europe/Berlin"


def test_an_all_day_appointment_made_in_outlook_in_another_zone_is_read_in_that_zone(
    connection: EwsConnection, ews: RunningSandbox
) -> None:
    new_york = EWSTimeZone("America/New_York")
    outlook = ews.account(CARL)
    made = CalendarItem(
        account=outlook, folder=outlook.calendar, subject="Holiday", is_all_day=True,
        start=EWSDateTime(2026, 3, 8, tzinfo=new_york).date(),  # New York springs forward
        end=EWSDateTime(2026, 3, 8, tzinfo=new_york).date(),
        _start_timezone=new_york, _end_timezone=new_york,
    )
    made.save(send_meeting_invitations=SEND_TO_NONE)
    carl = connection.mailbox(CARL)
    page = carl.changes(Kind.APPOINTMENT, None)
    [change] = page.changes
    assert change.remote is not None
    assert (change.remote.item.start, change.remote.item.end) == (
        date(2026, 3, 8), date(2026, 3, 9)
    )
    assert change.remote.item.erp_id is None


def test_a_recurring_series_is_marked_recurring(
    connection: EwsConnection, ews: RunningSandbox
) -> None:
    outlook = ews.account(ANNA)
    start = EWSDateTime(2026, 6, 1, 8, tzinfo=EWSTimeZone("Europe/Berlin"))
    CalendarItem(
        account=outlook, folder=outlook.calendar, subject="Daily stand-up", start=start,
        end=start + timedelta(minutes=15),
        recurrence=Recurrence(pattern=DailyPattern(interval=1), start=start.date(),
                              number=10),
    ).save(send_meeting_invitations=SEND_TO_NONE)
    page = connection.mailbox(ANNA).changes(Kind.APPOINTMENT, None)
    [change] = page.changes
    assert change.remote is not None and change.remote.item.recurring


@pytest.mark.parametrize(
    ("status", "percent"),
    [
        (TaskStatus.NOT_STARTED, 0),
        (TaskStatus.IN_PROGRESS, 40),
        (TaskStatus.WAITING, 10),
        (TaskStatus.DEFERRED, 0),
        (TaskStatus.COMPLETED, 100),
    ],
)
def test_a_task_keeps_status_percent_and_dates(
    anna: EwsMailbox, status: TaskStatus, percent: int
) -> None:
    item = ExchangeItem(
        kind=Kind.TASK, subject="Send offer", body="to Müller", start=date(2026, 3, 27),
        due=date(2026, 3, 30), status=status, percent_complete=percent,
        importance=Importance.LOW, categories=("ES_5_Offer",), erp_id=900,
    )
    remote = _round_trip(anna, item)
    assert remote.item == item


def test_a_task_without_dates(anna: EwsMailbox) -> None:
    item = ExchangeItem(kind=Kind.TASK, subject="Someday", status=TaskStatus.NOT_STARTED,
                        erp_id=901)
    remote = _round_trip(anna, item)
    assert (remote.item.start, remote.item.due) == (None, None)


def test_refs_carry_the_change_key_of_the_current_version(anna: EwsMailbox) -> None:
    [created] = anna.create([_appointment(erp_id=10)])
    assert created.value is not None
    remote = anna.find_by_erp_id(Kind.APPOINTMENT, [10])[10]
    assert remote.ref == ItemRef(created.value.id, created.value.version)


def test_timed_appointments_are_written_in_the_connections_zone(
    anna: EwsMailbox, ews: RunningSandbox
) -> None:
    remote = _round_trip(anna, _appointment(erp_id=11))
    stored = ews.account(ANNA).calendar.get(id=remote.ref.id)
    assert stored._start_timezone.key == "Europe/Berlin"  # what Outlook shows it in
    assert stored.start == EWSDateTime(2026, 6, 3, 7, 30, tzinfo=EWSTimeZone("UTC"))
