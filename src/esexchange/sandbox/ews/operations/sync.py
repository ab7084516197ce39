"""SyncFolderItems: the changes of a folder since an opaque sync state."""

from __future__ import annotations

from lxml import etree

from esexchange.sandbox.ews import codec
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.operations import Context, children, resolve_folder, respond
from esexchange.sandbox.ews.operations.folders import folder_shape, render_folder
from esexchange.sandbox.ews.operations.items import render
from esexchange.sandbox.ews.soap import m, t


def sync_folder_items(ctx: Context, op: etree._Element) -> etree._Element:
    """Report creates, updates and deletes since ``SyncState``, at most MaxChangesReturned."""
    folder_id = children(op.find(m("SyncFolderId")))[0]
    state = (op.findtext(m("SyncState")) or "").strip() or None
    ignored = {node.get("Id") for node in children(op.find(m("Ignore")))}
    max_changes = int(op.findtext(m("MaxChangesReturned")) or "512")

    def handle(_: object, message: etree._Element) -> None:
        if op.find(f"{m('ItemShape')}/{t('IncludeMimeContent')}") is not None:
            raise EwsError(
                "ErrorInvalidPropertyForOperation",
                "IncludeMimeContent is not allowed in a SyncFolderItems request.",
            )
        shape = codec.parse_shape(op.find(m("ItemShape")))
        folder = resolve_folder(ctx.mailbox, folder_id)
        page = ctx.mailbox.sync_items(folder.id, state, max_changes)
        etree.SubElement(message, m("SyncState")).text = page.sync_state
        last = "true" if page.includes_last else "false"
        etree.SubElement(message, m("IncludesLastItemInRange")).text = last
        changes = etree.SubElement(message, m("Changes"))
        for change in page.changes:
            if change.item_id in ignored:
                continue
            node = etree.SubElement(changes, t(change.kind))
            if change.item is None:
                etree.SubElement(node, t("ItemId"), Id=change.item_id)
            elif change.kind == "ReadFlagChange":
                item = change.item
                etree.SubElement(node, t("ItemId"), Id=item.id, ChangeKey=item.change_key)
                etree.SubElement(node, t("IsRead")).text = _bool(item.fields.get("IsRead") is True)
            else:
                render(ctx, node, change.item, shape)

    return respond("SyncFolderItems", [None], handle)


def sync_folder_hierarchy(ctx: Context, op: etree._Element) -> etree._Element:
    """Report the folders below SyncFolderId (msgfolderroot by default) created, changed
    (renamed, moved, extended properties) or deleted since SyncState."""
    wanted = folder_shape(op.find(m("FolderShape")))
    folder_id = op.find(f"{m('SyncFolderId')}/*")
    state = (op.findtext(m("SyncState")) or "").strip() or None

    def handle(_: object, message: etree._Element) -> None:
        if folder_id is not None:
            top = resolve_folder(ctx.mailbox, folder_id)
        else:
            top = ctx.mailbox.folder(distinguished="msgfolderroot")
        folders, new_state = ctx.mailbox.sync_hierarchy(top.id, state)
        etree.SubElement(message, m("SyncState")).text = new_state
        etree.SubElement(message, m("IncludesLastFolderInRange")).text = "true"
        changes = etree.SubElement(message, m("Changes"))
        for kind, folder in folders:
            node = etree.SubElement(changes, t(kind))
            if isinstance(folder, str):
                etree.SubElement(node, t("FolderId"), Id=folder)
            else:
                render_folder(ctx, node, folder, wanted)

    return respond("SyncFolderHierarchy", [None], handle)


def _bool(value: bool) -> str:
    return "true" if value else "false"


HANDLERS = {"SyncFolderItems": sync_folder_items, "SyncFolderHierarchy": sync_folder_hierarchy}
