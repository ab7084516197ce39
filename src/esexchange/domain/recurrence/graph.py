"""``Recurrence`` <-> Microsoft Graph's ``patternedRecurrence`` (plain JSON dicts).

The shape is Graph v1.0's ``patternedRecurrence`` / ``recurrencePattern`` /
``recurrenceRange``. Graph fills unused properties with defaults (``dayOfMonth: 0``,
``index: "first"``, ``endDate: "0001-01-01"``...), so ``from_graph`` reads only the
properties the pattern and range ``type`` use.

``range.recurrenceTimeZone`` is written as the series' IANA zone. On reading, the zone
is the caller's (the adapter knows the event's zone and translates Windows names), and
the series' wall time is the event's ``start``; ``range.startDate`` gives its first day.
Graph has no regenerating recurrence (To Do repeats on fixed dates only), so a
regenerating task is refused for Graph.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from esexchange.domain.errors import RecurrenceInvalid
from esexchange.domain.recurrence.model import (
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
    Weekday,
    WeekIndex,
    Weekly,
    require_fixed_dates,
)

_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INDEX_NAMES = {WeekIndex.FIRST: "first", WeekIndex.SECOND: "second",
                WeekIndex.THIRD: "third", WeekIndex.FOURTH: "fourth", WeekIndex.LAST: "last"}


def to_graph(recurrence: Recurrence) -> dict[str, Any]:
    """The ``patternedRecurrence`` of a series."""
    require_fixed_dates(recurrence)
    pattern = recurrence.pattern
    assert not isinstance(pattern, Regenerating)
    return {"pattern": _pattern_to_graph(pattern),
            "range": _range_to_graph(recurrence.range, recurrence)}


def from_graph(data: dict[str, Any], *, start: datetime, time_zone: str) -> Recurrence:
    """The series of a ``patternedRecurrence``; ``start`` is the event's naive wall time."""
    try:
        pattern = _pattern_from_graph(data["pattern"])
        raw_range = data["range"]
        first = date.fromisoformat(raw_range.get("startDate") or start.date().isoformat())
        range_ = _range_from_graph(raw_range)
    except (KeyError, TypeError, ValueError) as exc:
        raise RecurrenceInvalid(f"not a Graph patternedRecurrence: {exc!r}") from exc
    return Recurrence(start=datetime.combine(first, start.time()), pattern=pattern,
                      range=range_, time_zone=time_zone)


def _days(days: tuple[Weekday, ...]) -> list[str]:
    return [_DAY_NAMES[d] for d in days]


def _pattern_to_graph(pattern: Pattern) -> dict[str, Any]:
    if isinstance(pattern, Daily):
        return {"type": "daily", "interval": pattern.interval}
    if isinstance(pattern, Weekly):
        return {"type": "weekly", "interval": pattern.interval,
                "daysOfWeek": _days(pattern.days),
                "firstDayOfWeek": _DAY_NAMES[pattern.first_day_of_week]}
    if isinstance(pattern, AbsoluteMonthly):
        return {"type": "absoluteMonthly", "interval": pattern.interval,
                "dayOfMonth": pattern.day_of_month}
    if isinstance(pattern, RelativeMonthly):
        return {"type": "relativeMonthly", "interval": pattern.interval,
                "daysOfWeek": _days(pattern.days), "index": _INDEX_NAMES[pattern.index]}
    if isinstance(pattern, AbsoluteYearly):
        return {"type": "absoluteYearly", "interval": pattern.interval,
                "month": pattern.month, "dayOfMonth": pattern.day_of_month}
    return {"type": "relativeYearly", "interval": pattern.interval, "month": pattern.month,
            "daysOfWeek": _days(pattern.days), "index": _INDEX_NAMES[pattern.index]}


def _range_to_graph(range_: Range, recurrence: Recurrence) -> dict[str, Any]:
    out: dict[str, Any] = {"startDate": recurrence.start.date().isoformat(),
                           "recurrenceTimeZone": recurrence.time_zone}
    if isinstance(range_, EndDate):
        out |= {"type": "endDate", "endDate": range_.last.isoformat()}
    elif isinstance(range_, Numbered):
        out |= {"type": "numbered", "numberOfOccurrences": range_.count}
    else:
        out |= {"type": "noEnd"}
    return out


def _pattern_from_graph(raw: dict[str, Any]) -> Pattern:
    kind = raw["type"]
    interval = int(raw.get("interval") or 1)
    if kind == "daily":
        return Daily(interval)
    if kind == "weekly":
        return Weekly(_days_from(raw), interval,
                      Weekday(_DAY_NAMES.index(raw.get("firstDayOfWeek") or "sunday")))
    if kind == "absoluteMonthly":
        return AbsoluteMonthly(int(raw["dayOfMonth"]), interval)
    if kind == "relativeMonthly":
        return RelativeMonthly(_days_from(raw), _index_from(raw), interval)
    if kind == "absoluteYearly":
        return AbsoluteYearly(int(raw["month"]), int(raw["dayOfMonth"]), interval)
    if kind == "relativeYearly":
        return RelativeYearly(int(raw["month"]), _days_from(raw), _index_from(raw), interval)
    raise ValueError(f"unknown pattern type {kind!r}")


def _days_from(raw: dict[str, Any]) -> tuple[Weekday, ...]:
    return tuple(sorted({Weekday(_DAY_NAMES.index(name)) for name in raw["daysOfWeek"]}))


def _index_from(raw: dict[str, Any]) -> WeekIndex:
    name = raw.get("index") or "first"
    return next(index for index, text in _INDEX_NAMES.items() if text == name)


def _range_from_graph(raw: dict[str, Any]) -> Range:
    kind = raw["type"]
    if kind == "noEnd":
        return NoEnd()
    if kind == "endDate":
        return EndDate(date.fromisoformat(raw["endDate"]))
    if kind == "numbered":
        return Numbered(int(raw["numberOfOccurrences"]))
    raise ValueError(f"unknown range type {kind!r}")
