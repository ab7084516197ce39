"""Subscribe, GetEvents, GetStreamingEvents and Unsubscribe (pull and streaming).

Push subscriptions need the server to call the client back, which the sandbox does not
do; they are refused with ErrorInvalidOperation. A GetStreamingEvents request is answered
at once with the events already waiting and ConnectionStatus ``Closed`` (Exchange keeps
the connection open and streams; a client then simply opens the next connection).
"""

from __future__ import annotations

from lxml import etree

from esexchange.sandbox.ews import codec
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.operations import Context, children, resolve_folder, respond
from esexchange.sandbox.ews.soap import m, t
from esexchange.sandbox.models import StoreError
from esexchange.sandbox.models.subscriptions import Event, EventBatch, encode_watermark


def subscribe(ctx: Context, op: etree._Element) -> etree._Element:
    """Subscribe: a pull or streaming subscription to folders (or all folders)."""
    request = children(op)[0]
    kind = etree.QName(request).localname

    def handle(_: object, message: etree._Element) -> None:
        if kind == "PushSubscriptionRequest":
            raise EwsError(
                "ErrorInvalidOperation", "The sandbox does not call clients back (push)."
            )
        folders = frozenset(
            resolve_folder(ctx.mailbox, f).id for f in children(request.find(t("FolderIds")))
        )
        all_folders = request.get("SubscribeToAllFolders") in ("true", "1")
        if not folders and not all_folders:
            raise EwsError("ErrorInvalidSubscriptionRequest", "Name folders or all folders.")
        types = frozenset(e.text or "" for e in children(request.find(t("EventTypes"))))
        timeout = request.findtext(t("Timeout"))
        subscription = ctx.mailbox.subscribe(
            folders,
            types,
            streaming=kind == "StreamingSubscriptionRequest",
            all_folders=all_folders,
            watermark=request.findtext(t("Watermark")),
            timeout_minutes=int(timeout) if timeout else None,
        )
        etree.SubElement(message, m("SubscriptionId")).text = subscription.id
        if not subscription.streaming:
            etree.SubElement(message, m("Watermark")).text = encode_watermark(
                subscription.watermark
            )

    return respond("Subscribe", [None], handle)


def _event(parent: etree._Element, event: Event) -> None:
    node = etree.SubElement(parent, t(event.kind))
    etree.SubElement(node, t("Watermark")).text = encode_watermark(event.watermark)
    etree.SubElement(node, t("TimeStamp")).text = codec.format_datetime(event.at)
    if event.item_id is not None:
        etree.SubElement(node, t("ItemId"), Id=event.item_id)
    else:
        etree.SubElement(node, t("FolderId"), Id=event.folder_id or "")
    etree.SubElement(node, t("ParentFolderId"), Id=event.parent_id)


def get_events(ctx: Context, op: etree._Element) -> etree._Element:
    """GetEvents: the events of a pull subscription after a watermark."""
    subscription_id = op.findtext(m("SubscriptionId")) or ""
    watermark = op.findtext(m("Watermark"))

    def handle(_: object, message: etree._Element) -> None:
        batch = ctx.mailbox.events(subscription_id, watermark, streaming=False)
        notification = etree.SubElement(message, m("Notification"))
        _fill(notification, subscription_id, batch)

    return respond("GetEvents", [None], handle)


def _fill(node: etree._Element, subscription_id: str, batch: EventBatch) -> None:
    etree.SubElement(node, t("SubscriptionId")).text = subscription_id
    etree.SubElement(node, t("PreviousWatermark")).text = encode_watermark(batch.previous)
    etree.SubElement(node, t("MoreEvents")).text = "true" if batch.more else "false"
    if not batch.events:  # nothing happened: a StatusEvent carries the watermark
        status = etree.SubElement(node, t("StatusEvent"))
        etree.SubElement(status, t("Watermark")).text = encode_watermark(batch.previous)
    for event in batch.events:
        _event(node, event)


def get_streaming_events(ctx: Context, op: etree._Element) -> etree._Element:
    """GetStreamingEvents: what waits for each streaming subscription, then Closed."""
    ids = [s.text or "" for s in children(op.find(m("SubscriptionIds")))]

    def handle(_: object, message: etree._Element) -> None:
        notifications = etree.SubElement(message, m("Notifications"))
        failed: list[str] = []
        for subscription_id in ids:
            try:
                batch = ctx.mailbox.events(subscription_id, None, streaming=True)
            except StoreError:  # gone or expired: listed, the others still answered
                failed.append(subscription_id)
                continue
            if batch.events:
                _fill(etree.SubElement(notifications, t("Notification")), subscription_id, batch)
        if not len(notifications):
            message.remove(notifications)
        if failed:
            errors = etree.SubElement(message, m("ErrorSubscriptionIds"))
            for subscription_id in failed:
                etree.SubElement(errors, t("SubscriptionId")).text = subscription_id
        etree.SubElement(message, m("ConnectionStatus")).text = "Closed"

    return respond("GetStreamingEvents", [None], handle)


def unsubscribe(ctx: Context, op: etree._Element) -> etree._Element:
    """Unsubscribe: end a pull or streaming subscription."""
    subscription_id = op.findtext(m("SubscriptionId")) or ""

    def handle(_: object, message: etree._Element) -> None:
        ctx.mailbox.unsubscribe(subscription_id)

    return respond("Unsubscribe", [None], handle)


HANDLERS = {
    "Subscribe": subscribe,
    "GetEvents": get_events,
    "GetStreamingEvents": get_streaming_events,
    "Unsubscribe": unsubscribe,
}
