"""Subscribe, GetEvents, GetStreamingEvents and Unsubscribe (pull and streaming).

Push subscriptions need the server to call the client back, which the sandbox does not
do; they are refused with ErrorInvalidOperation.

GetStreamingEvents behaves as "Stream notifications about mailbox events by using EWS in
Exchange" and the GetStreamingEvents operation page describe it: the connection stays
open for ConnectionTimeout minutes (1 to 30) as one chunked HTTP response carrying one
SOAP envelope after another, each notification batch in its own envelope as it happens
(``ConnectionStatus`` OK), an envelope without notifications as a keep-alive when
nothing happened for ``keep_alive`` seconds, and a last one with ConnectionStatus
``Closed``. A subscription that is gone or expired fails the request at once with its
code and ``ErrorSubscriptionIds``, without notifications for the others (as Exchange
does, and as exchangelib expects). ``Stream`` is the open connection; ``app.py`` serves
it as a streaming response, looking every ``POLL_SECONDS`` without holding a thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from lxml import etree

from esexchange.sandbox.ews import codec
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.operations import Context, children, resolve_folder, respond
from esexchange.sandbox.ews.soap import m, t
from esexchange.sandbox.models import Mailbox, StoreError
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


KEEP_ALIVE_SECONDS = 30.0
"""Seconds without a notification after which an open connection sends a keep-alive."""
POLL_SECONDS = 0.1
"""How often an open connection looks at its mailbox (a look without a change is cheap)."""


def _subscription_ids(op: etree._Element) -> list[str]:
    return [s.text or "" for s in children(op.find(m("SubscriptionIds")))]


class _Gone(Exception):
    """Subscriptions of the request that are gone or expired (the first one's error)."""

    def __init__(self, failed: list[tuple[str, StoreError]]) -> None:
        super().__init__(failed[0][1].message)
        self.error = failed[0][1]
        self.ids = [subscription_id for subscription_id, _ in failed]


def _notifications(mailbox: Mailbox, ids: list[str]) -> etree._Element | None:
    """What waits for each subscription (``None``: nothing); ``_Gone`` naming every
    subscription that is gone."""
    notifications = etree.Element(m("Notifications"))
    failed: list[tuple[str, StoreError]] = []
    for subscription_id in ids:
        try:
            batch = mailbox.streaming_events(subscription_id)
        except StoreError as error:
            failed.append((subscription_id, error))
            continue
        if batch is not None and batch.events:
            _fill(etree.SubElement(notifications, t("Notification")), subscription_id, batch)
    if failed:
        raise _Gone(failed)
    return notifications if len(notifications) else None


def _answer(notifications: etree._Element | None, status: str) -> etree._Element:
    def handle(_: object, message: etree._Element) -> None:
        if notifications is not None:
            message.append(notifications)
        etree.SubElement(message, m("ConnectionStatus")).text = status

    return respond("GetStreamingEvents", [None], handle)


def _failed(gone: _Gone) -> etree._Element:
    """The error answer for subscriptions that are gone, listing them, then Closed."""

    def handle(_: object, __: etree._Element) -> None:
        raise gone.error

    response = respond("GetStreamingEvents", [None], handle)
    message = children(children(response)[0])[0]
    errors = etree.SubElement(message, m("ErrorSubscriptionIds"))
    for subscription_id in gone.ids:
        etree.SubElement(errors, t("SubscriptionId")).text = subscription_id
    etree.SubElement(message, m("ConnectionStatus")).text = "Closed"
    return response


def get_streaming_events(ctx: Context, op: etree._Element) -> etree._Element:
    """GetStreamingEvents answered at once: what waits now, then Closed. The endpoint
    streams instead (``stream``); this answers a request that fails at once."""
    try:
        return _answer(_notifications(ctx.mailbox, _subscription_ids(op)), "Closed")
    except _Gone as gone:
        return _failed(gone)


def check_streaming(mailbox: Mailbox, op: etree._Element) -> etree._Element | None:
    """The error answer when a subscription of the request is gone; ``None`` when the
    connection may open."""
    failed: list[tuple[str, StoreError]] = []
    for subscription_id in _subscription_ids(op):
        try:
            mailbox.subscription(subscription_id, streaming=True)
        except StoreError as error:
            failed.append((subscription_id, error))
    return _failed(_Gone(failed)) if failed else None


class Stream:
    """One open GetStreamingEvents connection (see the module doc). The server calls
    ``step`` every ``poll`` seconds, holding no thread in between, and sends what it
    returns; the connection ends after the step that says ``last``."""

    def __init__(
        self,
        locked: Callable[[], AbstractContextManager[Mailbox]],
        op: etree._Element,
        *,
        keep_alive: float = KEEP_ALIVE_SECONDS,
        poll: float = POLL_SECONDS,
        minute: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._locked = locked
        self._ids = _subscription_ids(op)
        self._keep_alive = keep_alive
        self._clock = clock
        self.poll = poll
        now = clock()
        self._closes = now + minute * int(op.findtext(m("ConnectionTimeout")) or "1")
        self._quiet_since = now

    def step(self) -> tuple[etree._Element | None, bool]:
        """(the response body to send now, or ``None``; whether it is the last)."""
        try:
            with self._locked() as mailbox:
                notifications = _notifications(mailbox, self._ids)
        except _Gone as gone:
            return _failed(gone), True
        now = self._clock()
        if now >= self._closes:
            return _answer(notifications, "Closed"), True
        if notifications is not None or now - self._quiet_since >= self._keep_alive:
            self._quiet_since = now
            return _answer(notifications, "OK"), False
        return None, False


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
