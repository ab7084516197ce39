"""A mailbox of the store: item writes (create, update, delete, send) on its state."""

from __future__ import annotations

import base64
import copy
from datetime import datetime

from esexchange.sandbox.models import recurrence, rules, values
from esexchange.sandbox.models.configurations import ConfigurationsMailbox
from esexchange.sandbox.models.errors import StoreError
from esexchange.sandbox.models.folder_tree import FolderTreeMailbox
from esexchange.sandbox.models.items import ITEM_CLASSES, FieldChange, Item, Tombstone
from esexchange.sandbox.models.mailbox_state import Clock, IdSource, system_clock
from esexchange.sandbox.models.meetings import MEETING_MESSAGES, SENDING, SentMessage
from esexchange.sandbox.models.occurrences import SeriesMailbox
from esexchange.sandbox.models.subscriptions import SubscriptionsMailbox
from esexchange.sandbox.models.values import ExtendedKey, ExtendedValue, Recurrence, Value

__all__ = ["Clock", "IdSource", "Mailbox", "system_clock"]


class Mailbox(SeriesMailbox, ConfigurationsMailbox, FolderTreeMailbox, SubscriptionsMailbox):
    """One mailbox: folders, items, series, sync states, configurations, meeting messages.

    Not thread-safe by itself: callers hold :attr:`lock` for a whole request.
    """

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
        fields = {k: v for k, v in fields.items() if k not in rules.IGNORED_ON_WRITE}
        for name in fields:
            if name in rules.READ_ONLY:
                raise StoreError("ErrorInvalidPropertySet", f"{name} is read-only.")
        for key, extended_value in extended.items():
            rules.check_extended(key, extended_value)
        item_class = fields.get("ItemClass")
        expected = ITEM_CLASSES.get(kind, "IPM")
        typed = kind in ("CalendarItem", "Task") and isinstance(item_class, str)
        if typed and not str(item_class).startswith(expected):
            raise StoreError(
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
            item.fields["ChangeCount"] = 1  # a new task has changed once (MS-OXWSTASK R45)
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
            raise StoreError(
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
        if item.kind == "CalendarItem" and fields.get("Recurrence") != item.fields.get(
                "Recurrence") and "Recurrence" in item.fields:
            self._drop_exceptions(item, fields)
        if item.kind == "Task":
            fields["ChangeCount"] = int(fields.get("ChangeCount", 0)) + 1  # type: ignore[arg-type]
        rules.derive(item.kind, fields, now)  # may refuse the result; the item stays untouched
        split = _splits_recurring_task(item, fields)
        if split is not None:
            kept = ("StartDate", "DueDate", "Recurrence")  # a moved one: the series' own dates
            base = fields if split == "completed" else {
                **fields, **{k: v for k, v in item.fields.items() if k in kept}
            }
            return self._split_occurrence(item, fields, base, extended, now)
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
            following = recurrence.advanced_task(item.fields, self._clock())
            if following is not None:
                following["ChangeCount"] = int(item.fields.get("ChangeCount", 1)) + 1  # type: ignore[arg-type]
                self._rewrite(item, following, dict(item.extended))
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
        self.tombstones.append(
            Tombstone(item.id, item.folder_id, item.created_seq, self.seq, item.associated)
        )
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

    def _drop_exceptions(self, master: Item, fields: dict[str, Value]) -> None:
        """A changed recurrence pattern removes every modified and deleted occurrence
        (MS-OXOCAL 3.1.4.7.3.5: "removes every exception from the PidLidAppointmentRecur
        property and every Exception Attachment object")."""
        fields.pop("ModifiedOccurrences", None)
        fields.pop("DeletedOccurrences", None)
        for exception_id in [k for k, e in self.exceptions.items() if e.master_id == master.id]:
            del self.exceptions[exception_id]

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

    def move_item(self, item_id: str, folder_id: str, *, keep: bool = False) -> Item:
        """Move (or, with ``keep``, copy) an item to a folder: the result has a new id
        there, as in Exchange; an occurrence cannot be moved or copied on its own."""
        item = self.item(item_id)
        target = self.folder(folder_id)
        if item.master_id is not None:
            raise StoreError(
                "ErrorCalendarCannotMoveOrCopyOccurrence", "Occurrences move with their series."
            )
        moved = copy.deepcopy(item)
        moved.id = self._new_id(b"\x02")
        moved.folder_id = target.id
        moved.change_key = self._new_change_key()
        moved.created_seq = moved.changed_seq = self.seq
        self.items[moved.id] = moved
        for key, exception in list(self.exceptions.items()):  # the series' changed occurrences
            if exception.master_id != item.id:
                continue
            index = recurrence.parse_occurrence_id(key)
            if index is None:
                continue
            twin = copy.deepcopy(exception)
            twin.id, twin.master_id = recurrence.occurrence_id(moved.id, index[1]), moved.id
            self.exceptions[twin.id] = twin
        if not keep:
            self.delete_item(item.id, "HardDelete", send_cancellations=None,
                             task_occurrences="AllOccurrences")  # fmt: skip
        return moved

    def _split_occurrence(
        self,
        master: Item,
        changed: dict[str, Value],
        base: dict[str, Value],
        extended: dict[ExtendedKey, ExtendedValue],
        now: datetime,
    ) -> Item:
        """Split the current occurrence off a recurring task, as Exchange does when it is
        completed or (a non-regenerating one) has its dates changed: the occurrence stays
        as a one-off task with the changes, the series moves on from ``base`` to its next
        occurrence (dates advanced, a numbered range one shorter) under its own id.
        UpdateItem answers the one-off. Completing the last occurrence completes the
        series itself."""
        following = recurrence.advanced_task(base, now)
        if following is None:
            return self._rewrite(master, changed, extended)
        one_off = {k: v for k, v in changed.items() if k != "Recurrence"}
        one_off.update(ChangeCount=1, IsRecurring=False)
        copy_ = Item(
            id=self._new_id(b"\x02"), change_key=self._new_change_key(), kind="Task",
            folder_id=master.folder_id, fields=one_off, extended=dict(extended),
            created_seq=self.seq, changed_seq=self.seq,
        )  # fmt: skip
        copy_.fields["DateTimeCreated"] = now
        self.items[copy_.id] = copy_
        following["ChangeCount"] = int(master.fields.get("ChangeCount", 1)) + 1  # type: ignore[arg-type]
        self._rewrite(master, following, dict(master.extended))
        return copy_

    def _rewrite(
        self, item: Item, fields: dict[str, Value], extended: dict[ExtendedKey, ExtendedValue]
    ) -> Item:
        """Give an item new properties and a new version."""
        rules.derive(item.kind, fields, self._clock())
        item.fields, item.extended = fields, extended
        item.change_key = self._new_change_key()
        item.changed_seq = self.seq
        return item

    def send_message(
        self,
        fields: dict[str, Value],
        extended: dict[ExtendedKey, ExtendedValue],
        save_copy: bool,
        copy_folder_id: str | None = None,
    ) -> Item | None:
        """Record a sent message; with ``save_copy`` it is also kept in ``copy_folder_id``
        (the request's SavedItemFolderId), else in Sent Items."""
        saved = None
        if save_copy:
            folder = self.folder(copy_folder_id or self.folder(distinguished="sentitems").id)
            saved = self.create_item(folder.id, "Message", fields, extended)
        subject = str(fields.get("Subject", ""))
        self.sent.append(
            SentMessage(
                "message", saved.id if saved else "", subject, values.recipient_addresses(fields)
            )
        )
        return saved

    def send_draft(self, item_id: str, save_copy: bool, copy_folder_id: str | None) -> Item | None:
        """Send a saved message (an UpdateItem with SendOnly or SendAndSaveCopy): the draft
        leaves its folder and, with ``save_copy``, a sent copy is kept as ``send_message``
        keeps one."""
        draft = self.item(item_id)
        if draft.kind != "Message":
            raise StoreError(
                "ErrorInvalidItemForOperationSendItem", "Only messages can be sent."
            )
        fields = {k: v for k, v in draft.fields.items() if k not in rules.READ_ONLY}
        saved = self.send_message(fields, dict(draft.extended), save_copy, copy_folder_id)
        self.delete_item(draft.id, "HardDelete", send_cancellations=None)
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
                raise StoreError(
                    "ErrorInvalidPropertyAppend", "Extended properties cannot be appended to."
                )
            return
        if target in rules.IGNORED_ON_WRITE:
            return
        if target in rules.READ_ONLY or target in rules.SET_ON_CREATE:
            code = (
                "ErrorInvalidPropertyDelete"
                if change.action == "delete"
                else "ErrorInvalidPropertySet"
            )
            raise StoreError(code, f"The property {target} is read-only.")
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


def _splits_recurring_task(item: Item, fields: dict[str, Value]) -> str | None:
    """Why an update splits the current occurrence off a recurring task, if it does:
    ``completed``, or ``moved`` (the dates or the range start of a non-regenerating one
    changed; a regenerating task just takes the new dates)."""
    rule = item.fields.get("Recurrence")
    if item.kind != "Task" or not isinstance(rule, Recurrence):
        return None
    if item.fields.get("Status") != "Completed" and fields.get("Status") == "Completed":
        return "completed"
    new_rule = fields.get("Recurrence")
    moved = any(item.fields.get(name) != fields.get(name) for name in ("StartDate", "DueDate"))
    if isinstance(new_rule, Recurrence) and new_rule.range.start != rule.range.start:
        moved = True
    return "moved" if moved and not rule.pattern.kind.regenerates else None
