"""Reading changes (SyncFolderItems + batched GetItem) and finding stamped items."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from exchangelib import CalendarItem, EWSDateTime
from exchangelib.items import SEND_TO_NONE

from esexchange.domain.model import ExchangeItem, Kind
from esexchange.domain.state import WHOLE_FOLDER
from esexchange.exchange.errors import InvalidSyncState
from esexchange.exchange.ews import EwsConnection, EwsMailbox
from esexchange.exchange.port import ChangePage, OwnWrites
from tests.exchange.ews_helpers import connected, user_settings
from tests.support.sandbox import ANNA, BEN, RunningSandbox

START = datetime(2026, 7, 1, 8, tzinfo=UTC)


@pytest.fixture
def connection(ews: RunningSandbox) -> Iterator[EwsConnection]:
    with connected(user_settings(ews.url, batch_size=4)) as opened:
        yield opened


@pytest.fixture
def anna(connection: EwsConnection) -> EwsMailbox:
    mailbox = connection.mailbox(ANNA)
    mailbox.check()
    return mailbox


def _appointments(count: int, first_erp_id: int = 1) -> list[ExchangeItem]:
    return [
        ExchangeItem(
            kind=Kind.APPOINTMENT, subject=f"Appointment {n}", erp_id=first_erp_id + n,
            start=START + timedelta(hours=n), end=START + timedelta(hours=n, minutes=30),
        )
        for n in range(count)
    ]


def _read_all(mailbox: EwsMailbox, kind: Kind, state: str | None, page_size: int
              ) -> tuple[list[ChangePage], str]:
    mailbox.page_size = page_size
    pages = [mailbox.changes(kind, state)]
    while pages[-1].more:
        pages.append(mailbox.changes(kind, pages[-1].state))
    return pages, pages[-1].state


def test_a_full_read_lists_every_item_in_pages(anna: EwsMailbox) -> None:
    created = anna.create(_appointments(7))
    pages, _ = _read_all(anna, Kind.APPOINTMENT, None, page_size=3)
    assert [len(page.changes) for page in pages] == [3, 3, 1]
    assert [page.more for page in pages] == [True, True, False]
    assert pages[0].complete == WHOLE_FOLDER and pages[1].complete is None
    ids = [change.exchange_id for page in pages for change in page.changes]
    assert sorted(ids) == sorted(result.value.id for result in created if result.value)
    subjects = {change.remote.item.subject for page in pages for change in page.changes
                if change.remote}
    assert subjects == {f"Appointment {n}" for n in range(7)}


def test_incremental_reads_report_updates_and_deletes_once(
    anna: EwsMailbox, ews: RunningSandbox
) -> None:
    anna.create(_appointments(3))
    _, state = _read_all(anna, Kind.APPOINTMENT, None, page_size=10)
    assert anna.changes(Kind.APPOINTMENT, state).changes == ()

    outlook = ews.account(ANNA)
    moved = next(i for i in outlook.calendar.all() if i.subject == "Appointment 1")
    moved.location = "Room 2"
    moved.save(update_fields=["location"])
    gone = next(i for i in outlook.calendar.all() if i.subject == "Appointment 2")
    gone_id = gone.id
    gone.delete()

    page = anna.changes(Kind.APPOINTMENT, state)
    assert page.complete is None and not page.more
    by_id = {change.exchange_id: change for change in page.changes}
    assert set(by_id) == {moved.id, gone_id}
    updated = by_id[moved.id].remote
    assert updated is not None
    assert updated.item.location == "Room 2"
    assert updated.ref.version != ""
    assert by_id[gone_id].remote is None
    # Reported once: the next read from the new state is empty.
    assert anna.changes(Kind.APPOINTMENT, page.state).changes == ()


def test_tasks_are_read_from_the_tasks_folder_only(anna: EwsMailbox) -> None:
    anna.create([*_appointments(2), ExchangeItem(kind=Kind.TASK, subject="Call back", erp_id=99)])
    tasks = anna.changes(Kind.TASK, None)
    assert [c.remote.item.subject for c in tasks.changes if c.remote] == ["Call back"]


def test_an_invalid_sync_state_is_refused_as_such(anna: EwsMailbox) -> None:
    with pytest.raises(InvalidSyncState, match=ANNA):
        anna.changes(Kind.APPOINTMENT, "bm90IGEgc3luYyBzdGF0ZQ==")


def test_a_state_of_another_folder_is_refused(anna: EwsMailbox) -> None:
    tasks_state = anna.changes(Kind.TASK, None).state
    with pytest.raises(InvalidSyncState):
        anna.changes(Kind.APPOINTMENT, tasks_state)


def test_reading_n_changes_costs_one_sync_and_one_getitem_per_batch(
    anna: EwsMailbox,
) -> None:
    anna.create(_appointments(10))
    before = anna.requests.count
    page = anna.changes(Kind.APPOINTMENT, None)
    assert len(page.changes) == 10
    assert anna.requests.count - before == 1 + math.ceil(10 / 4)


def test_find_by_erp_id_finds_stamped_items_only(
    anna: EwsMailbox, ews: RunningSandbox
) -> None:
    anna.create(_appointments(3, first_erp_id=100))
    outlook = ews.account(ANNA)
    CalendarItem(
        account=outlook, folder=outlook.calendar, subject="Made in Outlook",
        start=EWSDateTime.from_datetime(START), end=EWSDateTime.from_datetime(START),
    ).save(send_meeting_invitations=SEND_TO_NONE)
    before = anna.requests.count
    found = anna.find_by_erp_id(Kind.APPOINTMENT, [101, 102, 555])
    assert sorted(found) == [101, 102]
    assert found[101].item.subject == "Appointment 1"
    assert found[101].item.erp_id == 101
    assert anna.requests.count - before == 2  # one FindItem, one GetItem
    assert anna.find_by_erp_id(Kind.TASK, [101]) == {}
    assert anna.find_by_erp_id(Kind.APPOINTMENT, []) == {}


def test_mailboxes_of_one_connection_see_only_their_own_items(
    connection: EwsConnection,
) -> None:
    anna, ben = connection.mailbox(ANNA), connection.mailbox(BEN)
    anna.create(_appointments(2))
    assert ben.changes(Kind.APPOINTMENT, None).changes == ()
    assert len(anna.changes(Kind.APPOINTMENT, None).changes) == 2


def test_a_pass_over_an_unchanged_folder_costs_one_request(
    anna: EwsMailbox, connection: EwsConnection
) -> None:
    ben = connection.mailbox(BEN)  # the connection is warm (auth type and version known)
    state = ben.changes(Kind.APPOINTMENT, None).state
    assert ben.requests.count == 1  # the folder is named, not looked up
    assert ben.changes(Kind.APPOINTMENT, state).changes == ()
    assert ben.requests.count == 2


def _created(mailbox: EwsMailbox, count: int) -> tuple[str, OwnWrites]:
    """A sync state, then ``count`` appointments created after it (what a pass wrote)."""
    state = mailbox.changes(Kind.APPOINTMENT, None).state
    refs = tuple(result.value for result in mailbox.create(_appointments(count)) if result.value)
    assert len(refs) == count
    return state, OwnWrites(created=refs)


def test_own_writes_are_recognised_by_id_and_change_key_without_reading_them(
    anna: EwsMailbox,
) -> None:
    state, writes = _created(anna, 10)
    before = Counter(anna.requests.by_operation)
    after = anna.state_after_writes(Kind.APPOINTMENT, state, writes)
    assert Counter(anna.requests.by_operation) - before == Counter({"SyncFolderItems": 1})
    assert after is not None
    assert anna.changes(Kind.APPOINTMENT, after).changes == ()


def test_an_outlook_edit_among_own_writes_keeps_the_whole_folder_for_the_next_read(
    anna: EwsMailbox, ews: RunningSandbox
) -> None:
    state, writes = _created(anna, 3)
    outlook = ews.account(ANNA)
    edited = outlook.calendar.get(id=writes.created[1].id)
    edited.subject = "Moved in Outlook"
    edited.save(update_fields=["subject"])
    assert anna.state_after_writes(Kind.APPOINTMENT, state, writes) is None
