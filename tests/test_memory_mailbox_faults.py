"""The in-memory mailbox's fault injection, which the engine's tests rely on (what it
promises as a ``Mailbox`` is checked with the adapters in tests/contract)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.model import ExchangeItem, Kind
from esexchange.domain.state import WHOLE_FOLDER
from esexchange.exchange.errors import InvalidSyncState, MailboxUnreachable
from tests.memory_mailbox import MemoryMailbox

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


def test_a_failing_element_does_not_stop_the_batch(mailbox: MemoryMailbox) -> None:
    mailbox.fail_on_write(2)
    results = mailbox.create([item("A"), item("B"), item("C")])
    assert [r.ok for r in results] == [True, False, True]
    assert sorted(i.subject for i in mailbox.items(Kind.APPOINTMENT).values()) == ["A", "C"]


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
