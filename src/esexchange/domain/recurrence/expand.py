"""The occurrences of a series, in local wall time (and their UTC moments).

Every occurrence starts at the series' wall time in its zone, so a weekly 09:00 meeting
in Europe/Berlin is at 08:00 UTC in winter and 07:00 UTC in summer. A wall time that a
DST switch skips or repeats is read as ``mapping/times.py`` reads ERP times
(``fold=0``). A regenerating task has one occurrence at a time: its start; the next one
follows from its completion (``next_regeneration``).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import count

from esexchange.domain.mapping.times import erp_to_utc
from esexchange.domain.recurrence.model import (
    AbsoluteMonthly,
    AbsoluteYearly,
    Daily,
    EndDate,
    Numbered,
    Pattern,
    Recurrence,
    Regenerating,
    RelativeMonthly,
    RelativeYearly,
    Unit,
    Weekday,
    WeekIndex,
    Weekly,
)

ONE_DAY = timedelta(days=1)
_LAST_YEAR = 9999


def generated(recurrence: Recurrence) -> Iterator[datetime]:
    """Every start the rule generates, in order, deleted occurrences included.

    Infinite for a series without end: bound it (``occurrences`` does).
    """
    pattern = recurrence.pattern
    if isinstance(pattern, Regenerating):
        yield recurrence.start
        return
    range_ = recurrence.range
    for number, day in enumerate(_dates(pattern, recurrence.start.date()), start=1):
        if isinstance(range_, Numbered) and number > range_.count:
            return
        if isinstance(range_, EndDate) and day > range_.last:
            return
        yield datetime.combine(day, recurrence.start.time())


def occurrences(recurrence: Recurrence, *, before: datetime,
                after: datetime | None = None) -> list[datetime]:
    """The occurrences' original starts in ``[after, before)`` (naive local), deleted
    ones left out; modified ones are listed at the start the rule gave them."""
    found = []
    for start in generated(recurrence):
        if start >= before:
            break
        if (after is None or start >= after) and start not in recurrence.deleted:
            found.append(start)
    return found


def occurrences_utc(recurrence: Recurrence, *, before: datetime,
                    after: datetime | None = None) -> list[datetime]:
    """``occurrences`` as aware UTC moments."""
    zone = recurrence.zone
    return [erp_to_utc(start, zone) for start in
            occurrences(recurrence, before=before, after=after)]


def is_generated(recurrence: Recurrence, original_start: datetime) -> bool:
    """Whether the rule generates an occurrence at ``original_start`` (naive local)."""
    for start in generated(recurrence):
        if start >= original_start:
            return start == original_start
    return False


def occurrence_index(recurrence: Recurrence, original_start: datetime) -> int | None:
    """The 1-based position of ``original_start`` among the starts the rule generates
    (deleted occurrences count, as EWS ``InstanceIndex`` does); None if it gives none."""
    for index, start in enumerate(generated(recurrence), start=1):
        if start >= original_start:
            return index if start == original_start else None
    return None


def last_start(recurrence: Recurrence) -> datetime | None:
    """The start of the last generated occurrence; None for a series without end."""
    if recurrence.regenerating:
        return recurrence.start
    if not isinstance(recurrence.range, EndDate | Numbered):
        return None
    last = None
    for last in generated(recurrence):  # noqa: B007 - the loop keeps the last one
        pass
    return last


def next_start(recurrence: Recurrence, after: date) -> datetime | None:
    """The first start the rule generates on a day after ``after`` (a recurring task's
    next occurrence once the one due on ``after`` is done); None when the series ends
    there. A regenerating task has none: its next one follows from its completion."""
    if recurrence.regenerating:
        return None
    for start in generated(recurrence):
        if start.date() > after:
            return start
    return None


def continued_from(recurrence: Recurrence, first: datetime) -> Recurrence:
    """The series as it goes on from its occurrence ``first``: that start, and a numbered
    range shortened by the occurrences before it (the form Exchange gives a recurring
    task that moved on, where To Do keeps the range it began with).

    ``first`` not after the series' start, a regenerating task, or a day the rule does
    not give (a task moved by hand) leave the series as it is."""
    if recurrence.regenerating or first <= recurrence.start:
        return recurrence
    before = 0
    for start in generated(recurrence):
        if start.date() >= first.date():
            if start.date() != first.date():
                return recurrence
            break
        before += 1
    else:
        return recurrence
    range_ = recurrence.range
    if isinstance(range_, Numbered):
        range_ = Numbered(range_.count - before)
    return replace(recurrence, start=first, range=range_)


def next_regeneration(pattern: Regenerating, completed: date) -> date:
    """The day a regenerating task comes back after being completed on ``completed``."""
    if pattern.unit is Unit.DAY:
        return completed + pattern.interval * ONE_DAY
    if pattern.unit is Unit.WEEK:
        return completed + 7 * pattern.interval * ONE_DAY
    months = pattern.interval * (12 if pattern.unit is Unit.YEAR else 1)
    year, month = _add_months(completed.year, completed.month, months)
    return date(year, month, min(completed.day, monthrange(year, month)[1]))


# --- dates of each pattern --------------------------------------------------------------


def _dates(pattern: Pattern, first: date) -> Iterator[date]:
    """The pattern's dates on or after ``first``, ascending, until the calendar ends."""
    for day in _candidates(pattern, first):
        if day >= first:
            yield day


def _candidates(pattern: Pattern, first: date) -> Iterator[date]:
    if isinstance(pattern, Daily):
        step = pattern.interval * ONE_DAY
        day = first
        while day.year < _LAST_YEAR:
            yield day
            day += step
    elif isinstance(pattern, Weekly):
        week = first - ((first.weekday() - pattern.first_day_of_week) % 7) * ONE_DAY
        while week.year < _LAST_YEAR:
            for offset in range(7):
                day = week + offset * ONE_DAY
                if Weekday(day.weekday()) in pattern.days:
                    yield day
            week += 7 * pattern.interval * ONE_DAY
    elif isinstance(pattern, AbsoluteMonthly | RelativeMonthly):
        for year, month in _months(first.year, first.month, pattern.interval):
            yield _in_month(pattern, year, month)
    else:
        for k in count():
            year = first.year + k * pattern.interval
            if year >= _LAST_YEAR:
                return
            yield _in_month(pattern, year, pattern.month)


def _in_month(pattern: AbsoluteMonthly | RelativeMonthly | AbsoluteYearly | RelativeYearly,
              year: int, month: int) -> date:
    length = monthrange(year, month)[1]
    if isinstance(pattern, AbsoluteMonthly | AbsoluteYearly):
        return date(year, month, min(pattern.day_of_month, length))
    matching = [d for d in range(1, length + 1)
                if Weekday(date(year, month, d).weekday()) in pattern.days]
    day = matching[-1] if pattern.index is WeekIndex.LAST else matching[pattern.index - 1]
    return date(year, month, day)


def _months(year: int, month: int, interval: int) -> Iterator[tuple[int, int]]:
    for k in count():
        y, m = _add_months(year, month, k * interval)
        if y >= _LAST_YEAR:
            return
        yield y, m


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1
