"""The in-memory mailbox keeps Exchange's semantics, which the engine's tests rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.model import Category, ExchangeItem, ItemRef, Kind
from esexchange.domain.state import WHOLE_FOLDER
from esexchange.exchange.errors import InvalidSyncState, ItemFailed, MailboxUnreachable
from esexchange.exchange.memory import MemoryMailbox
from esexchange.exchange.port import ExchangeUpdate

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def item(subject: str = "Planung", erp_id: int | None = None) -> ExchangeItem:
    return ExchangeItem(Kind.APPOINTMENT, subject, start=T0, end=T0 + timedelta(hours=1),
                        erp_id=erp_id)


@pytest.fixture
def mailbox() -> MemoryMailbox:
    return MemoryMailbox("anna.berg@example.com", clock=Clock())


def test_reading_without_state_lists_everything_and_then_only_what_changed(
    mailbox: MemoryMailbox,
) -> None:
    first = mailbox.user_create(item("A"))
    mailbox.user_create(item("B"))
    full = mailbox.changes(Kind.APPOINTMENT, None)
    assert full.complete == WHOLE_FOLDER and not full.more and len(full.changes) == 2
    mailbox.user_update(Kind.APPOINTMENT, first, subject="A2")
    later = mailbox.changes(Kind.APPOINTMENT, full.state)
    assert later.complete is None
    [change] = later.changes
    assert change.remote is not None and change.remote.item.subject == "A2"
    assert mailbox.changes(Kind.APPOINTMENT, later.state).changes == ()


def test_a_deletion_is_reported_once_and_only_for_items_known_at_the_state(
    mailbox: MemoryMailbox,
) -> None:
    known = mailbox.user_create(item("A"))
    state = mailbox.changes(Kind.APPOINTMENT, None).state
    fleeting = mailbox.user_create(item("B"))
    mailbox.user_delete(Kind.APPOINTMENT, known)
    mailbox.user_delete(Kind.APPOINTMENT, fleeting)
    page = mailbox.changes(Kind.APPOINTMENT, state)
    assert [(c.exchange_id, c.remote) for c in page.changes] == [(known, None)]
    assert mailbox.changes(Kind.APPOINTMENT, page.state).changes == ()


def test_pages_continue_from_their_state(mailbox: MemoryMailbox) -> None:
    for n in range(5):
        mailbox.user_create(item(f"T{n}"))
    seen, state, more = [], None, True
    mailbox.page_size = 2
    while more:
        page = mailbox.changes(Kind.APPOINTMENT, state)
        seen += [c.remote.item.subject for c in page.changes if c.remote]
        state, more = page.state, page.more
    assert seen == ["T0", "T1", "T2", "T3", "T4"]


def test_every_write_gives_a_new_change_key_and_modified_time(mailbox: MemoryMailbox) -> None:
    item_id = mailbox.user_create(item())
    before = mailbox.ref(Kind.APPOINTMENT, item_id)
    modified = mailbox.changes(Kind.APPOINTMENT, None).changes[0].remote
    mailbox.user_touch(Kind.APPOINTMENT, item_id)
    after = mailbox.changes(Kind.APPOINTMENT, None).changes[0].remote
    assert after is not None and modified is not None
    assert after.ref.version != before.version
    assert after.modified_at > modified.modified_at
    assert after.item == modified.item


def test_updates_write_only_their_fields_and_check_the_change_key(
    mailbox: MemoryMailbox,
) -> None:
    item_id = mailbox.user_create(item("Planung"))
    ref = mailbox.ref(Kind.APPOINTMENT, item_id)
    [ok] = mailbox.update([ExchangeUpdate(ref, item("Ignored", erp_id=4), frozenset({"erp_id"}))])
    assert ok.ok and ok.value is not None
    assert mailbox.items(Kind.APPOINTMENT)[item_id].subject == "Planung"
    assert mailbox.items(Kind.APPOINTMENT)[item_id].erp_id == 4
    [stale] = mailbox.update([ExchangeUpdate(ref, item("X"), frozenset({"subject"}))])
    assert isinstance(stale.error, ItemFailed)


def test_a_failing_element_does_not_stop_the_batch(mailbox: MemoryMailbox) -> None:
    mailbox.fail_on_write(2)
    results = mailbox.create([item("A"), item("B"), item("C")])
    assert [r.ok for r in results] == [True, False, True]
    assert sorted(i.subject for i in mailbox.items(Kind.APPOINTMENT).values()) == ["A", "C"]


def test_deleting_an_item_that_is_already_gone_counts_as_deleted(mailbox: MemoryMailbox) -> None:
    """As the EWS adapter does (ErrorItemNotFound on DeleteItem): the port's contract."""
    [missing] = mailbox.delete([ItemRef("nope", "x")])
    assert missing.ok


def test_stamped_items_are_found_by_erp_id(mailbox: MemoryMailbox) -> None:
    mailbox.create([item("A", erp_id=1), item("B", erp_id=2), item("C")])
    found = mailbox.find_by_erp_id(Kind.APPOINTMENT, [2, 3])
    assert list(found) == [2] and found[2].item.subject == "B"


def test_refused_states_failures_and_unreachability(mailbox: MemoryMailbox) -> None:
    state = mailbox.changes(Kind.APPOINTMENT, None).state
    with pytest.raises(InvalidSyncState):
        mailbox.changes(Kind.TASK, state)  # a state belongs to its folder
    mailbox.invalidate_sync_states()
    with pytest.raises(InvalidSyncState):
        mailbox.changes(Kind.APPOINTMENT, state)
    mailbox.fail_next_listing()
    with pytest.raises(MailboxUnreachable):
        mailbox.changes(Kind.APPOINTMENT, None)
    assert mailbox.changes(Kind.APPOINTMENT, None).complete == WHOLE_FOLDER
    mailbox.unreachable = True
    with pytest.raises(MailboxUnreachable):
        mailbox.check()


def test_master_categories_are_added_and_recoloured_never_removed(
    mailbox: MemoryMailbox,
) -> None:
    mailbox.ensure_categories([Category("Privat", 1), Category("ES_1_Besprechung", 3)])
    mailbox.ensure_categories([Category("ES_1_Besprechung", 5)])
    assert mailbox.categories == {
        "Privat": Category("Privat", 1), "ES_1_Besprechung": Category("ES_1_Besprechung", 5)
    }
