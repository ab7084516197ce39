"""The value objects every layer shares: kinds, sides, items in their three forms.

An item exists in three shapes:

- ``ErpActivity``: an ERP row as the ERP stores it (naive local times, priority id,
  participants and equipment). ``erp/`` reads and writes these.
- ``ExchangeItem``: an Exchange item as the ``Mailbox`` port carries it (UTC times,
  importance, sensitivity, categories, the body with its trailer). ``exchange/`` adapters
  translate these to and from EWS or Graph and nothing more.
- ``Item``: the canonical, side-neutral content that is compared, hashed and merged.
  ``domain/mapping/`` converts both of the others to and from it.

Time semantics travel in the types: a timed appointment has aware UTC ``datetime``
bounds; an all-day appointment has ``date`` bounds with an *exclusive* end (a one-day
event on 1 May is ``start=date(.., 5, 1), end=date(.., 5, 2)``), as Exchange stores it.
Task start and due are ``date`` values (Outlook shows tasks by day).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the recurrence package imports this module
    from esexchange.domain.recurrence.model import Recurrence

When = datetime | date
"""A point in time: aware UTC ``datetime`` for timed items, ``date`` for all-day bounds."""


def instant(value: When) -> datetime:
    """A bound as a UTC moment (an all-day date counts from its UTC midnight)."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), UTC)


class Kind(StrEnum):
    """What an item is; each kind lives in its own Exchange folder."""

    APPOINTMENT = "appointment"
    TASK = "task"


class Side(StrEnum):
    """The two ends of a synchronization."""

    ERP = "erp"
    EXCHANGE = "exchange"

    @property
    def other(self) -> Side:
        return Side.EXCHANGE if self is Side.ERP else Side.ERP


class Importance(StrEnum):
    """Outlook's importance (EWS ``Importance``)."""

    LOW = "Low"
    NORMAL = "Normal"
    HIGH = "High"


class Sensitivity(StrEnum):
    """Outlook's sensitivity (EWS ``Sensitivity``)."""

    NORMAL = "Normal"
    PERSONAL = "Personal"
    PRIVATE = "Private"
    CONFIDENTIAL = "Confidential"

    @property
    def is_private(self) -> bool:
        """Private and Confidential are what the "no private" settings filter."""
        return self in (Sensitivity.PRIVATE, Sensitivity.CONFIDENTIAL)


class TaskStatus(StrEnum):
    """Task status; the values are the ERP's ``activity.status`` strings."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    WAITING = "waiting"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class Item:
    """Canonical content of one appointment or task: what both sides agree on.

    A series master has ``recurrence``, its pattern and range as canonical RRULE text
    (``format_rrule``), repeating ``start``/``end`` (the first occurrence) at their wall
    time in the connection's ERP zone, and ``exdates``, the original starts of its
    deleted occurrences (naive wall times, sorted). Its modified occurrences are pairs
    of their own.

    Fields that exist on both sides are merged. ``equipment`` and ``priority_name`` are
    owned by the ERP (they reach Exchange only as the body trailer and are never taken
    from Exchange: see ``ERP_OWNED_FIELDS``). Other one-sided data stays on its side:
    participants, Exchange categories other than ``ES_<no>_...``.
    """

    kind: Kind
    subject: str
    body: str = ""
    start: When | None = None
    end: When | None = None
    location: str = ""
    private: bool = False
    importance: Importance = Importance.NORMAL
    activity_type_no: int | None = None
    reminder_minutes: int | None = None
    due: date | None = None
    status: TaskStatus | None = None
    percent_complete: int = 0
    equipment: tuple[str, ...] = ()
    priority_name: str = ""
    recurrence: str | None = None
    exdates: tuple[datetime, ...] = ()

    @property
    def all_day(self) -> bool:
        return isinstance(self.start, date) and not isinstance(self.start, datetime)

    def content_hash(self) -> str:
        """A stable digest of the content; equal content gives an equal hash on any host."""
        return hashlib.sha256(_HASHED_JSON.encode(item_to_json(self)).encode()).hexdigest()


_HASHED_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
"""``json.dumps(..., sort_keys=True, ensure_ascii=False)``, its encoder built once."""


_SERIES_FIELDS = frozenset({"recurrence", "exdates"})

SYNC_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Item) if f.name != "kind")
"""The fields that are merged one by one in a three-way merge."""

ERP_OWNED_FIELDS: frozenset[str] = frozenset({"equipment", "priority_name"})
"""Fields only the ERP changes; their value read back from Exchange is ignored."""


_ITEM_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Item))
_AS_IS: frozenset[type] = frozenset({str, int, bool, type(None), Kind, Importance, TaskStatus})
"""Types whose values ``item_to_json`` keeps as they are (looked up by exact type)."""


def item_to_json(item: Item) -> dict[str, object]:
    """A JSON-safe dict of an item (dates as ISO strings, tagged by type)."""
    out: dict[str, object] = {}
    # getattr per field, not asdict(): the same values without asdict's deep copies,
    # which made hashing the hot spot of a pass; the field names and the common types
    # looked up once (this runs two or three times per item of a pass).
    names = _ITEM_FIELDS if type(item) is Item else tuple(f.name for f in fields(item))
    for name in names:
        value = getattr(item, name)
        if name in _SERIES_FIELDS:
            if value:  # left out when empty: items that are no series hash as before
                out[name] = value if name == "recurrence" else {
                    "dts": [moment.isoformat() for moment in value]}
        elif type(value) in _AS_IS:
            out[name] = value
        elif isinstance(value, datetime):
            out[name] = {"dt": value.isoformat()}
        elif isinstance(value, date):
            out[name] = {"d": value.isoformat()}
        elif isinstance(value, tuple):
            out[name] = list(value)
        else:
            out[name] = value
    return out


def item_from_json(data: dict[str, object]) -> Item:
    """The inverse of ``item_to_json``."""
    values: dict[str, object] = {}
    for name, value in data.items():
        if isinstance(value, dict) and "dts" in value:
            values[name] = tuple(datetime.fromisoformat(str(v)) for v in value["dts"])
        elif isinstance(value, dict) and "dt" in value:
            values[name] = datetime.fromisoformat(str(value["dt"]))
        elif isinstance(value, dict) and "d" in value:
            values[name] = date.fromisoformat(str(value["d"]))
        elif isinstance(value, list):
            values[name] = tuple(value)
        else:
            values[name] = value
    values["kind"] = Kind(str(values["kind"]))
    values["importance"] = Importance(str(values["importance"]))
    if values.get("status") is not None:
        values["status"] = TaskStatus(str(values["status"]))
    return Item(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ErpActivity:
    """One ``activity`` row with its participants and equipment, as the ERP stores it.

    Times are naive, in the connection's ERP time zone. ``id`` is ``None`` for an
    activity that is about to be created. A series master has ``recurrence`` (RRULE
    text) and ``exdates`` (original starts of deleted occurrences); a modified occurrence
    has ``series_id`` and ``original_start`` (see ``domain/recurrence/series.py``).
    ``recurring`` marks both, which the sync skips until the planner handles series.
    """

    id: int | None
    kind: Kind
    subject: str
    text: str = ""
    start_at: datetime | None = None
    end_at: datetime | None = None
    all_day: bool = False
    location: str = ""
    due_at: datetime | None = None
    status: TaskStatus | None = None
    percent_complete: int = 0
    completed_at: datetime | None = None
    private: bool = False
    priority_id: int | None = None
    activity_type_no: int | None = None
    reminder_minutes: int | None = None
    participant_ids: tuple[int, ...] = ()
    equipment: tuple[str, ...] = ()
    recurring: bool = False
    recurrence: str | None = None
    series_id: int | None = None
    original_start: datetime | None = None
    exdates: tuple[datetime, ...] = ()
    unreadable: str = ""
    """Why the ERP row cannot be synchronized as stored (names the column and the value,
    say a status the ERP does not know); the mapping rejects such an activity, so it
    fails alone, every pass, until the row is corrected."""

    @property
    def conference(self) -> bool:
        """An appointment with two or more participants is a conference appointment."""
        return self.kind is Kind.APPOINTMENT and len(self.participant_ids) >= 2


@dataclass(frozen=True)
class ExchangeItem:
    """An Exchange calendar item or task as the ``Mailbox`` port carries it.

    ``erp_id`` is the ERP id stamped in esExchange's extended property (``None`` on
    items the sync did not create). ``recurring`` marks recurring masters and
    occurrences, which the sync skips; ``recurrence`` is a master's series as read, with
    its modified and deleted occurrences (None where it could not be read).
    """

    kind: Kind
    subject: str
    body: str = ""
    start: When | None = None
    end: When | None = None
    location: str = ""
    sensitivity: Sensitivity = Sensitivity.NORMAL
    importance: Importance = Importance.NORMAL
    categories: tuple[str, ...] = ()
    reminder_minutes: int | None = None
    due: date | None = None
    status: TaskStatus | None = None
    percent_complete: int = 0
    erp_id: int | None = None
    recurring: bool = False
    recurrence: Recurrence | None = None

    @property
    def all_day(self) -> bool:
        return isinstance(self.start, date) and not isinstance(self.start, datetime)


@dataclass(frozen=True)
class ItemRef:
    """Identity and version of an Exchange item travel together.

    ``version`` is the backend's opaque version token (EWS: the change key; Graph: the
    ``@odata.etag``). A write guarded by it fails when the item changed meanwhile.
    """

    id: str
    version: str


@dataclass(frozen=True)
class OccurrenceKey:
    """One occurrence of an Exchange series: the master's item id and the start the
    pattern gives the occurrence (``original_start``, a naive wall time in the series'
    time zone, as in ``Recurrence.modified``/``deleted``).

    The key stays the same while the occurrence is moved, edited or deleted (EWS
    ``OccurrenceItemId``/``OriginalStart``, Graph ``originalStart``), so it names an
    exception's pair across passes; ``str(key)`` is the id its link keeps.
    """

    series_id: str
    original_start: datetime

    def __post_init__(self) -> None:
        if self.original_start.tzinfo is not None:
            raise ValueError("an original start is a naive wall time in the series' zone")

    def __str__(self) -> str:
        return f"{self.series_id}{OCCURRENCE_SEPARATOR}{self.original_start:%Y%m%dT%H%M%S}"

    @classmethod
    def parse(cls, text: str) -> OccurrenceKey | None:
        """The key ``str(key)`` gave; None for a plain item id."""
        series_id, separator, start = text.rpartition(OCCURRENCE_SEPARATOR)
        if not separator or not series_id:
            return None
        try:
            return cls(series_id, datetime.strptime(start, "%Y%m%dT%H%M%S"))
        except ValueError:
            return None


OCCURRENCE_SEPARATOR = "#occurrence@"
"""Joins a series id and an original start into one id (no EWS or Graph id has it)."""


@dataclass(frozen=True)
class RemoteOccurrence:
    """A modified occurrence (an exception) of an Exchange series as read.

    ``ref`` is the occurrence's own identity and version (EWS: the occurrence's item id
    and change key; Graph: the exception event's id and etag); ``item`` its content
    (no ``recurrence``, ``recurring`` False: an exception is a single appointment that
    belongs to its series by ``key``).
    """

    key: OccurrenceKey
    ref: ItemRef
    item: ExchangeItem
    modified_at: datetime


@dataclass(frozen=True)
class RemoteItem:
    """An Exchange item as read, with its identity and Exchange's LastModifiedTime (UTC).

    For a series master (``item.recurrence`` set) ``exceptions`` are its modified
    occurrences with their content, ordered by original start; its deleted occurrences
    are ``item.recurrence.deleted``. An adapter reads both with the master, so a read
    of a master is the whole series.
    """

    ref: ItemRef
    item: ExchangeItem
    modified_at: datetime
    exceptions: tuple[RemoteOccurrence, ...] = ()


@dataclass(frozen=True)
class Category:
    """An entry of a mailbox's master category list. ``color`` is Outlook's preset
    index -1..24 (-1 = none)."""

    name: str
    color: int = -1


@dataclass(frozen=True)
class Employee:
    """An ERP employee as the sync sees it."""

    id: int
    number: str
    name: str
    email: str
    employment_status: str = "active"
    may_create_appointments: bool = True

    @property
    def syncable(self) -> bool:
        """Employees who left or may not create appointments are reported, not synced."""
        return self.employment_status != "left" and self.may_create_appointments


@dataclass(frozen=True)
class ActivityType:
    """A row of ``activity_type`` plus its Outlook colour from ``esx_activity_type_color``."""

    no: int
    description: str
    color: int = -1


@dataclass(frozen=True)
class Priority:
    """A row of ``priority``. Lower rank = less important."""

    id: int
    name: str
    rank: int


@dataclass(frozen=True)
class Reference:
    """The ERP reference data the mapping needs, read once per pass."""

    activity_types: tuple[ActivityType, ...] = ()
    priorities: tuple[Priority, ...] = ()
