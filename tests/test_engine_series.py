"""Series through whole passes (fetch, plan, apply) between the fake ERP and the
in-memory mailbox: a series is one pair, its modified occurrences pairs of their own
keyed by (series, original start), its deleted occurrences a field of the series."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from esexchange.domain.mapping.times import erp_to_utc
from esexchange.domain.model import ErpActivity, ExchangeItem, Kind, OccurrenceKey, Side
from esexchange.domain.options import EmployeeSettings
from esexchange.domain.recurrence import occurrences, parse_rrule
from esexchange.engine import Outcome
from tests.fake_erp import FakeErp
from tests.test_engine import ANNA, CTX, NOW, REFERENCE, SCOPE, CountingMailbox, Crash, sync

BERLIN = CTX.erp_zone
RULE = "FREQ=WEEKLY;BYDAY=WE;COUNT=12"
FIRST = datetime(2026, 11, 4, 10)  # a Wednesday, in the ERP's (Berlin) wall time
MOVED = datetime(2026, 11, 11, 10)  # the second occurrence
DELETED = datetime(2026, 11, 18, 10)  # the third


def master(rule: str = RULE, **values: object) -> ErpActivity:
    fields: dict[str, object] = {
        "start_at": FIRST, "end_at": FIRST + timedelta(hours=1),
        "participant_ids": (ANNA.id,), "priority_id": 2, "activity_type_no": 1,
        "recurrence": rule, "recurring": True, **values}
    return ErpActivity(None, Kind.APPOINTMENT, "Jour fixe", **fields)  # type: ignore[arg-type]


def exception(series_id: int, original: datetime, **values: object) -> ErpActivity:
    start = values.pop("start_at", original + timedelta(hours=4))
    fields: dict[str, object] = {"start_at": start, "end_at": start + timedelta(hours=1),  # type: ignore[operator]
                                 "priority_id": 2, "activity_type_no": 1, **values}
    return ErpActivity(None, Kind.APPOINTMENT, "Jour fixe (verlegt)", series_id=series_id,
                       original_start=original, recurring=True, **fields)  # type: ignore[arg-type]


@pytest.fixture
def erp() -> FakeErp:
    return FakeErp(REFERENCE, clock=lambda: NOW - timedelta(hours=1))


@pytest.fixture
def mailbox() -> CountingMailbox:
    return CountingMailbox()


def a_second_pass_writes_nothing(erp: FakeErp, mailbox: CountingMailbox) -> None:
    writes = (mailbox.writes, erp.writes)
    assert sync(erp, mailbox).ok
    assert (mailbox.writes, erp.writes) == writes


def a_synced_series_with_a_moved_occurrence(
    erp: FakeErp, mailbox: CountingMailbox
) -> tuple[int, int, str]:
    """The ERP master, its exception row (at ``MOVED``) and the Exchange series' id."""
    series_id = erp.user_create(master())
    row_id = erp.user_create(exception(series_id, MOVED))
    assert sync(erp, mailbox).ok
    exchange_id, _ = the_series(mailbox)
    return series_id, row_id, exchange_id


def the_series(mailbox: CountingMailbox) -> tuple[str, ExchangeItem]:
    [(series_id, item)] = [(i, it) for i, it in mailbox.items(Kind.APPOINTMENT).items()
                           if it.recurrence is not None]
    return series_id, item


def test_an_erp_series_with_a_moved_and_a_deleted_occurrence_reaches_exchange_in_one_pass(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    series_id = erp.user_create(master(exdates=(DELETED,)))
    row_id = erp.user_create(exception(series_id, MOVED))

    report = sync(erp, mailbox)
    assert report.ok, report
    # Two ERP rows got their Exchange counterparts: both count as created, as the two
    # rows an Outlook series with a moved occurrence becomes do (below).
    assert report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.CREATED) == 2
    assert report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.UPDATED) == 0

    exchange_id, item = the_series(mailbox)
    assert item.recurrence is not None
    assert item.recurrence == replace(parse_rrule(RULE, start=FIRST, time_zone=BERLIN.key),
                                      deleted=frozenset({DELETED}),
                                      modified=frozenset({MOVED}))
    [moved] = mailbox.exceptions(Kind.APPOINTMENT, exchange_id).values()
    assert moved.subject == "Jour fixe (verlegt)"
    assert moved.start == erp_to_utc(MOVED + timedelta(hours=4), BERLIN)
    # The occurrences Outlook shows are the rule's, in Berlin wall time across the DST
    # switch of March 2027, without the deleted one.
    starts = occurrences(item.recurrence, before=datetime(2027, 6, 1))
    assert len(starts) == 11 and DELETED not in starts
    assert {s.hour for s in starts} == {10}

    a_second_pass_writes_nothing(erp, mailbox)

    erp.user_update(row_id, location="Raum 2")
    edited = sync(erp, mailbox)
    assert edited.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.UPDATED) == 1
    assert edited.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.CREATED) == 0


def test_outlook_moves_and_deletes_occurrences_and_the_erp_gets_a_row_and_an_exdate(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    series_id = erp.user_create(master())
    assert sync(erp, mailbox).ok
    exchange_id, _ = the_series(mailbox)
    moved_start = erp_to_utc(MOVED + timedelta(days=1), BERLIN)
    mailbox.user_update_occurrence(OccurrenceKey(exchange_id, MOVED), subject="Verschoben",
                                   start=moved_start, end=moved_start + timedelta(hours=1))
    mailbox.user_delete_occurrence(OccurrenceKey(exchange_id, DELETED))

    assert sync(erp, mailbox).ok
    assert erp.state.activities[series_id].exdates == (DELETED,)
    [row] = [a for a in erp.state.activities.values() if a.series_id == series_id]
    assert (row.subject, row.original_start) == ("Verschoben", MOVED)
    assert row.start_at == MOVED + timedelta(days=1)
    assert row.participant_ids == ()  # the series' participants are the master's

    a_second_pass_writes_nothing(erp, mailbox)


def _outlook_series_with_a_renamed_occurrence(mailbox: CountingMailbox) -> str:
    """A weekly series made in Outlook whose MOVED occurrence got another subject."""
    recurrence = parse_rrule(RULE, start=FIRST, time_zone=BERLIN.key)
    first = erp_to_utc(FIRST, BERLIN)
    series_id = mailbox.user_create(ExchangeItem(
        Kind.APPOINTMENT, "Teamrunde", start=first, end=first + timedelta(hours=1),
        recurring=True, recurrence=recurrence))
    mailbox.user_update_occurrence(OccurrenceKey(series_id, MOVED), subject="Teamrunde (Raum 3)")
    return series_id


def test_an_outlook_series_is_imported_with_its_exception_in_one_pass(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    series_id = _outlook_series_with_a_renamed_occurrence(mailbox)
    mailbox.user_delete_occurrence(OccurrenceKey(series_id, DELETED))

    report = sync(erp, mailbox)
    assert report.ok
    assert report.count(Kind.APPOINTMENT, Side.ERP, Outcome.CREATED) == 2
    [imported] = [a for a in erp.state.activities.values() if a.recurrence is not None]
    assert imported.recurrence == RULE and imported.exdates == (DELETED,)
    assert imported.start_at == FIRST
    [row] = [a for a in erp.state.activities.values() if a.series_id == imported.id]
    assert (row.subject, row.original_start, row.start_at) == (
        "Teamrunde (Raum 3)", MOVED, MOVED)

    a_second_pass_writes_nothing(erp, mailbox)


def test_an_outlook_exception_whose_series_failed_to_import_waits_with_its_series(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    series_id = _outlook_series_with_a_renamed_occurrence(mailbox)
    erp.failing_links = {1}  # the id the imported series gets: its link is refused

    report = sync(erp, mailbox)
    assert not report.ok and len(report.failures) == 2
    # Both wait as one pair, the series' (retried by its Exchange id), none by an ERP id.
    [parked] = erp.parked(SCOPE, Kind.APPOINTMENT)
    assert (parked.erp_id, parked.exchange_id) == (None, series_id)
    assert erp.state.activities == {}

    erp.failing_links = set()
    assert sync(erp, mailbox, now=parked.next_try_at).ok
    [imported] = [a for a in erp.state.activities.values() if a.recurrence is not None]
    [row] = [a for a in erp.state.activities.values() if a.series_id == imported.id]
    assert (row.subject, row.original_start) == ("Teamrunde (Raum 3)", MOVED)
    assert erp.parked(SCOPE, Kind.APPOINTMENT) == []


def test_an_exception_edited_on_both_sides_is_a_conflict_of_that_occurrence(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    _, row_id, exchange_id = a_synced_series_with_a_moved_occurrence(erp, mailbox)
    erp.user_update(row_id, location="Raum ERP")
    mailbox.user_update_occurrence(OccurrenceKey(exchange_id, MOVED), location="Raum Outlook")

    assert sync(erp, mailbox).ok
    [conflict] = erp.state.conflicts
    assert (conflict.erp_id, conflict.field) == (row_id, "location")
    assert conflict.winner is Side.EXCHANGE  # newer wins: Outlook's edit came later
    [moved] = mailbox.exceptions(Kind.APPOINTMENT, exchange_id).values()
    assert moved.location == erp.state.activities[row_id].location == "Raum Outlook"


def test_an_occurrence_given_back_follows_an_edit_of_the_series(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    series_id, row_id, exchange_id = a_synced_series_with_a_moved_occurrence(erp, mailbox)
    erp.user_delete(row_id)
    assert sync(erp, mailbox).ok  # the occurrence gets the series' content back

    erp.user_update(series_id, location="Raum 9")
    assert sync(erp, mailbox, now=NOW + timedelta(hours=1)).ok
    [given_back] = mailbox.exceptions(Kind.APPOINTMENT, exchange_id).values()
    assert (given_back.subject, given_back.location) == ("Jour fixe", "Raum 9")
    assert not any(a.series_id == series_id for a in erp.state.activities.values())
    a_second_pass_writes_nothing(erp, mailbox)


def test_a_shortened_series_deletes_the_later_occurrences_and_their_rows_where_allowed(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    series_id = erp.user_create(master())
    erp.user_create(exception(series_id, datetime(2027, 1, 13, 10)))
    assert sync(erp, mailbox).ok
    exchange_id, item = the_series(mailbox)
    assert item.recurrence is not None
    shorter = parse_rrule("FREQ=WEEKLY;BYDAY=WE;COUNT=4", start=FIRST, time_zone=BERLIN.key)
    mailbox.user_update(Kind.APPOINTMENT, exchange_id, recurrence=shorter)  # in Outlook

    off = EmployeeSettings(delete_appointments_in_erp=False)
    refused = sync(erp, mailbox, settings=off)
    [failure] = refused.failures
    assert "would be deleted in the ERP" in failure and "is off" in failure
    assert erp.state.activities[series_id].recurrence == RULE  # nothing of it written
    assert any(a.series_id == series_id for a in erp.state.activities.values())

    # Deleting in the ERP allowed (the default); the parked series is retried.
    allowed = sync(erp, mailbox, now=NOW + timedelta(hours=7))
    assert allowed.ok, allowed.failures
    assert erp.state.activities[series_id].recurrence == "FREQ=WEEKLY;BYDAY=WE;COUNT=4"
    assert not any(a.series_id == series_id for a in erp.state.activities.values())


def test_a_series_starting_before_the_window_is_followed_while_it_has_occurrences_in_it(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    long_ago = datetime(2025, 1, 8, 10)
    erp.user_create(master("FREQ=WEEKLY;BYDAY=WE", start_at=long_ago,
                           end_at=long_ago + timedelta(hours=1)))
    ended = datetime(2025, 2, 5, 10)
    erp.user_create(master("FREQ=WEEKLY;BYDAY=WE;COUNT=3", start_at=ended,
                           end_at=ended + timedelta(hours=1)))
    report = sync(erp, mailbox)
    assert report.ok
    assert report.count(Kind.APPOINTMENT, Side.EXCHANGE, Outcome.CREATED) == 1
    _, item = the_series(mailbox)
    assert item.start == erp_to_utc(long_ago, BERLIN)


def test_a_rule_outlook_cannot_show_is_reported_in_words_and_not_synced(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp.user_create(master("FREQ=HOURLY;COUNT=3"))
    report = sync(erp, mailbox)
    assert mailbox.items(Kind.APPOINTMENT) == {}
    [failure] = report.failures
    assert "this series repeats in a way Outlook cannot show: " in failure
    assert "FREQ" in failure


def test_series_stay_skipped_on_a_backend_that_cannot_write_them(erp: FakeErp) -> None:
    mailbox = CountingMailbox()
    mailbox._capabilities = replace(mailbox._capabilities, series=False)
    erp.user_create(master())
    report = sync(erp, mailbox)
    assert mailbox.items(Kind.APPOINTMENT) == {}
    assert [s.reason for s in report.skipped] == [
        "this recurring item is not synchronized (a series this backend cannot write yet, a "
        "series whose pattern could not be read, or an occurrence seen without its series)"]



def test_a_regenerating_erp_task_reaches_exchange_with_its_recurrence(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    due = datetime(2026, 11, 6)
    erp.user_create(ErpActivity(None, Kind.TASK, "Reisekosten", due_at=due, start_at=due,
                                participant_ids=(ANNA.id,), priority_id=2,
                                recurrence="FREQ=WEEKLY;INTERVAL=2;X-REGENERATE=1",
                                recurring=True))
    assert sync(erp, mailbox).ok
    [task] = mailbox.items(Kind.TASK).values()
    assert task.recurrence == parse_rrule("FREQ=WEEKLY;INTERVAL=2;X-REGENERATE=1",
                                          start=due, time_zone=BERLIN.key)
    a_second_pass_writes_nothing(erp, mailbox)


def test_an_erp_series_with_another_pattern_keeps_its_exception_in_outlook_in_the_same_pass(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    # Exchange drops every exception of a series written with another pattern; the ERP's
    # exception row of an occurrence the new pattern still gives is written again at once.
    series_id = erp.user_create(master("FREQ=DAILY;COUNT=20"))
    row_id = erp.user_create(exception(series_id, MOVED))
    assert sync(erp, mailbox).ok
    erp.user_update(series_id, recurrence=RULE)

    assert sync(erp, mailbox).ok
    exchange_id, item = the_series(mailbox)
    assert item.recurrence is not None and item.recurrence.modified == {MOVED}
    [moved] = mailbox.exceptions(Kind.APPOINTMENT, exchange_id).values()
    assert moved.subject == erp.state.activities[row_id].subject
    assert moved.start == erp_to_utc(MOVED + timedelta(hours=4), BERLIN)
    a_second_pass_writes_nothing(erp, mailbox)


def test_a_conference_series_gives_an_outlook_exception_its_content_back_once(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    erp.user_create(master(participant_ids=(ANNA.id, 8)))
    assert sync(erp, mailbox).ok
    exchange_id, _ = the_series(mailbox)
    moved_start = erp_to_utc(MOVED + timedelta(hours=3), BERLIN)
    mailbox.user_update_occurrence(OccurrenceKey(exchange_id, MOVED), start=moved_start,
                                   end=moved_start + timedelta(hours=1))

    assert sync(erp, mailbox).ok
    [given_back] = mailbox.exceptions(Kind.APPOINTMENT, exchange_id).values()
    assert given_back.start == erp_to_utc(MOVED, BERLIN)
    assert not any(a.series_id is not None for a in erp.state.activities.values())
    a_second_pass_writes_nothing(erp, mailbox)  # given back once, not on every pass


def test_an_exception_row_removed_without_an_exdate_gives_the_occurrence_back_for_good(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    series_id, row_id, exchange_id = a_synced_series_with_a_moved_occurrence(erp, mailbox)
    erp.user_delete(row_id)

    assert sync(erp, mailbox).ok
    [given_back] = mailbox.exceptions(Kind.APPOINTMENT, exchange_id).values()
    assert (given_back.subject, given_back.start) == ("Jour fixe", erp_to_utc(MOVED, BERLIN))
    a_second_pass_writes_nothing(erp, mailbox)  # not imported as a new exception row
    assert not any(a.series_id == series_id for a in erp.state.activities.values())


def test_a_series_edited_in_the_erp_and_deleted_in_outlook_comes_back_with_its_exception(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    series_id, row_id, old_id = a_synced_series_with_a_moved_occurrence(erp, mailbox)
    erp.user_update(series_id, location="Raum 2")
    mailbox.user_delete(Kind.APPOINTMENT, old_id)

    assert sync(erp, mailbox).ok  # an edit beats a delete: a new series in Outlook
    exchange_id, item = the_series(mailbox)
    assert item.location == "Raum 2"
    [moved] = mailbox.exceptions(Kind.APPOINTMENT, exchange_id).values()
    assert moved.subject == "Jour fixe (verlegt)"
    [link] = [lk for lk in erp.links(SCOPE, Kind.APPOINTMENT) if lk.erp_id == row_id]
    assert link.exchange_id == str(OccurrenceKey(exchange_id, MOVED))
    a_second_pass_writes_nothing(erp, mailbox)


def test_a_series_edited_in_outlook_and_deleted_in_the_erp_comes_back_with_its_exception(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    series_id, _, exchange_id = a_synced_series_with_a_moved_occurrence(erp, mailbox)
    mailbox.user_update(Kind.APPOINTMENT, exchange_id, location="Room 2")
    mailbox.user_update_occurrence(OccurrenceKey(exchange_id, MOVED), location="Room 3")
    erp.user_delete(series_id)  # with its occurrence row

    assert sync(erp, mailbox).ok  # an edit beats a delete: the series is imported again
    [back] = [a for a in erp.state.activities.values() if a.recurrence is not None]
    assert back.location == "Room 2"
    [row] = [a for a in erp.state.activities.values() if a.original_start is not None]
    assert (row.series_id, row.original_start, row.location) == (back.id, MOVED, "Room 3")
    a_second_pass_writes_nothing(erp, mailbox)


def test_another_pattern_in_the_erp_and_a_deleted_occurrence_in_outlook_merge_to_a_valid_series(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    # Pattern and deleted occurrences are fields of their own: merged, the new pattern
    # keeps only the deletions of occurrences it still gives (a Wednesday is no longer).
    series_id = erp.user_create(master())
    assert sync(erp, mailbox).ok
    exchange_id, _ = the_series(mailbox)
    mailbox.user_delete_occurrence(OccurrenceKey(exchange_id, DELETED))  # a Wednesday
    thursday = FIRST + timedelta(days=1)
    erp.user_update(series_id, recurrence="FREQ=WEEKLY;BYDAY=TH;COUNT=12", start_at=thursday,
                    end_at=thursday + timedelta(hours=1))

    assert sync(erp, mailbox).ok
    assert erp.state.activities[series_id].exdates == ()
    _, item = the_series(mailbox)
    assert item.recurrence is not None and item.recurrence.deleted == frozenset()
    a_second_pass_writes_nothing(erp, mailbox)


def test_an_occurrence_given_back_before_a_crash_is_not_taken_for_an_outlook_edit(
    erp: FakeErp, mailbox: CountingMailbox
) -> None:
    series_id, row_id, exchange_id = a_synced_series_with_a_moved_occurrence(erp, mailbox)
    erp.user_delete(row_id)  # without an exdate: the occurrence gets the series' content
    erp.crash_on_commit = Crash()
    with pytest.raises(Crash):  # after the give-back in Outlook, before the ERP commit
        sync(erp, mailbox)

    assert sync(erp, mailbox).ok
    assert not any(a.series_id == series_id for a in erp.state.activities.values())
    [given_back] = mailbox.exceptions(Kind.APPOINTMENT, exchange_id).values()
    assert given_back.start == erp_to_utc(MOVED, BERLIN)
    a_second_pass_writes_nothing(erp, mailbox)
