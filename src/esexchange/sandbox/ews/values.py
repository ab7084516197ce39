"""Typed values of item properties, as the models keep them (no XML knowledge needed).

Scalars become Python values; structured properties the sandbox never interprets field by
field (attendees, time zone definitions, recurrences) are kept as an :class:`XmlValue`,
the canonical XML of the element as the client sent it, so nothing a client stored is lost.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

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


Value = str | bool | int | float | datetime | tuple[str, ...] | Body | XmlValue
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
