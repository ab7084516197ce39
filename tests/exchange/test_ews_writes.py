"""Batched create, update and delete; the category list; no meeting messages ever."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from exchangelib import Attendee, CalendarItem, EWSDateTime, Mailbox
from exchangelib.items import SEND_TO_NONE

from esexchange.domain.claims import MailboxClaim
from esexchange.domain.model import (
    Category,
    ExchangeItem,
    Importance,
    ItemRef,
    Kind,
    TaskStatus,
)
from esexchange.exchange.errors import ItemFailed
from esexchange.exchange.ews import EwsConnection, EwsMailbox
from esexchange.exchange.port import ExchangeUpdate
from tests.e2e.outlook import Outlook
from tests.exchange.ews_helpers import connected, user_settings
from tests.support.sandbox import (
    ANNA,
    BEN,
    CARL,
    SERVICE_PASSWORD,
    SERVICE_UPN,
    RunningSandbox,
)

START = datetime(2026, 9, 14, 7, tzinfo=UTC)
BATCH = 3


@pytest.fixture
def connection(ews: RunningSandbox) -> Iterator[EwsConnection]:
    with connected(user_settings(ews.url, batch_size=BATCH)) as opened:
        yield opened


@pytest.fixture
def anna(connection: EwsConnection) -> EwsMailbox:
    mailbox = connection.mailbox(ANNA)
    mailbox.check()
    return mailbox


@pytest.fixture
def outlook(ews: RunningSandbox) -> Outlook:
    return Outlook(ews.url, SERVICE_UPN, SERVICE_PASSWORD, ANNA)


def _appointment(n: int, **fields: object) -> ExchangeItem:
    values: dict[str, object] = {
        "kind": Kind.APPOINTMENT, "subject": f"Appointment {n}", "erp_id": n,
        "start": START + timedelta(hours=n), "end": START + timedelta(hours=n, minutes=45),
    }
    return ExchangeItem(**(values | fields))  # type: ignore[arg-type]


def _refs(results: list) -> list[ItemRef]:  # type: ignore[type-arg]
    assert all(result.ok for result in results), [r.error for r in results]
    return [result.value for result in results]


def test_create_sends_one_request_per_batch_and_stamps_the_erp_id(
    anna: EwsMailbox, outlook: Outlook
) -> None:
    before = anna.requests.count
    refs = _refs(anna.create([_appointment(n) for n in range(7)]))
    assert anna.requests.count - before == math.ceil(7 / BATCH)
    assert len(set(refs)) == 7
    stamped = anna.find_by_erp_id(Kind.APPOINTMENT, list(range(7)))
    assert {erp_id: remote.ref.id for erp_id, remote in stamped.items()} == {
        n: refs[n].id for n in range(7)
    }
    assert sorted(item.subject for item in outlook.appointments()) == sorted(
        f"Appointment {n}" for n in range(7)
    )


def test_appointments_and_tasks_in_one_call_go_to_their_folders(
    anna: EwsMailbox, outlook: Outlook
) -> None:
    task = ExchangeItem(kind=Kind.TASK, subject="Call back", erp_id=50)
    results = anna.create([_appointment(1), task, _appointment(2)])
    assert all(result.ok for result in results)
    assert [t.subject for t in outlook.tasks()] == ["Call back"]
    assert len(outlook.appointments()) == 2


def test_one_invalid_item_fails_alone(anna: EwsMailbox, outlook: Outlook) -> None:
    broken = _appointment(2, end=START)  # ends before it starts
    results = anna.create([_appointment(1), broken, _appointment(3)])
    assert [result.ok for result in results] == [True, False, True]
    error = results[1].error
    assert isinstance(error, ItemFailed)
    assert "Appointment 2" in str(error) and "ERP id 2" in str(error) and ANNA in str(error)
    assert sorted(i.subject for i in outlook.appointments()) == ["Appointment 1", "Appointment 3"]


def test_update_writes_only_the_named_fields(anna: EwsMailbox, outlook: Outlook) -> None:
    [ref] = _refs(anna.create([_appointment(1, location="Room 1")]))
    outlook.edit(outlook.appointment("Appointment 1"), location="Moved by the user")
    current = anna.find_by_erp_id(Kind.APPOINTMENT, [1])[1]
    changed = _appointment(1, subject="Renamed", location="Room 1", importance=Importance.HIGH)
    [result] = anna.update([ExchangeUpdate(
        current.ref, changed, frozenset({"subject", "importance"})
    )])
    assert result.ok and result.value is not None
    assert result.value.id == ref.id and result.value.version != current.ref.version
    after = anna.find_by_erp_id(Kind.APPOINTMENT, [1])[1]
    assert after.item.subject == "Renamed"
    assert after.item.importance is Importance.HIGH
    assert after.item.location == "Moved by the user"  # not named: left as the user set it
    assert after.ref == result.value


def test_writing_the_activity_type_category_keeps_the_users_own_categories(
    anna: EwsMailbox, outlook: Outlook
) -> None:
    _refs(anna.create([_appointment(1, categories=("ES_1_Visit",))]))
    outlook.edit(outlook.appointment("Appointment 1"), categories=["Golf", "ES_1_Visit"])
    current = anna.find_by_erp_id(Kind.APPOINTMENT, [1])[1]
    retyped = _appointment(1, categories=("ES_2_Call",))  # the sync knows no "Golf"
    [result] = anna.update([ExchangeUpdate(current.ref, retyped, frozenset({"categories"}))])
    assert result.ok, result.error
    assert anna.find_by_erp_id(Kind.APPOINTMENT, [1])[1].item.categories == ("Golf", "ES_2_Call")


def test_update_can_clear_fields_and_move_an_appointment_to_all_day(
    anna: EwsMailbox,
) -> None:
    [ref] = _refs(anna.create([_appointment(
        1, location="Room", categories=("ES_1_Visit",), reminder_minutes=15,
    )]))
    day = START.date()
    changed = _appointment(1, start=day, end=day + timedelta(days=1), location="",
                           categories=(), reminder_minutes=None)
    fields = frozenset({"start", "end", "location", "categories", "reminder_minutes"})
    [result] = anna.update([ExchangeUpdate(ref, changed, fields)])
    assert result.ok, result.error
    after = anna.find_by_erp_id(Kind.APPOINTMENT, [1])[1].item
    assert (after.start, after.end, after.all_day) == (day, day + timedelta(days=1), True)
    assert (after.location, after.categories, after.reminder_minutes) == ("", (), None)


def test_a_stale_change_key_fails_only_that_element(
    anna: EwsMailbox, outlook: Outlook
) -> None:
    refs = _refs(anna.create([_appointment(n) for n in range(4)]))
    outlook.edit(outlook.appointment("Appointment 2"), subject="Edited in Outlook")
    updates = [
        ExchangeUpdate(ref, _appointment(n, subject=f"Synced {n}"), frozenset({"subject"}))
        for n, ref in enumerate(refs)
    ]
    results = anna.update(updates)
    assert [result.ok for result in results] == [True, True, False, True]
    assert isinstance(results[2].error, ItemFailed)
    assert "stale change key" in str(results[2].error)
    subjects = sorted(item.subject for item in outlook.appointments())
    assert subjects == ["Edited in Outlook", "Synced 0", "Synced 1", "Synced 3"]


def test_an_update_with_nothing_exchange_knows_sends_nothing(anna: EwsMailbox) -> None:
    [ref] = _refs(anna.create([_appointment(1)]))
    before = anna.requests.count
    [result] = anna.update([ExchangeUpdate(ref, _appointment(1), frozenset({"due"}))])
    assert result.value == ref
    assert anna.requests.count == before


def test_tasks_update_status_and_percent(anna: EwsMailbox, outlook: Outlook) -> None:
    task = ExchangeItem(kind=Kind.TASK, subject="Offer", erp_id=7)
    [ref] = _refs(anna.create([task]))
    done = ExchangeItem(kind=Kind.TASK, subject="Offer", erp_id=7,
                        status=TaskStatus.COMPLETED, percent_complete=100)
    [result] = anna.update([ExchangeUpdate(ref, done, frozenset({"status",
                                                                  "percent_complete"}))])
    assert result.ok, result.error
    stored = outlook.task("Offer")
    assert stored.status == "Completed" and int(stored.percent_complete) == 100


def test_delete_moves_to_deleted_items_and_a_gone_item_counts_as_deleted(
    anna: EwsMailbox, outlook: Outlook, ews: RunningSandbox
) -> None:
    refs = _refs(anna.create([_appointment(n) for n in range(4)]))
    gone = outlook.appointment("Appointment 3")
    outlook.delete(gone)  # by the user, for good (HardDelete)
    before = anna.requests.count
    results = anna.delete(refs)
    assert all(result.ok for result in results), [r.error for r in results]
    assert anna.requests.count - before == math.ceil(4 / BATCH)
    assert outlook.appointments() == []
    deleted = outlook.account.trash.all()
    assert sorted(item.subject for item in deleted) == [f"Appointment {n}" for n in range(3)]


def test_no_meeting_message_is_ever_sent(
    anna: EwsMailbox, outlook: Outlook, ews: RunningSandbox
) -> None:
    # A meeting with attendees, saved by the user without sending: if the sync updated
    # or deleted it with the default settings, Exchange would mail the attendees.
    meeting = CalendarItem(
        account=outlook.account, folder=outlook.account.calendar, subject="Board meeting",
        start=EWSDateTime.from_datetime(START),
        end=EWSDateTime.from_datetime(START + timedelta(hours=1)),
        required_attendees=[Attendee(mailbox=Mailbox(email_address=BEN)),
                            Attendee(mailbox=Mailbox(email_address=CARL))],
    )
    meeting.save(send_meeting_invitations=SEND_TO_NONE)
    ref = ItemRef(meeting.id, meeting.changekey)
    [created] = anna.create([_appointment(1)])
    item = _appointment(5, subject="Board meeting (moved)")
    [updated] = anna.update([ExchangeUpdate(ref, item, frozenset({"subject", "start", "end"}))])
    assert updated.ok and updated.value is not None
    [deleted] = anna.delete([updated.value])
    assert created.ok and deleted.ok
    assert ews.mailbox(ANNA).sent == []


def test_a_later_connection_of_the_process_skips_the_probes_and_known_categories(
    ews: RunningSandbox, outlook: Outlook
) -> None:
    settings = user_settings(ews.url)
    with connected(settings) as first:
        anna = first.mailbox(ANNA)
        anna.ensure_categories([Category("ES_1_Visit", 7)])
        state = anna.changes(Kind.APPOINTMENT, None).state
    assert anna.requests.by_operation["ConvertId"] >= 1  # the first one probed the version
    with connected(settings) as second:  # the service opens one for every pass
        anna = second.mailbox(ANNA)
        anna.ensure_categories([Category("ES_1_Visit", 7)])
        assert anna.changes(Kind.APPOINTMENT, state).changes == ()
        # No auth or version probe, no category read: one request per folder read.
        assert anna.requests.by_operation == Counter({"SyncFolderItems": 1})
        assert anna.read_claim() is None  # addressed by the calendar's name: no GetFolder
        assert anna.requests.by_operation == Counter(
            {"SyncFolderItems": 1, "GetUserConfiguration": 1})
        anna.ensure_categories([Category("ES_1_Visit", 9)])  # the ERP's colour changed
    assert outlook.master_categories() == {"ES_1_Visit": 9}


def test_ensure_categories_keeps_the_users_own(anna: EwsMailbox, outlook: Outlook) -> None:
    anna.ensure_categories([Category("ES_1_Visit", 7)])  # no list yet: it is created
    assert outlook.master_categories() == {"ES_1_Visit": 7}
    outlook.set_master_categories({"ES_1_Visit": 7, "Private stuff": 3, "Golf": 12})
    anna.ensure_categories([Category("ES_1_Visit", 9), Category("ES_2_Call", 4)])
    assert outlook.master_categories() == {
        "ES_1_Visit": 9, "Private stuff": 3, "Golf": 12, "ES_2_Call": 4,
    }
    before = anna.requests.count
    anna.ensure_categories([Category("ES_2_Call", 4)])
    assert anna.requests.count - before == 1  # read, nothing to write


def test_a_claim_found_missing_is_created_in_one_request_and_one_written_meanwhile_replaced(
    connection: EwsConnection, anna: EwsMailbox,
) -> None:
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    mine = MailboxClaim("inst-a", "db-host/erp", "host-a", at, at + timedelta(minutes=15))
    theirs = MailboxClaim("inst-b", "db-host/erp", "host-b", at, at + timedelta(minutes=15))
    assert anna.read_claim() is None
    before = Counter(anna.requests.by_operation)
    anna.write_claim(mine)
    assert anna.requests.by_operation - before == Counter({"CreateUserConfiguration": 1})
    assert anna.read_claim() == mine

    ben, other = connection.mailbox(BEN), connection.mailbox(BEN)
    assert ben.read_claim() is None
    other.write_claim(theirs)  # another installation, between ben's read and write
    ben.write_claim(mine)
    assert other.read_claim() == mine
    assert ben.requests.by_operation["UpdateUserConfiguration"] == 1
    assert "GetFolder" not in ben.requests.by_operation  # the calendar by its name
