"""SyncFolderItems: the changes of a folder since an opaque sync state."""

from __future__ import annotations

from lxml import etree

from esexchange.sandbox.ews import codec
from esexchange.sandbox.ews.operations import Context, children, resolve_folder, respond
from esexchange.sandbox.ews.operations.items import render
from esexchange.sandbox.ews.soap import m, t


def sync_folder_items(ctx: Context, op: etree._Element) -> etree._Element:
    """Report creates, updates and deletes since ``SyncState``, at most MaxChangesReturned."""
    shape = codec.parse_shape(op.find(m("ItemShape")))
    folder_id = children(op.find(m("SyncFolderId")))[0]
    state = (op.findtext(m("SyncState")) or "").strip() or None
    ignored = {node.get("Id") for node in children(op.find(m("Ignore")))}
    max_changes = int(op.findtext(m("MaxChangesReturned")) or "512")

    def handle(_: object, message: etree._Element) -> None:
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
            else:
                render(ctx, node, change.item, shape)

    return respond("SyncFolderItems", [None], handle)


HANDLERS = {"SyncFolderItems": sync_folder_items}
