"""Recurrences, time zones and occurrence lists between EWS XML and the store's values.

The store keeps a typed :class:`Recurrence`; this module reads it from a ``t:Recurrence``
element (``RecurrenceType``, or ``TaskRecurrenceType`` with the regenerating patterns) and
writes it back in the schema's order. Exchange writes the dates of a recurrence range
with the offset of the item's time zone on that day (``2013-05-19+02:00``; ``Z`` for
tasks, which have none), whatever the client sent.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lxml import etree

from esexchange.sandbox.ews import schema
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.soap import t
from esexchange.sandbox.models.values import (
    DeletedStarts,
    OccurrenceRef,
    OccurrenceRefs,
    Pattern,
    PatternKind,
    RangeKind,
    Recurrence,
    RecurrenceRange,
    TimeZone,
)

# The ``types.xsd`` type of each pattern element.
_PATTERN_TYPES = {
    "RelativeYearlyRecurrence": "RelativeYearlyRecurrencePatternType",
    "AbsoluteYearlyRecurrence": "AbsoluteYearlyRecurrencePatternType",
    "RelativeMonthlyRecurrence": "RelativeMonthlyRecurrencePatternType",
    "AbsoluteMonthlyRecurrence": "AbsoluteMonthlyRecurrencePatternType",
    "WeeklyRecurrence": "WeeklyRecurrencePatternType",
    "DailyRecurrence": "DailyRecurrencePatternType",
    "DailyRegeneration": "DailyRegeneratingPatternType",
    "WeeklyRegeneration": "WeeklyRegeneratingPatternType",
    "MonthlyRegeneration": "MonthlyRegeneratingPatternType",
    "YearlyRegeneration": "YearlyRegeneratingPatternType",
}
_RANGES = {"NoEndRecurrence": RangeKind.NO_END, "EndDateRecurrence": RangeKind.END_DATE,
           "NumberedRecurrence": RangeKind.NUMBERED}  # fmt: skip


def _pattern_element(kind: PatternKind) -> str:
    return kind.value if kind.regenerates else f"{kind.value}Recurrence"


def parse_recurrence(element: etree._Element) -> Recurrence:
    """The typed recurrence of a ``t:Recurrence`` element (already schema-valid)."""
    children = [c for c in element if isinstance(c.tag, str)]
    if len(children) != 2:
        raise EwsError("ErrorInvalidRecurrence", "A recurrence needs a pattern and a range.")
    pattern_node, range_node = children
    name = etree.QName(pattern_node).localname
    kind = PatternKind(name.removesuffix("Recurrence"))

    def text(field: str) -> str | None:
        found = pattern_node.findtext(t(field))
        return found.strip() if found is not None else None

    interval, day_of_month = text("Interval"), text("DayOfMonth")
    pattern = Pattern(
        kind=kind,
        interval=int(interval) if interval is not None else None,
        days_of_week=tuple((text("DaysOfWeek") or "").split()),
        first_day_of_week=text("FirstDayOfWeek"),
        day_of_month=int(day_of_month) if day_of_month is not None else None,
        day_of_week_index=text("DayOfWeekIndex"),
        month=text("Month"),
    )
    range_kind = _RANGES[etree.QName(range_node).localname]
    end, count = range_node.findtext(t("EndDate")), range_node.findtext(t("NumberOfOccurrences"))
    span = RecurrenceRange(
        kind=range_kind,
        start=_date(range_node.findtext(t("StartDate")) or ""),
        end=_date(end) if end else None,
        count=int(count) if count else None,
    )
    return Recurrence(pattern, span)


def render_recurrence(parent: etree._Element, rule: Recurrence, zone: ZoneInfo) -> None:
    """Append ``t:Recurrence``: the pattern's fields in schema order, dates with offsets."""
    node = etree.SubElement(parent, t("Recurrence"))
    element = _pattern_element(rule.pattern.kind)
    pattern_node = etree.SubElement(node, t(element))
    pattern = rule.pattern
    present = {
        "Interval": str(pattern.interval) if pattern.interval is not None else None,
        "DaysOfWeek": " ".join(pattern.days_of_week) or None,
        "FirstDayOfWeek": pattern.first_day_of_week,
        "DayOfMonth": str(pattern.day_of_month) if pattern.day_of_month is not None else None,
        "DayOfWeekIndex": pattern.day_of_week_index,
        "Month": pattern.month,
    }
    for name, _ in schema.elements(_PATTERN_TYPES[element]):
        if present.get(name) is not None:
            etree.SubElement(pattern_node, t(name)).text = present[name]
    span = rule.range
    range_name = next(name for name, kind in _RANGES.items() if kind is span.kind)
    range_node = etree.SubElement(node, t(range_name))
    etree.SubElement(range_node, t("StartDate")).text = _zoned(span.start, zone)
    if span.kind is RangeKind.END_DATE and span.end is not None:
        etree.SubElement(range_node, t("EndDate")).text = _zoned(span.end, zone)
    if span.kind is RangeKind.NUMBERED:
        etree.SubElement(range_node, t("NumberOfOccurrences")).text = str(span.count or 0)


def parse_time_zone(element: etree._Element) -> TimeZone:
    """A ``TimeZoneDefinition`` (``StartTimeZone``...): its Id, and the element kept as sent."""
    return TimeZone(element.get("Id", ""), etree.tostring(element))


def render_time_zone(parent: etree._Element, name: str, zone: TimeZone) -> None:
    """Append a time zone element as it was sent (just its Id if none was)."""
    if zone.definition:
        node = etree.fromstring(zone.definition)
        node.tag = t(name)
        parent.append(node)
    else:
        etree.SubElement(parent, t(name), Id=zone.zone_id)


def render_deleted(parent: etree._Element, deleted: DeletedStarts) -> None:
    """Append ``t:DeletedOccurrences``: the original start of each deleted occurrence."""
    node = etree.SubElement(parent, t("DeletedOccurrences"))
    for start in deleted.starts:
        etree.SubElement(etree.SubElement(node, t("DeletedOccurrence")), t("Start")).text = _utc(
            start
        )


def render_occurrences(parent: etree._Element, name: str, refs: OccurrenceRefs) -> None:
    """Append ``t:ModifiedOccurrences`` (or another list of occurrences)."""
    node = etree.SubElement(parent, t(name))
    for ref in refs.entries:
        render_occurrence(node, "Occurrence", ref)


def render_occurrence(parent: etree._Element, name: str, ref: OccurrenceRef) -> None:
    """Append one ``OccurrenceInfoType`` element (``FirstOccurrence``, ``Occurrence``...)."""
    node = etree.SubElement(parent, t(name))
    etree.SubElement(node, t("ItemId"), Id=ref.item_id, ChangeKey=ref.change_key)
    for field, value in (
        ("Start", ref.start),
        ("End", ref.end),
        ("OriginalStart", ref.original_start),
    ):
        etree.SubElement(node, t(field)).text = _utc(value)


def _utc(value: datetime) -> str:
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(text: str) -> date:
    return date.fromisoformat(text.strip()[:10])  # xs:date may carry a zone; the date is local


def _zoned(day: date, zone: ZoneInfo) -> str:
    offset = datetime.combine(day, time(), zone).utcoffset() or timedelta()
    if not offset:
        return day.isoformat() + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{day.isoformat()}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
