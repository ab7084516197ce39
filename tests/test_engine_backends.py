"""What differs between backends reaches the engine as data: a read complete only within
a time window (Graph's calendarView delta), and fields a backend cannot hold (To Do)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from esexchange.domain.model import ErpActivity, Kind, Side, TaskStatus
from esexchange.domain.state import CompleteWindow
from esexchange.engine import Outcome
from tests.fake_erp import FakeErp
from tests.memory_mailbox import MemoryMailbox
from tests.test_engine import ANNA, NOW, REFERENCE, SCOPE, meeting, sync

WINDOW = CompleteWindow(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC))


def fresh_erp() -> FakeErp:
    return FakeErp(REFERENCE, clock=lambda: NOW - timedelta(hours=1))


def test_a_windowed_read_that_does_not_list_a_linked_item_outside_its_window_deletes_nothing(
) -> None:
    erp = fresh_erp()
    mailbox = MemoryMailbox(ANNA.email, clock=lambda: NOW, seed=5, window=WINDOW)
    inside = erp.user_create(meeting(1, "Im Fenster"))  # 5 November
    outside = erp.user_create(meeting(20, "Danach"))  # 24 November
    assert sync(erp, mailbox).ok
    assert len(mailbox.items(Kind.APPOINTMENT)) == 2
    ids = {item.erp_id: item_id for item_id, item in mailbox.items(Kind.APPOINTMENT).items()}
    # The user deletes the item inside the window; the next read starts over (a refused
    # state) and lists only what lies inside the window.
    mailbox.user_delete(Kind.APPOINTMENT, ids[inside])
    mailbox.invalidate_sync_states()

    report = sync(erp, mailbox)

    assert report.ok
    assert set(erp.state.activities) == {outside}  # the deletion inside the window came
    assert report.count(Kind.APPOINTMENT, Side.ERP, Outcome.DELETED) == 1
    assert [i.subject for i in mailbox.items(Kind.APPOINTMENT).values()] == ["Danach"]
    assert [link.erp_id for link in erp.links(SCOPE, Kind.APPOINTMENT)] == [outside]


def test_fields_a_backend_cannot_hold_stay_as_the_erp_has_them() -> None:
    erp = fresh_erp()
    mailbox = MemoryMailbox(ANNA.email, clock=lambda: NOW, seed=6,
                            cannot_hold=frozenset({"percent_complete", "private"}))
    task = erp.user_create(ErpActivity(
        None, Kind.TASK, "Bericht", due_at=datetime(2026, 11, 20), participant_ids=(ANNA.id,),
        status=TaskStatus.IN_PROGRESS, percent_complete=50,
    ))
    assert sync(erp, mailbox).ok
    [(item_id, item)] = mailbox.items(Kind.TASK).items()
    assert item.percent_complete == 0  # the folder has no place for it

    # Edited in Exchange: the subject comes back, the missing percentage is no change.
    mailbox.user_update(Kind.TASK, item_id, subject="Bericht fertig")
    report = sync(erp, mailbox)
    assert report.ok and report.kinds[Kind.TASK].conflicts == []
    activity = erp.state.activities[task]
    assert (activity.subject, activity.percent_complete) == ("Bericht fertig", 50)

    # Changed in the ERP only there: nothing to write to the backend.
    writes = mailbox.writes
    erp.user_update(task, percent_complete=70)
    assert sync(erp, mailbox).ok
    assert mailbox.writes == writes
    assert erp.state.activities[task].percent_complete == 70



def test_an_outlook_edit_outside_a_windowed_read_beats_its_deletion_in_the_erp() -> None:
    # The read starts over and lists only its window, so it says nothing of an edit made
    # to an item after the window; deleted in the ERP meanwhile, the edited copy is read
    # by id before anything is deleted, and it comes back (an edit beats a delete).
    erp = fresh_erp()
    mailbox = MemoryMailbox(ANNA.email, clock=lambda: NOW, seed=5, window=WINDOW)
    outside = erp.user_create(meeting(20, "Danach"))  # 24 November
    assert sync(erp, mailbox).ok
    [item_id] = mailbox.items(Kind.APPOINTMENT)
    mailbox.user_update(Kind.APPOINTMENT, item_id, location="Raum 5")
    erp.user_delete(outside)
    mailbox.invalidate_sync_states()

    report = sync(erp, mailbox)

    assert report.ok, report.failures
    assert [i.location for i in mailbox.items(Kind.APPOINTMENT).values()] == ["Raum 5"]
    assert [a.location for a in erp.state.activities.values()] == ["Raum 5"]
