"""The CreateItem element of a single appointment, built straight from the domain's value.

A first pass creates thousands of appointments; building each as an exchangelib
``CalendarItem``, cleaning it and letting exchangelib serialize it field by field was
most of the client's CPU per item. ``appointment_element`` writes the same XML directly:
the fields, values, order and time zone handling of what exchangelib sends for the
``CalendarItem`` that ``items.to_exchangelib`` builds (``tests/exchange/test_ews_wire.py``
compares both on many items), and refuses what exchangelib's ``clean`` refuses, with
the same words. Series, tasks, items without a start or end and servers before Exchange
2010 (MeetingTimeZone instead of StartTimeZone/EndTimeZone) keep exchangelib's path
(``direct_create``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from exchangelib import EWSTimeZone
from exchangelib.util import TNS
from exchangelib.version import EXCHANGE_2010
from lxml import etree

from esexchange.domain.model import ExchangeItem, Kind
from esexchange.exchange.ews.items import ErpIdProperty, sendable

_SUBJECT_MAX = 255  # exchangelib's CharField, Exchange's limit for the subject
_T = {"t": TNS}


def direct_create(item: ExchangeItem, version: Any) -> bool:
    """Whether ``appointment_element`` builds this item's CreateItem element."""
    return (item.kind is Kind.APPOINTMENT and item.recurrence is None
            and item.start is not None and item.end is not None
            and version.build >= EXCHANGE_2010)


def appointment_element(item: ExchangeItem, zone: EWSTimeZone) -> Any:
    """The ``t:CalendarItem`` CreateItem sends for ``item`` (see ``direct_create``),
    labelled with ``zone`` (the connection's); ``ValueError`` for what Exchange would
    refuse."""
    subject = sendable(item.subject)
    if len(subject) > _SUBJECT_MAX:
        raise ValueError(f"'subject' value {subject!r} exceeds length {_SUBJECT_MAX}")
    categories = [sendable(name) for name in item.categories]
    for name in categories:
        if len(name) > _SUBJECT_MAX:
            raise ValueError(f"'categories' value {name!r} exceeds length {_SUBJECT_MAX}")
    if item.reminder_minutes is not None and item.reminder_minutes < 0:
        raise ValueError(f"Value {item.reminder_minutes} on field "
                         "'reminder_minutes_before_start' must be greater than 0")
    start, end = _bounds(item, zone)
    if item.all_day and end <= start:
        # exchangelib compares the inclusive last day with the first
        assert isinstance(item.start, date) and isinstance(item.end, date)
        last = item.end - timedelta(days=1)
        raise ValueError(f"'end' must be greater than 'start' ({item.start} -> {last})")
    if end < start:
        raise ValueError(f"'end' must be greater than 'start' ({start} -> {end})")

    element = etree.Element(f"{{{TNS}}}CalendarItem", nsmap=_T)
    _text(element, "Subject", subject)
    _text(element, "Sensitivity", item.sensitivity.value)
    if item.body:
        _text(element, "Body", sendable(item.body)).set("BodyType", "Text")
    if categories:
        listed = etree.SubElement(element, f"{{{TNS}}}Categories")
        for name in categories:
            _text(listed, "String", name)
    _text(element, "Importance", item.importance.value)
    _text(element, "ReminderIsSet", _boolean(item.reminder_minutes is not None))
    _text(element, "ReminderMinutesBeforeStart", str(item.reminder_minutes or 0))
    if item.erp_id is not None:
        _erp_id(element, item.erp_id)
    _text(element, "Start", _ews_datetime(start))
    _text(element, "End", _ews_datetime(end))
    _text(element, "IsAllDayEvent", _boolean(item.all_day))
    _text(element, "LegacyFreeBusyStatus", "Busy")
    location = sendable(item.location)
    if location:
        _text(element, "Location", location)
    etree.SubElement(element, f"{{{TNS}}}StartTimeZone").set("Id", zone.ms_id)
    etree.SubElement(element, f"{{{TNS}}}EndTimeZone").set("Id", zone.ms_id)
    return element


def _bounds(item: ExchangeItem, zone: EWSTimeZone) -> tuple[datetime, datetime]:
    """Start and end on the wire: a timed appointment's instants in ``zone``, an all-day
    one's dates as midnights there (the end is exclusive, as in the domain)."""
    assert item.start is not None and item.end is not None, "see direct_create"
    return _in_zone(item.start, zone), _in_zone(item.end, zone)


def _in_zone(value: date | datetime, zone: EWSTimeZone) -> datetime:
    # The zone as a plain ZoneInfo (the same rules): EWSTimeZone.fromutc wraps every
    # result in an EWSDateTime, a third of this function's CPU, for the same text.
    plain = ZoneInfo(zone.key)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"time {value.isoformat()} has no time zone (UTC expected)")
        return value.astimezone(UTC).astimezone(plain)
    return datetime.combine(value, time(0, 0)).replace(tzinfo=plain)


def _ews_datetime(value: datetime) -> str:
    """As exchangelib's ``EWSDateTime.ewsformat``: ``Z`` in UTC, else the offset."""
    if getattr(value.tzinfo, "key", None) == "UTC":
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if value.microsecond
                              else "%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _erp_id(parent: Any, erp_id: int) -> None:
    prop = etree.SubElement(parent, f"{{{TNS}}}ExtendedProperty")
    uri = etree.SubElement(prop, f"{{{TNS}}}ExtendedFieldURI")
    uri.set("PropertySetId", ErpIdProperty.property_set_id)
    uri.set("PropertyName", ErpIdProperty.property_name)
    uri.set("PropertyType", ErpIdProperty.property_type)
    _text(prop, "Value", str(erp_id))


def _text(parent: Any, name: str, value: str) -> Any:
    child = etree.SubElement(parent, f"{{{TNS}}}{name}")
    child.text = value
    return child


def _boolean(value: bool) -> str:
    return "1" if value else "0"

