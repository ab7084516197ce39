"""The ``Mailbox`` port's promises (``exchange/port.py``), on every implementation.

Each case runs on the in-memory fake, on the EWS adapter against the EWS sandbox and on
the Graph adapter against the Graph sandbox (``side`` in conftest.py), with pages of three
changes so that every read pages. Where the fake and an adapter disagree, the fake is
wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from esexchange.domain.claims import MailboxClaim
from esexchange.domain.mapping import exchange_carriers
from esexchange.domain.model import (
    Category,
    ExchangeItem,
    Importance,
    Kind,
    RemoteItem,
    Sensitivity,
    TaskStatus,
)
from esexchange.domain.state import CompleteWindow, MailboxChange
from esexchange.exchange.errors import InvalidSyncState, ItemFailed
from esexchange.exchange.port import ExchangeUpdate, Mailbox, OwnWrites
from tests.contract.conftest import Side

SOON = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)


def appointment(subject: str, erp_id: int | None = None, *, days: int = 0,
                **values: object) -> ExchangeItem:
    start = SOON + timedelta(days=days)
    return ExchangeItem(Kind.APPOINTMENT, subject, start=start, end=start + timedelta(hours=1),
                        erp_id=erp_id, **values)  # type: ignore[arg-type]


@dataclass
class Read:
    """Every page of one read, to its end."""

    changes: list[MailboxChange]
    complete: CompleteWindow | None
    state: str

    def live(self) -> dict[str, RemoteItem]:
        return {c.exchange_id: c.remote for c in self.changes if c.remote is not None}

    def deleted(self) -> set[str]:
        return {c.exchange_id for c in self.changes if c.remote is None}


def read_all(mailbox: Mailbox, kind: Kind, state: str | None) -> Read:
    page = mailbox.changes(kind, state)
    read = Read(list(page.changes), page.complete, page.state)
    while page.more:
        page = mailbox.changes(kind, page.state)
        read.changes += page.changes
        read.state = page.state
    return read


def held(mailbox: Mailbox, item: ExchangeItem) -> ExchangeItem:
    """``item`` as the folder can hold it: what it has no place for reads as the default."""
    dropped = exchange_carriers(mailbox.capabilities(item.kind).cannot_hold)
    defaults = ExchangeItem(item.kind, "")
    return replace(item, **{name: getattr(defaults, name) for name in dropped})


def created(mailbox: Mailbox, *items: ExchangeItem) -> list[str]:
    results = mailbox.create(list(items))
    assert [r.error for r in results] == [None] * len(items)
    return [r.value.id for r in results if r.value is not None]


def test_a_read_from_no_state_lists_every_item_as_written(side: Side) -> None:
    mailbox = side.mailbox
    meeting = appointment(
        "Visit", 42, body="first line\nsecond line", location="Room 1",
        sensitivity=Sensitivity.PRIVATE, importance=Importance.HIGH,
        categories=("ES_3_Visit", "Mine"), reminder_minutes=30,
    )
    others = [appointment(f"Slot {n}", 50 + n, days=n) for n in range(4)]
    task = ExchangeItem(
        Kind.TASK, "Call back", body="about the offer", start=SOON.date(),
        due=SOON.date() + timedelta(days=1), status=TaskStatus.IN_PROGRESS,
        percent_complete=40, importance=Importance.LOW, sensitivity=Sensitivity.PRIVATE,
        categories=("ES_2_Call",), erp_id=7,
    )
    results = mailbox.create([meeting, *others, task])
    assert all(r.ok for r in results)
    versions = {r.value.id: r.value.version for r in results if r.value is not None}

    appointments = read_all(mailbox, Kind.APPOINTMENT, None)
    tasks = read_all(mailbox, Kind.TASK, None)

    listed = appointments.live() | tasks.live()
    assert {i: r.ref.version for i, r in listed.items()} == versions  # once each, as written
    assert sorted((r.item for r in listed.values()), key=lambda i: i.subject) == sorted(
        (held(mailbox, i) for i in (meeting, *others, task)), key=lambda i: i.subject)
    assert appointments.complete is not None and appointments.complete.contains(meeting)
    assert tasks.complete is not None and tasks.complete.contains(task)
    assert appointments.deleted() == set() and tasks.deleted() == set()


def test_a_read_from_a_state_reports_what_changed_after_it_once(side: Side) -> None:
    mailbox, user = side.mailbox, side.user
    kept, renamed, gone = created(mailbox, *(appointment(s) for s in ("Kept", "Old", "Gone")))
    state = read_all(mailbox, Kind.APPOINTMENT, None).state
    assert read_all(mailbox, Kind.APPOINTMENT, state).changes == []

    user.rename(Kind.APPOINTMENT, renamed, "New")
    user.delete(Kind.APPOINTMENT, gone)
    later = read_all(mailbox, Kind.APPOINTMENT, state)

    assert later.complete is None  # an incremental read proves nothing about the rest
    assert {i: r.item.subject for i, r in later.live().items()} == {renamed: "New"}
    assert later.deleted() == {gone}
    assert read_all(mailbox, Kind.APPOINTMENT, later.state).changes == []
    # A pass that crashed before storing ``later.state`` reads the same changes again.
    again = read_all(mailbox, Kind.APPOINTMENT, state)
    assert (again.live().keys(), again.deleted()) == (later.live().keys(), later.deleted())
    assert kept not in again.live()


def test_a_complete_read_lists_every_item_inside_its_window_and_only_those(
    side: Side,
) -> None:
    mailbox = side.mailbox
    near, far = appointment("Near"), appointment("In three years", days=3 * 365)
    ids = dict(zip(("Near", "In three years"), created(mailbox, near, far), strict=True))
    read = read_all(mailbox, Kind.APPOINTMENT, None)
    assert read.complete is not None
    assert ids["Near"] in read.live()
    for item_id, remote in read.live().items():
        assert read.complete.contains(remote.item), f"{side.name} listed {item_id} outside"
    assert (ids["In three years"] in read.live()) == read.complete.contains(far)


def test_every_write_gives_a_new_version_and_an_update_writes_only_its_fields(
    side: Side,
) -> None:
    mailbox = side.mailbox
    [item_id] = created(mailbox, appointment("Planning", location="Room 1"))
    [before] = mailbox.read(Kind.APPOINTMENT, [item_id]).values()

    [result] = mailbox.update([ExchangeUpdate(
        before.ref, appointment("Ignored", location="Room 2"), frozenset({"location"}))])

    assert result.value is not None and result.value.version != before.ref.version
    [after] = mailbox.read(Kind.APPOINTMENT, [item_id]).values()
    assert after.ref == result.value
    assert (after.item.subject, after.item.location) == ("Planning", "Room 2")
    assert after.modified_at >= before.modified_at


def test_an_update_on_a_stale_version_fails_only_that_item(side: Side) -> None:
    mailbox, user = side.mailbox, side.user
    ids = created(mailbox, appointment("Mine"), appointment("Theirs"))
    refs = mailbox.read(Kind.APPOINTMENT, ids)
    user.rename(Kind.APPOINTMENT, ids[1], "Changed in Outlook")

    results = mailbox.update([
        ExchangeUpdate(refs[i].ref, appointment("From the ERP"), frozenset({"subject"}))
        for i in ids
    ])

    assert results[0].ok and isinstance(results[1].error, ItemFailed)
    now = mailbox.read(Kind.APPOINTMENT, ids)
    assert [now[i].item.subject for i in ids] == ["From the ERP", "Changed in Outlook"]


def test_writing_categories_replaces_only_the_syncs_own(side: Side) -> None:
    mailbox = side.mailbox
    [item_id] = created(mailbox, appointment("Visit", categories=("ES_1_Visit", "Mine")))
    [remote] = mailbox.read(Kind.APPOINTMENT, [item_id]).values()

    [result] = mailbox.update([ExchangeUpdate(
        remote.ref, appointment("Visit", categories=("ES_2_Call",)), frozenset({"categories"}))])

    assert result.ok
    [after] = mailbox.read(Kind.APPOINTMENT, [item_id]).values()
    assert sorted(after.item.categories) == ["ES_2_Call", "Mine"]


def test_deleting_an_item_that_is_already_gone_counts_as_deleted(side: Side) -> None:
    mailbox, user = side.mailbox, side.user
    ids = created(mailbox, appointment("Gone already"), appointment("Still there"))
    refs = mailbox.read(Kind.APPOINTMENT, ids)
    user.delete(Kind.APPOINTMENT, ids[0])

    results = mailbox.delete([refs[i].ref for i in ids])

    assert [r.error for r in results] == [None, None]
    assert mailbox.read(Kind.APPOINTMENT, ids) == {}
    assert [r.error for r in mailbox.delete([refs[ids[1]].ref])] == [None]  # and again


def test_reading_by_id_leaves_out_the_items_that_are_gone(side: Side) -> None:
    mailbox, user = side.mailbox, side.user
    ids = created(mailbox, appointment("Here"), appointment("Deleted in Outlook"))
    user.delete(Kind.APPOINTMENT, ids[1])
    found = mailbox.read(Kind.APPOINTMENT, ids)
    assert list(found) == [ids[0]] and found[ids[0]].item.subject == "Here"
    assert mailbox.read(Kind.APPOINTMENT, []) == {}


def test_stamped_items_are_found_by_their_erp_id(side: Side) -> None:
    mailbox = side.mailbox
    created(mailbox, appointment("A", erp_id=1), appointment("B", erp_id=2), appointment("C"))
    task_id = created(mailbox, ExchangeItem(Kind.TASK, "T", erp_id=2))[0]

    found = mailbox.find_by_erp_id(Kind.APPOINTMENT, [2, 3])

    assert list(found) == [2] and found[2].item.subject == "B"
    assert [r.ref.id for r in mailbox.find_by_erp_id(Kind.TASK, [2]).values()] == [task_id]
    assert mailbox.find_by_erp_id(Kind.TASK, []) == {}


@pytest.mark.parametrize("kind", list(Kind))
def test_a_sync_state_the_backend_did_not_write_is_refused(side: Side, kind: Kind) -> None:
    with pytest.raises(InvalidSyncState):
        side.mailbox.changes(kind, "bm90IGEgc3luYyBzdGF0ZQ==")


def test_the_state_stored_after_the_passs_writes_hides_no_later_change(side: Side) -> None:
    """Whatever a backend's sync states do, a change someone makes after the pass (here:
    deleting the item the pass created, renaming one it did not touch) reaches the next
    read from the state ``state_after_writes`` answers."""
    mailbox, user = side.mailbox, side.user
    [old] = created(mailbox, appointment("Old"))
    state = read_all(mailbox, Kind.APPOINTMENT, None).state
    results = mailbox.create([appointment("Made by the pass", 9)])
    new = results[0].value
    assert new is not None
    after = mailbox.state_after_writes(Kind.APPOINTMENT, state, OwnWrites(created=(new,)))

    user.delete(Kind.APPOINTMENT, new.id)
    user.rename(Kind.APPOINTMENT, old, "Renamed")
    read = read_all(mailbox, Kind.APPOINTMENT, after)

    assert new.id not in read.live()
    assert new.id in read.deleted() or read.complete is not None
    assert read.live()[old].item.subject == "Renamed"


def test_master_categories_are_added_and_recoloured_never_removed(side: Side) -> None:
    mailbox = side.mailbox
    mailbox.ensure_categories([Category("Privat", 1), Category("ES_1_Besprechung", 3)])
    mailbox.ensure_categories([Category("ES_1_Besprechung", 5)])
    master = side.user.master_categories()
    assert (master["Privat"], master["ES_1_Besprechung"]) == (1, 5)


def test_a_claim_is_read_back_as_written_and_replaced_by_the_next(side: Side) -> None:
    mailbox = side.mailbox
    assert mailbox.read_claim() is None
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    first = MailboxClaim("inst-a", "db-host/erp", "host-a", at, at + timedelta(minutes=15))
    second = MailboxClaim("inst-b", "db-host/erp", "host-b", at, at + timedelta(minutes=30))
    mailbox.write_claim(first)
    assert mailbox.read_claim() == first
    mailbox.write_claim(second)
    assert mailbox.read_claim() == second
    assert read_all(mailbox, Kind.APPOINTMENT, None).changes == []  # no item for the user
