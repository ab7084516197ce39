"""The mailbox store shared by the sandbox's Exchange emulators (EWS, Graph).

One store, as in Exchange, whichever protocol a client speaks: folders, items (named by
Exchange's property names), recurring series, sync numbering, user configurations and the
meeting messages the sandbox would have sent. It reads no protocol's format and raises
:class:`StoreError` with Exchange's own codes; each emulator's wire layer parses requests
into these values and renders them back. Optional persistence: ``persistence.py``.
"""

from esexchange.sandbox.models.backend import Backend
from esexchange.sandbox.models.errors import StoreError
from esexchange.sandbox.models.folders import DISTINGUISHED_FOLDERS, Folder, UserConfiguration
from esexchange.sandbox.models.items import FieldChange, Item, Tombstone
from esexchange.sandbox.models.mailbox import Clock, IdSource, Mailbox, system_clock
from esexchange.sandbox.models.meetings import SentMessage
from esexchange.sandbox.models.sync import SyncChange, SyncPage
from esexchange.sandbox.models.values import (
    Body,
    DeletedStarts,
    ExtendedKey,
    ExtendedValue,
    OccurrenceRef,
    OccurrenceRefs,
    Pattern,
    PatternKind,
    RangeKind,
    Recurrence,
    RecurrenceRange,
    TimeZone,
    Value,
    XmlValue,
)

__all__ = [
    "DISTINGUISHED_FOLDERS", "Backend", "Body", "Clock", "DeletedStarts", "ExtendedKey",
    "ExtendedValue", "FieldChange", "Folder", "IdSource", "Item", "Mailbox", "OccurrenceRef",
    "OccurrenceRefs", "Pattern", "PatternKind", "RangeKind", "Recurrence", "RecurrenceRange",
    "SentMessage", "StoreError", "SyncChange", "SyncPage", "TimeZone", "Tombstone",
    "UserConfiguration", "Value", "XmlValue", "system_clock",
]  # fmt: skip
