"""The mailbox model on its own, with an injected clock and id source."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from esexchange.sandbox.models import Backend, FieldChange, Mailbox, StoreError
from esexchange.sandbox.models.values import Body, ExtendedKey

ERP_ID = ExtendedKey("String", property_set="3f0f9d1a-4c0b-4f6e-9a55-2f7d2f1e6c01",
                     property_name="esExchange.ErpId")  # fmt: skip


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mailbox(clock: Clock) -> Mailbox:
    numbers: Iterator[int] = count()
    return Mailbox("anna@example.test", "Anna", clock=clock, ids=lambda: next(numbers).to_bytes(16))


def _appointment(mailbox: Mailbox, subject: str = "x") -> str:
    calendar = mailbox.folder(distinguished="calendar")
    fields = {
        "Subject": subject,
        "Start": datetime(2026, 12, 1, 8, tzinfo=UTC),
        "End": datetime(2026, 12, 1, 9, tzinfo=UTC),
    }
    return mailbox.create_item(calendar.id, "CalendarItem", fields, {ERP_ID: "A-1"}).id


def test_every_write_changes_the_change_key_and_last_modified_time(
    mailbox: Mailbox, clock: Clock
) -> None:
    """MS-OXWSCORE_R158 MS-OXWSCORE_R1340 MS-OXWSCORE_R90"""
    item_id = _appointment(mailbox)
    item = mailbox.item(item_id)
    seen = {item.change_key}
    assert item.fields["LastModifiedTime"] == item.fields["DateTimeCreated"] == clock.now
    for minutes, change in enumerate(
        [
            FieldChange("set", "Subject", "y"),
            FieldChange("set", "Body", Body("Text", "hello")),
            FieldChange("append", "Body", Body("Text", " world")),
            FieldChange("delete", ERP_ID),
        ],
        start=1,
    ):
        clock.now += timedelta(minutes=1)
        updated = mailbox.update_item(item_id, None, "AutoResolve", [change])
        assert updated.change_key not in seen
        seen.add(updated.change_key)
        assert updated.fields["LastModifiedTime"] == datetime(2026, 11, 28, 9, minutes, tzinfo=UTC)
    final = mailbox.item(item_id)
    assert final.fields["Body"] == Body("Text", "hello world") and final.extended == {}
    assert final.fields["DateTimeCreated"] == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_ids_come_from_the_injected_source_and_are_opaque_base64(clock: Clock) -> None:
    """Two mailboxes fed the same id source still give distinct item ids."""
    first = Mailbox("a@example.test", "A", clock=clock, ids=lambda: bytes(16))
    second = Mailbox("b@example.test", "B", clock=clock, ids=lambda: bytes(16))
    ids = {_appointment(first), _appointment(second)}
    assert len(ids) == 2
    assert all(len(i) % 4 == 0 and i.isascii() for i in ids)


def test_a_refused_update_leaves_the_item_untouched(mailbox: Mailbox) -> None:
    """An end before the start is refused; the earlier fields in the same change stay unapplied.

    MS-OXWSMTGS_R1204
    """
    item_id = _appointment(mailbox)
    before = mailbox.item(item_id)
    key, fields = before.change_key, dict(before.fields)
    with pytest.raises(StoreError) as raised:
        mailbox.update_item(
            item_id,
            None,
            "AutoResolve",
            [
                FieldChange("set", "Subject", "half done"),
                FieldChange("set", "End", datetime(2026, 12, 1, 7, tzinfo=UTC)),
            ],
        )
    assert raised.value.code == "ErrorCalendarEndDateIsEarlierThanStartDate"
    after = mailbox.item(item_id)
    assert (after.change_key, after.fields) == (key, fields)


def test_conflict_resolution_with_a_stale_change_key(mailbox: Mailbox) -> None:
    """Only NeverOverwrite refuses a stale key; a current key always passes."""
    item_id = _appointment(mailbox)
    stale = mailbox.item(item_id).change_key
    mailbox.update_item(item_id, stale, "NeverOverwrite", [FieldChange("set", "Subject", "1")])
    with pytest.raises(StoreError) as raised:
        mailbox.update_item(item_id, stale, "NeverOverwrite", [FieldChange("set", "Subject", "2")])
    assert raised.value.code == "ErrorIrresolvableConflict"
    mailbox.update_item(item_id, stale, "AlwaysOverwrite", [FieldChange("set", "Subject", "3")])
    assert mailbox.item(item_id).fields["Subject"] == "3"


def test_sync_states_belong_to_their_folder_and_are_never_ahead(mailbox: Mailbox) -> None:
    """MS-OXWSCDATA_R518"""
    calendar = mailbox.folder(distinguished="calendar")
    tasks = mailbox.folder(distinguished="tasks")
    page = mailbox.sync_items(calendar.id, None, 10)
    for folder_id, state in ((tasks.id, page.sync_state), (calendar.id, "e30=")):
        with pytest.raises(StoreError) as raised:
            mailbox.sync_items(folder_id, state, 10)
        assert raised.value.code == "ErrorInvalidSyncStateData"


def test_backend_knows_only_directory_mailboxes_and_resets() -> None:
    """Mailboxes are created on first use, case-insensitively, and forgotten by reset."""
    backend = Backend(
        lambda email: ("anna@example.test", "Anna") if "anna" in email.lower() else None
    )
    assert backend.mailbox("ANNA@example.test") is backend.mailbox("anna@example.test")
    with pytest.raises(StoreError) as raised:
        backend.mailbox("nobody@example.test")
    assert raised.value.code == "ErrorNonExistentMailbox"
    first = backend.mailbox("anna@example.test")
    backend.reset()
    assert backend.mailbox("anna@example.test") is not first


def test_the_emulator_imports_neither_the_client_it_serves_nor_the_product() -> None:
    """The sandbox is a product of its own (issue 7): loading the EWS emulator and its
    store loads no exchangelib and none of esExchange's sync code or errors."""
    probe = (
        "import sys, esexchange.sandbox.ews.app, esexchange.sandbox.models.persistence\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'exchangelib'"
        " or (m.startswith('esexchange.') and not m.startswith('esexchange.sandbox'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


def test_a_pull_subscription_lapses_when_not_polled_within_its_timeout(
    mailbox: Mailbox, clock: Clock
) -> None:
    """A pull subscription lives Timeout minutes after the last GetEvents, then it is
    ErrorExpiredSubscription ("Subscribe", PullSubscriptionRequest Timeout)."""
    calendar = mailbox.folder(distinguished="calendar").id
    subscription = mailbox.subscribe(
        frozenset({calendar}), frozenset({"CreatedEvent"}), streaming=False, timeout_minutes=5
    )
    clock.now += timedelta(minutes=4)
    assert mailbox.events(subscription.id, None, streaming=False).events == []
    clock.now += timedelta(minutes=6)
    with pytest.raises(StoreError) as raised:
        mailbox.events(subscription.id, None, streaming=False)
    assert raised.value.code == "ErrorExpiredSubscription"
    with pytest.raises(StoreError) as again:
        mailbox.unsubscribe(subscription.id)
    assert again.value.code == "ErrorSubscriptionNotFound"
