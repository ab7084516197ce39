"""Streaming notifications of one mailbox's calendar and tasks folders (EWS).

``MailboxEvents.subscribe`` opens one streaming subscription on both folders;
``listen`` holds a GetStreamingEvents connection open for up to ``minutes`` and yields,
per notification the server streams, how many item events it carried (0 for a status
event or events about folders). A subscription the server no longer has (unsubscribed, expired 30
minutes after its last connection, lost in a server restart) is ``SubscriptionGone``:
subscribe again. ``close`` ends an open connection from another thread.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

from exchangelib import FolderCollection
from exchangelib.errors import (
    ErrorExpiredSubscription,
    ErrorInvalidSubscription,
    ErrorSubscriptionNotFound,
)
from exchangelib.properties import StatusEvent
from exchangelib.services import GetStreamingEvents

from esexchange.exchange.errors import MailboxError

EVENT_TYPES = ("CopiedEvent", "CreatedEvent", "DeletedEvent", "ModifiedEvent", "MovedEvent")
_GONE = (ErrorSubscriptionNotFound, ErrorExpiredSubscription, ErrorInvalidSubscription)


def _about_an_item(event: Any) -> bool:
    """Whether an event concerns an item: status events and folder events (the folder
    itself changed, e.g. the calendar's user configuration where the pass renews its
    claim) are not changes a pass would carry over."""
    return not isinstance(event, StatusEvent) and getattr(event, "item_id", None) is not None


class SubscriptionGone(MailboxError):
    """The server no longer knows the subscription; subscribe again."""


class MailboxEvents:
    """The streaming subscription of one mailbox (made by ``EwsMailbox.events``)."""

    def __init__(self, account: Any, folders: list[Any], address: str) -> None:
        self._account = account
        self._folders = folders
        self._address = address
        self._open: GetStreamingEvents | None = None
        self._lock = threading.Lock()

    def subscribe(self) -> str:
        """A new streaming subscription on the calendar and the tasks folder."""
        collection = FolderCollection(account=self._account, folders=self._folders)
        return str(collection.subscribe_to_streaming(event_types=EVENT_TYPES))

    def listen(self, subscription_id: str, minutes: int) -> Iterator[int]:
        """The events per streamed notification until the server closes the connection."""
        service = GetStreamingEvents(account=self._account)
        with self._lock:
            self._open = service
        try:
            for notification in service.call(subscription_ids=[subscription_id],
                                             connection_timeout=minutes):
                yield sum(1 for e in notification.events if _about_an_item(e))
        except _GONE as error:
            raise SubscriptionGone(f"mailbox {self._address}: {error}") from error
        finally:
            with self._lock:
                self._open = None

    def close(self) -> None:
        """End the open connection, if any: its socket is shut down, so the listening
        thread's blocked read returns and that thread releases the session. (Closing the
        response here instead would wait for the read to finish.)"""
        with self._lock:
            service = self._open
        response = getattr(service, "_streaming_response", None)
        connection = getattr(getattr(response, "raw", None), "_connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
