"""The state of one mailbox: numbering, identifiers, folders, items, sync states.

The store knows nothing of XML or HTTP. It holds state, enforces what Exchange enforces
and raises :class:`StoreError` with Exchange's code. Time and identifiers come from an
injected clock and id source, so tests control both. The operations on this state are
spread over small classes: series (``occurrences.py``), user configurations
(``configurations.py``) and item writes (``mailbox.py``, whose ``Mailbox`` has them all).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from esexchange.sandbox.models import recurrence, sync
from esexchange.sandbox.models.errors import StoreError
from esexchange.sandbox.models.folders import DISTINGUISHED_FOLDERS, Folder, FolderTombstone
from esexchange.sandbox.models.items import Item, Tombstone
from esexchange.sandbox.models.meetings import SentMessage

if TYPE_CHECKING:
    from esexchange.sandbox.models.subscriptions import Subscription

Clock = Callable[[], datetime]
IdSource = Callable[[], bytes]  # 16 fresh bytes per call


def system_clock() -> datetime:
    """The wall clock in UTC."""
    return datetime.now(UTC)


_ID_PREFIX = b"\x00\x00\x00\x00"
_ID_LENGTH = 4 + 8 + 1 + 16  # prefix, mailbox tag, kind, 16 bytes of the id source


def check_id(item_id: str) -> None:
    """ErrorInvalidIdMalformed unless ``item_id`` has the form of this store's ids.

    Exchange tells an id it cannot parse (ErrorInvalidIdMalformed) from a well-formed id
    of nothing it holds (ErrorItemNotFound / ErrorFolderNotFound).
    """
    try:
        raw = base64.b64decode(item_id, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    occurrence = recurrence.parse_occurrence_id(item_id)
    if occurrence is not None:
        check_id(occurrence[0])
        return
    if len(raw) != _ID_LENGTH or not raw.startswith(_ID_PREFIX):
        raise StoreError("ErrorInvalidIdMalformed", f"Id is malformed: {item_id!r}.")


class MailboxState:
    """Folders, items, tombstones and recorded meeting messages of one mailbox.

    Not thread-safe by itself: callers hold :attr:`lock` for a whole request.
    """

    def __init__(self, email: str, name: str, *, clock: Clock, ids: IdSource) -> None:
        self.email = email
        self.name = name
        self.lock = threading.RLock()
        self._clock = clock
        self._ids = ids
        self._tag = hashlib.sha256(email.lower().encode()).digest()[:8]
        self.seq = 0
        self.folders: dict[str, Folder] = {}
        self.items: dict[str, Item] = {}
        self.exceptions: dict[str, Item] = {}  # changed occurrences, by occurrence id
        self.tombstones: list[Tombstone] = []
        self.sent: list[SentMessage] = []
        self.folder_tombstones: list[FolderTombstone] = []
        self.subscriptions: dict[str, Subscription] = {}  # in memory only: they lapse
        self.add_missing_folders()


    def now(self) -> datetime:
        """The mailbox's clock (a test's, or the system's)."""
        return self._clock()
    def add_missing_folders(self) -> None:
        """Give the mailbox every distinguished folder it lacks (a state file of an
        earlier version has fewer)."""
        by_name = {f.distinguished: f for f in self.folders.values() if f.distinguished}
        for name_, parent, folder_class, folder_type, display in DISTINGUISHED_FOLDERS:
            if name_ in by_name:
                continue
            folder = Folder(
                # Stable per mailbox and name, as Exchange's folder ids are for a mailbox's life.
                id=self._folder_id(name_),
                change_key=self._new_change_key(),
                folder_type=folder_type,
                folder_class=folder_class,
                display_name=display,
                parent_id=by_name[parent].id if parent else None,
                distinguished=name_,
            )
            folder.created_seq = folder.changed_seq = self.seq
            by_name[name_] = folder
            self.folders[folder.id] = folder

    # identifiers -------------------------------------------------------------------------

    def _new_id(self, kind: bytes) -> str:
        raw = b"\x00\x00\x00\x00" + self._tag + kind + self._ids()
        return base64.b64encode(raw).decode()

    def _folder_id(self, name: str) -> str:
        digest = hashlib.sha256(name.encode()).digest()[:16]
        return base64.b64encode(b"\x00\x00\x00\x00" + self._tag + b"\x01" + digest).decode()

    def _new_change_key(self) -> str:
        self.seq += 1
        raw = b"\x10\x00\x00\x00" + self._tag + self.seq.to_bytes(8, "big")
        return base64.b64encode(raw).decode()

    # folders -----------------------------------------------------------------------------

    def folder(self, folder_id: str | None = None, *, distinguished: str | None = None) -> Folder:
        """A folder by id or by distinguished name; ErrorFolderNotFound otherwise
        (ErrorInvalidIdMalformed for an id that cannot be one)."""
        if distinguished is None and folder_id is not None:
            check_id(folder_id)
        for folder in self.folders.values():
            if (distinguished and folder.distinguished == distinguished) or folder.id == folder_id:
                return folder
        raise StoreError(
            "ErrorFolderNotFound", "The specified folder could not be found in the store."
        )

    def child_folders(self, parent_id: str, *, deep: bool) -> list[Folder]:
        """Folders below ``parent_id``: direct children, or the whole subtree when ``deep``."""
        children = [f for f in self.folders.values() if f.parent_id == parent_id]
        if not deep:
            return children
        result: list[Folder] = []
        for child in children:
            result.append(child)
            result.extend(self.child_folders(child.id, deep=True))
        return result

    def item_count(self, folder_id: str) -> int:
        """Number of items in a folder."""
        return sum(
            1 for item in self.items.values() if item.folder_id == folder_id and not item.associated
        )

    def unread_count(self, folder_id: str) -> int:
        """Number of unread messages in a folder (other items are never unread)."""
        return sum(
            1
            for item in self.items.values()
            if item.folder_id == folder_id
            and item.fields.get("IsRead") is False
            and not item.associated
        )

    # items -------------------------------------------------------------------------------

    def items_in(self, folder_id: str, *, associated: bool = False) -> list[Item]:
        """Items of a folder in the order they were created: its contents, or with
        ``associated`` its associated items (a FindItem with Traversal Associated)."""
        self.folder(folder_id)
        return sorted(
            (i for i in self.items.values()
             if i.folder_id == folder_id and i.associated == associated),
            key=lambda i: i.created_seq,
        )  # fmt: skip

    # sync --------------------------------------------------------------------------------

    def sync_items(self, folder_id: str, state: str | None, max_changes: int) -> sync.SyncPage:
        """Changes of a folder since ``state`` (oldest first), at most ``max_changes``."""
        folder = self.folder(folder_id)
        since = sync.decode_state(state, folder.id, self.seq) if state else 0
        changes, reached, last = sync.changes_since(
            [i for i in self.items.values() if not i.associated],
            [s for s in self.tombstones if not s.associated],
            folder.id,
            since,
            self.seq,
            max_changes,
        )
        return sync.SyncPage(tuple(changes), sync.encode_state(folder.id, reached), last)

    def sync_hierarchy(
        self, top_id: str, state: str | None
    ) -> tuple[list[tuple[str, Folder | str]], str]:
        """Changes below ``top_id`` since ``state`` and the new state: (``Create`` or
        ``Update``, folder) and (``Delete``, folder id), oldest first; a first sync (no
        state) reports every folder as created."""
        since = sync.decode_state(state, top_id, self.seq) if state else -1
        below = self.child_folders(top_id, deep=True)
        known = {top_id} | {f.id for f in below} | {s.folder_id for s in self.folder_tombstones}
        changes: list[tuple[int, str, Folder | str]] = []
        for folder in below:
            if folder.created_seq > since:
                changes.append((folder.created_seq, "Create", folder))
            elif folder.changed_seq > since:
                changes.append((folder.changed_seq, "Update", folder))
        for stone in self.folder_tombstones:  # folders the client could have seen
            if stone.deleted_seq > since >= stone.created_seq and stone.parent_id in known:
                changes.append((stone.deleted_seq, "Delete", stone.folder_id))
        changes.sort(key=lambda change: change[0])
        return [(kind, target) for _, kind, target in changes], sync.encode_state(top_id, self.seq)
