"""Expansion of recurring calendar items into occurrences, as a CalendarView shows them.

A master keeps its ``Recurrence`` element as the client sent it; this module reads the
pattern (daily, weekly, absolute and relative monthly, absolute and relative yearly) and
the range (no end, end date, numbered), and lays the occurrences out in the master's own
time zone, so 09:00 stays 09:00 across a daylight saving change.
"""

from __future__ import annotations

import base64
import binascii
import calendar
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exchangelib.winzone import MS_TIMEZONE_TO_IANA_MAP
from lxml import etree

from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.values import Value, XmlValue

T = "{http://schemas.microsoft.com/exchange/services/2006/types}"
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
    if not isinstance(rule, XmlValue):
        return []
    zone = zone_of(fields.get("StartTimeZone"))
    local_start = master_start.astimezone(zone)
    duration = master_end - master_start
    found = []
    for index, day in enumerate(_dates(etree.fromstring(rule.xml), local_start.date()), start=1):
        occ_start = datetime.combine(day, local_start.timetz().replace(tzinfo=None), zone)
        occ_start = occ_start.astimezone(master_start.tzinfo)
        if (end is not None and occ_start >= end) or (until_index and index > until_index):
            break
        if (
            start is None
            or occ_start + duration > start
            or (duration == timedelta() and occ_start >= start)
        ):
            found.append((index, (occ_start, occ_start + duration)))
    return found


_REGENERATION_STEPS = {
    "DailyRegeneration": lambda n: {"days": n},
    "WeeklyRegeneration": lambda n: {"weeks": n},
}


def next_task_dates(fields: dict[str, Value], now: datetime) -> dict[str, datetime] | None:
    """StartDate and DueDate of a recurring task's next occurrence; None when the series ends.

    A recurrence pattern moves the task to the next date after its current one; a
    regenerating pattern to the interval after now (the task is done with "now").
    """
    rule = fields.get("Recurrence")
    anchor = fields.get("DueDate") or fields.get("StartDate")
    if not isinstance(rule, XmlValue) or not isinstance(anchor, datetime):
        return None
    root = etree.fromstring(rule.xml)
    pattern = next(c for c in root if isinstance(c.tag, str))
    kind = etree.QName(pattern).localname
    interval = int(pattern.findtext(f"{T}Interval") or 1)
    if kind.endswith("Regeneration"):
        months = {"MonthlyRegeneration": interval, "YearlyRegeneration": 12 * interval}
        if kind in months:
            total = now.year * 12 + now.month - 1 + months[kind]
            year, month = total // 12, total % 12 + 1
            day = min(now.day, calendar.monthrange(year, month)[1])
            next_day = date(year, month, day)
        else:
            next_day = now.date() + timedelta(**_REGENERATION_STEPS[kind](interval))
    else:
        later = (d for d in _dates(root, anchor.date()) if d > anchor.date())
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


def deleted_starts(fields: dict[str, Value]) -> set[datetime]:
    """Original starts of the occurrences deleted from a master's series."""
    listed = fields.get("DeletedOccurrences")
    if not isinstance(listed, XmlValue):
        return set()
    root = etree.fromstring(listed.xml)
    return {
        datetime.fromisoformat((node.text or "").strip()).astimezone(UTC)
        for node in root.iter(f"{T}Start")
    }


def deleted_occurrences(starts: set[datetime]) -> XmlValue:
    """The ``DeletedOccurrences`` element listing ``starts`` in time order."""
    root = etree.Element(f"{T}DeletedOccurrences")
    for start in sorted(starts):
        occurrence = etree.SubElement(root, f"{T}DeletedOccurrence")
        etree.SubElement(occurrence, f"{T}Start").text = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    return XmlValue(etree.tostring(root))


def modified_occurrences(exceptions: list[Any]) -> XmlValue:
    """The ``ModifiedOccurrences`` element: id, times and original start of each exception."""
    root = etree.Element(f"{T}ModifiedOccurrences")
    for exception in exceptions:
        node = etree.SubElement(root, f"{T}Occurrence")
        etree.SubElement(node, f"{T}ItemId", Id=exception.id, ChangeKey=exception.change_key)
        for name in ("Start", "End", "OriginalStart"):
            value = exception.fields[name]
            etree.SubElement(node, f"{T}{name}").text = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return XmlValue(etree.tostring(root))


def has_end(fields: dict[str, Value]) -> bool:
    """Whether a master's series ends (an end date or a number of occurrences)."""
    rule = fields.get("Recurrence")
    return (
        isinstance(rule, XmlValue)
        and etree.fromstring(rule.xml).find(f"{T}NoEndRecurrence") is None
    )


def zone_of(definition: Value | None) -> ZoneInfo:
    """The zone of a ``TimeZoneDefinition`` (by its Windows id), UTC when there is none."""
    if isinstance(definition, XmlValue):
        windows_id = etree.fromstring(definition.xml).get("Id", "")
        try:
            return ZoneInfo(MS_TIMEZONE_TO_IANA_MAP.get(windows_id, windows_id))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def _dates(rule: etree._Element, first: date) -> Iterator[date]:
    children = [c for c in rule if isinstance(c.tag, str)]
    if len(children) != 2:
        raise EwsError("ErrorInvalidRecurrence", "A recurrence needs a pattern and a range.")
    pattern, span = children
    range_start = _date(span.findtext(f"{T}StartDate")) or first
    range_end = _date(span.findtext(f"{T}EndDate"))
    count = int(span.findtext(f"{T}NumberOfOccurrences") or 0) or None
    produced = 0
    for day in _pattern_dates(pattern, range_start):
        if range_end is not None and day > range_end:
            return
        if day < range_start:
            continue
        yield day
        produced += 1
        if produced == count or produced >= MAX_OCCURRENCES:
            return


def _pattern_dates(pattern: etree._Element, start: date) -> Iterator[date]:
    kind = etree.QName(pattern).localname
    interval = int(pattern.findtext(f"{T}Interval") or 1)
    if interval < 1:
        raise EwsError("ErrorInvalidRecurrence", "The recurrence interval must be positive.")
    days = (pattern.findtext(f"{T}DaysOfWeek") or "").split()
    if kind == "DailyRecurrence":
        for step in range(MAX_OCCURRENCES):
            yield start + timedelta(days=step * interval)
    elif kind == "WeeklyRecurrence":
        first_day = WEEKDAYS.index(pattern.findtext(f"{T}FirstDayOfWeek") or "Sunday")
        week = start - timedelta(days=(start.weekday() - first_day) % 7)
        wanted = sorted((WEEKDAYS.index(d) - first_day) % 7 for d in days)
        for step in range(MAX_OCCURRENCES):
            for offset in wanted:
                yield week + timedelta(days=step * interval * 7 + offset)
    elif kind in ("AbsoluteMonthlyRecurrence", "RelativeMonthlyRecurrence"):
        for year, month in _months(start, interval):
            yield _day_in_month(pattern, year, month)
    elif kind in ("AbsoluteYearlyRecurrence", "RelativeYearlyRecurrence"):
        month = MONTHS.index(pattern.findtext(f"{T}Month") or "") + 1
        for year in range(start.year, start.year + MAX_OCCURRENCES):
            yield _day_in_month(pattern, year, month)
    else:
        raise EwsError("ErrorInvalidRecurrence", f"The sandbox does not expand {kind} patterns.")


def _months(start: date, interval: int) -> Iterator[tuple[int, int]]:
    for step in range(MAX_OCCURRENCES):
        total = start.year * 12 + start.month - 1 + step * interval
        yield total // 12, total % 12 + 1


def _day_in_month(pattern: etree._Element, year: int, month: int) -> date:
    last = calendar.monthrange(year, month)[1]
    day_of_month = pattern.findtext(f"{T}DayOfMonth")
    if day_of_month is not None:
        # Outlook puts the 31st of a shorter month on its last day.
        return date(year, month, min(int(day_of_month), last))
    wanted = pattern.findtext(f"{T}DaysOfWeek") or "Day"
    candidates = [
        date(year, month, d) for d in range(1, last + 1) if _matches(date(year, month, d), wanted)
    ]
    index = pattern.findtext(f"{T}DayOfWeekIndex") or "First"
    return candidates[-1] if index == "Last" else candidates[INDEXES.index(index)]


def _matches(day: date, wanted: str) -> bool:
    if wanted == "Day":
        return True
    if wanted == "Weekday":
        return day.weekday() < 5
    if wanted == "WeekendDay":
        return day.weekday() >= 5
    return WEEKDAYS[day.weekday()] == wanted


def _date(text: str | None) -> date | None:
    if not text:
        return None
    return date.fromisoformat(text[:10])  # xs:date may carry a zone suffix; the date is local
