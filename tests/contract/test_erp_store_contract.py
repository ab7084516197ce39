"""The ``ErpStore`` port's promises (``erp/port.py``), on every implementation.

Each case runs on the in-memory fake the engine's tests use and on the SQL store on
SQLite and PostgreSQL (``erp_side`` in conftest.py). Where the fake and the store
disagree, the fake is wrong.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from esexchange.domain.model import ErpActivity, Item, Kind
from esexchange.domain.state import Link, Parked
from esexchange.erp.port import Cursor, ErpStore
from tests.contract.conftest import ErpSide

START = datetime(2026, 12, 1, 9, 0)


def meeting(subject: str, *participants: int, location: str = "") -> ErpActivity:
    return ErpActivity(None, Kind.APPOINTMENT, subject, start_at=START,
                       end_at=START + timedelta(hours=1), location=location,
                       participant_ids=participants)


def changed(store: ErpStore, employee: int, kind: Kind, after: int
            ) -> tuple[dict[int, str | None], int]:
    """The changes after ``after`` as erp id -> subject (None: gone), and the newest seq."""
    changes, top = store.changes(employee, kind, after)
    assert len({c.erp_id for c in changes}) == len(changes), "one change per activity"
    return {c.erp_id: c.activity.subject if c.activity else None for c in changes}, top


def link(erp_id: int, exchange_id: str, version: str = "v1") -> Link:
    synced = Item(kind=Kind.APPOINTMENT, subject="Synced", start=date(2026, 12, 7),
                  end=date(2026, 12, 8))
    return Link(Kind.APPOINTMENT, erp_id, exchange_id, version, 3, "erp-hash", "ex-hash",
                synced)


def test_the_first_read_lists_every_current_activity_of_the_employee(erp_side: ErpSide) -> None:
    store, user = erp_side.store, erp_side.user
    anna, ben = user.employee("Anna Berger"), user.employee("Ben Kraus")
    mine = user.create(meeting("Planning", anna))
    shared = user.create(meeting("Review", anna, ben))
    user.create(meeting("Ben's", ben))
    task = user.create(ErpActivity(None, Kind.TASK, "Offer", participant_ids=(anna,)))
    user.delete(user.create(meeting("Deleted before the first pass", anna)))

    appointments, top = changed(store, anna, Kind.APPOINTMENT, 0)

    assert appointments == {mine: "Planning", shared: "Review"}
    assert changed(store, anna, Kind.TASK, 0)[0] == {task: "Offer"}
    assert top > 0
    assert changed(store, anna, Kind.APPOINTMENT, top) == ({}, top)
    [read] = store.changes(anna, Kind.APPOINTMENT, 0)[0][:1]
    assert read.activity is not None and read.activity.participant_ids == (anna,)
    assert read.modified_at is not None and read.modified_at.tzinfo is not None


def test_later_reads_report_edits_deletions_and_a_participant_leaving(
    erp_side: ErpSide,
) -> None:
    store, user = erp_side.store, erp_side.user
    anna, ben = user.employee("Anna Berger"), user.employee("Ben Kraus")
    kept, edited, deleted = (user.create(meeting(s, anna)) for s in ("Kept", "Old", "Gone"))
    shared = user.create(meeting("Shared", anna, ben))
    _, top = changed(store, anna, Kind.APPOINTMENT, 0)

    user.rename(edited, "New")
    user.delete(deleted)
    user.remove_participant(shared, anna)
    later, newest = changed(store, anna, Kind.APPOINTMENT, top)

    assert later == {edited: "New", deleted: None, shared: None}
    assert kept not in later and newest > top
    assert changed(store, ben, Kind.APPOINTMENT, top)[0] == {shared: "Shared"}
    assert store.activities([kept, deleted, shared]).keys() == {kept, shared}


def test_nothing_is_durable_before_commit(erp_side: ErpSide) -> None:
    store, user = erp_side.store, erp_side.user
    anna = user.employee("Anna Berger")
    scope = erp_side.scope(anna)
    with store.transaction() as tx:
        tx.create_activity(meeting("Never committed"), anna)
        tx.save_cursor(scope, Kind.APPOINTMENT, Cursor(4, "state"))
        tx.save_link(scope, link(1, "AAMk1"))
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.create_activity(meeting("Crashed"), anna)
        raise RuntimeError("the pass died")

    assert changed(store, anna, Kind.APPOINTMENT, 0)[0] == {}
    assert store.cursor(scope, Kind.APPOINTMENT) == Cursor()
    assert store.links(scope, Kind.APPOINTMENT) == []


def test_a_savepoint_that_fails_undoes_only_its_own_writes(erp_side: ErpSide) -> None:
    store, user = erp_side.store, erp_side.user
    anna = user.employee("Anna Berger")
    scope = erp_side.scope(anna)
    with store.transaction() as tx:
        with tx.savepoint():
            first = tx.create_activity(meeting("First pair"), anna)
            tx.save_link(scope, link(first, "AAMk1"))
        with pytest.raises(RuntimeError), tx.savepoint():
            refused = tx.create_activity(meeting("Refused pair"), anna)
            tx.save_link(scope, link(refused, "AAMk2"))
            raise RuntimeError("the pair's write failed")
        with tx.savepoint():
            third = tx.create_activity(meeting("Third pair"), anna)
            tx.save_link(scope, link(third, "AAMk3"))
        tx.commit()

    assert changed(store, anna, Kind.APPOINTMENT, 0)[0] == {
        first: "First pair", third: "Third pair"}
    assert [lk.exchange_id for lk in store.links(scope, Kind.APPOINTMENT)] == ["AAMk1", "AAMk3"]


def test_the_syncs_writes_keep_what_they_do_not_name_and_reach_the_journal(
    erp_side: ErpSide,
) -> None:
    store, user = erp_side.store, erp_side.user
    anna, ben = user.employee("Anna Berger"), user.employee("Ben Kraus")
    edited = user.create(meeting("Planning", anna, ben, location="Room 1"))
    _, top = changed(store, anna, Kind.APPOINTMENT, 0)

    with store.transaction() as tx:
        created = tx.create_activity(meeting("From Outlook", ben), anna)
        tx.update_activity(edited, meeting("Ignored", location="Room 2"),
                           frozenset({"location"}))
        tx.commit()

    later, top = changed(store, anna, Kind.APPOINTMENT, top)
    assert later == {created: "From Outlook", edited: "Planning"}
    rows = store.activities([created, edited])
    assert rows[created].participant_ids == (anna,)  # the owner only
    assert (rows[edited].location, rows[edited].participant_ids) == ("Room 2", (anna, ben))

    with store.transaction() as tx:
        tx.delete_activity(created, employee_id=anna)
        tx.commit()
    assert changed(store, anna, Kind.APPOINTMENT, top)[0] == {created: None}
    assert store.activities([created]) == {}


def test_links_cursors_and_parked_pairs_belong_to_their_scope(erp_side: ErpSide) -> None:
    store, user = erp_side.store, erp_side.user
    anna, ben = user.employee("Anna Berger"), user.employee("Ben Kraus")
    mine, theirs = erp_side.scope(anna), erp_side.scope(ben)
    due = datetime(2026, 12, 1, 10, tzinfo=UTC)
    parked = Parked(Kind.APPOINTMENT, 5, None, "appointment 'Visit' (ERP 5)", 1,
                    "ErrorInvalidPropertyValue: the start", due)
    with store.transaction() as tx:
        for scope in (mine, theirs):
            tx.save_link(scope, link(1, "AAMk1"))
            tx.save_link(scope, link(2, "AAMk2"))
            tx.save_cursor(scope, Kind.APPOINTMENT, Cursor(7, "state-7"))
            tx.save_cursor(scope, Kind.TASK, Cursor(8, None))
            tx.park(scope, parked)
        tx.commit()

    with store.transaction() as tx:
        tx.save_link(mine, link(1, "AAMk1", version="v2"))
        tx.drop_link(mine, Kind.APPOINTMENT, 2)
        tx.reset_cursors(mine)
        tx.park(mine, parked.failed_again("still refused", due))
        tx.unpark(theirs, Kind.APPOINTMENT, parked.key)
        tx.unpark(theirs, Kind.APPOINTMENT, "erp:404")  # nothing there: nothing happens
        tx.commit()

    assert store.links(mine, Kind.APPOINTMENT) == [link(1, "AAMk1", version="v2")]
    assert store.links(theirs, Kind.APPOINTMENT) == [link(1, "AAMk1"), link(2, "AAMk2")]
    assert store.links(mine, Kind.TASK) == []
    assert store.cursor(mine, Kind.APPOINTMENT) == store.cursor(mine, Kind.TASK) == Cursor()
    assert store.cursor(theirs, Kind.APPOINTMENT) == Cursor(7, "state-7")
    assert store.cursor(theirs, Kind.TASK) == Cursor(8, None)
    [again] = store.parked(mine, Kind.APPOINTMENT)
    assert (again.attempts, again.last_error) == (2, "still refused")
    assert again.next_try_at == due + timedelta(minutes=2)
    assert store.parked(theirs, Kind.APPOINTMENT) == [] == store.parked(mine, Kind.TASK)


def test_the_time_an_activity_last_changed_is_its_newest_changes_time(
    erp_side: ErpSide,
) -> None:
    store, user = erp_side.store, erp_side.user
    anna = user.employee("Anna Berger")
    edited, untouched = user.create(meeting("Old", anna)), user.create(meeting("Same", anna))
    _, top = changed(store, anna, Kind.APPOINTMENT, 0)
    user.rename(edited, "New")
    [change] = store.changes(anna, Kind.APPOINTMENT, top)[0]

    times = store.last_changed([edited, untouched, 999_999])

    assert times.keys() == {edited, untouched}
    assert times[edited] == change.modified_at and times[edited].tzinfo is not None
    assert times[untouched] <= times[edited]
