"""Expansion of recurring items into occurrences, as a calendar view shows them.

A master keeps its typed :class:`Recurrence`; this module lays out its pattern (daily,
weekly, absolute and relative monthly, absolute and relative yearly) over its range (no
end, end date, numbered) in the master's own time zone, so 09:00 stays 09:00 across a
daylight saving change, and moves recurring tasks on to their next occurrence.
"""

from __future__ import annotations

import base64
import binascii
import calendar
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from esexchange.sandbox.models.errors import StoreError
from esexchange.sandbox.models.values import (
    DeletedStarts,
    OccurrenceRef,
    OccurrenceRefs,
    Pattern,
    PatternKind,
    RangeKind,
    Recurrence,
    TimeZone,
    Value,
)
from esexchange.sandbox.models.zones import zone_named

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = tuple(calendar.month_name)[1:]
INDEXES = ("First", "Second", "Third", "Fourth")
MAX_OCCURRENCES = 5000  # a no-end series is followed this far at most
_OCCURRENCE_PREFIX = b"ESXOCC\x00"


def occurrence_id(master_id: str, index: int) -> str:
    """The opaque id of the ``index``-th occurrence of a master."""
    raw = _OCCURRENCE_PREFIX + index.to_bytes(4, "big") + base64.b64decode(master_id)
    return base64.b64encode(raw).decode()


def parse_occurrence_id(item_id: str) -> tuple[str, int] | None:
    """(master id, index) of an occurrence id; None for any other id."""
    try:
        raw = base64.b64decode(item_id, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_OCCURRENCE_PREFIX):
        return None
    rest = raw[len(_OCCURRENCE_PREFIX) :]
    return base64.b64encode(rest[4:]).decode(), int.from_bytes(rest[:4], "big")


def occurrences(
    fields: dict[str, Value],
    start: datetime | None,
    end: datetime | None,
    *,
    until_index: int = 0,
) -> list[tuple[int, tuple[datetime, datetime]]]:
    """(index, (start, end)) of the occurrences of a master that overlap [start, end).

    Without a window the whole series is laid out (a no-end series up to
    ``MAX_OCCURRENCES``), or up to ``until_index`` when that is given.
    """
    master_start, master_end, rule = (
        fields.get("Start"),
        fields.get("End"),
        fields.get("Recurrence"),
    )
    if not isinstance(master_start, datetime) or not isinstance(master_end, datetime):
        return []
    if not isinstance(rule, Recurrence):
        return []
    zone = zone_of(fields.get("StartTimeZone"))
    local_start = master_start.astimezone(zone)
    duration = master_end - master_start
    found = []
    for index, day in enumerate(_dates(rule, local_start.date()), start=1):
        occ_start = datetime.combine(day, local_start.timetz().replace(tzinfo=None), zone)
        occ_start = occ_start.astimezone(master_start.tzinfo)
        if (end is not None and occ_start >= end) or (until_index and index > until_index):
            break
        if start is None or occ_start + duration >= start:  # as series.overlaps
            found.append((index, (occ_start, occ_start + duration)))
    return found


_REGENERATION_STEPS = {
    PatternKind.DAILY_REGENERATION: lambda n: {"days": n},
    PatternKind.WEEKLY_REGENERATION: lambda n: {"weeks": n},
}


def next_task_dates(fields: dict[str, Value], now: datetime) -> dict[str, datetime] | None:
    """StartDate and DueDate of a recurring task's next occurrence; None when the series ends.

    A recurrence pattern moves the task to the next date after its current one; a
    regenerating pattern to the interval after now (the task is done with "now").
    """
    rule = fields.get("Recurrence")
    anchor = fields.get("DueDate") or fields.get("StartDate")
    if not isinstance(rule, Recurrence) or not isinstance(anchor, datetime):
        return None
    kind = rule.pattern.kind
    interval = rule.pattern.interval or 1
    if kind.regenerates:
        months = {PatternKind.MONTHLY_REGENERATION: interval,
                  PatternKind.YEARLY_REGENERATION: 12 * interval}  # fmt: skip
        if kind in months:
            total = now.year * 12 + now.month - 1 + months[kind]
            year, month = total // 12, total % 12 + 1
            day = min(now.day, calendar.monthrange(year, month)[1])
            next_day = date(year, month, day)
        else:
            next_day = now.date() + timedelta(**_REGENERATION_STEPS[kind](interval))
    else:
        later = (d for d in _dates(rule, anchor.date()) if d > anchor.date())
        found = next(later, None)
        if found is None:
            return None
        next_day = found
    shift = datetime.combine(next_day, anchor.timetz()) - anchor
    return {
        name: value + shift
        for name in ("StartDate", "DueDate")
        if isinstance(value := fields.get(name), datetime)
    }


def advanced_task(fields: dict[str, Value], now: datetime) -> dict[str, Value] | None:
    """A recurring task's properties for its next occurrence: dates moved on, not started,
    the range of a numbered series one shorter and starting at the new date; None when the
    series has no further occurrence."""
    rule = fields.get("Recurrence")
    following = next_task_dates(fields, now)
    if not isinstance(rule, Recurrence) or following is None:
        return None
    span = rule.range
    if span.kind is RangeKind.NUMBERED and (span.count or 0) <= 1:
        return None
    moved = fields.get("StartDate") or fields.get("DueDate")
    anchor = following.get("StartDate") or following.get("DueDate")
    start = anchor.date() if isinstance(anchor, datetime) else span.start
    count = (span.count or 0) - 1 if span.kind is RangeKind.NUMBERED else span.count
    advanced = {k: v for k, v in fields.items() if k != "CompleteDate"}
    advanced.update(following)
    advanced.update(Status="NotStarted", PercentComplete=0.0)
    if moved is not None:
        advanced["Recurrence"] = Recurrence(rule.pattern, replace(span, start=start, count=count))
    return advanced


def deleted_starts(fields: dict[str, Value]) -> set[datetime]:
    """Original starts of the occurrences deleted from a master's series."""
    listed = fields.get("DeletedOccurrences")
    return set(listed.starts) if isinstance(listed, DeletedStarts) else set()


def deleted_occurrences(starts: Iterable[datetime]) -> DeletedStarts:
    """The ``DeletedOccurrences`` of a master: ``starts`` in time order, in UTC."""
    return DeletedStarts(tuple(sorted(start.astimezone(UTC) for start in starts)))


class _Occurrence(Protocol):
    id: str
    change_key: str
    fields: dict[str, Value]


def occurrence_ref(occurrence: _Occurrence) -> OccurrenceRef:
    """How a master lists one of its occurrences: id, times and original start."""
    start, end, original = (occurrence.fields[n] for n in ("Start", "End", "OriginalStart"))
    assert isinstance(start, datetime) and isinstance(end, datetime)
    assert isinstance(original, datetime)
    return OccurrenceRef(occurrence.id, occurrence.change_key, start, end, original)


def modified_occurrences(exceptions: Iterable[_Occurrence]) -> OccurrenceRefs:
    """The ``ModifiedOccurrences`` of a master: each exception's id, times, original start."""
    return OccurrenceRefs(tuple(occurrence_ref(exception) for exception in exceptions))


def has_end(fields: dict[str, Value]) -> bool:
    """Whether a master's series ends (an end date or a number of occurrences)."""
    rule = fields.get("Recurrence")
    return isinstance(rule, Recurrence) and rule.range.kind is not RangeKind.NO_END


def zone_of(definition: Value | None) -> ZoneInfo:
    """The zone of an item's :class:`TimeZone` (by its Windows id), UTC when there is none."""
    return zone_named(definition.zone_id if isinstance(definition, TimeZone) else None)


def _dates(rule: Recurrence, first: date) -> Iterator[date]:
    span = rule.range
    range_start = span.start or first
    count = span.count if span.kind is RangeKind.NUMBERED else None
    range_end = span.end if span.kind is RangeKind.END_DATE else None
    produced = 0
    for day in _pattern_dates(rule.pattern, range_start):
        if range_end is not None and day > range_end:
            return
        if day < range_start:
            continue
        yield day
        produced += 1
        if produced == count or produced >= MAX_OCCURRENCES:
            return


def _pattern_dates(pattern: Pattern, start: date) -> Iterator[date]:
    kind = pattern.kind
    interval = pattern.interval if pattern.interval is not None else 1
    if interval < 1:
        raise StoreError("ErrorInvalidRecurrence", "The recurrence interval must be positive.")
    if kind is PatternKind.DAILY:
        for step in range(MAX_OCCURRENCES):
            yield start + timedelta(days=step * interval)
    elif kind is PatternKind.WEEKLY:
        first_day = WEEKDAYS.index(pattern.first_day_of_week or "Sunday")
        week = start - timedelta(days=(start.weekday() - first_day) % 7)
        wanted = sorted((WEEKDAYS.index(d) - first_day) % 7 for d in pattern.days_of_week)
        for step in range(MAX_OCCURRENCES):
            for offset in wanted:
                yield week + timedelta(days=step * interval * 7 + offset)
    elif kind in (PatternKind.ABSOLUTE_MONTHLY, PatternKind.RELATIVE_MONTHLY):
        for year, month in _months(start, interval):
            yield _day_in_month(pattern, year, month)
    elif kind in (PatternKind.ABSOLUTE_YEARLY, PatternKind.RELATIVE_YEARLY):
        month = MONTHS.index(pattern.month or "") + 1
        for year in range(start.year, start.year + MAX_OCCURRENCES):
            yield _day_in_month(pattern, year, month)
    else:  # a regenerating pattern has no dates of its own: it counts from completion
        yield start


def _months(start: date, interval: int) -> Iterator[tuple[int, int]]:
    for step in range(MAX_OCCURRENCES):
        total = start.year * 12 + start.month - 1 + step * interval
        yield total // 12, total % 12 + 1


def _day_in_month(pattern: Pattern, year: int, month: int) -> date:
    last = calendar.monthrange(year, month)[1]
    if pattern.day_of_month is not None:
        # Outlook puts the 31st of a shorter month on its last day.
        return date(year, month, min(pattern.day_of_month, last))
    wanted = pattern.days_of_week[0] if pattern.days_of_week else "Day"
    candidates = [
        date(year, month, d) for d in range(1, last + 1) if _matches(date(year, month, d), wanted)
    ]
    index = pattern.day_of_week_index or "First"
    return candidates[-1] if index == "Last" else candidates[INDEXES.index(index)]


def _matches(day: date, wanted: str) -> bool:
    if wanted == "Day":
        return True
    if wanted == "Weekday":
        return day.weekday() < 5
    if wanted == "WeekendDay":
        return day.weekday() >= 5
    return WEEKDAYS[day.weekday()] == wanted
