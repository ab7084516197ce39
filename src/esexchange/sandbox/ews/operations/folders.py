"""GetFolder and FindFolder over the distinguished folders of a mailbox."""

from __future__ import annotations

from lxml import etree

from esexchange.sandbox.ews import codec, schema
from esexchange.sandbox.ews.operations import Context, children, resolve_folder, respond
from esexchange.sandbox.ews.restriction import compile_restriction
from esexchange.sandbox.ews.soap import m, t
from esexchange.sandbox.models import Folder, Item, Mailbox
from esexchange.sandbox.models.values import ExtendedKey, Value

DEFAULT_PROPERTIES = frozenset({"DisplayName", "TotalCount", "ChildFolderCount", "UnreadCount"})
KNOWN_PROPERTIES = DEFAULT_PROPERTIES | {"ParentFolderId", "FolderClass", "EffectiveRights"}
RIGHTS = ("CreateAssociated", "CreateContents", "CreateHierarchy", "Delete", "Modify", "Read",
          "ViewPrivateItems")  # fmt: skip


# PR_MESSAGE_SIZE (0x0E08) of a folder: the size of its items, computed, never stored.
FOLDER_SIZE_TAG = 0x0E08


class FolderShape(set[str | ExtendedKey]):
    """The folder properties a ``FolderShape`` asks for (names and extended properties)."""


def folder_shape(shape: etree._Element | None) -> FolderShape:
    """The folder properties a ``FolderShape`` asks for."""
    base = shape.findtext(t("BaseShape")) if shape is not None else "IdOnly"
    wanted = FolderShape({"FolderId"})
    if base == "Default":
        wanted |= DEFAULT_PROPERTIES
    elif base == "AllProperties":
        wanted |= KNOWN_PROPERTIES
    additional = shape.find(t("AdditionalProperties")) if shape is not None else None
    for path in children(additional):
        wanted.add(codec.field_name(path))
    return wanted


def render_folder(
    ctx: Context, parent: etree._Element, folder: Folder, wanted: set[str | ExtendedKey]
) -> None:
    """Append a folder element with the wanted properties, in schema order."""
    node = etree.SubElement(parent, t(folder.folder_type))
    mailbox = ctx.mailbox
    for name, _ in schema.elements(f"{folder.folder_type}Type"):
        if name == "ExtendedProperty":
            keys = [key for key in wanted if isinstance(key, ExtendedKey)]
            _render_extended(node, folder, mailbox, keys)
        if name not in wanted:
            continue
        if name == "FolderId":
            etree.SubElement(node, t(name), Id=folder.id, ChangeKey=folder.change_key)
        elif name == "ParentFolderId" and folder.parent_id:
            parent_folder = mailbox.folder(folder.parent_id)
            etree.SubElement(node, t(name), Id=parent_folder.id, ChangeKey=parent_folder.change_key)
        elif name == "FolderClass" and folder.folder_class:
            etree.SubElement(node, t(name)).text = folder.folder_class
        elif name == "DisplayName":
            etree.SubElement(node, t(name)).text = folder.display_name
        elif name == "DistinguishedFolderId" and folder.distinguished:
            # Exchange 2013+ names a distinguished folder's well-known id when asked
            etree.SubElement(node, t(name)).text = folder.distinguished
        elif name == "TotalCount":
            etree.SubElement(node, t(name)).text = str(mailbox.item_count(folder.id))
        elif name == "ChildFolderCount":
            count = len(mailbox.child_folders(folder.id, deep=False))
            etree.SubElement(node, t(name)).text = str(count)
        elif name == "UnreadCount":
            etree.SubElement(node, t(name)).text = str(mailbox.unread_count(folder.id))
        elif name in folder.properties:
            node.append(etree.fromstring(folder.properties[name].xml))
        elif name == "EffectiveRights":
            rights = etree.SubElement(node, t(name))
            for right in RIGHTS:
                etree.SubElement(rights, t(right)).text = "true"


def _render_extended(
    node: etree._Element, folder: Folder, mailbox: Mailbox, keys: list[ExtendedKey]
) -> None:
    """The requested extended properties a folder has; its size (0x0E08) is computed."""
    extended = dict(folder.extended)
    for key in keys:
        if key.property_tag == FOLDER_SIZE_TAG and key not in extended:
            extended[key] = str(sum(codec.item_size(i) for i in mailbox.items_in(folder.id)))
    codec.render_extended(node, extended, keys)


def _as_item(ctx: Context, folder: Folder) -> Item:
    """A folder as the restriction engine reads things: its properties by name."""
    fields: dict[str, Value] = {
        "DisplayName": folder.display_name,
        "TotalCount": ctx.mailbox.item_count(folder.id),
        "ChildFolderCount": len(ctx.mailbox.child_folders(folder.id, deep=False)),
        "UnreadCount": ctx.mailbox.unread_count(folder.id),
    }
    if folder.folder_class:
        fields["FolderClass"] = folder.folder_class
    return Item(folder.id, folder.change_key, folder.folder_type, folder.parent_id or "",
                fields, dict(folder.extended), folder.created_seq, folder.changed_seq)  # fmt: skip


def get_folder(ctx: Context, op: etree._Element) -> etree._Element:
    """GetFolder: folders by id or distinguished name."""
    wanted = folder_shape(op.find(m("FolderShape")))

    def handle(folder_id: etree._Element, message: etree._Element) -> None:
        folder = resolve_folder(ctx.mailbox, folder_id)
        render_folder(ctx, etree.SubElement(message, m("Folders")), folder, wanted)

    return respond("GetFolder", children(op.find(m("FolderIds"))), handle)


def find_folder(ctx: Context, op: etree._Element) -> etree._Element:
    """FindFolder: the children (Shallow) or the subtree (Deep) of folders."""
    wanted = folder_shape(op.find(m("FolderShape")))
    deep = op.get("Traversal") == "Deep"
    paging = op.find(m("IndexedPageFolderView"))

    def handle(folder_id: etree._Element, message: etree._Element) -> None:
        matches = compile_restriction(op.find(m("Restriction")), ctx.zone)
        folder = resolve_folder(ctx.mailbox, folder_id)
        found = [
            child
            for child in ctx.mailbox.child_folders(folder.id, deep=deep)
            if matches(_as_item(ctx, child))
        ]
        offset = int(paging.get("Offset", "0")) if paging is not None else 0
        limit = paging.get("MaxEntriesReturned") if paging is not None else None
        page = found[offset : offset + int(limit)] if limit else found[offset:]
        root = etree.SubElement(message, m("RootFolder"))
        root.set("IndexedPagingOffset", str(offset + len(page)))
        root.set("TotalItemsInView", str(len(found)))
        root.set("IncludesLastItemInRange", "true" if offset + len(page) >= len(found) else "false")
        folders = etree.SubElement(root, t("Folders"))
        for child in page:
            render_folder(ctx, folders, child, wanted)

    return respond("FindFolder", children(op.find(m("ParentFolderIds"))), handle)


HANDLERS = {"GetFolder": get_folder, "FindFolder": find_folder}
