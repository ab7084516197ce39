"""The mailbox's master category list, as Outlook keeps it.

Outlook stores names and colours in the ``CategoryList`` user configuration of the
calendar folder (an FAI message ``IPM.Configuration.CategoryList``), as an XML document
in the ``CategoryList.xsd`` namespace ([MS-OXOCFG] 2.2.5.2.2)::

    <categories default="..." lastSavedSession="0" lastSavedTime="..." xmlns="CategoryList.xsd">
      <category name="ES_1_Visit" color="7" keyboardShortcut="0" lastTimeUsed="..."
                guid="{...}" renameOnFirstUse="0" .../>
    </categories>

[MS-OXOCFG] 3.1.4.2.3: a writer keeps unknown elements and attributes as they are, sets
``lastTimeUsed`` on every category, and updates it when a category's colour changes.
``merge_categories`` does exactly that and nothing else, so the user's own categories
(and everything Outlook stores about them) survive.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree

from esexchange.domain.model import Category

NAMESPACE = "CategoryList.xsd"
CONFIGURATION_NAME = "CategoryList"
_NEVER = "1601-01-01T00:00:00.000"  # Outlook's "never used" time stamp


def _timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}"


def parse_categories(xml_data: bytes | None) -> dict[str, int]:
    """Name -> colour of every category in a category list document."""
    if not xml_data:
        return {}
    root = etree.fromstring(xml_data)
    return {
        element.get("name"): int(element.get("color", "-1"))
        for element in root
        if isinstance(element.tag, str) and etree.QName(element).localname == "category"
        and element.get("name") is not None
    }


def merge_categories(
    xml_data: bytes | None, wanted: Sequence[Category], now: datetime
) -> bytes | None:
    """The category list with ``wanted`` added or recoloured; ``None`` if nothing changes.

    Names compare case-insensitively, as Outlook's do; an existing entry keeps its
    spelling, GUID, shortcut and usage data.
    """
    stamp = _timestamp(now)
    if xml_data:
        root = etree.fromstring(xml_data)
    else:
        root = etree.Element(
            f"{{{NAMESPACE}}}categories", nsmap={None: NAMESPACE},
            attrib={"default": "", "lastSavedSession": "0"},
        )
    existing = {
        element.get("name", "").casefold(): element
        for element in root
        if isinstance(element.tag, str) and etree.QName(element).localname == "category"
    }
    namespace = etree.QName(root).namespace
    changed = False
    for category in wanted:
        element = existing.get(category.name.casefold())
        if element is None:
            element = etree.SubElement(
                root, f"{{{namespace}}}category" if namespace else "category"
            )
            element.attrib.update({
                "name": category.name, "color": str(category.color), "keyboardShortcut": "0",
                "usageCount": "0", "lastTimeUsedNotes": _NEVER, "lastTimeUsedJournal": _NEVER,
                "lastTimeUsedContacts": _NEVER, "lastTimeUsedTasks": _NEVER,
                "lastTimeUsedCalendar": _NEVER, "lastTimeUsedMail": _NEVER,
                "lastTimeUsed": stamp, "lastSessionUsed": "0",
                "guid": "{" + str(uuid.uuid4()).upper() + "}", "renameOnFirstUse": "0",
            })
            existing[category.name.casefold()] = element
            changed = True
        elif element.get("color") != str(category.color):
            element.set("color", str(category.color))
            element.set("lastTimeUsed", stamp)
            changed = True
    if not changed:
        return None
    root.set("lastSavedTime", stamp)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
