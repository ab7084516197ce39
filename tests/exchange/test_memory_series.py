"""The in-memory mailbox keeps a series as the port says (and as the EWS adapter does
against the sandbox, tests/exchange/test_ews_series_writes.py): a read of a master is
the whole series, occurrences are written and deleted by key, an exception has its own
version and moves its master's, a new pattern drops every exception."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from esexchange.domain.mapping.times import erp_to_utc
from esexchange.domain.model import ExchangeItem, ItemRef, Kind, OccurrenceKey
from esexchange.domain.recurrence import parse_rrule
from esexchange.exchange.port import ExchangeUpdate, OccurrenceUpdate
from tests.memory_mailbox import MemoryMailbox
from tests.test_memory_mailbox_faults import Clock

WEEKLY = parse_rrule("FREQ=WEEKLY;BYDAY=MO;COUNT=10", start=datetime(2026, 3, 23, 9),
                     time_zone="Europe/Berlin")
SECOND = datetime(2026, 3, 30, 9)


def _master(**values: object) -> ExchangeItem:
    first = erp_to_utc(WEEKLY.start, WEEKLY.zone)
    fields: dict[str, object] = {"start": first, "end": first + timedelta(hours=1),
                                 "recurrence": WEEKLY, "recurring": True, **values}
    return ExchangeItem(Kind.APPOINTMENT, "Jour fixe", **fields)  # type: ignore[arg-type]


def _moved(subject: str = "Moved") -> ExchangeItem:
    start = erp_to_utc(datetime(2026, 3, 31, 14), WEEKLY.zone)
    return ExchangeItem(Kind.APPOINTMENT, subject, start=start, end=start + timedelta(hours=1))


@pytest.fixture
def mailbox() -> MemoryMailbox:
    return MemoryMailbox("anna.berg@example.com", clock=Clock())


def test_a_series_is_created_without_its_deleted_occurrences_and_read_whole(
    mailbox: MemoryMailbox,
) -> None:
    series = replace(WEEKLY, deleted=frozenset({SECOND}),
                     modified=frozenset({SECOND + timedelta(days=7)}))
    [created] = mailbox.create([_master(recurrence=series)])
    assert created.value is not None
    [change] = mailbox.changes(Kind.APPOINTMENT, None).changes
    assert change.remote is not None and change.remote.ref == created.value
    # Modified occurrences are written by key once the master exists, never by create.
    assert change.remote.item.recurrence == replace(series, modified=frozenset())
    assert change.remote.exceptions == ()


def test_an_occurrence_becomes_an_exception_with_its_own_version(
    mailbox: MemoryMailbox,
) -> None:
    [created] = mailbox.create([_master()])
    assert created.value is not None
    key = OccurrenceKey(created.value.id, SECOND)

    [written] = mailbox.update_occurrences(
        [OccurrenceUpdate(key, _moved(), frozenset({"subject", "start", "end"}))])
    assert written.value is not None
    read = mailbox.read(Kind.APPOINTMENT, [key.series_id])[key.series_id]
    assert read.ref.version != created.value.version  # the master moved on too
    assert read.item.recurrence == replace(WEEKLY, modified=frozenset({SECOND}))
    [exception] = read.exceptions
    assert (exception.key, exception.ref) == (key, written.value)
    assert exception.item.subject == "Moved" and exception.item.start == _moved().start
    assert not exception.item.recurring and exception.item.recurrence is None
    # Fields not written keep the master's values.
    assert exception.item.location == read.item.location

    stale = OccurrenceUpdate(key, _moved("Again"), frozenset({"subject"}),
                             ItemRef(written.value.id, "stale"))
    [refused] = mailbox.update_occurrences([stale])
    assert isinstance(refused.error, Exception) and "changed meanwhile" in str(refused.error)
    [again] = mailbox.update_occurrences([replace(stale, ref=written.value)])
    assert again.value is not None and again.value.id == written.value.id


def test_occurrences_that_the_series_does_not_have_fail(mailbox: MemoryMailbox) -> None:
    [created] = mailbox.create([_master()])
    assert created.value is not None
    tuesday = OccurrenceKey(created.value.id, datetime(2026, 3, 31, 9))
    [write] = mailbox.update_occurrences([OccurrenceUpdate(tuesday, _moved(),
                                                           frozenset({"subject"}))])
    [delete] = mailbox.delete_occurrences([tuesday])
    assert not write.ok and not delete.ok
    [gone_series] = mailbox.delete_occurrences([OccurrenceKey("no-such-id", SECOND)])
    assert gone_series.ok


def test_deleting_an_occurrence_removes_its_exception_once(mailbox: MemoryMailbox) -> None:
    [created] = mailbox.create([_master()])
    assert created.value is not None
    key = OccurrenceKey(created.value.id, SECOND)
    mailbox.update_occurrences([OccurrenceUpdate(key, _moved(), frozenset({"subject"}))])

    assert [r.ok for r in mailbox.delete_occurrences([key, key])] == [True, True]
    read = mailbox.read(Kind.APPOINTMENT, [key.series_id])[key.series_id]
    assert read.item.recurrence == replace(WEEKLY, deleted=frozenset({SECOND}))
    assert read.exceptions == ()
    [deleted] = mailbox.update_occurrences([OccurrenceUpdate(key, _moved(),
                                                             frozenset({"subject"}))])
    assert not deleted.ok


@pytest.mark.parametrize("same_pattern", [True, False])
def test_writing_recurrence_keeps_or_drops_the_exceptions_as_exchange_does(
    mailbox: MemoryMailbox, same_pattern: bool
) -> None:
    [created] = mailbox.create([_master()])
    assert created.value is not None
    key = OccurrenceKey(created.value.id, SECOND)
    mailbox.update_occurrences([OccurrenceUpdate(key, _moved(), frozenset({"subject"}))])
    pattern = WEEKLY if same_pattern else parse_rrule(
        "FREQ=WEEKLY;BYDAY=MO;COUNT=4", start=WEEKLY.start, time_zone="Europe/Berlin")
    wanted = replace(pattern, deleted=frozenset({datetime(2026, 4, 6, 9)}))

    [updated] = mailbox.update([ExchangeUpdate(
        mailbox.ref(Kind.APPOINTMENT, key.series_id), _master(recurrence=wanted),
        frozenset({"recurrence"}))])
    assert updated.ok
    read = mailbox.read(Kind.APPOINTMENT, [key.series_id])[key.series_id]
    kept = frozenset({SECOND}) if same_pattern else frozenset()
    assert read.item.recurrence == replace(wanted, modified=kept)
    assert len(read.exceptions) == len(kept)


def test_a_user_edits_and_deletes_occurrences(mailbox: MemoryMailbox) -> None:
    series_id = mailbox.user_create(_master())
    mailbox.user_update_occurrence(OccurrenceKey(series_id, SECOND), subject="Moved")
    mailbox.user_delete_occurrence(OccurrenceKey(series_id, datetime(2026, 4, 6, 9)))
    assert [e.subject for e in mailbox.exceptions(Kind.APPOINTMENT, series_id).values()] == [
        "Moved"]
    recurrence = mailbox.items(Kind.APPOINTMENT)[series_id].recurrence
    assert recurrence is not None and recurrence.deleted == {datetime(2026, 4, 6, 9)}


def test_an_occurrence_key_is_one_id_and_back() -> None:
    key = OccurrenceKey("AAMkAD=", datetime(2026, 3, 30, 9))
    assert OccurrenceKey.parse(str(key)) == key
    assert OccurrenceKey.parse("AAMkAD=") is None
    with pytest.raises(ValueError, match="naive"):
        OccurrenceKey("x", erp_to_utc(SECOND, WEEKLY.zone))
