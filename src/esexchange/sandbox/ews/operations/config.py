"""Get/Create/Update/DeleteUserConfiguration: named configuration objects of a folder.

Outlook keeps the mailbox's master category list (names and colours) in the
``CategoryList`` configuration of the calendar folder, as XML in ``XmlData``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from lxml import etree

from esexchange.sandbox.ews.operations import Context, children, resolve_folder, respond
from esexchange.sandbox.ews.soap import m, t
from esexchange.sandbox.models import UserConfiguration
from esexchange.sandbox.models.values import XmlValue


def _target(ctx: Context, name_element: etree._Element) -> tuple[str, str]:
    folder = resolve_folder(ctx.mailbox, children(name_element)[0])
    return folder.id, name_element.get("Name", "")


def _parse(element: etree._Element, name: str) -> UserConfiguration:
    dictionary = element.find(t("Dictionary"))
    xml_data = element.findtext(t("XmlData"))
    binary_data = element.findtext(t("BinaryData"))
    return UserConfiguration(
        name=name,
        item_id="",
        dictionary=_canonical(dictionary) if dictionary is not None else None,
        xml_data=base64.b64decode(xml_data) if xml_data is not None else None,
        binary_data=base64.b64decode(binary_data) if binary_data is not None else None,
    )


_CANONICAL_BOOLEANS = {"1": "true", "0": "false", "true": "true", "false": "false"}


def _canonical(dictionary: etree._Element) -> XmlValue:
    """A Dictionary as Exchange keeps it: Boolean keys and values as ``true``/``false``."""
    for entry in dictionary.iter(t("DictionaryKey"), t("DictionaryValue")):
        if entry.findtext(t("Type")) != "Boolean":
            continue
        for value in entry.iter(t("Value")):
            text = (value.text or "").strip().lower()
            value.text = _CANONICAL_BOOLEANS.get(text, value.text)
    return XmlValue(etree.tostring(dictionary))


def get_user_configuration(ctx: Context, op: etree._Element) -> etree._Element:
    """GetUserConfiguration: the parts listed in UserConfigurationProperties."""
    name_element = op.find(m("UserConfigurationName"))
    assert name_element is not None  # required by the schema
    wanted = set((op.findtext(m("UserConfigurationProperties")) or "All").split())
    if "All" in wanted:
        wanted = {"Id", "Dictionary", "XmlData", "BinaryData"}

    def handle(_: object, message: etree._Element) -> None:
        folder_id, name = _target(ctx, name_element)
        config = ctx.mailbox.get_configuration(folder_id, name)
        node = etree.SubElement(message, m("UserConfiguration"))
        echoed = etree.SubElement(node, t("UserConfigurationName"), Name=name)
        folder = ctx.mailbox.folder(folder_id)
        etree.SubElement(echoed, t("FolderId"), Id=folder.id, ChangeKey=folder.change_key)
        if "Id" in wanted:
            etree.SubElement(node, t("ItemId"), Id=config.item_id)
        if "Dictionary" in wanted and config.dictionary is not None:
            node.append(etree.fromstring(config.dictionary.xml))
        if "XmlData" in wanted and config.xml_data is not None:
            etree.SubElement(node, t("XmlData")).text = base64.b64encode(config.xml_data).decode()
        if "BinaryData" in wanted and config.binary_data is not None:
            data = base64.b64encode(config.binary_data).decode()
            etree.SubElement(node, t("BinaryData")).text = data

    return respond("GetUserConfiguration", [None], handle)


def create_user_configuration(ctx: Context, op: etree._Element) -> etree._Element:
    """CreateUserConfiguration: a new named configuration in a folder."""
    return _write("CreateUserConfiguration", ctx, op, ctx.mailbox.create_configuration)


def update_user_configuration(ctx: Context, op: etree._Element) -> etree._Element:
    """UpdateUserConfiguration: replace the parts the request carries."""
    return _write("UpdateUserConfiguration", ctx, op, ctx.mailbox.update_configuration)


def _write(
    operation: str, ctx: Context, op: etree._Element, store: Callable[[Any, Any], object]
) -> etree._Element:
    """Create or update: the request's configuration, stored by ``store(folder, config)``."""
    element = op.find(m("UserConfiguration"))
    assert element is not None  # required by the schema

    def handle(_: object, message: etree._Element) -> None:
        name_element = element.find(t("UserConfigurationName"))
        assert name_element is not None
        folder_id, name = _target(ctx, name_element)
        store(folder_id, _parse(element, name))

    return respond(operation, [None], handle)


def delete_user_configuration(ctx: Context, op: etree._Element) -> etree._Element:
    """DeleteUserConfiguration: remove a named configuration."""
    name_element = op.find(m("UserConfigurationName"))
    assert name_element is not None  # required by the schema

    def handle(_: object, message: etree._Element) -> None:
        folder_id, name = _target(ctx, name_element)
        ctx.mailbox.delete_configuration(folder_id, name)

    return respond("DeleteUserConfiguration", [None], handle)


HANDLERS = {
    "GetUserConfiguration": get_user_configuration,
    "CreateUserConfiguration": create_user_configuration,
    "UpdateUserConfiguration": update_user_configuration,
    "DeleteUserConfiguration": delete_user_configuration,
}
