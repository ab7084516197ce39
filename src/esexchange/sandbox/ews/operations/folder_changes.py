"""CreateFolder, UpdateFolder, DeleteFolder, MoveFolder and EmptyFolder."""

from __future__ import annotations

from lxml import etree

from esexchange.sandbox.ews import codec
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.operations import Context, children, resolve_folder, respond
from esexchange.sandbox.ews.soap import m, t
from esexchange.sandbox.models import Folder, StoreError
from esexchange.sandbox.models.values import ExtendedKey, ExtendedValue, XmlValue


def _folder_id_only(parent: etree._Element, folder: Folder) -> None:
    folders = etree.SubElement(parent, m("Folders"))
    node = etree.SubElement(folders, t(folder.folder_type))
    etree.SubElement(node, t("FolderId"), Id=folder.id, ChangeKey=folder.change_key)


def _extended(element: etree._Element) -> dict[ExtendedKey, ExtendedValue]:
    found: dict[ExtendedKey, ExtendedValue] = {}
    for prop in element.iterfind(t("ExtendedProperty")):
        uri = prop.find(t("ExtendedFieldURI"))
        assert uri is not None  # required by the schema
        found[codec.parse_extended_key(uri)] = codec.parse_extended_value(prop)
    return found


# Folder properties only the server sets.
READ_ONLY = frozenset({"FolderId", "ParentFolderId", "TotalCount", "ChildFolderCount",
                       "UnreadCount", "EffectiveRights", "DistinguishedFolderId",
                       "ManagedFolderInformation"})  # fmt: skip
_OWN = frozenset({"FolderClass", "DisplayName", "ExtendedProperty"})


def _properties(element: etree._Element) -> dict[str, XmlValue]:
    """The other settable properties of a folder element, kept as sent."""
    found: dict[str, XmlValue] = {}
    for child in children(element):
        name = etree.QName(child).localname
        if name in READ_ONLY:
            raise EwsError("ErrorInvalidPropertySet", f"The folder property {name} is read-only.")
        if name not in _OWN:
            found[name] = XmlValue(etree.tostring(child))
    return found


def create_folder(ctx: Context, op: etree._Element) -> etree._Element:
    """CreateFolder: new folders below ParentFolderId (MS-OXWSFOLD 3.1.4.2)."""
    parent_id = children(op.find(m("ParentFolderId")))[0]

    def handle(element: etree._Element, message: etree._Element) -> None:
        parent = resolve_folder(ctx.mailbox, parent_id)
        name = element.findtext(t("DisplayName"))
        if not name:
            raise EwsError("ErrorRequiredPropertyMissing", "A new folder needs a DisplayName.")
        folder = ctx.mailbox.create_folder(
            parent.id,
            etree.QName(element).localname,
            name,
            element.findtext(t("FolderClass")),
            _extended(element),
            _properties(element),
        )
        _folder_id_only(message, folder)

    return respond("CreateFolder", children(op.find(m("Folders"))), handle)


def update_folder(ctx: Context, op: etree._Element) -> etree._Element:
    """UpdateFolder: set or delete DisplayName and extended properties (MS-OXWSFOLD 3.1.4.8)."""

    def handle(change: etree._Element, message: etree._Element) -> None:
        id_element, updates = children(change)
        try:
            folder = resolve_folder(ctx.mailbox, id_element)
        except StoreError as error:  # Exchange answers an update of a gone folder so
            if error.code != "ErrorFolderNotFound":
                raise
            raise EwsError("ErrorItemNotFound", error.message) from None
        names: dict[str, str | None] = {}
        extended: dict[ExtendedKey, ExtendedValue | None] = {}
        properties: dict[str, XmlValue | None] = {}
        for update in children(updates):
            action = etree.QName(update).localname
            if action == "AppendToFolderField":
                raise EwsError(
                    "ErrorInvalidPropertyAppend", "Folder properties cannot be appended to."
                )
            path, *value = children(update)
            if value and len(children(value[0])) != 1:
                raise EwsError(  # MS-OXWSCDATA R335: one property per change description
                    "ErrorIncorrectUpdatePropertyCount",
                    "An object within a change description must contain one and only one "
                    "property to modify.",
                )
            target = codec.field_name(path)
            if isinstance(target, ExtendedKey):
                extended[target] = _extended(value[0]).get(target) if value else None
                continue
            if target in READ_ONLY:
                code = "ErrorInvalidPropertyDelete" if not value else "ErrorInvalidPropertySet"
                raise EwsError(code, f"The folder property {target} is read-only.")
            if target not in _OWN:
                properties.update(_properties(value[0]) if value else {target: None})
                continue
            if not value:
                raise EwsError("ErrorInvalidPropertyDelete", f"{target} cannot be deleted.")
            names[target] = value[0].findtext(t(target))
        updated = ctx.mailbox.update_folder(
            folder.id,
            display_name=names.get("DisplayName"),
            folder_class=names.get("FolderClass"),
            extended=extended,
            properties=properties,
        )
        _folder_id_only(message, updated)

    return respond("UpdateFolder", children(op.find(m("FolderChanges"))), handle)


def delete_folder(ctx: Context, op: etree._Element) -> etree._Element:
    """DeleteFolder: HardDelete, SoftDelete or MoveToDeletedItems (MS-OXWSFOLD 3.1.4.3)."""
    delete_type = op.get("DeleteType", "HardDelete")

    def handle(folder_id: etree._Element, message: etree._Element) -> None:
        ctx.mailbox.delete_folder(resolve_folder(ctx.mailbox, folder_id).id, delete_type)

    return respond("DeleteFolder", children(op.find(m("FolderIds"))), handle)


def move_folder(ctx: Context, op: etree._Element) -> etree._Element:
    """MoveFolder: the folder keeps its id (MS-OXWSFOLD 3.1.4.7)."""
    to_folder = children(op.find(m("ToFolderId")))[0]

    def handle(folder_id: etree._Element, message: etree._Element) -> None:
        target = resolve_folder(ctx.mailbox, to_folder)
        moved = ctx.mailbox.move_folder(resolve_folder(ctx.mailbox, folder_id).id, target.id)
        _folder_id_only(message, moved)

    return respond("MoveFolder", children(op.find(m("FolderIds"))), handle)


def empty_folder(ctx: Context, op: etree._Element) -> etree._Element:
    """EmptyFolder: its items and, with DeleteSubFolders, its subfolders (MS-OXWSFOLD 3.1.4.5)."""
    subfolders = op.get("DeleteSubFolders") in ("true", "1")
    delete_type = op.get("DeleteType", "HardDelete")

    def handle(folder_id: etree._Element, message: etree._Element) -> None:
        folder = resolve_folder(ctx.mailbox, folder_id)
        ctx.mailbox.empty_folder(
            folder.id, delete_sub_folders=subfolders, delete_type=delete_type
        )

    return respond("EmptyFolder", children(op.find(m("FolderIds"))), handle)


HANDLERS = {
    "CreateFolder": create_folder,
    "UpdateFolder": update_folder,
    "DeleteFolder": delete_folder,
    "MoveFolder": move_folder,
    "EmptyFolder": empty_folder,
}
