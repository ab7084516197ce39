"""``Recurrence`` <-> exchangelib's ``Recurrence``/``TaskRecurrence`` (EWS ``RecurrenceType``).

A translation and nothing more: the pattern and range types are Exchange's already
(``domain/recurrence/model.py``). exchangelib numbers weekdays 1 (Monday) to 7, then 8,
9 and 10 for ``Day``, ``Weekday`` and ``WeekendDay``; week numbers 1 to 4 and 5 for
``Last``; months 1 to 12. The range's start date is the series' first day; the wall
time is the master item's start (in its ``StartTimeZone``), which the caller passes in.
Yearly patterns have no interval in EWS (``require_ews_expressible``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from typing import Any, TypeAlias

from exchangelib import recurrence as ews
from exchangelib.ewsdatetime import EWSDate, EWSTimeZone

from esexchange.domain.errors import EsExchangeError, RecurrenceInvalid
from esexchange.domain.model import Kind
from esexchange.domain.recurrence import (
    AbsoluteMonthly,
    AbsoluteYearly,
    Daily,
    EndDate,
    NoEnd,
    Numbered,
    Pattern,
    Range,
    Recurrence,
    Regenerating,
    RelativeMonthly,
    RelativeYearly,
    Unit,
    Weekday,
    WeekIndex,
    Weekly,
    require_ews_expressible,
)
from esexchange.domain.recurrence.model import EVERY_DAY, WEEKDAYS, WEEKEND

EwsRecurrence: TypeAlias = Any
"""exchangelib's ``Recurrence`` or ``TaskRecurrence`` (exchangelib is untyped)."""

_GROUPS = {EVERY_DAY: 8, WEEKDAYS: 9, WEEKEND: 10}
_LAST_WEEK = 5
_REGENERATIONS: dict[Unit, type[ews.Regeneration]] = {
    Unit.DAY: ews.DailyRegeneration, Unit.WEEK: ews.WeeklyRegeneration,
    Unit.MONTH: ews.MonthlyRegeneration, Unit.YEAR: ews.YearlyRegeneration,
}


def to_ews(recurrence: Recurrence, *, task: bool = False) -> EwsRecurrence:
    """The exchangelib recurrence of a series (a ``TaskRecurrence`` for a task)."""
    require_ews_expressible(recurrence)
    pattern = recurrence.pattern
    ews_pattern = (_REGENERATIONS[pattern.unit](interval=pattern.interval)
                   if isinstance(pattern, Regenerating) else _pattern_to_ews(pattern))
    boundary = _range_to_ews(recurrence.range, recurrence.start.date())
    cls = ews.TaskRecurrence if task else ews.Recurrence
    return cls(pattern=ews_pattern, boundary=boundary)


def from_ews(value: EwsRecurrence, *, start: datetime, time_zone: str) -> Recurrence:
    """The series of an exchangelib recurrence; ``start`` is the master's naive wall time."""
    pattern = value.pattern
    boundary = value.boundary
    if pattern is None or boundary is None:
        raise RecurrenceInvalid(f"a recurrence without pattern or range: {value}")
    first = _as_date(boundary.start)
    if isinstance(pattern, ews.Regeneration):
        unit = next(u for u, cls in _REGENERATIONS.items() if isinstance(pattern, cls))
        domain_pattern: Pattern | Regenerating = Regenerating(unit, pattern.interval)
    else:
        domain_pattern = _pattern_from_ews(pattern)
    return Recurrence(start=datetime.combine(first, start.time()), pattern=domain_pattern,
                      range=_range_from_ews(boundary), time_zone=time_zone)


def series_of(item: Any, kind: Kind, *, zone: EWSTimeZone) -> Recurrence | None:
    """The series of a recurring master or task as read, with its modified and deleted
    occurrences (original starts in the series' wall time); None for other items.

    A recurrence that cannot be read as a ``Recurrence`` also gives None: the item is
    still marked recurring, so it is skipped like every series today, and costs nothing
    to the other items of the page.
    """
    value = getattr(item, "recurrence", None)
    if value is None:
        return None
    if kind is Kind.APPOINTMENT:
        if (item.type or "Single") != "RecurringMaster" or item.start is None:
            return None
        series_zone = item._start_timezone or zone
        wall = _wall(item.start, series_zone)
    else:
        day = item.start_date or item.due_date
        if day is None:
            return None
        series_zone, wall = zone, datetime.combine(day, time())
    try:
        series = from_ews(value, start=wall, time_zone=series_zone.key)
        return replace(
            series,
            modified=frozenset(_wall(o.original_start, series_zone)
                               for o in getattr(item, "modified_occurrences", None) or ()),
            deleted=frozenset(_wall(d.start, series_zone)
                              for d in getattr(item, "deleted_occurrences", None) or ()),
        )
    except (EsExchangeError, ValueError):
        return None


def exception_ids(item: Any, *, zone: EWSTimeZone) -> list[tuple[str, datetime]]:
    """(item id, original start as the series' wall time) of a master's modified
    occurrences as read (``ModifiedOccurrences``), in the order EWS lists them."""
    if getattr(item, "recurrence", None) is None or item.start is None:
        return []
    series_zone = item._start_timezone or zone
    return [(o.id, _wall(o.original_start, series_zone))
            for o in getattr(item, "modified_occurrences", None) or () if o.id]


def _wall(moment: datetime, zone: EWSTimeZone) -> datetime:
    """A moment read from EWS as the naive wall time in ``zone``."""
    local = moment.astimezone(zone)
    return datetime(local.year, local.month, local.day, local.hour, local.minute,
                    local.second)


def _days_to_ews(days: tuple[Weekday, ...]) -> int:
    return _GROUPS.get(days) or days[0] + 1


def _days_from_ews(value: int) -> tuple[Weekday, ...]:
    groups = {number: days for days, number in _GROUPS.items()}
    return groups.get(value) or (Weekday(value - 1),)


def _week_to_ews(index: WeekIndex) -> int:
    return _LAST_WEEK if index is WeekIndex.LAST else int(index)


def _week_from_ews(value: int) -> WeekIndex:
    return WeekIndex.LAST if value == _LAST_WEEK else WeekIndex(value)


def _pattern_to_ews(pattern: Pattern) -> ews.Pattern:
    if isinstance(pattern, Daily):
        return ews.DailyPattern(interval=pattern.interval)
    if isinstance(pattern, Weekly):
        return ews.WeeklyPattern(interval=pattern.interval,
                                 weekdays=[d + 1 for d in pattern.days],
                                 first_day_of_week=pattern.first_day_of_week + 1)
    if isinstance(pattern, AbsoluteMonthly):
        return ews.AbsoluteMonthlyPattern(interval=pattern.interval,
                                          day_of_month=pattern.day_of_month)
    if isinstance(pattern, RelativeMonthly):
        return ews.RelativeMonthlyPattern(interval=pattern.interval,
                                          weekday=_days_to_ews(pattern.days),
                                          week_number=_week_to_ews(pattern.index))
    if isinstance(pattern, AbsoluteYearly):
        return ews.AbsoluteYearlyPattern(day_of_month=pattern.day_of_month,
                                         month=pattern.month)
    return ews.RelativeYearlyPattern(weekday=_days_to_ews(pattern.days),
                                     week_number=_week_to_ews(pattern.index),
                                     month=pattern.month)


def _pattern_from_ews(pattern: ews.Pattern) -> Pattern:
    if isinstance(pattern, ews.DailyPattern):
        return Daily(pattern.interval)
    if isinstance(pattern, ews.WeeklyPattern):
        days = tuple(sorted({Weekday(d - 1) for d in pattern.weekdays}))
        first_day = Weekday((pattern.first_day_of_week or 1) - 1)
        return Weekly(days, pattern.interval, first_day)
    if isinstance(pattern, ews.AbsoluteMonthlyPattern):
        return AbsoluteMonthly(pattern.day_of_month, pattern.interval)
    if isinstance(pattern, ews.RelativeMonthlyPattern):
        return RelativeMonthly(_days_from_ews(pattern.weekday),
                               _week_from_ews(pattern.week_number), pattern.interval)
    if isinstance(pattern, ews.AbsoluteYearlyPattern):
        return AbsoluteYearly(pattern.month, pattern.day_of_month)
    if isinstance(pattern, ews.RelativeYearlyPattern):
        return RelativeYearly(pattern.month, _days_from_ews(pattern.weekday),
                              _week_from_ews(pattern.week_number))
    raise RecurrenceInvalid(f"an unknown recurrence pattern: {pattern}")


def _range_to_ews(range_: Range, first: date) -> ews.Boundary:
    start = EWSDate.from_date(first)
    if isinstance(range_, EndDate):
        return ews.EndDatePattern(start=start, end=EWSDate.from_date(range_.last))
    if isinstance(range_, Numbered):
        return ews.NumberedPattern(start=start, number=range_.count)
    return ews.NoEndPattern(start=start)


def _as_date(value: date) -> date:
    """A range date as a plain ``date`` (exchangelib may give an EWSDate or a datetime)."""
    if isinstance(value, datetime):
        value = value.date()
    return date(value.year, value.month, value.day)


def _range_from_ews(boundary: ews.Boundary) -> Range:
    if isinstance(boundary, ews.EndDatePattern):
        return EndDate(_as_date(boundary.end))
    if isinstance(boundary, ews.NumberedPattern):
        return Numbered(boundary.number)
    return NoEnd()
