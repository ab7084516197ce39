"""Series writes through the Graph adapter against the Graph sandbox, the same cases as
tests/exchange/test_ews_series_writes.py: a master created with deleted occurrences
(with a transactionId, in $batch), one occurrence moved and then edited again by its own
id, one deleted, a pattern kept or rewritten, a rule Graph cannot hold. What the
sandbox's calendarView shows is compared with the domain's expansion (checked against
python-dateutil in tests/sandbox_graph/test_series.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from esexchange.domain.mapping.times import erp_to_utc
from esexchange.domain.model import ExchangeItem, ItemRef, Kind, OccurrenceKey, RemoteItem
from esexchange.domain.recurrence import (
    Numbered,
    Recurrence,
    Regenerating,
    Unit,
    occurrences_utc,
    parse_rrule,
)
from esexchange.exchange.graph.mailbox import GraphMailbox
from esexchange.exchange.port import ExchangeUpdate, OccurrenceUpdate
from tests.support.graph_sandbox import ANNA, GraphHarness

BERLIN = "Europe/Berlin"
WEEKLY = parse_rrule("FREQ=WEEKLY;BYDAY=MO;COUNT=10", start=datetime(2026, 3, 23, 9),
                     time_zone=BERLIN)


@pytest.fixture
def anna(graph: GraphHarness) -> GraphMailbox:
    return graph.connect(batch_size=3).mailbox(ANNA)


def _master(series: Recurrence, subject: str = "Jour fixe", **fields: object) -> ExchangeItem:
    first = erp_to_utc(series.start, series.zone)
    return ExchangeItem(kind=Kind.APPOINTMENT, subject=subject, start=first,
                        end=first + timedelta(hours=1), recurrence=series, erp_id=7,
                        **fields)  # type: ignore[arg-type]


def _view_starts(client: httpx.Client, subject: str, days: int = 400) -> list[datetime]:
    end = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days)
    found, url = [], f"/users/{ANNA}/calendarView"
    params: dict[str, str] | None = {"startDateTime": "2026-01-01T00:00:00Z",
                                     "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
    while url:
        page = client.get(url, params=params).json()
        found += [e for e in page["value"] if e["subject"] == subject]
        url, params = page.get("@odata.nextLink"), None
    return sorted(datetime.fromisoformat(e["start"]["dateTime"][:19]).replace(tzinfo=UTC)
                  for e in found)


def _occurrence(subject: str, original: datetime) -> ExchangeItem:
    """An occurrence's full content (the adapter checks a whole item before writing)."""
    start = erp_to_utc(original, WEEKLY.zone)
    return ExchangeItem(kind=Kind.APPOINTMENT, subject=subject, start=start,
                        end=start + timedelta(hours=1))


def _read(anna: GraphMailbox, item_id: str) -> RemoteItem:
    return anna.read(Kind.APPOINTMENT, [item_id])[item_id]


def test_a_series_is_created_with_its_deleted_occurrences(
    graph_http: httpx.Client, anna: GraphMailbox
) -> None:
    deleted = frozenset({datetime(2026, 3, 30, 9), datetime(2026, 4, 20, 9)})
    series = replace(WEEKLY, deleted=deleted)
    [result] = anna.create([_master(series)])
    assert result.value is not None

    read = _read(anna, result.value.id)
    assert read.ref == result.value  # the answer's version is the master's after it all
    assert read.item.recurrence == series
    expected = occurrences_utc(series, before=datetime(2027, 1, 1))
    assert _view_starts(graph_http, "Jour fixe") == expected


def test_an_occurrence_is_moved_by_index_then_edited_by_its_own_id(
    graph_http: httpx.Client, anna: GraphMailbox
) -> None:
    [created] = anna.create([_master(WEEKLY)])
    assert created.value is not None
    key = OccurrenceKey(created.value.id, datetime(2026, 3, 30, 9))  # the first in summer time
    moved_start = datetime(2026, 3, 31, 14, tzinfo=UTC)
    moved = ExchangeItem(kind=Kind.APPOINTMENT, subject="Jour fixe (moved)",
                         start=moved_start, end=moved_start + timedelta(hours=1))

    [first] = anna.update_occurrences([OccurrenceUpdate(key, moved, frozenset(
        {"subject", "start", "end"}))])
    assert first.value is not None
    read = _read(anna, created.value.id)
    assert read.item.recurrence == replace(WEEKLY, modified=frozenset({key.original_start}))
    [exception] = read.exceptions
    assert exception.key == key and exception.ref == first.value
    assert (exception.item.subject, exception.item.start) == ("Jour fixe (moved)", moved_start)
    assert not exception.item.recurring and exception.item.recurrence is None

    # Edited again by its own id: a stale change key fails, the current one writes.
    stale = OccurrenceUpdate(key, replace(moved, location="Raum 2"), frozenset({"location"}),
                             ItemRef(first.value.id, "stale"))
    [refused] = anna.update_occurrences([stale])
    assert refused.error is not None
    [second] = anna.update_occurrences([replace(stale, ref=first.value)])
    assert second.ok
    [again] = _read(anna, created.value.id).exceptions
    assert again.item.location == "Raum 2"
    assert moved_start in _view_starts(graph_http, "Jour fixe (moved)")


def test_an_occurrence_is_deleted_once_and_an_unknown_one_fails(
    graph_http: httpx.Client, anna: GraphMailbox
) -> None:
    [created] = anna.create([_master(WEEKLY)])
    assert created.value is not None
    gone = OccurrenceKey(created.value.id, datetime(2026, 4, 6, 9))
    unknown = OccurrenceKey(created.value.id, datetime(2026, 4, 7, 9))  # a Tuesday

    results = anna.delete_occurrences([gone, unknown, gone])
    assert [r.ok for r in results] == [True, False, True]
    assert "no occurrence at 2026-04-07 09:00" in str(results[1].error)
    read = _read(anna, created.value.id)
    assert read.item.recurrence == replace(WEEKLY, deleted=frozenset({gone.original_start}))
    assert erp_to_utc(gone.original_start, WEEKLY.zone) not in _view_starts(graph_http, "Jour fixe")
    [missing_series] = anna.delete_occurrences([OccurrenceKey("AAMk-gone", gone.original_start)])
    assert missing_series.ok


def test_writing_the_same_pattern_keeps_exceptions_and_adds_deletions(
    anna: GraphMailbox,
) -> None:
    [created] = anna.create([_master(WEEKLY)])
    assert created.value is not None
    key = OccurrenceKey(created.value.id, datetime(2026, 3, 30, 9))
    [written] = anna.update_occurrences([OccurrenceUpdate(
        key, _occurrence("Moved", key.original_start), frozenset({"subject"}))])
    assert written.ok
    current = _read(anna, created.value.id)
    more_deleted = replace(WEEKLY, deleted=frozenset({datetime(2026, 4, 13, 9)}))

    [updated] = anna.update([ExchangeUpdate(current.ref, _master(more_deleted),
                                            frozenset({"recurrence"}))])
    assert updated.value is not None
    read = _read(anna, created.value.id)
    assert read.ref == updated.value
    assert read.item.recurrence == replace(more_deleted, modified=frozenset({key.original_start}))
    assert [e.item.subject for e in read.exceptions] == ["Moved"]


def test_a_new_pattern_drops_the_exceptions_as_exchange_does(anna: GraphMailbox) -> None:
    [created] = anna.create([_master(replace(WEEKLY, deleted=frozenset(
        {datetime(2026, 4, 13, 9)})))])
    assert created.value is not None
    key = OccurrenceKey(created.value.id, datetime(2026, 3, 30, 9))
    anna.update_occurrences([OccurrenceUpdate(
        key, _occurrence("Moved", key.original_start), frozenset({"subject"}))])
    shorter = parse_rrule("FREQ=WEEKLY;BYDAY=MO;COUNT=4", start=WEEKLY.start, time_zone=BERLIN)
    current = _read(anna, created.value.id)

    [updated] = anna.update([ExchangeUpdate(
        current.ref, _master(replace(shorter, deleted=frozenset({datetime(2026, 4, 6, 9)}))),
        frozenset({"recurrence"}))])
    assert updated.ok
    read = _read(anna, created.value.id)
    assert read.item.recurrence == replace(shorter, deleted=frozenset({datetime(2026, 4, 6, 9)}))
    assert read.exceptions == ()


def test_every_other_year_which_ews_refuses_is_written_and_regenerating_is_refused(
    graph_http: httpx.Client, anna: GraphMailbox
) -> None:
    every_other_year = parse_rrule("FREQ=YEARLY;INTERVAL=2;BYMONTH=5;BYMONTHDAY=14",
                                   start=datetime(2026, 5, 14, 9), time_zone=BERLIN)
    regenerating = Recurrence(start=WEEKLY.start, pattern=Regenerating(Unit.WEEK),
                              time_zone=BERLIN)
    results = anna.create([_master(every_other_year, "Biennial"),
                           _master(regenerating, "Regenerating")])
    assert results[0].ok
    assert _view_starts(graph_http, "Biennial", days=1900) == occurrences_utc(
        every_other_year, before=datetime(2031, 1, 1))
    assert results[1].error is not None
    assert "Outlook cannot show" in str(results[1].error)
    assert "Regenerating" in str(results[1].error)


def _task(series: Recurrence, subject: str = "Wochenbericht") -> ExchangeItem:
    return ExchangeItem(kind=Kind.TASK, subject=subject, due=series.start.date(),
                        recurrence=series, recurring=True, erp_id=7)


def test_a_recurring_task_is_written_to_to_do_with_its_rule_and_regenerating_is_refused(
    graph: GraphHarness, anna: GraphMailbox
) -> None:
    zone = graph.settings.time_zone
    weekly = parse_rrule("FREQ=WEEKLY;BYDAY=TH;COUNT=3", start=datetime(2026, 11, 5),
                         time_zone=zone)
    regenerating = Recurrence(start=weekly.start, pattern=Regenerating(Unit.WEEK, 2),
                              time_zone=zone)
    made, refused = anna.create([_task(weekly), _task(regenerating, "Reisekosten")])
    assert made.value is not None
    assert _read_task(anna, made.value.id).item.recurrence == weekly
    assert refused.error is not None and "X-REGENERATE" in str(refused.error)
    assert "regenerates after completion" in str(refused.error)

    longer = replace(weekly, range=Numbered(5))
    [written] = anna.update([ExchangeUpdate(made.value, _task(longer),
                                            frozenset({"recurrence"}))])
    assert written.value is not None
    assert _read_task(anna, made.value.id).item.recurrence == longer
    [removed] = anna.update([ExchangeUpdate(written.value, replace(_task(longer), recurrence=None),
                                            frozenset({"recurrence"}))])
    assert removed.value is not None
    assert _read_task(anna, made.value.id).item.recurrence is None


def _read_task(anna: GraphMailbox, item_id: str) -> RemoteItem:
    return anna.read(Kind.TASK, [item_id])[item_id]
