"""MoveItem and CopyItem: items to another folder of the mailbox (MS-OXWSCORE 3.1.4.7, 3.1.4.2)."""

from __future__ import annotations

from lxml import etree

from esexchange.sandbox.ews import codec
from esexchange.sandbox.ews.operations import Context, children, resolve_folder, respond
from esexchange.sandbox.ews.operations.items import render, resolve_item
from esexchange.sandbox.ews.soap import m


def _move_or_copy(
    operation: str, ctx: Context, op: etree._Element, *, keep: bool
) -> etree._Element:
    to_folder = children(op.find(m("ToFolderId")))[0]
    return_ids = (op.findtext(m("ReturnNewItemIds")) or "true").strip() in ("true", "1")

    def handle(element: etree._Element, message: etree._Element) -> None:
        target = resolve_folder(ctx.mailbox, to_folder)
        item = resolve_item(ctx, element)[0]
        result = ctx.mailbox.move_item(item.id, target.id, keep=keep)
        items = etree.SubElement(message, m("Items"))
        if return_ids:
            render(ctx, items, result, codec.Shape())

    return respond(operation, children(op.find(m("ItemIds"))), handle)


def move_item(ctx: Context, op: etree._Element) -> etree._Element:
    """MoveItem: the items move (a new id in the target folder, ReturnNewItemIds)."""
    return _move_or_copy("MoveItem", ctx, op, keep=False)


def copy_item(ctx: Context, op: etree._Element) -> etree._Element:
    """CopyItem: a copy of each item in the target folder."""
    return _move_or_copy("CopyItem", ctx, op, keep=True)


HANDLERS = {"MoveItem": move_item, "CopyItem": copy_item}
