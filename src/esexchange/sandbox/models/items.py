"""Items of a mailbox, what a deleted one leaves behind, and one change of an update."""

from __future__ import annotations

from dataclasses import dataclass

from esexchange.sandbox.models.values import ExtendedKey, ExtendedValue, Value

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

    @property
    def associated(self) -> bool:
        """A folder associated item (FAI, created with ``IsAssociated`` true): kept with
        the folder's settings, outside its contents (views, counts, sync)."""
        return self.fields.get("IsAssociated") is True


@dataclass(frozen=True)
class Tombstone:
    """What a sync needs to know about a deleted item."""

    item_id: str
    folder_id: str
    created_seq: int
    deleted_seq: int
    associated: bool = False  # an associated item's deletion is no change of the contents


@dataclass(frozen=True)
class FieldChange:
    """One change of an update: ``set``, ``append`` or ``delete`` of a property."""

    action: str
    target: str | ExtendedKey
    value: Value | ExtendedValue | None = None
