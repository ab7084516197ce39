"""State of the EWS sandbox: mailboxes, folders, items, sync states, user configurations.

Models know nothing of XML or HTTP. They hold state, enforce what Exchange enforces and
raise :class:`EwsError` with Exchange's ResponseCode. Time and identifiers come from an
injected clock and id source, so tests control both.

Changes are numbered per mailbox (``Mailbox.seq``). An item remembers the number of its
creation and of its last change, a deleted item leaves a tombstone; a sync state is the
number up to which a client has seen a folder. That is enough to answer SyncFolderItems
exactly: creates, updates and deletes after a state, each reported once. Like Exchange's
ICS, a deletion is reported only for an item the client could have been given, one that
existed when its state was made; an item created and deleted since then never shows.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from esexchange.sandbox.ews import recurrence, rules, values
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.values import ExtendedKey, ExtendedValue, Value, XmlValue

Clock = Callable[[], datetime]
IdSource = Callable[[], bytes]  # 16 fresh bytes per call


def system_clock() -> datetime:
    """The wall clock in UTC."""
    return datetime.now(UTC)


# The distinguished folders every sandbox mailbox has: (name, parent, class, folder type,
# display name).
DISTINGUISHED_FOLDERS: tuple[tuple[str, str | None, str, str, str], ...] = (
    ("root", None, "", "Folder", "Top of Information Store"),
    ("msgfolderroot", "root", "IPF.Note", "Folder", "Top of Information Store"),
    ("inbox", "msgfolderroot", "IPF.Note", "Folder", "Inbox"),
    ("drafts", "msgfolderroot", "IPF.Note", "Folder", "Drafts"),
    ("sentitems", "msgfolderroot", "IPF.Note", "Folder", "Sent Items"),
    ("deleteditems", "msgfolderroot", "IPF.Note", "Folder", "Deleted Items"),
    ("calendar", "msgfolderroot", "IPF.Appointment", "CalendarFolder", "Calendar"),
    ("tasks", "msgfolderroot", "IPF.Task", "TasksFolder", "Tasks"),
    ("contacts", "msgfolderroot", "IPF.Contact", "ContactsFolder", "Contacts"),
    ("recoverableitemsroot", "root", "", "Folder", "Recoverable Items"),
    ("recoverableitemsdeletions", "recoverableitemsroot", "", "Folder", "Deletions"),
)

ITEM_CLASSES = {
    "CalendarItem": "IPM.Appointment",
    "Task": "IPM.Task",
    "Message": "IPM.Note",
    "Contact": "IPM.Contact",
    "Item": "IPM.Note",
}


# Properties of a recurring master that its occurrences do not have.
SERIES_ONLY = ("Recurrence", "FirstOccurrence", "LastOccurrence", "MeetingTimeZone",
               "DeletedOccurrences", "ModifiedOccurrences")  # fmt: skip

# Send... values that send meeting messages (the rest: SendToNone).
SENDING = frozenset({"SendOnlyToAll", "SendToAllAndSaveCopy", "SendOnlyToChanged",
                     "SendToChangedAndSaveCopy"})  # fmt: skip
# The item a saved copy of a meeting message is: (item element, ItemClass).
MEETING_MESSAGES = {
    "invitation": ("MeetingRequest", "IPM.Schedule.Meeting.Request"),
    "update": ("MeetingRequest", "IPM.Schedule.Meeting.Request"),
    "cancellation": ("MeetingCancellation", "IPM.Schedule.Meeting.Canceled"),
}


@dataclass
class UserConfiguration:
    """A named configuration object of a folder (e.g. Outlook's ``CategoryList``)."""

    name: str
    item_id: str
    dictionary: XmlValue | None = None
    xml_data: bytes | None = None
    binary_data: bytes | None = None


@dataclass
class Folder:
    """A mail folder; distinguished folders have their well-known name."""

    id: str
    change_key: str
    folder_type: str
    folder_class: str
    display_name: str
    parent_id: str | None
    distinguished: str | None = None
    configurations: dict[str, UserConfiguration] = field(default_factory=dict)


@dataclass
class Item:
    """A stored item: its kind (``CalendarItem``, ``Task``, ...), properties and versions."""

    id: str
    change_key: str
    kind: str
    folder_id: str
    fields: dict[str, Value]
    extended: dict[ExtendedKey, ExtendedValue]
    created_seq: int
    changed_seq: int
    master_id: str | None = None  # set on expanded occurrences only
    read_seq: int = 0  # the last change that touched IsRead only (a ReadFlagChange in sync)


@dataclass(frozen=True)
class Tombstone:
    """What a sync needs to know about a deleted item."""

    item_id: str
    folder_id: str
    created_seq: int
    deleted_seq: int


@dataclass(frozen=True)
class SentMessage:
    """A meeting message the sandbox would have sent; recorded so tests can assert on it."""

    kind: str  # "invitation", "update" or "cancellation"
    item_id: str
    subject: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class FieldChange:
    """One change of an UpdateItem: ``set``, ``append`` or ``delete`` of a property."""

    action: str
    target: str | ExtendedKey
    value: Value | ExtendedValue | None = None


@dataclass(frozen=True)
class SyncChange:
    """One entry of a SyncFolderItems answer: ``Create``/``Update`` carry the item."""

    kind: str
    item_id: str
    item: Item | None


@dataclass(frozen=True)
class SyncPage:
    """One SyncFolderItems answer."""

    changes: tuple[SyncChange, ...]
    sync_state: str
    includes_last: bool


class Mailbox:
    """One mailbox: folders, items, tombstones, recorded meeting messages.

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
        by_name: dict[str, Folder] = {}
        for name_, parent, folder_class, folder_type, display in DISTINGUISHED_FOLDERS:
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
        """A folder by id or by distinguished name; ErrorFolderNotFound otherwise."""
        for folder in self.folders.values():
            if (distinguished and folder.distinguished == distinguished) or folder.id == folder_id:
                return folder
        raise EwsError(
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
        return sum(1 for item in self.items.values() if item.folder_id == folder_id)

    def unread_count(self, folder_id: str) -> int:
        """Number of unread messages in a folder (other items are never unread)."""
        return sum(
            1
            for item in self.items.values()
            if item.folder_id == folder_id and item.fields.get("IsRead") is False
        )

    # items -------------------------------------------------------------------------------

    def items_in(self, folder_id: str) -> list[Item]:
        """Items of a folder in the order they were created."""
        self.folder(folder_id)
        return sorted(
            (i for i in self.items.values() if i.folder_id == folder_id),
            key=lambda i: i.created_seq,
        )

    def item(self, item_id: str) -> Item:
        """An item by id (occurrence ids included); ErrorItemNotFound otherwise."""
        found = self.items.get(item_id) or self.exceptions.get(item_id)
        if found is not None:
            return found
        occurrence = recurrence.parse_occurrence_id(item_id)
        if occurrence is not None:
            master = self.items.get(occurrence[0])
            if master is not None:
                return self.occurrence(master, occurrence[1])
        raise EwsError("ErrorItemNotFound", "The specified object was not found in the store.")

    def occurrence(self, master: Item, index: int) -> Item:
        """The ``index``-th (1-based) occurrence of a recurring master."""
        expanded = self._expand(master, None, None, until_index=index, with_deleted=True)
        for occurrence_index, occurrence in expanded:
            if occurrence_index != index:
                continue
            if occurrence.fields["OriginalStart"] in recurrence.deleted_starts(master.fields):
                raise EwsError(
                    "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
                    "The occurrence was deleted from the recurrence.",
                )
            return occurrence
        raise EwsError(
            "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
            "The occurrence index is out of the recurrence range.",
        )

    def occurrence_of(self, master_id: str, index: int) -> Item:
        """An occurrence by its master's id and index (an ``OccurrenceItemId``)."""
        master = self.items.get(master_id)
        if master is None or "Recurrence" not in master.fields or master.kind != "CalendarItem":
            raise EwsError(
                "ErrorCalendarCannotUseIdForRecurringMasterId",
                "The id does not belong to a recurring master.",
            )
        return self.occurrence(master, index)

    def master_of(self, occurrence_id: str) -> Item:
        """The recurring master of an occurrence (a ``RecurringMasterItemId``)."""
        parsed = recurrence.parse_occurrence_id(occurrence_id)
        master = self.items.get(parsed[0]) if parsed else None
        if master is None:
            raise EwsError(
                "ErrorCalendarCannotUseIdForOccurrenceId",
                "The id does not belong to an occurrence.",
            )
        return master

    def create_item(
        self,
        folder_id: str,
        kind: str,
        fields: dict[str, Value],
        extended: dict[ExtendedKey, ExtendedValue],
        *,
        send_to: str | None = None,
    ) -> Item:
        """Store a new item in a folder; ``send_to`` is SendMeetingInvitations or disposition."""
        folder = self.folder(folder_id)
        if kind == "Item":
            kind = "Message"  # Exchange 2013+ keeps a plain item as a message (MS-OXWSCDATA)
        for name in fields:
            if name in rules.READ_ONLY:
                raise EwsError("ErrorInvalidPropertySet", f"{name} is read-only.")
        for key, value in extended.items():
            rules.check_extended(key, value)
        item_class = fields.get("ItemClass")
        expected = ITEM_CLASSES.get(kind, "IPM")
        typed = kind in ("CalendarItem", "Task") and isinstance(item_class, str)
        if typed and not str(item_class).startswith(expected):
            raise EwsError(
                "ErrorObjectTypeChanged",
                f"The ItemClass {item_class} does not fit a {kind} (expected {expected}).",
            )
        now = self._clock()
        change_key = self._new_change_key()
        item = Item(
            id=self._new_id(b"\x02"),
            change_key=change_key,
            kind=kind,
            folder_id=folder.id,
            fields=dict(fields),
            extended=dict(extended),
            created_seq=self.seq,
            changed_seq=self.seq,
        )
        item.fields.setdefault("ItemClass", ITEM_CLASSES.get(kind, "IPM.Note"))
        item.fields["DateTimeCreated"] = now
        if kind == "CalendarItem":
            item.fields.setdefault("UID", base64.b16encode(self._ids()).decode())
        if kind == "Task":
            item.fields.setdefault("Status", "NotStarted")
            item.fields.setdefault("PercentComplete", 0.0)
            item.fields["ChangeCount"] = 0
            for name, value in fields.items():  # in request order: the last one set wins
                item.fields[name] = value
                rules.task_rule(item.fields, name, now)
        rules.derive(item.kind, item.fields, now)
        self.items[item.id] = item
        if kind == "CalendarItem" and send_to in SENDING:
            self._send(item, "invitation", values.recipient_addresses(item.fields), send_to)
        return item

    def update_item(
        self,
        item_id: str,
        change_key: str | None,
        conflict: str,
        changes: list[FieldChange],
        *,
        send_to: str | None = None,
    ) -> Item:
        """Apply the changes of one ItemChange; a stale key with NeverOverwrite is refused.

        ``send_to`` (SendMeetingInvitationsOrCancellations) sends the update to all
        attendees, or with ``...Changed...`` only to those the update added or removed.
        """
        item = self.item(item_id)
        if (
            change_key is not None
            and change_key != item.change_key
            and conflict == "NeverOverwrite"
        ):
            raise EwsError(
                "ErrorIrresolvableConflict",
                "The send or update operation could not be performed because the change key "
                "passed in the request does not match the current change key for the item.",
            )
        now = self._clock()
        fields = dict(item.fields)
        extended = dict(item.extended)
        for change in changes:
            self._apply(fields, extended, change)
            if item.kind == "Task" and isinstance(change.target, str):
                rules.task_rule(fields, change.target, now)
        if item.kind == "Task":
            fields["ChangeCount"] = int(fields.get("ChangeCount", 0)) + 1  # type: ignore[arg-type]
        rules.derive(item.kind, fields, now)  # may refuse the result; the item stays untouched
        before = values.recipient_addresses(item.fields)
        if item.master_id is not None:
            return self._change_occurrence(item, fields, extended)
        item.fields, item.extended = fields, extended
        item.change_key = self._new_change_key()
        if changes and all(change.target == "IsRead" for change in changes):
            item.read_seq = self.seq  # reported as a ReadFlagChange, not an Update
        else:
            item.changed_seq = self.seq
        if item.kind == "CalendarItem" and send_to in SENDING:
            after = values.recipient_addresses(fields)
            if "Changed" in str(send_to):
                after = tuple(a for a in (*before, *after) if (a in before) != (a in after))
            self._send(item, "update", after, str(send_to))
        return item

    def delete_item(
        self,
        item_id: str,
        delete_type: str,
        *,
        send_cancellations: str | None,
        task_occurrences: str | None = None,
    ) -> None:
        """HardDelete removes; SoftDelete moves to the dumpster (Recoverable Items\\Deletions);
        MoveToDeletedItems moves to Deleted Items. A moved item gets a new id there.

        For a recurring task, ``SpecifiedOccurrenceOnly`` deletes the current occurrence
        only: the task moves on to its next one (or goes when the series has ended).
        """
        item = self.item(item_id)
        if item.kind == "Task" and task_occurrences == "SpecifiedOccurrenceOnly":
            following = recurrence.next_task_dates(item.fields, self._clock())
            if following is not None:
                changes = [FieldChange("set", name, value) for name, value in following.items()]
                self.update_item(item.id, None, "AlwaysOverwrite", changes)
                return
        if item.master_id is not None:
            self._delete_occurrence(item, send_cancellations)
            return
        cancelled = False
        if send_cancellations in SENDING:
            recipients = values.recipient_addresses(item.fields)
            self._send(item, "cancellation", recipients, send_cancellations)
            cancelled = bool(recipients)
        del self.items[item.id]
        for exception_id in [k for k, e in self.exceptions.items() if e.master_id == item.id]:
            del self.exceptions[exception_id]
        self.seq += 1
        self.tombstones.append(Tombstone(item.id, item.folder_id, item.created_seq, self.seq))
        destination = {"SoftDelete": "recoverableitemsdeletions",
                       "MoveToDeletedItems": "deleteditems"}.get(delete_type)  # fmt: skip
        if destination is None:
            return
        folder = self.folder(distinguished=destination)
        if item.folder_id == folder.id:
            return
        if (
            destination == "deleteditems"
            and item.folder_id == self.folder(distinguished="recoverableitemsdeletions").id
        ):
            return
        moved = copy.deepcopy(item)
        moved.id = self._new_id(b"\x02")
        moved.folder_id = folder.id
        moved.change_key = self._new_change_key()
        moved.created_seq = moved.changed_seq = self.seq
        moved.fields["LastModifiedTime"] = self._clock()
        if cancelled:
            # The organizer's cancelled meeting: state 5 = meeting (1) + cancelled (4).
            moved.fields.update(IsCancelled=True, AppointmentState=5)
        self.items[moved.id] = moved

    def _delete_occurrence(self, occurrence: Item, send_cancellations: str | None) -> None:
        """Delete one occurrence: the master lists it in DeletedOccurrences from now on."""
        master = self.items[str(occurrence.master_id)]
        if send_cancellations in SENDING:
            recipients = values.recipient_addresses(master.fields)
            self._send(occurrence, "cancellation", recipients, str(send_cancellations))
        start = occurrence.fields["OriginalStart"]
        assert isinstance(start, datetime)
        self.exceptions.pop(occurrence.id, None)
        starts = recurrence.deleted_starts(master.fields) | {start}
        deleted = recurrence.deleted_occurrences(starts)
        master.fields = {**master.fields, "DeletedOccurrences": deleted}
        self._touch_series(master)

    def _change_occurrence(
        self, occurrence: Item, fields: dict[str, Value], extended: dict[ExtendedKey, ExtendedValue]
    ) -> Item:
        """Store a changed occurrence as an exception; the master lists it as modified."""
        master = self.items[str(occurrence.master_id)]
        fields["CalendarItemType"] = "Exception"
        exception = copy.copy(occurrence)
        exception.fields, exception.extended = fields, extended
        exception.change_key = self._new_change_key()
        exception.changed_seq = self.seq
        self.exceptions[exception.id] = exception
        self._touch_series(master)
        return exception

    def _touch_series(self, master: Item) -> None:
        """Refresh a master's ModifiedOccurrences; a new change key, seen by sync as an update."""
        changed = sorted(
            (e for e in self.exceptions.values() if e.master_id == master.id),
            key=lambda e: str(e.fields["OriginalStart"]),
        )
        fields = {k: v for k, v in master.fields.items() if k != "ModifiedOccurrences"}
        if changed:
            fields["ModifiedOccurrences"] = recurrence.modified_occurrences(changed)
        master.fields = fields
        rules.derive(master.kind, master.fields, self._clock())
        master.change_key = self._new_change_key()
        master.changed_seq = self.seq

    def send_message(
        self, fields: dict[str, Value], extended: dict[ExtendedKey, ExtendedValue], save_copy: bool
    ) -> Item | None:
        """Record a sent message; with ``save_copy`` it is also kept in Sent Items."""
        saved = None
        if save_copy:
            sent_items = self.folder(distinguished="sentitems")
            saved = self.create_item(sent_items.id, "Message", fields, extended)
        subject = str(fields.get("Subject", ""))
        self.sent.append(
            SentMessage(
                "message", saved.id if saved else "", subject, values.recipient_addresses(fields)
            )
        )
        return saved

    def _apply(
        self,
        fields: dict[str, Value],
        extended: dict[ExtendedKey, ExtendedValue],
        change: FieldChange,
    ) -> None:
        target = change.target
        if isinstance(target, ExtendedKey):
            if change.action == "delete":
                extended.pop(target, None)
            elif change.action == "set" and isinstance(change.value, str | tuple):
                rules.check_extended(target, change.value)
                extended[target] = change.value
            else:
                raise EwsError(
                    "ErrorInvalidPropertyAppend", "Extended properties cannot be appended to."
                )
            return
        if target in rules.READ_ONLY:
            code = (
                "ErrorInvalidPropertyDelete"
                if change.action == "delete"
                else "ErrorInvalidPropertySet"
            )
            raise EwsError(code, f"The property {target} is read-only.")
        if change.action == "delete":
            fields.pop(target, None)
        elif change.action == "set":
            fields[target] = change.value  # type: ignore[assignment]
        else:
            fields[target] = rules.appended(target, fields.get(target), change.value)

    def _send(self, item: Item, kind: str, recipients: tuple[str, ...], send_to: str) -> None:
        """Record a meeting message; ``...AndSaveCopy`` also keeps it in Sent Items."""
        if not recipients:
            return  # an appointment without attendees sends nothing
        subject = str(item.fields.get("Subject", ""))
        self.sent.append(SentMessage(kind, item.id, subject, recipients))
        if kind == "invitation":
            item.fields["MeetingRequestWasSent"] = True
        if send_to.endswith("AndSaveCopy"):
            item_kind, item_class = MEETING_MESSAGES[kind]
            copy_fields: dict[str, Value] = {
                "ItemClass": item_class,
                "Subject": subject,
                "ToRecipients": values.recipients_xml("ToRecipients", recipients),
            }
            self.create_item(self.folder(distinguished="sentitems").id, item_kind, copy_fields, {})

    # calendar view -----------------------------------------------------------------------

    def calendar_view(self, folder_id: str, start: datetime, end: datetime) -> list[Item]:
        """Single items, and occurrences of recurring masters, overlapping [start, end)."""
        found: list[Item] = []
        for item in self.items_in(folder_id):
            if "Recurrence" in item.fields:
                expanded = [occurrence for _, occurrence in self._expand(item, start, end)]
                shown = {occurrence.id for occurrence in expanded}
                moved_in = [  # exceptions moved into the window from outside it
                    e
                    for e in self.exceptions.values()
                    if e.master_id == item.id and e.id not in shown and _overlaps(e, start, end)
                ]
                found.extend(o for o in expanded + moved_in if _overlaps(o, start, end))
            elif _overlaps(item, start, end):
                found.append(item)
        return sorted(found, key=lambda i: (i.fields.get("Start", start), i.id))  # type: ignore[return-value,arg-type]

    def _expand(
        self,
        master: Item,
        start: datetime | None,
        end: datetime | None,
        until_index: int = 0,
        *,
        with_deleted: bool = False,
    ) -> list[tuple[int, Item]]:
        """(index, occurrence) of a master in [start, end); deleted ones only if asked."""
        occurrences = []
        deleted = recurrence.deleted_starts(master.fields)
        spans = recurrence.occurrences(master.fields, start, end, until_index=until_index)
        for index, (occ_start, occ_end) in spans:
            if occ_start in deleted and not with_deleted:
                continue
            occ = copy.copy(master)
            occ.fields = dict(master.fields)
            for name in SERIES_ONLY:
                occ.fields.pop(name, None)
            occ.fields.update(
                Start=occ_start, End=occ_end, OriginalStart=occ_start, CalendarItemType="Occurrence"
            )
            occ.id = recurrence.occurrence_id(master.id, index)
            occ.master_id = master.id
            occurrences.append((index, self.exceptions.get(occ.id, occ)))
        return occurrences

    def first_and_last(self, master: Item) -> tuple[Item | None, Item | None]:
        """The first and, for a series that ends, the last occurrence of a master."""
        ends = recurrence.has_end(master.fields)
        # A series without end is laid out only as far as its first remaining occurrence.
        reach = 0 if ends else 1 + len(recurrence.deleted_starts(master.fields))
        expanded = self._expand(master, None, None, until_index=reach)
        if not expanded:
            return None, None
        return expanded[0][1], expanded[-1][1] if ends else None

    # sync --------------------------------------------------------------------------------

    def sync_items(self, folder_id: str, state: str | None, max_changes: int) -> SyncPage:
        """Changes of a folder since ``state`` (oldest first), at most ``max_changes``."""
        folder = self.folder(folder_id)
        since = self._decode_state(state, folder.id) if state else 0
        pending: list[tuple[int, SyncChange]] = []
        for item in self.items.values():
            if item.folder_id != folder.id:
                continue
            if item.changed_seq > since:
                kind = "Create" if item.created_seq > since else "Update"
                seq = max(item.changed_seq, item.read_seq)
                pending.append((seq, SyncChange(kind, item.id, item)))
            elif item.read_seq > since:
                pending.append((item.read_seq, SyncChange("ReadFlagChange", item.id, item)))
        for stone in self.tombstones:  # only items that existed at the state (see above)
            if stone.folder_id == folder.id and stone.deleted_seq > since >= stone.created_seq:
                pending.append((stone.deleted_seq, SyncChange("Delete", stone.item_id, None)))
        pending.sort(key=lambda entry: entry[0])
        page = pending[:max_changes]
        reached = page[-1][0] if len(page) < len(pending) else max(self.seq, since)
        return SyncPage(
            changes=tuple(change for _, change in page),
            sync_state=self._encode_state(folder.id, reached),
            includes_last=len(page) == len(pending),
        )

    def sync_hierarchy(self, top_id: str, state: str | None) -> tuple[list[Folder], str]:
        """Folders below ``top_id`` that a client with ``state`` has not seen, and the new state.

        Folders never change in the sandbox, so only a first sync (no state) reports any.
        """
        since = self._decode_state(state, top_id) if state else None
        folders = self.child_folders(top_id, deep=True) if since is None else []
        return folders, self._encode_state(top_id, self.seq)

    def _encode_state(self, folder_id: str, seq: int) -> str:
        payload = json.dumps({"v": 1, "f": folder_id, "s": seq}, separators=(",", ":"))
        return base64.b64encode(payload.encode()).decode()

    def _decode_state(self, state: str, folder_id: str) -> int:
        try:
            data = json.loads(base64.b64decode(state, validate=True))
            if data["v"] == 1 and data["f"] == folder_id and 0 <= int(data["s"]) <= self.seq:
                return int(data["s"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            pass
        raise EwsError(
            "ErrorInvalidSyncStateData",
            "Synchronization state data is corrupt or otherwise invalid.",
        )

    # user configurations -----------------------------------------------------------------

    def get_configuration(self, folder_id: str, name: str) -> UserConfiguration:
        """A folder's user configuration by name; ErrorItemNotFound if there is none."""
        found = self.folder(folder_id).configurations.get(name)
        if found is None:
            raise EwsError("ErrorItemNotFound", f"The user configuration {name!r} was not found.")
        return found

    def create_configuration(self, folder_id: str, config: UserConfiguration) -> None:
        """Add a user configuration; a second one of the same name is refused."""
        folder = self.folder(folder_id)
        if config.name in folder.configurations:
            raise EwsError(
                "ErrorItemSave", f"The user configuration {config.name!r} already exists."
            )
        config.item_id = self._new_id(b"\x03")
        self._new_change_key()
        folder.configurations[config.name] = config

    def update_configuration(self, folder_id: str, config: UserConfiguration) -> None:
        """Replace the parts of a user configuration that the request carries."""
        current = self.get_configuration(folder_id, config.name)
        for part in ("dictionary", "xml_data", "binary_data"):
            if getattr(config, part) is not None:
                setattr(current, part, getattr(config, part))
        self._new_change_key()

    def delete_configuration(self, folder_id: str, name: str) -> None:
        """Remove a user configuration."""
        self.get_configuration(folder_id, name)
        del self.folder(folder_id).configurations[name]
        self._new_change_key()


def _overlaps(item: Item, start: datetime, end: datetime) -> bool:
    item_start, item_end = item.fields.get("Start"), item.fields.get("End")
    if not isinstance(item_start, datetime) or not isinstance(item_end, datetime):
        return False
    return item_start < end and (item_end > start or (item_end == item_start == start))


class Backend:
    """All mailboxes of one sandbox, created on first use from the directory."""

    def __init__(
        self,
        lookup: Callable[[str], tuple[str, str] | None],
        *,
        clock: Clock = system_clock,
        ids: IdSource = lambda: os.urandom(16),
        restore: Callable[[Mailbox], None] | None = None,
    ) -> None:
        self._lookup = lookup
        self._restore = restore
        self._clock = clock
        self._ids = ids
        self._lock = threading.Lock()
        self.mailboxes: dict[str, Mailbox] = {}

    def mailbox(self, email: str) -> Mailbox:
        """The mailbox of an address in the directory; ErrorNonExistentMailbox otherwise."""
        key = email.lower()
        with self._lock:
            found = self.mailboxes.get(key)
            if found is None:
                entry = self._lookup(email)
                if entry is None:
                    raise EwsError(
                        "ErrorNonExistentMailbox", f"No mailbox with such guid or address: {email}"
                    )
                found = Mailbox(entry[0], entry[1], clock=self._clock, ids=self._ids)
                if self._restore is not None:
                    self._restore(found)
                self.mailboxes[key] = found
            return found

    @contextlib.contextmanager
    def locked(self, email: str) -> Iterator[Mailbox]:
        """The mailbox of ``email``, held exclusively for one request."""
        mailbox = self.mailbox(email)
        with mailbox.lock:
            yield mailbox

    def reset(self) -> None:
        """Forget every mailbox (tests call this between cases)."""
        with self._lock:
            self.mailboxes.clear()
