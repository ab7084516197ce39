"""Items between XML and the models' typed values, driven by the schema's own type table.

Every child of an item element is read by the type ``types.xsd`` declares for it
(``xs:dateTime`` becomes an aware UTC datetime, ``t:ArrayOfStringsType`` a tuple, ...),
and written back in the order of the schema's ``xs:sequence``; so a field the sandbox has
never heard of round-trips as faithfully as ``Subject``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from lxml import etree

from esexchange.sandbox.ews import recurrence_xml, schema
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.soap import t
from esexchange.sandbox.models import Folder, Item, recurrence
from esexchange.sandbox.models.values import (
    Body,
    DeletedStarts,
    ExtendedKey,
    ExtendedValue,
    OccurrenceRef,
    OccurrenceRefs,
    Recurrence,
    TimeZone,
    Value,
    XmlValue,
    recipient_addresses,
)

_INTEGERS = {"xs:int", "xs:integer", "xs:long", "xs:short", "xs:unsignedInt"}

# What BaseShape "Default" returns besides the id (Exchange's documented default set).
DEFAULT_PROPERTIES = frozenset(
    {
        "Subject", "Attachments", "ResponseObjects", "HasAttachments", "IsAssociated",
        "Start", "End", "LegacyFreeBusyStatus", "Location", "CalendarItemType", "Organizer",
        "DueDate", "PercentComplete", "Status", "IsComplete", "StartDate", "Importance",
        "Sensitivity", "ItemClass",
    }
)  # fmt: skip
# Properties the server computes when rendering rather than storing.
COMPUTED = frozenset({"ItemId", "ParentFolderId", "Duration", "HasAttachments", "IsRecurring",
                      "Organizer", "IsAssociated", "IsMeeting", "AppointmentState", "IsCancelled",
                      "DateTimeReceived", "Size", "LastModifiedName", "EffectiveRights",
                      "DisplayTo", "DisplayCc", "IsDraft", "IsOnlineMeeting"})  # fmt: skip


_TYPE_NAMES = {
    "Contact": "ContactItemType",
    "MeetingRequest": "MeetingRequestMessageType",
    "MeetingCancellation": "MeetingCancellationMessageType",
}


def type_name(kind: str) -> str:
    """The ``types.xsd`` complex type of an item element (``Contact`` is ``ContactItemType``)."""
    return _TYPE_NAMES.get(kind, f"{kind}Type")


def _types(kind: str) -> dict[str, str]:
    return dict(schema.elements(type_name(kind)))


# values --------------------------------------------------------------------------------


def parse_datetime(text: str, zone: tzinfo = UTC) -> datetime:
    """An ``xs:dateTime`` as an aware UTC datetime; a time without offset is in ``zone``
    (the request's ``TimeZoneContext``, UTC without one)."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """UTC with a ``Z``, as Exchange writes times."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_value(element: etree._Element, xsd_type: str, zone: tzinfo = UTC) -> Value:
    """The typed value of one property element (times without offset are in ``zone``)."""
    text = element.text or ""
    if xsd_type == "xs:boolean":
        return text.strip() in ("true", "1")
    if xsd_type in _INTEGERS:
        return int(text)
    if xsd_type == "xs:double":
        return float(text)
    if xsd_type == "xs:dateTime":
        return parse_datetime(text, zone)
    if xsd_type == "t:ArrayOfStringsType":
        return tuple(child.text or "" for child in element if isinstance(child.tag, str))
    if xsd_type == "t:BodyType":
        return Body(element.get("BodyType", "Text"), text)
    if xsd_type.startswith("xs:") or xsd_type in schema.simple_types():
        return text
    if xsd_type in ("t:RecurrenceType", "t:TaskRecurrenceType"):
        return recurrence_xml.parse_recurrence(element)
    if xsd_type == "t:TimeZoneDefinitionType":
        return recurrence_xml.parse_time_zone(element)
    return XmlValue(etree.tostring(element))


def render_value(parent: etree._Element, name: str, value: Value) -> None:
    """Append the element for one stored property (a recurrence: see ``_render_property``)."""
    if isinstance(value, XmlValue):
        parent.append(etree.fromstring(value.xml))
        return
    if isinstance(value, TimeZone):
        recurrence_xml.render_time_zone(parent, name, value)
        return
    if isinstance(value, DeletedStarts):
        recurrence_xml.render_deleted(parent, value)
        return
    if isinstance(value, OccurrenceRefs):
        recurrence_xml.render_occurrences(parent, name, value)
        return
    if isinstance(value, OccurrenceRef):
        recurrence_xml.render_occurrence(parent, name, value)
        return
    assert not isinstance(value, Recurrence), "rendered with its zone by _render_property"
    node = etree.SubElement(parent, t(name))
    if isinstance(value, bool):
        node.text = "true" if value else "false"
    elif isinstance(value, datetime):
        node.text = format_datetime(value)
    elif isinstance(value, float):
        node.text = f"{value:g}"
    elif isinstance(value, tuple):
        for entry in value:
            etree.SubElement(node, t("String")).text = entry
    elif isinstance(value, Body):
        node.set("BodyType", value.body_type)
        node.text = value.text
    else:
        node.text = str(value)


# extended properties -----------------------------------------------------------------------


def parse_extended_key(uri: etree._Element) -> ExtendedKey:
    """The identity an ``ExtendedFieldURI`` names; an invalid combination is refused.

    A property is named by a tag alone, or by a property set (distinguished or a GUID,
    not both) together with a name or an id ([MS-OXWSXPROP] 2.1.5).
    """
    tag = uri.get("PropertyTag")
    property_id = uri.get("PropertyId")
    property_set = uri.get("PropertySetId")
    distinguished = uri.get("DistinguishedPropertySetId")
    name = uri.get("PropertyName")
    named = (property_set is not None) + (distinguished is not None) == 1 and (
        (name is not None) + (property_id is not None) == 1
    )
    tagged = tag is not None and not (property_set or distinguished or name or property_id)
    if not (named or tagged):
        raise EwsError(
            "ErrorInvalidExtendedProperty",
            "An ExtendedFieldURI needs a PropertyTag alone, or one property set together "
            "with a PropertyName or a PropertyId.",
        )
    return ExtendedKey(
        property_type=uri.get("PropertyType", ""),
        distinguished_set=distinguished,
        property_set=property_set.lower() if property_set else None,
        property_tag=_tag_number(tag) if tag else None,
        property_name=name,
        property_id=int(property_id) if property_id else None,
    )


def _tag_number(tag: str) -> int:
    """A PropertyTag is hexadecimal (``0x8503``) or a short integer ([MS-OXWSXPROP] R50)."""
    return int(tag, 16) if tag.lower().startswith("0x") else int(tag)


def render_extended_key(parent: etree._Element, key: ExtendedKey) -> None:
    """Append the ``ExtendedFieldURI`` of a key."""
    attributes = {
        "DistinguishedPropertySetId": key.distinguished_set,
        "PropertySetId": key.property_set,
        "PropertyTag": f"0x{key.property_tag:x}" if key.property_tag is not None else None,
        "PropertyName": key.property_name,
        "PropertyId": str(key.property_id) if key.property_id is not None else None,
        "PropertyType": key.property_type,
    }
    etree.SubElement(parent, t("ExtendedFieldURI"), {k: v for k, v in attributes.items() if v})


def parse_extended_value(prop: etree._Element) -> ExtendedValue:
    """The ``Value`` (a string) or ``Values`` (a tuple) of an ExtendedProperty element."""
    values = prop.find(t("Values"))
    if values is not None:
        return tuple(v.text or "" for v in values.iter(t("Value")))
    return prop.findtext(t("Value")) or ""


# items ---------------------------------------------------------------------------------


@dataclass
class ParsedItem:
    """An item element of a request as the models take it."""

    kind: str
    fields: dict[str, Value]
    extended: dict[ExtendedKey, ExtendedValue]


def parse_item(element: etree._Element, zone: tzinfo = UTC) -> ParsedItem:
    """Read an item element (``t:CalendarItem``, ``t:Task``, ...) of a request."""
    kind = etree.QName(element).localname
    types = _types(kind)
    fields: dict[str, Value] = {}
    extended: dict[ExtendedKey, ExtendedValue] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name == "ExtendedProperty":
            uri = child.find(t("ExtendedFieldURI"))
            assert uri is not None  # required by the schema
            extended[parse_extended_key(uri)] = parse_extended_value(child)
        else:
            try:
                fields[name] = parse_value(child, types[name], zone)
            except ValueError as exc:
                raise EwsError(
                    "ErrorInvalidValueForProperty", f"{kind}.{name}: {child.text!r} is invalid."
                ) from exc
    return ParsedItem(kind, fields, extended)


@dataclass(frozen=True)
class Shape:
    """What an ItemShape asks for: a base shape plus additional properties."""

    base: str = "IdOnly"
    fields: frozenset[str] = frozenset()
    extended: tuple[ExtendedKey, ...] = ()
    filter_html: bool = False  # FilterHtmlContent: no scripts or web beacons in HTML bodies

    def wants(self, name: str, item: Item) -> bool:
        """Whether property ``name`` of ``item`` belongs in the answer."""
        if name == "ItemId" or name in self.fields:
            return True
        if self.base == "AllProperties":
            return name in item.fields or name in COMPUTED
        return self.base == "Default" and name in DEFAULT_PROPERTIES


def field_name(path: etree._Element) -> str | ExtendedKey:
    """The property a ``FieldURI``/``ExtendedFieldURI``/``IndexedFieldURI`` path names."""
    local = etree.QName(path).localname
    if local == "ExtendedFieldURI":
        return parse_extended_key(path)
    return str(path.get("FieldURI", "")).split(":")[-1]


def parse_shape(shape: etree._Element | None) -> Shape:
    """Read an ``ItemShape``."""
    if shape is None:
        return Shape()
    names: set[str] = set()
    keys: list[ExtendedKey] = []
    additional = shape.find(t("AdditionalProperties"))
    for path in additional if additional is not None else ():
        if not isinstance(path.tag, str):
            continue
        target = field_name(path)
        if isinstance(target, ExtendedKey):
            keys.append(target)
        else:
            names.add(target)
    return Shape(
        shape.findtext(t("BaseShape")) or "IdOnly",
        frozenset(names),
        tuple(keys),
        filter_html=(shape.findtext(t("FilterHtmlContent")) or "").strip() in ("true", "1"),
    )


def render_item(
    parent: etree._Element,
    item: Item,
    shape: Shape,
    folder: Folder,
    owner: tuple[str, str],
) -> None:
    """Append ``item`` as the schema orders its type, with what ``shape`` asks for."""
    node = etree.SubElement(parent, t(item.kind))
    for name, _ in schema.elements(type_name(item.kind)):
        if name == "ExtendedProperty":
            render_extended(node, item.extended, shape.extended)
        elif shape.wants(name, item):
            _render_property(node, name, item, folder, owner, shape.filter_html)


def render_extended(
    node: etree._Element, extended: dict[ExtendedKey, ExtendedValue], keys: Iterable[ExtendedKey]
) -> None:
    """Append the ``ExtendedProperty`` of each of ``keys`` that ``extended`` holds."""
    for key in keys:
        if key not in extended:
            continue
        prop = etree.SubElement(node, t("ExtendedProperty"))
        render_extended_key(prop, key)
        value = extended[key]
        if isinstance(value, tuple):
            values = etree.SubElement(prop, t("Values"))
            for entry in value:
                etree.SubElement(values, t("Value")).text = entry
        else:
            etree.SubElement(prop, t("Value")).text = value


def _render_property(
    node: etree._Element,
    name: str,
    item: Item,
    folder: Folder,
    owner: tuple[str, str],
    filter_html: bool,
) -> None:
    if name == "ItemId":
        etree.SubElement(node, t("ItemId"), Id=item.id, ChangeKey=item.change_key)
    elif name == "ParentFolderId":
        etree.SubElement(node, t("ParentFolderId"), Id=folder.id, ChangeKey=folder.change_key)
    elif name == "MeetingTimeZone" and item.fields.get("CalendarItemType") != "RecurringMaster":
        return  # Exchange returns it for recurring masters only (MS-OXWSMTGS R1053)
    elif name == "Body" and filter_html and isinstance(item.fields.get(name), Body):
        render_value(node, name, filtered_body(item.fields[name]))  # type: ignore[arg-type]
    elif name == "Recurrence" and isinstance(rule := item.fields.get(name), Recurrence):
        zone = recurrence.zone_of(item.fields.get("StartTimeZone"))
        recurrence_xml.render_recurrence(node, rule, zone)
    elif name in item.fields:
        render_value(node, name, item.fields[name])
    elif name == "TextBody" and isinstance(body := item.fields.get("Body"), Body):
        render_value(node, name, text_body(body))  # Exchange 2013+ (MS-OXWSCORE R1731)
    elif name == "HasAttachments" or name == "IsAssociated":
        render_value(node, name, False)
    elif name == "DateTimeReceived":  # a calendar item or task is "received" when created
        render_value(node, name, item.fields["DateTimeCreated"])
    elif name == "Size":
        render_value(node, name, item_size(item))
    elif name == "LastModifiedName":  # requests act as the mailbox's owner (impersonation)
        render_value(node, name, owner[1])
    elif name in _DISPLAY_LISTS and (names := _display_names(item, _DISPLAY_LISTS[name])):
        render_value(node, name, names)  # "the concatenated string of ... display names"
    elif name == "EffectiveRights":  # the owner's rights on their own item
        rights = etree.SubElement(node, t(name))
        for right, value in ITEM_RIGHTS:
            render_value(rights, right, value)
    elif name == "IsDraft" and item.kind == "Message":
        render_value(node, name, folder.distinguished != "sentitems")
    elif item.kind == "CalendarItem":
        _render_calendar_computed(node, name, item, owner)


_DISPLAY_LISTS = {"DisplayTo": "ToRecipients", "DisplayCc": "CcRecipients",
                  "DisplayBcc": "BccRecipients"}  # fmt: skip
ITEM_RIGHTS = (("CreateAssociated", False), ("CreateContents", False),
               ("CreateHierarchy", False), ("Delete", True), ("Modify", True), ("Read", True),
               ("ViewPrivateItems", True))  # fmt: skip


def _display_names(item: Item, field: str) -> str:
    """The names (else addresses) of a recipient list, joined by "; " as Outlook shows them."""
    value = item.fields.get(field)
    if not isinstance(value, XmlValue):
        return ""
    names = []
    for mailbox in etree.fromstring(value.xml).iter(t("Mailbox")):
        names.append(mailbox.findtext(t("Name")) or mailbox.findtext(t("EmailAddress")) or "")
    return "; ".join(name for name in names if name)


def item_size(item: Item) -> int:
    """A plausible size in bytes: what the item's property values take up."""
    total = 0
    for value in (*item.fields.values(), *item.extended.values()):
        if isinstance(value, XmlValue):
            total += len(value.xml)
        elif isinstance(value, TimeZone):
            total += len(value.definition) or len(value.zone_id)
        elif isinstance(value, Body):
            total += len(value.text.encode())
        else:
            total += len(str(value).encode())
    return total


def _render_calendar_computed(
    node: etree._Element, name: str, item: Item, owner: tuple[str, str]
) -> None:
    start, end = item.fields.get("Start"), item.fields.get("End")
    if name == "Duration" and isinstance(start, datetime) and isinstance(end, datetime):
        render_value(node, name, _iso_duration(end - start))
    elif name == "IsCancelled" or name == "IsOnlineMeeting":  # no online meeting provider
        render_value(node, name, False)
    elif name == "IsMeeting":
        render_value(node, name, bool(recipient_addresses(item.fields)))
    elif name == "AppointmentState":
        # 0: an appointment, 1: a meeting on the organizer's calendar (MS-OXWSMTGS R514, R738)
        render_value(node, name, 1 if recipient_addresses(item.fields) else 0)
    elif name == "IsRecurring":
        render_value(node, name, item.fields.get("CalendarItemType") in ("Occurrence", "Exception"))
    elif name == "Organizer":
        organizer = etree.SubElement(node, t("Organizer"))
        mailbox = etree.SubElement(organizer, t("Mailbox"))
        etree.SubElement(mailbox, t("Name")).text = owner[1]
        etree.SubElement(mailbox, t("EmailAddress")).text = owner[0]
        etree.SubElement(mailbox, t("RoutingType")).text = "SMTP"
        etree.SubElement(mailbox, t("MailboxType")).text = "Mailbox"


_SCRIPT = re.compile(r"<script\b.*?</script\s*>|<script\b[^>]*/>", re.IGNORECASE | re.DOTALL)
_REMOTE_IMAGE = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?https?:[^>]*>", re.IGNORECASE)


_TAG = re.compile(r"<[^>]*>")
_BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr)\s*>|<br\s*/?>", re.IGNORECASE)
_HEAD = re.compile(r"<(head|style|script)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def text_body(body: Body) -> Body:
    """The body as text (``TextBody``): an HTML body without its markup, lines kept."""
    if body.body_type != "HTML":
        return Body("Text", body.text)
    text = _BLOCK_END.sub("\n", _HEAD.sub("", body.text))
    lines = (" ".join(line.split()) for line in html.unescape(_TAG.sub("", text)).splitlines())
    return Body("Text", "\n".join(line for line in lines if line))


def filtered_body(body: Body) -> Body:
    """An HTML body without script blocks and web beacons (remote images)."""
    if body.body_type != "HTML":
        return body
    return Body(body.body_type, _REMOTE_IMAGE.sub("", _SCRIPT.sub("", body.text)))


def _iso_duration(delta: timedelta) -> str:
    """An ``xs:duration`` the way Exchange writes one (``PT1H30M``, ``P1D``)."""
    days, rest = divmod(int(delta.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    text = f"P{days}D" if days else "P"
    return text + (f"T{time}" if time else "" if days else "T0S")
