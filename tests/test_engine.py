"""A pass over one mailbox: fetch, plan, apply, cursors, failures and crash recovery."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from esexchange.domain.mapping import make_context
from esexchange.domain.model import (
    ActivityType,
    Employee,
    ErpActivity,
    ExchangeItem,
    Kind,
    Priority,
    Reference,
    RemoteItem,
    Sensitivity,
    Side,
)
from esexchange.domain.options import ConnectionOptions, EmployeeSettings
from esexchange.engine import Outcome, PassReport, run_pass
from esexchange.erp.port import Cursor, Scope
from esexchange.exchange.errors import AccessDenied, ItemFailed
from esexchange.exchange.port import BatchResult
from tests.fake_erp import FakeErp
from tests.memory_mailbox import MemoryMailbox

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ANNA = Employee(7, "1007", "Anna Berg", "anna.berg@example.com")
SCOPE = Scope(1, ANNA.id)
REFERENCE = Reference(
    activity_types=(ActivityType(1, "Besprechung", 3), ActivityType(2, "Anruf", 7)),
    priorities=(Priority(1, "Niedrig", 10), Priority(2, "Mittel", 20), Priority(3, "Hoch", 30)),
)
CTX = make_context(ConnectionOptions(erp_time_zone="Europe/Berlin"), REFERENCE, "UTC")


class Crash(BaseException):
    """The process dies."""


class CountingMailbox(MemoryMailbox):
    """The in-memory mailbox, counting the requests the engine makes."""

    def __init__(self) -> None:
        super().__init__(ANNA.email, clock=lambda: NOW, seed=3)
        self.find_calls: list[list[int]] = []
        self.create_calls = 0

    def find_by_erp_id(self, kind: Kind, erp_ids: Sequence[int]) -> dict[int, RemoteItem]:
        self.find_calls.append(list(erp_ids))
        return super().find_by_erp_id(kind, erp_ids)

    def create(self, items: Sequence[ExchangeItem]):  # type: ignore[no-untyped-def]
        self.create_calls += 1
        return super().create(items)


@pytest.fixture
def erp() -> FakeErp:
    return FakeErp(REFERENCE, clock=lambda: NOW - timedelta(hours=1))


@pytest.fixture
def mailbox() -> CountingMailbox:
    return CountingMailbox()


def meeting(day: int, subject: str = "Planung", **values: object) -> ErpActivity:
    start = datetime(2026, 11, 4, 10) + timedelta(days=day)
    return ErpActivity(
        None, Kind.APPOINTMENT, subject, start_at=start, end_at=start + timedelta(hours=1),
        participant_ids=(ANNA.id,), priority_id=2, activity_type_no=1,
        **values,  # type: ignore[arg-type]
    )


def outlook_item(subject: str = "Zahnarzt", day: int = 6) -> ExchangeItem:
    start = datetime(2026, 11, day, 8, 0, tzinfo=UTC)
    return ExchangeItem(Kind.APPOINTMENT, subject, start=start, end=start + timedelta(hours=1))


def sync(erp: FakeErp, mailbox: MemoryMailbox, employee: Employee = ANNA,
         settings: EmployeeSettings = EmployeeSettings(), now: datetime = NOW,  # noqa: B008
         **options: object) -> PassReport:
    return run_pass(erp, mailbox, SCOPE, employee, settings, CTX, now, **options)  # type: ignore[arg-type]


def subjects(mailbox: MemoryMailbox) -> list[str]:
    return sorted(i.subject for i in mailbox.items(Kind.APPOINTMENT).values())


def erp_subjects(erp: FakeErp) -> list[str]:
    return sorted(a.subject for a in erp.state.activities.values())


def test_a_first_pass_brings_both_sides_together_and_a_second_writes_nothing(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp.user_create(meeting(1))
    mailbox.user_create(outlook_item())
    report = sync(erp, mailbox)
    assert report.ok
    assert report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.CREATED) == 1
    assert report.count(Kind.APPOINTMENT, Side.ERP, Outcome.CREATED) == 1
    assert subjects(mailbox) == erp_subjects(erp) == ["Planung", "Zahnarzt"]
    created = [i for i in mailbox.items(Kind.APPOINTMENT).values() if i.subject == "Planung"]
    assert created[0].erp_id == 1  # the stamp
    assert "ES_1_Besprechung" in mailbox.categories  # master categories kept up to date

    writes = (mailbox.writes, erp.writes)
    assert sync(erp, mailbox).ok
    assert (mailbox.writes, erp.writes) == writes
    assert mailbox.invitations_sent == 0


def test_an_employee_who_left_is_reported_not_synced(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp.user_create(meeting(1))
    report = sync(erp, mailbox, employee=Employee(7, "1007", "Anna Berg", ANNA.email, "left"))
    assert report.not_syncable is not None and "1007" in report.not_syncable
    assert mailbox.items(Kind.APPOINTMENT) == {}


def test_the_mailbox_is_asked_for_stamped_copies_once_per_batch(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    assert sync(erp, mailbox).ok  # the first pass lists the whole folder
    for day in range(7):
        erp.user_create(meeting(day, f"Termin {day}"))
    sync(erp, mailbox, batch_size=3)
    appointment_calls = [c for c in mailbox.find_calls if c]
    assert [len(c) for c in appointment_calls] == [3, 3, 1]
    assert mailbox.create_calls == 3
    assert len(mailbox.items(Kind.APPOINTMENT)) == 7


def test_a_read_of_the_whole_folder_adopts_stamped_copies_from_the_listing_alone(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp_id = erp.user_create(meeting(1))
    # A crashed first pass created the copy (stamped) and committed nothing.
    [created] = mailbox.create([replace(outlook_item("Planung", day=5), erp_id=erp_id)])
    assert created.ok and created.value is not None
    report = sync(erp, mailbox)
    assert report.ok and mailbox.find_calls == []  # no look-up: the listing has the stamps
    assert list(mailbox.items(Kind.APPOINTMENT)) == [created.value.id]  # adopted, no twin
    assert erp.links(SCOPE, Kind.APPOINTMENT)[0].exchange_id == created.value.id


def test_a_refused_sync_state_reads_everything_again_without_duplicates(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp.user_create(meeting(1))
    mailbox.user_create(outlook_item())
    sync(erp, mailbox)
    mailbox.invalidate_sync_states()
    report = sync(erp, mailbox)
    assert report.ok
    assert subjects(mailbox) == erp_subjects(erp) == ["Planung", "Zahnarzt"]


def test_pages_are_read_to_the_end(erp: FakeErp, mailbox: CountingMailbox) -> None:
    for day in range(1, 6):
        mailbox.user_create(outlook_item(f"Termin {day}", day + 3))
    mailbox.page_size = 2
    assert sync(erp, mailbox).ok
    assert len(erp.state.activities) == 5


@pytest.mark.parametrize("error", [AccessDenied("impersonation not allowed"), None])
def test_an_unreadable_mailbox_ends_its_pass_with_a_report(
    erp: FakeErp, mailbox: CountingMailbox, error: AccessDenied | None
) -> None:
    erp.user_create(meeting(1))
    if error is None:
        mailbox.unreachable = True
    else:
        mailbox.fail_next_listing(error)
    report = sync(erp, mailbox)
    assert report.error is not None and ANNA.email in report.error
    assert erp.links(SCOPE, Kind.APPOINTMENT) == []
    assert erp.cursor(SCOPE, Kind.APPOINTMENT) == Cursor()


def test_one_failing_item_keeps_the_others_and_the_next_pass_finishes(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    for day in range(4):
        erp.user_create(meeting(day, f"Termin {day}"))
    mailbox.fail_on_write(2)
    report = sync(erp, mailbox)
    assert report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.CREATED) == 3
    [failure] = report.failures
    assert ANNA.email in failure and "ERP activity 2" in failure and "Termin 1" in failure
    assert len(erp.links(SCOPE, Kind.APPOINTMENT)) == 3
    # The cursor goes on; the failed pair is parked, to be retried by id.
    assert report.kinds[Kind.APPOINTMENT].cursor_advanced
    [parked] = report.parked
    assert (parked.erp_id, parked.attempts) == (2, 1) and "Termin 1" in parked.label

    # Not due yet: the next pass right away leaves it waiting and writes nothing.
    writes = mailbox.writes
    waiting = sync(erp, mailbox)
    assert not waiting.ok and waiting.failures == [] and len(waiting.parked) == 1
    assert mailbox.writes == writes

    report = sync(erp, mailbox, now=parked.next_try_at)
    assert report.ok and report.parked == []
    assert report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.CREATED) == 1
    assert subjects(mailbox) == ["Termin 0", "Termin 1", "Termin 2", "Termin 3"]
    assert erp.parked(SCOPE, Kind.APPOINTMENT) == []


@pytest.mark.parametrize("k", [0, 1, 2])
def test_a_crash_after_some_exchange_writes_is_recovered_without_duplicates(
    erp: FakeErp, mailbox: CountingMailbox, k: int
) -> None:
    for day in range(3):
        erp.user_create(meeting(day, f"Termin {day}"))
    mailbox.user_create(outlook_item())
    mailbox.crash_after_writes(k, Crash())
    with pytest.raises(Crash):
        sync(erp, mailbox)
    assert erp.links(SCOPE, Kind.APPOINTMENT) == []  # nothing was committed
    report = sync(erp, mailbox)
    assert report.ok
    assert subjects(mailbox) == ["Termin 0", "Termin 1", "Termin 2", "Zahnarzt"]
    assert erp_subjects(erp) == ["Termin 0", "Termin 1", "Termin 2", "Zahnarzt"]


def test_a_crash_at_the_commit_adopts_the_exchange_copies(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp.user_create(meeting(1))
    mailbox.user_create(outlook_item())
    erp.crash_on_commit = Crash()
    with pytest.raises(Crash):
        sync(erp, mailbox)
    assert erp_subjects(erp) == ["Planung"]  # the import was rolled back
    report = sync(erp, mailbox)
    assert report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.CREATED) == 0
    assert subjects(mailbox) == erp_subjects(erp) == ["Planung", "Zahnarzt"]


def test_before_writes_runs_once_before_the_first_write_and_never_on_an_idle_pass(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    seen: list[tuple[int, int]] = []

    def before_writes() -> None:  # what each side held when it ran
        seen.append((len(mailbox.items(Kind.APPOINTMENT)), len(mailbox.categories)))

    erp.user_create(meeting(1))
    erp.user_create(meeting(2, "Review"))
    assert sync(erp, mailbox, before_writes=before_writes).ok
    assert seen == [(0, 0)]  # once, before the creates and the master categories
    assert sync(erp, mailbox, before_writes=before_writes).ok
    assert seen == [(0, 0)]  # nothing to write: not called


def test_what_before_writes_raises_ends_the_pass_with_nothing_written(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    class Refused(Exception):
        pass

    def refuse() -> None:
        raise Refused

    erp.user_create(meeting(1))
    mailbox.user_create(outlook_item())
    with pytest.raises(Refused):
        sync(erp, mailbox, before_writes=refuse)
    assert subjects(mailbox) == ["Zahnarzt"] and erp_subjects(erp) == ["Planung"]
    assert mailbox.categories == {}
    assert erp.links(SCOPE, Kind.APPOINTMENT) == []


def test_a_dry_run_writes_nothing_and_says_what_would_move(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp.user_create(meeting(1))
    report = sync(erp, mailbox, dry_run=True)
    assert report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.CREATED) == 1
    assert mailbox.items(Kind.APPOINTMENT) == {} and mailbox.categories == {}
    assert erp.links(SCOPE, Kind.APPOINTMENT) == []


def test_a_dry_run_counts_the_conflicts_a_pass_would_record(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp_id = erp.user_create(meeting(1))
    sync(erp, mailbox)
    [item_id] = mailbox.items(Kind.APPOINTMENT)
    erp.user_update(erp_id, subject="Planung (ERP)")
    mailbox.user_update(Kind.APPOINTMENT, item_id, subject="Planung (Outlook)")
    dry = sync(erp, mailbox, dry_run=True)
    real = sync(erp, mailbox)
    planned = dry.kinds[Kind.APPOINTMENT].conflicts
    assert len(planned) == len(real.kinds[Kind.APPOINTMENT].conflicts) == 1
    for side in Side:
        assert dry.count(Kind.APPOINTMENT, side, Outcome.CONFLICTS) == real.count(
            Kind.APPOINTMENT, side, Outcome.CONFLICTS
        )
    assert sum(real.count(Kind.APPOINTMENT, side, Outcome.CONFLICTS) for side in Side) == 1


def test_a_dry_run_reports_the_plan_the_pass_then_applies(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp_id = erp.user_create(meeting(1))
    erp.user_create(meeting(2, "Neu"))
    sync(erp, mailbox)
    erp.user_update(erp_id, subject="Planung (verschoben)")
    mailbox.user_create(outlook_item())
    dry = sync(erp, mailbox, dry_run=True)
    real = sync(erp, mailbox)
    planned, applied = dry.kinds[Kind.APPOINTMENT].plan, real.kinds[Kind.APPOINTMENT].plan
    assert planned is not None and len(planned.steps) == 2
    assert planned == applied
    assert dry.kinds[Kind.APPOINTMENT].counts == real.kinds[Kind.APPOINTMENT].counts


def test_held_deletions_wait_for_approval(erp: FakeErp, mailbox: CountingMailbox) -> None:
    ids = [erp.user_create(meeting(day, f"Termin {day}")) for day in range(12)]
    sync(erp, mailbox)
    for erp_id in ids:
        erp.user_delete(erp_id)
    report = sync(erp, mailbox)
    assert report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.HELD) == 12
    assert len(mailbox.items(Kind.APPOINTMENT)) == 12
    assert any("circuit breaker" in f for f in report.failures)
    report = sync(erp, mailbox, approve_deletions=True)
    assert report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.DELETED) == 12
    assert mailbox.items(Kind.APPOINTMENT) == {}


def test_a_kind_switched_off_is_not_read_and_catches_up_when_switched_on(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    task = ErpActivity(None, Kind.TASK, "Bericht", due_at=datetime(2026, 11, 20),
                       participant_ids=(ANNA.id,), priority_id=2)
    erp.user_create(task)
    report = sync(erp, mailbox, settings=EmployeeSettings(tasks=False))
    assert not report.kinds[Kind.TASK].enabled and mailbox.items(Kind.TASK) == {}
    sync(erp, mailbox)
    [item] = mailbox.items(Kind.TASK).values()
    assert item.subject == "Bericht" and item.due == date(2026, 11, 20)


def test_an_edit_in_outlook_reaches_the_erp_field_by_field(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp_id = erp.user_create(meeting(1, location="Raum 1"))
    sync(erp, mailbox)
    [item_id] = mailbox.items(Kind.APPOINTMENT)
    mailbox.user_update(Kind.APPOINTMENT, item_id, location="Raum 7")
    report = sync(erp, mailbox)
    assert report.count(Kind.APPOINTMENT, Side.ERP, Outcome.UPDATED) == 1
    assert erp.state.activities[erp_id].location == "Raum 7"
    assert erp.state.activities[erp_id].subject == "Planung"


def test_deleting_an_item_right_after_the_sync_created_it_reaches_the_erp(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    # On EWS only the adapter's state_after_writes makes this work (tests/contract).
    erp_id = erp.user_create(meeting(1))
    sync(erp, mailbox)
    [item_id] = mailbox.items(Kind.APPOINTMENT)
    mailbox.user_delete(Kind.APPOINTMENT, item_id)
    report = sync(erp, mailbox)
    assert report.count(Kind.APPOINTMENT, Side.ERP, Outcome.DELETED) == 1
    assert erp_id not in erp.state.activities and erp_id in erp.state.archive


class BusyUser(CountingMailbox):
    """A user creates an item in Outlook while the sync is writing."""

    def create(self, items: Sequence[ExchangeItem]):  # type: ignore[no-untyped-def]
        results = super().create(items)
        self.user_create(outlook_item("Während des Laufs"))
        return results


def test_a_change_made_during_the_pass_is_not_skipped() -> None:
    erp, mailbox = FakeErp(REFERENCE, clock=lambda: NOW), BusyUser()
    erp.user_create(meeting(1))
    sync(erp, mailbox)
    sync(erp, mailbox)
    assert "Während des Laufs" in erp_subjects(erp)


def test_switching_no_private_off_and_restarting_the_cursors_brings_private_items(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp.user_create(meeting(1, "Arzt", private=True))
    sync(erp, mailbox)
    assert mailbox.items(Kind.APPOINTMENT) == {}
    with erp.transaction() as tx:
        tx.reset_cursors(SCOPE)
        tx.commit()
    report = sync(erp, mailbox, settings=EmployeeSettings(no_private_appointments=False))
    assert report.ok and subjects(mailbox) == ["Arzt"]


class RefusingMailbox(CountingMailbox):
    """Refuses every create of one subject (an Exchange refusal a retry will not fix) and
    counts every call of the port, by name (each is at least one request)."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused
        self.calls: Counter[str] = Counter()
        self.created_subjects: list[str] = []
        self.full_reads = 0

    def changes(self, kind: Kind, state: str | None):  # type: ignore[no-untyped-def]
        self.calls["changes"] += 1
        self.full_reads += state is None
        return super().changes(kind, state)

    def read(self, kind: Kind, ids: Sequence[str]):  # type: ignore[no-untyped-def]
        self.calls["read"] += 1
        return super().read(kind, ids)

    def find_by_erp_id(self, kind: Kind, erp_ids: Sequence[int]) -> dict[int, RemoteItem]:
        self.calls["find_by_erp_id"] += 1
        return super().find_by_erp_id(kind, erp_ids)

    def create(self, items: Sequence[ExchangeItem]):  # type: ignore[no-untyped-def]
        self.calls["create"] += 1
        self.created_subjects += [item.subject for item in items]
        results = super().create([i for i in items if i.subject != self.refused])
        answers = iter(results)
        return [
            BatchResult(error=ItemFailed(f"ErrorInvalidPropertyValue: {item.subject!r}"))
            if item.subject == self.refused else next(answers)
            for item in items
        ]


def test_one_refused_item_among_200_is_parked_and_retried_alone(erp: FakeErp) -> None:
    mailbox = RefusingMailbox("Termin 117")
    for n in range(200):
        erp.user_create(meeting(n % 20, f"Termin {n}"))
    first = sync(erp, mailbox)
    assert first.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.CREATED) == 199
    [failure] = first.failures
    assert "Termin 117" in failure and "ErrorInvalidPropertyValue" in failure
    assert first.kinds[Kind.APPOINTMENT].cursor_advanced  # the others are not read again
    [parked] = erp.parked(SCOPE, Kind.APPOINTMENT)
    assert "Termin 117" in parked.label and "ErrorInvalidPropertyValue" in parked.last_error

    # One new change on each side, then the next pass once the parked pair is due.
    erp.user_create(meeting(3, "Neu im ERP"))
    mailbox.user_create(outlook_item("Neu in Outlook"))
    mailbox.calls.clear()
    mailbox.created_subjects.clear()
    full_reads = mailbox.full_reads
    second = sync(erp, mailbox, now=parked.next_try_at)

    # It reads only what changed plus the parked pair: one listing per kind (no full
    # read), one stamp look-up for the two ERP ids that may be created, one create batch.
    assert mailbox.full_reads == full_reads
    assert mailbox.calls == Counter({"changes": 2, "find_by_erp_id": 1, "create": 1})
    assert sorted(mailbox.created_subjects) == ["Neu im ERP", "Termin 117"]
    assert second.count(Kind.APPOINTMENT, Side.ERP, Outcome.CREATED) == 1
    [again] = erp.parked(SCOPE, Kind.APPOINTMENT)
    assert again.attempts == 2 and again.next_try_at - parked.next_try_at == timedelta(minutes=2)
    assert len(erp.links(SCOPE, Kind.APPOINTMENT)) == 201


def _edited_in_outlook_while_private(erp: FakeErp, mailbox: CountingMailbox) -> tuple[int, str]:
    """A synchronized pair frozen by its ERP copy turning private, whose Exchange copy
    then gets a new location: (ERP id, Exchange id)."""
    erp_id = erp.user_create(meeting(1))
    assert sync(erp, mailbox).ok
    [item_id] = mailbox.items(Kind.APPOINTMENT)
    erp.user_update(erp_id, private=True)  # frozen: no private items with the setting on
    assert sync(erp, mailbox).ok
    mailbox.user_update(Kind.APPOINTMENT, item_id, location="Raum 3")
    assert sync(erp, mailbox).ok
    return erp_id, item_id


def test_an_exchange_edit_made_while_the_erp_copy_was_private_survives_the_thaw(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp_id, item_id = _edited_in_outlook_while_private(erp, mailbox)
    assert erp.state.activities[erp_id].location == ""  # still frozen
    erp.user_update(erp_id, private=False)
    assert sync(erp, mailbox).ok
    # The Exchange copy was fetched for the merge, so its edit was merged, not overwritten.
    assert erp.state.activities[erp_id].location == "Raum 3"
    assert mailbox.items(Kind.APPOINTMENT)[item_id].location == "Raum 3"
    assert not erp.state.activities[erp_id].private


def test_an_exchange_edit_made_while_the_erp_copy_was_private_survives_its_deletion(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp_id, _item_id = _edited_in_outlook_while_private(erp, mailbox)
    erp.user_delete(erp_id)
    assert sync(erp, mailbox).ok
    # An edit beats a delete: the copy edited while frozen is read, kept and imported.
    assert [i.location for i in mailbox.items(Kind.APPOINTMENT).values()] == ["Raum 3"]
    assert [a.location for a in erp.state.activities.values()] == ["Raum 3"]


def test_a_pair_whose_link_was_refused_with_two_copies_in_turn_keeps_the_later_copy(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp_id = erp.user_create(meeting(1, "Termin"))
    erp.failing_links = {erp_id}  # the database refuses the pair's link
    assert not sync(erp, mailbox).ok  # a copy is made; the pair is parked with it
    [first] = mailbox.items(Kind.APPOINTMENT)
    mailbox.user_delete(Kind.APPOINTMENT, first)
    assert not sync(erp, mailbox, now=NOW + timedelta(minutes=2)).ok  # a second copy
    [second] = mailbox.items(Kind.APPOINTMENT)
    erp.failing_links = set()
    # The pair is the activity with the second copy: nothing is deleted because the
    # first copy is gone, nothing imported twice.
    assert sync(erp, mailbox, now=NOW + timedelta(minutes=3)).ok
    report = sync(erp, mailbox, now=NOW + timedelta(hours=1))
    assert report.ok and report.parked == []
    assert list(erp.state.activities) == [erp_id]
    assert list(mailbox.items(Kind.APPOINTMENT)) == [second]
    [link] = erp.links(SCOPE, Kind.APPOINTMENT)
    assert (link.erp_id, link.exchange_id) == (erp_id, second)


def test_a_parked_pair_edited_in_the_erp_is_retried_at_once(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp_id = erp.user_create(meeting(1, "Termin"))
    mailbox.fail_on_write(1)
    [parked] = sync(erp, mailbox).parked
    assert parked.next_try_at > NOW
    # The user fixes the activity before the retry is due: the next pass retries it.
    erp.user_update(erp_id, subject="Termin (neu)")
    report = sync(erp, mailbox)
    assert report.ok and report.parked == []
    assert subjects(mailbox) == ["Termin (neu)"]
    assert erp.parked(SCOPE, Kind.APPOINTMENT) == []


def test_a_parked_pair_edited_in_outlook_is_retried_at_once(erp: FakeErp) -> None:
    erp_id = erp.user_create(meeting(1, "Termin"))
    erp.failing_links.add(erp_id)  # the ERP refuses the pair's link
    mailbox = CountingMailbox()
    first = sync(erp, mailbox)
    [parked] = first.parked
    [item_id] = mailbox.items(Kind.APPOINTMENT)  # the copy was made before the refusal
    assert (parked.erp_id, parked.exchange_id) == (erp_id, item_id)
    erp.failing_links.clear()
    # Changed in Outlook (saved again) before the retry is due: retried now.
    mailbox.user_touch(Kind.APPOINTMENT, item_id)
    report = sync(erp, mailbox)
    assert report.ok and report.parked == []
    assert [link.exchange_id for link in erp.links(SCOPE, Kind.APPOINTMENT)] == [item_id]
    assert subjects(mailbox) == ["Termin"]  # adopted by its stamp, not created twice


def test_a_pair_that_keeps_failing_waits_twice_as_long_each_time_up_to_six_hours(
    erp: FakeErp,
) -> None:
    erp.user_create(meeting(1, "Termin 117"))
    mailbox = RefusingMailbox("Termin 117")
    now, waits = NOW, []
    for attempt in range(1, 12):
        report = sync(erp, mailbox, now=now)
        [parked] = report.parked
        assert parked.attempts == attempt and "ErrorInvalidPropertyValue" in parked.last_error
        waits.append(parked.next_try_at - now)
        now = parked.next_try_at
    minutes = [int(w / timedelta(minutes=1)) for w in waits]
    assert minutes == [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360]
    # Between tries the pair is not written again.
    creates = mailbox.calls["create"]
    assert not sync(erp, mailbox, now=now - timedelta(seconds=1)).ok
    assert mailbox.calls["create"] == creates


def test_the_pass_after_a_successful_retry_writes_nothing(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    for day in range(3):
        erp.user_create(meeting(day, f"Termin {day}"))
    mailbox.fail_on_write(2)
    [parked] = sync(erp, mailbox).parked
    assert sync(erp, mailbox, now=parked.next_try_at).ok
    writes = (mailbox.writes, erp.writes)
    later = parked.next_try_at + timedelta(hours=7)
    report = sync(erp, mailbox, now=later)
    assert report.ok and report.parked == []
    assert (mailbox.writes, erp.writes) == writes


def test_an_erp_deletion_made_before_a_re_read_from_no_cursor_reaches_exchange(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    # A read from no cursor lists only what exists: a linked activity it leaves out is
    # gone (here deleted between an option change that restarts the cursors and the pass).
    erp_id = erp.user_create(meeting(1))
    sync(erp, mailbox)
    assert subjects(mailbox) == ["Planung"]
    with erp.transaction() as tx:
        tx.reset_cursors(SCOPE)
        tx.commit()
    erp.user_delete(erp_id)

    report = sync(erp, mailbox)

    assert report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.DELETED) == 1
    assert subjects(mailbox) == [] and erp.links(SCOPE, Kind.APPOINTMENT) == []


def test_the_newer_outlook_edit_wins_when_its_pair_is_retried_after_a_refused_link(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    # The retry reads the ERP row by id; it must keep the row's time, or newer_wins would
    # give the conflict to the ERP and overwrite the newer edit made in Outlook.
    erp_id = erp.user_create(meeting(1))
    sync(erp, mailbox)
    [item_id] = mailbox.items(Kind.APPOINTMENT)
    erp.user_update(erp_id, subject="ERP says")  # an hour before the Outlook edit
    mailbox.user_update(Kind.APPOINTMENT, item_id, subject="Outlook says")
    erp.failing_links = {erp_id}
    assert sync(erp, mailbox).failures
    erp.failing_links = set()
    [parked] = erp.parked(SCOPE, Kind.APPOINTMENT)

    sync(erp, mailbox, now=parked.next_try_at)

    assert erp.state.activities[erp_id].subject == "Outlook says"
    assert subjects(mailbox) == ["Outlook says"]
    assert {c.winner for c in erp.state.conflicts} == {Side.EXCHANGE}
    assert erp.parked(SCOPE, Kind.APPOINTMENT) == []


def test_an_outlook_edit_newer_than_an_erp_edit_passed_while_frozen_wins_at_the_thaw(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    # The ERP edit is passed by the cursor while the pair is frozen (private in Outlook);
    # at the thaw its row is read as it is now, and must keep its time for newer_wins.
    erp_id = erp.user_create(meeting(1))
    sync(erp, mailbox)
    [item_id] = mailbox.items(Kind.APPOINTMENT)
    erp.user_update(erp_id, location="Raum 7")  # an hour before the Outlook edits
    mailbox.user_update(Kind.APPOINTMENT, item_id, sensitivity=Sensitivity.PRIVATE)
    sync(erp, mailbox)
    mailbox.user_update(Kind.APPOINTMENT, item_id, location="Room 9")
    mailbox.user_update(Kind.APPOINTMENT, item_id, sensitivity=Sensitivity.NORMAL)

    sync(erp, mailbox)

    assert erp.state.activities[erp_id].location == "Room 9"
    assert mailbox.items(Kind.APPOINTMENT)[item_id].location == "Room 9"


def test_a_copy_made_by_a_step_whose_link_was_refused_is_the_pairs_not_a_new_item(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    # Deleted in Outlook, edited in the ERP: the edit makes a new Exchange copy, whose
    # link the database refuses. Read back next time, that copy is the pair's Exchange
    # side: neither imported as a new activity nor made a third time.
    mailbox.user_create(outlook_item("Aus Outlook"))
    sync(erp, mailbox)
    [link] = erp.links(SCOPE, Kind.APPOINTMENT)
    mailbox.user_delete(Kind.APPOINTMENT, link.exchange_id)
    erp.user_update(link.erp_id, location="Raum 7")
    erp.failing_links = {link.erp_id}
    assert sync(erp, mailbox).failures
    erp.failing_links = set()

    sync(erp, mailbox)
    mailbox.invalidate_sync_states()
    sync(erp, mailbox)

    assert erp_subjects(erp) == ["Aus Outlook"]
    [copy] = mailbox.items(Kind.APPOINTMENT).values()
    assert (copy.erp_id, copy.location) == (link.erp_id, "Raum 7")
    [relinked] = erp.links(SCOPE, Kind.APPOINTMENT)
    assert relinked.exchange_id != link.exchange_id and erp.parked(SCOPE, Kind.APPOINTMENT) == []
