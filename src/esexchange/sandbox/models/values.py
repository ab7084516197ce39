"""Typed values of item properties, as the store keeps them.

Properties are named as Exchange names them (``Subject``, ``Start``, ``Recurrence``...).
Scalars are Python values; what the store interprets is typed (a :class:`Recurrence`, a
:class:`TimeZone`, the occurrences of a series), so the store reads no protocol's format.
Structured properties it never interprets field by field (attendees, meeting time zones,
unknown elements) are kept as an :class:`XmlValue`, the canonical XML of the element as
an EWS client sent it, so nothing a client stored is lost.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from lxml import etree


@dataclass(frozen=True)
class Body:
    """An item body: ``HTML`` or ``Text`` content."""

    body_type: str
    text: str


@dataclass(frozen=True)
class XmlValue:
    """A structured property kept as the canonical XML of its element."""

    xml: bytes


@dataclass(frozen=True)
class ExtendedKey:
    """Identity of a MAPI extended property, as an ``ExtendedFieldURI`` names it."""

    property_type: str
    distinguished_set: str | None = None
    property_set: str | None = None  # a GUID, kept lower case
    property_tag: int | None = None
    property_name: str | None = None
    property_id: int | None = None


class PatternKind(StrEnum):
    """How a series repeats; the regenerating kinds (tasks only) count from completion."""

    DAILY = "Daily"
    WEEKLY = "Weekly"
    ABSOLUTE_MONTHLY = "AbsoluteMonthly"
    RELATIVE_MONTHLY = "RelativeMonthly"
    ABSOLUTE_YEARLY = "AbsoluteYearly"
    RELATIVE_YEARLY = "RelativeYearly"
    DAILY_REGENERATION = "DailyRegeneration"
    WEEKLY_REGENERATION = "WeeklyRegeneration"
    MONTHLY_REGENERATION = "MonthlyRegeneration"
    YEARLY_REGENERATION = "YearlyRegeneration"

    @property
    def regenerates(self) -> bool:
        """Whether the next occurrence is counted from the completion of the current one."""
        return self.value.endswith("Regeneration")


class RangeKind(StrEnum):
    """How a series ends: never, on a date, or after a number of occurrences."""

    NO_END = "NoEnd"
    END_DATE = "EndDate"
    NUMBERED = "Numbered"


@dataclass(frozen=True)
class Pattern:
    """The repeating part of a recurrence; only the fields of its kind are set.

    ``days_of_week`` holds week days (``Monday``...) or, for relative patterns, one of
    ``Day``, ``Weekday``, ``WeekendDay``; ``day_of_week_index`` is ``First``...``Last``.
    """

    kind: PatternKind
    interval: int | None = None
    days_of_week: tuple[str, ...] = ()
    first_day_of_week: str | None = None
    day_of_month: int | None = None
    day_of_week_index: str | None = None
    month: str | None = None  # January ... December


@dataclass(frozen=True)
class RecurrenceRange:
    """Where a series starts (a local date) and how it ends."""

    kind: RangeKind
    start: date
    end: date | None = None  # END_DATE only, inclusive
    count: int | None = None  # NUMBERED only


@dataclass(frozen=True)
class Recurrence:
    """A recurrence: a pattern and a range, dates in the item's own time zone."""

    pattern: Pattern
    range: RecurrenceRange


@dataclass(frozen=True)
class TimeZone:
    """A time zone of an item: its id (Windows, as Exchange names zones) and, opaque to
    the store, the definition the client sent, written back as it came."""

    zone_id: str
    definition: bytes = b""


@dataclass(frozen=True)
class OccurrenceRef:
    """One occurrence of a series as its master lists it: id, times and original start."""

    item_id: str
    change_key: str
    start: datetime
    end: datetime
    original_start: datetime


@dataclass(frozen=True)
class OccurrenceRefs:
    """Occurrences a master lists (its ``ModifiedOccurrences``), in original-start order."""

    entries: tuple[OccurrenceRef, ...]


@dataclass(frozen=True)
class DeletedStarts:
    """Original starts of the occurrences deleted from a series (``DeletedOccurrences``)."""

    starts: tuple[datetime, ...]


Value = (
    str | bool | int | float | datetime | tuple[str, ...] | Body | XmlValue
    | Recurrence | TimeZone | OccurrenceRef | OccurrenceRefs | DeletedStarts
)  # fmt: skip
ExtendedValue = str | tuple[str, ...]  # ``Value`` or ``Values`` of an ExtendedProperty


_T = "{http://schemas.microsoft.com/exchange/services/2006/types}"
RECIPIENT_FIELDS = (
    "RequiredAttendees",
    "OptionalAttendees",
    "Resources",
    "ToRecipients",
    "CcRecipients",
    "BccRecipients",
)


def recipient_addresses(fields: dict[str, Value]) -> tuple[str, ...]:
    """SMTP addresses of the attendees or recipients of an item (whom a message would reach)."""
    found: list[str] = []
    for name in RECIPIENT_FIELDS:
        value = fields.get(name)
        if isinstance(value, XmlValue):
            root = etree.fromstring(value.xml)
            found.extend(a.text or "" for a in root.iter(f"{_T}EmailAddress"))
    return tuple(found)


def recipients_xml(name: str, addresses: tuple[str, ...]) -> XmlValue:
    """A recipient list element (``ToRecipients``...) of plain SMTP mailboxes."""
    root = etree.Element(f"{_T}{name}")
    for address in addresses:
        mailbox = etree.SubElement(root, f"{_T}Mailbox")
        etree.SubElement(mailbox, f"{_T}EmailAddress").text = address
    return XmlValue(etree.tostring(root))


def merge_lists(current: XmlValue | None, appended: XmlValue) -> XmlValue:
    """The list element ``current`` with the children of ``appended`` added at the end."""
    if current is None:
        return appended
    root = etree.fromstring(current.xml)
    root.extend(etree.fromstring(appended.xml))
    return XmlValue(etree.tostring(root))


def valid_extended_value(key: ExtendedKey, value: ExtendedValue) -> bool:
    """Whether a value fits the PropertyType of its key (arrays take ``Values``)."""
    is_array = key.property_type.endswith("Array")
    if is_array != isinstance(value, tuple):
        return False
    base = key.property_type.removesuffix("Array")
    return all(_fits(text, base) for text in (value if isinstance(value, tuple) else (value,)))


def _fits(text: str, property_type: str) -> bool:
    try:
        if property_type in ("Integer", "Long", "Short"):
            int(text)
        elif property_type in ("Double", "Float", "Currency", "ApplicationTime"):
            float(text)
        elif property_type == "Boolean":
            return text.strip().lower() in ("true", "false", "1", "0")
        elif property_type == "SystemTime":
            datetime.fromisoformat(text.strip())
        elif property_type == "CLSID":
            uuid.UUID(text)
        elif property_type == "Binary":
            base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return False
    return True
