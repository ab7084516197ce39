"""Notification subscriptions: which changes of which folders a client asked to hear of.

Events are read off the mailbox's change numbering, as sync is: a watermark is the
number up to which a subscriber has been told, and the events after it are the items
and folders created, modified or deleted since, in the subscribed folders (all folders
with ``all_folders``). Moves appear as a deletion where the item was and a creation
where it went, as the numbering sees them. A pull subscription lapses when it is not
polled within its timeout (ErrorExpiredSubscription); a streaming one 30 minutes after
its last connection ended ("Handling notification-related errors in EWS in Exchange":
a streaming subscription without a connection expires after 30 minutes). Like
Exchange's, subscriptions live in the server's memory: a restart forgets them, and
clients subscribe again on ErrorSubscriptionNotFound.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from esexchange.sandbox.models.errors import StoreError
from esexchange.sandbox.models.mailbox_state import MailboxState

EVENT_TYPES = frozenset({"CopiedEvent", "CreatedEvent", "DeletedEvent", "ModifiedEvent",
                         "MovedEvent", "NewMailEvent", "FreeBusyChangedEvent"})  # fmt: skip
MAX_EVENTS = 50  # per GetEvents answer; MoreEvents says when more wait
STREAMING_LIFETIME = timedelta(minutes=30)  # without a connection


@dataclass
class Subscription:
    """A pull or streaming subscription of one mailbox."""

    id: str
    streaming: bool
    folder_ids: frozenset[str]
    all_folders: bool
    event_types: frozenset[str]
    watermark: int
    timeout: timedelta | None  # pull only: how long it lives without a GetEvents
    polled_at: datetime  # the last GetEvents, or the last moment a connection streamed it


@dataclass(frozen=True)
class Event:
    """One notification: its kind, what it is about, and the watermark after it."""

    kind: str
    watermark: int
    at: datetime
    item_id: str | None = None
    folder_id: str | None = None  # the folder the event is about (FolderId)
    parent_id: str = ""  # the folder the item or folder is in (ParentFolderId)


@dataclass
class EventBatch:
    """What a GetEvents answers: events (a StatusEvent when there are none) and whether
    more wait."""

    previous: int
    events: list[Event] = field(default_factory=list)
    more: bool = False


def encode_watermark(seq: int) -> str:
    """The opaque watermark of change number ``seq``."""
    return base64.b64encode(b"ESXWM" + seq.to_bytes(8, "big")).decode()


def decode_watermark(text: str) -> int:
    """The change number of a watermark; ErrorInvalidWatermark for anything else."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 13 or not raw.startswith(b"ESXWM"):
        raise StoreError("ErrorInvalidWatermark", "The watermark is invalid.")
    return int.from_bytes(raw[5:], "big")


class SubscriptionsMailbox(MailboxState):
    """Subscribe, read events, unsubscribe."""

    def subscribe(
        self,
        folder_ids: frozenset[str],
        event_types: frozenset[str],
        *,
        streaming: bool,
        all_folders: bool = False,
        watermark: str | None = None,
        timeout_minutes: int | None = None,
    ) -> Subscription:
        """A new subscription, watching from now (or from ``watermark``)."""
        for folder_id in folder_ids:
            self.folder(folder_id)
        start = decode_watermark(watermark) if watermark else self.seq
        if start > self.seq:
            raise StoreError("ErrorInvalidWatermark", "The watermark is from the future.")
        subscription = Subscription(
            id=self._new_id(b"\x04"),
            streaming=streaming,
            folder_ids=folder_ids,
            all_folders=all_folders,
            event_types=event_types & EVENT_TYPES,
            watermark=start,
            timeout=timedelta(minutes=timeout_minutes) if timeout_minutes else None,
            polled_at=self._clock(),
        )
        self.subscriptions[subscription.id] = subscription
        return subscription

    def subscription(
        self, subscription_id: str, *, streaming: bool | None = None
    ) -> Subscription:
        """A live subscription; ErrorSubscriptionNotFound or ErrorExpiredSubscription."""
        found = self.subscriptions.get(subscription_id)
        if found is None or (streaming is not None and found.streaming != streaming):
            raise StoreError("ErrorSubscriptionNotFound", "The subscription was not found.")
        lifetime = STREAMING_LIFETIME if found.streaming else found.timeout
        if lifetime is not None and self._clock() - found.polled_at > lifetime:
            del self.subscriptions[subscription_id]
            raise StoreError("ErrorExpiredSubscription", "The subscription has expired.")
        return found

    def unsubscribe(self, subscription_id: str) -> None:
        """End a subscription."""
        self.subscription(subscription_id)
        del self.subscriptions[subscription_id]

    def events(
        self, subscription_id: str, watermark: str | None, *, streaming: bool
    ) -> EventBatch:
        """The events after ``watermark`` (pull) or after the last ones given (streaming)."""
        subscription = self.subscription(subscription_id, streaming=streaming)
        since = decode_watermark(watermark) if watermark else subscription.watermark
        if since < subscription.watermark and not streaming:
            since = subscription.watermark  # what was acknowledged is not sent again
        changes = self._changes_since(subscription, since)
        pending = [event for event in changes if event.kind in subscription.event_types]
        more = len(pending) > MAX_EVENTS
        batch = EventBatch(previous=since, events=pending[:MAX_EVENTS], more=more)
        last = batch.events[-1].watermark if batch.events and batch.more else self.seq
        subscription.watermark = max(last, since)
        subscription.polled_at = self._clock()
        return batch

    def streaming_events(self, subscription_id: str) -> EventBatch | None:
        """The events of a streaming subscription since the last ones given, or ``None``
        at once when the mailbox has not changed since (an open connection asks often)."""
        subscription = self.subscription(subscription_id, streaming=True)
        if subscription.watermark >= self.seq:
            subscription.polled_at = self._clock()
            return None
        return self.events(subscription_id, None, streaming=True)

    def _watched(self, subscription: Subscription, folder_id: str | None) -> bool:
        return subscription.all_folders or folder_id in subscription.folder_ids

    def _changes_since(self, subscription: Subscription, since: int) -> list[Event]:
        now = self._clock()
        watched = self._watched
        events: list[Event] = []
        inbox = self.folder(distinguished="inbox").id
        for item in self.items.values():
            if not watched(subscription, item.folder_id):
                continue
            changed = max(item.changed_seq, item.read_seq)
            if item.created_seq > since:
                events.append(Event("CreatedEvent", item.created_seq, now, item.id, None,
                                    item.folder_id))  # fmt: skip
                if item.folder_id == inbox and item.kind == "Message":
                    events.append(Event("NewMailEvent", item.created_seq, now, item.id, None,
                                        inbox))  # fmt: skip
            elif changed > since:
                events.append(Event("ModifiedEvent", changed, now, item.id, None, item.folder_id))
        for stone in self.tombstones:
            if stone.deleted_seq > since >= stone.created_seq and watched(
                subscription, stone.folder_id
            ):
                events.append(Event("DeletedEvent", stone.deleted_seq, now, stone.item_id, None,
                                    stone.folder_id))  # fmt: skip
        for folder in self.folders.values():
            if folder.parent_id is None or not watched(subscription, folder.parent_id):
                continue
            kind = "CreatedEvent" if folder.created_seq > since else "ModifiedEvent"
            seq = folder.created_seq if folder.created_seq > since else folder.changed_seq
            if seq > since:
                events.append(Event(kind, seq, now, None, folder.id, folder.parent_id))
        for gone in self.folder_tombstones:
            if gone.deleted_seq > since >= gone.created_seq and watched(
                subscription, gone.parent_id
            ):
                events.append(Event("DeletedEvent", gone.deleted_seq, now, None, gone.folder_id,
                                    gone.parent_id or ""))  # fmt: skip
        return sorted(events, key=lambda e: e.watermark)
