"""The ``Recurrence`` value: how a series repeats, in Exchange's own terms.

A series is a first occurrence (``start``, a naive wall time in ``time_zone``), a
*pattern* and a *range*. The pattern types are Exchange's (MS-OXWSCDATA
``RecurrencePatternTypes``, and Graph's ``recurrencePatternType`` is the same list), so
every value here can be shown by Outlook; RFC 5545 text is read into them and written
from them by ``rrule.py``, Graph's ``patternedRecurrence`` by ``graph.py``, and
``expand.py`` lists the occurrences.

Semantics that differ from a literal reading of RFC 5545 (and are why a rule is refused
rather than translated when they would change the dates):

- A monthly or yearly ``day_of_month`` beyond a month's length falls on that month's
  last day (day 31 is "the last day of the month"), as Outlook does; RFC 5545 would
  skip the month.
- ``EndDate.last`` is inclusive: occurrences on that local day still happen.
- ``Numbered.count`` counts deleted occurrences too (as both Exchange and RFC 5545 do).
- Occurrences are the dates the pattern generates on or after ``start``'s day, at
  ``start``'s wall time, whatever the UTC offset that day (DST keeps the wall time).
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from esexchange.domain.errors import RecurrenceRefused


class Weekday(IntEnum):
    """A day of the week; the values are ``date.weekday()``'s."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


WEEKDAYS = (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY,
            Weekday.FRIDAY)
WEEKEND = (Weekday.SATURDAY, Weekday.SUNDAY)
EVERY_DAY = tuple(Weekday)

DAY_GROUPS: frozenset[tuple[Weekday, ...]] = frozenset(
    {(day,) for day in Weekday} | {WEEKDAYS, WEEKEND, EVERY_DAY}
)
"""What a relative pattern may count: one weekday, or Exchange's ``Weekday``,
``WeekendDay`` and ``Day``."""


class WeekIndex(IntEnum):
    """Which of the month's matching days a relative pattern means (``DayOfWeekIndex``)."""

    FIRST = 1
    SECOND = 2
    THIRD = 3
    FOURTH = 4
    LAST = -1


def _check_interval(interval: int) -> None:
    if not 1 <= interval <= 999:
        raise RecurrenceRefused(f"interval {interval} (Outlook allows 1 to 999)",
                                part="INTERVAL")


def _check_day_group(days: tuple[Weekday, ...]) -> None:
    if days not in DAY_GROUPS:
        names = ",".join(day.name[:2] for day in days)
        raise RecurrenceRefused(
            f"the days {names} counted together (Outlook counts one weekday, every day, "
            "weekdays or weekend days)", part="BYDAY")


def month_lengths(month: int | None) -> tuple[int, int]:
    """The shortest and longest length of ``month`` (of any month when None)."""
    if month is None:
        return 28, 31
    return (28, 29) if month == 2 else (monthrange(2001, month)[1],) * 2


def _check_month_day(month: int | None, day: int) -> None:
    if month is not None and not 1 <= month <= 12:
        raise RecurrenceRefused(f"month {month}", part="BYMONTH")
    if not 1 <= day <= month_lengths(month)[1]:
        raise RecurrenceRefused(f"day {day} of month {month or 'any'}", part="BYMONTHDAY")


@dataclass(frozen=True)
class Daily:
    """Every ``interval`` days."""

    interval: int = 1

    def __post_init__(self) -> None:
        _check_interval(self.interval)


@dataclass(frozen=True)
class Weekly:
    """On ``days`` every ``interval`` weeks; weeks begin on ``first_day_of_week``."""

    days: tuple[Weekday, ...]
    interval: int = 1
    first_day_of_week: Weekday = Weekday.MONDAY

    def __post_init__(self) -> None:
        _check_interval(self.interval)
        if not self.days or tuple(sorted(set(self.days))) != self.days:
            raise ValueError(f"weekly days must be distinct, sorted and not empty: {self.days}")


@dataclass(frozen=True)
class AbsoluteMonthly:
    """On day ``day_of_month`` (the last day where the month is shorter)."""

    day_of_month: int
    interval: int = 1

    def __post_init__(self) -> None:
        _check_interval(self.interval)
        _check_month_day(None, self.day_of_month)


@dataclass(frozen=True)
class RelativeMonthly:
    """On the ``index``-th of ``days`` in the month, every ``interval`` months."""

    days: tuple[Weekday, ...]
    index: WeekIndex
    interval: int = 1

    def __post_init__(self) -> None:
        _check_interval(self.interval)
        _check_day_group(self.days)


@dataclass(frozen=True)
class AbsoluteYearly:
    """On ``day_of_month`` of ``month`` (the month's last day where it is shorter)."""

    month: int
    day_of_month: int
    interval: int = 1

    def __post_init__(self) -> None:
        _check_interval(self.interval)
        _check_month_day(self.month, self.day_of_month)


@dataclass(frozen=True)
class RelativeYearly:
    """On the ``index``-th of ``days`` in ``month``."""

    month: int
    days: tuple[Weekday, ...]
    index: WeekIndex
    interval: int = 1

    def __post_init__(self) -> None:
        _check_interval(self.interval)
        _check_month_day(self.month, 1)
        _check_day_group(self.days)


class Unit(IntEnum):
    """The unit of a regenerating task's interval."""

    DAY = 1
    WEEK = 2
    MONTH = 3
    YEAR = 4


@dataclass(frozen=True)
class Regenerating:
    """A task that comes back ``interval`` units after its last completion (EWS
    ``DailyRegeneration`` ... ``YearlyRegeneration``); ``X-REGENERATE=1`` in RRULE text."""

    unit: Unit
    interval: int = 1

    def __post_init__(self) -> None:
        _check_interval(self.interval)


Pattern = Daily | Weekly | AbsoluteMonthly | RelativeMonthly | AbsoluteYearly | RelativeYearly
"""A calendar pattern: the dates follow from the pattern alone."""


@dataclass(frozen=True)
class NoEnd:
    """The series never ends."""


@dataclass(frozen=True)
class EndDate:
    """The series ends after the occurrences of local day ``last`` (inclusive)."""

    last: date


@dataclass(frozen=True)
class Numbered:
    """The series has ``count`` occurrences."""

    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= 999:
            raise RecurrenceRefused(f"{self.count} occurrences (Outlook allows 1 to 999)",
                                    part="COUNT")


Range = NoEnd | EndDate | Numbered


@dataclass(frozen=True)
class Recurrence:
    """A series: its first occurrence, pattern, range, zone and changed occurrences.

    ``start`` is the first occurrence's naive wall time in ``time_zone`` (an IANA key).
    ``modified`` and ``deleted`` are the original starts (as the pattern generates them,
    same wall-time convention) of occurrences that were changed or removed.
    """

    start: datetime
    pattern: Pattern | Regenerating
    range: Range = NoEnd()
    time_zone: str = "UTC"
    modified: frozenset[datetime] = field(default_factory=frozenset)
    deleted: frozenset[datetime] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None:
            raise ValueError("a series start is a naive wall time in its time zone")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.time_zone!r}") from exc
        if isinstance(self.range, EndDate) and self.range.last < self.start.date():
            raise RecurrenceRefused(
                f"the series ends on {self.range.last}, before its first occurrence "
                f"{self.start.date()}", part="UNTIL")
        if self.modified & self.deleted:
            both = min(self.modified & self.deleted)
            raise ValueError(f"occurrence {both} is both modified and deleted")

    @property
    def regenerating(self) -> bool:
        """A task repeating from its completion rather than on fixed dates."""
        return isinstance(self.pattern, Regenerating)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def require_ews_expressible(recurrence: Recurrence) -> None:
    """Refuse what Graph can hold but EWS cannot: yearly patterns have no interval there."""
    pattern = recurrence.pattern
    if isinstance(pattern, AbsoluteYearly | RelativeYearly) and pattern.interval > 1:
        raise RecurrenceRefused(
            f"every {pattern.interval} years (Exchange Web Services repeats yearly patterns "
            "every year only)", part="INTERVAL")


def require_fixed_dates(recurrence: Recurrence) -> None:
    """Refuse what EWS can hold but Graph cannot: To Do repeats on fixed dates only, it
    has no task that regenerates a while after each completion."""
    if isinstance(recurrence.pattern, Regenerating):
        raise RecurrenceRefused("a task that regenerates after completion (Microsoft Graph "
                                "repeats on fixed dates only)", part="X-REGENERATE")


def same_series(old: Recurrence, new: Recurrence) -> bool:
    """Whether two recurrences generate the same occurrences before deletions."""
    return (old.start, old.pattern, old.range, old.time_zone) == (
        new.start, new.pattern, new.range, new.time_zone)


def deletions_to_add(old: Recurrence | None, new: Recurrence) -> frozenset[datetime] | None:
    """The occurrences to delete from series ``old`` to make it ``new``, or None when
    ``new`` must be written afresh (another series, or deleted occurrences given back),
    which in Exchange drops every modified and deleted occurrence."""
    if old is None or not same_series(old, new) or not old.deleted <= new.deleted:
        return None
    return new.deleted - old.deleted
